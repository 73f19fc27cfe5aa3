#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The Python module epcache: every member of its API against Python's
importlib.metadata, errors, the zip fallback, self-heal and its limits.

    test_epcache.py --module-dir BUILD/src/python --update BUILD/src/update-entrypoints-cache \
                    --query BUILD/src/entrypoints-query [unittest options]

Runs as root or not; the cases of other users' directories need root
(setpriv): without it they are skipped and the exit status is 77 (meson:
SKIP), or 1 with CI=true.
"""
import argparse
import atexit
import contextlib
import importlib.metadata as md
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sitegen  # noqa: E402

ARGS = None
epcache = None
CACHE = os.path.join(".epcache", "entry-points.json")
NOBODY = 65534


def importlib_answer(paths, **params):
    """importlib's answer for PATHS, as it gives it."""
    saved = sys.path[:]
    sys.path[:] = paths
    try:
        return md.entry_points(**params)
    finally:
        sys.path[:] = saved


def importlib_eps(paths, **params):
    """importlib's answer for PATHS, flattened."""
    return flat(importlib_answer(paths, **params))


def flat(eps):
    """The entry points of an answer, SelectableGroups (3.10 and 3.11
    without a selection) flattened through dict's own values, which do
    not warn."""
    if isinstance(eps, dict):
        return [ep for g in dict.values(eps) for ep in g]
    return list(eps)


def key(ep):
    d = ep.dist
    return (ep.group, ep.name, ep.value, d.name if d else None, d.version if d else None)


_reachable = None


def reachable_module():
    """The build tree may sit below a directory other users cannot enter
    (a mktemp -d clone): a copy of the package and the libepcache it links,
    in a 0755 directory, for importing it as another user."""
    global _reachable
    if _reachable is None:
        top = tempfile.mkdtemp(prefix="epcache-py-mod-")
        atexit.register(shutil.rmtree, top, True)
        pkg = shutil.copytree(os.path.join(ARGS.module_dir, "epcache"),
                              os.path.join(top, "epcache"),
                              ignore=shutil.ignore_patterns("*.p", "__pycache__"))
        ext = [f for f in os.listdir(pkg) if f.startswith("_epcache") and f.endswith(".so")][0]
        ldd = subprocess.run(["ldd", os.path.join(pkg, ext)], capture_output=True,
                             text=True).stdout
        for line in ldd.splitlines():
            parts = line.split()
            if parts and parts[0].startswith("libepcache.so") and len(parts) > 2:
                shutil.copy2(parts[2], top)
        for dirpath, dirnames, filenames in os.walk(top):
            os.chmod(dirpath, 0o755)
        _reachable = {"PYTHONPATH": top, "LD_LIBRARY_PATH": top}
    return _reachable


def others_can_reach(path):
    """Whether every directory down to PATH lets others through."""
    path = os.path.dirname(os.path.realpath(path))
    while path != "/":
        if not os.stat(path).st_mode & 0o001:
            return False
        path = os.path.dirname(path)
    return True


_reachable_python = None


def reachable_python():
    """sys.executable, or where it is not reachable by other users (pyenv's
    interpreters live under /root, 0700) a copy of it, its libpython and
    its standard library (tests and site-packages left out), which finds
    its own prefix next to it."""
    global _reachable_python
    if _reachable_python is None:
        exe = os.path.realpath(sys.executable)
        if others_can_reach(exe):
            _reachable_python = exe
            return exe
        top = tempfile.mkdtemp(prefix="epcache-py-interp-")
        atexit.register(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        os.makedirs(os.path.join(top, "bin"))
        _reachable_python = shutil.copy2(exe, os.path.join(top, "bin"))
        stdlib = os.path.dirname(os.__file__)
        shutil.copytree(stdlib, os.path.join(top, "lib", os.path.basename(stdlib)),
                        ignore=shutil.ignore_patterns("test", "site-packages", "idlelib",
                                                      "tkinter", "ensurepip", "lib2to3"))
        libdir = os.path.dirname(stdlib)
        for f in os.listdir(libdir):
            if f.startswith("libpython"):
                shutil.copy2(os.path.join(libdir, f), os.path.join(top, "lib"))
    return _reachable_python


def run_py(code, env=None, user=None, cwd=None):
    cmd = [sys.executable, "-c", code]
    e = dict(os.environ, PYTHONPATH=ARGS.module_dir)
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups",
               reachable_python()] + cmd[1:]
        e.update(reachable_module())
        py = os.path.dirname(os.path.dirname(reachable_python()))
        e["LD_LIBRARY_PATH"] += ":" + os.path.join(py, "lib")
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd)


def status(path):
    return [s for _, s, _ in epcache.path_status(path=[path])][0]


def update(*dirs):
    subprocess.run([ARGS.update] + list(dirs), check=True, capture_output=True,
                   env=dict(os.environ, PKGSYSTEM_ENABLE_FSYNC="0"))


class TmpCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="epcache-py-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # Nothing but the self-heal tests may write a cache anywhere.
        os.environ["EPCACHE_NO_WRITE"] = "1"

    def p(self, *rel):
        return os.path.join(self.tmp, *rel)

    def site(self, rel="site"):
        d = self.p(rel)
        os.makedirs(d, exist_ok=True)
        return d

    def assertSameAsImportlib(self, paths, **params):
        mine = epcache.entry_points(path=paths, **params)
        ref = importlib_eps(paths, **params)
        self.assertEqual([key(e) for e in flat(mine)], [key(e) for e in ref], params)
        return mine


class TestImport(unittest.TestCase):
    def test_import_is_cheap(self):
        r = run_py("import sys; before = set(sys.modules); import epcache; "
                   "print('\\n'.join(sorted(set(sys.modules) - before)))")
        self.assertEqual(r.returncode, 0, r.stderr)
        new = set(r.stdout.split())
        self.assertEqual(new, {"epcache", "epcache._epcache"})

    def test_answer_imports_nothing_heavy(self):
        r = run_py("import sys, epcache; epcache.entry_points(group='console_scripts'); "
                   "epcache.entry_points(); "
                   "print('\\n'.join(sorted(sys.modules)))",
                   env={"EPCACHE_NO_WRITE": "1"})
        self.assertEqual(r.returncode, 0, r.stderr)
        mods = set(r.stdout.split())
        for heavy in ("importlib.metadata", "email", "zipfile", "re", "pathlib", "csv",
                      "epcache._fallback"):
            self.assertNotIn(heavy, mods)


class TestEntryPoint(TmpCase):
    VALUES = ["mod", "pkg.mod:func", "pkg.mod:obj.attr", "a.b : c.d [x, y]",
              "mod:attr [ex1,ex2]  ", "mod [ x , y-z ]", "m:a.", "m:..a",
              "\u00e9t\u00e9:f", "mod:attr []", "mod:attr [x] [y]"]
    BAD_VALUES = ["bad value", "mod:", ":attr", "mod attr", "mod[x]x", "", "m:a [x\n]"]

    def test_parts_match_importlib(self):
        for v in self.VALUES:
            mine = epcache.EntryPoint("n", v, "g")
            ref = md.EntryPoint("n", v, "g")
            self.assertEqual((mine.module, mine.attr, mine.extras),
                             (ref.module, ref.attr, ref.extras), v)
            self.assertIsInstance(mine.extras, list)
            self.assertIsNot(mine.extras, mine.extras)

    def test_bad_values_raise_like_importlib(self):
        for v in self.BAD_VALUES:
            mine = epcache.EntryPoint("n", v, "g")
            ref = md.EntryPoint("n", v, "g")
            for attr in ("module", "attr", "extras"):
                # AttributeError; 3.13: AssertionError
                with self.assertRaises(Exception, msg=v) as want:
                    getattr(ref, attr)
                with self.assertRaises(type(want.exception), msg=v):
                    getattr(mine, attr)
            with self.assertRaises(AttributeError):
                mine.load()
            self.assertEqual(mine.value, v)

    def test_members_eq_hash_repr(self):
        a = epcache.EntryPoint(name="x", value="m:f", group="g")
        ref = md.EntryPoint(name="x", value="m:f", group="g")
        self.assertEqual((a.name, a.value, a.group, a.dist), ("x", "m:f", "g", None))
        self.assertEqual(repr(a), repr(ref))
        self.assertEqual(a, ref)
        self.assertEqual(ref, a)
        self.assertEqual(hash(a), hash(ref))
        self.assertEqual(a, epcache.EntryPoint("x", "m:f", "g"))
        self.assertNotEqual(a, epcache.EntryPoint("x", "m:f", "h"))
        self.assertEqual(len({a, epcache.EntryPoint("x", "m:f", "g")}), 1)
        b = epcache.EntryPoint("y", "m:f", "g")
        self.assertLess(a, b)
        self.assertEqual(sorted([b, a]), [a, b])
        with self.assertRaises(AttributeError):
            a.name = "z"
        with self.assertRaises(TypeError):
            epcache.EntryPoint("x", "m:f")

    def test_matches(self):
        ep = epcache.EntryPoint(group="foo", name="bar", value="bing:bong [extra1, extra2]")
        ref = md.EntryPoint(group="foo", name="bar", value="bing:bong [extra1, extra2]")
        for params in [{"group": "foo"}, {"name": "bar", "value": "bing:bong [extra1, extra2]"},
                       {"group": "foo", "name": "other"}, {}, {"extras": ["extra1", "extra2"]},
                       {"module": "bing"}, {"attr": "bong"}, {"attr": None}]:
            self.assertEqual(ep.matches(**params), ref.matches(**params), params)
        with self.assertRaises(AttributeError):
            ep.matches(nosuch=1)
        with self.assertRaises(TypeError):
            ep.matches("foo")

    def test_load(self):
        pkg = self.p("mods", "eppkg")
        os.makedirs(pkg)
        with open(os.path.join(pkg, "__init__.py"), "w") as f:
            f.write("class Obj:\n    class Inner:\n        x = 42\n")
        with open(os.path.join(pkg, "sub.py"), "w") as f:
            f.write("def main():\n    return 'main'\n")
        sys.path.insert(0, self.p("mods"))
        self.addCleanup(sys.path.remove, self.p("mods"))
        import eppkg
        import eppkg.sub
        cases = [("eppkg", eppkg), ("eppkg.sub", eppkg.sub),
                 ("eppkg.sub:main", eppkg.sub.main), ("eppkg:Obj.Inner.x", 42),
                 ("eppkg:Obj..Inner", eppkg.Obj.Inner)]
        for value, want in cases:
            self.assertIs(epcache.EntryPoint("n", value, "g").load(), want, value)
            self.assertIs(md.EntryPoint("n", value, "g").load(), want, value)
        for value, exc in [("eppkg_missing:f", ModuleNotFoundError),
                           ("eppkg.nosub", ModuleNotFoundError),
                           ("eppkg:nosuch", AttributeError),
                           ("eppkg:Obj.nosuch", AttributeError)]:
            for cls in (epcache.EntryPoint, md.EntryPoint):
                with self.assertRaises(exc, msg=value):
                    cls("n", value, "g").load()
            self.assertTrue(issubclass(ModuleNotFoundError, ImportError))

    def test_load_from_site(self):
        site = self.site()
        sitegen.dist(site, "d-1.0.dist-info", "d", eps={"g": ["j = json:dumps", "o = os.path"]})
        eps = epcache.entry_points(path=[site], group="g")
        self.assertIs(eps["j"].load(), json.dumps)
        self.assertIs(eps["o"].load(), os.path)

    def test_distribution(self):
        d = epcache.Distribution("n", None)
        self.assertEqual((d.name, d.version), ("n", None))
        self.assertEqual(repr(d), "Distribution(name='n', version=None)")
        with self.assertRaises(AttributeError):
            d.name = "x"


class TestEntryPoints(TmpCase):
    def setUp(self):
        super().setUp()
        self.s = self.site()
        sitegen.dist(self.s, "alpha-1.0.dist-info", "Alpha", "1.0",
                     {"g1": ["a = alpha:main", "b = alpha.b:f [x]"], "g2": ["a = alpha.two"]})
        sitegen.dist(self.s, "beta-2.0.dist-info", "beta", "2.0",
                     {"g1": ["a = beta:main"], "g0": ["z = beta"]})
        sitegen.dist(self.s, "gamma-3.dist-info", None, None, {"g2": ["c = gamma"]})

    def test_collection(self):
        eps = epcache.entry_points(path=[self.s], group="g1")
        ref = md.EntryPoints(importlib_eps([self.s], group="g1"))
        self.assertIsInstance(eps, tuple)
        self.assertIsInstance(eps, epcache.EntryPoints)
        self.assertEqual(len(eps), 3)
        self.assertEqual(eps.names, ref.names)
        self.assertEqual(eps.groups, {"g1"})
        self.assertEqual(eps["a"], ref["a"])
        self.assertEqual(eps["a"].dist.name, "Alpha")
        with self.assertRaises(KeyError):
            eps["nosuch"]
        self.assertEqual(list(eps.select(name="a")), list(ref.select(name="a")))
        self.assertIsInstance(eps.select(name="a"), epcache.EntryPoints)
        self.assertEqual(list(eps.select(module="alpha.b")), [eps["b"]])
        self.assertEqual(len(eps.select()), 3)
        self.assertEqual(epcache.EntryPoints([]), ())
        self.assertEqual(tuple(eps), tuple(ref))
        with self.assertRaises(TypeError):
            eps.select("a")
        with self.assertRaises(TypeError):
            eps[0] = None

    def test_every_query(self):
        for params in [{}, {"group": "g1"}, {"group": "g2"}, {"name": "a"},
                       {"group": "g1", "name": "a"}, {"group": "nosuch"}, {"name": ""}]:
            eps = self.assertSameAsImportlib([self.s], **params)
            if params:  # without: TestVersionFaces
                self.assertIsInstance(eps, epcache.EntryPoints)
        all_eps = epcache.entry_points(path=[self.s])
        self.assertEqual(all_eps.groups, {"g0", "g1", "g2"})
        self.assertEqual(all_eps.select(group="g2").names, {"a", "c"})

    def test_dist_unknown_metadata(self):
        c = epcache.entry_points(path=[self.s], group="g2")["c"]
        self.assertEqual((c.dist.name, c.dist.version), (None, None))

    def test_selector_types(self):
        # importlib compares and finds nothing; so do we
        for bad in (5, b"g1", "g\0", "\udcff"):
            self.assertEqual(epcache.entry_points(path=[self.s], group=bad), ())
            self.assertEqual(epcache.entry_points(path=[self.s], name=bad), ())
        with self.assertRaises(TypeError):
            epcache.entry_points("g1")
        with self.assertRaises(TypeError):
            epcache.entry_points(path=[self.s], value="x")
        with self.assertRaises(TypeError):
            epcache.entry_points(path=5)

    def test_path_entries(self):
        other = self.site("other")
        sitegen.dist(other, "Alpha-9.dist-info", "alpha", "9", {"g1": ["shadowed = x"]})
        sitegen.dist(other, "delta-1.dist-info", "delta", "1", {"g1": ["d = delta"]})
        from pathlib import Path
        paths = [self.s, Path(other), 7, b"/nonexistent", "no\0where", self.p("missing")]
        eps = epcache.entry_points(path=paths, group="g1")
        self.assertEqual(sorted(e.name for e in eps), ["a", "a", "b", "d"])
        self.assertSameAsImportlib([self.s, other, self.p("missing")])
        st = epcache.path_status(path=paths)
        self.assertEqual([s[0] for s in st], [self.s, Path(other), b"/nonexistent",
                                              self.p("missing")])
        self.assertEqual([s[1] for s in st], ["missing"] * 4)

    def test_default_is_sys_path_now(self):
        sys.path.insert(0, self.s)
        try:
            eps = epcache.entry_points(group="g0")
        finally:
            sys.path.remove(self.s)
        self.assertEqual([e.name for e in eps], ["z"])
        self.assertEqual(list(epcache.entry_points(group="g0").select(value="beta")), [])

    def test_cwd_entry(self):
        old = os.getcwd()
        os.chdir(self.s)
        try:
            self.assertSameAsImportlib([""], group="g1")
        finally:
            os.chdir(old)

    def test_cached_answers(self):
        update(self.s)
        self.assertEqual(status(self.s), "fresh")
        for params in [{}, {"group": "g1"}, {"name": "a"}]:
            self.assertSameAsImportlib([self.s], **params)

    def test_bad_line_warns_with_file_and_line(self):
        sitegen.dist(self.s, "bad-1.0.dist-info", "bad", "1", "[g1]\nok = bad:ok\nnoequals\n")
        code = ("import epcache, json\n"
                "for i in range(3):\n"
                "    print(json.dumps([e.name for e in epcache.entry_points(path=[%r], group='g1')]))\n"
                % self.s)
        r = run_py(code)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok", json.loads(r.stdout.splitlines()[0]))
        want = os.path.join(self.s, "bad-1.0.dist-info", "entry_points.txt") + ":3"
        self.assertIn(want, r.stderr)
        self.assertIn("MetadataWarning", r.stderr)
        # Python's filters apply: shown once by default, and...
        self.assertEqual(r.stderr.count(want), 1, r.stderr)
        # ...-W error makes it an exception
        r = subprocess.run([sys.executable, "-W", "error::epcache.MetadataWarning", "-c", code],
                           capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=ARGS.module_dir))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("epcache.MetadataWarning: " + want, r.stderr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", epcache.MetadataWarning)
            self.assertEqual(len(epcache.entry_points(path=[self.s], group="g1")), 4)
            self.assertEqual(len(epcache.path_status(path=[self.s])), 1)


def outcome(fn):
    """What fn() does, as comparable data: ("ok", normalized result) or
    ("raised", exception type), and the categories of the warnings."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            res = ("ok", norm(fn()))
        except Exception as e:
            res = ("raised", type(e).__name__)
    return res + (sorted({x.category.__name__ for x in w}),)


def norm(r):
    if isinstance(r, (epcache.EntryPoint, md.EntryPoint)):
        return ("EntryPoint", r.name, r.value, r.group)
    if isinstance(r, dict):
        return ("dict", [(g, norm(v)) for g, v in dict.items(r)])
    if isinstance(r, (tuple, list, set, frozenset, type({}.keys()), type({}.values()))):
        items = [norm(x) for x in r]
        return (type(r).__name__ if isinstance(r, (set, frozenset)) else "seq",
                sorted(items, key=repr) if isinstance(r, (set, frozenset)) else items)
    if isinstance(r, type(iter(()))) or hasattr(r, "__next__"):
        return ("iter", norm(list(r)))
    return r


class TestVersionFaces(TmpCase):
    """Where importlib.metadata differs between 3.10, 3.11, 3.12 and 3.13,
    the module does what the running interpreter's importlib does: each
    case runs on both and compares result (or exception type) and warning
    categories. The differences, by case name:
      result-type, dict-*: SelectableGroups (3.10/3.11) or EntryPoints
      all-order, name-order: sorted by group (3.10/3.11) or distribution
        order (3.12+)
      eps-index, eps-slice: index with DeprecationWarning (3.10/3.11) or
        KeyError (3.12+)
      eps-repr: list (3.10/3.11), tuple (3.12), EntryPoints(...) (3.13)
      eps-eq-*: list equality with a warning (3.10/3.11) or tuple's
      ep-index, ep-len, ep-iter: namedtuple (3.10), deprecated (3.11/3.12),
        gone (3.13)
      ep-eq-*, ep-lt-*: tuple comparison (3.10) or _key() (3.11+)
      ep-set*: the messages and types of immutability
      ep-bad-*: AttributeError, AssertionError (3.13)
    """

    def setUp(self):
        super().setUp()
        self.s = self.site()
        # groups interleaved in the files: sorting by group shows
        sitegen.dist(self.s, "alpha-1.0.dist-info", "alpha", "1.0",
                     {"g2": ["z = alpha:z"], "g1": ["a = alpha:main", "b = alpha:b"]})
        sitegen.dist(self.s, "beta-2.0.dist-info", "beta", "2.0",
                     {"g3": ["a = beta:a"], "g1": ["c = beta:c"]})

    def both(self, fn, **params):
        mine = epcache.entry_points(path=[self.s], **params)
        ref = importlib_answer([self.s], **params)
        return outcome(lambda: fn(mine)), outcome(lambda: fn(ref))

    def check(self, case, fn, **params):
        mine, ref = self.both(fn, **params)
        self.assertEqual(mine, ref, "%s %r (Python %d.%d)" % ((case, params)
                                                             + sys.version_info[:2]))

    def test_entry_points_answer(self):
        self.check("result-type", lambda r: type(r).__name__)
        self.check("result-type-name", lambda r: type(r).__name__, name="a")
        self.check("result-type-group", lambda r: type(r).__name__, group="g1")
        self.check("all-order", flat)
        self.check("name-order", flat, name="a")
        self.check("group-order", flat, group="g1")
        self.check("dict-getitem", lambda r: r["g1"])
        self.check("dict-get", lambda r: r.get("g1"))
        self.check("dict-iter", lambda r: list(r))
        self.check("dict-contains", lambda r: "g1" in r)
        self.check("dict-keys", lambda r: r.keys())
        self.check("dict-values", lambda r: r.values())
        self.check("dict-len", len)
        self.check("select", lambda r: r.select(group="g1"))
        self.check("select-none", lambda r: r.select())
        self.check("groups", lambda r: r.groups)
        self.check("names", lambda r: r.names)

    def test_entry_points_collection(self):
        for params in ({"group": "g1"}, {"name": "a"}):
            self.check("eps-index", lambda r: r[0], **params)
            self.check("eps-index-neg", lambda r: r[-1], **params)
            self.check("eps-index-out", lambda r: r[7], **params)
            self.check("eps-slice", lambda r: r[0:1], **params)
            self.check("eps-name", lambda r: r["a"], **params)
            self.check("eps-name-missing", lambda r: r["nosuch"], **params)
            self.check("eps-repr", repr, **params)
            self.check("eps-eq-tuple", lambda r: r == tuple(r), **params)
            self.check("eps-eq-list", lambda r: r == list(r), **params)
            self.check("eps-ne-list", lambda r: r != list(r), **params)
            self.check("eps-eq-int", lambda r: r == 5, **params)
            self.check("eps-len", len, **params)
            self.check("eps-iter", list, **params)

    def test_entry_point(self):
        mine = epcache.EntryPoint("x", "m:f", "g")
        ref = md.EntryPoint("x", "m:f", "g")
        other_mine = epcache.EntryPoint("y", "m:f", "g")
        other_ref = md.EntryPoint("y", "m:f", "g")
        cases = {
            "ep-index": lambda e, o: e[0],
            "ep-index-neg": lambda e, o: e[-1],
            "ep-slice": lambda e, o: e[1:],
            "ep-index-out": lambda e, o: e[3],
            "ep-len": lambda e, o: len(e),
            "ep-iter": lambda e, o: list(e),
            "ep-dict": lambda e, o: dict([e, o]),
            "ep-eq": lambda e, o: e == o,
            "ep-eq-self": lambda e, o: e == e,
            "ep-ne": lambda e, o: e != o,
            "ep-eq-tuple": lambda e, o: e == ("x", "m:f", "g"),
            "ep-ne-tuple": lambda e, o: e != ("x", "m:f", "g"),
            "ep-eq-int": lambda e, o: e == 5,
            "ep-eq-mine": lambda e, o: e == mine,
            "ep-eq-importlib": lambda e, o: e == ref,
            "ep-lt": lambda e, o: e < o,
            "ep-gt": lambda e, o: o > e,
            "ep-le": lambda e, o: e <= o,
            "ep-lt-tuple": lambda e, o: e < ("y",),
            "ep-sorted": lambda e, o: sorted([o, e]),
            "ep-hash": lambda e, o: hash(e) == hash(("x", "m:f", "g")),
            "ep-repr": lambda e, o: repr(e),
            "ep-set-name": lambda e, o: setattr(e, "name", "z"),
            "ep-set-dist": lambda e, o: setattr(e, "dist", None),
            "ep-set-other": lambda e, o: (setattr(e, "other", 1), e.other),
            "ep-contains": lambda e, o: "x" in e,
        }
        for name, fn in cases.items():
            self.assertEqual(outcome(lambda: fn(mine, other_mine)),
                             outcome(lambda: fn(ref, other_ref)),
                             "%s (Python %d.%d)" % ((name,) + sys.version_info[:2]))

    def test_bad_values(self):
        for attr in ("module", "attr", "extras", "load"):
            def get(e):
                v = getattr(e, attr)
                return v() if attr == "load" else v
            self.assertEqual(outcome(lambda: get(epcache.EntryPoint("n", "bad value", "g"))),
                             outcome(lambda: get(md.EntryPoint("n", "bad value", "g"))),
                             "ep-bad-%s" % attr)
        # without assertions (python -O) 3.13 is back to AttributeError
        code = ("import importlib.metadata as md, epcache\n"
                "for e in (md.EntryPoint('n', 'bad value', 'g'), "
                "epcache.EntryPoint('n', 'bad value', 'g')):\n"
                "    try:\n        e.module\n"
                "    except Exception as x:\n        print(type(x).__name__)\n")
        r = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=ARGS.module_dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        ref, mine = r.stdout.split()
        self.assertEqual(mine, ref, "ep-bad-module under -O")


class TestZipFallback(TmpCase):
    def build(self):
        a, b = self.site("a"), self.site("b")
        sitegen.dist(a, "shared-1.0.dist-info", "shared", "1.0", {"g": ["s = a.shared"]})
        sitegen.dist(a, "only_a-1.dist-info", "only-a", "1", {"g": ["oa = a.only"], "h": ["x = a"]})
        z = sitegen.zip_site(self.p("z.zip"), [
            ("shared-2.0.dist-info", "shared", "2.0", {"g": ["s = z.shared"]}),
            ("zonly-1.dist-info", "zonly", "1", {"g": ["z = z.only [extra]"], "a": ["za = z"]}),
            ("Bonly-1.dist-info", "Bonly", "1", {"g": ["zb = z.b"]}),
            ("empty-1.dist-info", "empty", "1", None),
        ])
        sitegen.dist(b, "bonly-5.dist-info", "bonly", "5", {"g": ["b = b.only"]})
        sitegen.dist(b, "zonly-2.dist-info", "zonly", "2", {"g": ["shadowed = b.z"]})
        sitegen.dist(b, "empty-2.dist-info", "empty", "2", {"g": ["e = b.empty"]})
        sitegen.dist(b, "free-1.dist-info", "free", "1", {"g": ["f = b.free"], "a": ["fa = b"]})
        return [a, z, b, z]

    def test_merge_matches_importlib(self):
        paths = self.build()
        self.assertEqual([s for _, s, _ in epcache.path_status(path=paths)],
                         ["missing", "unsupported", "missing", "unsupported"])
        for params in [{}, {"group": "g"}, {"group": "a"}, {"name": "s"}, {"group": "g", "name": "z"},
                       {"group": "nosuch"}, {"group": 5}]:
            self.assertSameAsImportlib(paths, **params)
        for p in [paths[1:], paths[1:2], paths[2:] + paths[:2]]:
            self.assertSameAsImportlib(p)
            self.assertSameAsImportlib(p, group="g")
        z = epcache.entry_points(path=paths, group="g")["z"]
        self.assertEqual((z.dist.name, z.dist.version, z.extras), ("zonly", "1", ["extra"]))
        self.assertIsInstance(z, epcache.EntryPoint)

    def test_cached_dirs_and_zip(self):
        paths = self.build()
        update(paths[0], paths[2])
        self.assertEqual(status(paths[0]), "fresh")
        self.assertSameAsImportlib(paths)
        self.assertSameAsImportlib(paths, group="g")


class SelfHealCase(TmpCase):
    def setUp(self):
        super().setUp()
        del os.environ["EPCACHE_NO_WRITE"]
        self.venv = self.p("venv", "lib", "python3.11", "site-packages")
        os.makedirs(self.venv)
        sitegen.dist(self.venv, "one-1.dist-info", "one", "1", {"g": ["one = one"]})


class TestSelfHeal(SelfHealCase):
    def test_stale_is_answered_then_rebuilt(self):
        update(self.venv)
        self.assertEqual(status(self.venv), "fresh")
        old = os.stat(os.path.join(self.venv, CACHE))
        sitegen.dist(self.venv, "two-1.dist-info", "two", "1", {"g": ["two = two"]})
        self.assertEqual(status(self.venv), "stale")
        eps = self.assertSameAsImportlib([self.venv], group="g")
        self.assertEqual(sorted(e.name for e in eps), ["one", "two"])
        self.assertEqual(status(self.venv), "fresh")
        new = os.stat(os.path.join(self.venv, CACHE))
        self.assertNotEqual((old.st_ino, old.st_mtime_ns), (new.st_ino, new.st_mtime_ns))
        self.assertEqual(stat.S_IMODE(new.st_mode), 0o644)
        self.assertSameAsImportlib([self.venv], group="g")

    def test_missing_in_site_dir_is_created(self):
        self.assertEqual(status(self.venv), "missing")
        self.assertSameAsImportlib([self.venv], group="g")
        self.assertEqual(status(self.venv), "fresh")

    def test_missing_elsewhere_is_left_alone(self):
        # a script's directory, the current directory: on sys.path, but
        # not a place for a cache nobody asked for
        proj = self.site("project")
        sitegen.dist(proj, "p-1.dist-info", "p", "1", {"g": ["p = p"]})
        old = os.getcwd()
        os.chdir(proj)
        try:
            self.assertSameAsImportlib([proj, ""], group="g")
        finally:
            os.chdir(old)
        self.assertFalse(os.path.exists(os.path.join(proj, ".epcache")))

    def test_stale_outside_site_dir_is_rebuilt(self):
        d = self.site("anydir")
        sitegen.dist(d, "x-1.dist-info", "x", "1", {"g": ["x = x"]})
        update(d)
        sitegen.dist(d, "y-1.dist-info", "y", "1", {"g": ["y = y"]})
        self.assertSameAsImportlib([d], group="g")
        self.assertEqual(status(d), "fresh")

    def test_no_write(self):
        update(self.venv)
        sitegen.dist(self.venv, "two-1.dist-info", "two", "1", {"g": ["two = two"]})
        os.environ["EPCACHE_NO_WRITE"] = "1"
        self.assertSameAsImportlib([self.venv], group="g")
        self.assertEqual(status(self.venv), "stale")
        other = self.p("v2", "site-packages")
        os.makedirs(other)
        self.assertSameAsImportlib([other])
        self.assertFalse(os.path.exists(os.path.join(other, ".epcache")))
        os.environ["EPCACHE_NO_WRITE"] = "0"
        self.assertSameAsImportlib([self.venv, other], group="g")
        self.assertEqual((status(self.venv), status(other)), ("fresh", "fresh"))

    def test_failure_is_silent(self):
        # a file where the cache directory would be: the rebuild fails
        with open(os.path.join(self.venv, ".epcache"), "w") as f:
            f.write("not a directory\n")
        r = run_py("import epcache; print(len(epcache.entry_points(path=[%r], group='g')))"
                   % self.venv)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "1\n", ""))

    def test_read_only_dir_is_left_alone(self):
        os.chmod(self.venv, 0o555)
        self.addCleanup(os.chmod, self.venv, 0o755)
        if os.geteuid() != 0:
            self.assertSameAsImportlib([self.venv], group="g")
            self.assertEqual(status(self.venv), "missing")
            return
        # Root writes anywhere: the case is the owner's, whose directory
        # is read-only to them, so that root and non-root runs (CI is
        # root) both have it.
        for root, dirs, files in os.walk(self.p("venv")):
            for n in dirs + files + ["."]:
                os.lchown(os.path.join(root, n), NOBODY, NOBODY)
        code = ("import epcache, json; print(json.dumps([[e.name, e.value] for e in "
                "epcache.entry_points(path=[%r], group='g')]))" % self.venv)
        r = run_py(code, user=NOBODY)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(json.loads(r.stdout),
                         [[e.name, e.value] for e in importlib_eps([self.venv], group="g")])
        self.assertEqual(status(self.venv), "missing")


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"),
                     "needs root and setpriv to act as another user")
class TestForeignDirs(SelfHealCase):
    CODE = ("import epcache, json; print(json.dumps([[e.name, e.dist.name] for e in "
            "epcache.entry_points(path=[%r], group='g')]))")

    def test_root_owned_dir_not_written_by_user(self):
        update(self.venv)
        sitegen.dist(self.venv, "two-1.dist-info", "two", "1", {"g": ["two = two"]})
        other = self.p("v2", "site-packages")
        os.makedirs(other)
        for d in (self.venv, other):
            r = run_py(self.CODE % d, user=NOBODY)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "")
        self.assertEqual(sorted(json.loads(run_py(self.CODE % self.venv, user=NOBODY).stdout)),
                         [["one", "one"], ["two", "two"]])
        self.assertEqual(status(self.venv), "stale")
        self.assertFalse(os.path.exists(os.path.join(other, ".epcache")))

    def test_user_dir_not_written_by_root(self):
        # even root leaves a user's environment to its owner
        update(self.venv)
        sitegen.dist(self.venv, "two-1.dist-info", "two", "1", {"g": ["two = two"]})
        for root, dirs, files in os.walk(self.p("venv")):
            for n in dirs + files + ["."]:
                os.lchown(os.path.join(root, n), NOBODY, NOBODY)
        self.assertSameAsImportlib([self.venv], group="g")
        self.assertEqual(status(self.venv), "stale")
        # and the user's own process heals it
        r = run_py(self.CODE % self.venv, user=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(status(self.venv), "fresh")
        self.assertEqual(os.stat(os.path.join(self.venv, CACHE)).st_uid, NOBODY)


class TestMain(TmpCase):
    def test_same_as_entrypoints_query(self):
        env = {"EPCACHE_NO_WRITE": "1"}
        cmd = [sys.executable, "-m", "epcache"]
        e = dict(os.environ, PYTHONPATH=ARGS.module_dir, **env)
        st = subprocess.run(cmd + ["--status"], capture_output=True, text=True, env=e,
                            cwd=self.tmp)
        self.assertEqual(st.returncode, 0, st.stderr)
        paths = [line.split("\t")[0] for line in st.stdout.splitlines()]
        self.assertIn(ARGS.module_dir, paths)
        q = [ARGS.query]
        for p in paths:
            q += ["--path", p]
        for extra in (["--status"], ["--group", "console_scripts"], []):
            mine = subprocess.run(cmd + extra, capture_output=True, text=True, env=e,
                                  cwd=self.tmp)
            ref = subprocess.run(q + extra, capture_output=True, text=True, env=e, cwd=self.tmp)
            self.assertEqual(mine.returncode, 0, mine.stderr)
            self.assertEqual(mine.stdout, ref.stdout, extra)
        self.assertNotEqual(subprocess.run(cmd + ["--bogus"], capture_output=True,
                                           env=e).returncode, 0)


def main():
    global ARGS, epcache
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--query", required=True)
    ARGS, rest = ap.parse_known_args()
    ARGS.module_dir = os.path.abspath(ARGS.module_dir)
    ARGS.update = os.path.abspath(ARGS.update)
    ARGS.query = os.path.abspath(ARGS.query)
    sys.path.insert(0, ARGS.module_dir)
    import epcache as mod
    epcache = mod
    os.environ["EPCACHE_NO_WRITE"] = "1"
    prog = unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, exit=False)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.skipped:
        # meson counts 77 as SKIP; on CI (root, setpriv) nothing may skip
        print("%d skipped: %s" % (len(r.skipped), ", ".join(t.id() for t, _ in r.skipped)))
        sys.exit(1 if os.environ.get("CI") == "true" else 77)
    sys.exit(0)


if __name__ == "__main__":
    main()
