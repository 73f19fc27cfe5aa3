#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The accelerator against the interpreter's own importlib.metadata, over
the whole conformance corpus (and a copy of /usr/lib/python3/dist-packages):
for every path list, sys.path is the list and importlib.metadata's own
entry_points() -- all groups, every group, the name queries -- is called
with the accelerator installed (epcache.accelerate()) and without it
(importlib's function, kept as __wrapped__), the accelerated one twice
(the second may hand out what the first built: where the caches are
fresh it must, on 3.11+). The answers must be the
same: the result's type, and per entry point its type, name, value,
group, the type and directory of its .dist, and which entry points share
one .dist object; an exception must be the same exception. The same for
every distribution importlib's distributions() finds (shadowed ones too):
its entry_points property with the accelerator and importlib's own,
whose entry points must all have that distribution as .dist. With the
caches absent, fresh (where the cache must have been used: no
entry_points.txt opened in a path list of cached directories), stale
(EPCACHE_NO_WRITE=1) and stale then healed by the accelerator.

With --backport, the importlib_metadata backport is imported first, as
cliff does (it takes path discovery from the stdlib): importlib.metadata's
entry_points() and the backport's own, and the backport's distributions,
against theirs.

    conformance-accelerate.py --module-dir BUILD/src/python \
        --update BUILD/src/update-entrypoints-cache --query BUILD/src/entrypoints-query \
        [--no-real] [--backport] [--only REGEX]

Last line "N passed, M failed"; exit status 0 iff M is 0.
"""
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time

import importlib.metadata as md
# importlib imports these when it first reads a METADATA (3.13: lazily),
# and sys.path is a path list of the corpus then
import importlib.metadata._adapters  # noqa: F401,E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "..", "conformance", "run-conformance.py")


def load_run_conformance():
    spec = importlib.util.spec_from_file_location("run_conformance", CONF)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rc = load_run_conformance()


def rep_eps(eps):
    dists = []
    out = [type(eps).__qualname__]
    for ep in eps:
        d = ep.dist
        for i, seen in enumerate(dists):
            if seen is d:
                share = i
                break
        else:
            share = len(dists)
            dists.append(d)
        out.append((type(ep).__qualname__, type(ep).__module__, ep.name,
                    ep.value, ep.group, type(d).__qualname__,
                    str(getattr(d, "_path", None)), share))
    return out


def rep(call):
    try:
        r = call()
    except Exception as e:
        return ("raised", type(e).__qualname__, str(e))
    if isinstance(r, dict):  # SelectableGroups
        return [type(r).__qualname__] + [(g, rep_eps(v)) for g, v in r.items()]
    return rep_eps(r)


def clean_cache(d):
    """The cache of @d records no problem in any distribution (read as
    src/cache-format.md says): the accelerator must use it. Where it does
    record one, importlib reads the directory."""
    import json
    try:
        with open(os.path.join(d, ".epcache", "entry-points.json"), "rb") as f:
            c = json.loads(f.read().decode("utf-8", "surrogatepass"))
    except (OSError, ValueError):
        return False
    return all(r["warnings"] == 0 for r in c["data"]["distributions"])


class Opens:
    """Counts the entry_points.txt files opened while it is on (an audit
    hook: it sees importlib's reads however they are made)."""

    def __init__(self):
        self.on = False
        self.n = 0
        sys.addaudithook(self.hook)

    def hook(self, event, args):
        if self.on and event == "open" and isinstance(args[0], str) and \
                args[0].endswith("entry_points.txt"):
            self.n += 1

    def __enter__(self):
        self.n = 0
        self.on = True
        return self

    def __exit__(self, *a):
        self.on = False


def rep_dist(dist, call):
    """What a distribution's entry_points gives, and whether each entry
    point's .dist is that distribution."""
    try:
        eps = call()
    except Exception as e:
        return ("raised", type(e).__qualname__, str(e))
    return (rep_eps(eps), all(ep.dist is dist for ep in eps))


class Counter:
    """Counts the cache hits of the accelerator's entry_points(): rows
    read from a cache, and freshness checks passed before entry points
    built earlier are handed out again."""

    def __init__(self, ext):
        self.hits = self.again = 0
        self.patched_accel = self.counting(ext._accel_entry, "hits")
        self.patched_fresh = self.counting(ext._accel_fresh, "again")

    def counting(self, f, attr):
        """@f, counting its true answers in self.@attr."""
        def counted(*args):
            r = f(*args)
            if r:
                setattr(self, attr, getattr(self, attr) + 1)
            return r
        return counted


class Conformance:
    def __init__(self, args):
        self.args = args
        ns = argparse.Namespace(query=args.query, update=args.update,
                                python=sys.executable, jobs=2,
                                tool_wrapper=None, real=args.real)
        self.env = rc.Env(ns)
        self.results = rc.Results(False, args.only, None)
        self.tmp = tempfile.mkdtemp(prefix="epcache-accel-conformance-")
        self.suite = rc.Suite(self.env, self.results, self.tmp, ns)

    def queries(self, paths):
        saved = sys.path[:]
        sys.path[:] = paths
        try:
            groups = self.orig().groups
        except Exception:
            groups = []
        finally:
            sys.path[:] = saved
        groups = sorted(set(groups) | set(rc.EXTRA_GROUPS))
        return ([(None, None)] + [(g, None) for g in groups]
                + rc.NAME_QUERIES)

    def compare(self, label, lists, cached=False):
        for plname, paths in lists.items():
            qs = self.queries(paths)
            all_cached = cached and all(
                os.path.normpath(p) in self.dirs and clean_cache(p) and
                not p.lower().rstrip("/").endswith(".egg") for p in paths)
            for api, accelerated, orig in self.apis:
                for g, n in qs:
                    name = "%s/%s/%s%s" % (label, plname, rc.q_desc((g, n)), api)
                    if not self.results.wanted(name):
                        continue
                    params = {}
                    if g is not None:
                        params["group"] = g
                    if n is not None:
                        params["name"] = n
                    saved = sys.path[:]
                    sys.path[:] = paths
                    try:
                        want = rep(lambda: orig(**params))
                        hits = self.counter.hits
                        again = self.counter.again
                        # asked twice: the second call may hand out
                        # what the first built from the same caches
                        with self.opens as o:
                            got = rep(lambda: accelerated(**params))
                            got2 = rep(lambda: accelerated(**params))
                    finally:
                        sys.path[:] = saved
                    if got != want or got2 != want:
                        self.results.add(name, False, "paths %s\nimportlib %r\naccelerated %r" % (
                            ascii(paths), want, got if got != want else got2))
                        continue
                    if all_cached and o.n:
                        self.results.add(name, False, "%d entry_points.txt opened: cache not "
                                         "used" % o.n)
                        continue
                    self.results.add(name, True)
                    self.hits += self.counter.hits - hits
                    self.again += self.counter.again - again
            self.compare_dists(label, plname, paths, all_cached)

    def compare_dists(self, label, plname, paths, all_cached):
        name = "%s/%s/dist.entry_points" % (label, plname)
        if not self.results.wanted(name):
            return
        saved = sys.path[:]
        sys.path[:] = paths
        try:
            dists = list(self.dmod.distributions())
        finally:
            sys.path[:] = saved
        want = [rep_dist(d, lambda: self.orig_dist_eps(d)) for d in dists]
        with self.opens as o:
            got = [rep_dist(d, lambda: d.entry_points) for d in dists]
        if got != want:
            bad = [(str(d._path), w, g) for d, w, g in zip(dists, want, got)
                   if w != g]
            self.results.add(name, False, "paths %s\n%d of %d differ, first: "
                             "%r" % (ascii(paths), len(bad), len(dists), bad[0]))
            return
        if all_cached and o.n:
            self.results.add(name, False, "%d entry_points.txt opened: cache "
                             "not used" % o.n)
            return
        self.results.add(name, True)
        self.dist_checks += len(dists)
        if all_cached:
            self.dists_cached += len(dists)

    def run(self):
        sys.path.insert(0, os.path.abspath(self.args.module_dir))
        import epcache
        from epcache import _epcache
        self.counter = Counter(_epcache)
        # the accelerator takes the extension's function when installed
        _epcache._accel_entry = self.counter.patched_accel
        _epcache._accel_fresh = self.counter.patched_fresh
        self.dmod = md
        if self.args.backport:
            # as cliff does: path discovery is the backport's from now on
            import importlib_metadata as bp
            import importlib.machinery
            self.results.add("backport took path discovery", not hasattr(
                importlib.machinery.PathFinder, "find_distributions"))
            self.dmod = bp
        self.results.add("install", epcache.accelerate() is True)
        self.results.add("installed", getattr(md.entry_points, "_epcache_accelerated", False))
        self.orig = md.entry_points.__wrapped__
        self.apis = [("", md.entry_points, self.orig)]
        if self.args.backport:
            self.results.add("installed in the backport",
                             getattr(bp.entry_points, "_epcache_accelerated", False))
            self.apis.append((" (importlib_metadata)", bp.entry_points,
                              bp.entry_points.__wrapped__))
        prop = self.dmod.PathDistribution.__dict__.get("entry_points")
        self.results.add("installed on PathDistribution.entry_points",
                         getattr(prop.fget, "_epcache_accelerated", False))
        self.orig_dist_eps = prop.fget.__wrapped__
        self.opens = Opens()
        self.hits = self.again = 0
        # 3.10's EntryPoint can be changed: each call builds its own
        self.shared = md.EntryPoint.__setattr__ is not object.__setattr__
        self.dist_checks = self.dists_cached = 0

        s = self.suite
        root = os.path.join(self.tmp, "corpus")
        manifest = s.gen_corpus(root, verify=False)
        ab = lambda rel: os.path.join(root, rel)  # noqa: E731
        lists = {n: [ab(p) for p in ps] for n, ps in manifest["path_lists"].items()}
        dirs = [ab(d) for d in manifest["cache_dirs"]]
        if self.args.real:
            why = s.copy_real(root)
            if why:
                self.results.add("real dist-packages", False, why)
            else:
                rs = ab("real/dist-packages")
                lists.update({"real": [rs], "real+a": [rs, ab("good/a")],
                              "b+real": [ab("good/b"), rs]})
                dirs.append(rs)
        self.dirs = {os.path.normpath(d) for d in dirs}

        os.environ["EPCACHE_NO_WRITE"] = "1"
        self.compare("absent", lists)
        self.results.add("absent/no-cache-used", self.hits + self.again == 0,
                         "%d hits, %d again" % (self.hits, self.again))
        s.mark("absent")

        code, out, err = self.env.run([self.env.update, "--mode", "mtime"] + dirs, timeout=300)
        self.results.add("update", code == 0, rc.short(err))
        # files changed within 2 s of a cache's judging are read by
        # importlib (the racy rule of PathDistribution.entry_points)
        time.sleep(2.1)
        self.hits = self.again = 0
        self.compare("fresh", lists, cached=True)
        self.results.add("fresh/cache-used", self.hits > 100, "%d hits" % self.hits)
        self.results.add("fresh/built-entry-points-handed-out-again", self.again > 100
                         if self.shared else self.again == 0, "%d times" % self.again)
        self.results.add("fresh/dist.entry_points-from-caches",
                         self.dists_cached > 100,
                         "%d distributions" % self.dists_cached)
        s.mark("fresh")

        s.mutate(root, "add-remove")
        if ab("real/dist-packages") in dirs:
            s.mutate(root, "real")
        self.compare("stale", lists)
        s.mark("stale (EPCACHE_NO_WRITE=1)")

        # the accelerator's calls heal what they found stale (root owns
        # the corpus and runs this), and stay importlib's throughout
        del os.environ["EPCACHE_NO_WRITE"]
        self.compare("healing", lists)
        os.environ["EPCACHE_NO_WRITE"] = "1"
        self.hits = self.again = 0
        time.sleep(2.1)
        self.compare("healed", lists)
        self.results.add("healed/cache-used", self.hits > 100, "%d hits" % self.hits)
        self.results.add("healed/built-entry-points-handed-out-again", self.again > 100
                         if self.shared else self.again == 0, "%d times" % self.again)
        s.mark("stale, healed by the accelerator")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("--no-real", dest="real", action="store_false")
    ap.add_argument("--backport", action="store_true",
                    help="import the importlib_metadata backport first, as cliff "
                    "does, and compare its entry_points() and distributions too")
    ap.add_argument("--only")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
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
    return 0 if c.results.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
