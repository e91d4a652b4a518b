/*
 * omero-web's nginx templates and the dict it fills them with (web.py
 * config()), the checks owctl adds where upstream would write a broken
 * file, and `nginx -t` run in a throwaway prefix.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "proc.h"
#include "xalloc.h"
#include "web/nginx.h"
#include "banned.h"

/*
 * The templates, byte for byte as omeroweb/templates/<type>.conf.template
 * (Python %-format with a dict). Long lines are split between literals only.
 */
static const char tmpl_server[] =
	"upstream omeroweb%(PREFIX_NAME)s {\n"
	"    server %(FASTCGI_EXTERNAL)s fail_timeout=0;\n"
	"}\n"
	"\n"
	"server {\n"
	"    listen %(HTTPPORT)d;\n"
	"    server_name %(SERVERNAME)s;\n"
	"\n"
	"    sendfile on;\n"
	"    client_max_body_size %(MAX_BODY_SIZE)s;\n"
	"\n"
	"%(NGINX_SERVER_EXTRA_CONFIG)s\n"
	"\n"
	"    # maintenance page serve from here\n"
	"    location @maintenance%(PREFIX_NAME)s {\n"
	"        root %(ROOT)s/etc/templates/error;\n"
	"        try_files $uri /maintainance.html =502;\n"
	"    }\n"
	"\n"
	"    # weblitz django apps serve media from here\n"
	"    location %(STATIC_URL)s {\n"
	"        alias %(STATIC_ROOT)s;\n"
	"    }\n"
	"\n"
	"    location @proxy_to_app%(PREFIX_NAME)s {\n"
	"        proxy_set_header X-Forwarded-Proto $scheme;\n"
	"        proxy_set_header X-Forwarded-For"
	" $proxy_add_x_forwarded_for;\n"
	"        proxy_set_header Host $http_host;\n"
	"        proxy_redirect off;\n"
	"        proxy_buffering off;\n"
	"\n"
	"        proxy_pass http://omeroweb%(PREFIX_NAME)s;\n"
	"    }\n"
	"\n"
	"    location %(FORCE_SCRIPT_NAME)s {\n"
	"\n"
	"        error_page 502 @maintenance%(PREFIX_NAME)s;\n"
	"        # checks for static file, if not found proxy to app\n"
	"        try_files $uri @proxy_to_app%(PREFIX_NAME)s;\n"
	"    }\n"
	"\n"
	"}\n";

static const char tmpl_development[] =
	"# \n"
	"# nginx userland template\n"
	"# this configuration is designed for running nginx as the omero user"
	" or similar\n"
	"# nginx -c etc/nginx.conf\n"
	"# for inclusion in a system-wide nginx configuration see omero web"
	" config nginx\n"
	"#\n"
	"pid %(ROOT)s/var/pid.nginx;\n"
	"error_log %(ROOT)s/var/log/nginx_error.log;\n"
	"worker_processes  5;\n"
	"working_directory %(ROOT)s/var;\n"
	"\n"
	"events {\n"
	"    worker_connections  1024;\n"
	"}\n"
	"\n"
	"\n"
	"http {\n"
	"    access_log    %(ROOT)s/var/log/nginx_access.log;\n"
	"    include       %(ROOT)s/etc/mime.types;\n"
	"    default_type  application/octet-stream;\n"
	"    client_body_temp_path %(ROOT)s/var/nginx_tmp;\n"
	"\n"
	"    keepalive_timeout 65;\n"
	"\n"
	"    upstream omeroweb%(PREFIX_NAME)s {\n"
	"        server %(FASTCGI_EXTERNAL)s fail_timeout=0;\n"
	"    }\n"
	"    \n"
	"    server {\n"
	"        listen %(HTTPPORT)d;\n"
	"        server_name _;\n"
	"        proxy_temp_path %(ROOT)s/var/nginx_tmp;\n"
	"\n"
	"        sendfile on;\n"
	"        client_max_body_size %(MAX_BODY_SIZE)s;\n"
	"\n"
	"%(NGINX_SERVER_EXTRA_CONFIG)s\n"
	"\n"
	"        # maintenance page serve from here\n"
	"        location @maintenance%(PREFIX_NAME)s {\n"
	"            root %(ROOT)s/etc/templates/error;\n"
	"            try_files $uri /maintainance.html =502;\n"
	"        }\n"
	"\n"
	"        # weblitz django apps serve media from here\n"
	"        location %(STATIC_URL)s {\n"
	"            alias %(STATIC_ROOT)s;\n"
	"        }\n"
	"\n"
	"        location @proxy_to_app%(PREFIX_NAME)s {\n"
	"            proxy_set_header X-Forwarded-Proto $scheme;\n"
	"            proxy_set_header X-Forwarded-For"
	" $proxy_add_x_forwarded_for;\n"
	"            proxy_set_header Host $http_host;\n"
	"            proxy_redirect off;\n"
	"            proxy_buffering off;\n"
	"\n"
	"            proxy_pass http://omeroweb%(PREFIX_NAME)s;\n"
	"        }\n"
	"\n"
	"        location %(FORCE_SCRIPT_NAME)s {\n"
	"\n"
	"            error_page 502 @maintenance%(PREFIX_NAME)s;\n"
	"            # checks for static file, if not found proxy to app\n"
	"            try_files $uri @proxy_to_app%(PREFIX_NAME)s;\n"
	"        }\n"
	"\n"
	"    }\n"
	"\n"
	"}\n";

static const char tmpl_location[] =
	"# These location blocks should be included in your server"
	" configuration\n"
	"# For example:\n"
	"#\n"
	"##server {\n"
	"##    listen 80;\n"
	"##    server_name $hostname;\n"
	"##\n"
	"##    # SSL configuration ...\n"
	"##\n"
	"##    sendfile on;\n"
	"##    client_max_body_size 0;\n"
	"##\n"
	"##    # Include generated file from omero web config"
	" nginx-location:\n"
	"##    include /opt/omero/web/omero-web-location.include;\n"
	"##}\n"
	"\n"
	"# maintenance page serve from here\n"
	"location @maintenance%(PREFIX_NAME)s {\n"
	"    root %(ROOT)s/etc/templates/error;\n"
	"    try_files $uri /maintainance.html =502;\n"
	"}\n"
	"\n"
	"# weblitz django apps serve media from here\n"
	"location %(STATIC_URL)s {\n"
	"    alias %(STATIC_ROOT)s;\n"
	"}\n"
	"\n"
	"location @proxy_to_app%(PREFIX_NAME)s {\n"
	"    proxy_set_header X-Forwarded-Proto $scheme;\n"
	"    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
	"    proxy_set_header Host $http_host;\n"
	"    proxy_redirect off;\n"
	"    proxy_buffering off;\n"
	"\n"
	"    proxy_pass http://%(FASTCGI_EXTERNAL)s;\n"
	"}\n"
	"\n"
	"location %(FORCE_SCRIPT_NAME)s {\n"
	"\n"
	"    error_page 502 @maintenance%(PREFIX_NAME)s;\n"
	"    # checks for static file, if not found proxy to app\n"
	"    try_files $uri @proxy_to_app%(PREFIX_NAME)s;\n"
	"}\n";

static const char *const type_names[] = {
	[NGINX_SERVER] = "nginx",
	[NGINX_DEVELOPMENT] = "nginx-development",
	[NGINX_LOCATION] = "nginx-location",
};

static const char *const type_templates[] = {
	[NGINX_SERVER] = tmpl_server,
	[NGINX_DEVELOPMENT] = tmpl_development,
	[NGINX_LOCATION] = tmpl_location,
};

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

/* The template dict (OMEROWEBROOT and NOW are unused by the templates). */
enum {
	D_ROOT,
	D_STATIC_ROOT,
	D_STATIC_URL,
	D_HTTPPORT,
	D_MAX_BODY_SIZE,
	D_SERVERNAME,
	D_FASTCGI_EXTERNAL,
	D_NGINX_SERVER_EXTRA_CONFIG,
	D_FORCE_SCRIPT_NAME,
	D_PREFIX_NAME,
	D_MAX
};

static const char *const dict_names[D_MAX] = {
	[D_ROOT] = "ROOT",
	[D_STATIC_ROOT] = "STATIC_ROOT",
	[D_STATIC_URL] = "STATIC_URL",
	[D_HTTPPORT] = "HTTPPORT",
	[D_MAX_BODY_SIZE] = "MAX_BODY_SIZE",
	[D_SERVERNAME] = "SERVERNAME",
	[D_FASTCGI_EXTERNAL] = "FASTCGI_EXTERNAL",
	[D_NGINX_SERVER_EXTRA_CONFIG] = "NGINX_SERVER_EXTRA_CONFIG",
	[D_FORCE_SCRIPT_NAME] = "FORCE_SCRIPT_NAME",
	[D_PREFIX_NAME] = "PREFIX_NAME",
};

#define K_PREFIX "omero.web.prefix"
#define K_FORCE_SCRIPT_NAME "omero.web.force_script_name"
#define K_STATIC_URL "omero.web.static_url"
#define K_STATIC_ROOT "omero.web.static_root"
#define K_APP_SERVER "omero.web.application_server"
#define K_APP_HOST "omero.web.application_server.host"
#define K_APP_PORT "omero.web.application_server.port"
#define K_EXTRA "omero.web.nginx_server_extra_config"

#define EXTRA_BEGIN "# <<<<< omero.web.nginx_server_extra_config"
#define EXTRA_END "# omero.web.nginx_server_extra_config >>>>>"

const char *
nginx_type_name(enum nginx_type type)
{
	return (size_t)type < NTYPES ? type_names[type] : "?";
}

int
nginx_type_parse(const char *name, enum nginx_type *type)
{
	size_t i;

	for (i = 0; i < NTYPES; i++) {
		if (!strcmp(name, type_names[i])) {
			*type = (enum nginx_type)i;
			return 0;
		}
	}
	return -1;
}

/* Python's `template % dict` for the %(NAME)s, %(NAME)d and %% we use. */
static int
expand(const char *tmpl, char *const dict[D_MAX], struct sbuf *out,
       struct err *e)
{
	const char *p = tmpl, *pct, *close;
	size_t i, n;

	while ((pct = strchr(p, '%'))) {
		sbuf_add(out, p, pct - p);
		if (pct[1] == '%') {
			sbuf_addch(out, '%');
			p = pct + 2;
			continue;
		}
		close = pct[1] == '(' ? strchr(pct + 2, ')') : NULL;
		if (!close || (close[1] != 's' && close[1] != 'd'))
			return err_set(e, ERR_FAIL, "bad nginx template");
		n = close - (pct + 2);
		for (i = 0; i < D_MAX; i++)
			if (strlen(dict_names[i]) == n &&
			    !memcmp(dict_names[i], pct + 2, n))
				break;
		if (i == D_MAX || !dict[i])
			return err_set(e, ERR_FAIL, "bad nginx template key");
		sbuf_adds(out, dict[i]);
		p = close + 2;
	}
	sbuf_adds(out, p);
	return 0;
}

/* Python's str.isspace() over ASCII. */
static int
py_isspace(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/*
 * Python's int(s) for base 10 (ASCII digits only): surrounding whitespace,
 * one sign, '_' between digits, leading zeros. Puts str(int(s)) in norm and
 * the value in *v (saturated at LONG_MIN/LONG_MAX). Returns -1 if Python
 * would raise ValueError.
 */
static int
py_int(const char *s, struct sbuf *norm, long *v)
{
	const char *end = s + strlen(s);
	int neg = 0, digits = 0;

	while (s < end && py_isspace((unsigned char)*s))
		s++;
	while (end > s && py_isspace((unsigned char)end[-1]))
		end--;
	if (s < end && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	sbuf_reset(norm);
	for (; s < end; s++) {
		if (*s == '_' && digits && s + 1 < end && s[1] >= '0' &&
		    s[1] <= '9')
			continue;
		if (*s < '0' || *s > '9')
			return -1;
		digits++;
		if (norm->len == 0 && *s == '0')
			continue;
		sbuf_addch(norm, *s);
	}
	if (!digits)
		return -1;
	if (norm->len == 0)
		sbuf_addch(norm, '0');
	else if (neg) {
		sbuf_grow(norm, 1);
		memmove(norm->buf + 1, norm->buf, norm->len + 1);
		norm->buf[0] = '-';
		norm->len++;
	}
	*v = strtol(norm->buf, NULL, 10);
	return 0;
}

/* Python's os.path.join(a, b) for POSIX. */
static void
py_join(struct sbuf *sb, const char *b)
{
	if (*b == '/')
		sbuf_reset(sb);
	else if (sb->len && sb->buf[sb->len - 1] != '/')
		sbuf_addch(sb, '/');
	sbuf_adds(sb, b);
}

/* Python's posixpath.normpath(path), into out. */
static void
py_normpath(const char *path, struct sbuf *out)
{
	/* kept components, '/'-joined: ndotdot ".." first, then names */
	struct sbuf comps = SBUF_INIT;
	size_t ncomps = 0, ndotdot = 0;
	int slashes = 0;
	const char *p, *q;

	sbuf_reset(out);
	if (!*path) {
		sbuf_adds(out, ".");
		return;
	}
	if (path[0] == '/')
		slashes = path[1] == '/' && path[2] != '/' ? 2 : 1;
	for (p = path; *p; p = *q ? q + 1 : q) {
		size_t n;

		for (q = p; *q && *q != '/'; q++)
			;
		n = q - p;
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (ncomps > ndotdot) {
				/* pop the last name */
				size_t len = comps.len;

				while (len && comps.buf[len - 1] != '/')
					len--;
				sbuf_setlen(&comps, len ? len - 1 : 0);
				ncomps--;
				continue;
			}
			if (slashes)
				continue;	/* "/.." is "/" */
			ndotdot++;
		}
		if (ncomps)
			sbuf_addch(&comps, '/');
		sbuf_add(&comps, p, n);
		ncomps++;
	}
	while (slashes--)
		sbuf_addch(out, '/');
	sbuf_add(out, comps.buf, comps.len);
	if (!out->len)
		sbuf_adds(out, ".");
	sbuf_release(&comps);
}

/* s.rstrip("/") */
static char *
rstrip_slash(const char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		n--;
	return xstrndup(s, n);
}

/*
 * "_" + re.sub(r"\W+", "", s). Bytes of multi-byte UTF-8 sequences count as
 * word characters: right for letters and digits of any script, not for
 * non-ASCII punctuation, which Python would drop.
 */
static char *
prefix_name(const char *s)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addch(&sb, '_');
	for (; *s; s++) {
		unsigned char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c >= 0x80)
			sbuf_addch(&sb, c);
	}
	return sbuf_detach(&sb, NULL);
}

/*
 * Does s hold a byte that ends or splits an unquoted nginx argument
 * (whitespace, control characters, ; { } quotes, backslash), or with
 * no_vars a '$', which root and alias would take as a variable?
 */
static int
breaks_nginx(const char *s, int no_vars)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c <= ' ' || c == 0x7f || strchr(";{}\"'\\", c) ||
		    (no_vars && c == '$'))
			return 1;
	}
	return 0;
}

static int
unsafe(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
unsafe(struct err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, ERR_WEB_NGINX_UNSAFE, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * NGINX_SERVER_EXTRA_CONFIG from the property's JSON. A non-empty list of
 * strings gives the marked block; an empty list, or no value, "". Anything
 * else fails, except that with allow_unsafe a value Python finds false
 * (null, false, 0, "", {}) gives "" as upstream does.
 */
static int
extra_config(const char *raw, int allow_unsafe, struct sbuf *out,
	     struct err *e)
{
	json_error_t je;
	json_t *j, *item;
	size_t i;
	int ret = -1, falsy;

	sbuf_reset(out);
	if (!raw)
		return 0;
	j = json_loads(raw, JSON_DECODE_ANY, &je);
	if (!j)
		return unsafe(e, "%s is not valid JSON: %s", K_EXTRA, je.text);
	if (!json_is_array(j)) {
		falsy = json_is_null(j) || json_is_false(j) ||
			(json_is_integer(j) && !json_integer_value(j)) ||
			(json_is_real(j) && json_real_value(j) == 0) ||
			(json_is_string(j) && !json_string_length(j)) ||
			(json_is_object(j) && !json_object_size(j));
		if (falsy && allow_unsafe)
			ret = 0;
		else
			unsafe(e, "%s '%s' is not a JSON list of lines",
			       K_EXTRA, raw);
		goto out;
	}
	json_array_foreach(j, i, item) {
		if (!json_is_string(item)) {
			unsafe(e, "%s: item %zu is not a string", K_EXTRA, i);
			goto out;
		}
	}
	if (json_array_size(j)) {
		sbuf_adds(out, EXTRA_BEGIN);
		json_array_foreach(j, i, item) {
			sbuf_addch(out, '\n');
			sbuf_add(out, json_string_value(item),
				 json_string_length(item));
		}
		sbuf_adds(out, "\n" EXTRA_END);
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

static int
is_nginx_size(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && (!s[n] || (strchr("kKmMgG", s[n]) && !s[n + 1]));
}

/* What web.py's config() reads, with the defaults of settings.py. */
struct settings {
	const char *app_server;
	const char *host;
	const char *port_raw;		/* NULL: default 4080 */
	struct sbuf port;		/* str(int(port_raw)) */
	long port_value;
	const char *prefix;		/* NULL: unset */
	const char *prefix_key;		/* where prefix came from */
	const char *static_url;
	const char *static_root_raw;	/* NULL: default */
	const char *extra_raw;
};

static int
read_settings(nginx_lookup_fn get, void *ud, struct settings *s,
	      struct err *e)
{
	const char *v;

	v = get(ud, K_APP_SERVER);
	s->app_server = v ? v : "wsgi-tcp";
	if (strcmp(s->app_server, "wsgi-tcp") &&
	    strcmp(s->app_server, "wsgi") &&
	    strcmp(s->app_server, "development"))
		return unsafe(e, "%s '%s' is not one of 'wsgi-tcp', "
			      "'development', 'wsgi'", K_APP_SERVER,
			      s->app_server);
	v = get(ud, K_APP_HOST);
	s->host = v ? v : "127.0.0.1";
	s->port_raw = get(ud, K_APP_PORT);
	if (!s->port_raw) {
		sbuf_adds(&s->port, "4080");
		s->port_value = 4080;
	} else if (py_int(s->port_raw, &s->port, &s->port_value) < 0) {
		return unsafe(e, "%s '%s' is not a port number", K_APP_PORT,
			      s->port_raw);
	}
	/* DEPRECATED_SETTINGS_MAPPINGS: only when the new key is unset. */
	s->prefix_key = K_PREFIX;
	s->prefix = get(ud, K_PREFIX);
	if (!s->prefix) {
		s->prefix = get(ud, K_FORCE_SCRIPT_NAME);
		if (s->prefix)
			s->prefix_key = K_FORCE_SCRIPT_NAME;
	}
	v = get(ud, K_STATIC_URL);
	s->static_url = v ? v : "/static/";
	s->static_root_raw = get(ud, K_STATIC_ROOT);
	s->extra_raw = get(ud, K_EXTRA);
	return 0;
}

/* Where owctl refuses what upstream would write broken. */
static int
check_unsafe(const struct nginx_opts *o, const struct settings *s,
	     char *const d[D_MAX], long http, struct err *e)
{
	const char *omerodir = o->omerodir, *v;
	int server = o->type != NGINX_LOCATION;

	if (server && (http < 1 || http > 65535))
		return unsafe(e, "HTTP port %ld is out of range 1-65535", http);
	if (s->port_value < 1 || s->port_value > 65535)
		return unsafe(e, "%s '%s' is out of range 1-65535",
			      K_APP_PORT, s->port_raw);
	if (!*s->host || breaks_nginx(s->host, 0))
		return unsafe(e, "%s '%s' is not a host name or address",
			      K_APP_HOST, s->host);
	if (strchr(s->host, ':') && s->host[0] != '[')
		return unsafe(e, "%s '%s' is an IPv6 address without "
			      "brackets; use '[%s]'", K_APP_HOST, s->host,
			      s->host);
	if (omerodir[0] != '/')
		return unsafe(e, "OMERODIR '%s' is not an absolute path",
			      omerodir);
	if (breaks_nginx(omerodir, 1))
		return unsafe(e, "OMERODIR '%s' holds characters nginx "
			      "cannot take unquoted", omerodir);
	v = d[D_STATIC_ROOT];
	if (v[0] != '/')
		return unsafe(e, "%s '%s' is not an absolute path",
			      K_STATIC_ROOT, v);
	if (breaks_nginx(v, 1))
		return unsafe(e, "%s '%s' holds characters nginx cannot take "
			      "unquoted", K_STATIC_ROOT, v);
	if (s->prefix) {
		v = d[D_FORCE_SCRIPT_NAME];
		if (!*v)
			return unsafe(e, "%s '%s' would make an empty nginx "
				      "location; unset it to serve OMERO.web "
				      "at '/'", s->prefix_key, s->prefix);
		if (v[0] != '/')
			return unsafe(e, "%s '%s' does not start with '/'; "
				      "use '/%s'", s->prefix_key, s->prefix,
				      v);
		if (breaks_nginx(v, 0))
			return unsafe(e, "%s '%s' holds characters nginx "
				      "cannot take unquoted", s->prefix_key,
				      s->prefix);
	}
	v = d[D_STATIC_URL];
	if (strstr(v, "://") || !strncmp(v, "//", 2))
		return unsafe(e, "%s '%s' is an absolute URL, which cannot "
			      "be an nginx location; configure the server of "
			      "that URL by hand", K_STATIC_URL, s->static_url);
	if (!*v)
		return unsafe(e, "%s '%s' would make an empty nginx location",
			      K_STATIC_URL, s->static_url);
	if (v[0] != '/')
		return unsafe(e, "%s '%s' does not start with '/'",
			      K_STATIC_URL, s->static_url);
	if (breaks_nginx(v, 0))
		return unsafe(e, "%s '%s' holds characters nginx cannot take "
			      "unquoted", K_STATIC_URL, s->static_url);
	if (!strcmp(v, d[D_FORCE_SCRIPT_NAME]))
		return unsafe(e, "%s '%s' and %s '%s' make the same nginx "
			      "location twice", K_STATIC_URL, s->static_url,
			      s->prefix_key, s->prefix);
	if (o->type == NGINX_SERVER) {
		for (v = d[D_SERVERNAME]; *v; v++)
			if ((unsigned char)*v < ' ' || *v == 0x7f ||
			    strchr(";{}", *v))
				return unsafe(e, "server name '%s' holds "
					      "characters nginx cannot take",
					      d[D_SERVERNAME]);
	}
	if (server && !is_nginx_size(d[D_MAX_BODY_SIZE]))
		return unsafe(e, "maximum body size '%s' is not an nginx size "
			      "(digits, then k, m or g)", d[D_MAX_BODY_SIZE]);
	return 0;
}

static int
check_mime_types(const char *omerodir, struct err *e)
{
	struct sbuf path = SBUF_INIT;
	struct stat st;
	int ret = 0;

	/* The template writes %(ROOT)s/etc/mime.types: same bytes here. */
	sbuf_addf(&path, "%s/etc/mime.types", omerodir);
	if (stat(path.buf, &st) < 0)
		ret = unsafe(e, "'%s' does not exist, so nginx would not start;"
			     " link the system's copy there: ln -s "
			     "/etc/nginx/mime.types '%s'", path.buf, path.buf);
	sbuf_release(&path);
	return ret;
}

int
nginx_render(const struct nginx_opts *o, nginx_lookup_fn get, void *ud,
	     struct sbuf *out, struct err *e)
{
	struct settings s = { 0 };
	struct sbuf extra = SBUF_INIT, tmp = SBUF_INIT, text = SBUF_INIT;
	char *d[D_MAX] = { 0 };
	int allow_unsafe = o->flags & NGINX_ALLOW_UNSAFE;
	const char *type = nginx_type_name(o->type);
	long http;
	int ret = -1, i;

	sbuf_init(&s.port, 0);
	if ((size_t)o->type >= NTYPES) {
		err_set(e, ERR_FAIL, "unknown nginx config type");
		goto out;
	}
	if (!o->omerodir || !*o->omerodir) {
		err_set(e, ERR_FAIL, "OMERODIR is not set");
		goto out;
	}
	if (read_settings(get, ud, &s, e) < 0)
		goto out;

	/* assert_config_argtype, then the port check of config() */
	if (strcmp(s.app_server, "wsgi-tcp")) {
		err_set(e, ERR_WEB_APP_SERVER, "ERROR: configuration mismatch. "
			"omero.web.application_server=%s cannot be used with "
			"'omero web config %s'.", s.app_server, type);
		goto out;
	}
	http = o->http_port ? o->http_port
			    : o->type == NGINX_DEVELOPMENT ? 8080 : 80;
	/* int == int: compare str(int) so huge values cannot alias */
	sbuf_reset(&tmp);
	sbuf_addf(&tmp, "%ld", http);
	if (!strcmp(s.port.buf, tmp.buf)) {
		err_set(e, ERR_WEB_PORT_CONFLICT,
			"Port conflict: HTTP(%ld) and wsgi(%s).", http,
			s.port.buf);
		goto out;
	}
	if (o->type != NGINX_LOCATION && o->servername && !*o->servername) {
		/* upstream: NameError, as `if args.servername` skipped it */
		err_set(e, ERR_WEB_NGINX_UNSAFE, "server name is empty");
		goto out;
	}
	if (extra_config(s.extra_raw, allow_unsafe, &extra, e) < 0)
		goto out;

	d[D_ROOT] = xstrdup(o->omerodir);
	sbuf_reset(&tmp);
	if (s.static_root_raw) {
		py_normpath(s.static_root_raw, &tmp);
	} else {
		struct sbuf joined = SBUF_INIT;

		sbuf_adds(&joined, o->omerodir);
		py_join(&joined, "var");
		py_join(&joined, "static");
		py_normpath(joined.buf, &tmp);
		sbuf_release(&joined);
	}
	d[D_STATIC_ROOT] = xstrdup(tmp.buf);
	/* str_slash() then rstrip("/"): all trailing slashes go */
	d[D_STATIC_URL] = rstrip_slash(s.static_url);
	d[D_NGINX_SERVER_EXTRA_CONFIG] = sbuf_detach(&extra, NULL);
	if (o->type != NGINX_LOCATION) {
		sbuf_reset(&tmp);
		sbuf_addf(&tmp, "%ld", http);
		d[D_HTTPPORT] = xstrdup(tmp.buf);
		d[D_MAX_BODY_SIZE] = xstrdup(o->max_body_size ?
					     o->max_body_size : "0");
		d[D_SERVERNAME] = xstrdup(o->servername ? o->servername
							: "$hostname");
	}
	if (s.prefix) {
		d[D_FORCE_SCRIPT_NAME] = rstrip_slash(s.prefix);
		d[D_PREFIX_NAME] = prefix_name(d[D_FORCE_SCRIPT_NAME]);
	} else {
		d[D_FORCE_SCRIPT_NAME] = xstrdup("/");
		d[D_PREFIX_NAME] = xstrdup("");
	}
	sbuf_reset(&tmp);
	sbuf_addf(&tmp, "%s:%s", s.host, s.port.buf);
	d[D_FASTCGI_EXTERNAL] = xstrdup(tmp.buf);

	if (!allow_unsafe) {
		if (check_unsafe(o, &s, d, http, e) < 0)
			goto out;
		if (o->type == NGINX_DEVELOPMENT &&
		    !(o->flags & NGINX_NO_FILE_CHECKS) &&
		    check_mime_types(o->omerodir, e) < 0)
			goto out;
	}

	if (expand(type_templates[o->type], d, &text, e) < 0)
		goto out;
	sbuf_addch(&text, '\n');	/* ctx.out() ends the line */
	sbuf_add(out, text.buf, text.len);
	ret = 0;
out:
	for (i = 0; i < D_MAX; i++)
		free(d[i]);
	sbuf_release(&s.port);
	sbuf_release(&extra);
	sbuf_release(&tmp);
	sbuf_release(&text);
	return ret;
}

/* ---- nginx -t ---- */

static const char *const written_by_test[] = {
	"pid", "error_log", "access_log", "lock_file",
	"client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
	"uwsgi_temp_path", "scgi_temp_path", NULL,
};

/* Append path as a double-quoted nginx string. */
static void
add_quoted(struct sbuf *sb, const char *path)
{
	sbuf_addch(sb, '"');
	for (; *path; path++) {
		if (*path == '"' || *path == '\\')
			sbuf_addch(sb, '\\');
		sbuf_addch(sb, *path);
	}
	sbuf_addch(sb, '"');
}

static const char *const temp_paths[] = {
	"client_body", "proxy", "fastcgi", "uwsgi", "scgi", NULL,
};

static int
mentions(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word), i;

	for (i = 0; i + n <= len; i++)
		if (!memcmp(s + i, word, n))
			return 1;
	return 0;
}

/*
 * Append " X_temp_path "dir/X";" for each temp path directive conf does
 * not mention: nginx -t creates the compiled-in defaults otherwise
 * (/var/lib/nginx/...). Setting one conf also sets, at the same level,
 * would be a duplicate, so those are left alone (and redirected).
 */
static void
add_temp_paths(const char *conf, size_t len, const char *dir,
	       struct sbuf *sb)
{
	struct sbuf name = SBUF_INIT;
	size_t i;

	for (i = 0; temp_paths[i]; i++) {
		sbuf_reset(&name);
		sbuf_addf(&name, "%s_temp_path", temp_paths[i]);
		if (conf && mentions(conf, len, name.buf))
			continue;
		sbuf_addf(sb, " %s ", name.buf);
		sbuf_reset(&name);
		sbuf_addf(&name, "%s/%s", dir, temp_paths[i]);
		add_quoted(sb, name.buf);
		sbuf_addch(sb, ';');
	}
	sbuf_release(&name);
}

/* Is line [q, eol) "http {" (blanks allowed)? Returns the '{' or NULL. */
static const char *
http_block_start(const char *q, const char *eol)
{
	if (eol - q < 5 || memcmp(q, "http", 4))
		return NULL;
	for (q += 4; q < eol && (*q == ' ' || *q == '\t'); q++)
		;
	return q < eol && *q == '{' ? q : NULL;
}

/*
 * Copy conf into out, pointing the first argument of each line's first
 * directive that nginx -t would create or open for writing into dir
 * (numbered names), so that testing touches nothing else. With
 * main_config, the temp paths it lacks are added on its "http {" line.
 * Lines are never added or removed: nginx's line numbers stay right.
 */
static void
redirect_writes(const char *conf, size_t len, const char *dir,
		int main_config, struct sbuf *out)
{
	const char *p = conf, *end = conf + len, *eol, *q, *arg, *arg_end;
	size_t i, n;
	int count = 0;

	for (; p < end; p = eol) {
		eol = memchr(p, '\n', end - p);
		eol = eol ? eol + 1 : end;
		for (q = p; q < eol && (*q == ' ' || *q == '\t'); q++)
			;
		if (main_config && (arg = http_block_start(q, eol))) {
			sbuf_add(out, p, arg + 1 - p);
			add_temp_paths(conf, len, dir, out);
			sbuf_add(out, arg + 1, eol - (arg + 1));
			continue;
		}
		for (i = 0; written_by_test[i]; i++) {
			n = strlen(written_by_test[i]);
			if ((size_t)(eol - q) > n &&
			    !memcmp(q, written_by_test[i], n) &&
			    (q[n] == ' ' || q[n] == '\t'))
				break;
		}
		if (!written_by_test[i]) {
			sbuf_add(out, p, eol - p);
			continue;
		}
		for (arg = q + n; arg < eol && (*arg == ' ' || *arg == '\t');
		     arg++)
			;
		if (arg < eol && (*arg == '"' || *arg == '\'')) {
			for (arg_end = arg + 1; arg_end < eol &&
			     *arg_end != *arg; arg_end++)
				if (*arg_end == '\\' && arg_end + 1 < eol)
					arg_end++;
			if (arg_end < eol)
				arg_end++;
		} else {
			for (arg_end = arg; arg_end < eol &&
			     !strchr(" \t;\r\n", *arg_end); arg_end++)
				;
		}
		n = arg_end - arg;
		if (n == 0 || (n == 3 && !memcmp(arg, "off", 3)) ||
		    (n == 6 && !memcmp(arg, "stderr", 6)) ||
		    (n > 7 && !memcmp(arg, "syslog:", 7)) ||
		    (n > 7 && !memcmp(arg, "memory:", 7))) {
			sbuf_add(out, p, eol - p);
			continue;
		}
		sbuf_add(out, p, arg - p);
		{
			struct sbuf path = SBUF_INIT;

			sbuf_addf(&path, "%s/w%d", dir, ++count);
			add_quoted(out, path.buf);
			sbuf_release(&path);
		}
		sbuf_add(out, arg_end, eol - arg_end);
	}
}

/* rm -r of name in dfd, not following symbolic links. */
static void
remove_tree_at(int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
		return;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_tree_at(dirfd(d), de->d_name);
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

static int
write_file(const char *path, const char *data, size_t len, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		      O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "cannot create '%s'", path);
	while (len) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, ERR_IO, errno, "cannot write '%s'", path);
			close(fd);
			return -1;
		}
		data += n;
		len -= n;
	}
	if (close(fd) < 0)
		return err_errno(e, ERR_IO, errno, "cannot write '%s'", path);
	return 0;
}

static void
main_config(enum nginx_type type, const char *dir, struct sbuf *sb)
{
	struct sbuf path = SBUF_INIT;

#define LINE(fmt_name, file)                                  \
	do {                                                  \
		sbuf_reset(&path);                            \
		sbuf_addf(&path, "%s/%s", dir, file);         \
		sbuf_adds(sb, fmt_name " ");                  \
		add_quoted(sb, path.buf);                     \
		sbuf_adds(sb, ";\n");                         \
	} while (0)

	LINE("lock_file", "nginx.lock");
	if (type == NGINX_DEVELOPMENT) {
		/* a whole main config: pid, logs, paths are its own */
		LINE("include", "omero-web.conf");
		sbuf_release(&path);
		return;
	}
	LINE("pid", "nginx.pid");
	LINE("error_log", "error.log");
	sbuf_adds(sb, "events {\n}\nhttp {\n");
	LINE("access_log", "access.log");
	add_temp_paths(NULL, 0, dir, sb);	/* the snippet is below http */
	sbuf_addch(sb, '\n');
	if (type == NGINX_LOCATION) {
		sbuf_adds(sb, "server {\n");
		/* a Unix socket in dir binds no port; sun_path is ~108 */
		if (strlen(dir) < 100) {
			sbuf_reset(&path);
			sbuf_addf(&path, "unix:%s/s", dir);
			sbuf_adds(sb, "listen ");
			add_quoted(sb, path.buf);
			sbuf_adds(sb, ";\n");
		}
		LINE("include", "omero-web.conf");
		sbuf_adds(sb, "}\n");
	} else {
		LINE("include", "omero-web.conf");
	}
	sbuf_adds(sb, "}\n");
#undef LINE
	sbuf_release(&path);
}

/* Replace every occurrence of from in sb with to. */
static void
replace_all(struct sbuf *sb, const char *from, const char *to)
{
	struct sbuf res = SBUF_INIT;
	const char *p = sb->buf, *hit;
	size_t n = strlen(from);

	while ((hit = strstr(p, from))) {
		sbuf_add(&res, p, hit - p);
		sbuf_adds(&res, to);
		p = hit + n;
	}
	sbuf_adds(&res, p);
	sbuf_release(sb);
	*sb = res;
}

/* The line of nginx's stderr that says what is wrong, without "nginx: ". */
static void
nginx_problem(const char *log, int status, struct sbuf *msg)
{
	static const char *const levels[] = {
		"[emerg]", "[alert]", "[crit]", "[error]", NULL,
	};
	const char *p, *eol, *best = NULL, *last = NULL;
	size_t i, best_len = 0, last_len = 0;

	for (p = log; *p && !best; p = *eol ? eol + 1 : eol) {
		for (eol = p; *eol && *eol != '\n'; eol++)
			;
		if (eol == p)
			continue;
		last = p;
		last_len = eol - p;
		for (i = 0; levels[i]; i++) {
			const char *hit = strstr(p, levels[i]);

			if (hit && hit < eol) {
				best = p;
				best_len = eol - p;
				break;
			}
		}
	}
	if (!best) {
		best = last;
		best_len = last_len;
	}
	if (!best) {
		sbuf_addf(msg, "nginx exited with status %d", status);
		return;
	}
	if (best_len > 7 && !memcmp(best, "nginx: ", 7)) {
		best += 7;
		best_len -= 7;
	}
	sbuf_add(msg, best, best_len);
}

int
nginx_check_conf(enum nginx_type type, const char *conf, size_t len,
		 const struct nginx_check_opts *o, struct err *e)
{
	struct sbuf dir = SBUF_INIT, path = SBUF_INIT, text = SBUF_INIT;
	struct sbuf prefix = SBUF_INIT, elog = SBUF_INIT, mainc = SBUF_INIT;
	struct sbuf log = SBUF_INIT, msg = SBUF_INIT;
	const char *tmpdir = getenv("TMPDIR");
	const char *name = o && o->name ? o->name : "omero-web.conf";
	const char *argv[10];
	struct proc_opts po = { 0 };
	struct proc_result r;
	char *nginx = NULL;
	int ret = -1, use_e = 1, made = 0;

	if ((size_t)type >= NTYPES)
		return err_set(e, ERR_FAIL, "unknown nginx config type");
	if (o && o->nginx)
		nginx = xstrdup(o->nginx);
	else if (!(nginx = proc_which("nginx", NULL)))
		nginx = proc_which("nginx", "/usr/sbin:/usr/local/sbin:/sbin");
	if (!nginx)
		nginx = xstrdup("nginx");	/* proc_run words the error */

	if (!tmpdir || tmpdir[0] != '/' || breaks_nginx(tmpdir, 1))
		tmpdir = "/tmp";
	sbuf_addf(&dir, "%s/owctl-nginx-XXXXXX", tmpdir);
	if (!mkdtemp(dir.buf)) {
		err_errno(e, ERR_IO, errno, "cannot create a directory in '%s'",
			  tmpdir);
		goto out;
	}
	made = 1;

	redirect_writes(conf, len, dir.buf, type == NGINX_DEVELOPMENT, &text);
	sbuf_addf(&path, "%s/omero-web.conf", dir.buf);
	if (write_file(path.buf, text.buf, text.len, e) < 0)
		goto out;
	main_config(type, dir.buf, &mainc);
	sbuf_reset(&path);
	sbuf_addf(&path, "%s/nginx.conf", dir.buf);
	if (write_file(path.buf, mainc.buf, mainc.len, e) < 0)
		goto out;
	sbuf_addf(&prefix, "%s/", dir.buf);
	sbuf_addf(&elog, "%s/error.log", dir.buf);

	for (;;) {
		int n = 0;

		argv[n++] = nginx;
		argv[n++] = "-t";
		argv[n++] = "-p";
		argv[n++] = prefix.buf;
		if (use_e) {
			argv[n++] = "-e";
			argv[n++] = elog.buf;
		}
		argv[n++] = "-c";
		argv[n++] = path.buf;
		argv[n] = NULL;
		po.argv = argv;
		po.err = &log;
		po.max_capture = 1 << 20;
		po.timeout = o && o->timeout > 0 ? o->timeout : 30;
		sbuf_reset(&log);
		if (proc_run(&po, &r, e) < 0) {
			err_prefix(e, "cannot check the nginx config");
			goto out;
		}
		/* nginx before 1.19.5 has no -e */
		if (r.status && use_e &&
		    strstr(log.buf, "invalid option: \"e\"")) {
			use_e = 0;
			continue;
		}
		break;
	}

	sbuf_reset(&path);
	sbuf_addf(&path, "%s/omero-web.conf", dir.buf);
	replace_all(&log, path.buf, name);
	sbuf_reset(&path);
	sbuf_addf(&path, "%s/", dir.buf);
	replace_all(&log, path.buf, "");
	if (o && o->log)
		sbuf_add(o->log, log.buf, log.len);
	if (r.status) {
		nginx_problem(log.buf, r.status, &msg);
		if (strstr(msg.buf, "bind() to") && strstr(msg.buf, "(13: "))
			sbuf_adds(&msg, "; listening on a port below 1024 "
				  "needs root: run the check as root");
		err_set(e, ERR_WEB_NGINX_UNSAFE, "nginx -t failed: %s",
			msg.buf);
		goto out;
	}
	ret = 0;
out:
	if (made)
		remove_tree_at(AT_FDCWD, dir.buf);
	free(nginx);
	sbuf_release(&dir);
	sbuf_release(&path);
	sbuf_release(&text);
	sbuf_release(&prefix);
	sbuf_release(&elog);
	sbuf_release(&mainc);
	sbuf_release(&log);
	sbuf_release(&msg);
	return ret;
}
