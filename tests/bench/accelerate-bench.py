#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The accelerator (epcache-accelerate.pth): what it saves real programs,
what it costs every interpreter start, and what repeated calls cost.

    accelerate-bench.py --build BUILDDIR [--runs N] [--startup-runs N] [--extra N]
                        [--json FILE]

The site: as on a machine with the package installed, where the dpkg
trigger keeps /usr/lib/python3/dist-packages cached, without writing it:
the script runs itself in a private mount namespace (unshare --mount, as
root) where a directory of symbolic links to the real one is bind-mounted
over /usr/lib/python3/dist-packages and cached by BUILDDIR's
update-entrypoints-cache; the hook in a user site (PYTHONUSERBASE), the
package from BUILDDIR/src/python (PYTHONPATH). Rows, medians of interleaved runs after
2 warm-up rounds, EPCACHE_NO_WRITE=1 throughout:

  program rows    whole process with the accelerator, without it
                  (EPCACHE_NO_ACCELERATE=1, same environment), and
                  `python3 -c pass`: the time saved per program; then
                  again with EXTRA (default 2,000) generated distributions
                  in a second cached site on PYTHONPATH (entry points in
                  groups no program loads), as on a bigger system: with
                  113 distributions the few ms saved are within the
                  noise of whole processes
  instructions    with --program-instructions: the instructions valgrind
                  (callgrind) counts for each program with and without,
                  on both sites: what the accelerator saves without the
                  noise of wall clocks (slow: minutes)
  start-up cost   `python3 -c pass` with the hook's user site against the
                  same user site without the .pth (STARTUP-RUNS runs each,
                  default 300, interleaved), and the hook module's own
                  import time from -X importtime (median of 50): goal
                  <= 0.3 ms
                  and, as noise does not change them, the instructions
                  valgrind counts for `python3 -c pass` with and without
                  the .pth (when valgrind is installed)
  first call      the first entry_points(group='console_scripts') of a
                  new process, timed inside it (median of RUNS*3
                  processes), with and without: the work the accelerator
                  replaces, without the noise of a whole process
  every dist      pluggy's and flake8's way, timed inside a new process
                  (median of RUNS*3): `for d in distributions():
                  d.entry_points`, first pass and second pass, with and
                  without, against the plain read floor: opening and
                  reading every distribution's entry_points.txt, no parse
  repeated calls  entry_points(group='console_scripts') called repeatedly
                  in one process (the best of 7 interleaved rounds of 200
                  calls): per call, accelerated and importlib's
                  own, against one freshness check of the same path, every
                  entry of sys.path (epcache.path_status()), and of the
                  site alone, and importlib's own call over only the
                  entries without a fresh cache (what stays importlib's
                  by design): goal accelerated <= one check of the path
                  plus that part
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SITE = "/usr/lib/python3/dist-packages"
PY = "/usr/bin/python3"

PROGRAMS = [
    ("pytest --co -q", ["/usr/bin/pytest", "--co", "-q", "-p", "no:cacheprovider"]),
    ("flake8 --version", [PY, "-m", "flake8", "--version"]),
    ("sphinx-build --version", ["/usr/bin/sphinx-build", "--version"]),
    ("keyring --list-backends", ["/usr/bin/keyring", "--list-backends"]),
    ("openstack command list", ["/usr/bin/openstack", "command", "list"]),
    ("entry_points(group=) alone", [PY, "-c", "import importlib.metadata as m; "
                                    "m.entry_points(group='console_scripts')"]),
]

REPEAT = r'''
import importlib.metadata as md, sys, time
import epcache
acc = md.entry_points
orig = getattr(acc, "__wrapped__", acc)
site = sys.argv[1]
saved = sys.path[:]
unc = [e for e, status, why in epcache.path_status() if status != "fresh"]
def only_unc():
    sys.path[:] = unc
    try:
        return orig(group="console_scripts")
    finally:
        sys.path[:] = saved
# per call, the best of 7 interleaved rounds (timeit's rule: the rest is
# noise from elsewhere)
calls = {
    "a": (lambda: acc(group="console_scripts"), 200),
    "o": (lambda: orig(group="console_scripts"), 20),
    "c": (lambda: epcache.path_status(path=[site]), 200),
    "p": (lambda: epcache.path_status(), 200),
    "u": (only_unc, 200),
}
best = {}
for f, n in calls.values():
    f()
for _ in range(7):
    for k, (f, n) in calls.items():
        t = time.perf_counter()
        for _ in range(n):
            f()
        best[k] = min(best.get(k, 1e9), (time.perf_counter() - t) / n * 1e6)
a, o, c, p, u = (best[k] for k in "aocpu")
print(a, o, c, getattr(acc, "_epcache_accelerated", False), p, len(saved), u, len(unc))
'''


DISTS = r'''
import importlib.metadata as m, os, sys, time
dists = list(m.distributions())
def one_pass():
    t = time.perf_counter()
    n = sum(len(d.entry_points) for d in dists)
    return (time.perf_counter() - t) * 1e3, n
first, n1 = one_pass()
second, n2 = one_pass()
t = time.perf_counter()
for d in dists:
    try:
        with open(os.path.join(str(d._path), "entry_points.txt"), "rb") as f:
            f.read()
    except OSError:
        pass
floor = (time.perf_counter() - t) * 1e3
acc = getattr(m.PathDistribution.__dict__.get("entry_points"), "fget", None)
print(first, second, floor, len(dists), n1 == n2 and n1,
      getattr(acc, "_epcache_accelerated", False))
'''


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="epcache-accel-bench-")
        self.build = os.path.abspath(args.build)
        # in our own mount namespace: the real directory at orig/, links
        # to it in farm/, and farm/ where the real directory was
        orig = os.path.join(self.tmp, "orig")
        farm = os.path.join(self.tmp, "farm")
        os.mkdir(orig)
        os.mkdir(farm)
        subprocess.run(["mount", "--make-rprivate", "/"], check=True)
        subprocess.run(["mount", "--bind", SITE, orig], check=True)
        for name in os.listdir(orig):
            if name != ".epcache":
                os.symlink(os.path.join(orig, name), os.path.join(farm, name))
        subprocess.run(["mount", "--bind", farm, SITE], check=True)
        self.site = SITE
        subprocess.run([os.path.join(self.build, "src", "update-entrypoints-cache"),
                        self.site], check=True)
        ver = "python%d.%d" % sys.version_info[:2]
        self.ub_on = os.path.join(self.tmp, "ub-on")
        self.ub_off = os.path.join(self.tmp, "ub-off")
        for ub in (self.ub_on, self.ub_off):
            os.makedirs(os.path.join(ub, "lib", ver, "site-packages"))
        hook = os.path.join(self.build, "src", "python", "accelerate-hook")
        usersite = os.path.join(self.ub_on, "lib", ver, "site-packages")
        for f in ("epcache-accelerate.pth", "_epcache_accelerate.py"):
            shutil.copy(os.path.join(hook, f), usersite)
        subprocess.run([PY, "-m", "py_compile", os.path.join(usersite, "_epcache_accelerate.py")],
                       check=True)
        self.project = os.path.join(self.tmp, "project")
        os.mkdir(self.project)
        with open(os.path.join(self.project, "test_one.py"), "w") as f:
            f.write("def test_one():\n    pass\n")
        self.rows = []
        self.extra = []

    def make_extra(self, n):
        """A cached site of @n distributions, 60% with 2-9 entry points in
        groups none of the programs loads; older than the accelerator's
        2 s racy window when the programs run."""
        import random
        rnd = random.Random(1)
        site = os.path.join(self.tmp, "extra", "site-packages")
        os.makedirs(site)
        for i in range(n):
            d = os.path.join(site, "benchpkg%05d-1.0.dist-info" % i)
            os.mkdir(d)
            with open(os.path.join(d, "METADATA"), "w") as f:
                f.write("Metadata-Version: 2.1\nName: benchpkg%05d\nVersion: 1.0\n" % i)
            if rnd.random() < 0.6:
                with open(os.path.join(d, "entry_points.txt"), "w") as f:
                    f.write("[console_scripts]\nbench%05d = benchpkg%05d:main\n" % (i, i))
                    for k in range(rnd.randrange(1, 9)):
                        f.write("[bench.g%02d]\nb%05d_%d = benchpkg%05d:x%d\n"
                                % (rnd.randrange(40), i, k, i, k))
        subprocess.run([os.path.join(self.build, "src", "update-entrypoints-cache"), site],
                       check=True)
        time.sleep(2.5)
        return site

    def env(self, accelerate=True, userbase=None):
        home = os.path.join(self.tmp, "home")
        os.makedirs(home, exist_ok=True)
        e = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
             "EPCACHE_NO_WRITE": "1", "PYTHONUSERBASE": userbase or self.ub_on,
             "PYTHONPATH": os.pathsep.join([os.path.join(self.build, "src", "python")]
                                           + self.extra),
             # stevedore's own cache would answer instead of importlib
             "XDG_CACHE_HOME": "/nonexistent/cache"}
        if not accelerate:
            e["EPCACHE_NO_ACCELERATE"] = "1"
        return e

    def time_one(self, argv, env):
        t = time.perf_counter()
        subprocess.run(argv, env=env, cwd=self.project, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return (time.perf_counter() - t) * 1e3

    def interleaved(self, variants, runs):
        times = [[] for _ in variants]
        for i in range(runs + 2):
            for k, (argv, env) in enumerate(variants):
                ms = self.time_one(argv, env)
                if i >= 2:
                    times[k].append(ms)
        return [statistics.median(t) for t in times], times

    def programs(self, label="the real site"):
        passv = ([PY, "-c", "pass"], self.env())
        print("%-28s %10s %10s %10s %10s %8s   (%s)" % (
            "program (median ms)", "without", "with", "saved", "pass", "ratio", label))
        for name, argv in PROGRAMS:
            if not os.path.exists(argv[0]):
                print("%-28s not installed" % name)
                continue
            (off, on, p), _ = self.interleaved(
                [(argv, self.env(False)), (argv, self.env(True)), passv], self.args.runs)
            print("%-28s %10.1f %10.1f %10.1f %10.1f %7.2fx" % (
                name, off, on, off - on, p, (off - p) / max(on - p, 1e-9)))
            self.rows.append({"what": name, "site": label, "without_ms": off, "with_ms": on,
                              "saved_ms": off - on, "pass_ms": p})

    def program_instructions(self, label):
        if not shutil.which("valgrind"):
            print("program instructions: valgrind is not installed")
            return
        print("%-28s %14s %14s %14s %8s   (%s)" % (
            "program (instructions)", "without", "with", "saved", "saved%", label))
        for name, argv in PROGRAMS:
            if not os.path.exists(argv[0]):
                continue
            counts = {}
            for acc in (False, True):
                r = subprocess.run(["valgrind", "--tool=callgrind",
                                    "--callgrind-out-file=/dev/null"] + argv,
                                   env=self.env(acc), cwd=self.project,
                                   capture_output=True, text=True)
                m = re.search(r"Collected : (\d+)", r.stderr)
                counts[acc] = int(m.group(1)) if m else None
            if None in counts.values():
                print("%-28s valgrind gave no count" % name)
                continue
            off, on = counts[False], counts[True]
            print("%-28s %14d %14d %14d %7.1f%%" % (name, off, on, off - on,
                                                   100.0 * (off - on) / off))
            self.rows.append({"what": name + " instructions", "site": label,
                              "without": off, "with": on})

    def startup(self):
        argv = [PY, "-c", "pass"]
        (off, on), times = self.interleaved(
            [(argv, self.env(userbase=self.ub_off)), (argv, self.env(userbase=self.ub_on))],
            self.args.startup_runs)
        diffs = [b - a for a, b in zip(*times)]
        imp = []
        pat = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| +_epcache_accelerate$")
        for _ in range(50):
            r = subprocess.run([PY, "-X", "importtime", "-c", "pass"], env=self.env(),
                               capture_output=True, text=True)
            m = [pat.search(line) for line in r.stderr.splitlines()]
            m = [x for x in m if x]
            if m:
                imp.append(int(m[0].group(2)))
        imp_med = statistics.median(imp) / 1e3 if imp else float("nan")
        print("start-up: python3 -c pass %.2f ms without the .pth, %.2f ms with: +%.3f ms "
              "(median of %d paired differences %.3f ms); hook import (-X importtime, "
              "median of %d) %.3f ms; goal <= 0.3 ms"
              % (off, on, on - off, len(diffs), statistics.median(diffs), len(imp), imp_med))
        self.rows.append({"what": "start-up", "without_pth_ms": off, "with_pth_ms": on,
                          "paired_median_diff_ms": statistics.median(diffs),
                          "hook_import_ms": imp_med, "goal_ms": 0.3})

    def instructions(self):
        if not shutil.which("valgrind"):
            print("start-up instructions: valgrind is not installed")
            return
        counts = {}
        for label, ub in (("without", self.ub_off), ("with", self.ub_on)):
            r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                                PY, "-c", "pass"], env=self.env(userbase=ub),
                               capture_output=True, text=True)
            m = re.search(r"Collected : (\d+)", r.stderr)
            counts[label] = int(m.group(1)) if m else None
        if None in counts.values():
            print("start-up instructions: valgrind gave no count")
            return
        d = counts["with"] - counts["without"]
        print("start-up instructions (callgrind, python3 -c pass): %d without the .pth, %d with: "
              "+%d (%.2f%% of the start)" % (counts["without"], counts["with"], d,
                                             100.0 * d / counts["without"]))
        self.rows.append({"what": "start-up instructions", "without": counts["without"],
                          "with": counts["with"], "added": d})

    def first_call(self):
        code = ("import time, importlib.metadata as m; t = time.perf_counter(); "
                "m.entry_points(group='console_scripts'); "
                "print((time.perf_counter() - t) * 1e3)")
        res = {}
        for label, acc in (("without", False), ("with", True)):
            vals = []
            for _ in range(self.args.runs * 3):
                r = subprocess.run([PY, "-c", code], env=self.env(acc), capture_output=True,
                                   text=True)
                vals.append(float(r.stdout))
            res[label] = statistics.median(vals)
        print("first entry_points(group='console_scripts') in a new process, timed inside: "
              "%.2f ms without, %.2f ms with (the extension's import included): %.1fx"
              % (res["without"], res["with"], res["without"] / res["with"]))
        self.rows.append({"what": "first call in process", "without_ms": res["without"],
                          "with_ms": res["with"]})

    def every_dist(self):
        res = {}
        for label, acc in (("without", False), ("with", True)):
            vals = []
            for _ in range(self.args.runs * 3):
                r = subprocess.run([PY, "-c", DISTS], env=self.env(acc), cwd=self.project,
                                   capture_output=True, text=True)
                try:
                    first, second, floor, nd, neps, on = r.stdout.split()
                    vals.append((float(first), float(second), float(floor)))
                except ValueError:
                    print("every distribution's entry_points: failed: %s" % r.stderr.strip())
                    return
            res[label] = [statistics.median(v[i] for v in vals) for i in range(3)] + [on]
        off, on = res["without"], res["with"]
        floor = statistics.median([off[2], on[2]])
        print("for d in distributions(): d.entry_points (%s distributions, %s entry points; "
              "accelerated: %s), timed inside a new process:\n"
              "  first pass %.2f ms without, %.2f ms with (%.1fx); second pass %.2f ms without, "
              "%.2f ms with (%.1fx); plain read floor (open and read each entry_points.txt) "
              "%.2f ms: first pass with = %.2fx the floor, without = %.2fx"
              % (nd, neps, on[3], off[0], on[0], off[0] / on[0], off[1], on[1], off[1] / on[1],
                 floor, on[0] / floor, off[0] / floor))
        self.rows.append({"what": "every distribution's entry_points",
                          "first_without_ms": off[0], "first_with_ms": on[0],
                          "second_without_ms": off[1], "second_with_ms": on[1],
                          "read_floor_ms": floor})

    def repeated(self):
        r = subprocess.run([PY, "-c", REPEAT, self.site], env=self.env(), capture_output=True,
                           text=True)
        try:
            a, o, c, ok, p, n, u, nu = r.stdout.split()
            a, o, c, p, u = float(a), float(o), float(c), float(p), float(u)
        except ValueError:
            print("repeated calls: failed: %s" % r.stderr.strip())
            return
        print("repeated entry_points(group='console_scripts'): %.0f us per call accelerated "
              "(%s), %.0f us importlib's own (%.0fx); a freshness check (path_status) of the "
              "whole path (%s entries) %.0f us, of the site alone %.0f us; importlib's own "
              "over the %s entries without a fresh cache %.0f us: accelerated = %.2f x (a "
              "check of the path + importlib's part)"
              % (a, "on" if ok == "True" else "OFF", o, o / a, n, p, c, nu, u, a / (p + u)))
        self.rows.append({"what": "repeated entry_points(group=)", "accelerated_us": a,
                          "importlib_us": o, "freshness_check_us": c,
                          "path_freshness_check_us": p, "importlib_uncached_part_us": u})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--startup-runs", type=int, default=300)
    ap.add_argument("--extra", type=int, default=2000)
    ap.add_argument("--program-instructions", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.inside:
        os.execvp("unshare", ["unshare", "--mount", PY, os.path.abspath(__file__),
                              "--inside"] + sys.argv[1:])
    b = Bench(args)
    try:
        print("accelerator, the real site (%d entries), load %s" % (
            len(os.listdir(b.site)), open("/proc/loadavg").read().split()[:3]))
        b.programs()
        if args.program_instructions:
            b.program_instructions("the real site")
        if args.extra:
            label = "the real site + %d generated distributions" % args.extra
            b.extra = [b.make_extra(args.extra)]
            b.programs(label)
            if args.program_instructions:
                b.program_instructions(label)
            b.extra = []
        b.startup()
        b.instructions()
        b.first_call()
        b.every_dist()
        b.repeated()
    finally:
        subprocess.run(["umount", SITE])
        subprocess.run(["umount", os.path.join(b.tmp, "orig")])
        if not args.keep:
            shutil.rmtree(b.tmp, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(b.rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
