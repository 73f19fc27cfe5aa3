#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Freshness race: a reader must never miss a distribution created around a rebuild.

    race.py --query BUILD/src/entrypoints-query \
            --update BUILD/src/update-entrypoints-cache \
            [--rounds 1000] [--seed N] [--mode mtime|strict|trust] [--in-place] \
            [--base-dists 200] [--max-dists 40] [--keep] [--verbose]

In a temporary site directory, each round:

  1. starts `update-entrypoints-cache [--mode M] SITE` in the background;
  2. creates a new distribution race_NNNNN-1.0.dist-info (one entry point in
     group "race") at a random moment: before the tool starts (15%), while it
     runs after a random 0-5 ms delay (70%), or right after it exits (15%);
     (the site also holds --base-dists other distributions so that a scan
     takes a moment: a creation "during" then often lands mid-scan);
     once the site holds --max-dists race distributions, an old one is also
     removed at an independent random moment;
  3. waits for the tool (exit status must be 0);
  4. runs `entrypoints-query --path SITE --status --format json` (the status
     must be fresh or stale, never corrupt/missing) and
     `entrypoints-query --path SITE --group race --format json`, whose answer
     must be exactly the race distributions present, in directory listing
     order (their names are all different, so that is importlib's order):
     the new one must be there, the removed one must not.

By default a distribution is created the way an atomic installer does it:
built in a staging directory on the same filesystem and renamed into the
site, and removed by renaming it out first.  --in-place creates it with
mkdir + file writes inside the site (and removes it with rmtree): a scan can
then see a half-written distribution and the site directory's mtime does not
change when entry_points.txt appears afterwards, so only --mode strict (which
also checks each distribution directory) can promise freshness there.

--burst --coarse-fs: on a ramfs mount (coarse timestamps), every round
creates one distribution right before the tool starts and another 0-4 ms
after: when both land in one timestamp tick with the tool's first look
between them, the second leaves the site's mtime unchanged and only the
racy-timestamp rule makes the tool look again. Counted; fewer than
--min-same-tick such rounds is a failure (on ext4 under Linux 6.13+,
multigrain timestamps make them impossible).

--mode trust is refused: that mode performs no freshness check by design.

Prints the rounds, how often the cache was fresh or stale at check time
(per creation timing), and a last line "N passed, M failed" (one test per
round); exit status 0 iff M is 0.
"""

import argparse
import collections
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

RACE_RE = re.compile(r"^race_(\d{5})-1\.0\.dist-info$")


def meta(name):
    return "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def make_dist(parent, i):
    d = os.path.join(parent, "race_%05d-1.0.dist-info" % i)
    os.mkdir(d)
    write(os.path.join(d, "METADATA"), meta("race-%05d" % i))
    write(os.path.join(d, "entry_points.txt"),
          "[race]\nrace_%05d = race.mod%05d:main\n[other]\nx%05d = other:x\n" % (i, i, i))
    return d


class Race:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.env = dict(os.environ)
        self.env.setdefault("PKGSYSTEM_ENABLE_FSYNC", "0")
        self.tmp = tempfile.mkdtemp(prefix="epcache-race-")
        self.mounted = False
        if args.coarse_fs:
            # Linux 6.13+ gives ext4, xfs, btrfs and tmpfs "multigrain"
            # timestamps: a change after someone stat()ed the inode gets a
            # fine-grained, distinct mtime. There a second change in the
            # same tick as the scan's stat is always visible, and the racy
            # rule is never needed (the mutation stamp_is_racy -> false
            # passed 1000/1000). ramfs still stamps with the coarse clock
            # (a few ms), as every filesystem did before 6.13 and as NFS,
            # FUSE and others still do: the rule is exercised only there.
            subprocess.run(["mount", "-t", "ramfs", "-o", "mode=0755", "epcache-race",
                            self.tmp], check=True)
            self.mounted = True
        self.site = os.path.join(self.tmp, "site")
        self.stage = os.path.join(self.tmp, "stage")
        self.trash = os.path.join(self.tmp, "trash")
        for d in (self.site, self.stage, self.trash):
            os.mkdir(d)
        self.present = []          # race indices currently in the site
        self.passed = 0
        self.failed = 0
        self.counts = collections.Counter()
        self.landed = collections.Counter()
        self.same_tick = 0
        self.update_cmd = [args.update] + (["--mode", args.mode] if args.mode else []) + [self.site]

    def fail(self, rnd, what, detail=""):
        self.failed += 1
        print("FAIL round %d: %s" % (rnd, what))
        if detail:
            for line in detail.rstrip("\n").split("\n"):
                print("     " + line)
        sys.stdout.flush()

    # -- actions ---------------------------------------------------------
    def prepare_create(self, i):
        if self.args.in_place:
            return lambda: make_dist(self.site, i)
        staged = make_dist(self.stage, i)
        target = os.path.join(self.site, os.path.basename(staged))
        return lambda: os.rename(staged, target)

    def prepare_remove(self, i):
        name = "race_%05d-1.0.dist-info" % i
        src = os.path.join(self.site, name)
        if self.args.in_place:
            return lambda: shutil.rmtree(src)
        dst = os.path.join(self.trash, name)
        return lambda: os.rename(src, dst)

    def pick_timing(self):
        t = self.rng.choices(["before", "during", "after"], weights=[15, 70, 15])[0]
        return t, (self.rng.uniform(0.0, 0.005) if t == "during" else 0.0)

    # -- tools -----------------------------------------------------------
    def run(self, cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, env=self.env, timeout=60)
        except subprocess.TimeoutExpired:
            return "timeout", b"", b"timed out after 60 s"
        return r.returncode, r.stdout, r.stderr

    def setup(self):
        for k in range(self.args.base_dists):
            d = os.path.join(self.site, "base%d-1.0.dist-info" % k)
            os.mkdir(d)
            write(os.path.join(d, "METADATA"), meta("base%d" % k))
            write(os.path.join(d, "entry_points.txt"), "[base]\nb%d = base:b\n" % k)
        rc, _, err = self.run(self.update_cmd)
        if rc != 0:
            raise RuntimeError("initial update failed (%s): %s" % (rc, err.decode(errors="replace")))

    def expected(self):
        out = []
        for n in os.listdir(self.site):
            m = RACE_RE.match(n)
            if m:
                out.append("race_%s" % m.group(1))
        return out

    def round(self, rnd):
        i = rnd
        actions = []   # (timing, delay, label, fn)
        t, dl = self.pick_timing()
        if self.args.burst:
            # Two changes within one timestamp tick (a few ms), the tool's
            # first look at the directory between them: the second leaves
            # the directory's mtime as the first set it, so only the racy
            # rule (a stamp in the tick the scan began is uncertain) keeps
            # the cache from being fresh without it.
            i = 2 * rnd
            actions.append(("before", 0.0, "create race_%05d" % (i + 1),
                            self.prepare_create(i + 1)))
            self.present.append(i + 1)
            t, dl = "during", self.rng.uniform(0.0, self.args.burst_ms / 1000.0)
        actions.append((t, dl, "create race_%05d" % i, self.prepare_create(i)))
        removed = None
        if len(self.present) >= self.args.max_dists:
            removed = self.present.pop(self.rng.randrange(len(self.present)))
            rt, rdl = self.pick_timing()
            actions.append((rt, rdl, "remove race_%05d" % removed, self.prepare_remove(removed)))
        self.present.append(i)
        desc = ", ".join("%s %s%s" % (lbl, tm, " +%.2fms" % (d * 1000) if tm == "during" else "")
                         for tm, d, lbl, _ in actions)

        for tm, _, _, fn in actions:
            if tm == "before":
                fn()
        mtime_before = os.stat(self.site).st_mtime_ns if self.args.burst else None
        t0 = time.perf_counter()
        proc = subprocess.Popen(self.update_cmd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=self.env)
        for tm, d, lbl, fn in sorted((a for a in actions if a[0] == "during"), key=lambda a: a[1]):
            left = t0 + d - time.perf_counter()
            if left > 0:
                time.sleep(left)
            fn()
            if lbl.startswith("create"):
                running = proc.poll() is None
                self.landed["tool still running" if running
                            else "tool already exited"] += 1
                # the danger the racy rule is for: the second change left
                # the directory's mtime as the first one set it
                if mtime_before is not None and running and \
                        os.stat(self.site).st_mtime_ns == mtime_before:
                    self.same_tick += 1
        try:
            _, err = proc.communicate(timeout=60)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            rc = "timeout"
        for tm, _, _, fn in actions:
            if tm == "after":
                fn()

        ok = True
        if rc != 0:
            ok = False
            self.fail(rnd, "update-entrypoints-cache exit status %s (%s)" % (rc, desc),
                      err.decode("utf-8", "replace"))

        rc, out, err = self.run([self.args.query, "--path", self.site, "--status", "--format", "json"])
        status = "?"
        try:
            if rc != 0:
                raise ValueError("exit status %s: %s" % (rc, err.decode("utf-8", "replace")))
            status = json.loads(out)[0]["status"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            ok = False
            self.fail(rnd, "--status failed (%s)" % desc, "%s\nstdout: %r" % (e, out[:500]))
        last = max((a[0] for a in actions), key=["before", "during", "after"].index)
        self.counts[(last, status)] += 1
        if status not in ("fresh", "stale", "?"):
            ok = False
            self.fail(rnd, "status %r at check time (%s)" % (status, desc))

        rc, out, err = self.run([self.args.query, "--path", self.site, "--group", "race",
                                 "--format", "json"])
        want = self.expected()
        try:
            if rc != 0:
                raise ValueError("exit status %s: %s" % (rc, err.decode("utf-8", "replace")))
            got = json.loads(out)
            names = [e["name"] for e in got]
            bad_dist = [e for e in got
                        if e["group"] != "race" or e["dist"]["name"] != e["name"].replace("_", "-")
                        or e["dist"]["version"] != "1.0"]
        except (ValueError, KeyError, TypeError) as e:
            ok = False
            self.fail(rnd, "query failed (%s)" % desc, "%s\nstdout: %r" % (e, out[:500]))
        else:
            if names != want or bad_dist:
                ok = False
                missing = sorted(set(want) - set(names))
                extra = sorted(set(names) - set(want))
                self.fail(rnd, "reader answer wrong with status %s (%s)" % (status, desc),
                          "missing: %s\nphantom: %s\norder ok: %s\nbad entries: %s"
                          % (missing, extra, sorted(names) == sorted(want) and names == want,
                             bad_dist[:3]))
        if ok:
            self.passed += 1
            if self.args.verbose:
                print("ok   round %d: %s, status %s" % (rnd, desc, status))

    def main(self):
        start = time.monotonic()
        self.setup()
        for rnd in range(self.args.rounds):
            self.round(rnd)
        elapsed = time.monotonic() - start
        fresh = sum(v for (t, s), v in self.counts.items() if s == "fresh")
        stale = sum(v for (t, s), v in self.counts.items() if s == "stale")
        print("rounds: %d in %.1f s (%.1f ms/round), mode %s, %s creation, seed %s"
              % (self.args.rounds, elapsed, 1000 * elapsed / max(1, self.args.rounds),
                 self.args.mode or "default", "in-place" if self.args.in_place else "atomic",
                 self.args.seed))
        print("cache at check time: fresh %d, stale %d" % (fresh, stale))
        for t in ("before", "during", "after"):
            print("  last change %-6s: fresh %4d, stale %4d"
                  % (t, self.counts[(t, "fresh")], self.counts[(t, "stale")]))
        print("  'during' creations that landed while the tool was still running: %d of %d"
              % (self.landed["tool still running"], sum(self.landed.values())))
        if self.args.burst:
            print("  bursts whose second creation left the site's mtime unchanged while the "
                  "tool ran: %d (at least %d required)" % (self.same_tick, self.args.min_same_tick))
            if self.same_tick < self.args.min_same_tick:
                print("FAIL: too few same-tick bursts: the racy rule was not exercised")
                self.failed += 1
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def main(argv):
    ap = argparse.ArgumentParser(description="epcache freshness race test")
    ap.add_argument("--query", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed (default: random, printed)")
    ap.add_argument("--mode", choices=["mtime", "strict", "trust"], default=None,
                    help="passed to update-entrypoints-cache --mode (default: the tool's default)")
    ap.add_argument("--in-place", action="store_true",
                    help="create/remove distributions in place instead of by rename")
    ap.add_argument("--base-dists", type=int, default=200,
                    help="other distributions in the site (they make a scan take a while)")
    ap.add_argument("--max-dists", type=int, default=40,
                    help="race distributions kept in the site before old ones are removed")
    ap.add_argument("--burst", action="store_true",
                    help="each round: a creation right before the tool starts and another one "
                         "0..--burst-ms after (both in one timestamp tick, often): catches a "
                         "rebuild without the racy-timestamp rule")
    ap.add_argument("--burst-ms", type=float, default=4.0)
    ap.add_argument("--min-same-tick", type=int, default=10,
                    help="with --burst: fail unless this many bursts put both creations "
                         "in one timestamp tick while the tool ran")
    ap.add_argument("--coarse-fs", action="store_true",
                    help="run on a ramfs mount (root): timestamps from the coarse clock")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    if args.mode == "trust":
        print("race: --mode trust performs no freshness check by design; nothing to test",
              file=sys.stderr)
        return 2
    if args.in_place and args.mode != "strict":
        print("race: note: --in-place without --mode strict: a scan can list a distribution "
              "before its entry_points.txt exists, and writing that file later does not change "
              "the site directory's mtime, so misses are possible by design")
    if args.coarse_fs and os.geteuid() != 0:
        print("race: --coarse-fs mounts a ramfs: needs root")
        return 1 if os.environ.get("CI") == "true" else 77
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    args.query = os.path.abspath(args.query)
    args.update = os.path.abspath(args.update)
    race = Race(args)
    try:
        return race.main()
    except RuntimeError as e:
        print("race: %s" % e)
        print("0 passed, 1 failed")
        return 1
    finally:
        if args.keep:
            print("kept %s" % race.tmp)
        else:
            if race.mounted:
                subprocess.run(["umount", race.tmp])
            shutil.rmtree(race.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
