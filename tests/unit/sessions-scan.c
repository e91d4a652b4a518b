/*
 * Test helper: classify a file session directory with lib/sessions/sfile
 * and print one line per entry: name, verdict, reason, outcome (tab
 * separated). Prints full names, so it is for tests only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sessions/sfile.h"
#include "strv.h"
#include "banned.h"

static const char usage[] =
    "usage: sessions-scan [--django 3.2|4.2|5.2] --secret KEY "
    "[--secret FALLBACK]...\n"
    "       [--prefix NAME] [--age SECONDS] [--now EPOCH] "
    "[--time-zone ZONE]\n"
    "       [--use-tz 0|1] [--pickle] [--no-follow] "
    "[--purge|--clear [--dry-run]]\n"
    "       [--stats] DIR\n";

static int
print_entry(const struct sfile_entry *ent, void *data)
{
	(void)data;
	printf("%s\t%s\t%s\t%s\n", ent->name, sfile_verdict_str(ent->verdict),
	       sfile_reason_str(ent->reason), sfile_outcome_str(ent->outcome));
	return 0;
}

static int
parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	v = strtoll(s, &end, 10);
	if (end == s || *end)
		return -1;
	*out = v;
	return 0;
}

/* EPOCH or EPOCH.FRACTION -> microseconds */
static int
parse_now(const char *s, int64_t *out)
{
	char *end;
	double d = strtod(s, &end);

	if (end == s || *end)
		return -1;
	*out = (int64_t)(d * 1e6 + (d >= 0 ? 0.5 : -0.5));
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"django", required_argument, NULL, 'd'},
	    {"secret", required_argument, NULL, 's'},
	    {"prefix", required_argument, NULL, 'p'},
	    {"age", required_argument, NULL, 'a'},
	    {"now", required_argument, NULL, 'n'},
	    {"time-zone", required_argument, NULL, 'z'},
	    {"use-tz", required_argument, NULL, 'u'},
	    {"pickle", no_argument, NULL, 'P'},
	    {"no-follow", no_argument, NULL, 'F'},
	    {"purge", no_argument, NULL, 'x'},
	    {"clear", no_argument, NULL, 'c'},
	    {"dry-run", no_argument, NULL, 'N'},
	    {"stats", no_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0}};
	struct sfile_opts o = SFILE_OPTS_INIT;
	struct sfile_stats st;
	struct err e = ERR_INIT;
	struct strv secrets = STRV_INIT;
	enum sfile_action act = SFILE_SCAN;
	struct timespec ts;
	int opt, stats = 0, ret;
	int64_t v;

	clock_gettime(CLOCK_REALTIME, &ts);
	o.now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (!strcmp(optarg, "3.2"))
				o.version = DJANGO_3_2;
			else if (!strcmp(optarg, "4.2"))
				o.version = DJANGO_4_2;
			else if (!strcmp(optarg, "5.2"))
				o.version = DJANGO_5_2;
			else
				goto usage;
			break;
		case 's':
			strv_push(&secrets, optarg);
			break;
		case 'p':
			o.prefix = optarg;
			break;
		case 'a':
			if (parse_int64(optarg, &o.cookie_age))
				goto usage;
			break;
		case 'n':
			if (parse_now(optarg, &o.now_us))
				goto usage;
			break;
		case 'z':
			o.time_zone = optarg;
			break;
		case 'u':
			if (parse_int64(optarg, &v))
				goto usage;
			o.use_tz = (int)v;
			break;
		case 'P':
			o.serializer = DJSIGN_PICKLE;
			break;
		case 'F':
			o.no_follow = 1;
			break;
		case 'x':
			act = SFILE_PURGE_EXPIRED;
			break;
		case 'c':
			act = SFILE_CLEAR;
			break;
		case 'N':
			o.dry_run = 1;
			break;
		case 'S':
			stats = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	o.secrets = (const char *const *)secrets.v;
	o.nsecrets = secrets.n;
	o.with_names = 1;
	ret = sfile_run(argv[optind], &o, act, print_entry, NULL, &st, &e);
	if (ret < 0) {
		fprintf(stderr, "sessions-scan: %s\n", e.msg);
		err_clear(&e);
		strv_release(&secrets);
		return 1;
	}
	if (stats)
		fprintf(stderr,
		        "entries %zu sessions %zu live %zu expired %zu "
		        "crash %zu unsure %zu removed %zu changed %zu "
		        "failed %zu\n",
		        st.entries, st.sessions, st.verdicts[SFILE_LIVE],
		        st.verdicts[SFILE_EXPIRED], st.verdicts[SFILE_CRASH],
		        st.verdicts[SFILE_UNSURE], st.removed, st.changed,
		        st.failed);
	strv_release(&secrets);
	return fflush(stdout) ? 1 : 0;
usage:
	fputs(usage, stderr);
	strv_release(&secrets);
	return 2;
}
