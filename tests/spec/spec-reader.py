#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An independent reader of the cache format, written from
src/cache-format.md alone (not from the C code), and its test.

spec-reader.py --update U --query Q [DIR...]

Without DIRs, the conformance corpus (tests/conformance/gen-corpus.py) and a
copy of /usr/lib/python3/dist-packages are made in a temporary directory.
For each directory: build its cache with U, then for every group read the
group's entry points the way the specification says (prefix, header by
streaming parse, bucket by FNV-1a 64, bucket part, group part) and compare
with `Q --path DIR --group G --format json`, and check that a plain JSON
parse of the whole file agrees. Prints "N passed, M failed".
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

PREFIX = b'{"header":'
SEP = b',\n"data":'
NBUCKETS = 64


def fnv1a64(b):
    h = 0xcbf29ce484222325
    for c in b:
        h ^= c
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def crc_ok(data, start, rng):
    """[off, len, CRC] of the data: the CRC-32 of those bytes, 8 hex digits."""
    off, ln, crc = rng
    assert len(crc) == 8 and crc == crc.lower(), "crc form"
    return zlib.crc32(data[start + off:start + off + ln]) == int(crc, 16)


def names_checksum(d):
    """FNV-1a 64 over the sorted names (but .epcache), each NUL-ended."""
    names = sorted(n for n in os.listdir(os.fsencode(d)) if n != b".epcache")
    return "%016x" % fnv1a64(b"".join(n + b"\0" for n in names))


def read_group(path, group):
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(PREFIX), "prefix"
    header, end = json.JSONDecoder().raw_decode(data.decode("utf-8"), len(PREFIX))
    # raw_decode works on str offsets: the header is ASCII-safe only if we
    # count bytes, so re-encode the prefix up to `end` to find the byte offset
    end_b = len(data.decode("utf-8")[:end].encode("utf-8"))
    assert data[end_b:end_b + len(SEP)] == SEP, "separator"
    start = end_b + len(SEP)
    assert header["format"] == "epcache-entry-points" and header["version"] == 4
    # the header ends with ,"crc":"XXXXXXXX"} over every byte before it
    tail = b',"crc":"%s"}' % header["crc"].encode()
    assert data[:end_b].endswith(tail), "header crc member last"
    assert zlib.crc32(data[:end_b - len(tail)]) == int(header["crc"], 16), \
        "header crc"
    assert header["data_size"] == len(data) - start, "data_size"
    buckets = header["index"]["groups"]["buckets"]
    assert len(buckets) == NBUCKETS
    b = buckets[fnv1a64(group.encode("utf-8")) & (NBUCKETS - 1)]
    if b is None:
        return []
    off, ln, _ = b
    assert crc_ok(data, start, b), "bucket crc"
    rows = json.loads(data[start + off:start + off + ln])
    for name, goff, glen, count, gcrc in rows:
        if name == group:
            assert crc_ok(data, start, [goff, glen, gcrc]), "group crc"
            part = json.loads(data[start + goff:start + goff + glen])
            assert len(part["entries"]) == count
            out = []
            for di, n, v in part["entries"]:
                norm, dname, dver = part["dists"][di]
                out.append({"group": group, "name": n, "value": v,
                            "dist": {"name": dname, "version": dver}})
            return out
    return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--update", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("dirs", nargs="*")
    args = ap.parse_args()
    env = dict(os.environ, PKGSYSTEM_ENABLE_FSYNC="0")
    tmp = None
    if not args.dirs:
        tmp = tempfile.mkdtemp(prefix="epcache-spec-")
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "..", "conformance",
                                                     "gen-corpus.py"), tmp],
                       check=True, stdout=subprocess.DEVNULL)
        good = os.path.join(tmp, "good")
        args.dirs = [os.path.join(good, d) for d in sorted(os.listdir(good))
                     if os.path.isdir(os.path.join(good, d))]
        real = "/usr/lib/python3/dist-packages"
        if os.path.isdir(real):
            shutil.copytree(real, os.path.join(tmp, "real"), symlinks=True,
                            ignore=shutil.ignore_patterns(".epcache"))
            args.dirs.append(os.path.join(tmp, "real"))
    try:
        return check_dirs(args, env)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


STAMP_NAMES = ["", "entry_points.txt", "METADATA", "PKG-INFO"]


def stamps_ok(whole, d):
    rows = whole["data"]["stamps"]
    dists = whole["data"]["distributions"]
    # four rows per distribution in strict mode, else one (itself)
    per = 4 if whole["header"]["mode"] == "strict" else 1
    if len(rows) != per * len(dists):
        return False
    for i, dist in enumerate(dists):
        for k, name in enumerate(STAMP_NAMES[:per]):
            row = rows[per * i + k]
            path = dist["path"] + ("/" + name if name else "")
            if row[0] != path:
                return False
            try:
                st = os.stat(os.path.join(os.fsencode(d), os.fsencode(path)))
            except OSError:
                st = None
            if row[1] is None:
                if len(row) != 2 or st is not None:
                    return False
                continue
            if len(row) != 7 or st is None:
                return False
            want = [str(st.st_ino), st.st_size,
                    st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9,
                    st.st_ctime_ns // 10**9, st.st_ctime_ns % 10**9]
            if row[1:] != want:
                return False
    return True


def check_dirs(args, env):
    passed = failed = 0
    for d in args.dirs:
        subprocess.run([args.update, "-q", d], check=True, env=env)
        cache = os.path.join(d, ".epcache", "entry-points.json")
        with open(cache, "rb") as f:
            whole = json.loads(f.read())
        groups = sorted(whole["data"]["groups"])
        # the directory's names checksum, as the spec defines it
        if whole["header"]["directory"]["names"] == names_checksum(d):
            passed += 1
        else:
            failed += 1
            print("FAIL %s: names checksum %s, spec gives %s"
                  % (d, whole["header"]["directory"]["names"],
                     names_checksum(d)))
        for g in groups:
            if "\0" in g:
                continue
            mine = read_group(cache, g)
            r = subprocess.run([args.query, "--path", d, "--group", g,
                                "--format", "json"], capture_output=True,
                               check=True, env=env)
            theirs = json.loads(r.stdout)
            # a single directory: nothing can shadow its distributions
            if mine == theirs:
                passed += 1
            else:
                failed += 1
                print("FAIL %s group %r:\n  spec reader: %s\n  query:       %s"
                      % (d, g, mine[:3], theirs[:3]))
        # stamps: per distribution, in its order, as specified; in
        # strict mode too
        subprocess.run([args.update, "-q", "--mode", "strict", d],
                       check=True, env=env)
        with open(cache, "rb") as f:
            strict = json.loads(f.read())
        subprocess.run([args.update, "-q", d], check=True, env=env)
        for w in (whole, strict):
            if stamps_ok(w, d):
                passed += 1
            else:
                failed += 1
                print("FAIL %s: %s stamps part does not follow the spec"
                      % (d, w["header"]["mode"]))
        # the plain whole-file view lists the same groups as the index
        listed = set()
        hdr_buckets = whole["header"]["index"]["groups"]["buckets"]
        for b in whole["data"]["group_index"]:
            if b is not None:
                listed |= {row[0] for row in b}
        if listed == set(groups) and sum(x is not None for x in hdr_buckets) == \
                sum(x is not None for x in whole["data"]["group_index"]):
            passed += 1
        else:
            failed += 1
            print("FAIL %s: group index and groups differ" % d)
    print("%d directories" % len(args.dirs))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
