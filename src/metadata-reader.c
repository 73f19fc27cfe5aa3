/* SPDX-License-Identifier: MIT */
/*
 * The Name: and Version: of a METADATA or PKG-INFO file as importlib gives
 * them: Path.read_text() (UTF-8, universal newlines), then
 * email.message_from_string() with the compat32 policy (email/feedparser.py,
 * email/_policybase.py), then importlib.metadata._adapters.Message, which
 * re-dents folded values.
 *
 * Only the header block matters: msg['Name'] is the first Name header and
 * nothing in the body changes the headers already parsed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"

enum which {
	HDR_NONE,  /* no header being collected */
	HDR_OTHER, /* a header we do not want */
	HDR_NAME,
	HDR_VERSION,
};

/* feedparser's headerRE: r'^(From |[\041-\071\073-\176]*:|[\t ])' */
static bool
is_header_line(const char *p, size_t n)
{
	size_t i = 0;

	if (n >= 5 && memcmp(p, "From ", 5) == 0)
		return true;
	if (n >= 1 && (p[0] == '\t' || p[0] == ' '))
		return true;
	while (i < n && p[i] >= '\041' && p[i] <= '\176' && p[i] != ':')
		i++;
	return i < n && p[i] == ':';
}

/* str.lower() of a header name, which is ASCII by headerRE; strncasecmp()
 * would follow the locale (Turkish has no lowercase 'I' in "VERSION"). */
static bool
name_is(const char *p, size_t n, const char *want)
{
	if (n != strlen(want))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return false;
	}
	return true;
}

/*
 * textwrap.dedent(): lines of only spaces and tabs are emptied, then the
 * longest common leading run of spaces and tabs of the other lines goes.
 * Everything here is ASCII, so bytes do.
 */
static char *
dedent(const char *text, size_t len)
{
	struct ep_buf cleaned = {0};
	const char *margin = NULL;
	size_t margin_len = 0;
	struct ep_buf res = {0};
	size_t pos;
	char *out = NULL;

	for (pos = 0; pos <= len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t ws = pos;

		while (ws < end && (text[ws] == ' ' || text[ws] == '\t'))
			ws++;
		if (ws < end &&
		    ep_buf_append(&cleaned, text + pos, end - pos) < 0)
			goto out;
		if (nl && ep_buf_append(&cleaned, "\n", 1) < 0)
			goto out;
		if (!nl)
			break;
		pos = end + 1;
	}
	if (!cleaned.data && ep_buf_append(&cleaned, "", 0) < 0)
		goto out;

	for (pos = 0; pos < cleaned.len;) {
		const char *line = cleaned.data + pos;
		const char *nl = memchr(line, '\n', cleaned.len - pos);
		size_t n = nl ? (size_t)(nl - line) : cleaned.len - pos;
		size_t ws = 0;

		while (ws < n && (line[ws] == ' ' || line[ws] == '\t'))
			ws++;
		if (n > 0) {
			if (!margin) {
				margin = line;
				margin_len = ws;
			} else {
				size_t k = 0;

				while (k < margin_len && k < ws &&
				       margin[k] == line[k])
					k++;
				margin_len = k;
			}
		}
		pos += n + 1;
	}

	for (pos = 0; pos <= cleaned.len;) {
		const char *line = cleaned.data + pos;
		const char *nl = memchr(line, '\n', cleaned.len - pos);
		size_t n = nl ? (size_t)(nl - line) + 1 : cleaned.len - pos;
		size_t skip = 0;

		if (margin_len > 0 && n >= margin_len &&
		    memcmp(line, margin, margin_len) == 0)
			skip = margin_len;
		if (ep_buf_append(&res, line + skip, n - skip) < 0)
			goto out;
		if (!nl)
			break;
		pos += n;
	}
	out = ep_buf_steal(&res);
out:
	ep_buf_release(&cleaned);
	ep_buf_release(&res);
	return out;
}

/*
 * compat32 header_source_parse() has already made @value (text after the
 * colon, lstripped of ' \t', continuation lines appended, rstripped of
 * "\r\n"); now _adapters.Message's redent().
 */
static int
finish_value(struct ep_buf *value, char **out)
{
	char *v;

	while (value->len > 0 && (value->data[value->len - 1] == '\n' ||
				  value->data[value->len - 1] == '\r'))
		value->data[--value->len] = '\0';
	/* a C string cannot carry what importlib would return */
	if (value->len && memchr(value->data, '\0', value->len))
		return -EILSEQ;
	if (value->len && memchr(value->data, '\n', value->len)) {
		struct ep_buf indented = {0};

		if (ep_buf_append(&indented, "        ", 8) < 0 ||
		    ep_buf_append(&indented, value->data, value->len) < 0) {
			ep_buf_release(&indented);
			return -ENOMEM;
		}
		v = dedent(indented.data, indented.len);
		ep_buf_release(&indented);
	} else {
		v = ep_buf_steal(value);
	}
	if (!v)
		return -ENOMEM;
	*out = v;
	return 0;
}

int
ep_metadata_parse(const char *buf, size_t len, char **name_out,
		  char **version_out)
{
	struct ep_buf value = {0};
	enum which cur = HDR_NONE;
	char *name = NULL, *version = NULL;
	size_t pos = 0;
	int rc = 0;

	*name_out = NULL;
	*version_out = NULL;

	/* read_text() decodes the whole file, body and all */
	if (!ep_utf8_valid(buf, len))
		return -EILSEQ;

	/*
	 * The feedparser cracks the text into lines with
	 * StringIO(newline='').readlines(): only "\n", "\r\n" and "\r" end a
	 * line, and read_text() has already made all three "\n".
	 */
	while (pos < len && !(name && version)) {
		size_t end = pos, next;
		const char *line = buf + pos;
		bool has_nl;
		const char *colon;
		size_t n, skip;

		while (end < len && buf[end] != '\n' && buf[end] != '\r')
			end++;
		has_nl = end < len;
		next = end;
		if (has_nl)
			next += (buf[end] == '\r' && end + 1 < len &&
				 buf[end + 1] == '\n')
					? 2
					: 1;
		n = end - pos;
		pos = next;

		/* an empty line ends the headers, and so does any line that
		 * is not a header (it starts the body) */
		if (n == 0 || !is_header_line(line, n))
			break;

		if (line[0] == ' ' || line[0] == '\t') {
			/* continuation; dropped when no header is open */
			if (cur == HDR_NAME || cur == HDR_VERSION) {
				if (ep_buf_append(&value, line, n) < 0 ||
				    (has_nl &&
				     ep_buf_append(&value, "\n", 1) < 0)) {
					rc = -ENOMEM;
					goto out;
				}
			}
			continue;
		}

		if (cur == HDR_NAME || cur == HDR_VERSION) {
			rc = finish_value(&value,
					  cur == HDR_NAME ? &name : &version);
			if (rc < 0)
				goto out;
		}
		ep_buf_release(&value);
		cur = HDR_NONE;

		/* A unix-from envelope line first, a misplaced one later or a
		 * "From " pushed back as the body's first line: in every case
		 * it is no header and closes the one before. */
		if (n >= 5 && memcmp(line, "From ", 5) == 0)
			continue;
		colon = memchr(line, ':', n);
		/* ":value" is a defect, skipped along with its
		 * continuation lines */
		if (colon == line)
			continue;

		cur = HDR_OTHER;
		if (!name && name_is(line, (size_t)(colon - line), "name"))
			cur = HDR_NAME;
		else if (!version &&
			 name_is(line, (size_t)(colon - line), "version"))
			cur = HDR_VERSION;
		if (cur == HDR_OTHER)
			continue;

		skip = (size_t)(colon - line) + 1;
		while (skip < n && (line[skip] == ' ' || line[skip] == '\t'))
			skip++;
		if (ep_buf_append(&value, line + skip, n - skip) < 0 ||
		    (has_nl && ep_buf_append(&value, "\n", 1) < 0) ||
		    (!value.data && ep_buf_append(&value, "", 0) < 0)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (cur == HDR_NAME || cur == HDR_VERSION) {
		rc = finish_value(&value, cur == HDR_NAME ? &name : &version);
		if (rc < 0)
			goto out;
	}
	*name_out = name;
	*version_out = version;
	name = version = NULL;
out:
	ep_buf_release(&value);
	free(name);
	free(version);
	return rc;
}
