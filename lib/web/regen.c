/*
 * Regenerating the installed nginx file (regen.h): config.xml's active
 * profile -> nginx_render -> nginx_install -> maintenance page -> reload.
 * Moved out of src/cmd-web-nginx.c so that `owctl upgrade` runs it
 * in-process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "xalloc.h"
#include "web/regen.h"
#include "banned.h"

#define MAX_CONFIG_XML (64u << 20)

int
nginx_profile_load(const char *omerodir, const char *env_profile,
		   struct cfgdoc *doc, const struct xelem **profile,
		   struct err *e)
{
	struct sbuf path = SBUF_INIT, text = SBUF_INIT;
	const char *name;
	int ret = -1;

	*profile = NULL;
	sbuf_addf(&path, "%s/etc/grid/config.xml", omerodir);
	if (fs_read_file(path.buf, MAX_CONFIG_XML, &text, e) < 0) {
		if (errno == ENOENT) {
			err_clear(e);
			ret = 0;
		} else {
			e->code = ERR_WEB_SETTINGS;
		}
		goto out;
	}
	if (!text.len) {
		ret = 0;
		goto out;
	}
	if (cfgdoc_parse(doc, text.buf, text.len, e) < 0) {
		e->code = ERR_WEB_SETTINGS;
		err_prefix(e, "cannot read '%s'", path.buf);
		goto out;
	}
	if (env_profile && *env_profile)
		name = env_profile;
	else if (!(name = profile_get(cfgdoc_profile(doc, CFG_INTERNAL),
				      CFG_KEY_PROFILE)))
		name = "default";
	*profile = cfgdoc_profile(doc, name);
	ret = 0;
out:
	sbuf_release(&path);
	sbuf_release(&text);
	return ret;
}

struct lookup {
	const struct xelem *profile;
	char port[32];		/* the overridden port, or "" */
};

static const char *
lookup(void *ud, const char *key)
{
	struct lookup *l = ud;

	if (*l->port && !strcmp(key, "omero.web.application_server.port"))
		return l->port;
	return profile_get(l->profile, key);
}

int
nginx_generate(const struct nginx_gen *g, struct sbuf *out, struct err *e)
{
	struct cfgdoc doc = { 0 };
	struct nginx_opts o = { 0 };
	struct lookup l;
	int ret = -1;

	if (!g->omerodir || !*g->omerodir)
		return err_set(e, ERR_WEB_NO_OMERODIR,
			       "ERROR: OMERODIR not set");
	memset(&l, 0, sizeof(l));
	if (nginx_profile_load(g->omerodir, g->env_profile, &doc, &l.profile,
			       e) < 0)
		goto out;
	if (g->app_port > 0)
		snprintf(l.port, sizeof(l.port), "%ld", g->app_port);
	o.type = g->type;
	o.http_port = g->http;
	o.servername = g->servername;
	o.max_body_size = g->max_body_size;
	o.omerodir = g->omerodir;
	o.flags = g->flags;
	ret = nginx_render(&o, lookup, &l, out, e);
out:
	cfgdoc_release(&doc);
	return ret;
}

int
nginx_regen(const struct nginx_regen_opts *o, struct nginx_regen_result *r,
	    struct err *e)
{
	struct nginx_gen g = { 0 };
	struct nginx_record saved = { 0 };
	struct nginx_install_opts io = { 0 };
	char *state_dir = NULL;
	int found, ret = -1;

	if (!o->omerodir || !*o->omerodir)
		return err_set(e, ERR_WEB_NO_OMERODIR,
			       "ERROR: OMERODIR not set");
	/* What is not given comes from the last run. */
	state_dir = nginx_state_dir(o->omerodir);
	if (nginx_record_load(state_dir, o->path, &r->rec, &found, e) < 0)
		goto out;
	r->type = o->type_given ? o->type : NGINX_SERVER;
	if (!o->type_given && r->rec.type &&
	    (nginx_type_parse(r->rec.type, &r->type) < 0 ||
	     r->type == NGINX_DEVELOPMENT))
		r->type = NGINX_SERVER;
	g.omerodir = o->omerodir;
	g.env_profile = o->env_profile;
	g.type = r->type;
	g.http = o->http_given ? o->http : r->rec.http;
	g.servername = o->servername ? o->servername : r->rec.servername;
	g.max_body_size = o->max_body_size ? o->max_body_size :
			  r->rec.max_body_size;
	g.app_port = o->app_port;
	r->nginx.conf = o->nginx_conf ? o->nginx_conf : r->rec.nginx_conf;
	r->nginx.prefix = o->nginx_prefix ? o->nginx_prefix :
			  r->rec.nginx_prefix;
	if (nginx_generate(&g, &r->generated, e) < 0)
		goto out;

	saved.type = (char *)nginx_type_name(r->type);
	saved.http = g.http;
	saved.servername = (char *)g.servername;
	saved.max_body_size = (char *)g.max_body_size;
	saved.nginx_conf = (char *)r->nginx.conf;
	saved.nginx_prefix = (char *)r->nginx.prefix;
	io.path = o->path;
	io.state_dir = state_dir;
	io.generated = r->generated.buf;
	io.generated_len = r->generated.len;
	io.resolved = o->resolved;
	io.resolved_len = o->resolved_len;
	io.record = &saved;
	io.nginx = r->nginx;
	io.flags = o->flags;
	if (nginx_install(&io, &r->inst, e) < 0)
		goto out;
	r->installed = 1;
	if (!(o->flags & NGINX_INST_DRY_RUN) &&
	    maint_page_install(o->omerodir, &r->maint, e) < 0)
		goto out;
	if (o->reload && r->inst.action != NGINX_INST_UNCHANGED &&
	    !(o->flags & NGINX_INST_DRY_RUN)) {
		if (o->drain_timeout > 0)
			ret = nginx_reload_wait(&r->nginx, o->drain_timeout,
						&r->drained, NULL, e);
		else
			ret = nginx_reload(&r->nginx, NULL, e);
		if (ret < 0)
			goto out;
		r->reloaded = 1;
	}
	ret = 0;
out:
	free(state_dir);
	return ret;
}

void
nginx_regen_result_release(struct nginx_regen_result *r)
{
	if (!r)
		return;
	sbuf_release(&r->generated);
	nginx_install_result_release(&r->inst);
	nginx_record_release(&r->rec);
	memset(&r->nginx, 0, sizeof(r->nginx));
}
