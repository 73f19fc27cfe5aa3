/* SPDX-License-Identifier: MIT */
/*
 * The Name: and Version: of METADATA/PKG-INFO texts, as
 * importlib.metadata gives them through email.message_from_string() and
 * its _adapters.Message.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"

#define ARRAY_LENGTH(a) (sizeof(a) / sizeof((a)[0]))

struct md_case {
	const char *in;
	size_t len;
	int rc;
	const char *name; /* NULL: no such header */
	const char *version;
};

/*
 * Expected results computed with /usr/bin/python3 (3.11.2):
 *   text = io.TextIOWrapper(io.BytesIO(data), encoding='utf-8').read()
 *   m = importlib.metadata._adapters.Message(
 *           email.message_from_string(text))
 *   m['Name'], m['Version']
 * which is what Distribution.metadata does with Path.read_text(). Where
 * the decoding raises, or the value holds a NUL byte that a C string
 * cannot carry, the answer is -EILSEQ.
 */
/* clang-format off */
static const struct md_case md_cases[] = {
	/* empty */
	{ "", 0, 0, NULL, NULL },
	/* the usual */
	{
		"Metadata-Version: 2.1\012Name: foo\012Version: 1.0\012\012bod"
		"y\012",
		51, 0,
		"foo",
		"1.0" },
	/* no final newline */
	{ "Name: foo", 9, 0, "foo", NULL },
	/* names match case-insensitively */
	{ "name: lower\012VERSION: UPPER\012", 27, 0, "lower", "UPPER" },
	/* the first occurrence wins */
	{
		"Name: first\012Name: second\012Version: 1\012Version: 2\012",
		47, 0,
		"first",
		"1" },
	/* the body is not headers */
	{ "Summary: s\012\012Name: in-body\012", 26, 0, NULL, NULL },
	/* an empty first line: no headers at all */
	{ "\012Name: foo\012", 11, 0, NULL, NULL },
	/* the value is lstripped of ' \t' only */
	{ "Name:foo\012Version:\011 \0111.0\012", 24, 0, "foo", "1.0" },
	/* other whitespace stays */
	{
		"Name:\302\240foo\302\240\012Version: 1\343\200\200\012",
		27, 0,
		"\302\240foo\302\240",
		"1\343\200\200" },
	/* trailing blanks stay */
	{ "Name: foo   \012Version: 1.0\011\012", 27, 0, "foo   ", "1.0\011" },
	/* empty values */
	{ "Name:\012Version:   \012", 18, 0, "", "" },
	/* CRLF */
	{
		"Name: foo\015\012Version: 1.0\015\012\015\012body",
		31, 0,
		"foo",
		"1.0" },
	/* lone CR */
	{ "Name: foo\015Version: 1.0\015\015Name: body", 34, 0, "foo", "1.0" },
	/* CR CR LF: an empty line */
	{ "Name: foo\015\015\012Version: 1.0\012", 25, 0, "foo", NULL },
	/* only CR and LF end a header line */
	{
		"Name: a\013b\014c\034d\012Version: 1\012",
		25, 0,
		"a\013b\014c\034d",
		"1" },
	/* NEL and LINE SEPARATOR are not line ends here */
	{
		"Name: a\302\205b\342\200\250c\012Version: 1\012",
		26, 0,
		"a\302\205b\342\200\250c",
		"1" },
	/* a folded value is re-dented */
	{
		"Name: foo\012 bar\012Version: 1\012",
		26, 0,
		"       foo\012bar",
		"1" },
	/* tabs and spaces: common prefix only */
	{
		"Name: foo\012\011bar\012  baz\012Version: 1\012",
		32, 0,
		"        foo\012\011bar\012  baz",
		"1" },
	/* folded from the first line */
	{ "Name:\012  foo\012  bar\012", 18, 0, "\012foo\012bar", NULL },
	/* eight spaces or more */
	{
		"Name:\012        foo\012          bar\012",
		32, 0,
		"\012foo\012  bar",
		NULL },
	/* a blank continuation line */
	{ "Name: foo\012   \012Version: 1\012", 25, 0, "foo\012", "1" },
	/* a whitespace-only continuation in the middle */
	{
		"Name: foo\012 \011 \012 bar\012",
		19, 0,
		"       foo\012\012bar",
		NULL },
	/* first line blank after the colon */
	{ "Name:   \012  x\012", 13, 0, "\012x", NULL },
	/* tab after the colon */
	{ "Name: \011\012\011y\012", 11, 0, "\012y", NULL },
	/* tabs */
	{
		"Name: a\012\011\011b\012\011\011c\012",
		16, 0,
		"        a\012\011\011b\012\011\011c",
		NULL },
	/* a continuation with no header is dropped */
	{ " Name: continuation first\012Name: real\012", 37, 0, "real", NULL },
	/* a unix-from line */
	{
		"From someone Mon Jan 1\012Name: foo\012Version: 1\012",
		44, 0,
		"foo",
		"1" },
	/* a unix-from line is not continued */
	{ "From someone\012 continued\012Name: foo\012", 34, 0, "foo", NULL },
	/* a misplaced From line closes the header before it */
	{
		"Name: foo\012From misplaced\012 continued\012Version: 1\012",
		47, 0,
		"foo",
		"1" },
	/* a From line last */
	{ "Version: 1\012From x\012", 18, 0, NULL, "1" },
	/* From: is a header */
	{ "From: author\012Name: foo\012", 23, 0, "foo", NULL },
	/* a line starting with a colon is skipped */
	{ ":no name\012 continued\012Name: foo\012", 30, 0, "foo", NULL },
	/* a space before the colon is not a header: body */
	{ "Name : spaced\012Version: 1\012", 25, 0, NULL, NULL },
	/* a line without a colon starts the body */
	{
		"Version: 1\012Not a header line\012Name: foo\012",
		39, 0,
		NULL,
		"1" },
	/* a non-ASCII header name starts the body */
	{ "Version: 1\012\303\251: x\012Name: foo\012", 27, 0, NULL, "1" },
	/* so does a control character */
	{ "Version: 1\012X\000Y: z\012Name: foo\012", 28, 0, NULL, "1" },
	/* every printable ASCII but the colon is a header name */
	{
		"X-Weird!#$%&*+-./;<=>\077@[]^_`{|}~: v\012Name: ok\012",
		45, 0,
		"ok",
		NULL },
	/* invalid UTF-8 in the body still fails */
	{ "Name: foo\012Version: 1.0\012\377\012", 25, -EILSEQ, NULL, NULL },
	/* a truncated sequence */
	{ "Name: f\303\012", 9, -EILSEQ, NULL, NULL },
	/* an encoded surrogate */
	{ "Name: \355\240\200\012", 10, -EILSEQ, NULL, NULL },
	/* a NUL in the value cannot be returned */
	{ "Name: a\000b\012Version: 1\012", 21, -EILSEQ, NULL, NULL },
	/* a NUL elsewhere is fine */
	{ "Name: foo\012Version: 1\012\012body \000\012", 29, 0, "foo", "1" },
	/* a NUL in another header is fine */
	{ "Name: foo\012Summary: \000\012Version: 1\012", 32, 0, "foo", "1" },
	/* a BOM makes the first line no header */
	{ "\357\273\277Name: bom\012Version: 1\012", 24, 0, NULL, NULL },
	/* non-ASCII values */
	{
		"Name: caf\303\251 \316\243\012Version: \331\241.\331\242\012",
		30, 0,
		"caf\303\251 \316\243",
		"\331\241.\331\242" },
	/* a multipart body does not matter */
	{
		"Content-Type: multipart/mixed; boundary=XX\012Name: foo\012"
		"\012--XX\012Name: inner\012\012--XX--\012",
		79, 0,
		"foo",
		NULL },
	/* nor does a message body */
	{
		"Content-Type: message/rfc822\012Version: 1\012\012Name: inner"
		"\012",
		53, 0,
		NULL,
		"1" },
	/* long lines */
	{
		"Name: foo\012Description: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\012",
		224, 0,
		"foo",
		NULL },
	/* random mixes of header, continuation, blank and body lines */
	{
		"From x\012Name: a\302\205b\012\011cont\012Version: 1.0\012",
		37, 0,
		"        a\302\205b\012\011cont",
		"1.0" },
	{ "  a\015\012Version:\015NAME :x\015", 22, 0, NULL, "" },
	{
		" continuation\015\012  a\015Metadata-Version: 2.1\012 \011c"
		"\012",
		45, 0,
		NULL,
		NULL },
	{
		"From x\012Version: 1.0\015\012X-Y: z\012Metadata-Version: 2.1"
		"\012NAME :x\015X-Y: z\012Name:\012",
		71, 0,
		NULL,
		"1.0" },
	{ "name:bar\012Body text\012From: y\012\015", 28, 0, "bar", NULL },
	{ ":nohdr\015", 7, 0, NULL, NULL },
	{ "Name: a\302\205b\015\012name:bar\012", 21, 0, "a\302\205b", NULL },
	{ " continuation\012  a\015\012", 19, 0, NULL, NULL },
	{
		"version:2\015X-Y: z\012name:bar\012Name: foo\012Name:\015\012",
		43, 0,
		"bar",
		"2" },
	{ "From: y\012", 8, 0, NULL, NULL },
	{ "\011 \011\015Name: foo\015\012", 15, 0, "foo", NULL },
	{ "Version: 1.0\015From x\012 \011c\012", 24, 0, NULL, "1.0" },
	{
		" continuation\015\012  \015From x\012\015\012name:bar\012  a"
		"\015",
		40, 0,
		NULL,
		NULL },
	{
		"  a\012Name: a\302\205b\015\012nAmE:\011baz  \012nAmE:\011baz"
		"  \012\011 \011\012version:2\015\012Version: 1.0\012",
		68, 0,
		"a\302\205b",
		"2" },
	{
		"\015\012 \011c\012  \012Name: \316\243\012version:2\012",
		28, 0,
		NULL,
		NULL },
	{
		"\011 \011\012Metadata-Version: 2.1\012\012From x\015\012\015"
		"\012",
		37, 0,
		NULL,
		NULL },
	{ "From: y\012Body text\012version:2\012\015\012", 30, 0, NULL, NULL },
	{
		":nohdr\012\011 \011\012Name: a\342\200\250b\012nAmE:\011baz  "
		"\012 continuation\012From x\012:nohdr\012",
		63, 0,
		"a\342\200\250b",
		NULL },
	{
		"From: y\012NAME :x\015\011 \011\012 \011c\015\012",
		25, 0,
		NULL,
		NULL },
	{
		"Version: 1.0\012From: y\012From: y\015version:2\012From x\015",
		46, 0,
		NULL,
		"1.0" },
	{
		"Name: a\302\205b\015\012 continuation\015\012\012\012X-Y: z"
		"\012        indented\012 continuation\012",
		67, 0,
		"       a\302\205b\012continuation",
		NULL },
	{
		"Name: a\342\200\250b\012X-Y: z\015\012  a\012From: y\012X-Y: "
		"z\015\012Name: foo\012Version:\015",
		59, 0,
		"a\342\200\250b",
		"" },
	{ "Name: foo\015\011 \011\012", 14, 0, "foo\012", NULL },
	{
		" \011c\015\012 continuation\012  a\015\012:nohdr\015Version:"
		"\015",
		40, 0,
		NULL,
		"" },
	{
		"Name: a\342\200\250b\015\011\011b\012 continuation\012nAmE:"
		"\011baz  \012NAME :x\015name:bar\012From: y\012",
		67, 0,
		"        a\342\200\250b\012\011\011b\012 continuation",
		NULL },
	{
		"Body text\015Metadata-Version: 2.1\012 continuation\012",
		46, 0,
		NULL,
		NULL },
	{
		" \011c\015\012From x\012  \015\012\012Version: 1.0\015\012   "
		"     indented\015\012From: y\015",
		57, 0,
		NULL,
		NULL },
	{
		"version:2\012  \012  \015\012Metadata-Version: 2.1\015\012ver"
		"sion:2\015\012Metadata-Version: 2.1\015\012",
		74, 0,
		NULL,
		"2\012\012" },
	{
		"version:2\012Body text\012:nohdr\015Name: foo\012\015\012NAME"
		" :x\012",
		47, 0,
		NULL,
		"2" },
	{
		"  a\012Metadata-Version: 2.1\015  \012Metadata-Version: 2.1"
		"\012From: y\012version:2\012",
		69, 0,
		NULL,
		"2" },
	{
		"name:bar\015\012name:bar\012\015\011cont\015\011\011b\012",
		30, 0,
		"bar",
		NULL },
	{ "Name: \316\243\015\012name:bar\015\012", 20, 0, "\316\243", NULL },
	{ " \011c\012nAmE:\011baz  \015\012", 17, 0, "baz  ", NULL },
	{ "  \012X-Y: z\012", 10, 0, NULL, NULL },
	{ "Body text\012", 10, 0, NULL, NULL },
	{
		"Body text\012        indented\012Name: a\342\200\250b\015NAME"
		" :x\012  a\012Name: \316\243\012Version: 1.0\015",
		73, 0,
		NULL,
		NULL },
	{ "name:bar\015", 9, 0, "bar", NULL },
	{
		"From x\012\012Name: a\302\205b\015\011\011b\015version:2\012"
		"\011\011b\012",
		37, 0,
		NULL,
		NULL },
	{ " \011c\015\012 continuation\012version:2\012", 29, 0, NULL, "2" },
	{ "Name:\015  a\012", 10, 0, "\012a", NULL },
	{ "From x\012 \011c\012", 11, 0, NULL, NULL },
	{
		":nohdr\015NAME :x\012Name: \316\243\012\011\011b\015\012\012",
		30, 0,
		NULL,
		NULL },
	{
		"Metadata-Version: 2.1\012Metadata-Version: 2.1\015\012Name: f"
		"oo\012",
		55, 0,
		"foo",
		NULL },
	{ "Version: 1.0\012\011 \011\015", 17, 0, NULL, "1.0\012" },
	{ "\011 \011\012Name:\015\012 \011c\012", 15, 0, "\012c", NULL },
	{ "\012", 1, 0, NULL, NULL },
	{
		"X-Y: z\012\012 \011c\012From x\012Name: a\302\205b\012",
		30, 0,
		NULL,
		NULL },
	{
		"Version: 1.0\012\011\011b\012  a\015\012From: y\015        in"
		"dented\012",
		47, 0,
		NULL,
		"        1.0\012\011\011b\012  a" },
	{ "Version:\015\012name:bar\012", 19, 0, "bar", "" },
	{
		"Name: a\342\200\250b\012version:2\015",
		22, 0,
		"a\342\200\250b",
		"2" },
	{ "From: y\012", 8, 0, NULL, NULL },
	{
		"Name: foo\012Version: 1.0\012Name: a\342\200\250b\012name:bar"
		"\012version:2\015",
		54, 0,
		"foo",
		"1.0" },
	{
		"From: y\012Name: foo\012Version:\015\012:nohdr\012version:2"
		"\015\011cont\012From: y\012",
		59, 0,
		"foo",
		"" },
	{
		"Name: a\302\205b\012\015version:2\012  a\015",
		26, 0,
		"a\302\205b",
		NULL },
	{
		" continuation\012From: y\015 continuation\012Version: 1.0\015"
		"\012",
		50, 0,
		NULL,
		"1.0" },
	{
		"\011cont\012Name: \316\243\012version:2\015X-Y: z\015Body tex"
		"t\012\011cont\012",
		48, 0,
		"\316\243",
		"2" },
	{
		"\011cont\015\012From x\015Body text\012\011cont\012\015",
		31, 0,
		NULL,
		NULL },
	{ "Name:\012nAmE:\011baz  \012name:bar\015\012", 28, 0, "", NULL },
	{ "\012", 1, 0, NULL, NULL },
	{ "X-Y: z\012", 7, 0, NULL, NULL },
};
/* clang-format on */

static void
check_field(size_t i, const char *what, const char *got, const char *want)
{
	if (!want) {
		ck_assert_msg(!got, "case %zu: %s \"%s\", want none", i, what,
			      got);
		return;
	}
	ck_assert_msg(got, "case %zu: no %s, want \"%s\"", i, what, want);
	ck_assert_msg(strcmp(got, want) == 0,
		      "case %zu: %s \"%s\", want \"%s\"", i, what, got, want);
}

START_TEST(test_metadata_table)
{
	for (size_t i = 0; i < ARRAY_LENGTH(md_cases); i++) {
		const struct md_case *c = &md_cases[i];
		char *name = (char *)"junk", *version = (char *)"junk";
		int rc = ep_metadata_parse(c->in, c->len, &name, &version);

		ck_assert_msg(rc == c->rc, "case %zu: rc %d, want %d", i, rc,
			      c->rc);
		check_field(i, "Name", name, c->name);
		check_field(i, "Version", version, c->version);
		free(name);
		free(version);
	}
}
END_TEST

START_TEST(test_metadata_length)
{
	/* the length ends the input: a NUL-free prefix of a longer text */
	static const char text[] = "Name: foo\nVersion: 1.0\n";
	char *name, *version;

	ck_assert_int_eq(ep_metadata_parse(text, 12, &name, &version), 0);
	ck_assert_str_eq(name, "foo");
	ck_assert_ptr_null(version);
	free(name);

	ck_assert_int_eq(ep_metadata_parse(text, 0, &name, &version), 0);
	ck_assert_ptr_null(name);
	ck_assert_ptr_null(version);
}
END_TEST

START_TEST(test_metadata_invalid)
{
	/* decoding fails wherever the bad byte is, and nothing is returned */
	static const char *const bad[] = {
		"\377Name: foo\n",
		"Name: foo\377\n",
		"Name: foo\nVersion: 1\n\nbody \300\200\n",
		"Name: foo\nVersion: 1\n\nbody ends in \342\202",
	};

	for (size_t i = 0; i < ARRAY_LENGTH(bad); i++) {
		char *name = (char *)"junk", *version = (char *)"junk";

		ck_assert_int_eq(ep_metadata_parse(bad[i], strlen(bad[i]),
						   &name, &version),
				 -EILSEQ);
		ck_assert_ptr_null(name);
		ck_assert_ptr_null(version);
	}
}
END_TEST

START_TEST(test_metadata_large)
{
	/* headers after a long description header, and a huge body */
	struct ep_buf text = {0};
	char *name, *version;

	ck_assert_int_eq(ep_buf_append_str(&text, "Metadata-Version: 2.1\n"
						  "Description: "),
			 0);
	for (int i = 0; i < 10000; i++)
		ep_buf_append_str(&text, "long line of text\n        ");
	ep_buf_append_str(&text, "end\nVersion: 2.0\nName: late\n\n");
	for (int i = 0; i < 10000; i++)
		ep_buf_append_str(&text, "Name: body\n");
	ck_assert_int_eq(
		ep_metadata_parse(text.data, text.len, &name, &version), 0);
	ck_assert_str_eq(name, "late");
	ck_assert_str_eq(version, "2.0");
	free(name);
	free(version);
	ep_buf_release(&text);
}
END_TEST

static Suite *
metadata_suite(void)
{
	Suite *s = suite_create("metadata");
	TCase *tc = tcase_create("headers");

	tcase_add_test(tc, test_metadata_table);
	tcase_add_test(tc, test_metadata_length);
	tcase_add_test(tc, test_metadata_invalid);
	tcase_add_test(tc, test_metadata_large);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metadata_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
