#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The accelerator's interface and safety rules, each in interpreters
started the way programs are: the start-up hook (epcache-accelerate.pth and
_epcache_accelerate.py) in a user site (PYTHONUSERBASE), the build's
epcache package on PYTHONPATH, a fixture site after it.

    test-accelerate.py --module-dir BUILD/src/python --update BUILD/src/update-entrypoints-cache

Exit status 0 iff every check passed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import sitegen  # noqa: E402

PY = sys.executable
MARK = "_epcache_accelerated"

# Printed by the probes: importlib's answers in a comparable form.
DUMP = r'''
import importlib.metadata as md, json, sys, warnings
def dump_eps(eps):
    return [type(eps).__name__] + [[type(e).__name__, e.name, e.value, e.group,
            type(e.dist).__name__, str(e.dist._path)] for e in eps]
def answers():
    out = {}
    allg = md.entry_points()
    out["all"] = [type(allg).__name__] + sorted(
        (g, dump_eps(allg.select(group=g))) for g in allg.groups)
    for g in ("fx.plugins", "console_scripts", "fx.none"):
        out[g] = dump_eps(md.entry_points(group=g))
    out["name"] = dump_eps(md.entry_points(name="alpha"))
    out["dists"] = [str(d._path) for d in md.distributions()]
    out["version"] = md.version("fx-alpha")
    out["meta"] = md.metadata("fx-alpha")["Name"]
    out["requires"] = md.requires("fx-alpha")
    out["files"] = [str(f) for f in md.files("fx-alpha")]
    out["dist"] = str(md.distribution("fx-beta")._path)
    return out
'''


class T:
    def __init__(self, args):
        self.tmp = tempfile.mkdtemp(prefix="epcache-accel-test-")
        self.module_dir = os.path.abspath(args.module_dir)
        self.update = args.update
        self.passed = self.failed = 0
        self.userbase = os.path.join(self.tmp, "userbase")
        self.usersite = os.path.join(self.userbase, "lib", "python%d.%d" % sys.version_info[:2],
                                     "site-packages")
        os.makedirs(self.usersite)
        for f in ("epcache-accelerate.pth", "_epcache_accelerate.py"):
            shutil.copy(os.path.join(self.module_dir, "accelerate-hook", f), self.usersite)
        self.site = self.make_site(os.path.join(self.tmp, "fx", "site-packages"))

    def make_site(self, site):
        os.makedirs(site)
        d = sitegen.dist(site, "fx_alpha-1.0.dist-info", "fx-alpha", "1.0",
                         {"fx.plugins": ["alpha = fxmod:thing", "beta = fxmod:other [x]"],
                          "console_scripts": ["fx-alpha = fxmod:main"]})
        with open(os.path.join(d, "METADATA"), "a") as f:
            f.write("Requires-Dist: something (>=1)\n")
        with open(os.path.join(d, "RECORD"), "w") as f:
            f.write("fxmod.py,,\nfx_alpha-1.0.dist-info/METADATA,,\n")
        sitegen.dist(site, "fx_beta-2.0.dist-info", "fx-beta", "2.0",
                     {"console_scripts": ["fx-beta = fxmod:main"],
                      "fx.plugins": ["zeta = fxmod:zeta"]})
        sitegen.dist(site, "fx_noeps-1.0.dist-info", "fx-noeps", "1.0")
        with open(os.path.join(site, "fxmod.py"), "w") as f:
            f.write("thing = 'THING'\nother = 'OTHER'\nzeta = 1\ndef main(): pass\n")
        return site

    def build_cache(self, site):
        """A fresh cache: one written in the same timestamp tick as the
        directory's last change is not trusted to be fresh (the racy
        rule), so build again until --check says fresh."""
        for _ in range(40):
            r = subprocess.run([self.update, site], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(r.stderr)
            if subprocess.run([self.update, "--check", site],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("%s: no fresh cache after 40 rebuilds" % site)

    def env(self, **extra):
        e = {"PATH": "/usr/bin:/bin", "HOME": self.tmp, "LANG": "C.UTF-8",
             "PYTHONUSERBASE": self.userbase, "EPCACHE_NO_WRITE": "1",
             "PYTHONPATH": os.pathsep.join([self.module_dir, self.site])}
        for k, v in extra.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

    def py(self, code, *args, **env):
        r = subprocess.run([PY, "-c", code] + list(args), env=self.env(**env),
                           capture_output=True, text=True, timeout=120)
        return r

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s" % name)
            for line in str(detail).splitlines()[:30]:
                print("     %s" % line)

    # ------------------------------------------------------------ checks

    def test_startup_is_lazy(self):
        r = self.py("import sys\n"
                    "print([type(f).__name__ for f in sys.meta_path]"
                    ".count('EpcacheAccelerateHook'),"
                    " 'epcache' in sys.modules, 'epcache._epcache' in sys.modules,"
                    " 'importlib.metadata' in sys.modules)")
        self.check("start-up: only the hook, no epcache, no extension",
                   r.stdout == "1 False False False\n",
                   r.stdout + r.stderr)
        r = self.py("import sys, importlib.metadata as md\n"
                    "print(getattr(md.entry_points, %r, False),"
                    " any(type(f).__name__ == 'EpcacheAccelerateHook' for f in sys.meta_path),"
                    " type(md.__loader__).__name__, 'exec_module' in vars(md.__loader__))" % MARK)
        self.check("importing importlib.metadata installs it, the hook leaves",
                   r.stdout == "True False SourceFileLoader False\n" and not r.stderr,
                   r.stdout + r.stderr)
        r = self.py("import sys, importlib.metadata as md\n"
                    "print(getattr(md.entry_points, %r, False),"
                    " [type(f).__name__ for f in sys.meta_path])" % MARK,
                    EPCACHE_NO_ACCELERATE="1")
        self.check("EPCACHE_NO_ACCELERATE=1: nothing installed",
                   r.stdout.startswith("False [") and "Epcache" not in r.stdout
                   and not r.stderr, r.stdout + r.stderr)

    def test_objects(self):
        self.build_cache(self.site)
        code = r'''
import importlib.metadata as md, sys
assert getattr(md.entry_points, "_epcache_accelerated", False)
# only this site's files count: the system's site directories are on
# sys.path too, and whether their caches are fresh is this machine's
# state, not the test's
reads = []
orig_read = md.PathDistribution.read_text
def read_text(self, name):
    if str(self._path).startswith(sys.argv[1] + "/"):
        reads.append(name)
    return orig_read(self, name)
md.PathDistribution.read_text = read_text
eps = md.entry_points(group="fx.plugins")
print(reads == [], type(eps) is md.EntryPoints, len(eps), eps.names == {"alpha", "beta", "zeta"})
ep = eps["alpha"]
print(type(ep) is md.EntryPoint, type(ep.dist) is md.PathDistribution,
      isinstance(ep.dist, md.Distribution))
print(ep.load(), eps["beta"].load(), eps["beta"].extras, ep.module, ep.attr)
print(ep.dist.name, ep.dist.version, ep.dist.metadata["Name"],
      ep.dist.requires, [str(f) for f in ep.dist.files])
print(ep.dist.read_text("METADATA").splitlines()[1], ep.dist.locate_file("fxmod.py").name)
print(ep.dist is eps["beta"].dist)
allg = md.entry_points()
print(type(allg) is md.SelectableGroups if sys.version_info < (3, 12) else
      type(allg) is md.EntryPoints)
print(ep == md.EntryPoint("alpha", "fxmod:thing", "fx.plugins"),
      {"console_scripts", "fx.plugins"} <= set(allg.groups))
'''
        r = self.py(code, self.site)
        want = ("True True 3 True\n"
                "True True True\n"
                "THING OTHER ['x'] fxmod thing\n"
                "fx-alpha 1.0 fx-alpha ['something (>=1)'] "
                "['fxmod.py', 'fx_alpha-1.0.dist-info/METADATA']\n"
                "Name: fx-alpha fxmod.py\n"
                "True\n"
                "True\n"
                "True True\n")
        self.check("importlib's own objects; files read only when asked", r.stdout == want,
                   "got:\n%s\nwant:\n%s\n%s" % (r.stdout, want, r.stderr))

    def answers(self, **env):
        r = self.py(DUMP + "print(json.dumps(answers()))", **env)
        try:
            return json.loads(r.stdout), r.stderr
        except ValueError:
            return None, r.stdout + r.stderr

    def test_same_answers(self):
        self.build_cache(self.site)
        on, err_on = self.answers()
        off, err_off = self.answers(EPCACHE_NO_ACCELERATE="1")
        self.check("fresh cache: every answer as importlib's", on == off and on is not None
                   and not err_on, differ(on, off, err_on + err_off))
        # repeated calls in one process: the same, from the cache each time
        code = r'''
import importlib.metadata as md
from epcache import _epcache
first = md.entry_points(group="fx.plugins")
print(all(md.entry_points(group="fx.plugins") == first for _ in range(200)))
print(_epcache._accel_entry(__import__("sys").argv[1], "fx.plugins") is not None)
'''
        r = self.py(code, self.site)
        self.check("repeated calls: same answer, cache used", r.stdout == "True\nTrue\n",
                   r.stdout + r.stderr)

    def test_bad_caches(self):
        cache = os.path.join(self.site, ".epcache", "entry-points.json")
        off, _ = self.answers(EPCACHE_NO_ACCELERATE="1")
        for what in ("truncated", "garbage", "untrusted", "stale"):
            self.build_cache(self.site)
            if what == "truncated":
                with open(cache, "r+b") as f:
                    f.truncate(os.path.getsize(cache) // 2)
            elif what == "garbage":
                with open(cache, "wb") as f:
                    f.write(b'{"header":{"format":"epcache-entry-points","version":3}\x00\xff')
            elif what == "untrusted":
                os.chmod(cache, 0o666)
            elif what == "stale":
                sitegen.dist(self.site, "fx_gamma-1.0.dist-info", "fx-gamma", "1.0",
                             {"fx.plugins": ["gamma = fxmod:thing"]})
                off, _ = self.answers(EPCACHE_NO_ACCELERATE="1")
            on, err = self.answers()
            self.check("%s cache: importlib's answer, no warning" % what,
                       on == off and not err, differ(on, off, err))
        shutil.rmtree(os.path.join(self.site, "fx_gamma-1.0.dist-info"))

    def test_broken_extension(self):
        """A missing or broken extension, an epcache that does not import:
        importlib untouched, one warning, no exception at start-up."""
        off, _ = self.answers(EPCACHE_NO_ACCELERATE="1")
        src = os.path.join(self.module_dir, "epcache")
        for what in ("missing", "broken", "raising"):
            d = os.path.join(self.tmp, "pkg-" + what)
            shutil.copytree(src, os.path.join(d, "epcache"),
                            ignore=shutil.ignore_patterns("*.so", "*.p", "__pycache__"))
            ext = [f for f in os.listdir(src) if f.endswith(".so")][0]
            if what == "broken":
                with open(os.path.join(d, "epcache", ext), "wb") as f:
                    f.write(b"\x7fELF not really")
            elif what == "raising":
                with open(os.path.join(d, "epcache", "__init__.py"), "w") as f:
                    f.write("raise RuntimeError('boom')\n")
            pp = os.pathsep.join([d, self.site])
            r = self.py("import sys; print('started')", PYTHONPATH=pp)
            self.check("%s extension: start-up quiet" % what,
                       r.stdout == "started\n" and not r.stderr, r.stdout + r.stderr)
            on, err = self.answers(PYTHONPATH=pp)
            warnings = [line for line in err.splitlines() if "RuntimeWarning" in line]
            self.check("%s extension: importlib's answers, exactly one warning" % what,
                       on == off and len(warnings) == 1
                       and "epcache accelerator not used" in warnings[0],
                       differ(on, off, err))

    def test_dist_entry_points(self):
        """PathDistribution.entry_points (pluggy's and flake8's way: every
        distribution in turn) from the records of a fresh cache, shadowed
        distributions included, importlib's answer each time; importlib
        reads a file that changed since the cache was judged fresh, or
        within 2 s before (its timestamp tick may hide a change), and
        nothing of a removed one; a replaced read_text is used."""
        site = self.make_site(os.path.join(self.tmp, "fx-dists", "site-packages"))
        sitegen.dist(site, "FX.Alpha-0.9.dist-info", "fx-alpha", "0.9",
                     {"fx.plugins": ["old = fxmod:old"]})
        # a distribution that is a symbolic link: its target can be swapped
        # for an old one, the site directory and the file's ctime unchanged
        there = os.path.join(self.tmp, "fx-dists", "there")
        for d, ep in (("there", "link = fxmod:link"), ("spare", "spare = fxmod:spare")):
            sitegen.dist(os.path.join(self.tmp, "fx-dists", d), "fx_link-1.0.dist-info",
                         "fx-link", "1.0", {"fx.plugins": [ep]})
        os.symlink(os.path.join(there, "fx_link-1.0.dist-info"),
                   os.path.join(site, "fx_link-1.0.dist-info"))
        time.sleep(2.1)
        sitegen.dist(site, "fx_racy-1.0.dist-info", "fx-racy", "1.0",
                     {"fx.plugins": ["racy = fxmod:racy"]})
        self.build_cache(site)
        code = r'''
import importlib.metadata as md, json, os, sys
site = sys.argv[1]
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and \
            args[0].startswith(site + "/") and args[0].endswith("/entry_points.txt"):
        opened.append(os.path.basename(os.path.dirname(args[0])))
sys.addaudithook(hook)
orig = md.PathDistribution.__dict__["entry_points"].fget.__wrapped__
dists = [d for d in md.distributions() if str(d._path).startswith(site + "/")]
def dump(d, eps):
    return [type(eps).__name__] + [[type(e).__name__, e.name, e.value, e.group, e.dist is d]
                                   for e in eps]
out = {}
for step in sys.argv[2:]:
    if step == "rewrite":
        with open(os.path.join(site, "fx_alpha-1.0.dist-info", "entry_points.txt"), "a") as f:
            f.write("[fx.more]\nmore = fxmod:more\n")
    elif step == "remove":
        os.remove(os.path.join(site, "fx_beta-2.0.dist-info", "entry_points.txt"))
    elif step == "swap":
        there = os.path.join(os.path.dirname(site), "there")
        os.rename(os.path.join(there, "fx_link-1.0.dist-info"), os.path.join(there, "old"))
        os.rename(os.path.join(os.path.dirname(site), "spare", "fx_link-1.0.dist-info"),
                  os.path.join(there, "fx_link-1.0.dist-info"))
    elif step == "patched":
        read_text = md.PathDistribution.read_text
        md.PathDistribution.read_text = lambda self, n: read_text(self, n)
    del opened[:]
    got = [dump(d, d.entry_points) for d in dists]
    n = sorted(opened)
    want = [dump(d, orig(d)) for d in dists]
    out[step] = [got == want, n, sum(len(g) - 1 for g in got)]
print(json.dumps(out))
'''
        pp = os.pathsep.join([self.module_dir, site])
        r = self.py(code, site, "first", "again", PYTHONPATH=pp)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = None
        self.check("dist.entry_points: importlib's answer, its files read only where "
                   "changed within 2 s of the judging",
                   out == {"first": [True, ["fx_racy-1.0.dist-info"], 8],
                           "again": [True, ["fx_racy-1.0.dist-info"], 8]},
                   "%r\n%s" % (out, r.stderr))
        time.sleep(2.1)
        r = self.py(code, site, "first", "again", "rewrite", "remove", "swap", "patched",
                    PYTHONPATH=pp)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = None
        self.check("dist.entry_points: from the cache, shadowed distributions too; "
                   "a file changed since read by importlib, a removed one not read; "
                   "a replaced read_text used",
                   out == {"first": [True, [], 8], "again": [True, [], 8],
                           "rewrite": [True, ["fx_alpha-1.0.dist-info"], 9],
                           "remove": [True, ["fx_alpha-1.0.dist-info"], 7],
                           "swap": [True, ["fx_alpha-1.0.dist-info",
                                           "fx_link-1.0.dist-info"], 7],
                           "patched": [True, ["FX.Alpha-0.9.dist-info",
                                              "fx_alpha-1.0.dist-info",
                                              "fx_beta-2.0.dist-info",
                                              "fx_link-1.0.dist-info",
                                              "fx_noeps-1.0.dist-info",
                                              "fx_racy-1.0.dist-info"], 7]},
                   "%r\n%s" % (out, r.stderr))
        shutil.rmtree(os.path.dirname(site))

    def test_repeated_calls(self):
        """Repeated entry_points(group=) calls in one process: the second
        hands out the entry points the first built (3.11+, whose
        EntryPoint cannot be changed; 3.10 builds new ones), after a
        freshness check; a cache no longer trusted, or stale, is not used;
        an entry whose cache was not used is importlib's for a second,
        then its cache is asked about again."""
        site = self.make_site(os.path.join(self.tmp, "fx-repeat", "site-packages"))
        self.build_cache(site)
        code = r'''
import importlib.metadata as md, json, os, subprocess, sys, time
site, update = sys.argv[1], sys.argv[2]
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and \
            args[0].startswith(site + "/") and args[0].endswith("/entry_points.txt"):
        opened.append(args[0])
sys.addaudithook(hook)
orig = md.entry_points.__wrapped__
def dump(eps):
    return [type(eps).__name__] + [[type(e).__name__, e.name, e.value, e.group,
                                    str(e.dist._path)] for e in eps]
def fresh():
    for _ in range(40):
        subprocess.run([update, site], check=True)
        if subprocess.run([update, "--check", site]).returncode == 0:
            return
        time.sleep(0.05)
cachedir = os.path.join(site, ".epcache")
out = []
prev = []
for step in sys.argv[3:]:
    if step == "untrusted":
        os.chmod(cachedir, 0o775)
    elif step == "trusted":
        os.chmod(cachedir, 0o755)
    elif step == "installed":
        d = os.path.join(site, "fx_new-1.0.dist-info")
        os.mkdir(d)
        with open(os.path.join(d, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: fx-new\nVersion: 1.0\n")
        with open(os.path.join(d, "entry_points.txt"), "w") as f:
            f.write("[fx.plugins]\nnew = fxmod:new\n")
    elif step == "rebuilt":
        fresh()
    elif step == "later":
        time.sleep(1.1)
    del opened[:]
    got = md.entry_points(group="fx.plugins")
    n = len(opened)
    same = len(got) > 0 and len(got) == len(prev) and all(a is b for a, b in zip(got, prev))
    out.append([step, dump(got) == dump(orig(group="fx.plugins")), n > 0, same, len(got)])
    prev = got
print(json.dumps(out))
'''
        pp = os.pathsep.join([self.module_dir, site])
        r = self.py(code, site, self.update, "first", "again", "untrusted", "trusted",
                    "later", "again", "installed", "rebuilt", "later", "again",
                    PYTHONPATH=pp)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = None
        shared = sys.version_info >= (3, 11)
        want = [["first", True, False, False, 3],
                ["again", True, False, shared, 3],
                ["untrusted", True, True, False, 3],
                ["trusted", True, True, False, 3],  # importlib's for 1 s
                ["later", True, False, False, 3],
                ["again", True, False, shared, 3],
                ["installed", True, True, False, 4],
                ["rebuilt", True, True, False, 4],  # importlib's for 1 s
                ["later", True, False, False, 4],
                ["again", True, False, shared, 4]]
        self.check("repeated calls: the same entry points after a freshness check%s; "
                   "an untrusted or stale cache not used; an unused entry asked again "
                   "after 1 s" % ("" if shared else " (new objects on 3.10)"),
                   out == want, "%r\n%s" % (out, r.stderr))
        shutil.rmtree(os.path.dirname(site))

    def test_backport(self):
        """The importlib_metadata backport, imported before or after
        importlib.metadata (it takes path discovery from the stdlib): both
        modules' entry_points() accelerated, importlib's answers, no
        warning; a backport whose internals are not the expected ones is
        left as it is, quietly, and answers as without the accelerator."""
        code = r'''
import sys, warnings
warnings.simplefilter("always")
if sys.argv[2] == "bp-first":
    import importlib_metadata as bp
    import importlib.metadata as md
else:
    import importlib.metadata as md
    if sys.argv[2] == "other-version":
        import importlib_metadata as bp
        bp.FastPath.search = lambda self, prepared: bp.Lookup(self).search(prepared)
    else:
        import importlib_metadata as bp
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and \
            args[0].startswith(sys.argv[1] + "/") and args[0].endswith("/entry_points.txt"):
        opened.append(args[0])
sys.addaudithook(hook)
def dump(eps):
    return [type(eps).__module__] + sorted((type(e).__module__, e.name, e.value, e.group,
                                            type(e.dist).__module__) for e in eps)
out = []
for mod in (md, bp):
    for g in ("fx.plugins", "console_scripts"):
        got = dump(mod.entry_points(group=g))
        out.append(got == dump(mod.entry_points.__wrapped__(group=g))
                   if hasattr(mod.entry_points, "__wrapped__") else got)
    dist = [d for d in bp.distributions() if d.name == "fx-alpha"][0]
    out.append(sorted(e.name for e in dist.entry_points))
print(getattr(md.entry_points, "_epcache_accelerated", False),
      getattr(bp.entry_points, "_epcache_accelerated", False), len(opened) > 0, out)
'''
        # Debian's backport (python3-importlib-metadata) is for Debian's
        # interpreter; pyenv's others (tests/run-all) have none
        if subprocess.run([PY, "-c", "import importlib_metadata"],
                          capture_output=True).returncode != 0 and \
                os.path.realpath(PY) != os.path.realpath("/usr/bin/python3"):
            print("     (backport: not installed for %s, not this interpreter's "
                  "to test)" % PY)
            return
        self.build_cache(self.site)
        time.sleep(2.1)  # the fixture's files are older than the racy window
        want_eps = ["fx-alpha", "beta", "alpha"]
        for order in ("bp-first", "bp-after"):
            r = self.py(code, self.site, order)
            self.check("backport imported %s importlib.metadata: both accelerated, "
                       "importlib's answers, no entry_points.txt opened, no warning" % (
                           "before" if order == "bp-first" else "after"),
                       r.stdout == "True True False %r\n" % (
                           [True, True, sorted(want_eps), True, True, sorted(want_eps)],)
                       and not r.stderr, r.stdout + r.stderr)
        r = self.py(code, self.site, "other-version")
        self.check("a backport with other internals: left alone quietly, its own answers",
                   r.stdout.startswith("True False True [True, True, ") and not r.stderr,
                   r.stdout + r.stderr)

    def test_internals_changed(self):
        """importlib.metadata not as expected: untouched, one warning, both
        at start-up (another .pth imported and changed it first) and from
        epcache.accelerate()."""
        off, _ = self.answers(EPCACHE_NO_ACCELERATE="1")
        early = os.path.join(self.usersite, "0-early.pth")
        with open(early, "w") as f:
            f.write("import importlib.metadata as md; md.FastPath.search = "
                    "lambda self, name: md.Lookup(self).search(name)\n")
        try:
            r = self.py("import sys, importlib.metadata as md; print(getattr(md.entry_points, %r,"
                        " False))" % MARK)
            self.check("changed internals at start-up: untouched, one warning, no exception",
                       r.stdout == "False\n" and r.stderr.count("RuntimeWarning") == 1
                       and "FastPath.search" in r.stderr, r.stdout + r.stderr)
        finally:
            os.remove(early)
        r = self.py("import importlib.metadata as md, epcache\n"
                    "del md.Prepared\n"
                    "print(epcache.accelerate(), getattr(md.entry_points, %r, False))" % MARK,
                    EPCACHE_NO_ACCELERATE="1")
        self.check("changed internals, epcache.accelerate(): False, one warning",
                   r.stdout == "False False\n" and r.stderr.count("RuntimeWarning") == 1,
                   r.stdout + r.stderr)
        r = self.py("import importlib.metadata as md, epcache\n"
                    "print(epcache.accelerate(), epcache.accelerate(),"
                    " getattr(md.entry_points, %r, False))" % MARK,
                    EPCACHE_NO_ACCELERATE="1")
        self.check("epcache.accelerate() without the .pth", r.stdout == "True True True\n"
                   and not r.stderr, r.stdout + r.stderr)
        # replaced at call time (a test's monkeypatch): importlib's own
        # function runs, with the replacement
        self.build_cache(self.site)
        r = self.py("import importlib.metadata as md\n"
                    "md.distributions = lambda **kw: iter([])\n"
                    "print(len(md.entry_points(group='fx.plugins')))")
        self.check("distributions() replaced after install: importlib's own code runs",
                   r.stdout == "0\n", r.stdout + r.stderr)

    def test_writes(self):
        """Caches are written only as self-heal allows: a stale cache of
        the caller's own site directory, not with EPCACHE_NO_WRITE=1, never
        a directory not named site-packages/dist-packages that has none,
        never another user's."""
        code = "import importlib.metadata as md; md.entry_points(group='fx.plugins')"
        other = os.path.join(self.tmp, "plain")
        os.makedirs(other)
        sitegen.dist(other, "fx_other-1.0.dist-info", "fx-other", "1.0",
                     {"fx.plugins": ["o = fxmod:thing"]})
        pp = os.pathsep.join([self.module_dir, other, self.site])
        self.py(code, PYTHONPATH=pp, EPCACHE_NO_WRITE=None)
        self.check("no cache made in a directory that is not a site directory",
                   not os.path.exists(os.path.join(other, ".epcache")))
        self.build_cache(self.site)
        cache = os.path.join(self.site, ".epcache", "entry-points.json")
        sitegen.dist(self.site, "fx_delta-1.0.dist-info", "fx-delta", "1.0")
        before = os.stat(cache).st_ino
        self.py(code)
        self.check("EPCACHE_NO_WRITE=1: the stale cache stays", os.stat(cache).st_ino == before)
        # another user's directory: not written, even by root
        os.chown(self.site, 65534, 65534)
        self.py(code, EPCACHE_NO_WRITE=None)
        self.check("another user's stale cache stays", os.stat(cache).st_ino == before)
        os.chown(self.site, os.getuid(), os.getgid())
        # past the timestamp tick of the change: a rebuild in the same tick
        # writes a cache --check does not call fresh (the racy rule)
        time.sleep(0.1)
        self.py(code, EPCACHE_NO_WRITE=None)
        r = subprocess.run([self.update, "--check", self.site], capture_output=True)
        self.check("the caller's own stale cache is healed",
                   os.stat(cache).st_ino != before and r.returncode == 0)
        shutil.rmtree(os.path.join(self.site, "fx_delta-1.0.dist-info"))


def differ(on, off, err):
    if on is None or off is None:
        return "no answer:\n%s" % err
    keys = sorted(k for k in set(on) | set(off) if on.get(k) != off.get(k))
    return "differ in %s\n%s" % (keys, err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--query")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    t = T(args)
    try:
        for name in sorted(n for n in dir(t) if n.startswith("test_")):
            try:
                getattr(t, name)()
            except Exception as e:  # a harness failure is a failure
                t.check(name, False, "%s: %s" % (type(e).__name__, e))
    finally:
        if args.keep:
            print("kept %s" % t.tmp)
        else:
            shutil.rmtree(t.tmp, ignore_errors=True)
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
