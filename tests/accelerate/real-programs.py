#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Real programs from Debian, run with the accelerator and without it:
their outputs must be the same, byte for byte.

    real-programs.py --module-dir BUILD/src/python --update BUILD/src/update-entrypoints-cache

The site: a directory of symbolic links to everything in
/usr/lib/python3/dist-packages (the system's directory is not written),
first on PYTHONPATH, with a fresh cache built by update-entrypoints-cache.
The accelerator: the build's epcache package (PYTHONPATH) and its start-up
hook, epcache-accelerate.pth with _epcache_accelerate.py, in a user site
(PYTHONUSERBASE), as the package installs them. "Without" is the same
environment with EPCACHE_NO_ACCELERATE=1. Each run gets an empty HOME and
XDG_CACHE_HOME (stevedore caches entry points there) and EPCACHE_NO_WRITE=1.

Programs: pytest --trace-config --co -q on a fixture project (its plugin
list), flake8 --version (python3 -m flake8: Debian's /usr/bin/flake8 is in
another package), sphinx-build --version, keyring --list-backends,
openstack command list (stevedore). Two things are not the program's
answer and are normalised in both outputs alike: object addresses
(0x...) and the collection time ("in 0.01s") in pytest's output, and the
order of keyring's list, which is
the iteration order of a set of classes (keyring.backend's _classes:
hashed by id, so by where each class happened to be allocated; the test
shows that order moving without the accelerator too). Exit status 0 iff
every comparison passed; a program that is missing is a failure.

Then each program runs twice more, with an audit hook (a .pth of its own
user site) counting the entry_points.txt files of the cached site it
opens: pytest, flake8, keyring and openstack must open some without the
accelerator and none with it (each reads every distribution's entry
points, or a group's; openstack through the importlib_metadata backport,
which cliff imports and which takes path discovery from the stdlib);
sphinx-build's counts are printed (its --version reads none).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SITE = "/usr/lib/python3/dist-packages"
PY = "/usr/bin/python3"

ADDR = re.compile(rb"0x[0-9a-f]+")
DURATION = re.compile(rb" in [0-9]+\.[0-9]+s\b")


def mask_addresses(b):
    return DURATION.sub(b" in N.NNs", ADDR.sub(b"0xADDR", b))


def sort_lines(b):
    return b"".join(sorted(b.splitlines(keepends=True)))


# Counts what the program opens of the cached site, written at exit.
COUNT_HOOK = '''import atexit, os, sys
_site = os.environ["EPCACHE_TEST_COUNT_SITE"] + "/"
_n = [0]
def _hook(event, args):
    if event == "open" and isinstance(args[0], str) and \\
            args[0].startswith(_site) and args[0].endswith("/entry_points.txt"):
        _n[0] += 1
def _write():
    with open(os.environ["EPCACHE_TEST_COUNT_FILE"], "w") as f:
        f.write("%d\\n" % _n[0])
sys.addaudithook(_hook)
atexit.register(_write)
'''

# must open some entry_points.txt without the accelerator, none with it
ACCELERATED = ("pytest", "flake8", "keyring", "openstack")

PROGRAMS = [
    # name, argv, normalise stdout
    ("pytest", ["/usr/bin/pytest", "--trace-config", "--co", "-q",
                "-p", "no:cacheprovider"], mask_addresses),
    ("flake8", [PY, "-m", "flake8", "--version"], None),
    ("sphinx-build", ["/usr/bin/sphinx-build", "--version"], None),
    ("keyring", ["/usr/bin/keyring", "--list-backends"], sort_lines),
    ("openstack", ["/usr/bin/openstack", "command", "list"], None),
]


class Runner:
    def __init__(self, args):
        self.tmp = tempfile.mkdtemp(prefix="epcache-real-programs-")
        self.failed = 0
        self.passed = 0
        self.site = os.path.join(self.tmp, "site")
        os.mkdir(self.site)
        for name in os.listdir(SITE):
            if name != ".epcache":
                os.symlink(os.path.join(SITE, name), os.path.join(self.site, name))
        self.userbase = os.path.join(self.tmp, "userbase")
        usersite = os.path.join(self.userbase, "lib", "python%d.%d" % sys.version_info[:2],
                                "site-packages")
        os.makedirs(usersite)
        hook = os.path.join(args.module_dir, "accelerate-hook")
        for f in ("epcache-accelerate.pth", "_epcache_accelerate.py"):
            shutil.copy(os.path.join(hook, f), usersite)
        # the same user site, plus the counting hook
        self.userbase_count = os.path.join(self.tmp, "userbase-count")
        shutil.copytree(self.userbase, self.userbase_count)
        usersite = usersite.replace(self.userbase, self.userbase_count, 1)
        with open(os.path.join(usersite, "_epcache_count.py"), "w") as f:
            f.write(COUNT_HOOK)
        with open(os.path.join(usersite, "0-epcache-count.pth"), "w") as f:
            f.write("import _epcache_count\n")
        self.project = os.path.join(self.tmp, "project")
        os.mkdir(self.project)
        with open(os.path.join(self.project, "test_fixture.py"), "w") as f:
            f.write("def test_one():\n    pass\n\n\ndef test_two():\n    pass\n")
        # a cache written in the timestamp tick of the directory's last
        # change is not taken as fresh (the racy rule): build until it is
        for _ in range(40):
            r = subprocess.run([args.update, self.site], capture_output=True)
            if r.returncode != 0 or subprocess.run(
                    [args.update, "--check", self.site], capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        self.check("cache built", r.returncode == 0, r.stderr.decode())
        self.module_dir = os.path.abspath(args.module_dir)
        self.n = 0

    def env(self, accelerate):
        self.n += 1
        home = os.path.join(self.tmp, "home%d" % self.n)
        os.mkdir(home)
        e = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
             "XDG_CACHE_HOME": os.path.join(home, ".cache"),
             "XDG_CONFIG_HOME": os.path.join(home, ".config"),
             "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
             "EPCACHE_NO_WRITE": "1", "PYTHONUSERBASE": self.userbase,
             "PYTHONPATH": self.module_dir + os.pathsep + self.site,
             "COLUMNS": "120"}
        if not accelerate:
            e["EPCACHE_NO_ACCELERATE"] = "1"
        return e

    def run(self, argv, accelerate, count=None):
        env = self.env(accelerate)
        if count:
            env.update(PYTHONUSERBASE=self.userbase_count, EPCACHE_TEST_COUNT_SITE=self.site,
                       EPCACHE_TEST_COUNT_FILE=count)
        return subprocess.run(argv, cwd=self.project, env=env,
                              capture_output=True, timeout=300)

    def opens(self, argv, accelerate):
        """How many entry_points.txt of the cached site the program opens."""
        count = os.path.join(self.tmp, "count")
        if os.path.exists(count):
            os.remove(count)
        self.run(argv, accelerate, count)
        try:
            with open(count) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s" % name)
            for line in str(detail).splitlines()[:40]:
                print("     %s" % line)

    def preconditions(self):
        """The arrangement does what it says: with the hook the
        accelerator is behind importlib.metadata and the site's cache is
        fresh; without it, importlib is untouched."""
        probe = ("import importlib.metadata as md, epcache, sys\n"
                 "print(getattr(md.entry_points, '_epcache_accelerated', False))\n"
                 "print([s for p, s, r in epcache.path_status() if p == sys.argv[1]])\n")
        r = self.run([PY, "-c", probe, self.site], True)
        self.check("accelerator in place", r.stdout == b"True\n['fresh']\n",
                   r.stdout.decode() + r.stderr.decode())
        r = self.run([PY, "-c", probe, self.site], False)
        self.check("EPCACHE_NO_ACCELERATE=1 leaves importlib alone",
                   r.stdout == b"False\n['fresh']\n", r.stdout.decode() + r.stderr.decode())

    def compare(self):
        for name, argv, norm in PROGRAMS:
            if not os.path.exists(argv[0]):
                self.check(name, False, "%s is not installed "
                           "(packaging/install-build-deps --test)" % argv[0])
                continue
            on = self.run(argv, True)
            off = self.run(argv, False)
            out_on, out_off = on.stdout, off.stdout
            if norm:
                out_on, out_off = norm(out_on), norm(out_off)
            self.check("%s: ran" % name, off.returncode == 0 and off.stdout,
                       "exit %d\n%s" % (off.returncode, off.stderr.decode()))
            self.check("%s: exit status" % name, on.returncode == off.returncode,
                       "%d with, %d without" % (on.returncode, off.returncode))
            self.check("%s: stdout (%d bytes)" % (name, len(out_off)), out_on == out_off,
                       diff(out_off, out_on))
            self.check("%s: stderr" % name, on.stderr == off.stderr, diff(off.stderr, on.stderr))
            n_off = self.opens(argv, False)
            n_on = self.opens(argv, True)
            label = "%s: entry_points.txt opened in the cached site: %s without, %s with" % (
                name, n_off, n_on)
            if name in ACCELERATED:
                self.check(label + " (must be some, then none)",
                           n_off is not None and n_off > 0 and n_on == 0)
            else:
                print("     %s" % label)

    def keyring_order_is_not_ours(self):
        """keyring's order moves with allocation alone: with importlib
        untouched, a few hundred bytes of extra objects made before
        keyring runs (classes, as keyring's are) reorder it. If this
        ever fails, keyring's order became deterministic and the
        comparison above should stop sorting."""
        seen = set()
        for pad in (0, 1, 2, 3, 5, 10, 50, 100, 500):
            code = ("import sys; pad = [type('P%%d' %% i, (), {}) "
                    "for i in range(%d)]; "
                    "sys.argv = ['keyring', '--list-backends']; "
                    "from keyring.cli import main; main()" % pad)
            r = self.run([PY, "-c", code], False)
            seen.add(r.stdout)
        self.check("keyring: its order depends on allocation, not on the accelerator",
                   len(seen) > 1 and len({sort_lines(s) for s in seen}) == 1,
                   "%d orders seen" % len(seen))


def diff(a, b):
    import difflib
    return "\n".join(difflib.unified_diff(
        a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines(),
        "without", "with", lineterm="", n=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--query")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    r = Runner(args)
    try:
        r.preconditions()
        r.compare()
        r.keyring_order_is_not_ours()
    finally:
        if args.keep:
            print("kept %s" % r.tmp)
        else:
            shutil.rmtree(r.tmp, ignore_errors=True)
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
