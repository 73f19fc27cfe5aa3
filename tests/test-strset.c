/* SPDX-License-Identifier: MIT */
/*
 * The string set behind deduplication, group interning and incremental
 * rebuilds: keys copied or borrowed, values kept, growth, probing.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"

START_TEST(test_strset_empty)
{
	struct ep_strset s = {0};
	size_t v = 42;

	ck_assert(!ep_strset_has(&s, "a"));
	ck_assert(!ep_strset_get(&s, "a", &v));
	ck_assert_uint_eq(v, 42);
	ep_strset_release(&s);
}
END_TEST

START_TEST(test_strset_many)
{
	/* enough keys to grow the table many times over, with keys that
	 * differ only at the end and the empty key */
	struct ep_strset s = {0};
	const size_t n = 20000;
	char key[32];
	size_t v;

	ck_assert_int_eq(ep_strset_put(&s, "", 7), 1);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		ck_assert_int_eq(ep_strset_put(&s, key, i), 1);
	}
	ck_assert_uint_eq(s.n, n + 1);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		/* again: kept, first value wins */
		ck_assert_int_eq(ep_strset_put(&s, key, i + 1), 0);
		ck_assert(ep_strset_get(&s, key, &v));
		ck_assert_uint_eq(v, i);
	}
	ck_assert(ep_strset_get(&s, "", &v));
	ck_assert_uint_eq(v, 7);
	ck_assert(!ep_strset_has(&s, "key-"));
	ck_assert(!ep_strset_has(&s, "key-20000"));
	ck_assert_int_eq(ep_strset_add(&s, "key-1"), 0);
	ck_assert_int_eq(ep_strset_add(&s, "other"), 1);
	ck_assert_uint_eq(s.n, n + 2);
	ep_strset_release(&s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_ptr_null(s.slots);
}
END_TEST

START_TEST(test_strset_copies)
{
	/* an owning set keeps its own copy of each key */
	struct ep_strset s = {0};
	char key[] = "name";
	size_t v;

	ck_assert_int_eq(ep_strset_put(&s, key, 3), 1);
	key[0] = 'g';
	ck_assert(ep_strset_get(&s, "name", &v));
	ck_assert_uint_eq(v, 3);
	ck_assert(!ep_strset_has(&s, "game"));
	ep_strset_release(&s);
}
END_TEST

START_TEST(test_strset_borrowed)
{
	/* a borrowing set stores the caller's pointers and frees none of
	 * them (valgrind and ASan see a double free otherwise) */
	struct ep_strset s = {.borrowed = true};
	const size_t n = 1000;
	char **keys = calloc(n, sizeof(*keys));
	size_t v;

	ck_assert_ptr_nonnull(keys);
	for (size_t i = 0; i < n; i++) {
		keys[i] = malloc(16);
		ck_assert_ptr_nonnull(keys[i]);
		snprintf(keys[i], 16, "k%zu", i);
		ck_assert_int_eq(ep_strset_put(&s, keys[i], i), 1);
	}
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		ck_assert(ep_strset_get(&s, keys[i], &v));
		ck_assert_uint_eq(v, i);
		for (size_t j = 0; j < s.cap && !found; j++)
			found = s.slots[j] == keys[i];
		ck_assert_msg(found, "key %zu was copied", i);
	}
	ep_strset_release(&s);
	ck_assert(!s.borrowed);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}
END_TEST

START_TEST(test_strset_hash)
{
	/* FNV-1a 64: the cache's group index depends on it */
	ck_assert_uint_eq(ep_hash_str(""), 0xcbf29ce484222325ULL);
	ck_assert_uint_eq(ep_hash_str("a"), 0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(ep_hash_str("foobar"), 0x85944171f73967e8ULL);
}
END_TEST

static Suite *
strset_suite(void)
{
	Suite *s = suite_create("strset");
	TCase *tc = tcase_create("strset");

	tcase_add_test(tc, test_strset_empty);
	tcase_add_test(tc, test_strset_many);
	tcase_add_test(tc, test_strset_copies);
	tcase_add_test(tc, test_strset_borrowed);
	tcase_add_test(tc, test_strset_hash);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(strset_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
