/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 decoding and the Unicode properties and case mapping that must
 * agree with Debian's /usr/bin/python3 (3.11.2, Unicode 14.0.0).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"
#include "util-unicode.h"

#define ARRAY_LENGTH(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t
fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define PROPS_HASH 0xa6dbd5eb6eb40de4ULL
#define LOWER_HASH 0x6b763109dc190e82ULL
#define LOWER_LEN 5494636U

/* ------------------------------------------------------------- utf-8 */

struct decode_case {
	const char *s;
	size_t len;
	size_t consumed; /* 0: invalid */
	uint32_t cp;
};

/* clang-format off */
static const struct decode_case decode_cases[] = {
	{ "A", 1, 1, 0x41 },
	{ "\177", 1, 1, 0x7f },
	{ "", 1, 1, 0 }, /* the NUL byte itself */
	{ "\302\200", 2, 2, 0x80 },
	{ "\303\251", 2, 2, 0xe9 },
	{ "\337\277", 2, 2, 0x7ff },
	{ "\340\240\200", 3, 3, 0x800 },
	{ "\355\237\277", 3, 3, 0xd7ff },
	{ "\356\200\200", 3, 3, 0xe000 },
	{ "\357\273\277", 3, 3, 0xfeff },
	{ "\357\277\277", 3, 3, 0xffff },
	{ "\360\220\200\200", 4, 4, 0x10000 },
	{ "\364\217\277\277", 4, 4, 0x10ffff },
	{ "\303\251xyz", 5, 2, 0xe9 },
	/* continuation bytes cannot start a character */
	{ "\200", 1, 0, 0 },
	{ "\277", 1, 0, 0 },
	/* overlong forms */
	{ "\300\200", 2, 0, 0 },
	{ "\301\277", 2, 0, 0 },
	{ "\340\200\200", 3, 0, 0 },
	{ "\340\237\277", 3, 0, 0 },
	{ "\360\200\200\200", 4, 0, 0 },
	{ "\360\217\277\277", 4, 0, 0 },
	/* surrogates */
	{ "\355\240\200", 3, 0, 0 },
	{ "\355\277\277", 3, 0, 0 },
	/* beyond U+10FFFF */
	{ "\364\220\200\200", 4, 0, 0 },
	{ "\365\200\200\200", 4, 0, 0 },
	{ "\370\210\200\200\200", 5, 0, 0 },
	{ "\376", 1, 0, 0 },
	{ "\377", 1, 0, 0 },
	/* truncated, by the data or by the length */
	{ "\303", 1, 0, 0 },
	{ "\342\202", 2, 0, 0 },
	{ "\360\237\230", 3, 0, 0 },
	{ "\303\251", 1, 0, 0 },
	{ "\342\202\254", 2, 0, 0 },
	{ "\360\237\230\200", 3, 0, 0 },
	{ "A", 0, 0, 0 },
	/* a continuation that is not one */
	{ "\303(", 2, 0, 0 },
	{ "\342(\241", 3, 0, 0 },
	{ "\342\202(", 3, 0, 0 },
	{ "\360\237\230(", 4, 0, 0 },
	{ "\303\303\251", 3, 0, 0 },
};
/* clang-format on */

START_TEST(test_utf8_decode)
{
	for (size_t i = 0; i < ARRAY_LENGTH(decode_cases); i++) {
		const struct decode_case *c = &decode_cases[i];
		uint32_t cp = 0xdeadbeef;
		size_t n = ep_utf8_decode(c->s, c->len, &cp);

		ck_assert_msg(n == c->consumed,
			      "case %zu: consumed %zu not %zu", i, n,
			      c->consumed);
		if (c->consumed)
			ck_assert_msg(cp == c->cp,
				      "case %zu: U+%04X not U+%04X", i, cp,
				      c->cp);
	}
}
END_TEST

/* ck_assert() in a loop over all of Unicode is slow (it marks a point each
 * time), so the loops note the first failure and assert once. */
#define NO_FAILURE 0xffffffffu

START_TEST(test_utf8_decode_all)
{
	uint32_t bad = NO_FAILURE;

	/* every scalar value round-trips, every surrogate is refused */
	for (uint32_t c = 0x80; c < 0x110000 && bad == NO_FAILURE; c++) {
		char b[4];
		size_t n;
		uint32_t cp = 0;

		if (c < 0x800) {
			b[0] = (char)(0xc0 | (c >> 6));
			b[1] = (char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			b[0] = (char)(0xe0 | (c >> 12));
			b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			b[0] = (char)(0xf0 | (c >> 18));
			b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[3] = (char)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (c >= 0xd800 && c <= 0xdfff) {
			if (ep_utf8_decode(b, n, &cp) != 0)
				bad = c;
		} else if (ep_utf8_decode(b, n, &cp) != n || cp != c ||
			   /* one byte short is never enough */
			   ep_utf8_decode(b, n - 1, &cp) != 0) {
			bad = c;
		}
	}
	ck_assert_msg(bad == NO_FAILURE, "U+%04X", bad);
}
END_TEST

START_TEST(test_utf8_valid)
{
	ck_assert(ep_utf8_valid("", 0));
	ck_assert(ep_utf8_valid("plain ascii\n", 12));
	ck_assert(
		ep_utf8_valid("caf\303\251 \342\202\254 \360\237\230\200", 14));
	ck_assert(ep_utf8_valid("a\0b", 3));
	/* a BOM is an ordinary character */
	ck_assert(ep_utf8_valid("\357\273\277x", 4));
	ck_assert(!ep_utf8_valid("caf\351", 4));
	ck_assert(!ep_utf8_valid("abc\303", 4));
	ck_assert(!ep_utf8_valid("\355\240\200", 3));
	ck_assert(!ep_utf8_valid("\300\257", 2));
	ck_assert(!ep_utf8_valid("ok\377ok", 5));
	/* the length, not a NUL, ends the string */
	ck_assert(ep_utf8_valid("ok\377", 2));
}
END_TEST

START_TEST(test_utf8_valid_offsets)
{
	/* ASCII is skipped 32 and 8 bytes at a time: a bad byte, a good
	 * sequence and a sequence cut by the end at every offset of those */
	char buf[80];

	for (size_t len = 1; len <= sizeof(buf); len++) {
		for (size_t k = 0; k < len; k++) {
			memset(buf, 'a', sizeof(buf));
			buf[k] = '\377';
			ck_assert_msg(!ep_utf8_valid(buf, len),
				      "0xff at %zu of %zu", k, len);
			ck_assert_msg(ep_utf8_valid(buf, k),
				      "cut before 0xff at %zu", k);
			if (k + 2 <= len) {
				memcpy(buf + k, "\303\251", 2);
				ck_assert_msg(ep_utf8_valid(buf, len),
					      "U+00E9 at %zu of %zu", k, len);
				ck_assert_msg(!ep_utf8_valid(buf, k + 1),
					      "U+00E9 cut at %zu", k);
			}
		}
	}
}
END_TEST

/* ------------------------------------------------------- properties */

/*
 * Whitespace, str.splitlines() boundaries and a few \w answers, spelled
 * out; the hash test below covers every other code point.
 */
static const uint32_t python_whitespace[] = {
	0x09,   0x0a,   0x0b,   0x0c,   0x0d,   0x1c,   0x1d,   0x1e,
	0x1f,   0x20,   0x85,   0xa0,   0x1680, 0x2000, 0x2001, 0x2002,
	0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
	0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
};

static const uint32_t python_linebreaks[] = {
	0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029,
};

START_TEST(test_isspace)
{
	uint32_t bad = NO_FAILURE;
	size_t k = 0;

	/* exactly the listed ones, in all of Unicode */
	for (uint32_t c = 0; c < 0x110000; c++) {
		bool want = k < ARRAY_LENGTH(python_whitespace) &&
			    python_whitespace[k] == c;

		if (ep_uni_isspace(c) != want && bad == NO_FAILURE)
			bad = c;
		if (want)
			k++;
	}
	ck_assert_msg(bad == NO_FAILURE, "U+%04X", bad);
	ck_assert_uint_eq(k, ARRAY_LENGTH(python_whitespace));
	/* not whitespace to Python, whatever other tables say */
	ck_assert(!ep_uni_isspace(0x180e));
	ck_assert(!ep_uni_isspace(0x200b));
	ck_assert(!ep_uni_isspace(0xfeff));
	ck_assert(!ep_uni_isspace(0x110000));
}
END_TEST

START_TEST(test_islinebreak)
{
	uint32_t bad = NO_FAILURE;
	size_t k = 0;

	for (uint32_t c = 0; c < 0x110000; c++) {
		bool want = k < ARRAY_LENGTH(python_linebreaks) &&
			    python_linebreaks[k] == c;

		if (ep_uni_islinebreak(c) != want && bad == NO_FAILURE)
			bad = c;
		if (want)
			k++;
	}
	ck_assert_msg(bad == NO_FAILURE, "U+%04X", bad);
	ck_assert_uint_eq(k, ARRAY_LENGTH(python_linebreaks));
	ck_assert(!ep_uni_islinebreak(0x1f));
}
END_TEST

START_TEST(test_isword)
{
	/* computed with /usr/bin/python3: c.isalnum() or c == '_' */
	static const uint32_t word[] = {
		'0',    '9',    'A',     'Z',     '_',     'a',
		'z',    0xaa,   0xb2,    0xb5,    0xba,    0xbc,
		0xc0,   0x391,  0x661,   0x2160,  0x2460,  0x3007,
		0x4e00, 0xff10, 0x1d7ce, 0x1e900, 0x20000,
	};
	static const uint32_t not_word[] = {
		0,     ' ',    '-',    '.',    ':',    '[',    ']',      '=',
		'#',   0x7f,   0xa0,   0xad,   0xb7,   0x2c2,  0x300,    0x301,
		0x345, 0x200b, 0x200d, 0x2028, 0xfeff, 0xd800, 0x110000,
	};

	for (size_t i = 0; i < ARRAY_LENGTH(word); i++)
		ck_assert_msg(ep_uni_isword(word[i]), "U+%04X", word[i]);
	for (size_t i = 0; i < ARRAY_LENGTH(not_word); i++)
		ck_assert_msg(!ep_uni_isword(not_word[i]), "U+%04X",
			      not_word[i]);
}
END_TEST

START_TEST(test_properties_all)
{
	/*
	 * One byte per code point 0..0x10FFFF, isspace | isword << 1 |
	 * islinebreak << 2, hashed with 64-bit FNV-1a. The reference is
	 *
	 *   /usr/bin/python3 -c 'import functools; h = 0xcbf29ce484222325
	 *   for c in map(chr, range(0x110000)):
	 *       b = c.isspace() | (c.isalnum() or c == "_") << 1 |
	 *           (len(("a" + c + "b").splitlines()) == 2) << 2
	 *       h = ((h ^ b) * 0x100000001b3) % 2**64
	 *   print(hex(h))'
	 */
	uint64_t h = FNV_OFFSET;

	for (uint32_t c = 0; c < 0x110000; c++) {
		unsigned char b = (unsigned char)(ep_uni_isspace(c) |
						  ep_uni_isword(c) << 1 |
						  ep_uni_islinebreak(c) << 2);

		h = fnv1a(h, &b, 1);
	}
	ck_assert_msg(h == PROPS_HASH, "hash %016llx", (unsigned long long)h);
}
END_TEST

START_TEST(test_data_version)
{
	ck_assert_str_eq(ep_uni_data_version(), "14.0.0");
}
END_TEST

/* ------------------------------------------------------------ lower */

struct str_case {
	const char *in;
	size_t len;
	const char *out;
};

/*
 * Expected outputs computed with /usr/bin/python3 (3.11.2):
 *   lower:     b.decode('utf-8', 'surrogateescape').lower()
 *   normalize: re.sub(r"[-_.]+", "-", s).lower().replace('-', '_')
 *   legacy:    s.lower().replace('-', '_')
 * each encoded back with surrogateescape, so bytes that are not UTF-8
 * come back unchanged. They cover the final sigma rule (a cased letter
 * before, none after, case-ignorable characters skipped both ways), the
 * one-to-many U+0130 and mappings that change the UTF-8 length.
 */
/* clang-format off */
static const struct str_case lower_cases[] = {
	{ "", 0, "" },
	{ "ABC", 3, "abc" },
	{ "abc", 3, "abc" },
	{ "MiXeD-Case_1.0", 14, "mixed-case_1.0" },
	{ "\304\260stanbul", 9, "i\314\207stanbul" },
	{ "\341\272\236", 3, "\303\237" },
	{ "K", 1, "k" },
	{ "\310\272", 2, "\342\261\245" },
	{ "\307\205", 2, "\307\206" },
	{ "\316\251", 2, "\317\211" },
	{ "\316\243", 2, "\317\203" },
	{ "A\316\243", 3, "a\317\202" },
	{ "\316\221\316\243", 4, "\316\261\317\202" },
	{
		"\316\237\316\224\316\245\316\243\316\243\316\225\316\245\316"
		"\243",
		16,
		"\316\277\316\264\317\205\317\203\317\203\316\265\317\205"
		"\317\202" },
	{ "A\316\243B", 4, "a\317\203b" },
	{ "A\316\243.", 4, "a\317\202." },
	{ "A\316\243.B", 5, "a\317\203.b" },
	{ "A\316\243'", 4, "a\317\202'" },
	{ "A'\316\243", 4, "a'\317\202" },
	{ "A.\316\243", 4, "a.\317\202" },
	{ "A\316\243-B", 5, "a\317\202-b" },
	{ "A\316\243_B", 5, "a\317\202_b" },
	{ "1\316\243", 3, "1\317\203" },
	{ "A\316\243\314\201", 5, "a\317\202\314\201" },
	{ "A\314\201\316\243", 5, "a\314\201\317\202" },
	{ "A\316\243\314\201B", 6, "a\317\203\314\201b" },
	{ "\316\243\316\243", 4, "\317\203\317\202" },
	{ "A\316\2431", 4, "a\317\2021" },
	{ "A\302\255\316\243", 5, "a\302\255\317\202" },
	{ "\312\260\316\243", 4, "\312\260\317\203" },
	{ "A\312\260\316\243", 5, "a\312\260\317\202" },
	{ "A\316\243\312\260", 5, "a\317\202\312\260" },
	{ "\315\205\316\243", 4, "\315\205\317\203" },
	{ "A\315\205\316\243", 5, "a\315\205\317\202" },
	{ "\307\205\316\243", 4, "\307\206\317\202" },
	{ "\342\205\240\316\243", 5, "\342\205\260\317\202" },
	{ "A\316\243\342\205\240", 6, "a\317\203\342\205\260" },
	{ "\360\236\244\200\316\243", 6, "\360\236\244\242\317\202" },
	{ "A\316\243\360\236\244\242", 7, "a\317\203\360\236\244\242" },
	{ "A\377B", 3, "a\377b" },
	{ "\303", 1, "\303" },
	{ "\303\303\251", 3, "\303\303\251" },
	{ "\342\200", 2, "\342\200" },
	{ "\355\240\200X", 4, "\355\240\200x" },
	{ "\364\220\200\200Y", 5, "\364\220\200\200y" },
	{ "\300\200Z", 3, "\300\200z" },
	{ "A\200\316\243", 4, "a\200\317\203" },
	{ "A\316\243\377", 4, "a\317\202\377" },
	{ "A\316\243\377B", 5, "a\317\202\377b" },
	{ "A\377\316\243", 4, "a\377\317\203" },
	{
		"\303\200\303\211\303\216\303\225\303\234",
		10,
		"\303\240\303\251\303\256\303\265\303\274" },
	{ "\303\206\303\230\303\205", 6, "\303\246\303\270\303\245" },
	{ "\320\224\320\226\320\257", 6, "\320\264\320\266\321\217" },
	{ "\324\261\324\262", 4, "\325\241\325\242" },
	{ "\341\202\240\341\202\241", 6, "\342\264\200\342\264\201" },
	{ "\341\217\270", 3, "\341\217\270" },
	{ "\341\262\220\341\262\221", 6, "\341\203\220\341\203\221" },
	{ "\342\205\240\342\205\253", 6, "\342\205\260\342\205\273" },
	{ "\342\222\266\342\223\217", 6, "\342\223\220\342\223\251" },
	{ "\357\274\241\357\274\272", 6, "\357\275\201\357\275\232" },
	{
		"\360\220\220\200\360\220\220\247",
		8,
		"\360\220\220\250\360\220\221\217" },
	{ "\360\236\244\200", 4, "\360\236\244\242" },
	{ "\341\276\210", 3, "\341\276\200" },
	{ "\341\277\274", 3, "\341\277\263" },
	{ "\316\220", 2, "\316\220" },
};
/* clang-format on */

/* clang-format off */
static const struct str_case normalize_cases[] = {
	{ "", 0, "" },
	{ "foo", 3, "foo" },
	{ "Foo-Bar", 7, "foo_bar" },
	{ "foo_bar", 7, "foo_bar" },
	{ "foo.bar", 7, "foo_bar" },
	{ "foo--bar", 8, "foo_bar" },
	{ "foo-_.-bar", 10, "foo_bar" },
	{ "-foo-", 5, "_foo_" },
	{ "...", 3, "_" },
	{ "_", 1, "_" },
	{ "a.B_c-D", 7, "a_b_c_d" },
	{ "Zope.Interface", 14, "zope_interface" },
	{ "ruamel.yaml.clib", 16, "ruamel_yaml_clib" },
	{ "A\316\243.b", 5, "a\317\202_b" },
	{ "A\316\243-b", 5, "a\317\202_b" },
	{ "A\316\243.", 4, "a\317\202_" },
	{ "A\316\243_", 4, "a\317\202_" },
	{ "\304\260-x", 4, "i\314\207_x" },
	{ "a\377b.c", 5, "a\377b_c" },
	{ "\377-\376", 3, "\377_\376" },
	{ "A..B__C", 7, "a_b_c" },
	{ "\307\204_\307\205", 5, "\307\206_\307\206" },
	{ "setuptools_scm", 14, "setuptools_scm" },
	{ "PyYAML", 6, "pyyaml" },
};
/* clang-format on */

/* clang-format off */
static const struct str_case legacy_cases[] = {
	{ "", 0, "" },
	{ "foo", 3, "foo" },
	{ "Foo-Bar", 7, "foo_bar" },
	{ "foo_bar", 7, "foo_bar" },
	{ "foo.bar", 7, "foo.bar" },
	{ "foo--bar", 8, "foo__bar" },
	{ "foo-_.-bar", 10, "foo__._bar" },
	{ "-foo-", 5, "_foo_" },
	{ "...", 3, "..." },
	{ "_", 1, "_" },
	{ "a.B_c-D", 7, "a.b_c_d" },
	{ "Zope.Interface", 14, "zope.interface" },
	{ "ruamel.yaml.clib", 16, "ruamel.yaml.clib" },
	{ "A\316\243.b", 5, "a\317\203.b" },
	{ "A\316\243-b", 5, "a\317\202_b" },
	{ "A\316\243.", 4, "a\317\202." },
	{ "A\316\243_", 4, "a\317\202_" },
	{ "\304\260-x", 4, "i\314\207_x" },
	{ "a\377b.c", 5, "a\377b.c" },
	{ "\377-\376", 3, "\377_\376" },
	{ "A..B__C", 7, "a..b__c" },
	{ "\307\204_\307\205", 5, "\307\206_\307\206" },
	{ "setuptools_scm", 14, "setuptools_scm" },
	{ "PyYAML", 6, "pyyaml" },
	{ "A\316\243.b", 5, "a\317\203.b" },
	{ "A\316\243.", 4, "a\317\202." },
};
/* clang-format on */

static void
check_cases(const char *what, const struct str_case *cases, size_t n,
	    char *(*fn)(const char *, size_t))
{
	for (size_t i = 0; i < n; i++) {
		char *got = fn(cases[i].in, cases[i].len);

		ck_assert_ptr_nonnull(got);
		ck_assert_msg(strcmp(got, cases[i].out) == 0,
			      "%s case %zu: got \"%s\" want \"%s\"", what, i,
			      got, cases[i].out);
		free(got);
	}
}

START_TEST(test_lower_table)
{
	check_cases("lower", lower_cases, ARRAY_LENGTH(lower_cases),
		    ep_str_lower);
}
END_TEST

START_TEST(test_lower_all)
{
	/*
	 * Every scalar value, each followed by a 0xFF byte (not UTF-8, so
	 * neither cased nor case-ignorable: each character is lowered
	 * alone), lowered in one go and hashed. The reference is
	 *
	 *   b = b''.join(chr(c).lower().encode() + b'\xff'
	 *                for c in range(0x110000)
	 *                if not 0xd800 <= c <= 0xdfff)
	 *
	 * hashed with 64-bit FNV-1a by /usr/bin/python3.
	 */
	struct ep_buf in = {0};
	char *out;

	for (uint32_t c = 0; c < 0x110000; c++) {
		char b[5];
		size_t n;

		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		if (c < 0x80) {
			b[0] = (char)c;
			n = 1;
		} else if (c < 0x800) {
			b[0] = (char)(0xc0 | (c >> 6));
			b[1] = (char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			b[0] = (char)(0xe0 | (c >> 12));
			b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			b[0] = (char)(0xf0 | (c >> 18));
			b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[3] = (char)(0x80 | (c & 0x3f));
			n = 4;
		}
		b[n++] = '\377';
		if (ep_buf_append(&in, b, n) < 0)
			ck_abort_msg("out of memory");
	}
	out = ep_str_lower(in.data, in.len);
	ck_assert_ptr_nonnull(out);
	/* U+0000 lowers to itself, so measure from the end */
	ck_assert_uint_eq(strlen(out + 1) + 1, LOWER_LEN);
	ck_assert_msg(fnv1a(FNV_OFFSET, out, LOWER_LEN) == LOWER_HASH,
		      "hash %016llx",
		      (unsigned long long)fnv1a(FNV_OFFSET, out, LOWER_LEN));
	free(out);
	ep_buf_release(&in);
}
END_TEST

START_TEST(test_lower_length)
{
	/* the length, not a NUL, ends the input; an embedded NUL stays */
	char *s = ep_str_lower("AB\0CD", 5);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "ab");
	ck_assert_str_eq(s + 3, "cd");
	free(s);
	s = ep_str_lower("ABCD", 2);
	ck_assert_str_eq(s, "ab");
	free(s);
	/* U+0130 grows: 2 bytes become 3, many times over */
	s = ep_str_lower("\304\260\304\260\304\260\304\260\304\260", 10);
	ck_assert_str_eq(s, "i\314\207i\314\207i\314\207i\314\207i\314\207");
	free(s);
}
END_TEST

START_TEST(test_normalize_table)
{
	check_cases("normalize", normalize_cases, ARRAY_LENGTH(normalize_cases),
		    ep_name_normalize);
}
END_TEST

START_TEST(test_legacy_normalize_table)
{
	check_cases("legacy", legacy_cases, ARRAY_LENGTH(legacy_cases),
		    ep_name_legacy_normalize);
}
END_TEST

static Suite *
unicode_suite(void)
{
	Suite *s = suite_create("unicode");
	TCase *tc;

	tc = tcase_create("utf8");
	tcase_add_test(tc, test_utf8_decode);
	tcase_add_test(tc, test_utf8_decode_all);
	tcase_add_test(tc, test_utf8_valid);
	tcase_add_test(tc, test_utf8_valid_offsets);
	suite_add_tcase(s, tc);

	tc = tcase_create("properties");
	tcase_add_test(tc, test_isspace);
	tcase_add_test(tc, test_islinebreak);
	tcase_add_test(tc, test_isword);
	tcase_add_test(tc, test_properties_all);
	tcase_add_test(tc, test_data_version);
	suite_add_tcase(s, tc);

	tc = tcase_create("lower");
	tcase_add_test(tc, test_lower_table);
	tcase_add_test(tc, test_lower_all);
	tcase_add_test(tc, test_lower_length);
	tcase_add_test(tc, test_normalize_table);
	tcase_add_test(tc, test_legacy_normalize_table);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(unicode_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
