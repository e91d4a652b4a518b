/*
 * nginx_install(): the decisions (created, unchanged, updated, merged,
 * conflict, unmanaged, forced, resolved, dry run), the roll-back after a
 * failing whole-configuration test, the state files, nginx_reload() and
 * nginx_reload_wait(), and nginx_regen() (regen.h) over a real config.xml;
 * with the real diff3/diff and a stand-in nginx that fails on "bogus".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs.h"
#include "sbuf.h"
#include "xalloc.h"
#include "web/nginxinst.h"
#include "web/regen.h"
#include "banned.h"

/*
 * The stand-in: `-T` fails like nginx (error log format on stderr) when
 * $FAKE_FAIL is set or the file $FAKE_INCLUDE holds "bogus", else dumps
 * the files it "read"; `-s reload` fails when $FAKE_NOT_RUNNING is set.
 * Every command line is appended to $FAKE_DIR/args.
 */
static const char fake_nginx[] =
	"#!/bin/sh\n"
	"printf '%s\\n' \"$*\" >> \"$FAKE_DIR/args\"\n"
	"case \"$1\" in\n"
	"-T)\n"
	"  if [ -n \"$FAKE_FAIL\" ] || { [ -f \"$FAKE_INCLUDE\" ] &&\n"
	"       grep -q bogus \"$FAKE_INCLUDE\"; }; then\n"
	"    echo \"2026/01/02 03:04:05 [emerg] 12#12: unknown directive"
	" \\\"bogus\\\" in ${FAKE_INCLUDE:-x}:3\" >&2\n"
	"    echo 'nginx: configuration file /etc/nginx/nginx.conf test"
	" failed' >&2\n"
	"    exit 1\n"
	"  fi\n"
	"  echo 'nginx: the configuration file /etc/nginx/nginx.conf syntax"
	" is ok' >&2\n"
	"  echo '# configuration file /etc/nginx/nginx.conf:'\n"
	"  echo 'http { include conf.d/*.conf; }'\n"
	"  [ -z \"$FAKE_PIDFILE\" ] || echo \"  pid $FAKE_PIDFILE;\"\n"
	"  if [ -f \"$FAKE_INCLUDE\" ]; then\n"
	"    echo \"# configuration file $FAKE_INCLUDE:\"\n"
	"    cat \"$FAKE_INCLUDE\"\n"
	"  fi\n"
	"  exit 0 ;;\n"
	"-s)\n"
	"  if [ -n \"$FAKE_NOT_RUNNING\" ]; then\n"
	"    echo 'nginx: [error] open() \"/run/nginx.pid\" failed (2: No such"
	" file or directory)' >&2\n"
	"    exit 1\n"
	"  fi\n"
	"  if [ -n \"$FAKE_KILL\" ]; then kill \"$FAKE_KILL\"; fi\n"
	"  echo reload >> \"$FAKE_DIR/reloads\"; exit 0 ;;\n"
	"esac\n"
	"exit 3\n";

struct fx {
	char dir[64];
	struct sbuf nginx, confd, live, state;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct err e = ERR_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/owctl-test-inst-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	sbuf_addf(&f->nginx, "%s/nginx", f->dir);
	sbuf_addf(&f->confd, "%s/conf.d", f->dir);
	sbuf_addf(&f->live, "%s/omero-web.conf", f->confd.buf);
	sbuf_addf(&f->state, "%s/OMERO.web/var/owctl/nginx", f->dir);
	if (fs_write_atomic_mode(f->nginx.buf, fake_nginx,
				 sizeof(fake_nginx) - 1, 0755, &e) < 0 ||
	    mkdir(f->confd.buf, 0755) < 0)
		return -1;
	{
		struct sbuf omerodir = SBUF_INIT;

		sbuf_addf(&omerodir, "%s/OMERO.web", f->dir);
		if (mkdir(omerodir.buf, 0755) < 0)
			return -1;
		sbuf_release(&omerodir);
	}
	setenv("FAKE_DIR", f->dir, 1);
	setenv("FAKE_INCLUDE", f->live.buf, 1);
	setenv("TMPDIR", f->dir, 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	struct sbuf cmd = SBUF_INIT;
	int r;

	sbuf_addf(&cmd, "rm -rf '%s'", f->dir);
	r = system(cmd.buf);
	sbuf_release(&cmd);
	sbuf_release(&f->nginx);
	sbuf_release(&f->confd);
	sbuf_release(&f->live);
	sbuf_release(&f->state);
	free(f);
	unsetenv("FAKE_FAIL");
	unsetenv("FAKE_NOT_RUNNING");
	unsetenv("FAKE_PIDFILE");
	unsetenv("FAKE_KILL");
	unsetenv("TMPDIR");
	return r;
}

/* A generated file: server block with a location and a body size. */
static void
gen(struct sbuf *sb, const char *location, const char *size)
{
	sbuf_reset(sb);
	sbuf_addf(sb, "upstream omeroweb {\n"
		  "    server 127.0.0.1:4080 fail_timeout=0;\n"
		  "}\n\n"
		  "server {\n"
		  "    listen 80;\n"
		  "    server_name $hostname;\n\n"
		  "    sendfile on;\n"
		  "    client_max_body_size %s;\n\n"
		  "    location /static {\n"
		  "        alias /srv/static;\n"
		  "    }\n\n"
		  "    location %s {\n"
		  "        proxy_pass http://omeroweb;\n"
		  "    }\n"
		  "}\n", size, location);
}

static int
install(struct fx *f, const char *path, const struct sbuf *text,
	unsigned flags, struct nginx_install_result *r, struct err *e)
{
	struct nginx_record rec = { .type = "nginx", .http = 8080,
				    .servername = "omero.example.org" };
	struct nginx_install_opts o = {
		.path = path ? path : f->live.buf,
		.state_dir = f->state.buf,
		.generated = text->buf,
		.generated_len = text->len,
		.record = &rec,
		.nginx = { .nginx = f->nginx.buf, .conf = "/etc/nginx/x.conf",
			   .prefix = "/srv/ng/" },
		.flags = flags,
	};

	nginx_install_result_release(r);
	*r = (struct nginx_install_result)NGINX_INSTALL_RESULT_INIT;
	err_clear(e);
	return nginx_install(&o, r, e);
}

static void
read_text(const char *path, struct sbuf *out)
{
	struct err e = ERR_INIT;

	sbuf_reset(out);
	if (fs_read_file(path, 1 << 20, out, &e) < 0)
		fail_msg("%s", e.msg);
}

static void
state_path(struct fx *f, const char *suffix, struct sbuf *out)
{
	const char *p = f->live.buf + 1;

	sbuf_reset(out);
	sbuf_addf(out, "%s/", f->state.buf);
	for (; *p; p++)
		if (*p == '/')
			sbuf_adds(out, "%2F");
		else
			sbuf_addch(out, *p);
	sbuf_adds(out, suffix);
}

static void
write_text(const char *path, const char *text)
{
	struct err e = ERR_INIT;

	if (fs_write_atomic(path, text, strlen(text), 0644, &e) < 0)
		fail_msg("%s", e.msg);
}

/* Replace the first occurrence of from with to in the file. */
static void
edit(const char *path, const char *from, const char *to)
{
	struct sbuf t = SBUF_INIT, n = SBUF_INIT;
	char *hit;

	read_text(path, &t);
	hit = strstr(t.buf, from);
	assert_non_null(hit);
	sbuf_add(&n, t.buf, hit - t.buf);
	sbuf_adds(&n, to);
	sbuf_adds(&n, hit + strlen(from));
	write_text(path, n.buf);
	sbuf_release(&t);
	sbuf_release(&n);
}

static void
test_nginxinst_create_then_unchanged(void **state)
{
	struct fx *f = *state;
	struct nginx_install_result r = NGINX_INSTALL_RESULT_INIT;
	struct err e = ERR_INIT;
	struct sbuf g = SBUF_INIT, got = SBUF_INIT, p = SBUF_INIT;
	struct stat st, st2;

	gen(&g, "/", "0");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_CREATED);
	assert_string_equal(r.target, f->live.buf);
	assert_true(r.tested);
	assert_true(r.included);
	assert_true(!strncmp(r.diff.buf, "--- /dev/null\n+++ ", 18));
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, g.buf);
	assert_int_equal(stat(f->live.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);	/* umask 022 */
	/* the base copy and the record, private */
	state_path(f, ".base", &p);
	read_text(p.buf, &got);
	assert_string_equal(got.buf, g.buf);
	assert_int_equal(stat(p.buf, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0600);
	assert_int_equal(stat(f->state.buf, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0700);
	/* nginx was asked for -T with -p, -c and -e stderr */
	sbuf_reset(&p);
	sbuf_addf(&p, "%s/args", f->dir);
	read_text(p.buf, &got);
	assert_string_equal(got.buf, "-T -p /srv/ng/ -c /etc/nginx/x.conf "
			    "-e stderr\n");

	/* again: nothing to do, the file is not even rewritten */
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_UNCHANGED);
	assert_int_equal(r.diff.len, 0);
	assert_int_equal(stat(f->live.buf, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	read_text(p.buf, &got);	/* no second nginx run */
	assert_string_equal(got.buf, "-T -p /srv/ng/ -c /etc/nginx/x.conf "
			    "-e stderr\n");
	nginx_install_result_release(&r);
	sbuf_release(&g);
	sbuf_release(&got);
	sbuf_release(&p);
}

static void
test_nginxinst_update_and_merge(void **state)
{
	struct fx *f = *state;
	struct nginx_install_result r = NGINX_INSTALL_RESULT_INIT;
	struct err e = ERR_INIT;
	struct sbuf g = SBUF_INIT, got = SBUF_INIT, want = SBUF_INIT;
	struct sbuf p = SBUF_INIT;

	gen(&g, "/", "0");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	/* no local edit: plain update */
	gen(&g, "/", "1m");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_UPDATED);
	assert_non_null(strstr(r.diff.buf, "\n-    client_max_body_size 0;\n"
			       "+    client_max_body_size 1m;\n"));
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, g.buf);

	/* the administrator adds a header; the next version moves / */
	edit(f->live.buf, "    server_name $hostname;\n",
	     "    server_name $hostname;\n    add_header X-Lab \"yes\";\n");
	gen(&g, "/omero", "1m");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_MERGED);
	read_text(f->live.buf, &got);
	sbuf_add(&want, g.buf, g.len);
	{
		char *hit = strstr(want.buf, "    sendfile on;");
		struct sbuf w2 = SBUF_INIT;

		sbuf_add(&w2, want.buf, hit - want.buf - 1);
		sbuf_adds(&w2, "    add_header X-Lab \"yes\";\n\n");
		sbuf_adds(&w2, hit);
		assert_string_equal(got.buf, w2.buf);
		sbuf_release(&w2);
	}
	/* the diff shows the upstream change only, not the local edit */
	assert_non_null(strstr(r.diff.buf, "+    location /omero {\n"));
	assert_null(strstr(r.diff.buf, "X-Lab"));
	/* the base is the generated text, not the merge */
	state_path(f, ".base", &p);
	read_text(p.buf, &got);
	assert_string_equal(got.buf, g.buf);
	/* a config change that does not touch the file: local kept */
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_UNCHANGED);
	read_text(f->live.buf, &got);
	assert_non_null(strstr(got.buf, "X-Lab"));
	nginx_install_result_release(&r);
	sbuf_release(&g);
	sbuf_release(&got);
	sbuf_release(&want);
	sbuf_release(&p);
}

static void
test_nginxinst_conflict_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct nginx_install_result r = NGINX_INSTALL_RESULT_INIT;
	struct err e = ERR_INIT;
	struct sbuf g = SBUF_INIT, g2 = SBUF_INIT, before = SBUF_INIT;
	struct sbuf got = SBUF_INIT, p = SBUF_INIT, res = SBUF_INIT;
	struct stat st;

	gen(&g, "/", "0");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	edit(f->live.buf, "client_max_body_size 0;",
	     "client_max_body_size 2g;");
	read_text(f->live.buf, &before);
	gen(&g2, "/", "1m");
	assert_int_equal(install(f, NULL, &g2, 0, &r, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_CONFLICT);
	assert_non_null(strstr(e.msg, "nothing was written"));
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, before.buf);
	state_path(f, ".base", &p);
	read_text(p.buf, &got);
	assert_string_equal(got.buf, g.buf);	/* base unchanged */
	/* the conflict is shown and kept for resolving */
	assert_non_null(strstr(r.diff.buf, "+<<<<<<< "));
	assert_non_null(strstr(r.diff.buf, "+>>>>>>> new (generated now)"));
	assert_non_null(r.conflict_file);
	state_path(f, ".conflict", &p);
	assert_string_equal(r.conflict_file, p.buf);
	read_text(p.buf, &got);
	assert_non_null(strstr(got.buf, "||||||| base (last generated by "
			       "owctl)\n    client_max_body_size 0;\n"));

	/* a resolution with a marker left is refused */
	{
		struct nginx_install_opts o = {
			.path = f->live.buf, .state_dir = f->state.buf,
			.generated = g2.buf, .generated_len = g2.len,
			.resolved = got.buf, .resolved_len = got.len,
			.nginx = { .nginx = f->nginx.buf },
		};

		nginx_install_result_release(&r);
		r = (struct nginx_install_result)NGINX_INSTALL_RESULT_INIT;
		err_clear(&e);
		assert_int_equal(nginx_install(&o, &r, &e), -1);
		assert_int_equal(e.code, ERR_WEB_NGINX_CONFLICT);
		assert_non_null(strstr(e.msg, "conflict marker at line"));
		/* the admin's resolution: keep 2g */
		sbuf_add(&res, before.buf, before.len);
		o.resolved = res.buf;
		o.resolved_len = res.len;
		nginx_install_result_release(&r);
		r = (struct nginx_install_result)NGINX_INSTALL_RESULT_INIT;
		err_clear(&e);
		assert_int_equal(nginx_install(&o, &r, &e), 0);
		assert_int_equal(r.action, NGINX_INST_RESOLVED);
	}
	assert_int_equal(stat(p.buf, &st), -1);	/* .conflict gone */
	state_path(f, ".base", &p);
	read_text(p.buf, &got);
	assert_string_equal(got.buf, g2.buf);	/* base = generated */
	/* now the same generation is unchanged, the 2g stays */
	assert_int_equal(install(f, NULL, &g2, 0, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_UNCHANGED);
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, before.buf);
	nginx_install_result_release(&r);
	err_clear(&e);
	sbuf_release(&g);
	sbuf_release(&g2);
	sbuf_release(&before);
	sbuf_release(&got);
	sbuf_release(&p);
	sbuf_release(&res);
}

static void
test_nginxinst_unmanaged_and_force(void **state)
{
	struct fx *f = *state;
	struct nginx_install_result r = NGINX_INSTALL_RESULT_INIT;
	struct err e = ERR_INIT;
	struct sbuf g = SBUF_INIT, got = SBUF_INIT, p = SBUF_INIT;
	static const char hand[] = "server { listen 81; }\n";

	write_text(f->live.buf, hand);
	gen(&g, "/", "0");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_UNMANAGED);
	assert_non_null(strstr(e.msg, "--force"));
	assert_non_null(strstr(r.diff.buf, "-server { listen 81; }\n"));
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, hand);
	/* --dry-run --force: still nothing written, not even the state */
	assert_int_equal(install(f, NULL, &g, NGINX_INST_DRY_RUN |
				 NGINX_INST_FORCE, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_REPLACED);
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, hand);
	state_path(f, ".base", &p);
	assert_int_equal(access(p.buf, F_OK), -1);
	/* --force: replaced, the hand-written file kept aside */
	assert_int_equal(install(f, NULL, &g, NGINX_INST_FORCE, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_REPLACED);
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, g.buf);
	assert_non_null(r.saved_local);
	read_text(r.saved_local, &got);
	assert_string_equal(got.buf, hand);
	nginx_install_result_release(&r);
	err_clear(&e);
	sbuf_release(&g);
	sbuf_release(&got);
	sbuf_release(&p);
}

static void
test_nginxinst_failed_test_rolls_back(void **state)
{
	struct fx *f = *state;
	struct nginx_install_result r = NGINX_INSTALL_RESULT_INIT;
	struct err e = ERR_INIT;
	struct sbuf g = SBUF_INIT, got = SBUF_INIT, p = SBUF_INIT;

	/* a new file that nginx rejects is removed again */
	gen(&g, "/", "0");
	sbuf_adds(&g, "bogus on;\n");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_TEST);
	assert_int_equal(access(f->live.buf, F_OK), -1);
	assert_non_null(strstr(e.msg, "was removed again"));
	state_path(f, ".base", &p);
	assert_int_equal(access(p.buf, F_OK), -1);

	/* an existing one is put back byte for byte */
	gen(&g, "/", "0");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	edit(f->live.buf, "    sendfile on;\n", "    sendfile on;\n\n");
	gen(&g, "/omero", "0");
	sbuf_adds(&g, "bogus on;\n");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_TEST);
	{
		struct sbuf want = SBUF_INIT;

		sbuf_addf(&want, "nginx -t failed: [emerg] unknown directive "
			  "\"bogus\" in %s:3; '%s' was put back as it was",
			  f->live.buf, f->live.buf);
		assert_string_equal(e.msg, want.buf);
		sbuf_release(&want);
	}
	read_text(f->live.buf, &got);
	assert_non_null(strstr(got.buf, "    sendfile on;\n\n"));
	assert_null(strstr(got.buf, "bogus"));
	assert_null(strstr(got.buf, "location /omero"));
	assert_non_null(strstr(r.nginx_log.buf, "test failed"));

	/* broken before we came: said so */
	setenv("FAKE_FAIL", "1", 1);
	gen(&g, "/omero", "0");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), -1);
	unsetenv("FAKE_FAIL");
	assert_int_equal(e.code, ERR_WEB_NGINX_TEST);
	assert_non_null(strstr(e.msg, "fails without the new file too"));
	read_text(f->live.buf, &got);
	assert_null(strstr(got.buf, "location /omero"));

	/* --no-test writes without asking nginx */
	setenv("FAKE_FAIL", "1", 1);
	assert_int_equal(install(f, NULL, &g, NGINX_INST_NO_TEST, &r, &e), 0);
	unsetenv("FAKE_FAIL");
	assert_false(r.tested);
	read_text(f->live.buf, &got);
	assert_non_null(strstr(got.buf, "location /omero"));
	nginx_install_result_release(&r);
	err_clear(&e);
	sbuf_release(&g);
	sbuf_release(&got);
	sbuf_release(&p);
}

static void
test_nginxinst_dry_run_and_symlink(void **state)
{
	struct fx *f = *state;
	struct nginx_install_result r = NGINX_INSTALL_RESULT_INIT;
	struct err e = ERR_INIT;
	struct sbuf g = SBUF_INIT, got = SBUF_INIT, link = SBUF_INIT;
	struct stat st;

	gen(&g, "/", "0");
	assert_int_equal(install(f, NULL, &g, NGINX_INST_DRY_RUN, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_CREATED);
	assert_true(r.diff.len > 0);
	assert_int_equal(access(f->live.buf, F_OK), -1);
	assert_int_equal(access(f->state.buf, F_OK), -1);

	/* sites-enabled/x -> conf.d/omero-web.conf: the link stays */
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	sbuf_addf(&link, "%s/enabled.conf", f->dir);
	assert_int_equal(symlink(f->live.buf, link.buf), 0);
	gen(&g, "/x", "0");
	assert_int_equal(install(f, link.buf, &g, 0, &r, &e), 0);
	assert_int_equal(r.action, NGINX_INST_UPDATED);
	assert_string_equal(r.target, f->live.buf);
	assert_int_equal(lstat(link.buf, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, g.buf);
	nginx_install_result_release(&r);
	sbuf_release(&g);
	sbuf_release(&got);
	sbuf_release(&link);
}

static void
test_nginxinst_record_and_reload(void **state)
{
	struct fx *f = *state;
	struct nginx_install_result r = NGINX_INSTALL_RESULT_INIT;
	struct nginx_record rec;
	struct nginx_cmd c = { .nginx = NULL };
	struct err e = ERR_INIT;
	struct sbuf g = SBUF_INIT, got = SBUF_INIT, p = SBUF_INIT;
	int found = -1;

	assert_int_equal(nginx_record_load(f->state.buf, f->live.buf, &rec,
					   &found, &e), 0);
	assert_int_equal(found, 0);
	gen(&g, "/", "0");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	assert_int_equal(nginx_record_load(f->state.buf, f->live.buf, &rec,
					   &found, &e), 0);
	assert_int_equal(found, 1);
	assert_string_equal(rec.type, "nginx");
	assert_int_equal(rec.http, 8080);
	assert_string_equal(rec.servername, "omero.example.org");
	assert_null(rec.max_body_size);
	nginx_record_release(&rec);

	/* not included by nginx's configuration: reported */
	unsetenv("FAKE_INCLUDE");
	gen(&g, "/y", "0");
	assert_int_equal(install(f, NULL, &g, 0, &r, &e), 0);
	assert_true(r.tested);
	assert_false(r.included);
	setenv("FAKE_INCLUDE", f->live.buf, 1);

	c.nginx = f->nginx.buf;
	c.conf = "/etc/nginx/x.conf";
	assert_int_equal(nginx_reload(&c, NULL, &e), 0);
	sbuf_addf(&p, "%s/reloads", f->dir);
	read_text(p.buf, &got);
	assert_string_equal(got.buf, "reload\n");
	sbuf_reset(&p);
	sbuf_addf(&p, "%s/args", f->dir);
	read_text(p.buf, &got);
	assert_non_null(strstr(got.buf, "\n-s reload -c /etc/nginx/x.conf "
			       "-e stderr\n"));
	setenv("FAKE_NOT_RUNNING", "1", 1);
	assert_int_equal(nginx_reload(&c, NULL, &e), -1);
	unsetenv("FAKE_NOT_RUNNING");
	assert_int_equal(e.code, ERR_WEB_NGINX_RELOAD);
	assert_string_equal(e.msg, "nginx -s reload failed: [error] open() "
			    "\"/run/nginx.pid\" failed (2: No such file or "
			    "directory)");
	nginx_install_result_release(&r);
	err_clear(&e);
	sbuf_release(&g);
	sbuf_release(&got);
	sbuf_release(&p);
}

/* A child that waits to be killed: the "worker" of a master (us). */
static pid_t
spawn_worker(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	return pid;
}

static void
test_nginxinst_reload_waits_for_old_workers(void **state)
{
	struct fx *f = *state;
	struct nginx_cmd c = { .nginx = NULL };
	struct err e = ERR_INIT;
	struct sbuf pidf = SBUF_INIT;
	char num[32];
	double waited = -1;
	pid_t master = 0, w;

	c.nginx = f->nginx.buf;
	c.conf = "/etc/nginx/x.conf";
	/* no pid directive and no -V answer: nothing to wait for */
	assert_int_equal(nginx_master_pid(&c, &master, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_RELOAD);
	err_clear(&e);
	sbuf_addf(&pidf, "%s/nginx.pid", f->dir);
	setenv("FAKE_PIDFILE", pidf.buf, 1);
	assert_int_equal(nginx_master_pid(&c, &master, &e), -1);
	assert_non_null(strstr(e.msg, "nginx is not running"));
	err_clear(&e);
	snprintf(num, sizeof(num), "%d\n", (int)getpid());
	write_text(pidf.buf, num);
	assert_int_equal(nginx_master_pid(&c, &master, &e), 0);
	assert_int_equal(master, getpid());

	/* the reload ends the old worker: the wait returns */
	w = spawn_worker();
	snprintf(num, sizeof(num), "%d", (int)w);
	setenv("FAKE_KILL", num, 1);
	assert_int_equal(nginx_reload_wait(&c, 10, &waited, NULL, &e), 0);
	assert_true(waited >= 0 && waited < 10);
	assert_int_equal(waitpid(w, NULL, 0), w);
	unsetenv("FAKE_KILL");

	/* an old worker that stays: an error at the deadline */
	w = spawn_worker();
	assert_int_equal(nginx_reload_wait(&c, 0.3, &waited, NULL, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_RELOAD);
	assert_non_null(strstr(e.msg, "1 nginx worker(s) of the old "
			       "configuration still run"));
	assert_true(waited >= 0.3);
	kill(w, SIGKILL);
	assert_int_equal(waitpid(w, NULL, 0), w);
	err_clear(&e);
	sbuf_release(&pidf);
}

static void
test_nginxinst_regen_spare_port_and_back(void **state)
{
	static const char xml[] = "<icegrid><properties id=\"__ACTIVE__\">"
		"<property name=\"omero.config.profile\" value=\"default\" />"
		"</properties><properties id=\"default\"><property name=\""
		"omero.web.application_server.port\" value=\"4080\" />"
		"</properties></icegrid>\n";
	struct fx *f = *state;
	struct nginx_regen_opts o = { 0 };
	struct nginx_regen_result r = NGINX_REGEN_RESULT_INIT;
	struct nginx_gen g = { 0 };
	struct err e = ERR_INIT;
	struct sbuf omerodir = SBUF_INIT, p = SBUF_INIT, first = SBUF_INIT;
	struct sbuf got = SBUF_INIT, path = SBUF_INIT;
	const char *old_path = getenv("PATH");

	sbuf_addf(&path, "%s:%s", f->dir, old_path ? old_path : "/usr/bin");
	setenv("PATH", path.buf, 1);	/* regen runs "nginx" from PATH */
	sbuf_addf(&omerodir, "%s/OMERO.web", f->dir);
	sbuf_addf(&p, "%s/etc/grid", omerodir.buf);
	assert_int_equal(fs_mkdir_p(p.buf, 0755, &e), 0);
	sbuf_adds(&p, "/config.xml");
	write_text(p.buf, xml);

	o.omerodir = omerodir.buf;
	o.path = f->live.buf;
	o.http_given = 1;
	o.http = 8080;
	o.servername = "127.0.0.1";
	o.nginx_conf = "/etc/nginx/x.conf";
	o.reload = 1;
	assert_int_equal(nginx_regen(&o, &r, &e), 0);
	assert_int_equal(r.inst.action, NGINX_INST_CREATED);
	assert_true(r.installed && r.reloaded && r.inst.tested);
	assert_int_equal(r.maint, MAINT_PAGE_CREATED);
	read_text(f->live.buf, &first);
	assert_non_null(strstr(first.buf, "127.0.0.1:4080"));
	assert_non_null(strstr(first.buf, "listen 8080"));
	nginx_regen_result_release(&r);

	/* the spare port; everything else from the record */
	memset(&o, 0, sizeof(o));
	o.omerodir = omerodir.buf;
	o.path = f->live.buf;
	o.app_port = 5555;
	o.reload = 1;
	r = (struct nginx_regen_result)NGINX_REGEN_RESULT_INIT;
	assert_int_equal(nginx_regen(&o, &r, &e), 0);
	assert_int_equal(r.inst.action, NGINX_INST_UPDATED);
	assert_string_equal(r.nginx.conf, "/etc/nginx/x.conf");
	read_text(f->live.buf, &got);
	assert_non_null(strstr(got.buf, "127.0.0.1:5555"));
	assert_null(strstr(got.buf, ":4080"));
	assert_non_null(strstr(got.buf, "listen 8080"));
	nginx_regen_result_release(&r);

	/* back to config.xml's port: the first text again */
	o.app_port = 0;
	r = (struct nginx_regen_result)NGINX_REGEN_RESULT_INIT;
	assert_int_equal(nginx_regen(&o, &r, &e), 0);
	read_text(f->live.buf, &got);
	assert_string_equal(got.buf, first.buf);
	nginx_regen_result_release(&r);
	sbuf_reset(&p);
	sbuf_addf(&p, "%s/reloads", f->dir);
	read_text(p.buf, &got);
	assert_string_equal(got.buf, "reload\nreload\nreload\n");

	assert_int_equal(nginx_generate(&g, &got, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NO_OMERODIR);
	err_clear(&e);
	setenv("PATH", old_path ? old_path : "/usr/bin:/bin", 1);
	sbuf_release(&omerodir);
	sbuf_release(&p);
	sbuf_release(&first);
	sbuf_release(&got);
	sbuf_release(&path);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_nginxinst_create_then_unchanged),
		T(test_nginxinst_update_and_merge),
		T(test_nginxinst_conflict_writes_nothing),
		T(test_nginxinst_unmanaged_and_force),
		T(test_nginxinst_failed_test_rolls_back),
		T(test_nginxinst_dry_run_and_symlink),
		T(test_nginxinst_record_and_reload),
		T(test_nginxinst_reload_waits_for_old_workers),
		T(test_nginxinst_regen_spare_port_and_back),
	};
#undef T

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
