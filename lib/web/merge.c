/*
 * diff3 -m and diff -u over temporary copies of in-memory texts, so that
 * merges use GNU diffutils' well-known rules rather than a home-made
 * algorithm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "strv.h"
#include "xalloc.h"
#include "web/merge.h"
#include "banned.h"

extern char **environ;

#define TOOL_TIMEOUT 60.0

/* A private directory for the inputs, and its files. */
struct scratch {
	struct sbuf dir;
	struct strv files;
};

static int
scratch_open(struct scratch *s, struct err *e)
{
	const char *tmp = getenv("TMPDIR");

	sbuf_init(&s->dir, 0);
	s->files = (struct strv)STRV_INIT;
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	sbuf_addf(&s->dir, "%s/owctl-merge-XXXXXX", tmp);
	if (!mkdtemp(s->dir.buf)) {
		sbuf_reset(&s->dir);	/* nothing for scratch_close */
		return err_errno(e, ERR_IO, errno,
				 "cannot create a directory in '%s'", tmp);
	}
	return 0;
}

/* Write t into the scratch dir as name; the path is s->files.v[last]. */
static int
scratch_add(struct scratch *s, const char *name, const struct merge_text *t,
	    struct err *e)
{
	strv_pushf(&s->files, "%s/%s", s->dir.buf, name);
	return fs_write_atomic_mode(s->files.v[s->files.n - 1], t->buf, t->len,
				    0600, e);
}

static void
scratch_close(struct scratch *s)
{
	size_t i;

	for (i = 0; i < s->files.n; i++)
		unlink(s->files.v[i]);
	if (s->dir.len)
		rmdir(s->dir.buf);
	strv_release(&s->files);
	sbuf_release(&s->dir);
}

/*
 * owctl's environment with LC_ALL=C: diff translates its "\ No newline at
 * end of file" line, and we want the same bytes everywhere.
 */
static void
c_locale_env(struct strv *env)
{
	char **p;

	for (p = environ; p && *p; p++)
		if (strncmp(*p, "LC_ALL=", 7) && strncmp(*p, "LANGUAGE=", 9))
			strv_push(env, *p);
	strv_push(env, "LC_ALL=C");
}

/* The tool in PATH, else in /usr/bin (diffutils' home on Debian). */
static char *
find_tool(const char *name)
{
	char *p = proc_which(name, NULL);

	return p ? p : proc_which(name, "/usr/bin:/bin");
}

/* Run argv; its stdout goes to out. Fills *status. */
static int
run_tool(const char *const *argv, struct sbuf *out, int *status,
	 struct err *e)
{
	struct strv env = STRV_INIT;
	struct sbuf errout = SBUF_INIT;
	struct proc_opts po = { 0 };
	struct proc_result r;
	int ret = -1;

	c_locale_env(&env);
	po.argv = argv;
	po.env = (const char *const *)env.v;
	po.out = out;
	po.err = &errout;
	po.max_capture = 64u << 20;
	po.timeout = TOOL_TIMEOUT;
	if (proc_run(&po, &r, e) < 0)
		goto out;
	if (r.truncated) {
		err_set(e, ERR_IO, "output of '%s' is too large", argv[0]);
		goto out;
	}
	*status = r.status;
	if (r.status > 1) {
		sbuf_rtrim(&errout);
		err_set(e, ERR_IO, "'%s' failed (status %d)%s%s", argv[0],
			r.status, errout.len ? ": " : "", errout.buf);
		goto out;
	}
	ret = 0;
out:
	strv_release(&env);
	sbuf_release(&errout);
	return ret;
}

static const char *
label(const struct merge_text *t)
{
	return t->label ? t->label : "-";
}

/* diff3 -m MODE -a -L ... local base other */
static int
run_diff3(const char *tool, const char *mode, struct scratch *s,
	  const struct merge_text *local, const struct merge_text *base,
	  const struct merge_text *other, struct sbuf *out, int *status,
	  struct err *e)
{
	const char *argv[14];
	int n = 0;

	argv[n++] = tool;
	argv[n++] = "-m";
	if (mode)
		argv[n++] = mode;
	argv[n++] = "-a";
	argv[n++] = "-L";
	argv[n++] = label(local);
	argv[n++] = "-L";
	argv[n++] = label(base);
	argv[n++] = "-L";
	argv[n++] = label(other);
	argv[n++] = s->files.v[0];	/* absolute: never taken as options */
	argv[n++] = s->files.v[1];
	argv[n++] = s->files.v[2];
	argv[n] = NULL;
	sbuf_reset(out);
	return run_tool(argv, out, status, e);
}

int
merge3(const struct merge_text *local, const struct merge_text *base,
       const struct merge_text *other, struct sbuf *out, int *conflicts,
       struct err *e)
{
	struct scratch s;
	struct sbuf res = SBUF_INIT;
	char *tool = find_tool("diff3");
	const char *t = tool ? tool : "diff3";
	int ret = -1, status = 0;

	*conflicts = 0;
	if (scratch_open(&s, e) < 0)
		goto out;
	if (scratch_add(&s, "local", local, e) < 0 ||
	    scratch_add(&s, "base", base, e) < 0 ||
	    scratch_add(&s, "other", other, e) < 0)
		goto out;
	/*
	 * -E: the same change made on both sides is no conflict (as in
	 * git). Only when real conflicts remain, run again in the default
	 * -A mode, whose conflict blocks also show the base lines.
	 */
	if (run_diff3(t, "-E", &s, local, base, other, &res, &status, e) < 0 ||
	    (status == 1 && run_diff3(t, NULL, &s, local, base, other, &res,
				      &status, e) < 0)) {
		err_prefix(e, "cannot merge");
		goto out;
	}
	*conflicts = status == 1;
	sbuf_add(out, res.buf, res.len);
	ret = 0;
out:
	scratch_close(&s);
	sbuf_release(&res);
	free(tool);
	return ret;
}

int
diff_unified(const struct merge_text *a, const struct merge_text *b,
	     struct sbuf *out, struct err *e)
{
	struct scratch s;
	struct sbuf res = SBUF_INIT;
	char *tool;
	const char *argv[10];
	int ret = -1, status = 0;

	if (a->len == b->len && !memcmp(a->buf, b->buf, a->len))
		return 0;
	tool = find_tool("diff");
	if (scratch_open(&s, e) < 0)
		goto out;
	if (scratch_add(&s, "a", a, e) < 0 || scratch_add(&s, "b", b, e) < 0)
		goto out;
	argv[0] = tool ? tool : "diff";
	argv[1] = "-u";
	argv[2] = "-a";
	argv[3] = "--label";
	argv[4] = label(a);
	argv[5] = "--label";
	argv[6] = label(b);
	argv[7] = s.files.v[0];
	argv[8] = s.files.v[1];
	argv[9] = NULL;
	if (run_tool(argv, &res, &status, e) < 0) {
		err_prefix(e, "cannot compare");
		goto out;
	}
	sbuf_add(out, res.buf, res.len);
	ret = 0;
out:
	scratch_close(&s);
	sbuf_release(&res);
	free(tool);
	return ret;
}

static int
starts(const char *p, const char *end, const char *marker, int alone)
{
	size_t n = strlen(marker);

	if ((size_t)(end - p) < n || memcmp(p, marker, n))
		return 0;
	if (alone)
		return p + n == end || p[n] == '\r';
	return p + n == end || p[n] == ' ' || p[n] == '\r';
}

size_t
merge_find_marker(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *eol;
	size_t line = 0;

	for (; p < end; p = eol + 1) {
		eol = memchr(p, '\n', end - p);
		if (!eol)
			eol = end;
		line++;
		if (starts(p, eol, "<<<<<<<", 0) ||
		    starts(p, eol, ">>>>>>>", 0) ||
		    starts(p, eol, "|||||||", 0) ||
		    starts(p, eol, "=======", 1))
			return line;
		if (eol == end)
			break;
	}
	return 0;
}
