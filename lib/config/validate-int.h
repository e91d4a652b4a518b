/*
 * Private to the validate*.c modules (not an API): the validation
 * context, how a finding is added, and the entry points of the value
 * checks (validate-checks.c), the checks across keys (validate-cross.c)
 * and the driver (validate.c) that explain reuses.
 */
#ifndef OWCTL_VALIDATE_INT_H
#define OWCTL_VALIDATE_INT_H

#include <stddef.h>

#include <jansson.h>

#include "schema.h"
#include "validate.h"

struct vctx {
	const struct cfg_kv *kv;
	size_t n;
	int have_target;
	unsigned long target[3];
	const char *omerodir;
	struct finding_list *out;
	int value_only;		/* explain: no cross-key checks */
};

/* Append a finding on key to c->out (hint may be NULL; strings copied). */
void vc_add(struct vctx *c, enum finding_severity sev, const char *key,
	    const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The value of key (the last one when repeated), or NULL. */
const char *vc_get(const struct vctx *c, const char *key);

/*
 * A printable rendering of v for messages, at most SHOWN_MAX bytes plus
 * "...", in buf (SHOWN_MAX + 4 bytes); "********" for secret keys.
 */
#define SHOWN_MAX 64
const char *vc_shown_into(char *buf, const char *key, const char *v);
/* The buffer lives until the end of the enclosing block. */
#define shown(key, v) vc_shown_into((char[SHOWN_MAX + 4]){ 0 }, (key), (v))

/* -1, 0, 1 as the target release compares with maj.min.mic. */
int vc_target_cmp(const struct vctx *c, unsigned long maj, unsigned long min,
		  unsigned long mic);

/* v parsed as JSON when Python's json.loads() takes it and jansson can
 * read it too, else NULL (caller owns the reference). */
json_t *vc_jload(const char *v);
/* 1 when every element of the array a is a string. */
int vc_all_strings(const json_t *a);

/* validate-checks.c: checks of the value v of property p on its own. */
void vc_check_value(struct vctx *c, const struct schema_prop *p,
		    const char *v);

/* validate-cross.c: p is deprecated (with or without its replacement). */
void vc_check_deprecated(struct vctx *c, const struct schema_prop *p);
/* validate-cross.c: checks that involve several keys. */
void vc_check_cross(struct vctx *c);

/* Every key in document order, then (unless c->value_only) the checks
 * across keys. */
void vc_validate_all(struct vctx *c);

#endif
