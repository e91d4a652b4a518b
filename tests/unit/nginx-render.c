/*
 * Test helper: render the nginx config described by a vector's input.json
 * (type, OMERODIR, http, servername, max_body_size, props) to stdout, and
 * with --check test it with the real nginx -t. Stands in for
 * `owctl web config` until the command exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "web/nginx.h"
#include "banned.h"

static const char *
lookup(void *ud, const char *key)
{
	json_t *v = json_object_get((json_t *)ud, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
status_of(enum err_code code)
{
	switch (code) {
	case ERR_WEB_PORT_CONFLICT:
		return 166;
	case ERR_WEB_APP_SERVER:
		return 168;
	case ERR_WEB_NGINX_UNSAFE:
		return 65;
	default:
		return 1;
	}
}

static int
usage(void)
{
	fputs("usage: nginx-render INPUT.json [--check] [--no-file-checks] "
	      "[--allow-unsafe] [--name NAME]\n", stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	struct nginx_opts o = { 0 };
	struct nginx_check_opts co = { 0 };
	struct sbuf out = SBUF_INIT, log = SBUF_INIT;
	struct err e = ERR_INIT;
	json_error_t je;
	json_t *in, *v;
	int check = 0, status = 0, i;

	if (argc < 2)
		return usage();
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--check"))
			check = 1;
		else if (!strcmp(argv[i], "--no-file-checks"))
			o.flags |= NGINX_NO_FILE_CHECKS;
		else if (!strcmp(argv[i], "--allow-unsafe"))
			o.flags |= NGINX_ALLOW_UNSAFE;
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			co.name = argv[++i];
		else
			return usage();
	}
	in = json_load_file(argv[1], 0, &je);
	if (!in) {
		fprintf(stderr, "nginx-render: %s: %s\n", argv[1], je.text);
		return 2;
	}
	v = json_object_get(in, "type");
	if (!json_is_string(v) ||
	    nginx_type_parse(json_string_value(v), &o.type) < 0) {
		fprintf(stderr, "nginx-render: bad or missing \"type\"\n");
		json_decref(in);
		return 2;
	}
	o.omerodir = json_string_value(json_object_get(in, "OMERODIR"));
	v = json_object_get(in, "http");
	if (json_is_integer(v))
		o.http_port = (long)json_integer_value(v);
	o.servername = json_string_value(json_object_get(in, "servername"));
	o.max_body_size =
		json_string_value(json_object_get(in, "max_body_size"));
	v = json_object_get(in, "props");

	if (nginx_render(&o, lookup, v, &out, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		status = status_of(e.code);
		goto done;
	}
	fwrite(out.buf, 1, out.len, stdout);
	if (check) {
		co.log = &log;
		if (nginx_check_conf(o.type, out.buf, out.len, &co, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			status = status_of(e.code);
		}
		fwrite(log.buf, 1, log.len, stderr);
	}
done:
	if (fflush(stdout) != 0 && !status)
		status = 1;
	err_clear(&e);
	sbuf_release(&out);
	sbuf_release(&log);
	json_decref(in);
	return status;
}
