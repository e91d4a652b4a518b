/* Upgrade journal: records survive, a torn tail is ignored. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "upgrade/journal.h"
#include "sbuf.h"
#include "unit-tmpdir.h"
#include "banned.h"

UNIT_TMPDIR("journal")

static void
test_journal_roundtrip_and_torn_tail(void **state)
{
	struct journal j = JOURNAL_INIT, k = JOURNAL_INIT;
	struct err e = ERR_INIT;
	struct sbuf path = SBUF_INIT;
	struct stat st;
	json_t *recs, *data = json_pack("{s:s}", "from", "5.30.1");
	FILE *f;

	(void)state;
	assert_int_equal(journal_create(&j, dir, "20260101T000000Z", &e), 0);
	assert_int_equal(stat(j.dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(journal_append(&j, "preflight", "done", data, &e), 0);
	assert_int_equal(journal_append(&j, "backup", "start", NULL, &e), 0);
	/* a crash in the middle of a write leaves a torn line */
	sbuf_addf(&path, "%s/journal.jsonl", j.dir);
	f = fopen(path.buf, "a");
	fputs("{\"step\": \"backup\", \"sta", f);
	fclose(f);
	assert_int_equal(journal_create(&k, dir, "20250101T000000Z", &e), 0);
	journal_close(&k);
	assert_int_equal(journal_open_latest(&k, dir, &e), 0);
	assert_string_equal(k.id, "20260101T000000Z");
	recs = journal_records(&k, &e);
	assert_int_equal(json_array_size(recs), 2);
	assert_string_equal(journal_step_state(recs, "preflight"), "done");
	assert_string_equal(journal_step_state(recs, "backup"), "start");
	assert_null(journal_step_state(recs, "install"));
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(recs, 0), "from")), "5.30.1");
	json_decref(recs);
	json_decref(data);
	journal_close(&j);
	journal_close(&k);
	sbuf_release(&path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_roundtrip_and_torn_tail),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
