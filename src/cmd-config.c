/*
 * owctl config: a drop-in for `omero config` (same output, messages and
 * exit statuses; differences listed in owctl-config(1)) plus export,
 * import, validate, explain and diff.
 */
#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cmd-config.h"
#include "fs.h"
#include "config/loadfmt.h"
#include "config/ops.h"
#include "config/cfgdiff.h"
#include "config/export.h"
#include "config/schema.h"
#include "config/validate.h"
#include "pyjson.h"
#include "shlex.h"
#include "config/store.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

#define MAX_INPUT (64u * 1024 * 1024)

static struct {
	const char *source;
	double wait;
	struct cfg_store *shared;	/* owctl load --atomic */
} cenv;

void
config_set_shared_store(struct cfg_store *s)
{
	cenv.shared = s;
}

/* Open the store for a subcommand (or use the shared one). */
static struct cfg_store *
store_begin(struct ctx *ctx, int write, struct cfg_store *own, struct err *e)
{
	struct cfg_open_opts o = {
		.source = cenv.source,
		.omerodir = ctx->omerodir,
		.env_profile = getenv("OMERO_CONFIG"),
		.write = write,
		.wait = cenv.wait,
	};

	if (cenv.shared)
		return cenv.shared;
	if (cfg_open(own, &o, e) < 0) {
		if (own->created_dir)
			fprintf(stderr, "%s not found; creating %s\n",
				own->created_dir, own->created_dir);
		cfg_close(own);
		return NULL;
	}
	if (own->created_dir) {
		fflush(stdout);
		fprintf(stderr, "%s not found; creating %s\n", own->created_dir,
			own->created_dir);
	}
	return own;
}

/*
 * Finish: save when asked (or when a read created the file), close our own
 * store. Returns -1 with e set when saving fails.
 */
static int
store_end(struct cfg_store *s, struct cfg_store *own, int save, struct err *e)
{
	int ret = 0;

	if (s != own)
		return 0;
	if ((save || s->fresh) && s->locked)
		ret = cfg_save(s, e);
	cfg_close(own);
	return ret;
}

static void
print_sbuf(const struct sbuf *sb)
{
	fwrite(sb->buf, 1, sb->len, stdout);
}

static int
run_readonly(struct ctx *ctx, void (*fn)(struct cfg_store *, struct sbuf *))
{
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	struct sbuf out = SBUF_INIT;

	s = store_begin(ctx, 0, &own, &e);
	if (!s)
		return cli_fail(&e);
	fn(s, &out);
	if (store_end(s, &own, 0, &e) < 0) {
		sbuf_release(&out);
		return cli_fail(&e);
	}
	print_sbuf(&out);
	sbuf_release(&out);
	return 0;
}

/*
 * Parse only -h/--help and check the operands' number; return -1 to
 * continue, else an exit status.
 */
static int
only_help(int argc, char **argv, struct ctx *ctx, int min, int max)
{
	static const struct option opts[] = { CLI_OPT_HELP, CLI_OPT_END };
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "+h", opts, ctx);

	if (cli_getopt(&g) == CLI_OPT_EXIT)
		return g.status;
	return cli_operands(ctx, argc, argv, min, max);
}

/* get / list */

/*
 * `get --json` (owctl.config.get/1): the active profile's properties (the
 * keys asked for, else all but the internal two), sorted, passwords masked
 * unless show; keys asked for but not set are listed in "missing".
 */
static void
get_json(struct cfg_store *s, const struct strv *keys, int show,
	 struct sbuf *out)
{
	struct cfg_item *items;
	size_t n = profile_items_ex(cfg_profile(s), &items, 1);
	const char *version = cfgop_version(s);
	json_t *j = json_object(), *props = json_object();
	json_t *missing = json_array();
	char *txt;

	json_object_set_new(j, "schema", json_string("owctl.config.get/1"));
	json_object_set_new(j, "path", json_string(s->path));
	json_object_set_new(j, "profile", json_string(cfg_active(s)));
	json_object_set_new(j, "version", version ? json_string(version) :
			    json_null());
	for (size_t i = 0; i < n; i++) {
		const char *k = items[i].key, *v = items[i].value;

		if (keys->n ? strv_find(keys, k) < 0 :
		    !strcmp(k, CFG_KEY_VERSION) || !strcmp(k, CFG_KEY_PROFILE))
			continue;
		if (!show && *v && cfgop_is_password_key(k))
			v = "********";
		json_object_set_new(props, k, json_string(v));
	}
	for (size_t i = 0; i < keys->n; i++)
		if (!json_object_get(props, keys->v[i]) &&
		    strv_find(keys, keys->v[i]) == (long)i)	/* first time */
			json_array_append_new(missing,
					      json_string(keys->v[i]));
	json_object_set_new(j, "properties", props);
	if (keys->n)
		json_object_set_new(j, "missing", missing);
	else
		json_decref(missing);
	txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	sbuf_addf(out, "%s\n", txt);
	free(txt);
	json_decref(j);
	free(items);
}

static int
do_get(int argc, char **argv, struct ctx *ctx, int deprecated_list)
{
	static const struct option opts[] = {
		{ "show-password", no_argument, NULL, 's' },
		{ "hide-password", no_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct strv keys = STRV_INIT;
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	struct sbuf out = SBUF_INIT;
	int c, show = 0, ret;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 's':
			show = 1;
			break;
		case 'H':
			show = 0;
			break;
		case 'j':
			ctx->json = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if (deprecated_list && (c = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return c;
	for (int i = optind; i < argc; i++)
		strv_push(&keys, argv[i]);
	s = store_begin(ctx, 0, &own, &e);
	if (!s) {
		strv_release(&keys);
		return cli_fail(&e);
	}
	if (deprecated_list)
		cli_err("WARNING: \"config list\" is deprecated, use \"config "
			"get\" instead");
	if (ctx->json)
		get_json(s, &keys, show, &out);
	else
		cfgop_get(s, &keys, show, &out);
	ret = store_end(s, &own, 0, &e);
	strv_release(&keys);
	if (ret < 0) {
		sbuf_release(&out);
		return cli_fail(&e);
	}
	print_sbuf(&out);
	sbuf_release(&out);
	return 0;
}

static int
config_get(int argc, char **argv, struct ctx *ctx)
{
	return do_get(argc, argv, ctx, 0);
}

static int
config_list(int argc, char **argv, struct ctx *ctx)
{
	return do_get(argc, argv, ctx, 1);
}

/* set */

/*
 * --report prints omero's "Changed: ..." line on every call (omero prints
 * one for `set` whether or not the value differed); --report=changed only
 * when the value did change, so that Ansible's changed_when can use it.
 */
enum { REPORT_NONE, REPORT_ALWAYS, REPORT_CHANGED };

/* Parse --report's optional value; -1 when valid, else an exit status. */
static int
report_opt(struct ctx *ctx, const char *arg, int *report)
{
	if (!arg)
		*report = REPORT_ALWAYS;
	else if (!strcmp(arg, "changed"))
		*report = REPORT_CHANGED;
	else
		return cli_usage(ctx, "--report: invalid value '%s' (only "
				 "'changed')", arg);
	return -1;
}

/* `set a=b`: omero-py prints a hint and sets nothing; so do we, but exit 2. */
static int
set_with_equals(const char *key, const char *value)
{
	const char *eq = strchr(key, '=');
	struct sbuf k = SBUF_INIT;

	sbuf_add(&k, key, (size_t)(eq - key));
	if (!value)
		fprintf(stderr, " \"=\" in key name. Did you mean "
			"\"...set %s %s\"?\n", k.buf, eq + 1);
	else if (!eq[1])
		fprintf(stderr, " \"=\" in key name. Did you mean "
			"\"...set %s %s\"?\n", k.buf, value);
	else
		fprintf(stderr, "owctl: \"=\" in key name '%s'; nothing was "
			"set\n", key);
	sbuf_release(&k);
	return 2;
}

static int
read_value_file(const char *file, struct sbuf *val, struct err *e)
{
	if (!strcmp(file, "-"))
		return fs_read_fd(0, "<stdin>", MAX_INPUT, val, e);
	return fs_read_file(file, MAX_INPUT, val, e);
}

static int
config_set(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "report", optional_argument, NULL, 'r' },
		{ "file", required_argument, NULL, 'f' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "f:h", opts, ctx);
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	struct sbuf val = SBUF_INIT;
	const char *file = NULL, *key, *value, *after;
	char *before = NULL;
	int c, report = REPORT_NONE, changed, save;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'r':
			if ((c = report_opt(ctx, optarg, &report)) >= 0)
				return c;
			break;
		case 'f':
			file = optarg;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 1, 2)) >= 0)
		return c;
	key = argv[optind];
	value = argc - optind > 1 ? argv[optind + 1] : NULL;
	if (file && strcmp(file, "-") && !fs_exists(file))
		return cli_usage(ctx, "argument -f/--file: File does not "
				 "exist: %s", file);
	s = store_begin(ctx, 1, &own, &e);
	if (!s)
		return cli_fail(&e);
	if (strchr(key, '=')) {
		int ret = set_with_equals(key, value);

		store_end(s, &own, 0, &e);
		return ret;
	}
	if (cfg_require_writable(s, &e) < 0)
		goto fail;
	if (file) {
		if (!cfg_valid_key(key)) {
			err_set(&e, ERR_CFG_ILLEGAL_KEY,
				"Illegal property name: %s", key);
			goto fail;
		}
		if (read_value_file(file, &val, &e) < 0)
			goto fail;
		sbuf_rtrim(&val);
		if (memchr(val.buf, '\0', val.len)) {
			err_set(&e, ERR_BADVALUE, "cannot set '%s': the file "
				"contains a NUL byte; nothing was changed", key);
			goto fail;
		}
		value = val.buf;
		if (report == REPORT_ALWAYS)
			report = REPORT_NONE;	/* omero-py: nothing here */
	}
	if (profile_get(cfg_profile(s), key))
		before = xstrdup(profile_get(cfg_profile(s), key));
	if (cfgop_set(s, key, value, &e) < 0)
		goto fail;
	/* changed: what `config get KEY` shows (a later duplicate wins) */
	after = profile_get(cfg_profile(s), key);
	changed = before && after ? strcmp(before, after) != 0 :
		  before != after;
	/* omero rewrites config.xml every time; --report=changed does not */
	save = report != REPORT_CHANGED || changed;
	if (report == REPORT_CHANGED && !changed)
		report = REPORT_NONE;
	if (store_end(s, &own, save, &e) < 0) {
		s = NULL;
		goto fail;
	}
	if (report && value)
		printf("Changed: Set %s:%s\n", key, value);
	else if (report)
		printf("Changed: Removed %s\n", key);
	free(before);
	sbuf_release(&val);
	return 0;
fail:
	if (s == &own)
		cfg_close(&own);
	free(before);
	sbuf_release(&val);
	return cli_fail(&e);
}

/* append / remove */

static int
config_append_remove(int argc, char **argv, struct ctx *ctx, int append)
{
	static const struct option opts[] = {
		{ "report", optional_argument, NULL, 'r' },
		{ "set", no_argument, NULL, 's' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	int c, report = REPORT_NONE, set_only = 0, changed = 1, r;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'r':
			if ((c = report_opt(ctx, optarg, &report)) >= 0)
				return c;
			break;
		case 's':
			if (!append)
				return cli_bad_option(ctx, argv);
			set_only = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 2, 2)) >= 0)
		return c;
	s = store_begin(ctx, 1, &own, &e);
	if (!s)
		return cli_fail(&e);
	if (cfg_require_writable(s, &e) < 0)
		r = -1;
	else if (append)
		r = cfgop_append(s, argv[optind], argv[optind + 1], set_only,
				 &changed, &e);
	else
		r = cfgop_remove(s, argv[optind], argv[optind + 1], &e);
	if (r < 0) {
		if (s == &own)
			cfg_close(&own);
		return cli_fail(&e);
	}
	if (store_end(s, &own, changed, &e) < 0)
		return cli_fail(&e);
	if (report && changed)
		printf("Changed: %s %s:%s\n", append ? "Appended" : "Removed",
		       argv[optind], argv[optind + 1]);
	return 0;
}

static int
config_append(int argc, char **argv, struct ctx *ctx)
{
	return config_append_remove(argc, argv, ctx, 1);
}

static int
config_remove(int argc, char **argv, struct ctx *ctx)
{
	return config_append_remove(argc, argv, ctx, 0);
}

/* keys / all / path / version */

static void
keys_fn(struct cfg_store *s, struct sbuf *out)
{
	cfgop_keys(s, out);
}

/* Hidden `keys --schema`, for the bash completion: the properties of the
 * built-in schema, one a line; reads no config.xml. */
static int
config_keys(int argc, char **argv, struct ctx *ctx)
{
	int r;

	if (argc == 2 && !strcmp(argv[1], "--schema")) {
		for (size_t i = 0; i < schema_count(); i++)
			printf("%s\n", schema_at(i)->key);
		return 0;
	}
	r = only_help(argc, argv, ctx, 0, 0);
	return r >= 0 ? r : run_readonly(ctx, keys_fn);
}

static void
all_fn(struct cfg_store *s, struct sbuf *out)
{
	struct strv ids = STRV_INIT;

	cfgdoc_profile_ids(&s->doc, &ids);
	for (size_t i = 0; i < ids.n; i++)
		sbuf_addf(out, "%s\n", ids.v[i]);
	strv_release(&ids);
}

static int
config_all(int argc, char **argv, struct ctx *ctx)
{
	int r = only_help(argc, argv, ctx, 0, 0);

	return r >= 0 ? r : run_readonly(ctx, all_fn);
}

static void
path_fn(struct cfg_store *s, struct sbuf *out)
{
	sbuf_addf(out, "%s\n", s->path);
}

static int
config_path(int argc, char **argv, struct ctx *ctx)
{
	int r = only_help(argc, argv, ctx, 0, 0);

	return r >= 0 ? r : run_readonly(ctx, path_fn);
}

static void
version_fn(struct cfg_store *s, struct sbuf *out)
{
	const char *v = cfgop_version(s);

	sbuf_addf(out, "%s\n", v ? v : "None");
}

static int
config_version(int argc, char **argv, struct ctx *ctx)
{
	int r = only_help(argc, argv, ctx, 0, 0);

	return r >= 0 ? r : run_readonly(ctx, version_fn);
}

/* def / drop */

static int
config_def(int argc, char **argv, struct ctx *ctx)
{
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	const char *name;
	char *shown;
	int r = only_help(argc, argv, ctx, 0, 1);

	if (r >= 0)
		return r;
	name = optind < argc ? argv[optind] : NULL;
	s = store_begin(ctx, name != NULL, &own, &e);
	if (!s)
		return cli_fail(&e);
	if (name && cfg_require_writable(s, &e) < 0)
		goto fail;
	if (name && *name) {
		if (cfg_check_storable("the profile name", name, &e) < 0)
			goto fail;
		cfg_set_user_profile(s, name);
	}
	shown = xstrdup(cfg_active(s));
	if (store_end(s, &own, name != NULL, &e) < 0) {
		free(shown);
		return cli_fail(&e);
	}
	cli_out(shown);
	free(shown);
	return 0;
fail:
	if (s == &own)
		cfg_close(&own);
	return cli_fail(&e);
}

static int
config_drop(int argc, char **argv, struct ctx *ctx)
{
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	int r = only_help(argc, argv, ctx, 1, 1);

	if (r >= 0)
		return r;
	s = store_begin(ctx, 1, &own, &e);
	if (!s)
		return cli_fail(&e);
	if (cfg_require_writable(s, &e) < 0)
		goto fail;
	if (cfgdoc_remove_profile(&s->doc, argv[optind]) < 0) {
		err_set(&e, ERR_CFG_UNDEFINED, "Unknown configuration: %s",
			argv[optind]);
		goto fail;
	}
	if (store_end(s, &own, 1, &e) < 0)
		return cli_fail(&e);
	return 0;
fail:
	if (s == &own)
		cfg_close(&own);
	return cli_fail(&e);
}

/* load */

static int
config_load(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = { CLI_OPT_HELP, CLI_OPT_END };
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "qh", opts, ctx);
	struct load_list entries = LOAD_LIST_INIT;
	struct cfg_store own, *s = NULL;
	struct err e = ERR_INIT;
	struct sbuf text = SBUF_INIT;
	int c, quiet = 0, nfiles;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	nfiles = argc - optind;
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "-") && !fs_exists(argv[i]))
			return cli_usage(ctx, "argument file: File does not "
					 "exist: %s", argv[i]);
	/* Read and parse every file before the store is touched. */
	for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
		const char *f = nfiles ? argv[optind + i] : "-";
		int r;

		sbuf_reset(&text);
		if (!strcmp(f, "-"))
			r = fs_read_fd(0, "<stdin>", MAX_INPUT, &text, &e);
		else
			r = fs_read_file(f, MAX_INPUT, &text, &e);
		if (r < 0) {
			e.code = ERR_CFG_LOAD_READ;
			goto fail;
		}
		if (loadfmt_parse(f, text.buf, text.len, &entries, &e) < 0)
			goto fail;
	}
	s = store_begin(ctx, 1, &own, &e);
	if (!s)
		goto fail;
	if (cfg_require_writable(s, &e) < 0 ||
	    loadfmt_apply(cfg_profile_create(s), &entries, quiet, &e) < 0) {
		if (s == &own)
			cfg_close(&own);
		goto fail;
	}
	if (store_end(s, &own, 1, &e) < 0)
		goto fail;
	sbuf_release(&text);
	load_list_release(&entries);
	return 0;
fail:
	sbuf_release(&text);
	load_list_release(&entries);
	return cli_fail(&e);
}

/* edit */

/* Can value survive the k=v round trip through the load format? */
static int
edit_roundtrips(const char *k, const char *v)
{
	size_t n = strlen(v);

	if (strpbrk(k, "=\n\r") || strpbrk(v, "\n\r\v\f\x1c\x1d\x1e\x1f"))
		return 0;
	if (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\\'))
		return 0;
	return 1;
}

static int
run_editor(const char *file, struct err *e)
{
	const char *ed = getenv("VISUAL");
	struct strv av = STRV_INIT;
	pid_t pid;
	int status, rc;

	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	if (shlex_split(ed, &av, e) < 0 || !av.n) {
		strv_release(&av);
		if (!e->msg)
			err_set(e, ERR_FAIL, "the editor command is empty");
		return -1;
	}
	strv_push(&av, file);
	rc = posix_spawnp(&pid, av.v[0], NULL, NULL, av.v, environ);
	if (rc) {
		err_errno(e, ERR_CFG_EDIT, rc, "cannot run the editor '%s'",
			  av.v[0]);
		strv_release(&av);
		return -1;
	}
	strv_release(&av);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_errno(e, ERR_CFG_EDIT, errno, "waitpid");
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (rc)
		return err_set(e, ERR_CFG_EDIT, "%d: Failed to edit %s", rc,
			       file);
	return 0;
}

static int
config_edit(int argc, char **argv, struct ctx *ctx)
{
	struct load_list entries = LOAD_LIST_INIT;
	struct strv keys = STRV_INIT;
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	struct sbuf text = SBUF_INIT, tmp = SBUF_INIT;
	struct xelem *p;
	const char *tdir = getenv("TMPDIR");
	int fd = -1, r = only_help(argc, argv, ctx, 0, 0);

	if (r >= 0)
		return r;
	s = store_begin(ctx, 1, &own, &e);
	if (!s)
		return cli_fail(&e);
	if (cfg_require_writable(s, &e) < 0)
		goto fail;
	p = cfg_profile(s);
	profile_keys(p, &keys);
	strv_sort(&keys);
	sbuf_adds(&text, "# Edit your preferences below. Comments are "
		  "ignored\n");
	for (size_t i = 0; i < keys.n; i++) {
		const char *v = profile_get(p, keys.v[i]);

		if (!edit_roundtrips(keys.v[i], v)) {
			err_set(&e, ERR_BADVALUE, "cannot edit: the value of "
				"'%s' would not survive the editor round trip "
				"(newline, trailing space or backslash); use "
				"'owctl config set -f FILE %s' or 'owctl "
				"config export'", keys.v[i], keys.v[i]);
			goto fail;
		}
		sbuf_addf(&text, "%s=%s\n", keys.v[i], v);
	}
	sbuf_addf(&tmp, "%s/owctl-edit-XXXXXX.tmp",
		  tdir && *tdir ? tdir : "/tmp");
	fd = mkstemps(tmp.buf, 4);	/* 0600: values may be passwords */
	if (fd < 0) {
		err_errno(&e, ERR_IO, errno, "cannot create '%s'", tmp.buf);
		sbuf_reset(&tmp);
		goto fail;
	}
	if (write(fd, text.buf, text.len) != (ssize_t)text.len) {
		err_errno(&e, ERR_IO, errno, "cannot write '%s'", tmp.buf);
		goto fail;
	}
	close(fd);
	fd = -1;
	if (run_editor(tmp.buf, &e) < 0)
		goto fail;
	sbuf_reset(&text);
	if (fs_read_file(tmp.buf, MAX_INPUT, &text, &e) < 0 ||
	    loadfmt_parse(tmp.buf, text.buf, text.len, &entries, &e) < 0)
		goto fail;
	/* omero-py drops the profile and loads the file into a new one. */
	{
		char *active = xstrdup(cfg_active(s));

		cfgdoc_remove_profile(&s->doc, active);
		p = cfgdoc_add_profile(&s->doc, active);
		free(active);
	}
	profile_del(p, CFG_KEY_VERSION);
	if (loadfmt_apply(p, &entries, 1, &e) < 0)
		goto fail;
	if (store_end(s, &own, 1, &e) < 0) {
		s = NULL;
		goto fail;
	}
	s = NULL;
	unlink(tmp.buf);
	sbuf_release(&tmp);
	sbuf_release(&text);
	strv_release(&keys);
	load_list_release(&entries);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (tmp.len)
		unlink(tmp.buf);
	if (s == &own)
		cfg_close(&own);
	sbuf_release(&tmp);
	sbuf_release(&text);
	strv_release(&keys);
	load_list_release(&entries);
	return cli_fail(&e);
}

/* lock */

static int
config_lock(int argc, char **argv, struct ctx *ctx)
{
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	char line[256];
	int r = only_help(argc, argv, ctx, 0, 0);

	if (r >= 0)
		return r;
	s = store_begin(ctx, 1, &own, &e);
	if (!s)
		return cli_fail(&e);
	if (cfg_require_writable(s, &e) < 0) {
		if (s == &own)
			cfg_close(&own);
		return cli_fail(&e);
	}
	fputs("Press enter to unlock", stdout);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		fputc('\n', stdout);
	store_end(s, &own, 0, &e);
	return 0;
}

/* export / import */

static int
config_export(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "all-profiles", no_argument, NULL, 'a' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct cfgexp x = CFGEXP_INIT;
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	struct sbuf out = SBUF_INIT;
	const char *file;
	int c, all = 0, ret = 0;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 0, 1)) >= 0)
		return c;
	file = optind < argc ? argv[optind] : "-";
	s = store_begin(ctx, 0, &own, &e);
	if (!s)
		return cli_fail(&e);
	cfgexp_from_doc(&s->doc, cfg_active(s), cfg_active_for_save(s), all,
			&x);
	cfgexp_write(&x, &out);
	cfgexp_release(&x);
	if (store_end(s, &own, 0, &e) < 0)
		goto fail;
	if (!strcmp(file, "-"))
		print_sbuf(&out);
	else if (fs_write_atomic_mode(file, out.buf, out.len, 0600, &e) < 0)
		goto fail;
	sbuf_release(&out);
	return ret;
fail:
	sbuf_release(&out);
	return cli_fail(&e);
}

static int
config_import(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "replace", no_argument, NULL, 'r' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct cfgexp x = CFGEXP_INIT;
	struct cfg_store own, *s = NULL;
	struct err e = ERR_INIT;
	struct sbuf text = SBUF_INIT;
	const char *file;
	int c, replace = 0;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'r':
			replace = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if (argc - optind != 1)
		return cli_usage(ctx, argc - optind ? "too many arguments" :
				 "too few arguments");
	file = argv[optind];
	if ((!strcmp(file, "-") ?
	     fs_read_fd(0, "<stdin>", MAX_INPUT, &text, &e) :
	     fs_read_file(file, MAX_INPUT, &text, &e)) < 0 ||
	    cfgexp_parse(file, text.buf, text.len, &x, &e) < 0)
		goto fail;
	s = store_begin(ctx, 1, &own, &e);
	if (!s)
		goto fail;
	if (cfgexp_apply(s, &x, replace, &e) < 0)
		goto fail;
	if (store_end(s, &own, 1, &e) < 0) {
		s = NULL;
		goto fail;
	}
	cfgexp_release(&x);
	sbuf_release(&text);
	return 0;
fail:
	if (s == &own)
		cfg_close(&own);
	cfgexp_release(&x);
	sbuf_release(&text);
	return cli_fail(&e);
}

/* validate / explain */

static void
profile_kv(struct xelem *p, struct cfg_kv **kv, size_t *n)
{
	*n = 0;
	*kv = xcalloc(p ? p->nkids + 1 : 1, sizeof(**kv));
	for (size_t i = 0; p && i < p->nkids; i++) {
		const struct xelem *k = &p->kids[i];
		const char *name = xelem_attr(k, "name");
		const char *v = xelem_attr(k, "value");

		if (strcmp(k->tag, "property") || !name)
			continue;
		(*kv)[*n].key = name;
		(*kv)[(*n)++].value = v ? v : "";
	}
}

static int
config_validate(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "target-version", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct finding_list fl = FINDING_LIST_INIT;
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	struct cfg_kv *kv;
	const char *target = NULL;
	size_t n, nerr;
	int c;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'j':
			ctx->json = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return c;
	s = store_begin(ctx, 0, &own, &e);
	if (!s)
		return cli_fail(&e);
	profile_kv(cfg_profile(s), &kv, &n);
	if (cfg_validate(kv, n, target, ctx->omerodir, &fl, &e) < 0) {
		free(kv);
		store_end(s, &own, 0, &e);
		return cli_fail(&e);
	}
	free(kv);
	if (ctx->json) {
		json_t *j = json_object();
		char *txt;

		/* "schema" first, as in every owctl JSON document */
		json_object_set_new(j, "schema",
				    json_string("owctl.config.validate/1"));
		json_object_set_new(j, "profile", json_string(cfg_active(s)));
		json_object_update_new(j, finding_list_to_json(&fl));
		txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		puts(txt);
		free(txt);
		json_decref(j);
	} else {
		for (size_t i = 0; i < fl.n; i++) {
			printf("%s: %s: %s\n",
			       finding_severity_name(fl.v[i].severity),
			       fl.v[i].key, fl.v[i].message);
			if (fl.v[i].hint)
				printf("  hint: %s\n", fl.v[i].hint);
		}
		printf("%zu error(s), %zu warning(s) in profile '%s' of %s\n",
		       finding_list_count(&fl, FINDING_ERROR),
		       finding_list_count(&fl, FINDING_WARNING),
		       cfg_active(s), s->path);
	}
	nerr = finding_list_count(&fl, FINDING_ERROR);
	finding_list_release(&fl);
	if (store_end(s, &own, 0, &e) < 0)
		return cli_fail(&e);
	return nerr ? cli_status(ERR_CFG_INVALID) : 0;
}

static int
config_explain(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "show-password", no_argument, NULL, 's' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct cfg_store own, *s;
	struct err e = ERR_INIT;
	struct sbuf out = SBUF_INIT;
	unsigned int flags = 0;
	int c;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 's':
			flags |= CFG_EXPLAIN_SHOW_SECRETS;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if (argc - optind != 1)
		return cli_usage(ctx, argc - optind ? "too many arguments" :
				 "too few arguments");
	s = store_begin(ctx, 0, &own, &e);
	if (!s)
		return cli_fail(&e);
	cfg_explain(argv[optind], profile_get(cfg_profile(s), argv[optind]),
		    ctx->omerodir, flags, &out);
	if (store_end(s, &own, 0, &e) < 0) {
		sbuf_release(&out);
		return cli_fail(&e);
	}
	print_sbuf(&out);
	sbuf_release(&out);
	return 0;
}

/* diff */

static int
config_diff(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "all-profiles", no_argument, NULL, 'a' },
		{ "show-password", no_argument, NULL, 's' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct cfgexp a = CFGEXP_INIT, b = CFGEXP_INIT;
	struct err e = ERR_INIT;
	struct sbuf out = SBUF_INIT;
	const char *env = getenv("OMERO_CONFIG");
	char *current = NULL;
	int c, all = 0, show = 0, ret;
	size_t n;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 's':
			show = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage(ctx, "expected one or two files");
	if (argc - optind == 1) {
		struct cfg_open_opts o = { .source = cenv.source,
					   .omerodir = ctx->omerodir };
		char *made = NULL;

		if (!o.source && (!o.omerodir || !*o.omerodir)) {
			err_set(&e, ERR_CFG_NO_OMERODIR,
				"FATAL: OMERODIR env variable not set");
			return cli_fail(&e);
		}
		if (cfg_locate(&o, &current, &made, &e) < 0)
			return cli_fail(&e);
		free(made);
	}
	if (cfgexp_load_any(argv[optind], all, env, &a, &e) < 0 ||
	    cfgexp_load_any(current ? current : argv[optind + 1], all, env,
			    &b, &e) < 0) {
		ret = cli_fail(&e);
		goto out;
	}
	n = cfgdiff(&a, &b, show, &out);
	printf("--- %s\n+++ %s\n", argv[optind],
	       current ? current : argv[optind + 1]);
	print_sbuf(&out);
	ret = n ? 1 : 0;
out:
	free(current);
	cfgexp_release(&a);
	cfgexp_release(&b);
	sbuf_release(&out);
	return ret;
}

/* The table */

const struct command config_commands[] = {
	{ "get", config_get, "[--show-password] [--json] [KEY...]",
	  "print values of the active profile (passwords masked)" },
	{ "set", config_set, "[--report[=changed]] [-f FILE] KEY [VALUE]",
	  "set KEY (or remove it when VALUE is omitted)" },
	{ "load", config_load, "[-q] [FILE...]",
	  "read KEY=VALUE lines into the active profile" },
	{ "append", config_append, "[--report[=changed]] [--set] KEY VALUE",
	  "append a JSON value to the list in KEY" },
	{ "remove", config_remove, "[--report[=changed]] KEY VALUE",
	  "remove a JSON value from the list in KEY" },
	{ "keys", config_keys, "", "list the keys of the active profile" },
	{ "def", config_def, "[NAME]", "print (or choose) the active profile" },
	{ "all", config_all, "", "list every profile" },
	{ "drop", config_drop, "NAME", "remove a profile" },
	{ "list", config_list, "[--show-password]",
	  "deprecated: same as get" },
	{ "edit", config_edit, "", "edit the active profile in $EDITOR" },
	{ "version", config_version, "",
	  "print the active profile's config version" },
	{ "path", config_path, "", "print the path of config.xml" },
	{ "lock", config_lock, "", "hold the lock until enter is pressed" },
	{ "export", config_export, "[--all-profiles] [FILE]",
	  "write a lossless copy of the profiles (mode 0600)" },
	{ "import", config_import, "[--replace] FILE",
	  "apply an export under one lock and one write" },
	{ "validate", config_validate, "[--target-version V] [--json]",
	  "check every value the way OMERO.web will read it" },
	{ "explain", config_explain, "[--show-password] KEY",
	  "type, default, current value and effect of KEY" },
	{ "diff", config_diff, "[--all-profiles] [--show-password] A [B]",
	  "compare two config.xml files or exports (B: the current one)" },
	{ NULL, NULL, NULL, NULL }
};

const char config_help[] =
	"The active profile is the one named by 'config def', else\n"
	"$OMERO_CONFIG, else the one recorded in config.xml, else 'default'.\n"
	"config.xml is $OMERODIR/etc/grid/config.xml unless --source FILE\n"
	"is given. --wait SECONDS waits for another writer's lock.\n";

int
cmd_config(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "wait", required_argument, NULL, 'w' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "+h", opts, ctx);
	int c;

	cenv.source = NULL;
	cenv.wait = 0;
	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 's':
			cenv.source = optarg;
			break;
		case 'w':
			cenv.wait = cli_seconds(optarg);
			if (cenv.wait < 0)
				return cli_usage(ctx, "--wait takes a number "
						 "of seconds, not '%s'",
						 optarg);
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	return cli_dispatch(config_commands, argc - optind, argv + optind,
			    ctx);
}
