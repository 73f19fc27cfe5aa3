#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Whole-process cost of asking for one entry point group from Python.

    python-startup.py --build BUILDDIR [--runs N] [--json FILE] [--python PY]
                      [--dists N] [--real-only] [--installed] [--keep]

Two virtual environments of PY (default /usr/bin/python3) are made in a
temporary directory, each with the module from BUILDDIR/src/python
installed (a symlink): "real" holds a copy of /usr/lib/python3/dist-packages,
"synthetic" holds N (default 10,000) distributions from gen-site.py. Each
site gets a cache from BUILDDIR's update-entrypoints-cache. For each site
and group, these whole processes are timed, interleaved, median over RUNS
(default 15) after 2 warm-up rounds:

    pass       venv/bin/python -c pass
    epcache    venv/bin/python -c 'import epcache; epcache.entry_points(group=G)'
    importlib  venv/bin/python -c 'import importlib.metadata as m; m.entry_points(group=G)'
    uncached   the epcache command with the site's cache removed

and the table gives each median, the overhead over `pass` and
importlib's overhead / epcache's. Goals (issue 3): epcache overhead
<= 2 ms on the real site, <= 5 ms at 10,000 distributions.
EPCACHE_NO_WRITE=1 is set for every run, so that nothing is re-cached
between runs; nothing outside the temporary directory is written.
--real-only leaves the synthetic site out (run-bench's rows for the
other interpreters: BUILDDIR is then a build for PY).

--installed (root): `import epcache` of the package installed on this
machine (e.g. python3-epcache), as uid 65534, who cannot write its
directory: PY -X importtime, the package's own cumulative import time,
median of RUNS, beside the same files copied without their __pycache__
(what every such user paid when the package was not byte-compiled where
it was installed) and the one-group lookup it exists for.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REAL_SITE = "/usr/lib/python3/dist-packages"

CODE = {
    "pass": "pass",
    "epcache": "import epcache; epcache.entry_points(group=%r)",
    "importlib": "import importlib.metadata as m; m.entry_points(group=%r)",
}


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit("python-startup: %s failed (%d):\n%s%s" % (" ".join(cmd), r.returncode,
                                                           r.stdout, r.stderr))
    return r.stdout


def make_venv(python, root, module_dir):
    sh([python, "-m", "venv", "--without-pip", root])
    vpy = os.path.join(root, "bin", "python")
    site = sh([vpy, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip()
    os.symlink(os.path.join(module_dir, "epcache"), os.path.join(site, "epcache"))
    # byte-compiled as an install would leave it (PYTHONDONTWRITEBYTECODE
    # would otherwise have every run compile the package anew)
    sh([vpy, "-m", "compileall", "-q", os.path.join(module_dir, "epcache")])
    return vpy, site


def fill_real(site):
    for entry in os.listdir(REAL_SITE):
        if entry == ".epcache":
            continue
        src, dst = os.path.join(REAL_SITE, entry), os.path.join(site, entry)
        # hard links where the file system allows: 150 MB is not copied
        r = subprocess.run(["cp", "-al", src, dst], capture_output=True)
        if r.returncode != 0:
            shutil.rmtree(dst, ignore_errors=True)
            sh(["cp", "-a", src, dst])


def count(vpy, group):
    code = ("import epcache, json; print(json.dumps([len(epcache.entry_points(group=%r)), "
            "len(epcache.path_status())]))" % group)
    return json.loads(sh([vpy, "-c", code], env=ENV))


def check_same(vpy, group):
    code = ("import epcache, importlib.metadata as m; g=%r\n"
            "a = [(e.name, e.value, e.dist.name, e.dist.version) for e in epcache.entry_points(group=g)]\n"
            "b = [(e.name, e.value, e.dist.name, e.dist.version) for e in m.entry_points(group=g)]\n"
            "assert a == b, 'epcache and importlib differ'" % group)
    sh([vpy, "-c", code], env=ENV)


def cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def time_runs(cmds, runs, warmup=2):
    """cmds: {label: argv}; interleaved, so that load spikes hit all alike.
    Returns medians of wall time and, as "LABEL_cpu", of the child's CPU
    time (user + system), which a busy machine disturbs far less."""
    samples = {k: [] for k in cmds}
    cpus = {k: [] for k in cmds}
    for i in range(warmup + runs):
        for label, argv in cmds.items():
            c0 = cpu()
            t0 = time.perf_counter()
            r = subprocess.run(argv, env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            dt = time.perf_counter() - t0
            dc = cpu() - c0
            if r.returncode != 0:
                sys.exit("python-startup: %r failed:\n%s" % (argv, r.stderr.decode()))
            if i >= warmup:
                samples[label].append(dt * 1000)
                cpus[label].append(dc * 1000)
    out = {k: statistics.median(v) for k, v in samples.items()}
    out.update({k + "_cpu": statistics.median(v) for k, v in cpus.items()})
    return out


def cache_status(vpy, site):
    code = "import epcache; print(epcache.path_status(path=[%r])[0][1])" % site
    return sh([vpy, "-c", code], env=ENV).strip()


def bench_site(args, name, vpy, site, groups):
    rows = []
    update = os.path.join(args.build, "src", "update-entrypoints-cache")
    sh([update, site], env=ENV)
    st = cache_status(vpy, site)
    if st != "fresh":
        sys.exit("python-startup: %s: cache status %s after update" % (site, st))
    ndists = sum(1 for e in os.listdir(site) if e.endswith((".dist-info", ".egg-info")))
    for g in groups:
        check_same(vpy, g)
        n, npaths = count(vpy, g)
        cmds = {k: [vpy, "-c", c % g if "%r" in c else c] for k, c in CODE.items()}
        med = time_runs(cmds, args.runs)
        rows.append({"site": name, "dists": ndists, "group": g, "entries": n,
                     "path_entries": npaths, "cache": "fresh", **med})
    # the same with no cache at all: what the module costs before the
    # first update-entrypoints-cache (it then scans, like importlib)
    sh([update, "--remove", site], env=ENV)
    for row in rows:
        g = row["group"]
        med = time_runs({"pass": [vpy, "-c", "pass"],
                         "uncached": [vpy, "-c", CODE["epcache"] % g]}, args.runs)
        row["uncached"] = med["uncached"]
        row["pass_uncached_run"] = med["pass"]
        row["uncached_cpu"] = med["uncached_cpu"]
        row["pass_uncached_run_cpu"] = med["pass_cpu"]
    return rows


def print_table(rows, runs):
    hdr = ("%-9s %6s %-16s %6s | %8s %8s %9s %9s | %8s %9s %8s"
           % ("site", "dists", "group", "eps", "pass", "epcache", "importlib", "uncached",
              "ep-ovh", "imp-ovh", "ratio"))
    for sfx, what in (("", "wall time"), ("_cpu", "CPU time (user+sys)")):
        print("%s: medians of %d whole-process runs, milliseconds; ovh = minus `pass`"
              % (what, runs))
        print(hdr)
        print("-" * len(hdr))
        for r in rows:
            p = r["pass" + sfx]
            e = r["epcache" + sfx] - p
            i = r["importlib" + sfx] - p
            r["epcache_overhead" + sfx] = e
            r["importlib_overhead" + sfx] = i
            r["uncached_overhead" + sfx] = r["uncached" + sfx] - r["pass_uncached_run" + sfx]
            r["ratio" + sfx] = i / e if e > 0 else None
            print("%-9s %6d %-16s %6d | %8.1f %8.1f %9.1f %9.1f | %8.2f %9.1f %8s"
                  % (r["site"], r["dists"], r["group"][:16], r["entries"], p,
                     r["epcache" + sfx], r["importlib" + sfx], r["uncached" + sfx], e, i,
                     "%.0fx" % r["ratio" + sfx] if r["ratio" + sfx] else "-"))
    print("goals: epcache overhead <= 2 ms (real), <= 5 ms (10,000 dists)")
    try:
        print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    except OSError:
        pass


ENV = None
NOBODY = 65534


def importtime_us(python, code, runs, extra_env=None):
    """Median over RUNS of the cumulative -X importtime of the package
    epcache, and of the whole run of CODE's last statement, as uid 65534."""
    env = dict(ENV, **(extra_env or {}))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
           python, "-X", "importtime", "-c", code]
    imports = []
    for i in range(2 + runs):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd="/")
        if r.returncode != 0:
            sys.exit("python-startup: %r failed:\n%s" % (cmd, r.stderr))
        cum = None
        for line in r.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "epcache":
                cum = int(parts[1])
        if cum is None:
            sys.exit("python-startup: no 'epcache' in -X importtime:\n%s" % r.stderr)
        if i >= 2:
            imports.append(cum)
    return statistics.median(imports)


def bench_installed(args):
    """import epcache as uid 65534: the installed package, and a copy of it
    without byte code nobody can write."""
    where = sh([args.python, "-I", "-c",
                "import epcache, os; print(os.path.dirname(epcache.__file__))"]).strip()
    if where.startswith(os.path.abspath(args.build)):
        sys.exit("python-startup: --installed: %s imports epcache from the build tree" %
                 args.python)
    tmp = tempfile.mkdtemp(prefix="epcache-bench-nopyc-")
    try:
        os.chmod(tmp, 0o755)
        shutil.copytree(where, os.path.join(tmp, "epcache"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        for d, dirs, files in os.walk(tmp):
            os.chmod(d, 0o755)
        pyc = os.path.isdir(os.path.join(where, "__pycache__"))
        rows = {
            "package": where,
            "byte_compiled": pyc,
            "installed_us": importtime_us(args.python, "import epcache", args.runs),
            "no_pycache_us": importtime_us(args.python, "import epcache", args.runs,
                                           {"PYTHONPATH": tmp}),
        }
        # the lookup the package exists for, in the same process: its time
        # is the whole -c minus the import, so time it inside instead
        code = ("import time, epcache; t = time.perf_counter(); "
                "epcache.entry_points(group='console_scripts'); "
                "print((time.perf_counter() - t) * 1e6)")
        env = dict(ENV)
        samples = []
        for i in range(2 + args.runs):
            r = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                                "--clear-groups", args.python, "-c", code],
                               env=env, capture_output=True, text=True, cwd="/")
            if r.returncode != 0:
                sys.exit("python-startup: lookup as uid %d failed:\n%s" % (NOBODY, r.stderr))
            if i >= 2:
                samples.append(float(r.stdout))
        rows["lookup_us"] = statistics.median(samples)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("import epcache as uid %d, %s -X importtime, medians of %d runs, microseconds:"
          % (NOBODY, args.python, args.runs))
    print("  installed package %s (%s): %.0f" % (
        rows["package"], "byte-compiled" if rows["byte_compiled"] else "NO __pycache__",
        rows["installed_us"]))
    print("  the same files without __pycache__ (compiled at every import): %.0f"
          % rows["no_pycache_us"])
    print("  the lookup it exists for (console_scripts, sys.path): %.0f" % rows["lookup_us"])
    return rows


def main():
    global ENV
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--json")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--dists", type=int, default=10000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--real-only", action="store_true")
    ap.add_argument("--installed", action="store_true")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    module_dir = os.path.join(args.build, "src", "python")
    if not os.path.isdir(os.path.join(module_dir, "epcache")):
        sys.exit("python-startup: no module in %s (built with -Dpython-module=disabled?)"
                 % module_dir)
    ENV = dict(os.environ, EPCACHE_NO_WRITE="1", PKGSYSTEM_ENABLE_FSYNC="0")
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        ENV.pop(k, None)
    tmp = tempfile.mkdtemp(prefix="epcache-bench-py-")
    rows = []
    installed = None
    try:
        if os.path.isdir(REAL_SITE):
            vpy, site = make_venv(args.python, os.path.join(tmp, "real"), module_dir)
            fill_real(site)
            rows += bench_site(args, "real", vpy, site, ["console_scripts"])
        if not args.real_only:
            vpy, site = make_venv(args.python, os.path.join(tmp, "synthetic"), module_dir)
            sh([sys.executable, os.path.join(HERE, "gen-site.py"), site, str(args.dists)])
            rows += bench_site(args, "synthetic", vpy, site, ["bench.fixed", "console_scripts"])
        installed = bench_installed(args) if args.installed else None
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(rows, args.runs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": args.runs, "python": args.python, "rows": rows,
                       "installed": installed}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
