/*
 * Python datetime semantics for session expiry. fromisoformat follows the
 * parsing code of CPython 3.11's Modules/_datetimemodule.c step by step
 * (including its reliance on the terminating NUL), because an expiry
 * string it rejects makes Django's clearsessions crash.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "pydt.h"
#include "banned.h"

#define MINYEAR 1
#define MAXYEAR 9999
#define DI4Y 1461
#define DI100Y 36524
#define DI400Y 146097

static const int days_in_month_tab[] = {0,  31, 28, 31, 30, 31, 30,
                                        31, 31, 30, 31, 30, 31};
static const int days_before_month_tab[] = {0,   0,   31,  59,  90,  120, 151,
                                            181, 212, 243, 273, 304, 334};

static int
is_leap(int year)
{
	unsigned int ayear = (unsigned int)year;

	return ayear % 4 == 0 && (ayear % 100 != 0 || ayear % 400 == 0);
}

static int
days_in_month(int year, int month)
{
	if (month == 2 && is_leap(year))
		return 29;
	return days_in_month_tab[month];
}

static int
days_before_month(int year, int month)
{
	int days = days_before_month_tab[month];

	if (month > 2 && is_leap(year))
		days++;
	return days;
}

static int
days_before_year(int year)
{
	int y = year - 1;

	return y * 365 + y / 4 - y / 100 + y / 400;
}

static int
ymd_to_ord(int year, int month, int day)
{
	return days_before_year(year) + days_before_month(year, month) + day;
}

/* CPython's ord_to_ymd, with C division, also for out-of-range input. */
static void
ord_to_ymd(int ordinal, int *year, int *month, int *day)
{
	int n, n1, n4, n100, n400, leapyear, preceding;

	--ordinal;
	n400 = ordinal / DI400Y;
	n = ordinal % DI400Y;
	*year = n400 * 400 + 1;
	n100 = n / DI100Y;
	n = n % DI100Y;
	n4 = n / DI4Y;
	n = n % DI4Y;
	n1 = n / 365;
	n = n % 365;
	*year += n100 * 100 + n4 * 4 + n1;
	if (n1 == 4 || n100 == 4) {
		*year -= 1;
		*month = 12;
		*day = 31;
		return;
	}
	leapyear = n1 == 3 && (n4 != 24 || n100 == 3);
	*month = (n + 50) >> 5;
	if (*month < 1 || *month > 12) {
		/* Only reachable from garbage ordinals: an invalid date. */
		*month = 0;
		*day = 0;
		return;
	}
	preceding = days_before_month_tab[*month] + (*month > 2 && leapyear);
	if (preceding > n) {
		*month -= 1;
		if (*month < 1) {
			*day = 0;
			return;
		}
		preceding -= days_in_month(*year, *month);
	}
	n -= preceding;
	*day = n + 1;
}

static int
weekday(int year, int month, int day)
{
	return (ymd_to_ord(year, month, day) + 6) % 7;
}

static int
iso_week1_monday(int year)
{
	int first_day = ymd_to_ord(year, 1, 1);
	int first_weekday = (first_day + 6) % 7;
	int week1_monday = first_day - first_weekday;

	if (first_weekday > 3)
		week1_monday += 7;
	return week1_monday;
}

static int
iso_to_ymd(int iso_year, int iso_week, int iso_day, int *year, int *month,
           int *day)
{
	if (iso_year < MINYEAR || iso_year > MAXYEAR)
		return -4;
	if (iso_week <= 0 || iso_week >= 53) {
		int out_of_range = 1;

		if (iso_week == 53) {
			int first_weekday = weekday(iso_year, 1, 1);

			if (first_weekday == 3 ||
			    (first_weekday == 2 && is_leap(iso_year)))
				out_of_range = 0;
		}
		if (out_of_range)
			return -2;
	}
	if (iso_day <= 0 || iso_day >= 8)
		return -3;
	ord_to_ymd(iso_week1_monday(iso_year) + (iso_week - 1) * 7 + iso_day -
	               1,
	           year, month, day);
	return 0;
}

static int
is_digit(char c)
{
	return ((unsigned int)(c - '0')) < 10;
}

static const char *
parse_digits(const char *ptr, int *var, size_t num_digits)
{
	size_t i;

	for (i = 0; i < num_digits; ++i) {
		unsigned int tmp = (unsigned int)(*(ptr++) - '0');

		if (tmp > 9)
			return NULL;
		*var *= 10;
		*var += (int)tmp;
	}
	return ptr;
}

static int
parse_isoformat_date(const char *dtstr, size_t len, int *year, int *month,
                     int *day)
{
	const char *p = dtstr;
	int uses_separator;

	p = parse_digits(p, year, 4);
	if (p == NULL)
		return -1;
	uses_separator = (*p == '-');
	if (uses_separator)
		++p;
	if (*p == 'W') {
		int iso_week = 0, iso_day = 0;

		p++;
		p = parse_digits(p, &iso_week, 2);
		if (p == NULL)
			return -3;
		if ((size_t)(p - dtstr) < len) {
			if (uses_separator && *(p++) != '-')
				return -2;
			p = parse_digits(p, &iso_day, 1);
			if (p == NULL)
				return -4;
		} else {
			iso_day = 1;
		}
		return iso_to_ymd(*year, iso_week, iso_day, year, month, day)
		           ? -5
		           : 0;
	}
	p = parse_digits(p, month, 2);
	if (p == NULL)
		return -1;
	if (uses_separator && *(p++) != '-')
		return -2;
	p = parse_digits(p, day, 2);
	if (p == NULL)
		return -1;
	return 0;
}

static int
parse_hh_mm_ss_ff(const char *tstr, const char *tstr_end, int *hour,
                  int *minute, int *second, int *microsecond)
{
	static const int correction[] = {100000, 10000, 1000, 100, 10};
	const char *p = tstr;
	const char *p_end = tstr_end;
	int *vals[3] = {hour, minute, second};
	int has_separator = 1;
	size_t i, len_remains, to_parse;

	*hour = *minute = *second = *microsecond = 0;
	for (i = 0; i < 3; ++i) {
		char c;

		p = parse_digits(p, vals[i], 2);
		if (p == NULL)
			return -3;
		c = *(p++);
		if (i == 0)
			has_separator = (c == ':');
		if (p >= p_end)
			return c != '\0';
		else if (has_separator && (c == ':'))
			continue;
		else if (c == '.' || c == ',')
			break;
		else if (!has_separator)
			--p;
		else
			return -4;
	}
	len_remains = (size_t)(p_end - p);
	to_parse = len_remains >= 6 ? 6 : len_remains;
	p = parse_digits(p, microsecond, to_parse);
	if (p == NULL)
		return -3;
	if (to_parse < 6)
		*microsecond *= correction[to_parse - 1];
	while (is_digit(*p))
		++p;
	return *p != '\0';
}

static int
parse_isoformat_time(const char *dtstr, size_t dtlen, int *hour, int *minute,
                     int *second, int *microsecond, int *tzoffset,
                     int *tzmicrosecond)
{
	const char *p_end = dtstr + dtlen;
	const char *tzinfo_pos = dtstr;
	int rv, tzsign, tzhour = 0, tzminute = 0, tzsecond = 0;

	do {
		if (*tzinfo_pos == 'Z' || *tzinfo_pos == '+' ||
		    *tzinfo_pos == '-')
			break;
	} while (++tzinfo_pos < p_end);

	rv = parse_hh_mm_ss_ff(dtstr, tzinfo_pos, hour, minute, second,
	                       microsecond);
	if (rv < 0)
		return rv;
	if (tzinfo_pos == p_end)
		return rv == 1 ? -5 : 0;
	if (*tzinfo_pos == 'Z') {
		*tzoffset = 0;
		*tzmicrosecond = 0;
		return *(tzinfo_pos + 1) != '\0' ? -5 : 1;
	}
	tzsign = (*tzinfo_pos == '-') ? -1 : 1;
	tzinfo_pos++;
	rv = parse_hh_mm_ss_ff(tzinfo_pos, p_end, &tzhour, &tzminute, &tzsecond,
	                       tzmicrosecond);
	*tzoffset = tzsign * ((tzhour * 3600) + (tzminute * 60) + tzsecond);
	*tzmicrosecond *= tzsign;
	return rv ? -5 : 1;
}

static long
find_separator(const char *dtstr, long len)
{
	if (len == 7)
		return 7;
	if (dtstr[4] == '-') {
		if (dtstr[5] == 'W') {
			if (len < 8)
				return -1;
			if (len > 8 && dtstr[8] == '-') {
				if (len == 9)
					return -1;
				if (len > 10 && is_digit(dtstr[10]))
					return 8;
				return 10;
			}
			return 8;
		}
		return 10;
	}
	if (dtstr[4] == 'W') {
		long idx = 7;

		for (; idx < len; ++idx)
			if (!is_digit(dtstr[idx]))
				break;
		if (idx < 9)
			return idx;
		return idx % 2 == 0 ? 7 : 8;
	}
	return 8;
}

static size_t
utf8_codepoints(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

int64_t
pydt_from_fields(int year, int month, int day, int hour, int minute, int second,
                 int us)
{
	/* days from civil (proleptic Gregorian), 1970-01-01 = 0 */
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;

	return ((days * 86400 + hour * 3600LL + minute * 60LL + second) *
	        PYDT_US) +
	       us;
}

int
pydt_in_range(int64_t us)
{
	return us >= pydt_from_fields(MINYEAR, 1, 1, 0, 0, 0, 0) &&
	       us <= pydt_from_fields(MAXYEAR, 12, 31, 23, 59, 59, 999999);
}

static int
valid_fields(int year, int month, int day, int hour, int minute, int second,
             int us)
{
	if (year < MINYEAR || year > MAXYEAR || month < 1 || month > 12)
		return 0;
	if (day < 1 || day > days_in_month(year, month))
		return 0;
	return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 &&
	       second >= 0 && second <= 59 && us >= 0 && us <= 999999;
}

int
pydt_fromisoformat(const char *s, size_t len, struct pydt *out)
{
	int year = 0, month = 0, day = 0;
	int hour = 0, minute = 0, second = 0, microsecond = 0;
	int tzoffset = 0, tzusec = 0;
	const char *p = s;
	long slen = (long)len, sep;
	int rv;

	if (utf8_codepoints(s, len) < 7)
		return -1;
	sep = find_separator(s, slen);
	if (sep < 0)
		return -1;
	rv = parse_isoformat_date(p, (size_t)sep, &year, &month, &day);
	if (!rv && slen > sep) {
		unsigned char lead;

		p += sep;
		lead = (unsigned char)p[0];
		if ((lead & 0x80) == 0)
			p += 1;
		else if ((lead & 0xf0) == 0xe0)
			p += 3;
		else if ((lead & 0xf0) == 0xf0)
			p += 4;
		else
			p += 2;
		slen -= (long)(p - s);
		if (slen < 0)
			return -1;
		rv = parse_isoformat_time(p, (size_t)slen, &hour, &minute,
		                          &second, &microsecond, &tzoffset,
		                          &tzusec);
	}
	if (rv < 0)
		return -1;
	out->aware = 0;
	out->offset_us = 0;
	if (rv == 1) {
		/* An offset of 0 seconds is UTC, whatever its microseconds. */
		int64_t off =
		    tzoffset == 0 ? 0 : (int64_t)tzoffset * PYDT_US + tzusec;

		if (off <= -86400 * PYDT_US || off >= 86400 * PYDT_US)
			return -1;
		out->aware = 1;
		out->offset_us = off;
	}
	if (!valid_fields(year, month, day, hour, minute, second, microsecond))
		return -1;
	out->us = pydt_from_fields(year, month, day, hour, minute, second,
	                           microsecond);
	return 0;
}

static double
round_half_even(double x)
{
	double rounded = round(x);

	if (fabs(x - rounded) == 0.5)
		rounded = 2.0 * round(x / 2.0);
	return rounded;
}

void
pydt_stat_time(const struct timespec *ts, int64_t *sec, int *usec)
{
	double d = (double)ts->tv_sec + (unsigned long)ts->tv_nsec * 1e-9;
	double intpart;
	volatile double floatpart;

	floatpart = modf(d, &intpart);
	floatpart *= 1e6;
	floatpart = round_half_even(floatpart);
	if (floatpart >= 1e6) {
		floatpart -= 1e6;
		intpart += 1.0;
	} else if (floatpart < 0) {
		floatpart += 1e6;
		intpart -= 1.0;
	}
	*sec = (int64_t)intpart;
	*usec = (int)floatpart;
}

int
pydt_local(int64_t sec, int usec, int64_t *wall_us)
{
	time_t t = (time_t)sec;
	struct tm tm;

	errno = 0;
	if (localtime_r(&t, &tm) == NULL)
		return -1;
	/* datetime clamps leap seconds: second = min(59, tm_sec) */
	*wall_us = pydt_from_fields(tm.tm_year + 1900, tm.tm_mon + 1,
	                            tm.tm_mday, tm.tm_hour, tm.tm_min,
	                            tm.tm_sec > 59 ? 59 : tm.tm_sec, usec);
	return 0;
}

int64_t
pydt_floor_seconds(int64_t us)
{
	int64_t q = us / PYDT_US;

	if (us % PYDT_US < 0)
		q--;
	return q;
}
