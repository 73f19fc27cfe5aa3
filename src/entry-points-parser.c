/* SPDX-License-Identifier: MIT */
/*
 * entry_points.txt as importlib.metadata reads it: Path.read_text() with
 * universal newlines, str.splitlines(), then Sectioned.read() and
 * Pair.parse(). Where importlib raises (and so loses every entry point of
 * every distribution) we drop the offending line and say so instead.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"
#include "util-unicode.h"

static int
entry_list_grow(struct ep_entry_list *l)
{
	size_t cap;
	struct ep_entry *v;

	if (l->n < l->cap)
		return 0;
	cap = l->cap ? l->cap * 2 : 16;
	if (cap > SIZE_MAX / sizeof(*v))
		return -ENOMEM;
	v = realloc(l->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

/*
 * Room for @n bytes of text. The strings of a list share chunks that never
 * move (a file's entries usually fit one): a site has tens of thousands of
 * entries, and an allocation each was a tenth of a full rebuild.
 */
static char *
entry_text(struct ep_entry_list *l, size_t n)
{
	struct ep_text_chunk *c = l->text;
	size_t cap;

	if (c && c->cap - c->used >= n) {
		c->used += n;
		return c->data + c->used - n;
	}
	cap = c ? c->cap * 2 : 512;
	if (cap < n)
		cap = n;
	if (cap > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->next = l->text;
	c->cap = cap;
	c->used = n;
	l->text = c;
	return c->data;
}

static int
entry_list_put(struct ep_entry_list *l, const char *group, size_t glen,
	       const char *name, size_t nlen, const char *value, size_t vlen)
{
	char *block;

	if (entry_list_grow(l) < 0 || glen > SIZE_MAX / 4 ||
	    nlen > SIZE_MAX / 4 || vlen > SIZE_MAX / 4)
		return -ENOMEM;
	block = entry_text(l, glen + nlen + vlen + 3);
	if (!block)
		return -ENOMEM;
	memcpy(block, group, glen);
	block[glen] = '\0';
	memcpy(block + glen + 1, name, nlen);
	block[glen + 1 + nlen] = '\0';
	memcpy(block + glen + nlen + 2, value, vlen);
	block[glen + nlen + 2 + vlen] = '\0';
	l->v[l->n].group = block;
	l->v[l->n].name = block + glen + 1;
	l->v[l->n].value = block + glen + nlen + 2;
	l->n++;
	return 0;
}

int
ep_entry_list_add(struct ep_entry_list *l, const char *group, const char *name,
		  const char *value)
{
	return entry_list_put(l, group, strlen(group), name, strlen(name),
			      value, strlen(value));
}

void
ep_entry_list_release(struct ep_entry_list *l)
{
	while (l->text) {
		struct ep_text_chunk *next = l->text->next;

		free(l->text);
		l->text = next;
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* A byte range of the input; never NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

static int
entry_list_add_spans(struct ep_entry_list *l, struct span group,
		     struct span name, struct span value)
{
	return entry_list_put(l, group.p, group.len, name.p, name.len, value.p,
			      value.len);
}

/* str.isspace() of an ASCII character */
static inline bool
ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* str.strip() of valid UTF-8: the bytes are known to decode. */
static struct span
span_strip(struct span s)
{
	uint32_t cp;
	size_t n;

	/* the usual case: ASCII spaces ("name = value"), then ASCII that is
	 * not space at both ends */
	while (s.len > 0 && ascii_space((unsigned char)s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && ascii_space((unsigned char)s.p[s.len - 1]))
		s.len--;
	if (s.len == 0 || ((unsigned char)s.p[0] < 0x80 &&
			   (unsigned char)s.p[s.len - 1] < 0x80))
		return s;
	while (s.len > 0) {
		n = ep_utf8_decode(s.p, s.len, &cp);
		if (n == 0 || !ep_uni_isspace(cp))
			break;
		s.p += n;
		s.len -= n;
	}
	while (s.len > 0) {
		size_t start = s.len - 1;

		/* back over continuation bytes to the start of the char */
		while (start > 0 && s.len - start < 4 &&
		       ((unsigned char)s.p[start] & 0xC0) == 0x80)
			start--;
		n = ep_utf8_decode(s.p + start, s.len - start, &cp);
		if (n != s.len - start || !ep_uni_isspace(cp))
			break;
		s.len = start;
	}
	return s;
}

/* One line in the str.splitlines() sense, stripped. */
struct line {
	struct span text; /* stripped */
	bool invalid;     /* not UTF-8: importlib fails to decode the file */
	bool has_nul;
};

/* Past the bytes from @i on that are ASCII and not below @lo, eight at a
 * time; the last few (fewer than eight, or a word with another byte) are
 * left to the caller. */
static inline size_t
ascii_words(const char *buf, size_t i, size_t len, unsigned lo)
{
	while (len - i >= 8) {
		uint64_t x;

		memcpy(&x, buf + i, 8);
		if (EP_HAS_LESS(x, lo) | EP_HAS_HIGH(x))
			break;
		i += 8;
	}
	return i;
}

/*
 * Find the line starting at @pos and return the offset of the next one.
 * Stripping is done on the way: a line is scanned once, and the invalid and
 * NUL checks ride along.
 */
static size_t
next_line(const char *buf, size_t len, size_t pos, struct line *line)
{
	size_t first = SIZE_MAX, last_end = pos;
	size_t i = pos, next = len;

	line->invalid = false;
	line->has_nul = false;

	/* The usual line: printable ASCII up to "\n", "\r" or the end, where
	 * the only space is ' '. Found eight bytes at a time. */
	i = ascii_words(buf, i, len, 0x20);
	while (i < len && (unsigned char)buf[i] >= 0x20 &&
	       (unsigned char)buf[i] < 0x80)
		i++;
	if (i == len || buf[i] == '\n' || buf[i] == '\r') {
		size_t a = pos, b = i;

		if (i < len)
			next = buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n'
				       ? i + 2
				       : i + 1;
		while (a < b && buf[a] == ' ')
			a++;
		while (b > a && buf[b - 1] == ' ')
			b--;
		line->text.p = buf + a;
		line->text.len = b - a;
		return next;
	}
	/* anything else: a character at a time */
	i = pos;
	while (i < len) {
		unsigned char c = (unsigned char)buf[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			switch (c) {
			case '\r':
				/* universal newlines: "\r\n" and "\r" are
				 * "\n" before splitlines() sees them */
				next = (i + 1 < len && buf[i + 1] == '\n')
					       ? i + 2
					       : i + 1;
				goto done;
			case '\n':
			case '\v':
			case '\f':
			case 0x1c:
			case 0x1d:
			case 0x1e:
				next = i + 1;
				goto done;
			case ' ':
			case '\t':
			case 0x1f:
				i++;
				continue;
			case '\0':
				line->has_nul = true;
				break;
			default:
				break;
			}
			if (first == SIZE_MAX)
				first = i;
			/* then eight bytes at a time while none is a space, a
			 * control character or non-ASCII */
			i = ascii_words(buf, i + 1, len, 0x21);
			last_end = i;
			continue;
		}
		n = ep_utf8_decode(buf + i, len - i, &cp);
		if (n == 0) {
			/* one bad byte; the rest may still find the end of
			 * the line as the valid lines around it see it */
			line->invalid = true;
			n = 1;
		} else if (ep_uni_islinebreak(cp)) {
			next = i + n;
			goto done;
		} else if (ep_uni_isspace(cp)) {
			i += n;
			continue;
		}
		if (first == SIZE_MAX)
			first = i;
		i += n;
		last_end = i;
	}
done:
	if (first == SIZE_MAX) {
		line->text.p = buf + pos;
		line->text.len = 0;
	} else {
		line->text.p = buf + first;
		line->text.len = last_end - first;
	}
	return next;
}

static bool
is_section(struct span s)
{
	return s.len >= 2 && s.p[0] == '[' && s.p[s.len - 1] == ']';
}

/* str.strip('[]') */
static struct span
section_name(struct span s)
{
	while (s.len > 0 && (s.p[0] == '[' || s.p[0] == ']')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == '[' || s.p[s.len - 1] == ']'))
		s.len--;
	return s;
}

int
ep_parse_entry_points(struct epcache *ctx, const char *path, const char *buf,
		      size_t len, struct ep_entry_list *out)
{
	struct span group = {0};
	/* Sectioned.read(): lines before the first section are ignored */
	bool in_section = false;
	/* a section whose name we could not read: its lines go with it
	 * rather than into the section before */
	bool section_lost = false;
	size_t pos = 0, lineno = 0;
	int warnings = 0, rc;

	if (!path)
		path = "entry_points.txt";

	while (pos < len) {
		struct line line;
		struct span name, value;
		const char *eq;

		pos = next_line(buf, len, pos, &line);
		lineno++;
		if (line.text.len == 0)
			continue;

		/* importlib decodes the whole file first, so even a comment
		 * or a line before any section makes it raise */
		if (line.invalid) {
			ep_log_warn(ctx, "%s:%zu: invalid UTF-8", path, lineno);
			if (warnings < INT_MAX)
				warnings++;
			if (is_section(line.text)) {
				in_section = true;
				section_lost = true;
			}
			continue;
		}
		if (line.text.p[0] == '#')
			continue;
		if (is_section(line.text)) {
			in_section = true;
			section_lost = line.has_nul;
			group = section_name(line.text);
			if (section_lost) {
				ep_log_warn(ctx,
					    "%s:%zu: NUL byte in section name",
					    path, lineno);
				if (warnings < INT_MAX)
					warnings++;
			}
			continue;
		}
		if (!in_section || section_lost)
			continue;

		eq = memchr(line.text.p, '=', line.text.len);
		if (!eq) {
			ep_log_warn(ctx, "%s:%zu: no '=' in entry point line",
				    path, lineno);
			if (warnings < INT_MAX)
				warnings++;
			continue;
		}
		if (line.has_nul) {
			ep_log_warn(ctx, "%s:%zu: NUL byte in entry point line",
				    path, lineno);
			if (warnings < INT_MAX)
				warnings++;
			continue;
		}
		name.p = line.text.p;
		name.len = (size_t)(eq - line.text.p);
		value.p = eq + 1;
		value.len = line.text.len - name.len - 1;
		rc = entry_list_add_spans(out, group, span_strip(name),
					  span_strip(value));
		if (rc < 0)
			return rc;
	}
	return warnings;
}
