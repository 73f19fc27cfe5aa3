#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Damaged cache files, through the programs: never a crash, a live-scan answer.

    cache-corrupt.py --query BUILD/src/entrypoints-query \
                     --update BUILD/src/update-entrypoints-cache

tests/test-cache.c feeds the same kinds of damage to the library's reader
functions; this is the end-to-end half: a real (strict-mode) cache of a
small site, damaged in place (owner, mode and the site directory's identity
unchanged, so only the content can make it unusable), read by
entrypoints-query.  For every damaged file the reader must exit 0 (no
crash, no sanitizer report), and:

  truncated   at every byte offset: status corrupt (the header records
              the data's length), and the answer equals the live scan
              (--no-cache);
  bit flips   bit 0 and bit 5 of every byte: corrupt, or fresh with the
              live answer (a flip in bytes no lookup reads, between the
              parts); never another answer: every part a lookup reads has
              a CRC-32, and the header its own;
  crafted     the previous version: stale; a wrong version, offsets out of
              bounds, huge lengths, deep nesting, a sparse file of 2 GiB
              claimed size, an empty file: status corrupt, live answer.
              The header's CRC is made right again after each change
              (as a hostile writer would), so that what is judged is the
              structure; huge counts (informational fields) stay fresh,
              with the real answer.

Prints the figures and "N passed, M failed" (one test per damaged file).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib


def reseal(text):
    """Give a changed header its CRC-32 again, as cache-format.md says."""
    m = re.search(r',"crc":"[0-9a-f]{8}"\},\n"data":', text)
    if not m:
        return text
    head = text[:m.start()].encode()
    return text[:m.start()] + ',"crc":"%08x"' % zlib.crc32(head) + text[m.start() + 17:]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


class T:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="epcache-cachecorrupt-")
        self.site = os.path.join(self.tmp, "site")
        self.cache = os.path.join(self.site, ".epcache", "entry-points.json")
        self.passed = self.failed = 0
        self.env = dict(os.environ, PKGSYSTEM_ENABLE_FSYNC="0")

    def q(self, *extra):
        r = subprocess.run([self.args.query, "--path", self.site, "--format", "json"] + list(extra),
                           capture_output=True, env=self.env, timeout=60)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def status(self):
        rc, out, err = self.q("--status")
        return json.loads(out)[0]["status"] if rc == 0 else "exit %d: %s" % (rc, err[-300:])

    def put(self, data):
        # in place: same inode, owner and mode; the site is untouched
        with open(self.cache, "r+b") as f:
            f.truncate(0)
            f.write(data)

    def judge(self, label, allowed, fresh_must_match=True):
        st = self.status()
        rc, ans, err = self.q()
        problems = []
        if st not in allowed:
            problems.append("status %s (want %s)" % (st, "/".join(allowed)))
        if rc != 0:
            problems.append("reader exit %d: %s" % (rc, err[-300:]))
        elif (st != "fresh" or fresh_must_match) and ans != self.live:
            problems.append("answer (status %s) is not the live scan" % st)
        if problems:
            self.failed += 1
            print("FAIL %s: %s" % (label, "; ".join(problems)))
        else:
            self.passed += 1
        return st, ans

    def main(self):
        d = os.path.join(self.site, "cc-1.0.dist-info")
        os.makedirs(d)
        write(os.path.join(d, "METADATA"), "Metadata-Version: 2.1\nName: cc\nVersion: 1.0\n")
        write(os.path.join(d, "entry_points.txt"), "[console_scripts]\ncc = cc.cli:main\n[cc.plugins]\np = cc.p:P [x]\n")
        subprocess.run([self.args.update, "--mode", "strict", self.site], check=True, env=self.env)
        good = open(self.cache, "rb").read()
        self.live = self.q("--no-cache")[1]
        if self.status() != "fresh" or self.q()[1] != self.live:
            raise RuntimeError("the undamaged cache is not fresh or answers differently")

        corrupt = 0
        for n in range(len(good)):
            self.put(good[:n])
            allowed = ("corrupt",)
            st, _ = self.judge("truncated at %d of %d" % (n, len(good)), allowed)
            corrupt += st == "corrupt"
        print("truncation: %d cut points, %d judged corrupt" % (len(good), corrupt))

        flips = detected = stale = other = 0
        for i in range(len(good)):
            for bit in (0, 5):
                b = bytearray(good)
                b[i] ^= 1 << bit
                self.put(bytes(b))
                st, ans = self.judge("bit %d of byte %d flipped" % (bit, i), ("corrupt", "fresh"))
                flips += 1
                detected += st == "corrupt"
                stale += st == "stale"
                other += st == "fresh" and ans != self.live
        print("bit flips: %d, %d judged corrupt, %d stale, %d fresh with the same answer "
              "(bytes no lookup reads), %d fresh with another answer, 0 crashes" %
              (flips, detected, stale, flips - detected - stale - other, other))
        # the records part is read by rebuilds only, and the names part
        # only across several path entries: flips there leave a lookup of
        # this one directory as it was
        if other or detected < flips // 2:
            self.failed += 1
            print("FAIL bit flips: %d gave another answer, %d of %d detected" % (other, detected, flips))

        text = good.decode()
        # The version this build writes, so that the cases follow a format bump.
        version = int(re.search(r'"version":(\d+)', text).group(1))
        vkey = '"version":%d' % version
        crafted = {
            "empty file": "",
            "next version": text.replace(vkey, '"version":%d' % (version + 1), 1),
            "version 0": text.replace(vkey, '"version":0', 1),
            "version as string": text.replace(vkey, '"version":"%d"' % version, 1),
            "wrong format name": text.replace('"epcache-entry-points"', '"epcache-entry-pointz"', 1),
            "names range out of bounds": re.sub(r'"names":\[\d+,\d+,', '"names":[0,99999999,', text, 1),
            "names offset past the end": re.sub(r'"names":\[\d+,', '"names":[4294967296,', text, 1),
            "distributions range huge": re.sub(r'"distributions":\[\d+,\d+,',
                                               '"distributions":[0,18446744073709551615,', text, 1),
            "negative offset": re.sub(r'"distributions":\[\d+,', '"distributions":[-5,', text, 1),
            "stamps range out of bounds": re.sub(r'"stamps":\[\d+,\d+,', '"stamps":[1,999999,', text, 1),
            "bucket range out of bounds": re.sub(r'\[(\d+),(\d+),("[0-9a-f]{8}")\](,null)',
                                                 r'[\1,888888,\3]\4', text, 1),
            "names CRC changed": re.sub(r'("names":\[\d+,\d+,")[0-9a-f]', r'\g<1>z', text, 1),
            "bucket CRC wrong": re.sub(r'\[(\d+),(\d+),"[0-9a-f]{8}"\](,null)', r'[\1,\2,"00000000"]\3',
                                       text, 1),
            "bucket without its CRC": re.sub(r'\[(\d+),(\d+),("[0-9a-f]{8}")\](,null)',
                                             r'[\1,\2]\4', text, 1),
            "data_size one less": re.sub(r'"data_size":(\d+)',
                                         lambda m: '"data_size":%d' % (int(m.group(1)) - 1), text, 1),
            "data_size missing": re.sub(r'"data_size":\d+,', '', text, 1),
            "header CRC member not last": re.sub(r'(,"crc":"[0-9a-f]{8}")\}', r'\1,"x":1}', text, 1),
            "header nested 10000 deep": '{"header":' + "[" * 10000 + "]" * 10000 + "}",
            "data nested 100000 deep": text.split("\n", 1)[0] + "\n" + "[" * 100000,
            "header only": text.split("\n", 1)[0],
            "not JSON": "\x7fELF\x02\x01\x01" + "\0" * 64,
        }
        # a part's damage is found when the part is read, after the status
        # was given: the answer falls back to the live scan all the same
        late = ("bucket CRC wrong",)
        for label, data in crafted.items():
            if data == text and label not in ("empty file",):
                raise RuntimeError("crafted case %r did not change the cache" % label)
            self.put(reseal(data).encode())
            self.judge(label, ("corrupt", "fresh") if label in late else ("corrupt",))
        # a header changed without its CRC made right
        self.put(text.replace('"egg":null', '"egg":"x"', 1).encode())
        self.judge("header changed, CRC not", ("corrupt",))
        # an older format: a rebuild is due, not a broken file
        self.put(reseal(text.replace(vkey, '"version":%d' % (version - 1), 1)).encode())
        self.judge("previous version", ("stale",))
        # what is judged above is the structure: unchanged but resealed,
        # the cache is fresh
        self.put(reseal(text).encode())
        self.judge("resealed unchanged", ("fresh",))
        # a sparse file claiming 2 GiB: refused by size before any read
        self.put(good[:64])
        with open(self.cache, "r+b") as f:
            f.truncate(2 * 1024 ** 3)
        self.judge("sparse 2 GiB cache", ("corrupt",))
        # the counts are informational (cache-format.md): ignored, so the
        # cache stays usable, with its real content
        for label, data in {
            "huge group count": re.sub(r'"count":\d+', '"count":99999999999999', text, 1),
            "huge entry count": re.sub(r'"entry_points":\d+', '"entry_points":18446744073709551615', text, 1),
        }.items():
            assert data != text
            self.put(reseal(data).encode())
            self.judge(label, ("fresh",))
        print("crafted: %d hostile caches (and a sparse 2 GiB one)" % len(crafted))
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--query", required=True)
    ap.add_argument("--update", required=True)
    args = ap.parse_args()
    t = T(args)
    try:
        return t.main()
    finally:
        shutil.rmtree(t.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
