/*
 * The maintenance page: served by nginx (status 502) while OMERO.web is
 * down, e.g. during an upgrade. Plain HTML with inline style, so it works
 * without the static files of the application that is down.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "sbuf.h"
#include "web/maintpage.h"
#include "banned.h"

const char maint_page_html[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, "
	"initial-scale=1\">\n"
	"<meta name=\"robots\" content=\"noindex\">\n"
	"<title>OMERO.web is under maintenance</title>\n"
	"<style>\n"
	"body { margin: 0; font-family: system-ui, -apple-system, "
	"\"Segoe UI\", Helvetica, Arial, sans-serif;\n"
	"       background: #f4f6f8; color: #1d2a35; }\n"
	"main { max-width: 36rem; margin: 12vh auto 0; padding: 2rem 2.5rem;\n"
	"       background: #fff; border-radius: 8px;\n"
	"       box-shadow: 0 1px 4px rgba(0, 0, 0, .12); }\n"
	"h1 { font-size: 1.5rem; margin: 0 0 1rem; }\n"
	"p { line-height: 1.5; margin: 0 0 .8rem; }\n"
	".small { color: #5b6b78; font-size: .875rem; }\n"
	"</style>\n"
	"</head>\n"
	"<body>\n"
	"<main>\n"
	"<h1>OMERO.web is temporarily unavailable</h1>\n"
	"<p>The web interface is being maintained or restarted.</p>\n"
	"<p>Please try again in a few minutes; this page does not reload "
	"by itself.</p>\n"
	"<p class=\"small\">If the problem persists, contact the "
	"administrator of this server.</p>\n"
	"</main>\n"
	"</body>\n"
	"</html>\n";

char *
maint_page_path(const char *omerodir)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "%s/etc/templates/error/maintainance.html", omerodir);
	return sbuf_detach(&sb, NULL);
}

int
maint_page_install(const char *omerodir, enum maint_page_state *state,
		   struct err *e)
{
	struct sbuf dir = SBUF_INIT, old = SBUF_INIT;
	char *path = maint_page_path(omerodir);
	size_t len = strlen(maint_page_html);
	int ret = -1;

	if (fs_read_file(path, 1u << 20, &old, e) == 0) {
		int same = old.len == len &&
			   !memcmp(old.buf, maint_page_html, len);

		*state = same ? MAINT_PAGE_SAME : MAINT_PAGE_KEPT;
		ret = 0;
		goto out;
	}
	if (errno != ENOENT) {
		err_prefix(e, "cannot install the maintenance page");
		goto out;
	}
	err_clear(e);
	sbuf_addf(&dir, "%s/etc/templates/error", omerodir);
	if (fs_mkdir_p(dir.buf, 0755, e) < 0)
		goto out;
	if (fs_write_atomic_mode(path, maint_page_html, len, 0644, e) < 0)
		goto out;
	*state = MAINT_PAGE_CREATED;
	ret = 0;
out:
	free(path);
	sbuf_release(&dir);
	sbuf_release(&old);
	return ret;
}
