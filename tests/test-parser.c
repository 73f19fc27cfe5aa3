/* SPDX-License-Identifier: MIT */
/*
 * entry_points.txt as importlib.metadata's Sectioned/Pair read it, and
 * EntryPoint.pattern.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"

#define ARRAY_LENGTH(a) (sizeof(a) / sizeof((a)[0]))

/* The warnings of one parse, '\n'-separated. */
static void log_capture(struct epcache *ctx, enum epcache_log_priority prio,
			void *userdata, const char *fmt, va_list args)
	EP_PRINTF(4, 0);

static void
log_capture(struct epcache *ctx, enum epcache_log_priority prio, void *userdata,
	    const char *fmt, va_list args)
{
	struct ep_buf *log = userdata;
	char msg[1024];

	(void)ctx;
	ck_assert_int_eq(prio, EPCACHE_LOG_WARNING);
	vsnprintf(msg, sizeof(msg), fmt, args);
	if (log->len)
		ep_buf_append_str(log, "\n");
	ep_buf_append_str(log, msg);
}

static struct epcache *
capture_ctx(struct ep_buf *log)
{
	struct epcache *ctx = epcache_new();

	ck_assert_ptr_nonnull(ctx);
	epcache_set_log_handler(ctx, log_capture, log);
	return ctx;
}

/* ---------------------------------------------------- entry points */

struct ep_case {
	const char *in;
	size_t len;
	int warnings;
	const char *log;            /* the warnings, '\n'-separated */
	const char *const *entries; /* group, name, value, ..., NULL */
};

#define ENTRIES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ENTRIES ((const char *const[]){NULL})

/*
 * Expected results computed with /usr/bin/python3 (3.11.2). The input is
 * decoded as Path.read_text(encoding='utf-8') does (io.TextIOWrapper,
 * universal newlines) and, when importlib does not raise,
 * [(e.group, e.name, e.value) for e in EntryPoints._from_text(text)] is
 * the answer. When it raises (no '=', bad UTF-8) the answer is that of
 * Sectioned.read()/Pair.parse() with the offending line left out, with
 * one warning per line left out; a section line that cannot be read takes
 * its entries with it. Inputs with NUL bytes follow the same rule (a C
 * string cannot hold what importlib would return). The warnings use the
 * path "P" and count lines as str.splitlines() does.
 */
/* clang-format off */
static const struct ep_case ep_cases[] = {
	/* empty file */
	{
		"",
		0, 0,
		"",
		NO_ENTRIES },
	/* only blank lines */
	{
		"\012\012  \012\011\012",
		7, 0,
		"",
		NO_ENTRIES },
	/* nothing in a section */
	{
		"# comment\012; not a comment\012",
		26, 0,
		"",
		NO_ENTRIES },
	/* lines before the first section are ignored */
	{
		"a = b\012[g]\012x = y\012",
		16, 0,
		"",
		ENTRIES("g", "x", "y") },
	/* even without =, no final newline */
	{
		"no equals before a section\012[g]\012x=y",
		34, 0,
		"",
		ENTRIES("g", "x", "y") },
	/* the usual */
	{
		"[console_scripts]\012foo = foo.cli:main\012bar=bar:run [extra"
		"1, extra2]\012\012[gui_scripts]\012baz = baz.gui:start\012",
		101, 0,
		"",
		ENTRIES("console_scripts", "foo", "foo.cli:main",
		"console_scripts", "bar", "bar:run [extra1, extra2]",
		"gui_scripts", "baz", "baz.gui:start") },
	/* both halves stripped */
	{
		"[g]\012  name  =  value  \012",
		23, 0,
		"",
		ENTRIES("g", "name", "value") },
	/* split at the first = */
	{
		"[g]\012a = b = c\012",
		14, 0,
		"",
		ENTRIES("g", "a", "b = c") },
	/* empty name and value are kept */
	{
		"[g]\012=v\012n=\012=\012",
		12, 0,
		"",
		ENTRIES("g", "", "v", "g", "n", "", "g", "", "") },
	/* comments after stripping */
	{
		"[g]\012# c = d\012  # e = f\012x=y\012",
		26, 0,
		"",
		ENTRIES("g", "x", "y") },
	/* no inline comments */
	{
		"[g]\012x=y # not a comment\012",
		24, 0,
		"",
		ENTRIES("g", "x", "y # not a comment") },
	/* the name keeps its spaces */
	{
		"[ spaced ]\012x=y\012",
		15, 0,
		"",
		ENTRIES(" spaced ", "x", "y") },
	/* strip("[]") takes every bracket at both ends */
	{
		"[[x]]\012a=1\012[]\012b=2\012[]]\012c=3\012[a]b]\012d=4\012",
		35, 0,
		"",
		ENTRIES("x", "a", "1", "", "b", "2", "", "c", "3", "a]b", "d",
		"4") },
	/* either bracket, in any order */
	{
		"[]x]\012a=1\012[]y[]\012b=2\012]]z[[\012c=3\012",
		29, 1,
		"P:5: no '=' in entry point line",
		ENTRIES("x", "a", "1", "y", "b", "2", "y", "c", "3") },
	/* a section line is stripped first */
	{
		"  [g]  \012x=y\012",
		12, 0,
		"",
		ENTRIES("g", "x", "y") },
	/* not a section: no closing bracket */
	{
		"[g\012x=y\012",
		7, 0,
		"",
		NO_ENTRIES },
	/* a lone [ is an entry line without = */
	{
		"[g]\012[\012x=y\012",
		10, 1,
		"P:2: no '=' in entry point line",
		ENTRIES("g", "x", "y") },
	/* a lone ] */
	{
		"[g]\012]\012",
		6, 1,
		"P:2: no '=' in entry point line",
		NO_ENTRIES },
	/* a section even with = */
	{
		"[g]\012[a=b]\012",
		10, 0,
		"",
		NO_ENTRIES },
	/* sections may repeat; file order */
	{
		"[g]\012x=1\012[h]\012y=2\012[g]\012z=3\012",
		24, 0,
		"",
		ENTRIES("g", "x", "1", "h", "y", "2", "g", "z", "3") },
	/* no de-duplication */
	{
		"[g]\012x=1\012x=1\012",
		12, 0,
		"",
		ENTRIES("g", "x", "1", "g", "x", "1") },
	/* CRLF */
	{
		"[g]\015\012a = 1\015\012b = 2\015\012",
		19, 0,
		"",
		ENTRIES("g", "a", "1", "g", "b", "2") },
	/* lone CR */
	{
		"[g]\015a = 1\015b = 2\015",
		16, 0,
		"",
		ENTRIES("g", "a", "1", "g", "b", "2") },
	/* CR CR LF and LF CR */
	{
		"[g]\015\015\012a = 1\012\015b = 2",
		18, 0,
		"",
		ENTRIES("g", "a", "1", "g", "b", "2") },
	/* ASCII splitlines() boundaries */
	{
		"[g]\013a=1\014b=2\034c=3\035d=4\036e=5",
		23, 0,
		"",
		ENTRIES("g", "a", "1", "g", "b", "2", "g", "c", "3", "g", "d",
		"4", "g", "e", "5") },
	/* Unicode splitlines() boundaries */
	{
		"[g]\302\205a=1\342\200\250b=2\342\200\251c=3",
		20, 0,
		"",
		ENTRIES("g", "a", "1", "g", "b", "2", "g", "c", "3") },
	/* US (0x1f) is whitespace, not a boundary */
	{
		"[g]\012\037a=1\037\012",
		10, 0,
		"",
		ENTRIES("g", "a", "1") },
	/* Unicode whitespace is stripped */
	{
		"[g]\012\302\240a\343\200\200=\342\200\203b\342\200\257\012",
		19, 0,
		"",
		ENTRIES("g", "a", "b") },
	/* ZERO WIDTH SPACE is not whitespace */
	{
		"[g]\012\342\200\213a=b\342\200\213\012",
		14, 0,
		"",
		ENTRIES("g", "\342\200\213a", "b\342\200\213") },
	/* a BOM is kept: the first section is not one */
	{
		"\357\273\277[g]\012x=y\012[h]\012z=w\012",
		19, 0,
		"",
		ENTRIES("h", "z", "w") },
	/* BOM inside a line */
	{
		"[g]\012\357\273\277x=y\012",
		11, 0,
		"",
		ENTRIES("g", "\357\273\277x", "y") },
	/* non-ASCII */
	{
		"[gr\303\274n]\012n\303\244me = m\303\266d:\303\244ttr\012",
		27, 0,
		"",
		ENTRIES("gr\303\274n", "n\303\244me", "m\303\266d:\303\244ttr"
		) },
	/* a line without '=' warns and is dropped */
	{
		"[g]\012noequals\012x=y\012",
		17, 1,
		"P:2: no '=' in entry point line",
		ENTRIES("g", "x", "y") },
	/* line numbers count blank lines and comments */
	{
		"[g]\012x=y\012  \012# c\012bad line\012\012z=w\012also bad"
		"\012",
		38, 2,
		"P:5: no '=' in entry point line\012P:8: no '=' in entry point"
		" line",
		ENTRIES("g", "x", "y", "g", "z", "w") },
	/* line numbers follow splitlines() */
	{
		"[g]\342\200\250bad\342\200\250x=y\015\012bad2",
		21, 2,
		"P:2: no '=' in entry point line\012P:4: no '=' in entry point"
		" line",
		ENTRIES("g", "x", "y") },
	/* CRLF counts once */
	{
		"[g]\015\012\015\012bad\015\012",
		12, 1,
		"P:3: no '=' in entry point line",
		NO_ENTRIES },
	/* invalid UTF-8 drops just that line */
	{
		"[g]\012x=\377\012y=z\012",
		12, 1,
		"P:2: invalid UTF-8",
		ENTRIES("g", "y", "z") },
	/* invalid UTF-8 in a comment still warns */
	{
		"# caf\351\012[g]\012x=y\012",
		15, 1,
		"P:1: invalid UTF-8",
		ENTRIES("g", "x", "y") },
	/* invalid UTF-8 before any section warns */
	{
		"caf\351\012[g]\012x=y\012",
		13, 1,
		"P:1: invalid UTF-8",
		ENTRIES("g", "x", "y") },
	/* a section name that is not UTF-8 takes its lines along */
	{
		"[g]\012x=y\012[h\377]\012a=b\012c=d\012[i]\012e=f\012",
		29, 1,
		"P:3: invalid UTF-8",
		ENTRIES("g", "x", "y", "i", "e", "f") },
	/* a truncated sequence ends where the next line starts */
	{
		"[g]\012x=\342\200\012\342\200\250y=z\012",
		16, 1,
		"P:2: invalid UTF-8",
		ENTRIES("g", "y", "z") },
	/* an encoded surrogate */
	{
		"[g]\012x=\355\240\200\012",
		10, 1,
		"P:2: invalid UTF-8",
		NO_ENTRIES },
	/* an overlong form */
	{
		"[g]\012x=\300\257\012",
		9, 1,
		"P:2: invalid UTF-8",
		NO_ENTRIES },
	/* beyond U+10FFFF */
	{
		"[g]\012x=\364\220\200\200\012",
		11, 1,
		"P:2: invalid UTF-8",
		NO_ENTRIES },
	/* a NUL byte drops the line */
	{
		"[g]\012x=a\000b\012y=z\012",
		14, 1,
		"P:2: NUL byte in entry point line",
		ENTRIES("g", "y", "z") },
	/* NUL without '=' warns about the '=' */
	{
		"[g]\012no\000equals\012",
		14, 1,
		"P:2: no '=' in entry point line",
		NO_ENTRIES },
	/* a NUL in a comment is harmless */
	{
		"[g]\012# \000 in a comment\012x=y\012\000 = before\012",
		36, 1,
		"P:4: NUL byte in entry point line",
		ENTRIES("g", "x", "y") },
	/* a NUL before any section is harmless */
	{
		"\000\012[g]\012x=y\012",
		10, 0,
		"",
		ENTRIES("g", "x", "y") },
	/* a NUL in a section name takes its lines along */
	{
		"[g]\012x=y\012[h\000]\012a=b\012[i]\012c=d\012",
		25, 1,
		"P:3: NUL byte in section name",
		ENTRIES("g", "x", "y", "i", "c", "d") },
	/* invalid UTF-8 and NUL: one warning */
	{
		"[g]\012\377\000\012",
		7, 1,
		"P:2: invalid UTF-8",
		NO_ENTRIES },
	/* no final newline */
	{
		"[g]\012x=y",
		7, 0,
		"",
		ENTRIES("g", "x", "y") },
	/* trailing blank lines */
	{
		"[g]\012x=y\012\012\012",
		10, 0,
		"",
		ENTRIES("g", "x", "y") },
	/* an empty section name is a section */
	{
		"[]\012x=y\012",
		7, 0,
		"",
		ENTRIES("", "x", "y") },
	/* name and value both empty after stripping */
	{
		"[g]\012 \011 = \011 \012",
		12, 0,
		"",
		ENTRIES("g", "", "") },
	/* tab around =, VT at the end */
	{
		"[g]\012x\011=\011y\013",
		10, 0,
		"",
		ENTRIES("g", "x", "y") },
	/* random mixes of the fragments above */
	{
		"\011\015\015\012# [g]\013",
		10, 0,
		"",
		NO_ENTRIES },
	{
		"\302\240\035\000\034[\000]\342\200\250\343\200\200a=b\342\200"
		"\200\342\200\251# [g]\302\205\357\273\277\302\205[a]b]\342"
		"\200\251",
		43, 1,
		"P:3: NUL byte in section name",
		NO_ENTRIES },
	{
		"# [g\303]\036[[x]]\036# [g]\015\012x = m:a [e]\342\200\251"
		"\343\200\200a=b\342\200\200\012[\000]\014",
		48, 2,
		"P:1: invalid UTF-8\012P:6: NUL byte in section name",
		ENTRIES("x", "x", "m:a [e]", "x", "a", "b") },
	{
		"\357\273\277[g]\034;x\015\012a==b\342\200\250",
		18, 0,
		"",
		NO_ENTRIES },
	{
		" \013\302\240\035#c\013x = m:a [e]\015\015\012\000\036\000"
		"\015\012\343\200\200a=b\342\200\200\302\205",
		38, 0,
		"",
		NO_ENTRIES },
	{
		"[\000]\012\012\343\200\200a=b\342\200\200\015\000\015#c\302"
		"\205a\015\015\012\011\036[\302\205",
		30, 1,
		"P:1: NUL byte in section name",
		NO_ENTRIES },
	{
		"[[x]]\014\343\200\200a=b\342\200\200\036a=b\012[]\015",
		23, 0,
		"",
		ENTRIES("x", "a", "b", "x", "a", "b") },
	{
		"[\036",
		2, 0,
		"",
		NO_ENTRIES },
	{
		"a==b\036\303\251=\303\274\342\200\251",
		13, 0,
		"",
		NO_ENTRIES },
	{
		"\303\251=\303\274\015\000\342\200\250\307\205=\316\243\036a=="
		"b\012\012[g]\302\205n=\015\012",
		31, 0,
		"",
		ENTRIES("g", "n", "") },
	{
		"#c\035\357\273\277[g]\342\200\250",
		12, 0,
		"",
		NO_ENTRIES },
	{
		"\303\251=\303\274\015\015\012\302\240\015",
		11, 0,
		"",
		NO_ENTRIES },
	{
		"=v\015\012[]\013]\342\200\251a=b\302\205\357\273\277[g]\342"
		"\200\251\357\273\277\034\011\012=",
		32, 3,
		"P:3: no '=' in entry point line\012P:5: no '=' in entry point"
		" line\012P:6: no '=' in entry point line",
		ENTRIES("", "a", "b", "", "", "") },
	{
		"=v\035a==b\342\200\251\357\273\277\342\200\251[a]b]\015\015"
		"\012\303\251=\303\274\034[\000]\342\200\250a==b\342\200\251",
		43, 1,
		"P:7: NUL byte in section name",
		ENTRIES("a]b", "\303\251", "\303\274") },
	{
		"\011\034\302\240\342\200\250[a]b]\342\200\251n=\342\200\251#c"
		"\015\012",
		24, 0,
		"",
		ENTRIES("a]b", "n", "") },
	{
		"n=\035#c\036a=\000\015\015\012 \015\355\240\200\000\014\357"
		"\273\277\014",
		23, 1,
		"P:6: invalid UTF-8",
		NO_ENTRIES },
	{
		"\357\273\277\036\302\240\342\200\251=v\014a = b # c\015\015"
		"\012",
		24, 0,
		"",
		NO_ENTRIES },
	{
		"\377=\034 \012\012",
		6, 1,
		"P:1: invalid UTF-8",
		NO_ENTRIES },
	{
		"a=b\036",
		4, 0,
		"",
		NO_ENTRIES },
	{
		" \302\205[\000]\034[]\036",
		10, 1,
		"P:2: NUL byte in section name",
		NO_ENTRIES },
	{
		"\357\273\277[g\303]\015 #c\035\302\240\013",
		15, 1,
		"P:1: invalid UTF-8",
		NO_ENTRIES },
	{
		"\037\036\011\014x = m:a [e]\015[ g ]\342\200\250[]\035\357"
		"\273\277\035 \015x = m:a [e]",
		44, 1,
		"P:6: no '=' in entry point line",
		ENTRIES("", "x", "m:a [e]") },
	{
		"a\015\012a==b\302\205\343\200\200a=b\342\200\200\015\015\012a"
		" = b # c\342\200\251\303\251=\303\274\342\200\250",
		41, 0,
		"",
		NO_ENTRIES },
	{
		"a=b\342\200\251[g]\012\012a=\000\014\307\205=\316\243\342\200"
		"\250[]\035# [g]\013",
		32, 1,
		"P:4: NUL byte in entry point line",
		ENTRIES("g", "\307\205", "\316\243") },
	{
		"# [g]\015\000\034\037\012\012\357\273\277[g]\302\205[\000]"
		"\035 #c\015",
		27, 1,
		"P:6: NUL byte in section name",
		NO_ENTRIES },
	{
		"\357\273\277[g]\013\307\205=\316\243\342\200\251\307\205=\316"
		"\243\015[a]b]\036",
		27, 0,
		"",
		NO_ENTRIES },
	{
		" a = b \034 \342\200\250\037\342\200\250",
		16, 0,
		"",
		NO_ENTRIES },
	{
		"[[x]]\036 #c\014[]\302\205\302\240\013;x\013=\014",
		22, 1,
		"P:5: no '=' in entry point line",
		ENTRIES("", "", "") },
	{
		"\000\035a=\000\342\200\251a=\000\014=v\036\011\015\012[[x]]"
		"\012]\034",
		26, 1,
		"P:7: no '=' in entry point line",
		NO_ENTRIES },
	{
		"[a]b]\013[\000]\015\012\000\015\012\357\273\277\012\302\240"
		"\012\012\000\012",
		24, 1,
		"P:2: NUL byte in section name",
		NO_ENTRIES },
	{
		"\011\036n=\015",
		5, 0,
		"",
		NO_ENTRIES },
	{
		"\343\200\200a=b\342\200\200\302\205 a = b \302\205=v\015\303"
		"\251=\303\274\012\012[\000]\015\303\251=\303\274\036[a]b]\015"
		"\012",
		47, 1,
		"P:6: NUL byte in section name",
		NO_ENTRIES },
	{
		"[\034[]\014 a = b \035[[x]]\012\012",
		20, 0,
		"",
		ENTRIES("", "a", "b") },
	{
		"[ g ]\342\200\251[\000]\342\200\250\011\034\357\273\277\035 "
		"\012 a = b \036",
		30, 1,
		"P:2: NUL byte in section name",
		NO_ENTRIES },
	{
		"\357\273\277\302\205\357\273\277[g]\034",
		12, 0,
		"",
		NO_ENTRIES },
	{
		"\357\273\277[\355\240\200g]\015\302\240\035a=\000\015\012",
		18, 1,
		"P:1: invalid UTF-8",
		NO_ENTRIES },
	{
		"[]\012\012\307\205=\316\243\034a\012\012\303\251=\303\274\036",
		19, 1,
		"P:4: no '=' in entry point line",
		ENTRIES("", "\307\205", "\316\243", "", "\303\251", "\303\274"
		) },
	{
		"[a]b]\013[\000]\012\012]\012\011\014\303\251=\303\274\012x = "
		"m:a [e]\302\205",
		34, 1,
		"P:2: NUL byte in section name",
		NO_ENTRIES },
	{
		"=v\035[a]b]\036[[x]]\015\015\012a==b\015\015\012=\015[]\342"
		"\200\342\200\251",
		33, 1,
		"P:8: invalid UTF-8",
		ENTRIES("x", "a", "=b", "x", "", "") },
	{
		"a=\000\035a=\000\015",
		8, 0,
		"",
		NO_ENTRIES },
	{
		" a = b \012[]\015\015\012",
		13, 0,
		"",
		NO_ENTRIES },
	{
		"a=\000\034;x\015\015\012\343\200\200a=b\342\200\200\342\200"
		"\251#c\034n=\012\012x = m:\377a [e]\342\200\251 \035",
		45, 1,
		"P:8: invalid UTF-8",
		NO_ENTRIES },
	{
		"=\036[[x]]\034 a = b \014\000\342\200\251\355\240\200=\302"
		"\205\037\013",
		28, 2,
		"P:4: no '=' in entry point line\012P:5: invalid UTF-8",
		ENTRIES("x", "a", "b") },
	{
		"\302\240\302\205\307\205=\316\243\036a\015[\000]\342\200\250"
		"\037\342\200\250=v\035",
		25, 1,
		"P:4: NUL byte in section name",
		NO_ENTRIES },
	{
		"=\012\012\343\200\200a=b\342\200\200\015\015\012[\000]\014a ="
		" b # c\013;x\012\012\303\251=\303\274\342\200\250a=b\302\205",
		46, 1,
		"P:5: NUL byte in section name",
		NO_ENTRIES },
	{
		"=v\342\200\251\307\205=\316\243\012\012 a = b \034a=b\012["
		"\014\355\240\200[a]b]\015",
		35, 1,
		"P:7: invalid UTF-8",
		NO_ENTRIES },
	{
		"a = b # c\015 #c\012\012\357\273\277[g]\035# [g]\034a=b\012"
		"\302\240\015a\015",
		37, 0,
		"",
		NO_ENTRIES },
	{
		"#c\015\000\377\015\015\012a\302\205# [g]\015x = m:a [e]\014a"
		"\012",
		31, 1,
		"P:2: invalid UTF-8",
		NO_ENTRIES },
	{
		"a\015#c\035\357\273\277\034a\012\012[g]\015\012\037\012\012 a"
		" = \377b \035a=b\035",
		33, 1,
		"P:9: invalid UTF-8",
		ENTRIES("g", "a", "b") },
	{
		"\307\205=\316\243\015\015\012\303\251\342\200=\303\274\012[a]"
		"b]\012\012[\014[[x]]\015\015\012",
		33, 2,
		"P:3: invalid UTF-8\012P:6: no '=' in entry point line",
		NO_ENTRIES },
	{
		"x = m:a [e]\012a\377=\000\034a=\000\014\357\273\277\014",
		25, 1,
		"P:2: invalid UTF-8",
		NO_ENTRIES },
	{
		"a=\000\013x = m:a [\303e]\035=v\302\205\037\342\200\250\303"
		"\251\303=\303\274\302\205# [g]\015\015\012",
		41, 2,
		"P:2: invalid UTF-8\012P:5: invalid UTF-8",
		NO_ENTRIES },
	{
		"]\302\205]\013\037\035\357\273\277[\355\240\200g]\012\012 "
		"\015 a = b \015\012a\342\200\251[a]b\342\200]",
		40, 2,
		"P:4: invalid UTF-8\012P:9: invalid UTF-8",
		NO_ENTRIES },
	{
		"[\342\200\250a==b\012\011\014=v\342\200\251",
		16, 0,
		"",
		NO_ENTRIES },
	{
		"\303\251=\303\274\015\015\012a = b # c\015\015\012[g]\034x = "
		"m:a [e]\015",
		36, 0,
		"",
		ENTRIES("g", "x", "m:a [e]") },
	{
		"a = b # c\013a\036a==b\013[g]\014 a = b \013#c\015\015\012[ g"
		" ]\015\015\012 a = b ",
		49, 0,
		"",
		ENTRIES("g", "a", "b", " g ", "a", "b") },
	{
		"\357\273\277\302\205[ g ]\035\000\015\012;x\035a=b\015a\012",
		23, 3,
		"P:3: no '=' in entry point line\012P:4: no '=' in entry point"
		" line\012P:6: no '=' in entry point line",
		ENTRIES(" g ", "a", "b") },
	{
		" a = b \015\012a\012\012]\015#c\014a=\000\036[g]\012 #c\012",
		29, 0,
		"",
		NO_ENTRIES },
	{
		"\037\013\000\036",
		4, 0,
		"",
		NO_ENTRIES },
	{
		"a==b\036 a = b \015\015\012",
		15, 0,
		"",
		NO_ENTRIES },
	{
		"\357\273\277[g]\012;x\015\012a = b\355\240\200 # c\034\307"
		"\205=\316\243\036\357\273\277[g]\342\200\251",
		39, 1,
		"P:3: invalid UTF-8",
		NO_ENTRIES },
	{
		"]\342\200\250]\013",
		6, 0,
		"",
		NO_ENTRIES },
	{
		"[[x]]\012\343\200\200\355\240\200a=b\342\200\200\035 #c\014x "
		"= m:a [e]\014",
		35, 1,
		"P:2: invalid UTF-8",
		ENTRIES("x", "x", "m:a [e]") },
	{
		"\303\357\273\277\014;x\012]\036[[x]]\013a\342\200 = b # c\015"
		"\015\012 \034\343\200\200a=b\342\200\200\012\357\273\277[g]",
		48, 3,
		"P:1: invalid UTF-8\012P:5: invalid UTF-8\012P:9: no '=' in en"
		"try point line",
		ENTRIES("x", "a", "b") },
	{
		"a==b\015\015\012",
		7, 0,
		"",
		NO_ENTRIES },
	{
		"\037\034]\014\000\015\015\012\037\342\200\250\307\205=\316"
		"\243\034 a = b \013",
		26, 0,
		"",
		NO_ENTRIES },
	{
		"\037\015\015\012\357\273\277[g]\015\015\012[[x]]\034[\000]"
		"\012\343\200\200a=b\342\200\200\342\200\250[]\302\205a\035",
		41, 2,
		"P:6: NUL byte in section name\012P:9: no '=' in entry point l"
		"ine",
		NO_ENTRIES },
	{
		"]\035;x\013x = m:a [e]\012[ g ]\302\205\011\342\200\251[g]"
		"\342\200\250",
		34, 0,
		"",
		NO_ENTRIES },
	{
		"]\034\037\035[\000]\014[g]\014",
		12, 1,
		"P:3: NUL byte in section name",
		NO_ENTRIES },
	{
		"\000\302\205a=b\034",
		7, 0,
		"",
		NO_ENTRIES },
	{
		"\303\251=\303\274\342\200\250",
		8, 0,
		"",
		NO_ENTRIES },
	{
		"\357\273\277[g]\012n=\036a=\000\013]\015\357\273\277\015\015"
		"\012",
		22, 0,
		"",
		NO_ENTRIES },
	{
		"[ g ]\302\205\302\240\012a = b # c\013;x\342\200\250[ g ]\012"
		"[ g ]\302\205a = b # c\015\012 \342\200\251",
		53, 1,
		"P:4: no '=' in entry point line",
		ENTRIES(" g ", "a", "b # c", " g ", "a", "b # c") },
	{
		"[a]b]\012a=\000\012\302\240\015\015\012\303\251=\303\274\036["
		"[x]]\012\012[\342\200\250",
		32, 2,
		"P:2: NUL byte in entry point line\012P:8: no '=' in entry poi"
		"nt line",
		ENTRIES("a]b", "\303\251", "\303\274") },
	{
		"\303\251=\303\274\035\302\240\036[a]b]\034 \013n=\342\200\250"
		"a\015",
		24, 1,
		"P:6: no '=' in entry point line",
		ENTRIES("a]b", "n", "") },
	{
		" \015a\014# [g]\015",
		10, 0,
		"",
		NO_ENTRIES },
	{
		"\343\200\200a=b\342\200\200\035[\034[a]b]\302\205",
		19, 0,
		"",
		NO_ENTRIES },
	{
		"[a]b]\036\303\251=\303\274\303\012\012\307\205=\316\243\013 #"
		"c\012[\342\200\251\000\342\200\251a=b\035a==b\035",
		41, 3,
		"P:2: invalid UTF-8\012P:6: no '=' in entry point line\012P:7:"
		" no '=' in entry point line",
		ENTRIES("a]b", "\307\205", "\316\243", "a]b", "a", "b", "a]b",
		"a", "=b") },
	{
		"\037\302\205",
		3, 0,
		"",
		NO_ENTRIES },
	{
		"[\355\240\200\000]\015",
		7, 1,
		"P:1: invalid UTF-8",
		NO_ENTRIES },
};
/* clang-format on */

static void
check_entries(size_t idx, const struct ep_entry_list *l,
	      const char *const *want)
{
	size_t n = 0;

	while (want[3 * n])
		n++;
	ck_assert_msg(l->n == n, "case %zu: %zu entries, want %zu", idx, l->n,
		      n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(
			strcmp(l->v[i].group, want[3 * i]) == 0 &&
				strcmp(l->v[i].name, want[3 * i + 1]) == 0 &&
				strcmp(l->v[i].value, want[3 * i + 2]) == 0,
			"case %zu entry %zu: [%s] %s = %s, want [%s] %s = %s",
			idx, i, l->v[i].group, l->v[i].name, l->v[i].value,
			want[3 * i], want[3 * i + 1], want[3 * i + 2]);
	}
}

START_TEST(test_entry_points_table)
{
	for (size_t i = 0; i < ARRAY_LENGTH(ep_cases); i++) {
		const struct ep_case *c = &ep_cases[i];
		struct ep_entry_list l = {0};
		struct ep_buf log = {0};
		struct epcache *ctx = capture_ctx(&log);
		int rc;

		rc = ep_parse_entry_points(ctx, "P", c->in, c->len, &l);
		ck_assert_msg(rc == c->warnings, "case %zu: rc %d, want %d", i,
			      rc, c->warnings);
		ck_assert_msg(strcmp(log.data ? log.data : "", c->log) == 0,
			      "case %zu: log \"%s\", want \"%s\"", i,
			      log.data ? log.data : "", c->log);
		check_entries(i, &l, c->entries);

		/* without a context the same, silently */
		ep_entry_list_release(&l);
		rc = ep_parse_entry_points(NULL, "P", c->in, c->len, &l);
		ck_assert_int_eq(rc, c->warnings);
		check_entries(i, &l, c->entries);

		ep_entry_list_release(&l);
		ep_buf_release(&log);
		epcache_free(ctx);
	}
}
END_TEST

START_TEST(test_entry_points_warning_text)
{
	static const char text[] = "[g]\n"
				   "x=y\n"
				   "oops\n"
				   "z=\377\n";
	struct ep_entry_list l = {0};
	struct ep_buf log = {0};
	struct epcache *ctx = capture_ctx(&log);
	int rc;

	rc = ep_parse_entry_points(ctx,
				   "/site/foo-1.0.dist-info/"
				   "entry_points.txt",
				   text, sizeof(text) - 1, &l);
	ck_assert_int_eq(rc, 2);
	ck_assert_str_eq(log.data,
			 "/site/foo-1.0.dist-info/entry_points.txt:3: "
			 "no '=' in entry point line\n"
			 "/site/foo-1.0.dist-info/entry_points.txt:4: "
			 "invalid UTF-8");
	ck_assert_uint_eq(l.n, 1);
	ep_entry_list_release(&l);
	ep_buf_release(&log);
	epcache_free(ctx);
}
END_TEST

/* A value of @k 'a's, then @sep, then @k 'b's: the parser looks at eight
 * bytes at a time inside text, so every offset of @sep in a word matters. */
static void
parse_with_sep(size_t k, const char *sep, const char *tail,
	       struct ep_entry_list *l, int *warnings)
{
	struct ep_buf in = {0};

	ck_assert_int_eq(ep_buf_append_str(&in, "[g]\nn="), 0);
	for (size_t i = 0; i < k; i++)
		ck_assert_int_eq(ep_buf_append(&in, "a", 1), 0);
	ck_assert_int_eq(ep_buf_append_str(&in, sep), 0);
	ck_assert_int_eq(ep_buf_append_str(&in, tail), 0);
	*warnings = ep_parse_entry_points(NULL, "P", in.data, in.len, l);
	ep_buf_release(&in);
}

START_TEST(test_entry_points_word_offsets)
{
	/* str.splitlines() boundaries end the value */
	static const char *const breaks[] = {
		"\n", "\r", "\v", "\f", "\034", "\035", "\036",
		"\302\205", "\342\200\250", "\342\200\251",
	};
	/* str.isspace() characters that are not boundaries: kept inside,
	 * stripped at the end */
	static const char *const spaces[] = {
		" ", "\t", "\037", "\302\240", "\343\200\200",
	};
	/* neither: part of the value wherever they are */
	static const char *const plain[] = {"\001", "\177", "\303\251", "#"};

	for (size_t k = 1; k <= 20; k++) {
		char as[32], want[64];
		struct ep_entry_list l = {0};
		int w;

		memset(as, 'a', k);
		as[k] = '\0';
		for (size_t i = 0; i < ARRAY_LENGTH(breaks); i++) {
			/* "bbb" is then a line without '=' */
			parse_with_sep(k, breaks[i], "bbb\n", &l, &w);
			ck_assert_msg(w == 1 && l.n == 1 &&
					      strcmp(l.v[0].value, as) == 0,
				      "k %zu break %zu: %d warnings, %zu "
				      "entries", k, i, w, l.n);
			ep_entry_list_release(&l);
		}
		for (size_t i = 0; i < ARRAY_LENGTH(spaces); i++) {
			parse_with_sep(k, spaces[i], "bbb\n", &l, &w);
			snprintf(want, sizeof(want), "%s%sbbb", as, spaces[i]);
			ck_assert_msg(w == 0 && l.n == 1 &&
					      strcmp(l.v[0].value, want) == 0,
				      "k %zu space %zu inside", k, i);
			ep_entry_list_release(&l);
			parse_with_sep(k, spaces[i], "\n", &l, &w);
			ck_assert_msg(w == 0 && l.n == 1 &&
					      strcmp(l.v[0].value, as) == 0,
				      "k %zu space %zu at the end", k, i);
			ep_entry_list_release(&l);
		}
		/* runs of spaces, a word long and more, at the end of the
		 * line and at the end of the input */
		for (size_t pad = 1; pad <= 17; pad++) {
			char run[32];

			memset(run, pad % 2 ? ' ' : '\t', pad);
			run[pad] = '\0';
			parse_with_sep(k, run, "", &l, &w);
			ck_assert_msg(w == 0 && l.n == 1 &&
					      strcmp(l.v[0].value, as) == 0,
				      "k %zu, %zu spaces at the end", k, pad);
			ep_entry_list_release(&l);
			parse_with_sep(k, run, "\n", &l, &w);
			ck_assert_msg(w == 0 && l.n == 1 &&
					      strcmp(l.v[0].value, as) == 0,
				      "k %zu, %zu spaces, newline", k, pad);
			ep_entry_list_release(&l);
		}
		/* a section header is the stripped line: spaces after it */
		{
			struct ep_buf in = {0};

			ck_assert_int_eq(ep_buf_printf(&in, "[%s]", as), 0);
			for (size_t pad = 0; pad < k; pad++)
				ck_assert_int_eq(ep_buf_append(&in, " ", 1), 0);
			ck_assert_int_eq(ep_buf_append_str(&in, "\nn=v\n"), 0);
			w = ep_parse_entry_points(NULL, "P", in.data, in.len,
						  &l);
			ck_assert_msg(w == 0 && l.n == 1 &&
					      strcmp(l.v[0].group, as) == 0,
				      "k %zu: header with spaces", k);
			ep_entry_list_release(&l);
			ep_buf_release(&in);
		}
		for (size_t i = 0; i < ARRAY_LENGTH(plain); i++) {
			parse_with_sep(k, plain[i], "bbb", &l, &w);
			snprintf(want, sizeof(want), "%s%sbbb", as, plain[i]);
			ck_assert_msg(w == 0 && l.n == 1 &&
					      strcmp(l.v[0].value, want) == 0,
				      "k %zu plain %zu", k, i);
			ep_entry_list_release(&l);
		}
	}
}
END_TEST

START_TEST(test_entry_points_chunks)
{
	/* entries outgrow the first text chunk, and one is larger than any
	 * chunk so far: every string must stay where it was written */
	struct ep_buf in = {0};
	struct ep_entry_list l = {0};
	char want[16];
	const size_t n = 300, big = 20000;

	ck_assert_int_eq(ep_buf_append_str(&in, "[some.group]\n"), 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(ep_buf_printf(&in, "name%zu = mod%zu:f\n", i, i),
				 0);
		if (i == n / 2) {
			ck_assert_int_eq(ep_buf_append_str(&in, "big = "), 0);
			for (size_t j = 0; j < big; j++)
				ck_assert_int_eq(ep_buf_append(&in, "x", 1), 0);
			ck_assert_int_eq(ep_buf_append(&in, "\n", 1), 0);
		}
	}
	ck_assert_int_eq(ep_parse_entry_points(NULL, "P", in.data, in.len, &l),
			 0);
	ck_assert_uint_eq(l.n, n + 1);
	for (size_t i = 0, k = 0; i < l.n; i++) {
		ck_assert_str_eq(l.v[i].group, "some.group");
		if (i == n / 2 + 1) {
			ck_assert_str_eq(l.v[i].name, "big");
			ck_assert_uint_eq(strlen(l.v[i].value), big);
			continue;
		}
		snprintf(want, sizeof(want), "name%zu", k);
		ck_assert_str_eq(l.v[i].name, want);
		snprintf(want, sizeof(want), "mod%zu:f", k);
		ck_assert_str_eq(l.v[i].value, want);
		k++;
	}
	ep_entry_list_release(&l);
	ep_buf_release(&in);
}
END_TEST

START_TEST(test_entry_points_length)
{
	/* the length ends the input, not a NUL; what follows is unread */
	static const char text[] = "[g]\nx=y\nz=w\n";
	struct ep_entry_list l = {0};

	ck_assert_int_eq(ep_parse_entry_points(NULL, "P", text, 7, &l), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.v[0].value, "y");
	ep_entry_list_release(&l);

	/* nothing at all */
	ck_assert_int_eq(ep_parse_entry_points(NULL, "P", "", 0, &l), 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_entry_points_appends)
{
	struct ep_entry_list l = {0};

	ck_assert_int_eq(ep_entry_list_add(&l, "first", "a", "b"), 0);
	ck_assert_int_eq(ep_parse_entry_points(NULL, "P", "[g]\nx=y", 7, &l),
			 0);
	ck_assert_int_eq(ep_parse_entry_points(NULL, "P", "[h]\nz=w", 7, &l),
			 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.v[0].group, "first");
	ck_assert_str_eq(l.v[1].group, "g");
	ck_assert_str_eq(l.v[2].group, "h");
	ep_entry_list_release(&l);
}
END_TEST

START_TEST(test_entry_points_many)
{
	/* a big file, many sections: every entry in order */
	struct ep_buf text = {0};
	struct ep_entry_list l = {0};
	char want[64];

	for (int s = 0; s < 100; s++) {
		ck_assert_int_eq(ep_buf_printf(&text, "[group%d]\r\n", s), 0);
		for (int e = 0; e < 1000; e++)
			ck_assert_int_eq(
				ep_buf_printf(&text,
					      "  ep%d = mod%d:fn [x]\r\n", e,
					      s),
				0);
	}
	ck_assert_int_eq(
		ep_parse_entry_points(NULL, "P", text.data, text.len, &l), 0);
	ck_assert_uint_eq(l.n, 100000);
	ck_assert_str_eq(l.v[54321].group, "group54");
	ck_assert_str_eq(l.v[54321].name, "ep321");
	snprintf(want, sizeof(want), "mod%d:fn [x]", 54);
	ck_assert_str_eq(l.v[54321].value, want);
	ep_entry_list_release(&l);
	ep_buf_release(&text);
}
END_TEST

START_TEST(test_entry_list)
{
	struct ep_entry_list l = {0};
	char group[] = "g", name[] = "n", value[] = "v";

	/* releasing an empty list is fine, twice too */
	ep_entry_list_release(&l);
	ep_entry_list_release(&l);

	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(ep_entry_list_add(&l, group, name, value), 0);
	ck_assert_uint_eq(l.n, 100);
	ck_assert_uint_ge(l.cap, l.n);
	/* the list holds copies */
	group[0] = name[0] = value[0] = 'X';
	ck_assert_str_eq(l.v[99].group, "g");
	ck_assert_str_eq(l.v[99].name, "n");
	ck_assert_str_eq(l.v[99].value, "v");
	ck_assert_int_eq(ep_entry_list_add(&l, "", "", ""), 0);
	ck_assert_str_eq(l.v[100].group, "");

	ep_entry_list_release(&l);
	ck_assert_ptr_null(l.v);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(l.cap, 0);
}
END_TEST

/* --------------------------------------------------------- values */

struct value_case {
	const char *value;
	bool match;
	const char *module;
	const char *attr;
	const char *const *extras;
};

#define EXTRAS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_EXTRAS ((const char *const[]){NULL})

/*
 * Expected results computed with /usr/bin/python3 (3.11.2):
 *   m = importlib.metadata.EntryPoint.pattern.match(value)
 *   m.group('module'), m.group('attr'),
 *   re.findall(r'\w+', m.group('extras') or '')
 * (match false where m is None). The last ones are random strings over
 * the characters that matter: word and non-word, ASCII and Unicode
 * whitespace, '\n' (which '.' does not match and '$' matches before),
 * brackets, ':' and '.'.
 */
/* clang-format off */
static const struct value_case value_cases[] = {
	{ "mod", true, "mod", NULL, NO_EXTRAS },
	{ "mod:attr", true, "mod", "attr", NO_EXTRAS },
	{ "pkg.mod:obj.attr", true, "pkg.mod", "obj.attr", NO_EXTRAS },
	{ "a.b:c.d [x, y]", true, "a.b", "c.d", EXTRAS("x", "y") },
	{ "mod [a]", true, "mod", NULL, EXTRAS("a") },
	{ "mod:attr[a] ", true, "mod", "attr", EXTRAS("a") },
	{ "mod:attr [a,b] ", true, "mod", "attr", EXTRAS("a", "b") },
	{ "mod:attr  [ a , b ]  ", true, "mod", "attr", EXTRAS("a", "b") },
	{ "mod:[a]", false, NULL, NULL, NO_EXTRAS },
	{ "mod:", false, NULL, NULL, NO_EXTRAS },
	{ ":attr", false, NULL, NULL, NO_EXTRAS },
	{ "", false, NULL, NULL, NO_EXTRAS },
	{ " mod", false, NULL, NULL, NO_EXTRAS },
	{ "mod ", true, "mod", NULL, NO_EXTRAS },
	{ "mod ]", false, NULL, NULL, NO_EXTRAS },
	{ "mod [a", false, NULL, NULL, NO_EXTRAS },
	{ "mod [a] [b]", true, "mod", NULL, EXTRAS("a", "b") },
	{ "mod [a] x]", true, "mod", NULL, EXTRAS("a", "x") },
	{ "mod [a] x", false, NULL, NULL, NO_EXTRAS },
	{ "mod [a]\012", true, "mod", NULL, EXTRAS("a") },
	{ "mod [a\012]", false, NULL, NULL, NO_EXTRAS },
	{ "mod\012", true, "mod", NULL, NO_EXTRAS },
	{ "mod\012\012", true, "mod", NULL, NO_EXTRAS },
	{ "mod [a]\012 \012", true, "mod", NULL, EXTRAS("a") },
	{ "mod:attr.", true, "mod", "attr.", NO_EXTRAS },
	{ "..:..", true, "..", "..", NO_EXTRAS },
	{ ".", true, ".", NULL, NO_EXTRAS },
	{ "mod [[a]]", true, "mod", NULL, EXTRAS("a") },
	{ "mod []", true, "mod", NULL, NO_EXTRAS },
	{ "mod[]x", false, NULL, NULL, NO_EXTRAS },
	{ "mod:a b", false, NULL, NULL, NO_EXTRAS },
	{ "mod : attr", true, "mod", "attr", NO_EXTRAS },
	{ "mod: attr", true, "mod", "attr", NO_EXTRAS },
	{ "mod :attr", true, "mod", "attr", NO_EXTRAS },
	{ "mod:attr:more", false, NULL, NULL, NO_EXTRAS },
	{ "mod-name:attr", false, NULL, NULL, NO_EXTRAS },
	{ "mod/x", false, NULL, NULL, NO_EXTRAS },
	{
		"mod:attr [a-b, c.d, e_f]",
		true, "mod", "attr", EXTRAS("a", "b", "c", "d", "e_f") },
	{ "mod [a] [", false, NULL, NULL, NO_EXTRAS },
	{
		"mod [\303\251t\303\251, \331\241\331\242]",
		true, "mod", NULL,
		EXTRAS("\303\251t\303\251", "\331\241\331\242") },
	{
		"m\303\266d:\303\244ttr",
		true, "m\303\266d", "\303\244ttr", NO_EXTRAS },
	{
		"\302\262:\342\205\240",
		true, "\302\262", "\342\205\240", NO_EXTRAS },
	{
		"mod\302\240:\343\200\200attr\342\200\203[x]\342\200\250",
		true, "mod", "attr", EXTRAS("x") },
	{ "mod\342\200\213", false, NULL, NULL, NO_EXTRAS },
	{ "mod:attr\342\200\250", true, "mod", "attr", NO_EXTRAS },
	{ "mod [a]\342\200\250\342\200\251", true, "mod", NULL, EXTRAS("a") },
	{ "mod [a\342\200\250b]", true, "mod", NULL, EXTRAS("a", "b") },
	{ "mod [a\302\205b]", true, "mod", NULL, EXTRAS("a", "b") },
	{ "mod [a\015b]", true, "mod", NULL, EXTRAS("a", "b") },
	{ "mod [a\012b]", false, NULL, NULL, NO_EXTRAS },
	{ "mod [a] \012", true, "mod", NULL, EXTRAS("a") },
	{ "mod\012[a]", true, "mod", NULL, EXTRAS("a") },
	{ "mod \012 [a] \012 ", true, "mod", NULL, EXTRAS("a") },
	{ "mod:\012attr", true, "mod", "attr", NO_EXTRAS },
	{ "mod\037:\037attr", true, "mod", "attr", NO_EXTRAS },
	{ "mod [x] ]", true, "mod", NULL, EXTRAS("x") },
	{ "mod [x]] ", true, "mod", NULL, EXTRAS("x") },
	{ "mod [ ] ]", true, "mod", NULL, NO_EXTRAS },
	{ "mod [x]y]", true, "mod", NULL, EXTRAS("x", "y") },
	{ "mod[x][y]", true, "mod", NULL, EXTRAS("x", "y") },
	{ "mod   [x]   [y]   ", true, "mod", NULL, EXTRAS("x", "y") },
	{ "mod:attr[]", true, "mod", "attr", NO_EXTRAS },
	{ "mod:attr[,]", true, "mod", "attr", NO_EXTRAS },
	{ "mod:attr [,,a,,]", true, "mod", "attr", EXTRAS("a") },
	{ "\314\201", false, NULL, NULL, NO_EXTRAS },
	{ "a\314\201", false, NULL, NULL, NO_EXTRAS },
	{ "_:_", true, "_", "_", NO_EXTRAS },
	{ "mod:attr\011[x]\011", true, "mod", "attr", EXTRAS("x") },
	{ "mod;attr", false, NULL, NULL, NO_EXTRAS },
	{ "mod [a] # c", false, NULL, NULL, NO_EXTRAS },
	{ "mod # c", false, NULL, NULL, NO_EXTRAS },
	{
		"\316\243.\317\202:\307\205",
		true, "\316\243.\317\202", "\307\205", NO_EXTRAS },
	{ ":_\342\200\213bmod\331\243", false, NULL, NULL, NO_EXTRAS },
	{ "x1-", false, NULL, NULL, NO_EXTRAS },
	{ "\303\251", true, "\303\251", NULL, NO_EXTRAS },
	{ "bmod\302\240\302\240", true, "bmod", NULL, NO_EXTRAS },
	{ "\012mod", false, NULL, NULL, NO_EXTRAS },
	{
		"\302\240b-.\012\342\200\213\342\200\213-b",
		false, NULL, NULL, NO_EXTRAS },
	{ "b\012b\331\243:]\302\240", false, NULL, NULL, NO_EXTRAS },
	{ "\331\243.-", false, NULL, NULL, NO_EXTRAS },
	{ "\331\243 .--", false, NULL, NULL, NO_EXTRAS },
	{ "x1.\331\243mod", true, "x1.\331\243mod", NULL, NO_EXTRAS },
	{ "=", false, NULL, NULL, NO_EXTRAS },
	{ "\302\205\331\243\302\240,", false, NULL, NULL, NO_EXTRAS },
	{ "-\342\200\250x1]\012 \012mod", false, NULL, NULL, NO_EXTRAS },
	{ "\303\251\302\205,\342\200\250]", false, NULL, NULL, NO_EXTRAS },
	{ ".\303\251", true, ".\303\251", NULL, NO_EXTRAS },
	{ " ,:\302\205\302\240bmod", false, NULL, NULL, NO_EXTRAS },
	{ "-,,x1=\302\205-\342\200\250mod", false, NULL, NULL, NO_EXTRAS },
	{ "[\302\205", false, NULL, NULL, NO_EXTRAS },
	{ "b]", false, NULL, NULL, NO_EXTRAS },
	{ "]_x1a\342\200\250x1 =", false, NULL, NULL, NO_EXTRAS },
	{ "\302\205b", false, NULL, NULL, NO_EXTRAS },
	{ "]:\012_", false, NULL, NULL, NO_EXTRAS },
	{ "\302\205mod \342\200\250_\331\243[", false, NULL, NULL, NO_EXTRAS },
	{ "\302\240\331\243[", false, NULL, NULL, NO_EXTRAS },
	{ "x1_\012:mod :", false, NULL, NULL, NO_EXTRAS },
	{ "\012a\302\205-", false, NULL, NULL, NO_EXTRAS },
	{ "[]a", false, NULL, NULL, NO_EXTRAS },
	{ "\302\240\331\243x1", false, NULL, NULL, NO_EXTRAS },
	{ ":\303\251=\342\200\213b\342\200\250", false, NULL, NULL, NO_EXTRAS },
	{ "____.\302\205\342\200\213_b", false, NULL, NULL, NO_EXTRAS },
	{ "mod\011\342\200\250 ", true, "mod", NULL, NO_EXTRAS },
	{ ",=", false, NULL, NULL, NO_EXTRAS },
	{ ".", true, ".", NULL, NO_EXTRAS },
	{ "-", false, NULL, NULL, NO_EXTRAS },
	{ "\331\243.x1", true, "\331\243.x1", NULL, NO_EXTRAS },
	{ "mod", true, "mod", NULL, NO_EXTRAS },
	{ "=_:\342\200\213", false, NULL, NULL, NO_EXTRAS },
	{ "x1=x1\302\205.", false, NULL, NULL, NO_EXTRAS },
	{ "\302\205\342\200\250", false, NULL, NULL, NO_EXTRAS },
	{ "\302\205]mod:.,[\302\205", false, NULL, NULL, NO_EXTRAS },
	{ "\303\251a\011", true, "\303\251a", NULL, NO_EXTRAS },
	{
		"x1:\331\243a\303\251]\342\200\213mod[",
		false, NULL, NULL, NO_EXTRAS },
	{
		"x1 x1\012\331\243\331\243\303\251,\342\200\213",
		false, NULL, NULL, NO_EXTRAS },
	{ "=\011\012_", false, NULL, NULL, NO_EXTRAS },
	{ "\011\303\251\302\205x1", false, NULL, NULL, NO_EXTRAS },
	{ "a", true, "a", NULL, NO_EXTRAS },
	{ "\302\205[\011=x1", false, NULL, NULL, NO_EXTRAS },
	{ "x1x1mod\012.\012\302\205\011", false, NULL, NULL, NO_EXTRAS },
	{ "\011\302\205==a\302\205", false, NULL, NULL, NO_EXTRAS },
	{ "\342\200\213mod._\011\302\205", false, NULL, NULL, NO_EXTRAS },
	{ "\302\240\342\200\213,", false, NULL, NULL, NO_EXTRAS },
	{ "_\342\200\250", true, "_", NULL, NO_EXTRAS },
	{ "mod  :a:-", false, NULL, NULL, NO_EXTRAS },
	{ "\342\200\213:==\302\205x1:\331\243", false, NULL, NULL, NO_EXTRAS },
	{
		":aa\342\200\213.\303\251:\302\240\011",
		false, NULL, NULL, NO_EXTRAS },
	{ "a[\011]", true, "a", NULL, NO_EXTRAS },
	{ "\012-,[\331\243\302\240:bx1", false, NULL, NULL, NO_EXTRAS },
	{
		"-\303\251\302\240\303\251:\331\243:\303\251",
		false, NULL, NULL, NO_EXTRAS },
	{ "a\342\200\250 =a: :\302\205", false, NULL, NULL, NO_EXTRAS },
	{ "\331\243b", true, "\331\243b", NULL, NO_EXTRAS },
};
/* clang-format on */

START_TEST(test_value_table)
{
	for (size_t i = 0; i < ARRAY_LENGTH(value_cases); i++) {
		const struct value_case *c = &value_cases[i];
		struct ep_value v;
		size_t n = 0;
		int rc = ep_value_parse(c->value, &v);

		if (!c->match) {
			ck_assert_msg(rc == -EINVAL, "case %zu: rc %d", i, rc);
			/* a failed parse leaves nothing to release */
			ck_assert_ptr_null(v.module);
			ck_assert_ptr_null(v.attr);
			ck_assert_ptr_null(v.extras);
			ck_assert_uint_eq(v.n_extras, 0);
			continue;
		}
		ck_assert_msg(rc == 0, "case %zu: rc %d", i, rc);
		ck_assert_msg(strcmp(v.module, c->module) == 0,
			      "case %zu: module \"%s\" want \"%s\"", i,
			      v.module, c->module);
		if (c->attr)
			ck_assert_msg(v.attr && strcmp(v.attr, c->attr) == 0,
				      "case %zu: attr \"%s\" want \"%s\"", i,
				      v.attr ? v.attr : "(null)", c->attr);
		else
			ck_assert_msg(!v.attr, "case %zu: attr \"%s\"", i,
				      v.attr);
		while (c->extras[n])
			n++;
		ck_assert_msg(v.n_extras == n, "case %zu: %zu extras want %zu",
			      i, v.n_extras, n);
		for (size_t k = 0; k < n; k++)
			ck_assert_msg(strcmp(v.extras[k], c->extras[k]) == 0,
				      "case %zu: extra %zu \"%s\" want \"%s\"",
				      i, k, v.extras[k], c->extras[k]);
		ep_value_release(&v);
	}
}
END_TEST

START_TEST(test_value_invalid_utf8)
{
	/* bytes that are not UTF-8 are neither \w nor \s */
	struct ep_value v;

	ck_assert_int_eq(ep_value_parse("mod\377", &v), -EINVAL);
	ck_assert_int_eq(ep_value_parse("\303", &v), -EINVAL);
	ck_assert_int_eq(ep_value_parse("mod:\355\240\200", &v), -EINVAL);
	ck_assert_int_eq(ep_value_parse("mod [a\377b]", &v), 0);
	ck_assert_str_eq(v.module, "mod");
	ck_assert_uint_eq(v.n_extras, 2);
	ck_assert_str_eq(v.extras[0], "a");
	ck_assert_str_eq(v.extras[1], "b");
	ep_value_release(&v);
	ck_assert_int_eq(ep_value_parse("m\303\251d [\303]", &v), 0);
	ck_assert_str_eq(v.module, "m\303\251d");
	ck_assert_uint_eq(v.n_extras, 0);
	ep_value_release(&v);
}
END_TEST

START_TEST(test_value_release)
{
	struct ep_value v;

	ck_assert_int_eq(ep_value_parse("a.b:c [d, e]", &v), 0);
	ep_value_release(&v);
	ck_assert_ptr_null(v.module);
	ck_assert_ptr_null(v.extras);
	/* released twice, or NULL: harmless */
	ep_value_release(&v);
	ep_value_release(NULL);
}
END_TEST

static Suite *
parser_suite(void)
{
	Suite *s = suite_create("parser");
	TCase *tc;

	tc = tcase_create("entry-points");
	tcase_add_test(tc, test_entry_points_table);
	tcase_add_test(tc, test_entry_points_warning_text);
	tcase_add_test(tc, test_entry_points_length);
	tcase_add_test(tc, test_entry_points_word_offsets);
	tcase_add_test(tc, test_entry_points_many);
	tcase_add_test(tc, test_entry_points_appends);
	tcase_add_test(tc, test_entry_points_chunks);
	tcase_add_test(tc, test_entry_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("value");
	tcase_add_test(tc, test_value_table);
	tcase_add_test(tc, test_value_invalid_utf8);
	tcase_add_test(tc, test_value_release);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(parser_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
