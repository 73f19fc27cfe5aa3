/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 and the few Unicode properties importlib.metadata's behaviour
 * depends on. The properties come from unicode-data.c, generated from the
 * reference Python, so that "whitespace", "word character" and "lower case"
 * mean exactly what they mean to importlib.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"
#include "util-unicode.h"

#define CAPITAL_SIGMA 0x3A3
#define SMALL_SIGMA 0x3C3
#define SMALL_FINAL_SIGMA 0x3C2

size_t
ep_utf8_decode(const char *str, size_t len, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c, min;
	size_t n;

	if (len == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		/* continuation bytes, C0/C1 (always overlong), F5..FF */
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

bool
ep_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n;

		/* Names, metadata and entry point files are nearly all
		 * ASCII: 32, then eight bytes at a time while no high bit is
		 * set. */
		while (len - i >= 32) {
			uint64_t w[4];

			memcpy(w, s + i, 32);
			if (EP_HAS_HIGH(w[0] | w[1] | w[2] | w[3]))
				break;
			i += 32;
		}
		while (len - i >= 8) {
			uint64_t x;

			memcpy(&x, s + i, 8);
			if (EP_HAS_HIGH(x))
				break;
			i += 8;
		}
		if (i == len)
			break;
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		n = ep_utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static inline unsigned int
uni_flags(uint32_t cp)
{
	return ep_uni_record(cp)->flags;
}

bool
ep_uni_isspace(uint32_t cp)
{
	return uni_flags(cp) & EP_UNI_SPACE;
}

bool
ep_uni_isword(uint32_t cp)
{
	return cp == '_' || (uni_flags(cp) & EP_UNI_ALNUM);
}

bool
ep_uni_islinebreak(uint32_t cp)
{
	return uni_flags(cp) & EP_UNI_LINEBREAK;
}

/* An output buffer that only grows when str.lower() lengthens the UTF-8
 * (at most by half, see gen-unicode-data.py), so normally never. */
struct out {
	char *data;
	size_t len;
	size_t cap;
};

static int
out_reserve(struct out *o, size_t extra)
{
	size_t cap;
	char *p;

	if (o->len + extra + 1 <= o->cap)
		return 0;
	cap = o->cap * 2 + extra + 1;
	p = realloc(o->data, cap);
	if (!p)
		return -ENOMEM;
	o->data = p;
	o->cap = cap;
	return 0;
}

static int
out_put(struct out *o, const char *s, size_t n)
{
	if (out_reserve(o, n) < 0)
		return -ENOMEM;
	memcpy(o->data + o->len, s, n);
	o->len += n;
	return 0;
}

static size_t
utf8_encode(uint32_t cp, char buf[4])
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xC0 | (cp >> 6));
		buf[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xE0 | (cp >> 12));
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		buf[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	buf[0] = (char)(0xF0 | (cp >> 18));
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	buf[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * CPython lowers U+03A3 to a final sigma when a cased character precedes it
 * and none follows, case-ignorable characters being skipped both ways
 * (unicodeobject.c handle_capital_sigma). Bytes that are not UTF-8 stand
 * for lone surrogates under surrogateescape: neither cased nor ignorable.
 */
static bool
sigma_is_final(const char *s, size_t len, size_t after, bool cased_before)
{
	size_t i = after;

	if (!cased_before)
		return false;
	while (i < len) {
		uint32_t cp;
		size_t n = ep_utf8_decode(s + i, len - i, &cp);
		unsigned int f;

		if (n == 0)
			return true;
		f = uni_flags(cp);
		if (!(f & EP_UNI_CASE_IGNORABLE))
			return !(f & EP_UNI_CASED);
		i += n;
	}
	return true;
}

static char *
str_lower(const char *s, size_t len, size_t *len_out)
{
	struct out o = {0};
	/* whether the last character that is not case-ignorable is cased */
	bool cased_before = false;
	size_t i = 0;

	if (out_reserve(&o, len) < 0)
		return NULL;
	/* ASCII alone (nearly every name): no context, a byte at a time;
	 * the context only matters for a capital sigma */
	while (i < len && (unsigned char)s[i] < 0x80)
		i++;
	if (i == len) {
		for (i = 0; i < len; i++) {
			char c = s[i];

			o.data[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		o.data[len] = '\0';
		if (len_out)
			*len_out = len;
		return o.data;
	}
	i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		const struct ep_uni_record *rec;
		char enc[4];
		uint32_t cp;
		size_t n;
		int rc;

		if (c < 0x80) {
			if (out_reserve(&o, 1) < 0)
				goto fail;
			o.data[o.len++] =
				(char)((c >= 'A' && c <= 'Z') ? c + ('a' - 'A')
							      : c);
			rec = ep_uni_record(c);
			if (!(rec->flags & EP_UNI_CASE_IGNORABLE))
				cased_before = rec->flags & EP_UNI_CASED;
			i++;
			continue;
		}
		n = ep_utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			if (out_put(&o, s + i, 1) < 0)
				goto fail;
			cased_before = false;
			i++;
			continue;
		}
		rec = ep_uni_record(cp);
		if (cp == CAPITAL_SIGMA) {
			uint32_t low =
				sigma_is_final(s, len, i + n, cased_before)
					? SMALL_FINAL_SIGMA
					: SMALL_SIGMA;
			rc = out_put(&o, enc, utf8_encode(low, enc));
		} else if (rec->flags & EP_UNI_LOWER_SPECIAL) {
			const char *m = ep_uni_lower_special(cp);

			rc = m ? out_put(&o, m, strlen(m))
			       : out_put(&o, s + i, n);
		} else {
			uint32_t low =
				(uint32_t)((int32_t)cp + rec->lower_delta);

			rc = out_put(&o, enc, utf8_encode(low, enc));
		}
		if (rc < 0)
			goto fail;
		if (!(rec->flags & EP_UNI_CASE_IGNORABLE))
			cased_before = rec->flags & EP_UNI_CASED;
		i += n;
	}
	o.data[o.len] = '\0';
	if (len_out)
		*len_out = o.len;
	return o.data;
fail:
	free(o.data);
	return NULL;
}

char *
ep_str_lower(const char *s, size_t len)
{
	return str_lower(s, len, NULL);
}

static void
dashes_to_underscores(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-')
			s[i] = '_';
	}
}

char *
ep_name_normalize(const char *s, size_t len)
{
	char *collapsed, *res;
	size_t n = 0, reslen;
	bool in_run = false;

	/* The runs are collapsed before lowering: '.' is case-ignorable and
	 * '-' is not, which can change how a capital sigma lowers. */
	collapsed = malloc(len + 1);
	if (!collapsed)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-' || c == '_' || c == '.') {
			if (!in_run)
				collapsed[n++] = '-';
			in_run = true;
			continue;
		}
		in_run = false;
		collapsed[n++] = c;
	}
	res = str_lower(collapsed, n, &reslen);
	free(collapsed);
	if (res)
		dashes_to_underscores(res, reslen);
	return res;
}

char *
ep_name_legacy_normalize(const char *s, size_t len)
{
	size_t reslen;
	char *res = str_lower(s, len, &reslen);

	if (res)
		dashes_to_underscores(res, reslen);
	return res;
}
