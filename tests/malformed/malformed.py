#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Malformed distributions: one warning naming file and line, the rest cached.

    malformed.py --query BUILD/src/entrypoints-query \
                 --update BUILD/src/update-entrypoints-cache \
                 [--python /usr/bin/python3] [--only REGEX] [--list]

Each named case builds a fresh site directory holding three good
distributions and one malformed thing, then checks:

  1. update-entrypoints-cache exits 0, and its warnings are exactly the
     expected number (one for most cases; none where importlib accepts the
     input or silently ignores it; "some" for binary garbage, one per bad
     line), each naming the offending file, and its line where there is one;
  2. the cache is fresh (the rest of the directory is cached) and the cached
     answer equals a live scan (--no-cache);
  3. that answer equals /usr/bin/python3's importlib.metadata on the site
     where importlib does not raise, and otherwise on the "fixed" site (the
     offending line, file or distribution removed: what the C reader is
     documented to do); the test also proves that importlib does raise on
     the cases said to make it raise (except FIFOs, which make it block).

Cases marked "as uid 65534" run every program as that user (a site owned
by it), for permission cases root would read through.  The directory
helpers and the importlib side come from tests/conformance (gen-corpus.py,
importlib-dump.py); the conformance corpus covers more variants of some of
these cases inside bigger directories.

Prints one line per case and "N passed, M failed".
"""

import argparse
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "..", "conformance")
_spec = importlib.util.spec_from_file_location("gen_corpus", os.path.join(CONF, "gen-corpus.py"))
gen_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_corpus)
meta = gen_corpus.meta
DUMP = os.path.join(CONF, "importlib-dump.py")
NOBODY = 65534

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reachable import Reachable  # noqa: E402


EP = "entry_points.txt"
BAD = "bad-1.0.dist-info"
MB = 1024 * 1024


def garbage():
    """Deterministic binary garbage: no '=' and no '[' (so nothing in it can
    become an entry point by chance), many lines, invalid UTF-8 in most."""
    rng = random.Random(5)
    raw = bytes(rng.choice([b for b in range(256) if b not in b"=["]) for _ in range(4096))
    return b"[garbage]\n" + raw


def big_file():
    """~50 MB: comment lines around three real entries."""
    line = b"# " + b"x" * 97 + b"\n"
    filler = line * (25 * MB // len(line))
    return b"[big]\nfirst = big.m:first\n" + filler + b"middle = big.m:middle\n" + filler + b"last = big.m:last\n"


# name: (build(g, site, fixed), expected warnings (int or "some"), line or
#        None, importlib raises on the bad site (True/False/None=not run),
#        run as uid 65534, bad file relative to the site, description)
CASES = []


def case(name, desc, build, warnings, line=None, raises=False, user=False, file=BAD + "/" + EP):
    CASES.append(dict(name=name, desc=desc, build=build, warnings=warnings, line=line,
                      raises=raises, user=user, file=file))


def eps(bad, fixed, metadata=meta("bad", "1.0")):
    def build(g, site, is_fixed):
        g.dist(site, BAD, metadata, fixed if is_fixed else bad)
    return build


def with_special(what, where=EP, metadata=meta("bad", "1.0")):
    """The bad dist with @where replaced by a special file (fixed: absent)."""
    def build(g, site, is_fixed):
        g.dist(site, BAD, metadata, None if where == EP else "[special]\ns = x.y\n")
        if not is_fixed:
            what(g.p(site + "/" + BAD + "/" + where))
    return build


def metadata_case(bad, fixed):
    def build(g, site, is_fixed):
        g.dist(site, BAD, fixed if is_fixed else bad, "[md]\nmd = md.m:f\n")
    return build


# --- entry_points.txt ------------------------------------------------------
case("ep-no-equals", "a line without '=' in a section",
     eps("[g]\na = m:a\nthis has no equals\nb = m:b\n", "[g]\na = m:a\nb = m:b\n"), 1, 3, True)
case("ep-no-equals-crlf", "a line without '=' in a CRLF file",
     eps("[g]\r\na = m:a\r\nno equals\r\nb = m:b\r\n", "[g]\r\na = m:a\r\nb = m:b\r\n"), 1, 3, True)
case("ep-lone-bracket", "a lone '[' line",
     eps("[g]\na = m:a\n[\nb = m:b\n", "[g]\na = m:a\nb = m:b\n"), 1, 3, True)
case("ep-binary-garbage", "4 KiB of random bytes after a section header",
     eps(garbage(), "[garbage]\n"), "some", None, True)
case("ep-utf8-latin1", "a Latin-1 byte in a value",
     eps(b"[g]\na = m:a\nb = caf\xe9\nc = m:c\n", "[g]\na = m:a\nc = m:c\n"), 1, 3, True)
case("ep-utf8-truncated", "a UTF-8 sequence cut by the end of the file",
     eps(b"[g]\na = m:a\nb = \xe2\x82", "[g]\na = m:a\n"), 1, 3, True)
case("ep-utf8-surrogate", "a UTF-8-encoded surrogate",
     eps(b"[g]\na = \xed\xa0\x80\nb = m:b\n", "[g]\nb = m:b\n"), 1, 2, True)
case("ep-utf8-overlong", "an overlong encoding of '/'",
     eps(b"[g]\na = m\xc0\xafx\nb = m:b\n", "[g]\nb = m:b\n"), 1, 2, True)
case("ep-utf16", "a UTF-16 file (BOM and NULs)",
     eps("[g]\na = m:a\n".encode("utf-16"), ""), "some", None, True)
case("ep-nul-value", "a NUL byte in a value (importlib keeps it; a C string cannot)",
     eps("[g]\na = m:a\nb = m\0b\nc = m:c\n", "[g]\na = m:a\nc = m:c\n"), 1, 3, False)
case("ep-nul-name", "a NUL byte in a name",
     eps("[g]\na\0x = m:a\nc = m:c\n", "[g]\nc = m:c\n"), 1, 2, False)
case("ep-50mb", "a 50 MB file (comments around three entries)",
     eps(big_file(), None), 0)
case("ep-1mb-line", "a 1 MB value on one line",
     eps("[g]\nlong = " + "m" * MB + ":f\nshort = m:s\n", None), 0)
case("ep-crlf-bom", "CRLF line ends and a UTF-8 BOM (the BOM line is no section header)",
     eps("\ufeff[g]\r\na = m:a\r\n[h]\r\nb = m:b\r\n", None), 0)
case("ep-cr-only", "old Mac CR line ends",
     eps("[g]\ra = m:a\r[h]\rb = m:b\r", None), 0)
case("ep-unicode-line-breaks", "U+2028 and NEL inside lines (str.splitlines breaks there)",
     eps("[g]\na = m:a\u2028b = m:b\n\x85c = m:c\n", None), 0)
case("ep-empty", "an empty file", eps("", None), 0)
case("ep-no-section", "entries before any section header", eps("a = m:a\nb\n[g]\nc = m:c\n", None), 0)
case("ep-fifo", "a FIFO named entry_points.txt (importlib would block)",
     with_special(lambda p: os.mkfifo(p)), 1, None, None)
case("ep-directory", "a directory named entry_points.txt (IsADirectoryError: ignored)",
     with_special(lambda p: os.mkdir(p)), 0)
case("ep-symlink-loop", "entry_points.txt a symlink to itself (ELOOP)",
     with_special(lambda p: os.symlink(EP, p)), 1, None, True)
case("ep-dangling-symlink", "entry_points.txt a dangling symlink (no such file: ignored)",
     with_special(lambda p: os.symlink("nowhere", p)), 0)
case("ep-mode-000", "entry_points.txt of mode 000, as uid 65534 (PermissionError: ignored)",
     with_special(lambda p: (open(p, "w").write("[g]\nsecret = s:s\n"), os.chmod(p, 0))),
     0, user=True)
case("ep-dist-dir-mode-000", "a dist-info directory of mode 000, as uid 65534",
     lambda g, site, fixed: (g.dist(site, BAD, meta("bad", "1"), "[g]\nx = m:x\n"),
                             None if fixed else os.chmod(g.p(site + "/" + BAD), 0)),
     0, user=True, file=BAD)


# --- distribution directories ----------------------------------------------
def dangling_dist(g, site, fixed):
    if not fixed:
        g.symlink(site + "/" + BAD, "no-such-target")


def looping_dist(g, site, fixed):
    if not fixed:
        g.symlink(site + "/" + BAD, BAD)


def file_dist(g, site, fixed):
    g.write(site + "/" + BAD, "Name: badfile\nVersion: 3\n")


case("dist-dangling-symlink", "a dist-info that is a dangling symlink", dangling_dist, 0, file=BAD)
case("dist-symlink-loop", "a dist-info that is a symlink to itself (ELOOP on every file)",
     looping_dist, "some", None, True, file=BAD)
case("dist-regular-file", "a regular file named like a dist-info", file_dist, 0, file=BAD)

# --- METADATA --------------------------------------------------------------
M = BAD + "/METADATA"
case("meta-missing", "no METADATA", metadata_case(None, None), 0, file=M)
case("meta-empty", "an empty METADATA", metadata_case("", None), 0, file=M)
case("meta-no-name", "METADATA without Name", metadata_case("Metadata-Version: 2.1\nVersion: 1\n", None), 0, file=M)
case("meta-no-version", "METADATA without Version", metadata_case("Metadata-Version: 2.1\nName: bad\n", None), 0, file=M)
case("meta-folded", "folded Name and Version headers",
     metadata_case("Metadata-Version: 2.1\nName: bad\n  folded\nVersion:\n\t1.0\n", None), 0, file=M)
case("meta-crlf", "CRLF METADATA", metadata_case("Name: bad\r\nVersion: 1.0\r\n", None), 0, file=M)
case("meta-bom", "a BOM before Name: (the header is then not 'Name')",
     metadata_case("\ufeffName: bad\nVersion: 1.0\n", None), 0, file=M)
case("meta-body-only", "Name: after a blank line (in the body)",
     metadata_case("Metadata-Version: 2.1\n\nName: bad\n", None), 0, file=M)
case("meta-invalid-utf8", "a Latin-1 byte in METADATA (importlib raises)",
     metadata_case(b"Name: b\xe4d\nVersion: 1\n", None), 1, None, True, file=M)
case("meta-nul", "a NUL byte in Name: (Name and Version unknown to a C reader)",
     metadata_case("Name: b\0d\nVersion: 1\n", None), 1, None, False, file=M)
case("meta-fifo", "METADATA a FIFO (importlib would block)",
     with_special(lambda p: os.mkfifo(p), "METADATA", None), 1, None, None, file=M)
case("meta-directory", "METADATA a directory (PKG-INFO is read instead)",
     lambda g, site, fixed: (g.dist(site, BAD, None, "[g]\nx = m:x\n",
                                    files={"PKG-INFO": meta("from-pkg-info", "2")}),
                             None if fixed else os.mkdir(g.p(site + "/" + BAD + "/METADATA"))),
     0, file=M)
case("meta-huge-header", "a 1 MB folded Name header",
     metadata_case("Name: bad\n" + (" x" * (MB // 2)) + "\nVersion: 1\n", None), 0, file=M)


class Runner:
    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ)
        self.env["PKGSYSTEM_ENABLE_FSYNC"] = "0"
        self.reachable = Reachable()

    def run(self, cmd, user, timeout=300):
        env = self.env
        if user:
            cmd, extra = self.reachable.as_user(NOBODY, cmd)
            env = dict(env, **extra)
        r = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="surrogateescape"), r.stderr.decode(errors="surrogateescape")

    def importlib(self, site, user):
        rc, out, err = self.run([self.args.python, "-S", "-I", DUMP, "--path", site], user)
        return rc, (json.loads(out) if rc == 0 else err)

    def answer(self, site, user, *extra):
        rc, out, err = self.run([self.args.query, "--path", site, "--format", "json"] + list(extra), user)
        return json.loads(out) if rc == 0 else "exit %d: %s" % (rc, err)

    def one(self, c, tmp):
        g = gen_corpus.Gen(tmp)
        problems = []
        sites = {}
        for variant in ("bad", "fixed"):
            site = variant
            for i in range(3):
                g.dist(site, "good%d-1.0.dist-info" % i, meta("good%d" % i, "1.0"),
                       "[g]\ngood%d = good.m:f%d\n[console_scripts]\ngood%d = good.m:main\n" % (i, i, i))
            c["build"](g, site, variant == "fixed")
            sites[variant] = g.p(site)
            if c["user"]:
                os.chown(g.p(site), NOBODY, NOBODY)
        site = sites["bad"]
        user = c["user"]

        rc, _, err = self.run([self.args.update, site], user)
        if rc != 0:
            problems.append("rebuild exit %d: %s" % (rc, err.strip()[:300]))
        warns = [ln for ln in err.splitlines() if ln.strip()]
        want = c["warnings"]
        if want == "some" and not warns or want != "some" and len(warns) != want:
            problems.append("%d warnings (want %s): %s" % (len(warns), want, warns[:3]))
        bad_path = os.path.join(site, c["file"])
        for w in warns:
            needle = bad_path + (":%d:" % c["line"] if c["line"] else "")
            if needle not in w:
                problems.append("warning does not name %s: %r" % (needle, w[:200]))
                break

        rc, out, err = self.run([self.args.query, "--path", site, "--status", "--format", "json"], user)
        status = json.loads(out)[0]["status"] if rc == 0 else "exit %d" % rc
        if status != "fresh":
            problems.append("status %s (the rest of the directory is not cached)" % status)
        cached = self.answer(site, user)
        live = self.answer(site, user, "--no-cache")
        if cached != live:
            problems.append("cached answer differs from the live scan")
        if not isinstance(cached, list) or not any(e["name"] == "good2" for e in cached):
            problems.append("the good distributions are missing")

        if c["raises"] is not None:
            rc, ref = self.importlib(site, user)
            if c["raises"] and rc != 3:
                problems.append("importlib does not raise here (exit %d): the case is wrong" % rc)
            elif not c["raises"] and rc != 0:
                problems.append("importlib raised: %s" % str(ref).strip().splitlines()[-1:])
        if c["raises"] is False:
            ref_site = site
        else:
            ref_site = sites["fixed"]
        # documented differences (NUL) are compared with the fixed site
        if c["name"] in ("ep-nul-value", "ep-nul-name", "meta-nul"):
            ref_site = sites["fixed"]
        rc, ref = self.importlib(ref_site, user)
        if rc != 0:
            problems.append("importlib on %s raised: %s" % (os.path.basename(ref_site), str(ref)[-300:]))
        elif ref != cached:
            diff = [e for e in cached if e not in ref][:2] + ["/"] + [e for e in ref if e not in cached][:2] \
                if isinstance(cached, list) else cached
            problems.append("answer differs from importlib.metadata (%s): %s" %
                            (os.path.basename(ref_site), str(diff)[:300]))
        return problems, len(warns)

    def main(self):
        passed = failed = 0
        names = [c["name"] for c in CASES]
        assert len(names) == len(set(names)), "duplicate case names"
        for c in CASES:
            if self.args.only and not re.search(self.args.only, c["name"]):
                continue
            tmp = tempfile.mkdtemp(prefix="epcache-malformed-")
            os.chmod(tmp, 0o755)
            try:
                problems, nwarn = self.one(c, tmp)
            finally:
                # mode 000 directories must be made removable again
                for root, dirs, _ in os.walk(tmp):
                    for d in dirs:
                        p = os.path.join(root, d)
                        if not os.path.islink(p):
                            os.chmod(p, 0o755)
                shutil.rmtree(tmp, ignore_errors=True)
            if problems:
                failed += 1
                print("FAIL %-24s %s" % (c["name"], c["desc"]))
                for p in problems:
                    print("     " + p)
            else:
                passed += 1
                print("ok   %-24s %d warning(s); %s" % (c["name"], nwarn, c["desc"]))
            sys.stdout.flush()
        print("%d malformed cases: %d passed, %d failed" % (passed + failed, passed, failed))
        print("%d passed, %d failed" % (passed, failed))
        return 0 if failed == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--query", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--only")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for c in CASES:
            print("%-24s %s" % (c["name"], c["desc"]))
        return 0
    dropped = []
    if os.geteuid() != 0:
        # the uid 65534 cases need root to switch users
        dropped = [c["name"] for c in CASES if c["user"]]
        CASES[:] = [c for c in CASES if not c["user"]]
    rc = Runner(args).main()
    if rc == 0 and dropped:
        print("%d skipped (not root): %s" % (len(dropped), ", ".join(dropped)))
        return 1 if os.environ.get("CI") == "true" else 77
    return rc


if __name__ == "__main__":
    sys.exit(main())
