#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Rebuilders at once on one directory (a pip wrapper and a dpkg trigger).

    concurrent-rebuilders.py --query BUILD/src/entrypoints-query \
                             --update BUILD/src/update-entrypoints-cache \
                             [--rounds 200] [--writers 3] [--seed N]

1. Serialisation: while the test holds the rebuild lock (flock on
   .epcache/lock, as a running rebuild does), a started rebuild must not
   finish, nor touch the cache; it finishes once the lock is released.
2. Each round installs or removes a distribution (renamed in or out), then
   starts --writers update-entrypoints-cache processes at the same moment
   (half of them -n, one in strict mode every other round) and, half of
   the time, changes the directory once more while they run.  All must
   exit 0; afterwards the cache must be fresh (the last writer saw the
   last change; the earlier ones were serialised before it), its answer
   must equal a live scan (--no-cache), and the cache directory must hold
   exactly entry-points.json and lock, the site no stray file.

Prints rounds, rebuilds run, and "N passed, M failed"; exit 0 iff M is 0.
"""

import argparse
import fcntl
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def make_dist(parent, i):
    d = os.path.join(parent, "conc%04d-1.0.dist-info" % i)
    os.mkdir(d)
    write(os.path.join(d, "METADATA"), "Metadata-Version: 2.1\nName: conc%04d\nVersion: 1.0\n" % i)
    write(os.path.join(d, "entry_points.txt"), "[conc]\nc%04d = conc.m:f%04d\n" % (i, i))
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--query", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--writers", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    env = dict(os.environ)
    env.setdefault("PKGSYSTEM_ENABLE_FSYNC", "0")
    tmp = tempfile.mkdtemp(prefix="epcache-conc-")
    site, stage, trash = (os.path.join(tmp, d) for d in ("site", "stage", "trash"))
    for d in (site, stage, trash):
        os.mkdir(d)
    passed = failed = 0
    rebuilds = 0

    def fail(what):
        nonlocal failed
        failed += 1
        print("FAIL " + what)
        sys.stdout.flush()

    def q(*extra):
        r = subprocess.run([args.query, "--path", site, "--format", "json"] + list(extra),
                           capture_output=True, env=env)
        return r.returncode, r.stdout

    try:
        for i in range(40):
            make_dist(site, i)
        subprocess.run([args.update, site], env=env, check=True)
        nxt = 40

        # 1. a held lock holds a rebuild back
        make_dist(site, nxt)
        nxt += 1
        before = open(os.path.join(site, ".epcache", "entry-points.json"), "rb").read()
        lock = os.open(os.path.join(site, ".epcache", "lock"), os.O_RDONLY)
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = subprocess.Popen([args.update, site], env=env)
        time.sleep(0.5)
        waited = p.poll() is None
        same = open(os.path.join(site, ".epcache", "entry-points.json"), "rb").read() == before
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
        rc = p.wait(timeout=60)
        r = subprocess.run([args.query, "--path", site, "--status", "--format", "json"],
                           capture_output=True, env=env)
        st = json.loads(r.stdout)[0]["status"] if r.returncode == 0 else "error"
        # the comparison below means something only with a fresh cache
        if waited and same and rc == 0 and st == "fresh" and q()[1] == q("--no-cache")[1]:
            passed += 1
            print("serialised: a rebuild waited 0.5 s for a held lock, then succeeded")
        else:
            fail("lock: waited=%s cache untouched=%s exit=%s" % (waited, same, rc))

        # 2. rounds of simultaneous rebuilders
        present = list(range(nxt))
        late_fresh = late_rounds = 0
        for rnd in range(args.rounds):
            if len(present) > 30 and rng.random() < 0.5:
                i = present.pop(rng.randrange(len(present)))
                name = "conc%04d-1.0.dist-info" % i
                os.rename(os.path.join(site, name), os.path.join(trash, "%d-%s" % (rnd, name)))
            else:
                d = make_dist(stage, nxt)
                os.rename(d, os.path.join(site, os.path.basename(d)))
                present.append(nxt)
                nxt += 1
            cmds = []
            for w in range(args.writers):
                cmd = [args.update]
                if w % 2:
                    cmd.append("-n")
                if w == 0 and rnd % 2:
                    cmd += ["--mode", "strict"]
                cmds.append(cmd + [site])
            procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for c in cmds]
            late = rng.random() < 0.5
            late_rounds += late
            if late:
                # one more install while they run; the writer that takes
                # the lock last must see it (or the cache must be stale)
                time.sleep(rng.uniform(0, 0.004))
                d = make_dist(stage, nxt)
                os.rename(d, os.path.join(site, os.path.basename(d)))
                present.append(nxt)
                nxt += 1
            rcs = []
            for pr in procs:
                _, err = pr.communicate(timeout=120)
                rcs.append((pr.returncode, err.decode(errors="replace")))
            rebuilds += len(procs)
            ok = True
            for rc, err in rcs:
                if rc != 0:
                    fail("round %d: a rebuilder exited %d: %s" % (rnd, rc, err.strip()))
                    ok = False
            if late:
                # the late install may have landed after the last scan:
                # a final rebuild settles it; what is checked is that the
                # concurrent ones left a usable, parseable cache
                r = subprocess.run([args.query, "--path", site, "--status", "--format", "json"],
                                   capture_output=True, env=env)
                st = json.loads(r.stdout)[0]["status"] if r.returncode == 0 else "error"
                if st not in ("fresh", "stale"):
                    fail("round %d: after a late install the status is %s" % (rnd, st))
                    ok = False
                # Before anything settles it: a cache the concurrent
                # rebuilders left fresh must hold the late install.
                if st == "fresh":
                    late_fresh += 1
                    a, b = q(), q("--no-cache")
                    if a != b or a[0] != 0:
                        fail("round %d: fresh after a late install, but not the live scan" % rnd)
                        ok = False
                subprocess.run([args.update, "-n", site], env=env, check=True)
            r = subprocess.run([args.query, "--path", site, "--status", "--format", "json"],
                               capture_output=True, env=env)
            st = json.loads(r.stdout)[0]["status"] if r.returncode == 0 else "error"
            if st != "fresh":
                fail("round %d: status %s after the rebuilders" % (rnd, st))
                ok = False
            a, b = q(), q("--no-cache")
            if a != b or a[0] != 0:
                fail("round %d: cached answer differs from the live scan" % rnd)
                ok = False
            want = {"conc%04d-1.0.dist-info" % i for i in present}
            names = set(os.listdir(site))
            if names != want | {".epcache"}:
                fail("round %d: site holds %s" % (rnd, sorted(names ^ (want | {".epcache"}))))
                ok = False
            debris = sorted(os.listdir(os.path.join(site, ".epcache")))
            if debris != ["entry-points.json", "lock"]:
                fail("round %d: cache directory holds %s" % (rnd, debris))
                ok = False
            if ok:
                passed += 1
        print("rounds: %d, %d rebuilders at once, %d rebuilds; final cache == live scan, "
              "no debris in %d rounds" % (args.rounds, args.writers, rebuilds, passed - 1))
        print("late installs: %d rounds; the concurrent rebuilders left the cache fresh in %d "
              "of them (each compared with a live scan before any rebuild settled it; at "
              "least %d required)" % (late_rounds, late_fresh, late_rounds // 3))
        if late_fresh < late_rounds // 3:
            failed += 1
            print("FAIL too few fresh caches after a late install: that check hardly ran")
        print("%d passed, %d failed" % (passed, failed))
        return 0 if failed == 0 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
