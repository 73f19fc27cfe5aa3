#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Readers against a writer: every answer is a live scan of a state the directory had.

    readers-writers.py --lib BUILD/src/libepcache.so \
                       --query BUILD/src/entrypoints-query \
                       --update BUILD/src/update-entrypoints-cache \
                       [--readers 4] [--lookups 10000] [--rebuilds 1000] \
                       [--mode mtime|strict] [--base-dists 30] [--seed N]

The site holds --base-dists fixed distributions and 4 toggled ones.  The
writer walks a Gray code through the 16 subsets of the toggled ones: each
step installs or removes exactly one distribution (renamed in from a
staging directory, or out to a trash directory, as installers do), then
runs update-entrypoints-cache; it makes --rebuilds such steps.  The answer
(all groups, with distribution names and versions) of each of the 16
states is computed first with /usr/bin/python3's importlib.metadata
(tests/conformance/importlib-dump.py).

Each reader process (fork) loops over lookups through libepcache
(ctypes: epcache_lookup_new, the path status, epcache_lookup_select of all
groups); answers are compared as sorted lists, as the listing order of one
set of distributions depends on the directory's history.  Around each lookup it reads the writer's step counter (shared
memory, bumped after each rename): the answer must be the live-scan answer
of one of the states from the step before the lookup to one after it, the
status must be fresh or stale (never corrupt, untrusted, missing) and a
fresh answer must come from a state of that window too.  Readers go on
until the writer is done and all of them together made --lookups lookups.

Every --sample-every rebuilds the writer, with the directory still, checks
that the cache is fresh and that three groups are answered exactly as
importlib answers them, order included (the lookups above compare sorted).
At least --min-fresh of all lookups must have found the cache fresh: a
reader that never used its cache would otherwise pass.

Prints lookups, statuses seen, rebuilds, and "N passed, M failed" (one test
per lookup, per rebuild and per sample); exit status 0 iff M is 0.
"""

import argparse
import ctypes
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

NTOGGLE = 4
NSTATES = 1 << NTOGGLE


def gray(k):
    k %= NSTATES
    return k ^ (k >> 1)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def make_dist(parent, name, groups):
    d = os.path.join(parent, "%s-1.0.dist-info" % name)
    os.mkdir(d)
    write(os.path.join(d, "METADATA"), "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name)
    write(os.path.join(d, "entry_points.txt"),
          "".join("[%s]\n%s_%s = %s.mod:%s\n" % (g, name, g, name, g) for g in groups))
    return d


class Lib:
    """The few libepcache calls a reader needs."""

    def __init__(self, path):
        L = ctypes.CDLL(path)
        vp = ctypes.c_void_p
        L.epcache_new.restype = vp
        L.epcache_set_log_handler.argtypes = [vp, vp, vp]
        L.epcache_lookup_new.argtypes = [vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                         ctypes.c_uint, ctypes.POINTER(vp)]
        L.epcache_lookup_free.argtypes = [vp]
        L.epcache_lookup_get_path_status.argtypes = [vp, ctypes.c_size_t]
        L.epcache_status_to_str.restype = ctypes.c_char_p
        L.epcache_lookup_select.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(vp)]
        L.epcache_selection_free.argtypes = [vp]
        L.epcache_selection_get_count.argtypes = [vp]
        L.epcache_selection_get_count.restype = ctypes.c_size_t
        L.epcache_selection_get_entry.argtypes = [vp, ctypes.c_size_t]
        L.epcache_selection_get_entry.restype = vp
        for f in ("group", "name", "value", "dist_name", "dist_version"):
            fn = getattr(L, "epcache_entry_get_" + f)
            fn.argtypes = [vp]
            fn.restype = ctypes.c_char_p
        self.L = L
        self.ctx = L.epcache_new()
        # warnings would only be noise here; errors come back as codes
        L.epcache_set_log_handler(self.ctx, None, None)

    def lookup(self, path):
        L = self.L
        paths = (ctypes.c_char_p * 1)(path.encode())
        lk = ctypes.c_void_p()
        rc = L.epcache_lookup_new(self.ctx, paths, 1, 0, ctypes.byref(lk))
        if rc != 0:
            return "lookup_new %d" % rc, None
        try:
            status = L.epcache_status_to_str(L.epcache_lookup_get_path_status(lk, 0)).decode()
            sel = ctypes.c_void_p()
            rc = L.epcache_lookup_select(lk, None, None, ctypes.byref(sel))
            if rc != 0:
                return status, "select %d" % rc
            out = []
            for i in range(L.epcache_selection_get_count(sel)):
                e = L.epcache_selection_get_entry(sel, i)
                out.append(tuple((getattr(L, "epcache_entry_get_" + f)(e) or b"").decode(errors="surrogateescape")
                                 for f in ("group", "name", "value", "dist_name", "dist_version")))
            L.epcache_selection_free(sel)
            # Compared as a sorted list: the listing order of a small ext4
            # or tmpfs directory depends on its history (freed slots are
            # reused), so one set of distributions has several orders,
            # all of them importlib's at the time (the conformance suite
            # checks the order itself).
            return status, tuple(sorted(out))
        finally:
            L.epcache_lookup_free(lk)


IMPORTLIB_DUMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance",
                              "importlib-dump.py")


def importlib_answer(site, group, env):
    """/usr/bin/python3's importlib.metadata.entry_points() over [SITE]."""
    cmd = ["/usr/bin/python3", "-S", "-I", IMPORTLIB_DUMP, "--path", site]
    if group:
        cmd += ["--group", group]
    r = subprocess.run(cmd, capture_output=True, env=env, check=True)
    return json.loads(r.stdout)


def sample_check(args, site, env):
    r = subprocess.run([args.query, "--path", site, "--status", "--format", "json"],
                       capture_output=True, env=env)
    status = json.loads(r.stdout)[0]["status"] if r.returncode == 0 else "exit %d" % r.returncode
    if status != "fresh":
        return "status %s right after a rebuild" % status
    for group in ("console_scripts", "tog", "base"):
        r = subprocess.run([args.query, "--path", site, "--group", group, "--format", "json"],
                           capture_output=True, env=env)
        mine = json.loads(r.stdout) if r.returncode == 0 else "exit %d" % r.returncode
        ref = importlib_answer(site, group, env)
        if mine != ref:
            return "group %s differs from importlib (order included): %s vs %s" % (
                group, [e["name"] for e in mine] if isinstance(mine, list) else mine,
                [e["name"] for e in ref])
    return None


def reader(args, site, expected, step, done, counter, results, seed):
    lib = Lib(args.lib)
    rng = random.Random(seed)
    n = fails = 0
    statuses = {}
    first_fail = None
    while True:
        with counter.get_lock():
            total = counter.value
        if done.value and total >= args.lookups:
            break
        a = step.value
        status, answer = lib.lookup(site)
        b = step.value
        window = [gray(k) for k in range(a, b + 2)]
        n += 1
        with counter.get_lock():
            counter.value += 1
        statuses[status] = statuses.get(status, 0) + 1
        ok = status in ("fresh", "stale") and any(answer == expected[s] for s in window)
        if not ok:
            fails += 1
            if first_fail is None:
                if answer is None or isinstance(answer, str):
                    diff = answer
                else:
                    near = min(window, key=lambda s: len(set(answer) ^ set(expected[s])))
                    diff = "nearest state %d: missing %s, extra %s, %d entries" % (
                        near, sorted(set(expected[near]) - set(answer))[:4],
                        sorted(set(answer) - set(expected[near]))[:4], len(answer))
                first_fail = "steps %d..%d status %s: %s" % (a, b + 1, status, diff)
        if rng.random() < 0.05:
            time.sleep(rng.uniform(0, 0.002))
    results.put((n, fails, statuses, first_fail))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--lookups", type=int, default=10000)
    ap.add_argument("--rebuilds", type=int, default=1000)
    ap.add_argument("--base-dists", type=int, default=30)
    ap.add_argument("--mode", choices=["mtime", "strict"])
    ap.add_argument("--seed", type=int, default=1)
    # The share depends on how the writer's and the readers' timing fall
    # (75% in mtime mode and 63% in strict mode measured alone, 37% in
    # strict mode in a whole CI run): the floor is there to fail a reader
    # that never uses its cache (0%), and the ordered samples require a
    # fresh cache each time.
    ap.add_argument("--min-fresh", type=float, default=0.2,
                    help="share of lookups that must have found the cache fresh")
    ap.add_argument("--sample-every", type=int, default=50,
                    help="every this many rebuilds, compare in order against importlib")
    args = ap.parse_args()

    env = dict(os.environ)
    env.setdefault("PKGSYSTEM_ENABLE_FSYNC", "0")
    tmp = tempfile.mkdtemp(prefix="epcache-rw-")
    site, stage, trash = (os.path.join(tmp, d) for d in ("site", "stage", "trash"))
    for d in (site, stage, trash):
        os.mkdir(d)
    update = [args.update] + (["--mode", args.mode] if args.mode else []) + [site]
    passed = failed = 0
    try:
        for i in range(args.base_dists):
            make_dist(site, "base%02d" % i, ["base", "console_scripts"])
        toggles = ["tog%d" % t for t in range(NTOGGLE)]
        for t in toggles:
            make_dist(stage, t, ["tog", "console_scripts", "only_%s" % t])

        def where(t, on):
            return os.path.join(site if on else stage, "%s-1.0.dist-info" % t)

        def set_state(s, cur):
            for b in range(NTOGGLE):
                on, was = bool(s >> b & 1), bool(cur >> b & 1)
                if on != was:
                    os.rename(where(toggles[b], was), where(toggles[b], on))
            return s

        # The answer of each state, from importlib.metadata itself (not
        # from our own --no-cache scan, which would share our bugs).
        expected = {}
        cur = 0
        for s in range(NSTATES):
            cur = set_state(s, cur)
            expected[s] = tuple(sorted((e["group"], e["name"], e["value"], e["dist"]["name"] or "",
                                        e["dist"]["version"] or "")
                                       for e in importlib_answer(site, None, env)))
        if len(set(expected.values())) != NSTATES:
            raise RuntimeError("the states' answers are not all different")
        cur = set_state(gray(0), cur)
        subprocess.run(update, env=env, check=True, capture_output=True)

        step = multiprocessing.Value("q", 0, lock=False)
        done = multiprocessing.Value("b", 0, lock=False)
        counter = multiprocessing.Value("q", 0)
        results = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=reader,
                                         args=(args, site, expected, step, done, counter, results,
                                               args.seed * 100 + i))
                 for i in range(args.readers)]
        for p in procs:
            p.start()

        t0 = time.monotonic()
        first_fail = None
        samples = 0
        for k in range(1, args.rebuilds + 1):
            # exactly one rename per step; then readers may see state k
            cur = set_state(gray(k), cur)
            step.value = k
            r = subprocess.run(update, capture_output=True, env=env, timeout=60)
            if r.returncode == 0:
                passed += 1
            else:
                failed += 1
                if first_fail is None:
                    first_fail = "rebuild %d exit %d: %s" % (k, r.returncode, r.stderr.decode(errors="replace"))
            if k % args.sample_every == 0:
                # A sample, in order: with the directory still, the cache
                # must be fresh and answer each group exactly as importlib
                # does, order included.
                problem = sample_check(args, site, env)
                samples += 1
                if problem:
                    failed += 1
                    first_fail = first_fail or "sample at step %d: %s" % (k, problem)
                else:
                    passed += 1
        done.value = 1
        wall = time.monotonic() - t0

        lookups = fails = 0
        statuses = {}
        for _ in procs:
            n, f, st, ff = results.get(timeout=600)
            lookups += n
            fails += f
            for key, v in st.items():
                statuses[key] = statuses.get(key, 0) + v
            if ff and first_fail is None:
                first_fail = ff
        for p in procs:
            p.join()
            if p.exitcode != 0:
                failed += 1
                first_fail = first_fail or "a reader died (exit %s)" % p.exitcode
        passed += lookups - fails
        failed += fails
        print("readers: %d processes, %d lookups, %d answers not a live scan of a state "
              "the directory had" % (args.readers, lookups, fails))
        print("statuses seen: %s" % ", ".join("%s %d" % kv for kv in sorted(statuses.items())))
        print("writer: %d rebuilds (install or remove between each) in %.1f s" % (args.rebuilds, wall))
        if first_fail:
            print("FAIL first: %s" % first_fail)
        if lookups < args.lookups:
            failed += 1
            print("FAIL only %d lookups" % lookups)
        # A reader that never used its cache would pass every check above
        # (a live scan is always right): a share of the lookups must have
        # been answered from a fresh cache.
        fresh = statuses.get("fresh", 0)
        print("fresh lookups: %d of %d (%.0f%%, at least %.0f%% required); ordered samples "
              "against importlib: %d" % (fresh, lookups, 100.0 * fresh / max(1, lookups),
                                         100 * args.min_fresh, samples))
        if fresh < args.min_fresh * lookups:
            failed += 1
            print("FAIL too few fresh lookups: the cache was hardly used")
        if samples < args.rebuilds // args.sample_every:
            failed += 1
            print("FAIL only %d ordered samples" % samples)
        bad = sum(v for k, v in statuses.items() if k not in ("fresh", "stale"))
        print("parse failures (corrupt/untrusted/missing/errors): %d" % bad)
        print("%d passed, %d failed" % (passed, failed))
        return 0 if failed == 0 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
