#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Conformance of the Python module: epcache.entry_points(group=G) must be
importlib.metadata.entry_points(group=G), item for item (group, name,
value, dist name, dist version; module, attr and extras too), for every
group of every path list of the conformance corpus and of a copy of
/usr/lib/python3/dist-packages, with the caches absent, fresh, stale, and
stale then healed by the module itself.

    conformance.py --module-dir BUILD/src/python --update BUILD/src/update-entrypoints-cache \
                   --query BUILD/src/entrypoints-query [--no-real] [--only REGEX] [--subset]

--subset is what CI runs on the interpreters other than /usr/bin/python3
(whose run is the full one): every phase and the bad corpus, but of the
corpus's path lists only SUBSET_LISTS, and of the real site only the
all-groups and the console_scripts queries of "real" alone.

The corpus, the real-site copy, the mutations and importlib's answers
(one -S -I interpreter per path list) are run-conformance.py's own; only
the side under test differs: the module, in this process. Last line:
"N passed, M failed"; exit status 0 iff M is 0.
"""
import argparse
import importlib.util
import io
import contextlib
import os
import re
import shutil
import sys
import tempfile

import importlib.metadata as md

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "..", "conformance", "run-conformance.py")


def load_run_conformance():
    spec = importlib.util.spec_from_file_location("run_conformance", CONF)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rc = load_run_conformance()
# a sample that still has every kind of entry: dist-info and egg-info,
# .egg path entries, shadowing across the path, duplicates, NUL
SUBSET_LISTS = {"a", "all", "mixed-egg", "duplicates", "nul+c"}
SUBSET_REAL_QUERIES = [(None, None), ("console_scripts", None)]
epcache = None


def flat(eps):
    """The entry points of an answer: SelectableGroups (3.10, 3.11, no
    selection) flattened as importlib-dump.py does, through dict's own
    values (no deprecation warning)."""
    if isinstance(eps, dict):
        return [ep for group in dict.values(eps) for ep in group]
    return eps


def as_json(eps):
    eps = flat(eps)
    return [{"group": e.group, "name": e.name, "value": e.value,
             "dist": {"name": e.dist.name if e.dist else None,
                      "version": e.dist.version if e.dist else None}} for e in eps]


def parts(ep):
    try:
        return (ep.module, ep.attr, ep.extras)
    except (AttributeError, AssertionError) as e:
        # a value importlib's pattern does not match: AttributeError, or
        # since 3.13 AssertionError; the module must raise the same
        return ("no match", type(e).__name__)


def check_query(name, paths, q, expected, details):
    g, n = q
    params = {}
    if g is not None:
        params["group"] = g
    if n is not None:
        params["name"] = n
    try:
        eps = epcache.entry_points(path=paths, **params)
    except Exception as e:
        return name, False, "raised %r" % e
    actual = as_json(eps)
    if actual != expected:
        return name, False, "path %s\n%s" % (ascii(paths), rc.diff(expected, actual))
    if details:
        for ep in flat(eps):
            ref = md.EntryPoint(ep.name, ep.value, ep.group)
            if parts(ep) != parts(ref):
                return name, False, "%r: module/attr/extras %r, importlib %r" % (
                    ep, parts(ep), parts(ref))
    return name, True, ""


class Conformance:
    def __init__(self, args):
        self.args = args
        ns = argparse.Namespace(query=args.query, update=args.update, python=sys.executable,
                                jobs=2, tool_wrapper=None, real=args.real)
        self.env = rc.Env(ns)
        self.results = rc.Results(False, args.only, None)
        self.tmp = tempfile.mkdtemp(prefix="epcache-py-conformance-")
        self.suite = rc.Suite(self.env, self.results, self.tmp, ns)

    def queries_for(self, lists):
        queries = self.suite.queries_for(lists)
        if self.args.subset and "real" in queries:
            queries["real"] = SUBSET_REAL_QUERIES
        return queries

    def compare(self, label, lists, expected):
        for plname, paths in lists.items():
            for q, exp in expected[plname].items():
                name = "%s/%s/%s" % (label, plname, rc.q_desc(q))
                if self.results.wanted(name):
                    self.results.add(*check_query(name, paths, q, exp, q == (None, None)))

    def check_status(self, label, lists, want, overrides=None, egg_either=False):
        overrides = overrides or {}
        for plname, paths in lists.items():
            name = "%s/status/%s" % (label, plname)
            got = epcache.path_status(path=paths)
            bad = []
            for (p, s, reason) in got:
                key = os.path.normpath(p)
                if key not in self.dirs:
                    continue
                w = overrides.get(key, want)
                # "x.egg/" is no .egg entry for importlib: a cache built
                # for it does not do for "x.egg", and the other way round;
                # healing lists with both leaves whichever came last
                egg = key.lower().endswith(".egg") and (p.endswith("/") or egg_either)
                ok = s == w or (egg and s in ("fresh", "stale", "missing"))
                if not ok:
                    bad.append("%s: %s (%s), expected %s" % (p, s, reason, w))
            self.results.add(name, not bad, "\n".join(bad))

    def run(self):
        s = self.suite
        root = os.path.join(self.tmp, "corpus")
        manifest = s.gen_corpus(root, verify=False)
        ab = lambda rel: os.path.join(root, rel)  # noqa: E731
        lists = {n: [ab(p) for p in ps] for n, ps in manifest["path_lists"].items()
                 if not self.args.subset or n in SUBSET_LISTS}
        dirs = [ab(d) for d in manifest["cache_dirs"]]
        if self.args.real:
            why = s.copy_real(root)
            if why:
                self.results.add("real dist-packages", False, why)
            else:
                rs = ab("real/dist-packages")
                lists["real"] = [rs]
                if not self.args.subset:
                    lists.update({"real+a": [rs, ab("good/a")], "b+real": [ab("good/b"), rs]})
                dirs.append(rs)
        self.dirs = {os.path.normpath(d) for d in dirs}
        queries = self.queries_for(lists)
        expected = s.expected_for(lists, queries)
        s.mark("importlib reference")

        os.environ["EPCACHE_NO_WRITE"] = "1"
        self.check_status("absent", lists, "missing")
        self.compare("absent", lists, expected)
        s.mark("absent")

        code, out, err = self.env.run([self.env.update, "--mode", "mtime"] + dirs, timeout=300)
        self.results.add("update", code == 0, rc.short(err))
        self.check_status("fresh", lists, "fresh")
        self.compare("fresh", lists, expected)
        s.mark("fresh")

        s.mutate(root, "add-remove")
        stale = {os.path.normpath(ab("good/a")): "stale", os.path.normpath(ab("good/b")): "stale"}
        if ab("real/dist-packages") in dirs:
            s.mutate(root, "real")
            stale[os.path.normpath(ab("real/dist-packages"))] = "stale"
        queries = self.queries_for(lists)
        expected = s.expected_for(lists, queries)
        self.check_status("stale", lists, "fresh", stale)
        self.compare("stale", lists, expected)
        self.check_status("stale-still", lists, "fresh", stale)
        s.mark("stale (EPCACHE_NO_WRITE=1)")

        # the module's own answers rebuild what it found stale (root owns
        # the corpus and runs this), and stay importlib's throughout
        del os.environ["EPCACHE_NO_WRITE"]
        self.compare("healing", lists, expected)
        self.check_status("healed", lists, "fresh", egg_either=True)
        os.environ["EPCACHE_NO_WRITE"] = "1"
        self.compare("healed", lists, expected)
        s.mark("stale, healed by the module")
        self.run_bad()

    def run_bad(self):
        root = os.path.join(self.tmp, "bad-corpus")
        manifest = self.suite.gen_corpus(root, verify=False)
        for bc in manifest["bad_cases"]:
            label = "bad/%s" % bc["name"]
            if not self.results.wanted(label):
                continue
            path = os.path.join(root, bc["path"])
            fixed = os.path.join(root, bc["fixed_path"])
            expected = rc.dump_batch(self.env, [fixed], [(None, None)])[(None, None)]
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                name, ok, detail = check_query(label + "/rest-intact", [path], (None, None),
                                               expected, False)
            if not ok and bc["undecided_group"] is not None:
                actual = [e for e in as_json(epcache.entry_points(path=[path]))
                          if e["group"] != bc["undecided_group"]]
                ok, detail = actual == expected, rc.diff(expected, actual)
            self.results.add(name, ok, detail)
            for w in bc["warn"]:
                pat = re.escape(w["tail"])
                if w["line"] is not None:
                    pat += r":%d(?!\d)" % w["line"]
                found = any(re.search(pat, line) and "MetadataWarning" in line
                            for line in err.getvalue().splitlines())
                self.results.add("%s/warning-names/%s" % (label, w["tail"]), found,
                                 "no warning naming it on stderr:\n%s" % err.getvalue())


def main():
    global epcache
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("--no-real", dest="real", action="store_false")
    ap.add_argument("--only")
    ap.add_argument("--subset", action="store_true")
    ap.add_argument("--keep", action="store_true")
    # an --only that matches nothing, a corpus that lost its cases: "0
    # passed, 0 failed" must not be green
    ap.add_argument("--min-checks", type=int, default=1,
                    help="fail when fewer checks than this ran")
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.module_dir))
    import epcache as mod
    epcache = mod
    os.environ.setdefault("PKGSYSTEM_ENABLE_FSYNC", "0")
    c = Conformance(args)
    try:
        c.run()
    except RuntimeError as e:
        c.results.add("harness", False, str(e))
    finally:
        c.suite.pool.shutdown()
        if args.keep:
            print("kept %s" % c.tmp)
        else:
            shutil.rmtree(c.tmp, ignore_errors=True)
    print("%d passed, %d failed" % (c.results.passed, c.results.failed))
    if c.results.passed + c.results.failed < args.min_checks:
        print("FAIL: %d checks ran, fewer than the floor of %d"
              % (c.results.passed + c.results.failed, args.min_checks))
        return 1
    return 0 if c.results.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
