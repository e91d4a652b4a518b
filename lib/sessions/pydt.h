/*
 * Python datetime semantics that Django's session expiry depends on:
 * datetime.fromisoformat() as CPython 3.11's C module parses it, the
 * float rounding of datetime.fromtimestamp(os.stat().st_mtime), and naive
 * local wall-clock arithmetic (USE_TZ = False).
 */
#ifndef OWCTL_PYDT_H
#define OWCTL_PYDT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PYDT_US 1000000LL

/*
 * A datetime as Python holds it. "us" is the wall-clock value in
 * microseconds since 1970-01-01T00:00 of the proleptic Gregorian calendar
 * (no time zone applied); aware datetimes add their UTC offset.
 */
struct pydt {
	int64_t us;        /* naive wall-clock microseconds */
	int aware;         /* has a tzinfo */
	int64_t offset_us; /* utcoffset() when aware */
};

/*
 * datetime.fromisoformat(s) of CPython 3.11 (the C implementation): s is
 * UTF-8 of length len, NUL-terminated at s[len]. Returns 0 and fills *out,
 * or -1 where Python raises ValueError.
 */
int pydt_fromisoformat(const char *s, size_t len, struct pydt *out);

/* Wall-clock microseconds of a proleptic Gregorian date and time. */
int64_t pydt_from_fields(int year, int month, int day, int hour, int minute,
                         int second, int us);

/* Is a wall-clock value within datetime.min .. datetime.max? */
int pydt_in_range(int64_t us);

/*
 * Python's float st_mtime (sec + nsec * 1e-9) rounded the way
 * datetime.fromtimestamp() rounds it (ROUND_HALF_EVEN to microseconds):
 * the result is an epoch time in whole seconds and microseconds.
 */
void pydt_stat_time(const struct timespec *ts, int64_t *sec, int *usec);

/*
 * Naive local wall-clock value of an epoch time (datetime.fromtimestamp
 * without tz), using the process time zone (TZ). Returns -1 where
 * localtime() fails (Python raises OSError).
 */
int pydt_local(int64_t sec, int usec, int64_t *wall_us);

/* Floor division of microseconds to seconds, as timedelta normalises. */
int64_t pydt_floor_seconds(int64_t us);

#endif
