/*
 * JSON exactly as Python's json module reads and writes it, on top of
 * jansson: config values written by "omero config append/remove" must be
 * byte-identical to json.dumps(json.loads(...)) with default arguments.
 */
#ifndef OWCTL_PYJSON_H
#define OWCTL_PYJSON_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "sbuf.h"

/*
 * Parse s[0..len) like Python's json.loads(): any top-level value, NUL
 * characters in strings, duplicate object keys (the last value wins, in the
 * place of the first), and the literals NaN, Infinity and -Infinity as well
 * as float literals that overflow to infinity (1E400), which become the
 * non-finite values described at pyjson_real().
 *
 * Returns a new reference (json_decref it), or NULL with ERR_BADVALUE and a
 * message holding jansson's text and position for invalid JSON and for the
 * values Python accepts but jansson cannot hold, which are refused rather
 * than changed: integers outside int64, lone surrogates ("\ud800"), and NUL
 * characters in object keys.
 */
json_t *pyjson_loads(const char *s, size_t len, struct err *e);

/*
 * Append to out exactly what Python's json.dumps(v) returns: separators
 * ", " and ": ", keys in insertion order, ensure_ascii (lowercase \uXXXX,
 * surrogate pairs beyond the BMP, everything outside 0x20-0x7e escaped),
 * floats as Python's repr(), NaN/Infinity/-Infinity. Strings must be valid
 * UTF-8 (jansson guarantees it unless built with a *_nocheck constructor);
 * an invalid byte is written as \ufffd.
 */
void pyjson_dumps(const json_t *v, struct sbuf *out);

/*
 * Python's == between two decoded values, as used by "jv in list" and
 * list.remove(jv): true == 1 == 1.0, false == 0 == 0.0 == -0.0, integers
 * and floats compared exactly (2**53 + 1 != 2.0**53), objects equal when
 * they hold the same keys with equal values in any order, arrays
 * element-wise, strings by content. NaN equals NaN: json.loads returns
 * one shared NaN object, and Python compares containers and "in" by
 * identity first. Returns 1 when equal, 0 otherwise.
 */
int pyjson_equal(const json_t *a, const json_t *b);

/*
 * jansson refuses non-finite reals, so pyjson represents NaN, Infinity and
 * -Infinity with a private string that no parsed string can equal (it is
 * not valid UTF-8). Other code must not look inside: use these helpers.
 *
 * pyjson_real() returns a new reference: json_real(d) for a finite d, the
 * private value for a non-finite one.
 * pyjson_nonfinite() returns 1 and stores NaN or +-infinity in *d (d may be
 * NULL) when v is such a value, 0 otherwise.
 */
json_t *pyjson_real(double d);
int pyjson_nonfinite(const json_t *v, double *d);

#endif
