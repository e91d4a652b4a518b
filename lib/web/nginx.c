/*
 * omero-web's nginx templates and the dict it fills them with (web.py
 * config()), the checks owctl adds where upstream would write a broken
 * file, and `nginx -t` run in a throwaway prefix.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fs.h"
#include "proc.h"
#include "xalloc.h"
#include "web/nginx.h"
#include "web/nginxinst.h"
#include "banned.h"

/*
 * omeroweb/templates/<type>.conf.template (Python %-format with a dict),
 * as one table: the three templates share their blocks and differ in
 * what surrounds them and how deep they are indented. template_text()
 * puts a type's rows together; the result is byte for byte upstream's
 * file (the golden vectors check it). Long lines are split between
 * literals only.
 */
#define T_SRV (1u << NGINX_SERVER)
#define T_DEV (1u << NGINX_DEVELOPMENT)
#define T_LOC (1u << NGINX_LOCATION)

enum indent {
	I_RAW,		/* as written */
	I_OUTER,	/* upstream and server blocks: 0 (nginx), 4 (dev) */
	I_INNER,	/* server body: 4 (nginx), 8 (dev), 0 (location) */
};

static const int indents[][3] = {
	[NGINX_SERVER] = { 0, 0, 4 },
	[NGINX_DEVELOPMENT] = { 0, 4, 8 },
	[NGINX_LOCATION] = { 0, 0, 0 },
};

struct tmpl_row {
	unsigned types;		/* T_* it belongs to */
	enum indent indent;	/* added before each non-empty line */
	const char *text;
};

static const struct tmpl_row tmpl_rows[] = {
	{ T_LOC, I_RAW,
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
	  "\n" },
	{ T_DEV, I_RAW,
	  "# \n"
	  "# nginx userland template\n"
	  "# this configuration is designed for running nginx as the omero"
	  " user or similar\n"
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
	  "\n" },
	{ T_SRV | T_DEV, I_OUTER,
	  "upstream omeroweb%(PREFIX_NAME)s {\n"
	  "    server %(FASTCGI_EXTERNAL)s fail_timeout=0;\n"
	  "}\n" },
	{ T_SRV, I_RAW, "\n" },
	{ T_DEV, I_RAW, "    \n" },
	{ T_SRV | T_DEV, I_OUTER, "server {\n" },
	{ T_SRV | T_DEV, I_INNER, "listen %(HTTPPORT)d;\n" },
	{ T_SRV, I_INNER, "server_name %(SERVERNAME)s;\n" },
	{ T_DEV, I_INNER,
	  "server_name _;\n"
	  "proxy_temp_path %(ROOT)s/var/nginx_tmp;\n" },
	{ T_SRV | T_DEV, I_INNER,
	  "\n"
	  "sendfile on;\n"
	  "client_max_body_size %(MAX_BODY_SIZE)s;\n"
	  "\n" },
	{ T_SRV | T_DEV, I_RAW, "%(NGINX_SERVER_EXTRA_CONFIG)s\n\n" },
	{ T_SRV | T_DEV | T_LOC, I_INNER,
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
	  "\n" },
	{ T_SRV | T_DEV, I_INNER,
	  "    proxy_pass http://omeroweb%(PREFIX_NAME)s;\n" },
	{ T_LOC, I_INNER, "    proxy_pass http://%(FASTCGI_EXTERNAL)s;\n" },
	{ T_SRV | T_DEV | T_LOC, I_INNER,
	  "}\n"
	  "\n"
	  "location %(FORCE_SCRIPT_NAME)s {\n"
	  "\n"
	  "    error_page 502 @maintenance%(PREFIX_NAME)s;\n"
	  "    # checks for static file, if not found proxy to app\n"
	  "    try_files $uri @proxy_to_app%(PREFIX_NAME)s;\n"
	  "}\n" },
	{ T_SRV | T_DEV, I_OUTER, "\n}\n" },
	{ T_DEV, I_RAW, "\n}\n" },
};

#define NTMPL_ROWS (sizeof(tmpl_rows) / sizeof(tmpl_rows[0]))

/* Upstream's template for type (before the % substitution), into out. */
static void
template_text(enum nginx_type type, struct sbuf *out)
{
	const char *p, *eol;
	size_t i;
	int n;

	for (i = 0; i < NTMPL_ROWS; i++) {
		if (!(tmpl_rows[i].types & (1u << type)))
			continue;
		n = indents[type][tmpl_rows[i].indent];
		for (p = tmpl_rows[i].text; *p; p = eol) {
			eol = strchr(p, '\n');
			eol = eol ? eol + 1 : p + strlen(p);
			if (*p != '\n')
				sbuf_addf(out, "%*s", n, "");
			sbuf_add(out, p, eol - p);
		}
	}
}

static const char *const type_names[] = {
	[NGINX_SERVER] = "nginx",
	[NGINX_DEVELOPMENT] = "nginx-development",
	[NGINX_LOCATION] = "nginx-location",
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

/* c as a message shows it: itself, or \n, \t, \r, \xNN. */
static void
add_shown_char(struct sbuf *sb, unsigned char c)
{
	if (c == '\n')
		sbuf_adds(sb, "\\n");
	else if (c == '\t')
		sbuf_adds(sb, "\\t");
	else if (c == '\r')
		sbuf_adds(sb, "\\r");
	else if (c < ' ' || c == 0x7f)
		sbuf_addf(sb, "\\x%02x", c);
	else
		sbuf_addch(sb, c);
}

/*
 * Fail with ERR_WEB_NGINX_UNSAFE and the message fmt makes, its control
 * characters escaped: one line, whatever the values in it hold.
 */
static int
vunsafe(struct err *e, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static int
vunsafe(struct err *e, const char *fmt, va_list ap)
{
	struct sbuf raw = SBUF_INIT, msg = SBUF_INIT;
	size_t i;

	sbuf_vaddf(&raw, fmt, ap);
	for (i = 0; i < raw.len; i++)
		add_shown_char(&msg, (unsigned char)raw.buf[i]);
	err_set(e, ERR_WEB_NGINX_UNSAFE, "%s", msg.buf);
	sbuf_release(&raw);
	sbuf_release(&msg);
	return -1;
}

static int
unsafe(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
unsafe(struct err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vunsafe(e, fmt, ap);
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

/*
 * What nginx's tokenizer (ngx_conf_read_token) makes of a byte in an
 * unquoted argument, which is how the templates write every value. A word
 * ends at a blank or a newline, and at ';' (which also ends the directive)
 * or '{' (which opens a block, unless right after a '$'); '\' escapes the
 * next byte. Only at the start of a word, '#' begins a comment, a quote
 * begins a quoted string and '}' closes a block; elsewhere they are plain
 * bytes. Other bytes, UTF-8 included, are plain too.
 */
struct token_rule {
	char c;
	unsigned at_start_only;
	const char *why;
};

static const struct token_rule token_rules[] = {
	{ ';', 0, "which ends an nginx directive" },
	{ '{', 0, "which opens an nginx block" },
	{ '\\', 0, "which escapes the next character in nginx" },
	{ '#', 1, "which begins an nginx comment" },
	{ '"', 1, "which begins an nginx quoted string" },
	{ '\'', 1, "which begins an nginx quoted string" },
	{ '}', 1, "which closes an nginx block" },
};

#define NTOKEN_RULES (sizeof(token_rules) / sizeof(token_rules[0]))

/* Where a value goes, beyond the tokenizer's rules. */
enum word_flags {
	W_WORDS = 1 << 0,	/* blank-separated words (server_name) */
	W_NO_VARS = 1 << 1,	/* root, alias: '$' starts a variable */
	W_NO_GLOB = 1 << 2,	/* include: '*', '?', '[' are wildcards */
};

/* Fail with ERR_WEB_NGINX_UNSAFE and "NAME 'VALUE' " then fmt. */
static int
refuse(struct err *e, const char *name, const char *value,
       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
refuse(struct err *e, const char *name, const char *value,
       const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	sbuf_addf(&sb, "%s '%s' ", name, value);
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	unsafe(e, "%s", sb.buf);
	sbuf_release(&sb);
	return -1;
}

/* Why nginx would not read byte c (at_start: first of a word) as such. */
static const char *
token_problem(unsigned char c, int at_start, unsigned flags)
{
	size_t i;

	if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		return "which ends a word in nginx";
	if (c < ' ' || c == 0x7f)
		return "a control character, which nginx cannot take "
		       "unquoted";
	for (i = 0; i < NTOKEN_RULES; i++)
		if (c == (unsigned char)token_rules[i].c &&
		    (at_start || !token_rules[i].at_start_only))
			return token_rules[i].why;
	if (c == '$' && (flags & W_NO_VARS))
		return "which begins a variable in nginx's root and alias";
	if ((c == '*' || c == '?' || c == '[') && (flags & W_NO_GLOB))
		return "which is a wildcard in nginx's include";
	return NULL;
}

/*
 * Refuse value (shown as name) unless nginx reads it, written unquoted
 * where flags say, as the word the template means (or as blank-separated
 * words with W_WORDS). hint ends the message.
 */
static int
check_word(const char *name, const char *value, unsigned flags,
	   const char *hint, struct err *e)
{
	const unsigned char *p;
	struct sbuf ch = SBUF_INIT;
	const char *why;
	int start = 1, ret;

	for (p = (const unsigned char *)value; *p; p++) {
		if ((flags & W_WORDS) && (*p == ' ' || *p == '\t')) {
			start = 1;
			continue;
		}
		why = token_problem(*p, start, flags);
		if (why)
			break;
		start = 0;
	}
	if (!*p)
		return 0;
	add_shown_char(&ch, *p);
	/* "starts a word with" only for bytes that are fine inside one */
	ret = refuse(e, name, value, "%s '%s', %s; %s",
		     token_problem(*p, 0, flags) ? "holds" :
		     "starts a word with", ch.buf, why, hint);
	sbuf_release(&ch);
	return ret;
}

/*
 * Why nginx rejects server name w (n bytes), or NULL: the rules of
 * ngx_http_core_server_name() and of ngx_hash_add_key() for wildcards,
 * plus '$' (only $hostname is expanded), '~' (a regular expression, which
 * owctl cannot check) and '/' (nginx warns: a URL, not a host name).
 */
static const char *
server_name_problem(const char *w, size_t n)
{
	const char *star = memchr(w, '*', n);
	size_t i;

	if (n == 9 && !strncasecmp(w, "$hostname", 9))
		return NULL;
	if (w[0] == '~')
		return "a regular expression, which owctl does not check; "
		       "add it as a server_name line of "
		       K_EXTRA;
	if (memchr(w, '$', n))
		return "a variable, but nginx expands only $hostname there";
	if (memchr(w, '/', n))
		return "a URL path; give the host name only";
	for (i = 0; i + 1 < n; i++)
		if (w[i] == '.' && w[i + 1] == '.')
			return "an empty label ('..')";
	if (w[0] == '.' && (n < 2 || star))
		return "not a domain after its leading '.'";
	if (star && (memchr(star + 1, '*', n - (star + 1 - w)) || n < 3 ||
		     !((star == w && w[1] == '.') ||
		       (star == w + n - 1 && w[n - 2] == '.'))))
		return "a wildcard nginx does not take; use "
		       "'*.example.org' or 'example.*'";
	return NULL;
}

static int
check_server_names(const char *names, struct err *e)
{
	const char *p = names, *why;
	size_t n;
	int count = 0, ret;

	if (check_word("--servername", names, W_WORDS,
		       "give host names separated by spaces", e) < 0)
		return -1;
	for (;;) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		n = strcspn(p, " \t");
		count++;
		why = server_name_problem(p, n);
		if (why) {
			char *w = xstrndup(p, n);

			ret = refuse(e, "--servername", names, "holds the name "
				     "'%s', %s", w, why);
			free(w);
			return ret;
		}
		p += n;
	}
	if (!count)
		return refuse(e, "--servername", names, "holds no name");
	return 0;
}

/*
 * Is s an nginx size nginx can store (ngx_parse_offset: digits, then an
 * optional k, m or g, at most NGX_MAX_OFF_T_VALUE bytes)? *max gets the
 * largest number for the unit s has.
 */
static int
nginx_size_ok(const char *s, int *too_big, uint64_t *max)
{
	size_t n = strspn(s, "0123456789"), i;
	uint64_t v = 0, scale = 1;

	*too_big = 0;
	if (!n || (s[n] && (!strchr("kKmMgG", s[n]) || s[n + 1])))
		return 0;
	if (s[n])
		scale = strchr("kK", s[n]) ? 1024 :
			strchr("mM", s[n]) ? 1024 * 1024 : 1024 * 1024 * 1024;
	*max = (uint64_t)INT64_MAX / scale;
	for (i = 0; i < n; i++) {
		if (v > (*max - (uint64_t)(s[i] - '0')) / 10) {
			*too_big = 1;
			return 0;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return 1;
}

/*
 * Read the extra config lines (joined by newlines) as nginx's tokenizer
 * does, and say why they are not self-contained: a quoted string, a
 * directive or a block left open, or a '}' closing a block they did not
 * open would change what the template's lines after them mean. Syntax
 * errors nginx would report are reported too. NULL if fine; *line is the
 * 1-based line of the problem.
 */
static const char *
extra_problem(const char *s, size_t *line)
{
	int depth = 0, words = 0, in_word = 0, quote = 0, need_space = 0;
	int comment = 0, escaped = 0, var = 0, found;
	size_t open_line = 1;
	char c;

	*line = 1;
	for (; (c = *s); s++) {
		if (c == '\n') {
			(*line)++;
			comment = 0;
		}
		if (comment)
			continue;
		if (escaped) {
			escaped = 0;
			continue;
		}
		if (need_space) {
			need_space = 0;
			if (c == ';' || c == '{') {
				depth += c == '{';
				if (c == '{')
					open_line = *line;
				words = 0;
				continue;
			}
			if (!strchr(" \t\r\n", c))
				return "has a character right after a "
				       "quoted string";
			continue;
		}
		if (!in_word) {
			if (strchr(" \t\r\n", c))
				continue;
			if (c == ';' || c == '{') {
				if (!words)
					return c == ';' ?
					       "has an unexpected ';'" :
					       "has an unexpected '{'";
				if (c == '{') {
					depth++;
					open_line = *line;
				}
				words = 0;
				continue;
			}
			if (c == '}') {
				if (words)
					return "has a '}' inside a directive";
				if (!depth)
					return "closes a block it did not open";
				depth--;
				continue;
			}
			if (c == '#') {
				comment = 1;
				continue;
			}
			in_word = 1;
			if (c == '\\')
				escaped = 1;
			else if (c == '"' || c == '\'')
				quote = (unsigned char)c;
			else if (c == '$')
				var = 1;
			continue;
		}
		if (c == '{' && var)
			continue;
		var = 0;
		if (c == '\\') {
			escaped = 1;
			continue;
		}
		if (c == '$') {
			var = 1;
			continue;
		}
		found = 0;
		if (quote) {
			if (c == quote) {
				quote = 0;
				need_space = 1;
				found = 1;
			}
		} else if (strchr(" \t\r\n;{", c)) {
			found = 1;
		}
		if (!found)
			continue;
		in_word = 0;
		words++;
		if (c == ';' || c == '{') {
			if (c == '{') {
				depth++;
				open_line = *line;
			}
			words = 0;
		}
	}
	if (quote)
		return "leaves a quoted string open";
	if (in_word || words || escaped)
		return "ends without ';'";
	if (depth) {
		*line = open_line;
		return "opens a block it does not close";
	}
	return NULL;
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

/* The lines of the rendered extra config block (markers aside). */
static int
check_extra(const char *block, struct err *e)
{
	const char *first = strchr(block, '\n'), *last = strrchr(block, '\n');
	const char *why;
	char *lines;
	size_t line;

	if (!first || first == last)
		return 0;	/* not set: "" */
	lines = xstrndup(first + 1, last - (first + 1));
	why = extra_problem(lines, &line);
	free(lines);
	if (why)
		return unsafe(e, "%s: line %zu %s, so nginx would not read the "
			      "lines after it as written; fix that line",
			      K_EXTRA, line, why);
	return 0;
}

/* Host names and IP addresses: what the upstream server line can take. */
static int
check_host(const char *host, struct err *e)
{
	const char *p;
	size_t n = strlen(host);

	if (!*host)
		return refuse(e, K_APP_HOST, host, "is not a host name or "
			      "address");
	if (check_word(K_APP_HOST, host, 0, "use a host name or an IP "
		       "address", e) < 0)
		return -1;
	if (host[0] == '[') {
		/* [IPv6]: ngx_parse_url() reads up to ']', then ':port' */
		if (n < 3 || host[n - 1] != ']' ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") != n - 2)
			return refuse(e, K_APP_HOST, host, "is not an IPv6 "
				      "address in brackets");
		return 0;
	}
	if (strchr(host, ':'))
		return refuse(e, K_APP_HOST, host, "is an IPv6 address without "
			      "brackets; use '[%s]'", host);
	for (p = host; *p; p++) {
		if ((unsigned char)*p >= 0x80)
			return refuse(e, K_APP_HOST, host, "is not a host name "
				      "or address (it holds a non-ASCII "
				      "character); use its ASCII (IDNA) form");
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("-._", *p))
			return refuse(e, K_APP_HOST, host, "is not a host name "
				      "or address (it holds '%c'); use a host "
				      "name or an IP address", *p);
	}
	return 0;
}

/*
 * Where owctl refuses what upstream would write broken: for every value
 * the template substitutes, what nginx reads there (check_word and the
 * rules of the directive it goes to).
 */
static int
check_unsafe(const struct nginx_opts *o, const struct settings *s,
	     char *const d[D_MAX], long http, struct err *e)
{
	static const char path_hint[] = "use a path without it (a symbolic "
					"link will do)";
	static const char url_hint[] = "use a URL path without it";
	const char *omerodir = o->omerodir, *v;
	int server = o->type != NGINX_LOCATION;
	int too_big;
	uint64_t max;

	if (server && (http < 1 || http > 65535))
		return unsafe(e, "HTTP port %ld is out of range 1-65535", http);
	if (s->port_value < 1 || s->port_value > 65535)
		return unsafe(e, "%s '%s' is out of range 1-65535",
			      K_APP_PORT, s->port_raw);
	if (check_host(s->host, e) < 0)
		return -1;
	if (omerodir[0] != '/')
		return unsafe(e, "OMERODIR '%s' is not an absolute path",
			      omerodir);
	if (check_word("OMERODIR", omerodir, W_NO_VARS |
		       (o->type == NGINX_DEVELOPMENT ? W_NO_GLOB : 0),
		       path_hint, e) < 0)
		return -1;
	v = d[D_STATIC_ROOT];
	if (v[0] != '/')
		return unsafe(e, "%s '%s' is not an absolute path",
			      K_STATIC_ROOT, v);
	if (check_word(K_STATIC_ROOT, v, W_NO_VARS, path_hint, e) < 0)
		return -1;
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
		if (check_word(s->prefix_key, s->prefix, 0, url_hint, e) < 0)
			return -1;
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
	if (check_word(K_STATIC_URL, s->static_url, 0, url_hint, e) < 0)
		return -1;
	if (!strcmp(v, d[D_FORCE_SCRIPT_NAME]))
		return unsafe(e, "%s '%s' and %s '%s' make the same nginx "
			      "location twice", K_STATIC_URL, s->static_url,
			      s->prefix_key, s->prefix);
	if (o->type == NGINX_SERVER && check_server_names(d[D_SERVERNAME],
							  e) < 0)
		return -1;
	if (server && check_extra(d[D_NGINX_SERVER_EXTRA_CONFIG], e) < 0)
		return -1;
	if (server && !nginx_size_ok(d[D_MAX_BODY_SIZE], &too_big, &max)) {
		if (too_big)
			return refuse(e, "--max-body-size",
				      d[D_MAX_BODY_SIZE], "is more than nginx "
				      "can store (at most %" PRIu64 " with "
				      "that unit)", max);
		return refuse(e, "--max-body-size", d[D_MAX_BODY_SIZE],
			      "is not an nginx size (digits, then k, m or "
			      "g)");
	}
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
	struct sbuf tmpl = SBUF_INIT;
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

	template_text(o->type, &tmpl);
	if (expand(tmpl.buf, d, &text, e) < 0)
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
	sbuf_release(&tmpl);
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

/* A file of the private scratch directory (fs_write_atomic_mode). */
static int
write_file(const char *path, const char *data, size_t len, struct err *e)
{
	return fs_write_atomic_mode(path, data, len, 0600, e);
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
		nginx_problem_line(log.buf, r.status, &msg);
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
