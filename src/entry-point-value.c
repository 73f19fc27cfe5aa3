/* SPDX-License-Identifier: MIT */
/*
 * EntryPoint.pattern, matched by hand:
 *
 *   (?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$
 *
 * with re.match() on a str: \w is str.isalnum() or '_', \s is
 * str.isspace(), '.' is anything but '\n' and '$' is the end or a final
 * '\n'. Bytes that are not UTF-8 match neither \w nor \s.
 *
 * Backtracking cannot shorten [\w.]+ or \s* into a different match: the
 * character given back would have to be matched by what follows, and
 * nothing that follows accepts a word character, and a space only where
 * \s* would have taken it anyway. The one real choice is the ']' closing
 * the extras: greedy .* takes the last one after which only whitespace
 * remains, so it is the character before the trailing whitespace.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"

enum cls {
	CLS_OTHER,
	CLS_WORD,
	CLS_SPACE,
};

/* The class of the character at s[i], its length in *n (1 for a bad byte) */
static enum cls
char_class(const char *s, size_t len, size_t i, size_t *n)
{
	unsigned char c = (unsigned char)s[i];
	uint32_t cp;

	if (c < 0x80) {
		*n = 1;
		cp = c;
	} else {
		*n = ep_utf8_decode(s + i, len - i, &cp);
		if (*n == 0) {
			*n = 1;
			return CLS_OTHER;
		}
	}
	if (ep_uni_isword(cp))
		return CLS_WORD;
	if (ep_uni_isspace(cp))
		return CLS_SPACE;
	return CLS_OTHER;
}

/* [\w.]* */
static size_t
skip_dotted(const char *s, size_t len, size_t i)
{
	while (i < len) {
		size_t n;

		if (s[i] != '.' && char_class(s, len, i, &n) != CLS_WORD)
			break;
		i += s[i] == '.' ? 1 : n;
	}
	return i;
}

/* \s* */
static size_t
skip_space(const char *s, size_t len, size_t i)
{
	while (i < len) {
		size_t n;

		if (char_class(s, len, i, &n) != CLS_SPACE)
			break;
		i += n;
	}
	return i;
}

static int
add_extra(struct ep_value *v, const char *p, size_t n)
{
	char **extras;
	char *e;

	extras = realloc(v->extras, (v->n_extras + 1) * sizeof(*extras));
	if (!extras)
		return -ENOMEM;
	v->extras = extras;
	e = ep_strndup(p, n);
	if (!e)
		return -ENOMEM;
	v->extras[v->n_extras++] = e;
	return 0;
}

/* re.findall(r'\w+', s[start:end]) */
static int
find_words(struct ep_value *v, const char *s, size_t start, size_t end)
{
	size_t i = start;

	while (i < end) {
		size_t n, w = i;

		while (w < end && char_class(s, end, w, &n) == CLS_WORD)
			w += n;
		if (w > i) {
			int rc = add_extra(v, s + i, w - i);

			if (rc < 0)
				return rc;
			i = w;
			continue;
		}
		char_class(s, end, i, &n);
		i += n;
	}
	return 0;
}

int
ep_value_parse(const char *value, struct ep_value *out)
{
	size_t len = strlen(value);
	size_t mod_end, attr_start = 0, attr_end = 0, i, tail;
	const char *nl;
	bool has_attr = false;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));

	mod_end = skip_dotted(value, len, 0);
	if (mod_end == 0)
		goto out;
	i = skip_space(value, len, mod_end);
	if (i < len && value[i] == ':') {
		attr_start = skip_space(value, len, i + 1);
		attr_end = skip_dotted(value, len, attr_start);
		if (attr_end == attr_start)
			goto out;
		has_attr = true;
		i = skip_space(value, len, attr_end);
	}

	out->module = ep_strndup(value, mod_end);
	if (!out->module ||
	    (has_attr && !(out->attr = ep_strndup(value + attr_start,
						  attr_end - attr_start)))) {
		rc = -ENOMEM;
		goto out;
	}
	if (i == len) {
		rc = 0;
		goto out;
	}
	if (value[i] != '[')
		goto out;

	/* where the trailing whitespace begins */
	tail = i;
	for (size_t j = i; j < len;) {
		size_t n;

		if (char_class(value, len, j, &n) != CLS_SPACE)
			tail = j + n;
		j += n;
	}
	/* the ']' must be that of a '[.*]' after the '[': .* stops at '\n' */
	if (tail - 1 <= i || value[tail - 1] != ']')
		goto out;
	nl = memchr(value + i, '\n', tail - i);
	if (nl)
		goto out;
	rc = find_words(out, value, i, tail);
out:
	if (rc < 0)
		ep_value_release(out);
	return rc;
}

void
ep_value_release(struct ep_value *v)
{
	if (!v)
		return;
	free(v->module);
	free(v->attr);
	for (size_t i = 0; i < v->n_extras; i++)
		free(v->extras[i]);
	free(v->extras);
	memset(v, 0, sizeof(*v));
}

/* The public face of the grammar, for values that did not come from a
 * lookup (a Python caller's own EntryPoint(name, value, group)). */
struct epcache_value {
	struct ep_value v;
};

EP_EXPORT int
epcache_value_parse(const char *value, struct epcache_value **value_out)
{
	struct epcache_value *ev;
	int rc;

	if (!value || !value_out)
		return -EINVAL;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	rc = ep_value_parse(value, &ev->v);
	if (rc < 0) {
		free(ev);
		return rc;
	}
	*value_out = ev;
	return 0;
}

EP_EXPORT void
epcache_value_free(struct epcache_value *ev)
{
	if (!ev)
		return;
	ep_value_release(&ev->v);
	free(ev);
}

EP_EXPORT const char *
epcache_value_get_module(const struct epcache_value *ev)
{
	return ev->v.module;
}

EP_EXPORT const char *
epcache_value_get_attr(const struct epcache_value *ev)
{
	return ev->v.attr;
}

EP_EXPORT size_t
epcache_value_get_extras_count(const struct epcache_value *ev)
{
	return ev->v.n_extras;
}

EP_EXPORT const char *
epcache_value_get_extra(const struct epcache_value *ev, size_t idx)
{
	return idx < ev->v.n_extras ? ev->v.extras[idx] : NULL;
}
