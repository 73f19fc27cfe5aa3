#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate the conformance corpus: path-entry directories full of edge cases.

    gen-corpus.py DEST [--verify PYTHON] [--quiet]
    gen-corpus.py DEST --mutate {add-remove,inplace,real}

DEST must not exist (or be empty).  Everything is generated deterministically
(fixed names, fixed contents, fixed creation order); only the directory
listing order is up to the filesystem, and both sides of the comparison see
the same listing.

Layout of DEST:

  good/          path entries on which importlib.metadata does NOT raise
    a/             distribution names, dedup, METADATA/PKG-INFO corner cases
    b/             overlaps with a/ (shadowing), listing-order grouping
    c/             entry_points.txt parsing corner cases
    u/             unicode (and non-UTF-8) distribution directory names
    nul/           NUL characters in entry_points.txt and METADATA
    e/             an empty directory
    Legacy_Pkg-1.0-py3.11.egg/  mixed.EGG/  trail.egg/  fileegg.egg/
                   .egg path entries (EGG-INFO children)
    not-a-dir.txt  a regular file used as a path entry (not a zip)
    (does-not-exist is used as a path entry but never created)
  targets/       targets of symlinked dist-info directories (never on the path)
  bad/CASE/      one path entry per case on which importlib RAISES
  bad-fixed/CASE/ the same with the offending line or distribution removed:
                 what "everything else" must look like
  MANIFEST.json  cases, path lists, bad-case expectations (read by
                 run-conformance.py)

--verify PYTHON runs importlib-dump.py (next to this script) with PYTHON on
every good path list (must not raise), on every bad case (must raise) and on
every bad-fixed case (must not raise); exit status 1 if any of that is not so.

--mutate changes an existing corpus to make caches stale (used by
run-conformance.py): "add-remove" adds a distribution to good/a and removes
one from good/b (both change the directory mtime); "inplace" upgrades a
distribution of good/c in place (replaces its entry_points.txt by rename,
which changes only the dist-info directory's mtime: only the strict mode can
see it); "real" adds a distribution to DEST/real/dist-packages if present.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = []          # [{"name", "where", "desc"}]
BAD_CASES = []      # see bad_case()


def meta(name, version=None, extra=""):
    s = "Metadata-Version: 2.1\nName: %s\n" % name
    if version is not None:
        s += "Version: %s\n" % version
    return s + extra


class Gen:
    def __init__(self, dest):
        self.dest = os.path.abspath(dest)

    def p(self, rel):
        if isinstance(rel, bytes):
            return os.path.join(os.fsencode(self.dest), rel)
        return os.path.join(self.dest, rel)

    def mkdir(self, rel):
        os.makedirs(self.p(rel), exist_ok=True)

    def write(self, rel, data):
        """Write bytes exactly (str is encoded as UTF-8, no newline translation)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def symlink(self, rel, target):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    def dist(self, site, dirname, metadata=None, eps=None, meta_file="METADATA",
             case=None, desc=None, files=None):
        """Create SITE/DIRNAME/ with METADATA (or meta_file) and entry_points.txt.

        metadata/eps: None = file absent; str/bytes = exact content.
        dirname may be bytes (non-UTF-8 names)."""
        if isinstance(dirname, bytes):
            d = os.fsencode(site) + b"/" + dirname
            join = lambda a, b: a + b"/" + os.fsencode(b)  # noqa: E731
        else:
            d = site + "/" + dirname
            join = lambda a, b: a + "/" + b  # noqa: E731
        self.mkdir(d)
        if metadata is not None:
            self.write(join(d, meta_file), metadata)
        if eps is not None:
            self.write(join(d, "entry_points.txt"), eps)
        for fname, content in (files or {}).items():
            self.write(join(d, fname), content)
        if case:
            CASES.append({"name": case, "where": site + "/" + os.fsdecode(dirname),
                          "desc": desc or ""})


def case(name, where, desc):
    CASES.append({"name": name, "where": where, "desc": desc})


# ---------------------------------------------------------------------------
# good/a: names, dedup, metadata
# ---------------------------------------------------------------------------

def gen_a(g):
    A = "good/a"
    g.mkdir(A)
    # Same normalized name (foo_bar) several times in one directory, spelled
    # with different case and [-_.] runs.  Only the first in importlib's
    # order survives.  NB "FOO-BAR-3" is *foo* (name ends at the first '-').
    for dirname, name, ver, tag in [
        ("Foo_Bar-1.0.dist-info", "Foo_Bar", "1.0", "foo_bar_1"),
        ("foo.bar-2.0.dist-info", "foo.bar", "2.0", "foo_bar_2"),
        ("FOO-BAR-3.dist-info", "FOO-BAR", "3", "foo_3"),
        ("FOO_BAR-3.dist-info", "FOO_BAR", "3", "foo_bar_3"),
        ("foo__bar-4.dist-info", "foo__bar", "4", "foo_bar_4"),
        ("foo._-bar-5.dist-info", "foo._-bar", "5", "foo_bar_5"),
        ("Foo-0.1.dist-info", "Foo", "0.1", "foo_0"),
    ]:
        g.dist(A, dirname, meta(name, ver),
               "[dup]\nep = a.%s:main\n[dup.%s]\nown = a.%s\n" % (tag, tag, tag),
               case="a/samename/" + dirname,
               desc="same normalized name spelled differently in one directory")

    # Mixed-case suffix: discovered (lowercase endswith) but splitext is
    # case-sensitive, so _normalized_name falls back to the Name header.
    g.dist(A, "Mixed-1.0.DIST-INFO", meta("mixed-other", "1.0"),
           "[dup]\nep = a.Mixed_DIST_INFO:main\n",
           case="a/mixed-suffix-name-fallback",
           desc=".DIST-INFO: dedup key from Name (mixed_other), listing key from stem (mixed)")
    g.dist(A, "mixed-2.0.dist-info", meta("mixed", "2.0"),
           "[dup]\nep = a.mixed_2:main\n",
           case="a/mixed-lower", desc="same listing key as Mixed-1.0.DIST-INFO, different dedup key")
    g.dist(A, "Egg_Case-1.0.Egg-Info", meta("Egg-Case", "1.0"),
           "[dup]\nep = a.Egg_Case_Egg_Info:main\n", meta_file="PKG-INFO",
           case="a/egg-info-mixed-suffix", desc=".Egg-Info directory with PKG-INFO, name from header")
    g.dist(A, "egg_case-2.0.egg-info", meta("egg_case", "2.0"),
           "[dup]\nep = a.egg_case_2:main\n", meta_file="PKG-INFO",
           case="a/egg-info-dup", desc="same key as Egg_Case-1.0.Egg-Info; listing order decides")
    g.dist(A, "Dedup.DIST-INFO", meta("foo-bar", "6"),
           "[dup]\nep = a.Dedup_DIST_INFO:main\n",
           case="a/cross-key-dedup",
           desc="listing key 'dedup' but dedup key foo_bar (from Name): competes with Foo_Bar-1.0")
    g.dist(A, "SpaceName.Dist-Info", meta("Space Name", "1"),
           "[dup]\nep = a.SpaceName:main\n",
           case="a/name-with-space", desc="dedup key 'space name' (space is not normalized)")
    g.dist(A, "TrailKey.DIST-INFO", "Name: mixed   \nVersion: 1\n",
           "[dup]\nep = a.TrailKey:main\n",
           case="a/name-trailing-space-key",
           desc="Name 'mixed   ' keeps its spaces: key 'mixed   ' != 'mixed'")

    # egg-info directory and egg-info / dist-info FILES.
    g.dist(A, "eggdir-1.0.egg-info", meta("eggdir", "1.0"),
           "[dup]\nep = a.eggdir:main\n", meta_file="PKG-INFO",
           case="a/egg-info-dir", desc="egg-info directory with PKG-INFO")
    g.write(A + "/eggfile-1.0.egg-info",
            "Metadata-Version: 1.0\nName: eggfile\nVersion: 1.0\nSummary: PKG-INFO in a file\n")
    case("a/egg-info-file", A + "/eggfile-1.0.egg-info",
         "egg-info FILE: metadata read from the file itself, no entry points, shadows b/eggfile")
    g.write(A + "/regfile-1.0.dist-info", "Name: regfile\nVersion: 9\n")
    case("a/dist-info-regular-file", A + "/regfile-1.0.dist-info",
         "a regular FILE named x.dist-info: a distribution without entry points (shadows b/regfile)")
    g.write(A + "/EggFileUpper.EGG-INFO", "Name: eggfileupper\nVersion: 3\n")
    case("a/egg-info-file-upper", A + "/EggFileUpper.EGG-INFO",
         "egg-info file with mixed-case suffix: key from its Name header (shadows b)")
    g.write(A + "/emptyfile-1.0.dist-info", "")
    case("a/dist-info-empty-file", A + "/emptyfile-1.0.dist-info", "empty regular file dist")

    g.dist(A, "noeps-1.0.dist-info", meta("noeps", "1.0"), None,
           case="a/no-entry-points", desc="dist-info without entry_points.txt (shadows b/noeps)")
    g.dist(A, "epdir-1.0.dist-info", meta("epdir", "1.0"), None,
           case="a/entry-points-is-dir", desc="entry_points.txt is a directory")
    g.mkdir(A + "/epdir-1.0.dist-info/entry_points.txt")
    g.dist(A, "emptyeps-1.0.dist-info", meta("emptyeps", "1.0"), "",
           case="a/entry-points-empty", desc="empty entry_points.txt")
    g.dist(A, "epslink-1.0.dist-info", meta("epslink", "1.0"), None,
           case="a/entry-points-dangling-symlink", desc="entry_points.txt is a dangling symlink")
    g.symlink(A + "/epslink-1.0.dist-info/entry_points.txt", "nowhere.txt")

    # METADATA corner cases
    g.dist(A, "nometa-1.0.dist-info", None, "[meta]\nnometa = a.nometa\n",
           case="a/no-metadata", desc="no METADATA: dist name and version are null")
    g.dist(A, "emptymeta-1.0.dist-info", "", "[meta]\nemptymeta = a.emptymeta\n",
           files={"PKG-INFO": meta("emptymeta-from-pkginfo", "7")},
           case="a/empty-metadata-pkginfo", desc="empty METADATA: PKG-INFO is read instead")
    g.dist(A, "wsmeta-1.0.dist-info", "\n", "[meta]\nwsmeta = a.wsmeta\n",
           files={"PKG-INFO": meta("wsmeta-from-pkginfo", "7")},
           case="a/blank-line-metadata", desc="METADATA is '\\n' (truthy): PKG-INFO NOT read, Name null")
    g.dist(A, "metadir-1.0.dist-info", None, "[meta]\nmetadir = a.metadir\n",
           files={"PKG-INFO": meta("metadir-from-pkginfo", "8")},
           case="a/metadata-is-dir", desc="METADATA is a directory: PKG-INFO is read")
    g.mkdir(A + "/metadir-1.0.dist-info/METADATA")
    g.dist(A, "pkgonly-1.0.dist-info", meta("pkgonly", "1"), "[meta]\npkgonly = a.pkgonly\n",
           meta_file="PKG-INFO", case="a/dist-info-pkginfo-only", desc="dist-info with PKG-INFO only")
    g.dist(A, "both-1.0.egg-info", meta("both-from-metadata", "1"), "[meta]\nboth = a.both\n",
           files={"PKG-INFO": meta("both-from-pkginfo", "2")},
           case="a/egg-info-metadata-wins", desc="egg-info dir with METADATA and PKG-INFO: METADATA wins")
    for dirname, text, desc in [
        ("folded-1.0.dist-info", "Name: folded\n  name\nVersion: 1.0\n\tpost\n",
         "folded Name/Version headers (compat32 + textwrap.dedent(' '*8 + value))"),
        ("folded2-1.0.dist-info", "Name: folded2\n \nVersion:\n  2.0\n",
         "folded header with a whitespace-only continuation; value on continuation line"),
        ("folded3-1.0.dist-info", "Name: folded3\n\tx\n  y\nVersion: 3\n",
         "folded header, tab vs space margins"),
        ("dupname-1.0.dist-info", "Name: first\nName: second\nVersion: 1\nVersion: 2\n",
         "duplicate Name/Version headers: the first wins"),
        ("trailing-1.0.dist-info", "Name: trailing   \nVersion: 1.0  \n",
         "trailing spaces kept in Name and Version"),
        ("lowerhdr-1.0.dist-info", "name:lowerhdr\nversion:\t2\n",
         "header names are case-insensitive; value lstripped of ' \\t'"),
        ("nbsp-1.0.dist-info", "Name: \u00a0nbsp\u00a0\nVersion: 1\n",
         "NBSP around the Name is kept (only ' \\t' are stripped)"),
        ("spacecolon-1.0.dist-info", "Name : spacecolon\nVersion: 1\n",
         "'Name :' is not a header line: headers end, Name and Version null"),
        ("bommeta-1.0.dist-info", "\ufeffName: bommeta\nVersion: 1\n",
         "UTF-8 BOM in METADATA: first line is not a header, Name null"),
        ("fromline-1.0.dist-info", "From nobody\nName: fromline\nVersion: 1\n",
         "'From ' envelope line first"),
        ("crlfmeta-1.0.dist-info", "Name: crlf\r\n  meta\r\nVersion: 1\r\n",
         "CRLF METADATA with a folded Name (newlines translated before parsing)"),
        ("crmeta-1.0.dist-info", "Name: crmeta\rVersion: 1\r",
         "lone CR line endings in METADATA"),
        ("ffmeta-1.0.dist-info", "Name: ff\x0cmeta\u2028x\nVersion: 1\n",
         "\\x0c and U+2028 are NOT line breaks for the email parser"),
        ("bodyname-1.0.dist-info", "Version: 1\n\nName: bodyname\n",
         "Name after the blank line is body, not a header"),
        ("garbage-1.0.dist-info", "Metadata-Version: 2.1\ngarbage line\nName: garbage\n",
         "a non-header line ends the headers"),
        ("contfirst-1.0.dist-info", " leading continuation\nName: contfirst\nVersion: 1\n",
         "first line is a continuation: ignored"),
        ("colonfirst-1.0.dist-info", "Name: colonfirst\n:novalue\nVersion: 5\n",
         "a line starting with ':' is skipped but does not end the headers"),
        ("emptyname-1.0.dist-info", "Name:\nVersion:\n", "empty Name and Version headers"),
        ("noeolmeta-1.0.dist-info", "Name: noeol\nVersion: 1", "no newline at the end of METADATA"),
        ("latemeta-1.0.dist-info", "Metadata-Version: 2.1\nSummary: x\nVersion: 4\nName: late\n",
         "Name after Version"),
        ("From-1.0.dist-info", "Name: fromlast\nFrom here\n",
         "'From ' as the last header line goes to the body"),
        ("From2-1.0.dist-info", "Name: frommid\nFrom here\nVersion: 3\n",
         "misplaced 'From ' line in the middle is ignored"),
    ]:
        tag = dirname.split("-")[0]
        g.dist(A, dirname, text, "[meta]\n%s = a.%s\n" % (tag, tag),
               case="a/metadata/" + dirname, desc=desc)
    g.dist(A, "unimeta-1.0.dist-info", meta("Ünïcödé Dist", "1.0.post1+ü"),
           "[meta]\nunimeta = a.unimeta\n", case="a/unicode-metadata", desc="unicode Name/Version")
    g.dist(A, "badmeta-noeps-1.0.dist-info", b"Name: caf\xe9\nVersion: 1\n", None,
           case="a/bad-utf8-metadata-never-read",
           desc="invalid UTF-8 METADATA, valid stem, no entry points: importlib never reads it")

    # Stems without versions or with odd shapes
    g.dist(A, "nover.dist-info", "Name: nover\n", "[stem]\nnover = a.nover\n",
           case="a/stem-without-version", desc="foo.dist-info, no Version header")
    g.dist(A, "-1.0.dist-info", meta("dashless", "1.0"), "[stem]\ndashless = a.dashless\n",
           case="a/stem-empty-name", desc="'-1.0.dist-info': empty stem name, key from Name")
    g.dist(A, ".dist-info", meta("hiddenstem", "1.0"), "[stem]\nhiddenstem = a.hiddenstem\n",
           case="a/stem-dotfile", desc="'.dist-info': splitext finds no extension, key from Name")
    g.dist(A, "..dist-info", meta("dotdotstem", "1.0"), "[stem]\ndotdotstem = a.dotdotstem\n",
           case="a/stem-dotdot", desc="'..dist-info': no extension for splitext either")
    g.dist(A, "_.dist-info", meta("underscore", "1.0"), "[stem]\nunderscore = a.underscore\n",
           case="a/stem-underscore", desc="'_.dist-info': key '_'")
    g.dist(A, "x.y.z-1.0-py3-none-any.dist-info", meta("x.y.z", "1.0"),
           "[stem]\nxyz = a.xyz\n", case="a/stem-dots", desc="dots in the name part")
    g.dist(A, "EmptyKey1.DIST-INFO", "Name:\n", "[stem]\nemptykey1 = a.emptykey1\n",
           case="a/empty-name-key", desc="invalid suffix, Name '' : key ''")
    g.dist(A, "EmptyKey2.DIST-INFO", "Name: \n", "[stem]\nemptykey2 = a.emptykey2\n",
           case="a/empty-name-key-dup", desc="another key '' : only one of the two survives")

    # Symlinks
    g.symlink(A + "/dangling-1.0.dist-info", "../../targets/does-not-exist")
    case("a/dangling-symlink-dist", A + "/dangling-1.0.dist-info",
         "dangling symlink named like a dist-info: a dist with no metadata, shadows b/dangling")
    g.dist("targets", "linked-real", meta("linked", "1.0"), "[stem]\nlinked = a.linked\n")
    g.symlink(A + "/linked-1.0.dist-info", "../../targets/linked-real")
    case("a/symlinked-dist", A + "/linked-1.0.dist-info", "dist-info that is a symlink to a directory")

    # Children that only look like distributions
    for dirname in ["foo.dist-info.bak", "dist-info-stuff", "bar.dist-infox", "baz.dist-info~",
                    "qux.distinfo", "quux.egg-info.old", "egg-info", "EGG-INFO", "dist-info",
                    "corge.dist_info", "grault.dist-info ", "garply.egg-inf"]:
        g.dist(A, dirname, meta("notadist-" + dirname.strip(), "0"),
               "[dup]\nep = SHOULD.NOT.APPEAR:%s\n" % dirname.strip().replace(".", "_"),
               case="a/not-a-dist/" + dirname,
               desc="not discovered: name does not END with .dist-info/.egg-info (or not a .egg entry)")
    g.write(A + "/README.txt", "not a distribution\n")
    g.write(A + "/module.py", "x = 1\n")


# ---------------------------------------------------------------------------
# good/b: overlaps with a/, listing order
# ---------------------------------------------------------------------------

def gen_b(g):
    B = "good/b"
    g.mkdir(B)
    for dirname, name, tag in [
        ("foo_bar-0.5.dist-info", "foo_bar", "foo_bar"),
        ("eggfile-2.0.dist-info", "eggfile", "eggfile"),
        ("regfile-2.0.dist-info", "regfile", "regfile"),
        ("noeps-2.0.dist-info", "noeps", "noeps"),
        ("epdir-2.0.dist-info", "epdir", "epdir"),
        ("dangling-2.0.dist-info", "dangling", "dangling"),
        ("mixed_other-5.dist-info", "mixed_other", "mixed_other"),
        ("eggfileupper-1.dist-info", "eggfileupper", "eggfileupper"),
        ("unique_b-1.0.dist-info", "unique_b", "unique_b"),
        ("Space_Name-1.dist-info", "Space_Name", "space_name"),
    ]:
        g.dist(B, dirname, meta(name, "9.9"), "[dup]\nep = b.%s:main\n[shadow]\n%s = b.%s\n"
               % (tag, tag, tag),
               case="b/overlap/" + dirname,
               desc="shadowed when good/a (or an .egg) comes first on the path")

    # Dedup key ας_b: shadowed by u/ΑΣ.B-1.dist-info when good/u comes first
    # (whose dedup key is ας_b although its listing key is ασ_b).
    g.dist(B, "\u03b1\u03c2_b-3.dist-info", meta("\u03b1\u03c2_b", "3"), "[uni]\nsigma_final = b.sigma_final\n",
           case="b/sigma-final", desc="ας_b: same dedup key as u/ΑΣ.B-1.dist-info")

    # Listing-order grouping: importlib groups a directory's children by the
    # normalized lowercase stem (first appearance), so entries of different
    # distributions sharing a stem key come out together, even if the
    # listing interleaves them.  Dedup keys come from the Name headers
    # (invalid-case suffixes), so all of them survive.
    names = [("Order.DIST-INFO", "order-1"), ("other.DIST-INFO", "other-1"),
             ("order.Dist-Info", "order-2"), ("OTHER.Dist-Info", "other-2"),
             ("ORDER.dist-INFO", "order-3"), ("Other.DIST-info", "other-3"),
             ("order-4.dist-info", "order-4"), ("other-4.dist-info", "other-4"),
             ("ORDER-5.Dist-Info", "order-5"), ("OTHER-5.Dist-Info", "other-5")]
    for dirname, name in names:
        g.dist(B, dirname, meta(name, "1"),
               "[order]\n%s = b.%s\n" % (name, name.replace("-", "_")),
               case="b/grouping/" + dirname,
               desc="listing key order/other, dedup key from Name: emitted grouped by listing key")
    # A second set, many names, to make interleaving in the listing likely on
    # any filesystem.
    for i in range(12):
        for stem in ("Kappa", "Lambda", "Mu"):
            suffix = ["DIST-INFO", "Dist-Info", "dist-INFO", "EGG-INFO"][i % 4]
            dirname = "%s-%d.%s" % (stem.upper() if i % 2 else stem, i, suffix)
            name = "%s-%d" % (stem.lower(), i)
            g.dist(B, dirname, meta(name, str(i)),
                   "[order2]\n%s = b.%s\n" % (name, name.replace("-", "_")),
                   meta_file="PKG-INFO" if suffix == "EGG-INFO" else "METADATA")
    case("b/grouping2", B, "36 invalid-suffix dists under 3 listing keys, interleaved")


# ---------------------------------------------------------------------------
# good/c: entry_points.txt parsing
# ---------------------------------------------------------------------------

PARSE_BASIC = """\
# comment before any section
stray line without equals before any section
stray = before section (ignored)
   \t
[grp]
# comment
   # indented comment
   ; semicolon = is not a comment
  indented = pkg.mod:func
plain=pkg.mod
spaced   =   pkg.mod : obj.attr   [ extra1 , extra2 ]
extras = pkg.mod:attr [ a b , c-d,e_f ]
extras2 = pkg.mod [x]
eq = a=b=c
==
 = emptyname
emptyvalue =
dupkey = first
dupkey = second
badgrammar = this is not:valid [x
badgrammar2 = pkg.mod:attr junk
badgrammar3 = :attr
badgrammar4 = pkg-with-dash.mod:attr
path = /usr/bin/thing --flag=1
[a=b
[x] y = z
#[commented.section]
still = grp
[[double]]
d = 1
[x]]]
x1 = 1
[[x]
x2 = 2
[]
emptygroup = x
[]]
emptygroup2 = y
[ spaced group ]
s = 1
[ ]
blankgroup = 1
[]x]
x3 = 3
[x] ]
x4 = 4
[grp]
again = reopened
[Grp]
case = upper
[GRP]
case = allupper
"""


def gen_c(g):
    C = "good/c"
    g.mkdir(C)
    m = lambda n: meta(n, "1.0")  # noqa: E731

    g.dist(C, "parse_basic-1.0.dist-info", m("parse-basic"), PARSE_BASIC,
           case="c/basic", desc="comments, blank/indented lines, stray lines, [[x]], [], "
           "duplicate keys, '=' in values, extras, bad grammar, reopened sections")
    body = "[crlf]\r\na = 1\r\n  b = 2  \r\n\r\n# c\r\n[crlf2]\r\nc = 3\r\n"
    g.dist(C, "ep_crlf-1.0.dist-info", m("ep-crlf"), body, case="c/crlf", desc="CRLF endings")
    body = "[cr]\ra = 1\r  b = 2  \r\r# c\r[cr2]\rc = 3\r"
    g.dist(C, "ep_cr-1.0.dist-info", m("ep-cr"), body, case="c/lone-cr", desc="lone CR endings")
    body = "[mixed]\na = 1\r\nb = 2\rc = 3\n\r\nd = 4\r\r\ne = 5"
    g.dist(C, "ep_mixednl-1.0.dist-info", m("ep-mixednl"), body,
           case="c/mixed-newlines", desc="\\n, \\r\\n, \\r mixed; no final newline")
    body = "\ufeff[bomgrp]\nlost = yes\n[bomgrp2]\nkept = yes\n"
    g.dist(C, "ep_bom-1.0.dist-info", m("ep-bom"), body,
           case="c/bom-before-section",
           desc="UTF-8 BOM is not stripped: '\\ufeff[bomgrp]' is a stray line, section lost")
    body = "\ufeff# comment\n[bomc]\nkept = yes\n"
    g.dist(C, "ep_bom2-1.0.dist-info", m("ep-bom2"), body,
           case="c/bom-before-comment", desc="BOM + comment = stray line before any section")
    body = ("[sep]\na = 1\x0cb = 2\x1cc = 3\x1dd = 4\x1ee = 5\x85f = 6\u2028g = 7"
            "\u2029h = 8\x0bi = 9\x1fj = 10\n"
            "k\x1f=\x1fv\x1f\n[sep2]\x0cz = 26\n")
    g.dist(C, "ep_seps-1.0.dist-info", m("ep-seps"), body,
           case="c/splitlines-boundaries",
           desc="\\x0b \\x0c \\x1c \\x1d \\x1e \\x85 U+2028 U+2029 split lines; \\x1f is only whitespace")
    body = ("[ws]\n"
            "\ttab\t=\tpkg.tab\t\n"
            "\u00a0nbsp\u00a0=\u00a0pkg.nbsp\u00a0\n"
            "\u3000ideo\u3000=\u3000pkg.ideo\u3000\n"
            "\u2003em\u2003=\u2003pkg.em\u2003\n"
            "\u1680ogham = pkg.ogham\u205f\n"
            "\u202fnnbsp = pkg.nnbsp\u202f\n"
            "\u200bzwsp\u200b = \u200bpkg.zwsp\u200b\n"
            "\ufeffbomname = pkg.bomname\ufeff\n"
            "\u180emvs = pkg.mvs\u180e\n"
            "inner space = pkg.inner space\n"
            "\u00a0[notsection]\u00a0x = 1\n"
            "\u3000[ws2]\u3000\n"
            "in_ws2 = 1\n")
    g.dist(C, "ep_ws-1.0.dist-info", m("ep-ws"), body,
           case="c/unicode-whitespace",
           desc="str.strip() strips Unicode whitespace (NBSP, U+3000, U+2003...) but not "
           "U+200B/U+FEFF/U+180E")
    body = "[noeol]\nlast = no newline at end"
    g.dist(C, "ep_noeol-1.0.dist-info", m("ep-noeol"), body, case="c/no-final-newline",
           desc="no newline at the end of the file")
    body = "[big]\n" + "".join("ep%04d = big.mod%04d:func [x]\n" % (i, i) for i in range(2000))
    body += "[huge]\nlong = " + "m" * 70000 + ":a\n" + "[" + "g" * 5000 + "]\nlonggroup = 1\n"
    g.dist(C, "ep_big-1.0.dist-info", m("ep-big"), body, case="c/big",
           desc="2000 entries in one group, a 70000-character value, a 5000-character group")
    body = ("[Z]\nz = 1\n[a]\na = 1\n[_]\nu = 1\n[-dash]\nd = 1\n[é]\ne1 = 1\n"
            "[e\u0301]\ne2 = 1\n[ｚ]\nfw = 1\n[😀]\nemoji = 1\n[\U0001F600x]\nemoji2 = 1\n"
            "[\uffff]\nmax_bmp = 1\n[\ue000]\npua = 1\n[grp]\nfromorder = 1\n[~]\ntilde = 1\n"
            "[ grp]\nlead = 1\n[grp ]\ntrail = 1\n[İ]\ni = 1\n[i̇]\ni2 = 1\n")
    g.dist(C, "ep_order-1.0.dist-info", m("ep-order"), body, case="c/group-sort-order",
           desc="groups sorted by code point (not UTF-16, not locale, no normalization)")
    body = ("[uni.grüppe]\nnaïve = pkg.naïve:fünc\n名前 = 包.模块:函数\nİ = pkg.i\n"
            "K = pkg.kelvin\nσ = s\nς = s2\n[组]\nx = 1\n")
    g.dist(C, "ep_uni-1.0.dist-info", m("ep-uni"), body, case="c/unicode-names",
           desc="unicode groups, names and values")
    # Interleaved groups across several dists, to check group-sorted output
    # keeps distribution order within each group.
    for i in range(6):
        body = "[zz.shared]\nn%d = c.z%d\n[aa.shared]\nn%d = c.a%d\n[zz.shared]\nm%d = c.zz%d\n" \
            % (i, i, i, i, i, i)
        g.dist(C, "ep_multi%d-1.0.dist-info" % i, m("ep-multi%d" % i), body,
               case="c/multi/%d" % i, desc="same groups in several dists, reopened sections")
    # The dist that is upgraded in place by --mutate inplace
    g.dist(C, "inplace-1.0.dist-info", m("inplace"), "[inplace]\nold = c.inplace:old\n",
           case="c/inplace-target", desc="target of the in-place upgrade (strict mode)")


# ---------------------------------------------------------------------------
# good/nul: NUL characters (importlib keeps them; argv and C strings cannot)
# ---------------------------------------------------------------------------

def gen_nul(g):
    N = "good/nul"
    g.mkdir(N)
    body = "[nul]\nnul = a\x00b\nn\x00ul = c\nplain = d\n[g\x00x]\ny = 1\n[nul.after]\nz = 1\n"
    g.dist(N, "ep_nul-1.0.dist-info", meta("ep-nul", "1.0"), body, case="nul/entry-points",
           desc="NUL inside a value, a name and a group: importlib keeps them as they are")
    g.dist(N, "nulmeta-1.0.dist-info", "Name: nul\x00meta\nVersion: 1\n",
           "[nul]\nnulmeta = nul.meta\n", case="nul/metadata", desc="NUL inside the Name header")
    g.dist(N, "nul_control-1.0.dist-info", meta("nul-control", "1.0"),
           "[nul]\ncontrol = nul.control\n", case="nul/control", desc="no NUL at all")


# ---------------------------------------------------------------------------
# good/u: unicode (and non-UTF-8) directory names
# ---------------------------------------------------------------------------

def gen_u(g):
    U = "good/u"
    g.mkdir(U)
    for dirname, tag, desc in [
        ("\u212aelvin-1.0.dist-info", "kelvin_sign", "KELVIN SIGN lowercases to ASCII k"),
        ("kelvin-2.0.dist-info", "kelvin", "same key as the KELVIN SIGN spelling"),
        ("\u0130stanbul-1.0.dist-info", "I_dot", "'İ'.lower() is 'i' + U+0307 (two code points)"),
        ("i\u0307stanbul-2.0.dist-info", "i_combining", "same key as İstanbul"),
        ("istanbul-3.0.dist-info", "istanbul", "different key from İstanbul"),
        ("\u0131stanbul-4.0.dist-info", "dotless", "dotless ı: its own key"),
        ("\u01c5emal-1.0.dist-info", "titlecase", "titlecase ǅ lowercases to ǆ"),
        ("\u01c6emal-2.0.dist-info", "lower_dz", "same key as ǅemal"),
        ("Stra\u00dfe-1.0.dist-info", "strasse_sz", "ß stays ß"),
        ("strasse-2.0.dist-info", "strasse", "different key from Straße"),
        ("\uff26\uff4f\uff4f-1.0.dist-info", "fullwidth_upper", "fullwidth Ｆｏｏ -> ｆｏｏ"),
        ("\uff46\uff4f\uff4f-2.0.dist-info", "fullwidth_lower", "same key as Ｆｏｏ, not foo"),
        # Greek final sigma: str.lower() maps Σ to ς at the end of a word
        # (Final_Sigma, with case-ignorable characters such as '.' skipped).
        # importlib lowercases the whole child name for the listing key but
        # the re.sub()'d stem name for the dedup key, so they can differ.
        ("\u0391\u03a3.B-1.dist-info", "sigma_dot",
         "ΑΣ.B: listing key ασ_b, dedup key ας_b (final sigma before '-'): "
         "both ΑΣ.B and ασ.b survive"),
        ("\u03b1\u03c3.b-2.dist-info", "sigma_medial", "ασ.b: both keys ασ_b"),
        ("\u039f\u03a3\u039f\u03a3-1.0.dist-info", "osos_upper", "ΟΣΟΣ -> οσος"),
        ("\u03bf\u03c3\u03bf\u03c3-2.0.dist-info", "osos_lower", "οσοσ: NOT the same key as ΟΣΟΣ"),
        ("\u00c9t\u00e9-1.0.dist-info", "ete_upper", "Été -> été"),
        ("e\u0301te\u0301-2.0.dist-info", "ete_nfd", "NFD spelling: no normalization, own key"),
        ("\u00e9t\u00e9-3.0.dist-info", "ete_lower", "same key as Été"),
        ("\U0001d400bc-1.0.dist-info", "math_bold_A", "U+1D400 MATHEMATICAL BOLD A: no case"),
        ("\U00010400x-1.0.dist-info", "deseret_upper", "U+10400 DESERET -> U+10428 (astral case pair)"),
        ("\U00010428x-2.0.dist-info", "deseret_lower", "same key as the upper Deseret spelling"),
        ("\u1e9e-1.0.dist-info", "capital_sharp_s", "ẞ (U+1E9E) lowercases to ß"),
        ("\u00df-2.0.dist-info", "sharp_s", "same key as ẞ"),
    ]:
        g.dist(U, dirname, meta(dirname.split("-")[0], dirname.split("-")[1].rsplit(".", 1)[0]),
               "[uni]\n%s = u.%s\n" % (tag, tag), case="u/" + tag, desc=desc)
    # Name headers with unicode case folding (invalid suffix => key from Name)
    g.dist(U, "Sig1.DIST-INFO", meta("\u03a3\u0391\u03a3", "1"), "[uni.name]\nsig1 = u.sig1\n",
           case="u/name-final-sigma", desc="Name ΣΑΣ -> key σας")
    g.dist(U, "Sig2.DIST-INFO", meta("\u03c3\u03b1\u03c2", "2"), "[uni.name]\nsig2 = u.sig2\n",
           case="u/name-final-sigma-dup", desc="Name σας: same key as ΣΑΣ")
    g.dist(U, "Dot1.DIST-INFO", meta("\u0130", "1"), "[uni.name]\ndot1 = u.dot1\n",
           case="u/name-I-dot", desc="Name İ -> key i̇")
    g.dist(U, "Dot2.DIST-INFO", meta("i", "2"), "[uni.name]\ndot2 = u.dot2\n",
           case="u/name-i", desc="Name i: different key")
    # Non-UTF-8 bytes in directory names (os.listdir gives surrogate escapes;
    # lower() leaves them alone).
    for dirname, tag, desc in [
        (b"CAF\xc9-1.0.dist-info", "latin1_upper", "Latin-1 byte \\xc9 is not 'É': not lowercased"),
        (b"caf\xe9-2.0.dist-info", "latin1_lower", "\\xe9: a different key from \\xc9"),
        (b"\xc1\x81x-1.0.dist-info", "overlong_A", "overlong encoding of 'A' is not 'A'"),
        (b"ax-2.0.dist-info", "ax", "must not dedup with the overlong spelling"),
        (b"S\xed\xa0\x80-1.0.dist-info", "surrogate_bytes", "UTF-8-encoded surrogate: invalid"),
        (b"s\xed\xa0\x80-2.0.dist-info", "surrogate_bytes_lower", "same key once 'S' is lowercased"),
    ]:
        g.dist(U, dirname, meta("bytes-" + tag, "1"), "[uni.bytes]\n%s = u.%s\n" % (tag, tag),
               case="u/bytes/" + tag, desc=desc)


# ---------------------------------------------------------------------------
# .egg path entries, empty dir, plain file
# ---------------------------------------------------------------------------

def gen_eggs(g):
    E = "good/Legacy_Pkg-1.0-py3.11.egg"
    g.dist(E, "EGG-INFO", meta("Legacy-Pkg", "1.0"),
           "[dup]\nep = egg.legacy:main\n[egg]\nlegacy = egg.legacy\n", meta_file="PKG-INFO",
           case="egg/legacy", desc=".egg path entry offers its EGG-INFO child; key from Name")
    g.write(E + "/legacy_pkg/__init__.py", "")

    M = "good/mixed.EGG"
    g.dist(M, "EGG-INFO", meta("mixed-egg-upper", "1"), "[egg]\nupper = egg.mixed_upper\n",
           meta_file="PKG-INFO", case="egg/mixed/EGG-INFO",
           desc="'.EGG' path entry (lowercased basename), EGG-INFO child")
    g.dist(M, "egg-info", meta("Legacy-Pkg", "2"), "[egg]\nlower = egg.mixed_lower\n",
           meta_file="PKG-INFO", case="egg/mixed/egg-info",
           desc="'egg-info' also matches (case-insensitive); Name collides with the Legacy egg")
    g.dist(M, "Egg-Info", meta("shadow", "1"), b"[egg]\nthis line has no equals sign\nx = caf\xe9\n",
           meta_file="PKG-INFO", case="egg/mixed/Egg-Info-shadowed",
           desc="shadowed by shadow-1.0.dist-info in the same entry (infos come before eggs), "
           "so importlib never reads its broken entry_points.txt")
    g.dist(M, "inner-1.0.dist-info", meta("inner", "1"), "[egg]\ninner = egg.inner\n",
           case="egg/mixed/inner-dist-info", desc="dist-info inside an .egg entry: before EGG-INFO")
    g.dist(M, "shadow-1.0.dist-info", meta("shadow", "1"), "[egg]\nshadow = egg.shadow\n",
           case="egg/mixed/shadow", desc="shadows the Egg-Info child")

    T = "good/trail.egg"
    g.dist(T, "EGG-INFO", meta("trail", "1"), "[egg]\ntrail = egg.trail\n", meta_file="PKG-INFO",
           case="egg/trail", desc="with a trailing '/' on the path entry the basename is '' : "
           "not an egg, EGG-INFO not offered")
    g.dist(T, "trail_inner-1.0.dist-info", meta("trail-inner", "1"),
           "[egg]\ntrail_inner = egg.trail_inner\n", case="egg/trail-inner", desc="always offered")

    F = "good/fileegg.egg"
    g.write(F + "/EGG-INFO", "Name: unique_b\nVersion: 0\n")
    case("egg/EGG-INFO-file", F + "/EGG-INFO",
         "EGG-INFO is a regular file with PKG-INFO content: no entry points, shadows b/unique_b")

    g.mkdir("good/e")
    case("empty-dir", "good/e", "an empty directory")
    g.write("good/not-a-dir.txt", "plain file on the path, not a zip\n")
    case("file-path-entry", "good/not-a-dir.txt", "regular file (not a zip) as a path entry")
    case("nonexistent-path-entry", "good/does-not-exist", "path entry that does not exist")


# ---------------------------------------------------------------------------
# bad/: importlib raises
# ---------------------------------------------------------------------------

def bad_case(g, name, desc, build, warn, undecided=False):
    """build(g, site, fixed) creates the case; fixed=True for bad-fixed/.

    warn: list of (path tail, line or None) that a warning must name.
    undecided: entries in group 'undecided' belong to a distribution whose
    fate is the tool's choice; they are ignored by the comparison."""
    for fixed in (False, True):
        site = ("bad-fixed/" if fixed else "bad/") + name
        g.mkdir(site)
        # two good neighbours in every case
        g.dist(site, "neighbour_one-1.0.dist-info", meta("neighbour-one", "1"),
               "[%s.n1]\nn1 = ok.one\n" % name)
        g.dist(site, "neighbour_two-2.0.egg-info", meta("neighbour-two", "2"),
               "[%s.n2]\nn2 = ok.two\n" % name, meta_file="PKG-INFO")
        build(g, site, fixed)
    BAD_CASES.append({"name": name, "desc": desc, "path": "bad/" + name,
                      "fixed_path": "bad-fixed/" + name,
                      "warn": [{"tail": t, "line": ln} for t, ln in warn],
                      "undecided_group": "undecided" if undecided else None})


def gen_bad(g):
    def eps_case(dirname, text_bad, text_fixed, metadata=None):
        def build(g, site, fixed):
            g.dist(site, dirname, metadata if metadata is not None else meta(dirname.split("-")[0], "1"),
                   text_fixed if fixed else text_bad)
        return build

    bad_case(g, "noeq", "line without '=' inside a section",
             eps_case("noeq-1.0.dist-info", "[noeq]\na = 1\nthis line has no equals\nb = 2\n",
                      "[noeq]\na = 1\nb = 2\n"),
             [("noeq-1.0.dist-info/entry_points.txt", 3)])
    bad_case(g, "noeq-crlf", "line without '=' in a CRLF file",
             eps_case("noeqcrlf-1.0.dist-info", "[noeqcrlf]\r\na = 1\r\nno equals here\r\nb = 2\r\n",
                      "[noeqcrlf]\r\na = 1\r\nb = 2\r\n"),
             [("noeqcrlf-1.0.dist-info/entry_points.txt", 3)])
    bad_case(g, "noeq-header-comment", "'[s2] # comment' is not a section header and has no '='",
             eps_case("hdrcomment-1.0.dist-info", "[s1]\na = 1\n[s2] # comment\nb = 2\n",
                      "[s1]\na = 1\nb = 2\n"),
             [("hdrcomment-1.0.dist-info/entry_points.txt", 3)])
    bad_case(g, "noeq-lone-bracket", "a lone '[' line",
             eps_case("lonebracket-1.0.dist-info", "[lb]\na = 1\n[\nb = 2\n", "[lb]\na = 1\nb = 2\n"),
             [("lonebracket-1.0.dist-info/entry_points.txt", 3)])
    bad_case(g, "badutf8-line", "invalid UTF-8 (Latin-1 byte) in one line",
             eps_case("badutf8-1.0.dist-info", b"[badutf8]\na = 1\nb = caf\xe9\nc = 3\n",
                      b"[badutf8]\na = 1\nc = 3\n"),
             [("badutf8-1.0.dist-info/entry_points.txt", 3)])
    bad_case(g, "badutf8-first", "invalid UTF-8 in the first line (a UTF-16 BOM)",
             eps_case("badutf8first-1.0.dist-info", b"\xff\xfe\n[badutf8first]\na = 1\n",
                      b"[badutf8first]\na = 1\n"),
             [("badutf8first-1.0.dist-info/entry_points.txt", 1)])
    bad_case(g, "badutf8-truncated", "truncated UTF-8 sequence at the end of the file",
             eps_case("trunc-1.0.dist-info", b"[trunc]\na = 1\nb = \xe2\x82",
                      b"[trunc]\na = 1\n"),
             [("trunc-1.0.dist-info/entry_points.txt", 3)])
    bad_case(g, "badutf8-surrogate", "UTF-8-encoded surrogate and overlong '/' (invalid for Python)",
             eps_case("surr-1.0.dist-info", b"[surr]\na = \xed\xa0\x80\nb = \xc0\xaf\nc = 3\n",
                      b"[surr]\nc = 3\n"),
             [("surr-1.0.dist-info/entry_points.txt", 2),
              ("surr-1.0.dist-info/entry_points.txt", 3)])

    def nameless(dirname, eps="[undecided]\nnameless = bad.nameless\n"):
        def build(g, site, fixed):
            if not fixed:
                g.dist(site, dirname, None, eps)
        return build
    bad_case(g, "nameless-upper-suffix",
             "no METADATA and a suffix that is not exactly .dist-info: "
             "_normalized_name normalizes None (TypeError)",
             nameless("Nameless-1.0.DIST-INFO"), [("Nameless-1.0.DIST-INFO", None)], undecided=True)
    bad_case(g, "nameless-dotfile", "'.dist-info' without METADATA (no stem name, no Name)",
             nameless(".dist-info"), [(".dist-info", None)], undecided=True)
    bad_case(g, "nameless-dash", "'-1.0.dist-info' without METADATA (empty stem name, no Name)",
             nameless("-1.0.dist-info"), [("-1.0.dist-info", None)], undecided=True)

    # .egg path entry whose EGG-INFO has no PKG-INFO
    for fixed in (False, True):
        site = ("bad-fixed/" if fixed else "bad/") + "nameless.egg"
        g.dist(site, "eggok-1.0.dist-info", meta("eggok", "1"), "[nameless.egg.ok]\nok = ok.egg\n")
        if not fixed:
            g.dist(site, "EGG-INFO", None, "[undecided]\nnameless = bad.egg\n")
    BAD_CASES.append({"name": "nameless-egg", "desc": ".egg path entry whose EGG-INFO has no "
                      "PKG-INFO (no Name: TypeError)", "path": "bad/nameless.egg",
                      "fixed_path": "bad-fixed/nameless.egg",
                      "warn": [{"tail": "nameless.egg/EGG-INFO", "line": None}],
                      "undecided_group": "undecided"})

    def badmeta(g, site, fixed):
        if not fixed:
            g.dist(site, "badmeta-1.0.dist-info", b"Name: caf\xe9\nVersion: 1\n",
                   "[undecided]\nbadmeta = bad.meta\n")
    bad_case(g, "badutf8-metadata", "invalid UTF-8 in METADATA of a dist with entry points "
             "(dist.name raises)", badmeta, [("badmeta-1.0.dist-info/METADATA", None)],
             undecided=True)

    def badeggfile(g, site, fixed):
        if not fixed:
            g.write(site + "/BadEgg.EGG-INFO", b"Name: caf\xe9\n")
    bad_case(g, "badutf8-egg-info-file", "egg-info FILE with invalid UTF-8 and a suffix that needs "
             "the Name header", badeggfile, [("BadEgg.EGG-INFO", None)], undecided=True)


# ---------------------------------------------------------------------------
# path lists
# ---------------------------------------------------------------------------

GOOD_DIRS = ["good/a", "good/b", "good/c", "good/u", "good/e",
             "good/Legacy_Pkg-1.0-py3.11.egg", "good/mixed.EGG", "good/trail.egg",
             "good/fileegg.egg"]

# NUL cases are kept out of the aggregated lists so that they show up as
# their own, separately excludable tests (run-conformance --exclude /nul)
NUL_DIRS = ["good/nul"]

PATH_LISTS = {
    "a": ["good/a"],
    "b": ["good/b"],
    "c": ["good/c"],
    "u": ["good/u"],
    "e": ["good/e"],
    "legacy-egg": ["good/Legacy_Pkg-1.0-py3.11.egg"],
    "mixed-egg": ["good/mixed.EGG"],
    "trail-egg": ["good/trail.egg"],
    "fileegg": ["good/fileegg.egg"],
    "all": GOOD_DIRS,
    "all-reversed": list(reversed(GOOD_DIRS)),
    "shuffled-1": ["good/does-not-exist", "good/b", "good/mixed.EGG", "good/u", "good/a",
                   "good/not-a-dir.txt", "good/c", "good/Legacy_Pkg-1.0-py3.11.egg", "good/e"],
    "shuffled-2": ["good/fileegg.egg", "good/u", "good/Legacy_Pkg-1.0-py3.11.egg", "good/c",
                   "good/does-not-exist", "good/b", "good/trail.egg", "good/a", "good/mixed.EGG"],
    "eggs-first": ["good/mixed.EGG", "good/Legacy_Pkg-1.0-py3.11.egg", "good/a",
                   "good/fileegg.egg", "good/b"],
    "duplicates": ["good/b", "good/a", "good/b", "good/a"],
    "trailing-slash": ["good/trail.egg/", "good/trail.egg", "good/a/", "good/b"],
    "nonexistent-only": ["good/does-not-exist"],
    "file-only": ["good/not-a-dir.txt"],
    "nul": ["good/nul"],
    "nul+c": ["good/nul", "good/c"],
}


# ---------------------------------------------------------------------------

def generate(dest):
    if os.path.exists(dest) and os.listdir(dest):
        sys.exit("gen-corpus: %s exists and is not empty" % dest)
    g = Gen(dest)
    g.mkdir("")
    gen_a(g)
    gen_b(g)
    gen_c(g)
    gen_u(g)
    gen_nul(g)
    gen_eggs(g)
    gen_bad(g)
    manifest = {
        "format": "epcache-conformance-corpus 1",
        "good_dirs": GOOD_DIRS,
        "cache_dirs": GOOD_DIRS + NUL_DIRS,
        "path_lists": PATH_LISTS,
        "cases": CASES,
        "bad_cases": BAD_CASES,
        "mutations": {
            "add-remove": {"good/a": "stale", "good/b": "stale"},
            "inplace": {"good/c": "stale-strict"},
            "real": {"real/dist-packages": "stale"},
        },
    }
    with open(os.path.join(dest, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=True)
    return manifest


def mutate(dest, what):
    g = Gen(dest)
    if what == "add-remove":
        g.dist("good/a", "added_dist-1.0.dist-info", meta("added-dist", "1.0"),
               "[dup]\nep = a.added:main\n[added]\nadded = a.added\n[meta]\nadded = a.added\n")
        import shutil
        shutil.rmtree(g.p("good/b/unique_b-1.0.dist-info"))
    elif what == "inplace":
        d = g.p("good/c/inplace-1.0.dist-info")
        tmp = os.path.join(d, ".entry_points.txt.new")
        with open(tmp, "w") as f:
            f.write("[inplace]\nnew = c.inplace:new\n[inplace.added]\nx = c.inplace:x\n")
        os.rename(tmp, os.path.join(d, "entry_points.txt"))
    elif what == "real":
        if os.path.isdir(g.p("real/dist-packages")):
            g.dist("real/dist-packages", "zz_epcache_added-1.0.dist-info",
                   meta("zz-epcache-added", "1.0"),
                   "[console_scripts]\nzz-epcache-added = zz.added:main\n")
    else:
        sys.exit("gen-corpus: unknown mutation %r" % what)


def run_dump(python, dest, rel_paths, batch=None):
    cmd = [python, "-S", "-I", os.path.join(HERE, "importlib-dump.py")]
    for rel in rel_paths:
        cmd += ["--path", os.path.join(dest, rel)]
    if batch is not None:
        cmd.append("--batch")
    return subprocess.run(cmd, input=json.dumps(batch) if batch is not None else None,
                          capture_output=True, text=True)


def verify(dest, manifest, python, quiet):
    ok = True
    for name, rels in manifest["path_lists"].items():
        r = run_dump(python, dest, rels)
        if r.returncode != 0:
            ok = False
            print("verify: good path list %s: importlib-dump failed:\n%s"
                  % (name, "\n".join(r.stderr.splitlines()[-6:])))
        elif not quiet:
            n = len(json.loads(r.stdout))
            print("verify: good path list %-18s %5d entry points" % (name, n))
    for bc in manifest["bad_cases"]:
        r = run_dump(python, dest, [bc["path"]])
        if r.returncode != 3:
            ok = False
            print("verify: bad case %s: importlib did NOT raise (rc=%d)" % (bc["name"], r.returncode))
        elif not quiet:
            last = r.stderr.strip().splitlines()[-1]
            print("verify: bad case %-24s raises: %s" % (bc["name"], last))
        r = run_dump(python, dest, [bc["fixed_path"]])
        if r.returncode != 0:
            ok = False
            print("verify: fixed bad case %s: importlib-dump failed:\n%s" % (bc["name"], r.stderr))
    return ok


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="generate the epcache conformance corpus")
    ap.add_argument("dest")
    ap.add_argument("--verify", metavar="PYTHON", help="check the corpus against PYTHON's importlib")
    ap.add_argument("--mutate", choices=["add-remove", "inplace", "real"])
    ap.add_argument("--quiet", "-q", action="store_true")
    args = ap.parse_args(argv)
    if args.mutate:
        mutate(args.dest, args.mutate)
        return 0
    manifest = generate(args.dest)
    if not args.quiet:
        print("gen-corpus: %d cases (+%d bad cases), %d good path entries, %d path lists in %s"
              % (len(manifest["cases"]), len(manifest["bad_cases"]), len(manifest["cache_dirs"]),
                 len(manifest["path_lists"]), args.dest))
    if args.verify:
        if not verify(args.dest, manifest, args.verify, args.quiet):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
