/*
 * Fuzz the nginx renderer with arbitrary property values and options. On
 * failure the output is untouched; on success it ends with a newline; and
 * unless NGINX_ALLOW_UNSAFE is given, every file it writes must have the
 * template's shape when read by nginx's own tokenizer
 * (ngx_conf_read_token): the same directives, blocks and argument counts
 * as the default render, plus those of the extra config lines (which must
 * read alone) where the template puts them, so no value can break the
 * syntax or swallow a line of the template.
 *
 * Input: byte 0 = type (bits 0-1), ALLOW_UNSAFE (bit 2); then fields
 * separated by NUL: --http, --servername, --max-body-size, OMERODIR and
 * the 8 properties below. A field "\xff" (or a missing one) is unset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/nginx.h"
#include "fuzz-util.h"
#include "banned.h"

static const char *const keys[] = {
	"omero.web.prefix",
	"omero.web.force_script_name",
	"omero.web.static_url",
	"omero.web.static_root",
	"omero.web.application_server",
	"omero.web.application_server.host",	/* 5 */
	"omero.web.application_server.port",
	"omero.web.nginx_server_extra_config",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct props {
	char *v[NKEYS];
};

static const char *
lookup(void *ud, const char *key)
{
	struct props *p = ud;

	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(key, keys[i]))
			return p->v[i];
	return NULL;
}

static const char *
no_props(void *ud, const char *key)
{
	(void)ud;
	(void)key;
	return NULL;
}

/* Record the end of a directive (';') or the start of a block ('{'). */
static void
directive_end(struct sbuf *out, struct sbuf *name, int *argc, char c)
{
	if (!strcmp(name->buf, "server_name"))
		*argc = 2;
	sbuf_addf(out, "%s/%d%c", name->buf, *argc - 1, c);
	*argc = 0;
	sbuf_reset(name);
}

/*
 * The file's shape as nginx reads it: "name/argc;" per directive, "name/argc{"
 * and "}" for blocks (server_name: any argc >= 1 counts as 1). Returns -1
 * where nginx would report a syntax error. A line-by-line port of the state
 * machine of ngx_conf_read_token() (nginx 1.22, src/core/ngx_conf_file.c),
 * written apart from the renderer's own checks.
 */
static int
shape(const char *s, struct sbuf *out)
{
	struct sbuf name = SBUF_INIT;
	int argc = 0, last_space = 1, need_space = 0, sharp = 0, quoted = 0;
	int d_quoted = 0, s_quoted = 0, variable = 0, depth = 0, found;
	int ret = -1;

	for (; *s; s++) {
		char ch = *s;
		int blank = ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';

		if (ch == '\n')
			sharp = 0;
		if (sharp)
			continue;
		if (quoted) {
			quoted = 0;
			continue;
		}
		if (need_space) {
			if (blank) {
				last_space = 1;
				need_space = 0;
				continue;
			}
			if (ch == ';' || ch == '{') {
				need_space = 0;
				last_space = 1;
				depth += ch == '{';
				directive_end(out, &name, &argc, ch);
				continue;
			}
			if (ch != ')')
				goto out;	/* unexpected character */
			last_space = 1;
			need_space = 0;
		}
		if (last_space) {
			if (blank)
				continue;
			switch (ch) {
			case ';':
			case '{':
				if (!argc)
					goto out;	/* unexpected ";" "{" */
				depth += ch == '{';
				directive_end(out, &name, &argc, ch);
				continue;
			case '}':
				if (argc || !depth)
					goto out;	/* unexpected "}" */
				depth--;
				sbuf_addch(out, '}');
				continue;
			case '#':
				sharp = 1;
				continue;
			case '\\':
				quoted = 1;
				break;
			case '"':
				d_quoted = 1;
				break;
			case '\'':
				s_quoted = 1;
				break;
			case '$':
				variable = 1;
				break;
			default:
				break;
			}
			last_space = 0;
			if (argc == 0)
				sbuf_addch(&name, ch);
			continue;
		}
		if (ch == '{' && variable)
			continue;
		variable = 0;
		if (ch == '\\') {
			quoted = 1;
			continue;
		}
		if (ch == '$') {
			variable = 1;
			continue;
		}
		found = 0;
		if (d_quoted) {
			if (ch == '"') {
				d_quoted = 0;
				need_space = 1;
				found = 1;
			}
		} else if (s_quoted) {
			if (ch == '\'') {
				s_quoted = 0;
				need_space = 1;
				found = 1;
			}
		} else if (blank || ch == ';' || ch == '{') {
			last_space = 1;
			found = 1;
		}
		if (!found) {
			if (argc == 0)
				sbuf_addch(&name, ch);
			continue;
		}
		argc++;
		if (ch == ';' || ch == '{') {
			depth += ch == '{';
			directive_end(out, &name, &argc, ch);
		}
	}
	if (last_space && !argc && !depth && !quoted)
		ret = 0;	/* else: unexpected end of file */
out:
	sbuf_release(&name);
	return ret;
}

#define EXTRA_BEGIN "# <<<<< omero.web.nginx_server_extra_config\n"
#define EXTRA_END "\n# omero.web.nginx_server_extra_config >>>>>"

/*
 * The shape the file must have: ref's, with the shape of the extra config
 * lines in conf (if any) where the template puts them, after
 * client_max_body_size. Returns -1 if the extra lines do not read alone.
 */
static int
expected_shape(const char *conf, const char *ref, struct sbuf *want)
{
	static const char anchor[] = "client_max_body_size/1;";
	const char *b = strstr(conf, EXTRA_BEGIN), *e = NULL, *p, *at;
	struct sbuf lines = SBUF_INIT, sh = SBUF_INIT;
	int ret = 0;

	if (b) {
		b += strlen(EXTRA_BEGIN);
		for (p = b; (p = strstr(p, EXTRA_END)); p++)
			e = p;
	}
	if (!b || !e) {
		sbuf_adds(want, ref);
		return 0;
	}
	sbuf_add(&lines, b, e - b);
	if (shape(lines.buf, &sh) < 0) {
		ret = -1;
		goto out;
	}
	at = strstr(ref, anchor);
	FUZZ_CHECK(at, "no client_max_body_size in the reference");
	at += strlen(anchor);
	sbuf_add(want, ref, at - ref);
	sbuf_add(want, sh.buf, sh.len);
	sbuf_adds(want, at);
out:
	sbuf_release(&lines);
	sbuf_release(&sh);
	return ret;
}

static int
is_unset(const char *f)
{
	return !f || !strcmp(f, "\xff");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct props p = { { NULL } };
	struct nginx_opts o = { 0 };
	struct sbuf out = SBUF_INIT, ref = SBUF_INIT;
	struct sbuf s1 = SBUF_INIT, s2 = SBUF_INIT, want = SBUF_INIT;
	struct err e = ERR_INIT;
	char *http, *servername, *body, *omerodir;
	size_t pos = 1;
	int r;

	if (!size)
		return 0;
	o.type = (enum nginx_type)(data[0] & 3);
	o.flags = NGINX_NO_FILE_CHECKS;
	if (data[0] & 4)
		o.flags |= NGINX_ALLOW_UNSAFE;
	http = fuzz_field(data, size, &pos, '\0');
	servername = fuzz_field(data, size, &pos, '\0');
	body = fuzz_field(data, size, &pos, '\0');
	omerodir = fuzz_field(data, size, &pos, '\0');
	for (size_t i = 0; i < NKEYS; i++) {
		p.v[i] = fuzz_field(data, size, &pos, '\0');
		if (p.v[i] && is_unset(p.v[i])) {
			free(p.v[i]);
			p.v[i] = NULL;
		}
	}
	o.http_port = is_unset(http) ? 0 : strtol(http, NULL, 10);
	o.servername = is_unset(servername) ? NULL : servername;
	o.max_body_size = is_unset(body) ? NULL : body;
	o.omerodir = is_unset(omerodir) ? "/opt/omero/web/OMERO.web"
					: omerodir;

	sbuf_adds(&out, "sentinel");
	r = nginx_render(&o, lookup, &p, &out, &e);
	if (r < 0) {
		FUZZ_CHECK(e.msg && e.code != ERR_NONE, "failed without error");
		FUZZ_CHECK(out.len == 8 && !strcmp(out.buf, "sentinel"),
			   "a failed render changed the output");
		goto done;
	}
	FUZZ_CHECK(o.type <= NGINX_LOCATION, "rendered an unknown type");
	FUZZ_CHECK(out.len > 8 && out.buf[out.len - 1] == '\n',
		   "no final newline");
	FUZZ_CHECK(strlen(out.buf) == out.len, "NUL in the output");
	if (o.flags & NGINX_ALLOW_UNSAFE)
		goto done;

	/* The same type with every property unset gives the reference. */
	{
		struct nginx_opts d = o;

		d.servername = NULL;
		d.max_body_size = NULL;
		d.http_port = 0;
		d.omerodir = "/opt/omero/web/OMERO.web";
		FUZZ_CHECK(nginx_render(&d, no_props, NULL, &ref, &e) == 0,
			   "the default render fails: %s", e.msg);
	}
	FUZZ_CHECK(shape(out.buf + 8, &s1) == 0,
		   "nginx would not read the rendered file:\n%s", out.buf + 8);
	FUZZ_CHECK(shape(ref.buf, &s2) == 0, "default render unreadable");
	FUZZ_CHECK(expected_shape(out.buf + 8, s2.buf, &want) == 0,
		   "the extra config lines do not read alone:\n%s",
		   out.buf + 8);
	FUZZ_CHECK(!strcmp(s1.buf, want.buf), "a value changed the structure "
		   "of the file:\n%s\n%s\n%s", out.buf + 8, s1.buf, want.buf);
done:
	err_clear(&e);
	for (size_t i = 0; i < NKEYS; i++)
		free(p.v[i]);
	free(http);
	free(servername);
	free(body);
	free(omerodir);
	sbuf_release(&out);
	sbuf_release(&ref);
	sbuf_release(&s1);
	sbuf_release(&s2);
	sbuf_release(&want);
	return 0;
}
