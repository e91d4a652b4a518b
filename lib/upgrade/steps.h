/*
 * `owctl upgrade run|resume|rollback|status`: the upgrade guide's steps
 * (backup, install in place or into a new venv, configuration, nginx,
 * sessions, restart or a zero-downtime hand-over, verify), each journaled
 * (journal.h) so that an interrupted upgrade can be resumed, and the
 * rollback that puts packages (or the old venv), config.xml, the secret
 * key and the nginx file back and proves the old version answers again.
 */
#ifndef OWCTL_UPGRADE_STEPS_H
#define OWCTL_UPGRADE_STEPS_H

#include <jansson.h>

#include "err.h"
#include "sbuf.h"
#include "upgrade/plan.h"

#define UPGRADE_REPORT_SCHEMA "owctl.upgrade.report/1"

/*
 * Progress for the front end: called when a step starts ("started"), ends
 * ("done", "skipped", "failed") and while it works ("progress"); msg is a
 * one-line description (may be NULL). The core itself never prints.
 */
struct upgrade_ui {
	void (*event)(void *ud, const char *step, const char *state,
		      const char *msg);
	void *ud;
};

/*
 * Run the upgrade that plan (from upgrade_plan_make, with no error) and o
 * describe: a new journal under $OMERODIR/var/owctl/upgrades/<id>/, a
 * backup under $OMERODIR/var/owctl/backups/<id>/ (0700), then every step
 * the plan lists (plan "steps": in place, --new-venv or --zero-downtime,
 * with "carry" for --from-omerodir). With o->new_venv the start step
 * switches the deployment to the new venv: gunicorn runs from it and
 * $OMERODIR/var/owctl/venv names it (web_venv_record). When a step after
 * the backup fails, the rollback runs at once. *report (new reference,
 * also on failure when anything ran) is
 *   { "schema", "id", "journal", "backup", "from", "to",
 *     "mode": "in-place" | "new-venv" | "zero-downtime", "venv",
 *     "new_venv" | null,
 *     "result": "upgraded" | "rolled-back" | "rollback-failed" | "failed",
 *     "seconds", "unavailable_seconds" | null, "failed_step" | null,
 *     "error" | null, "steps": [{"step", "state", "seconds", "data"}] }.
 * Returns 0 when upgraded; -1 otherwise with ERR_UPGRADE_FAILED (rolled
 * back: the old version answers), ERR_UPGRADE_ROLLBACK (the rollback
 * failed too), ERR_CFG_LOCK (another upgrade runs) or the error that
 * stopped it before anything changed.
 */
int upgrade_run(const struct upgrade_opts *o, json_t *plan,
		const struct upgrade_ui *ui, json_t **report, struct err *e);

/*
 * Continue the latest upgrade of omerodir from its journal: the steps not
 * recorded "done" run again (each is safe to repeat); an interrupted
 * rollback continues as a rollback. ERR_UPGRADE_NONE when there is no
 * unfinished upgrade. owctl is owctl's own path (unused since the nginx
 * step regenerates in-process, web/regen.h). Returns like upgrade_run.
 */
int upgrade_resume(const char *omerodir, const char *owctl,
		   const struct upgrade_ui *ui, json_t **report,
		   struct err *e);

/*
 * Undo the latest upgrade (finished or interrupted): restore the packages
 * of the pip freeze in its backup (with a new venv: switch back to the
 * untouched old one), config.xml, the secret key, the nginx file and what
 * --from-omerodir replaced, restart and check the old version answers.
 * Returns 0, or -1 with ERR_UPGRADE_ROLLBACK / ERR_UPGRADE_NONE.
 */
int upgrade_rollback(const char *omerodir, const char *owctl,
		     const struct upgrade_ui *ui, json_t **report,
		     struct err *e);

/*
 * The latest upgrade as JSON: { "id", "journal", "from", "to", "state"
 * ("running or interrupted", "upgraded", "rolled-back", ...), "steps":
 * [{"step", "state", "time"}] }. ERR_UPGRADE_NONE when there is none.
 */
json_t *upgrade_status(const char *omerodir, struct err *e);

#endif
