/*
 * Installing a generated nginx file in the live nginx configuration and
 * regenerating it later without losing the administrator's edits: a base
 * copy of what was generated is kept in owctl's state directory, later
 * runs merge three ways (diff3), the whole nginx configuration is tested
 * before the new file stays, and nginx is reloaded on request.
 */
#ifndef OWCTL_WEB_NGINXINST_H
#define OWCTL_WEB_NGINXINST_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "sbuf.h"

/* How to run the system's nginx. */
struct nginx_cmd {
	const char *nginx;	/* binary; NULL: "nginx" in PATH, else in
				   /usr/sbin, /usr/local/sbin or /sbin */
	const char *conf;	/* -c FILE; NULL: nginx's compiled default */
	const char *prefix;	/* -p DIR; NULL: nginx's compiled default */
	double timeout;		/* seconds per run; <= 0: 60 */
};

/*
 * Append to msg the line of nginx's stderr log that says what is wrong (the
 * first [emerg]/[alert]/[crit]/[error] line, else the last line), without
 * "nginx: " and the log's time stamp; "nginx exited with status N" when
 * the log is empty.
 */
void nginx_problem_line(const char *log, int status, struct sbuf *msg);

/*
 * Test the whole configuration (`nginx -T`, with "-e stderr" where nginx
 * has -e). Returns 0 when it passes; *included is then set to 1 when the
 * file must_include (NULL: no check) is one of the files nginx read, by
 * real path. Fails with ERR_WEB_NGINX_TEST and nginx's own message ("nginx
 * -t failed: [emerg] ...") when it does not pass, ERR_IO when nginx cannot
 * be run. log (may be NULL) receives nginx's stderr.
 */
int nginx_test_whole(const struct nginx_cmd *c, const char *must_include,
		     int *included, struct sbuf *log, struct err *e);

/*
 * `nginx -s reload` with the same -c/-p: nginx reads the pid file its
 * configuration names and signals the master. ERR_WEB_NGINX_RELOAD with
 * nginx's message when that fails (e.g. nginx is not running).
 */
int nginx_reload(const struct nginx_cmd *c, struct sbuf *log, struct err *e);

/*
 * The PID of the running nginx master of c's configuration: the "pid"
 * directive of `nginx -T` (relative to the prefix), else nginx's compiled
 * --pid-path, read and checked alive. ERR_WEB_NGINX_RELOAD when nginx is
 * not running.
 */
int nginx_master_pid(const struct nginx_cmd *c, pid_t *pid, struct err *e);

/*
 * nginx_reload, then wait (at most timeout seconds) until every worker
 * the master had before the reload has exited: old workers finish their
 * requests with the old configuration, so only then does no request go to
 * the old upstream any more. *waited (may be NULL) gets the seconds
 * waited. ERR_WEB_NGINX_RELOAD when the reload fails or old workers are
 * still there at the deadline.
 */
int nginx_reload_wait(const struct nginx_cmd *c, double timeout,
		      double *waited, struct sbuf *log, struct err *e);

/* $OMERODIR/var/owctl/nginx (caller frees). */
char *nginx_state_dir(const char *omerodir);

/*
 * What the last successful install of a file used, kept next to its base
 * copy so that a later run (after an upgrade) regenerates the same way.
 * Strings are owned; NULL when not recorded.
 */
struct nginx_record {
	char *type;		/* "nginx" or "nginx-location" */
	long http;		/* 0: not given */
	char *servername;
	char *max_body_size;
	char *nginx_conf;
	char *nginx_prefix;
};

/*
 * Read the record for path (resolved as nginx_install does). *found is 0
 * (and r all NULL/0) when there is none. ERR_IO on unreadable or bad JSON.
 */
int nginx_record_load(const char *state_dir, const char *path,
		      struct nginx_record *r, int *found, struct err *e);
void nginx_record_release(struct nginx_record *r);

enum nginx_install_flags {
	NGINX_INST_DRY_RUN = 1 << 0,	/* compute and diff, write nothing */
	NGINX_INST_FORCE = 1 << 1,	/* replace local edits that cannot be
					   merged (kept in the state dir) */
	NGINX_INST_NO_TEST = 1 << 2,	/* do not run nginx -T */
};

struct nginx_install_opts {
	const char *path;	/* the live file, e.g. /etc/nginx/conf.d/x */
	const char *state_dir;	/* nginx_state_dir(); created 0700 */
	const char *generated;	/* the freshly generated text */
	size_t generated_len;
	/*
	 * A resolution of an earlier conflict (--merged FILE): installed as
	 * is (it must hold no conflict marker), generated becoming the base.
	 * NULL normally.
	 */
	const char *resolved;
	size_t resolved_len;
	const struct nginx_record *record;	/* saved on success; may be
						   NULL */
	struct nginx_cmd nginx;	/* for the whole-configuration test */
	unsigned flags;		/* enum nginx_install_flags */
};

enum nginx_install_action {
	NGINX_INST_UNCHANGED,	/* the file already holds the result */
	NGINX_INST_CREATED,	/* there was no file */
	NGINX_INST_UPDATED,	/* no local edits: replaced by the new text */
	NGINX_INST_MERGED,	/* local edits merged with the new text */
	NGINX_INST_REPLACED,	/* --force: local edits dropped */
	NGINX_INST_RESOLVED,	/* --merged: the resolution installed */
};

struct nginx_install_result {
	enum nginx_install_action action;
	char *target;		/* the file written (symbolic links
				   followed) */
	/*
	 * Unified diff from the live file to the result (what was or, with
	 * DRY_RUN, would be written); on a conflict, from the live file to
	 * the merge with its conflict blocks; on ERR_WEB_NGINX_UNMANAGED,
	 * from the live file to the generated one.
	 */
	struct sbuf diff;
	char *conflict_file;	/* the merge with conflict blocks, saved in
				   the state dir (not with DRY_RUN) */
	char *saved_local;	/* the dropped local version (REPLACED) */
	int tested;		/* nginx -T passed with the new file */
	int included;		/* ... and nginx reads the file */
	int base_missing;	/* CREATED although a base copy existed */
	struct sbuf nginx_log;	/* nginx's stderr of the last test */
};

#define NGINX_INSTALL_RESULT_INIT \
	{ NGINX_INST_UNCHANGED, NULL, SBUF_INIT, NULL, NULL, 0, 0, 0, \
	  SBUF_INIT }

/*
 * Install o->generated at o->path, keeping the administrator's edits:
 *   no file                    -> write the generated text (CREATED)
 *   file == generated          -> nothing to write (UNCHANGED)
 *   no base copy, file differs -> ERR_WEB_NGINX_UNMANAGED (owctl did not
 *                                 write it; FORCE replaces it)
 *   file == base               -> write the generated text (UPDATED)
 *   generated == base          -> keep the file (UNCHANGED)
 *   otherwise                  -> diff3 -m file base generated: clean ->
 *                                 write the merge (MERGED); conflict ->
 *                                 ERR_WEB_NGINX_CONFLICT, nothing written
 *                                 (FORCE writes the generated text and
 *                                 keeps the file in the state dir)
 * The file is replaced atomically (mode and owner kept; new files 0644),
 * then, unless NO_TEST, the whole nginx configuration is tested; if that
 * fails the previous file is put back (or the new one removed) and the
 * call fails with ERR_WEB_NGINX_TEST. Only then is the base copy (the
 * generated text, mode 0600) and the record saved. Runs are serialised by
 * a lock in the state dir. With DRY_RUN nothing at all is written. r is
 * filled as far as the run got, also on failure; release it.
 */
int nginx_install(const struct nginx_install_opts *o,
		  struct nginx_install_result *r, struct err *e);

void nginx_install_result_release(struct nginx_install_result *r);

/* "unchanged", "created", "updated", "merged", "replaced", "resolved" */
const char *nginx_install_action_name(enum nginx_install_action a);

#endif
