#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Conformance test: entrypoints-query must answer exactly like importlib.metadata.

    run-conformance.py --query BUILD/src/entrypoints-query \
                       --update BUILD/src/update-entrypoints-cache \
                       [--python /usr/bin/python3] [--real] [--jobs N] \
                       [--modes mtime,strict,trust] [--only REGEX] [--exclude REGEX] \
                       [--keep] [--verbose]

For every validation mode, a fresh copy of the corpus (gen-corpus.py) is
generated in a temporary directory and, for every path list of the corpus
and every query (each group that appears, no group, a few groups that do not
exist, a few --name filters), the JSON printed by
`entrypoints-query --format json` is compared with what importlib-dump.py
(the reference: PYTHON's importlib.metadata) prints:

  nocache   entrypoints-query --no-cache                  (live scan)
  missing   no cache built yet: --status says "missing"; the answer is right
  fresh     after update-entrypoints-cache --mode MODE: --status says "fresh"
            for every directory; cached and --no-cache answers are right;
            rebuilding an unchanged directory gives a byte-identical cache
  stale     (mtime, strict) after adding a distribution to good/a and removing
            one from good/b (and, for strict, an in-place upgrade inside
            good/c): --status says "stale" exactly for those, "fresh" for the
            rest, and the answers are still importlib's

The "bad" corpus (inputs on which importlib raises) is checked separately:
the tool exits 0, warns naming FILE:LINE, and everything else in the
directory is still there.

With --real, /usr/lib/python3/dist-packages is copied (cp -a) into the
temporary directory and tested the same way; nothing outside the temporary
directory is ever written.

Every comparison is one test; each failure prints its name and a diff.  The
last line is "N passed, M failed, K skipped"; the exit status is 1 when
M > 0 or fewer than --min-checks checks ran, else 77 (meson: SKIP) when a
part was skipped (1 with CI=true), else 0.
"""

import argparse
import concurrent.futures
import difflib
import json
import shlex
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen-corpus.py")
DUMP = os.path.join(HERE, "importlib-dump.py")
REAL_SITE = "/usr/lib/python3/dist-packages"
CACHE_FILE = os.path.join(".epcache", "entry-points.json")

# --name filters tried on every path list: (group or None, name)
NAME_QUERIES = [(None, "ep"), ("dup", "ep"), (None, ""), ("grp", ""), (None, "dupkey"),
                ("grp", "dupkey"), (None, "a"), (None, "\u0130"), (None, "no-such-name"),
                (None, "console_scripts"), ("console_scripts", "pip")]
# groups tried on every path list in addition to the ones that appear
EXTRA_GROUPS = ["no-such-group", "", "DUP", "Grp", " grp", "-dash", "console_scripts"]


class Results:
    def __init__(self, verbose, only, exclude):
        self.passed = 0
        self.failed = 0
        self.skipped = []
        self.verbose = verbose
        self.only = re.compile(only) if only else None
        self.exclude = re.compile(exclude) if exclude else None

    def wanted(self, name):
        if self.only and not self.only.search(name):
            return False
        if self.exclude and self.exclude.search(name):
            return False
        return True

    def add(self, name, ok, detail=""):
        if not self.wanted(name):
            return
        if ok:
            self.passed += 1
            if self.verbose:
                print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s" % name)
            if detail:
                for line in detail.rstrip("\n").split("\n"):
                    print("     " + line)
        sys.stdout.flush()

    def skip(self, what, reason):
        self.skipped.append(what)
        print("SKIP %s: %s" % (what, reason))


class Env:
    def __init__(self, args):
        self.query = os.path.abspath(args.query)
        self.update = os.path.abspath(args.update)
        self.python = args.python
        self.jobs = args.jobs
        # e.g. "valgrind --error-exitcode=3 -q": run the tools under it
        self.wrapper = shlex.split(args.tool_wrapper or "")
        self.env = dict(os.environ)
        # fsync is not what this test is about; it only slows it down
        self.env.setdefault("PKGSYSTEM_ENABLE_FSYNC", "0")

    def run(self, cmd, timeout=120, input=None):
        if self.wrapper and cmd[0] in (self.query, self.update):
            cmd = self.wrapper + cmd
            timeout *= 20
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=timeout, env=self.env,
                               input=input)
        except subprocess.TimeoutExpired:
            return None, b"", ("timeout after %ds" % timeout).encode()
        return r.returncode, r.stdout, r.stderr


def q_desc(q):
    g, n = q
    s = "all-groups" if g is None else "group=%s" % ascii(g)
    if n is not None:
        s += ",name=%s" % ascii(n)
    return s


def entries_to_lines(entries):
    return [json.dumps(e, ensure_ascii=True, sort_keys=True) for e in entries]


def diff(expected, actual, limit=80):
    a = entries_to_lines(expected)
    b = entries_to_lines(actual)
    d = list(difflib.unified_diff(a, b, "importlib", "entrypoints-query", lineterm="", n=2))
    d = [line if len(line) <= 400 else line[:300] + "...(%d chars)...%s" % (len(line), line[-60:])
         for line in d]
    if len(d) > limit:
        d = d[:limit] + ["... (%d more diff lines)" % (len(d) - limit)]
    return "\n".join(d)


def project(entries):
    """Keep exactly the documented fields (extra fields are not an error)."""
    out = []
    for e in entries:
        d = e["dist"]
        out.append({"group": e["group"], "name": e["name"], "value": e["value"],
                    "dist": {"name": d["name"], "version": d["version"]}})
    return out


def short(b, limit=2000):
    s = b.decode("utf-8", "backslashreplace") if isinstance(b, bytes) else str(b)
    return s if len(s) <= limit else s[:limit] + "... (%d more bytes)" % (len(s) - limit)


# ---------------------------------------------------------------------------
# reference side

def documented_deviation(entries):
    """The one place where epcache's answer differs from importlib's by
    design: a C string cannot carry NUL. An entry line (or a whole section)
    whose group, name or value contains NUL is dropped with a warning, and
    a Name:/Version: containing NUL makes both unknown (null). Everything
    else must be identical."""
    out = []
    for e in entries:
        if any("\0" in e[k] for k in ("group", "name", "value")):
            continue
        d = e["dist"]
        if any(v is not None and "\0" in v for v in (d["name"], d["version"])):
            e = dict(e, dist={"name": None, "version": None})
        out.append(e)
    return out


def dump_batch(env, paths, queries):
    """importlib's answer for every query, one interpreter for the lot."""
    cmd = [env.python, "-S", "-I", DUMP]
    for p in paths:
        cmd += ["--path", p]
    cmd.append("--batch")
    batch = [{"group": g, "name": n} for g, n in queries]
    rc, out, err = env.run(cmd, input=json.dumps(batch).encode())
    if rc != 0:
        raise RuntimeError("importlib-dump failed (rc=%s) for %r:\n%s" % (rc, paths, short(err)))
    return dict(zip(queries, map(documented_deviation, json.loads(out))))


def queries_for(env, paths):
    all_eps = dump_batch(env, paths, [(None, None)])[(None, None)]
    groups = sorted({e["group"] for e in all_eps} | set(EXTRA_GROUPS))
    # argv cannot carry NUL: such groups are covered by the all-groups query
    groups = [g for g in groups if "\0" not in g]
    return [(None, None)] + [(g, None) for g in groups] + NAME_QUERIES


# ---------------------------------------------------------------------------
# tool side

def query_cmd(env, paths, q, nocache):
    g, n = q
    cmd = [env.query]
    for p in paths:
        cmd += ["--path", p]
    if g is not None:
        cmd += ["--group", g]
    if n is not None:
        cmd += ["--name", n]
    cmd += ["--format", "json"]
    if nocache:
        cmd.append("--no-cache")
    return cmd


def check_query(env, name, paths, q, expected, nocache, drop_group=None):
    cmd = query_cmd(env, paths, q, nocache)
    rc, out, err = env.run(cmd)
    if rc != 0:
        return name, False, "exit status %s\ncommand: %s\nstderr: %s" % (rc, ascii(cmd), short(err))
    try:
        actual = project(json.loads(out))
    except (ValueError, KeyError, TypeError) as e:
        return name, False, "bad JSON (%s)\ncommand: %s\nstdout: %s" % (e, ascii(cmd), short(out))
    if drop_group is not None:
        actual = [e for e in actual if e["group"] != drop_group]
    if actual != expected:
        return name, False, "command: %s\n%s" % (ascii(cmd), diff(expected, actual))
    return name, True, ""


def status_of(env, paths):
    cmd = [env.query]
    for p in paths:
        cmd += ["--path", p]
    cmd += ["--status", "--format", "json"]
    rc, out, err = env.run(cmd)
    if rc != 0:
        return None, "exit status %s\ncommand: %s\nstderr: %s" % (rc, ascii(cmd), short(err))
    try:
        st = json.loads(out)
        if not isinstance(st, list) or len(st) != len(paths):
            raise ValueError("expected a list of %d objects" % len(paths))
        return [(s["status"], s.get("reason")) for s in st], None
    except (ValueError, KeyError, TypeError) as e:
        return None, "bad --status JSON (%s)\ncommand: %s\nstdout: %s" % (e, ascii(cmd), short(out))


def check_status(env, name, paths, want):
    """want: list (per path) of an expected status or None (not checked)."""
    st, err = status_of(env, paths)
    if st is None:
        return name, False, err
    bad = []
    for p, (s, reason), w in zip(paths, st, want):
        if w is not None and s not in (w if isinstance(w, tuple) else (w,)):
            bad.append("%s: status %r (reason %r), expected %r" % (p, s, reason, w))
        if s == "corrupt":
            bad.append("%s: status corrupt (reason %r)" % (p, reason))
    return name, not bad, "\n".join(bad)


# ---------------------------------------------------------------------------

class Suite:
    def __init__(self, env, results, tmp, args):
        self.env = env
        self.results = results
        self.tmp = tmp
        self.args = args
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=env.jobs)
        self.last = time.monotonic()

    def mark(self, what):
        now = time.monotonic()
        print("   %-44s %6.1f s" % (what, now - self.last))
        sys.stdout.flush()
        self.last = now

    def gather(self, tasks):
        """tasks: list of (name, fn, args); runs them in parallel, reports in order."""
        tasks = [t for t in tasks if self.results.wanted(t[0])]
        futs = [self.pool.submit(fn, *a) for _, fn, a in tasks]
        for (name, _, _), f in zip(tasks, futs):
            try:
                n, ok, detail = f.result()
            except Exception as e:  # a harness bug must not look like a pass
                n, ok, detail = name, False, "harness exception: %r" % e
            self.results.add(n, ok, detail)

    def gen_corpus(self, root, verify):
        cmd = [sys.executable, GEN, root, "--quiet"]
        if verify:
            cmd += ["--verify", self.env.python]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("gen-corpus failed:\n%s%s" % (r.stdout, r.stderr))
        with open(os.path.join(root, "MANIFEST.json")) as f:
            return json.load(f)

    def mutate(self, root, what):
        r = subprocess.run([sys.executable, GEN, root, "--mutate", what],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("gen-corpus --mutate %s failed:\n%s" % (what, r.stderr))

    def copy_real(self, root):
        if not os.path.isdir(REAL_SITE):
            return "%s does not exist" % REAL_SITE
        os.makedirs(os.path.join(root, "real"))
        r = subprocess.run(["cp", "-a", REAL_SITE, os.path.join(root, "real") + "/"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return "cp -a failed: %s" % r.stderr.strip()
        # a cache some earlier run left in the real directory is not ours to
        # test (and would make the "missing" phase meaningless): drop it from
        # the copy
        shutil.rmtree(os.path.join(root, "real", "dist-packages", ".epcache"), ignore_errors=True)
        return None

    def compare_all(self, label, lists, expected, nocache_too=True, only_nocache=False):
        tasks = []
        for plname, paths in lists.items():
            for q, exp in expected[plname].items():
                for nocache in ([True] if only_nocache else ([False, True] if nocache_too else [False])):
                    name = "%s/%s/%s%s" % (label, plname, q_desc(q), "/no-cache" if nocache else "")
                    tasks.append((name, check_query, (self.env, name, paths, q, exp, nocache)))
        self.gather(tasks)

    def expected_for(self, lists, queries):
        """importlib's answers, one interpreter per path list, in parallel."""
        futs = {n: self.pool.submit(dump_batch, self.env, ps, queries[n]) for n, ps in lists.items()}
        return {n: f.result() for n, f in futs.items()}

    def queries_for(self, lists):
        futs = {n: self.pool.submit(queries_for, self.env, ps) for n, ps in lists.items()}
        return {n: f.result() for n, f in futs.items()}

    def run_mode(self, mode, first):
        env = self.env
        root = os.path.join(self.tmp, mode)
        print("== mode %s: corpus in %s" % (mode, root))
        sys.stdout.flush()
        manifest = self.gen_corpus(root, verify=first)
        ab = lambda rel: os.path.join(root, rel)  # noqa: E731  (keeps a trailing '/')
        lists = {n: [ab(p) for p in ps] for n, ps in manifest["path_lists"].items()}
        dirs = [ab(d) for d in manifest["cache_dirs"]]

        if self.args.real:
            why = self.copy_real(root)
            if why:
                if first:
                    self.results.skip("real dist-packages", why)
            else:
                rs = ab("real/dist-packages")
                real_lists = {"real": [rs], "real+a": [rs, ab("good/a")],
                              "b+real": [ab("good/b"), rs]}
                try:
                    dump_batch(env, [rs], [(None, None)])
                except RuntimeError as e:
                    if first:
                        self.results.skip("real dist-packages",
                                          "importlib raises on it, nothing to compare:\n%s" % e)
                else:
                    lists.update(real_lists)
                    dirs.append(rs)

        queries = self.queries_for(lists)
        if first:
            nq = sum(len(v) for v in queries.values())
            print("   %d path lists, %d queries per phase" % (len(lists), nq))
        expected = self.expected_for(lists, queries)
        self.mark("importlib reference")

        def want_all(paths, status, overrides=None):
            overrides = overrides or {}
            out = []
            for p in paths:
                key = os.path.normpath(p)
                if not os.path.isdir(p):
                    w = None
                elif key in overrides:
                    w = overrides[key]
                else:
                    w = status
                if w == "fresh" and p.endswith("/") and key.lower().endswith(".egg"):
                    # "x.egg/" is not an .egg entry for importlib (its basename
                    # is ''), while the cache was built for "x.egg": a reader
                    # may use it (if it knows which children are eggs) or
                    # fall back; either way the answer must be right.
                    w = ("fresh", "stale")
                out.append(w)
            return out

        # -- no cache anywhere
        self.compare_all("%s/nocache" % mode, lists, expected, only_nocache=True)
        self.gather([("%s/missing/status/%s" % (mode, n), check_status,
                      (env, "%s/missing/status/%s" % (mode, n), ps, want_all(ps, "missing")))
                     for n, ps in lists.items()])
        self.compare_all("%s/missing" % mode, lists, expected, nocache_too=False)
        self.mark("no cache: --no-cache, status missing, cached")

        # -- build caches
        name = "%s/update" % mode
        rc, out, err = env.run([env.update, "--mode", mode] + dirs, timeout=300)
        self.results.add(name, rc == 0, "exit status %s\nstderr: %s" % (rc, short(err)))
        caches = {}
        missing = [d for d in dirs if not os.path.isfile(os.path.join(d, CACHE_FILE))]
        self.results.add("%s/update/cache-files-exist" % mode, not missing,
                         "no %s in: %s" % (CACHE_FILE, ", ".join(missing)))
        for d in dirs:
            try:
                with open(os.path.join(d, CACHE_FILE), "rb") as f:
                    caches[d] = f.read()
            except OSError:
                pass
        rc, out, err = env.run([env.update, "--mode", mode] + dirs, timeout=300)
        self.results.add("%s/update-again" % mode, rc == 0,
                         "exit status %s\nstderr: %s" % (rc, short(err)))
        changed = []
        for d, old in caches.items():
            try:
                with open(os.path.join(d, CACHE_FILE), "rb") as f:
                    if f.read() != old:
                        changed.append(d)
            except OSError as e:
                changed.append("%s (%s)" % (d, e))
        self.results.add("%s/update-again/byte-identical" % mode, not changed,
                         "rebuilding an unchanged directory changed its cache: %s"
                         % ", ".join(changed))

        self.mark("update-entrypoints-cache (twice)")

        # -- fresh caches
        self.gather([("%s/fresh/status/%s" % (mode, n), check_status,
                      (env, "%s/fresh/status/%s" % (mode, n), ps, want_all(ps, "fresh")))
                     for n, ps in lists.items()])
        self.compare_all("%s/fresh" % mode, lists, expected)
        self.mark("fresh: status, cached, --no-cache")

        if mode == "trust":
            print("   (trust mode does no freshness check by design: no stale phase)")
            return

        # -- stale caches
        self.mutate(root, "add-remove")
        stale = {os.path.normpath(ab("good/a")): "stale", os.path.normpath(ab("good/b")): "stale"}
        if mode == "strict":
            self.mutate(root, "inplace")
            stale[os.path.normpath(ab("good/c"))] = "stale"
        if ab("real/dist-packages") in dirs:
            self.mutate(root, "real")
            stale[os.path.normpath(ab("real/dist-packages"))] = "stale"
        # the mutations change the answers: ask importlib again
        queries = self.queries_for(lists)
        expected = self.expected_for(lists, queries)
        self.mark("mutations + importlib reference")
        self.gather([("%s/stale/status/%s" % (mode, n), check_status,
                      (env, "%s/stale/status/%s" % (mode, n), ps, want_all(ps, "fresh", stale)))
                     for n, ps in lists.items()])
        self.compare_all("%s/stale" % mode, lists, expected)
        self.mark("stale: status, cached, --no-cache")

    def run_bad(self):
        env = self.env
        root = os.path.join(self.tmp, "bad-corpus")
        print("== bad corpus (importlib raises): %s" % root)
        manifest = self.gen_corpus(root, verify=False)
        for bc in manifest["bad_cases"]:
            label = "bad/%s" % bc["name"]
            if not self.results.wanted(label):
                continue
            path = os.path.join(root, bc["path"])
            fixed = os.path.join(root, bc["fixed_path"])
            drop = bc["undecided_group"]
            try:
                expected = dump_batch(env, [fixed], [(None, None)])[(None, None)]
            except RuntimeError as e:
                self.results.add(label + "/reference", False, str(e))
                continue

            rc, out, err = env.run([env.update, path])
            errs = err.decode("utf-8", "backslashreplace")
            self.results.add(label + "/update-exit-0", rc == 0,
                             "exit status %s\nstderr: %s" % (rc, short(err)))
            for w in bc["warn"]:
                pat = re.escape(w["tail"])
                if w["line"] is not None:
                    pat += r":%d(?!\d)" % w["line"]
                rx = re.compile(pat)
                found = any(rx.search(line) and "warning" in line.lower()
                            for line in errs.splitlines())
                what = w["tail"] + (":%d" % w["line"] if w["line"] is not None else "")
                self.results.add("%s/warning-names/%s" % (label, what), found,
                                 "no 'warning' line naming %s on stderr:\n%s" % (what, short(err)))
            q = (None, None)
            r = check_query(env, label + "/no-cache-rest-intact", [path], q, expected, True, drop)
            self.results.add(*r)
            r = check_status(env, label + "/status-fresh", [path], ["fresh"])
            self.results.add(*r)
            r = check_query(env, label + "/cached-rest-intact", [path], q, expected, False, drop)
            self.results.add(*r)


def main(argv):
    ap = argparse.ArgumentParser(description="epcache conformance test against importlib.metadata")
    ap.add_argument("--query", required=True, help="entrypoints-query binary")
    ap.add_argument("--update", required=True, help="update-entrypoints-cache binary")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="reference interpreter (default /usr/bin/python3)")
    ap.add_argument("--real", action="store_true",
                    help="also test a copy of %s" % REAL_SITE)
    ap.add_argument("--modes", default="mtime,strict,trust")
    ap.add_argument("--jobs", type=int, default=max(2, (os.cpu_count() or 1) * 2))
    ap.add_argument("--only", help="run only tests whose name matches this regex")
    ap.add_argument("--exclude", help="skip tests whose name matches this regex")
    ap.add_argument("--no-bad", action="store_true", help="skip the bad-corpus checks")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--min-checks", type=int, default=1,
                    help="fail when fewer checks than this ran (default 1)")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--tool-wrapper",
                    help="command to run both tools under, e.g. valgrind")
    args = ap.parse_args(argv)

    for tool in (args.query, args.update):
        if not os.access(tool, os.X_OK):
            print("run-conformance: %s is not executable" % tool, file=sys.stderr)
            return 2
    if not os.access(args.python, os.X_OK):
        print("run-conformance: reference python %s not found" % args.python, file=sys.stderr)
        return 2

    env = Env(args)
    results = Results(args.verbose, args.only, args.exclude)
    tmp = tempfile.mkdtemp(prefix="epcache-conformance-")
    suite = Suite(env, results, tmp, args)
    try:
        modes = [m for m in args.modes.split(",") if m]
        for i, mode in enumerate(modes):
            suite.run_mode(mode, first=(i == 0))
        if not args.no_bad:
            suite.run_bad()
    except RuntimeError as e:
        results.add("harness", False, str(e))
    finally:
        suite.pool.shutdown()
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    ran = results.passed + results.failed
    print("%d passed, %d failed, %d skipped" % (results.passed, results.failed,
                                                len(results.skipped)))
    if results.failed:
        return 1
    if ran < args.min_checks:
        # an --only that matches nothing, a corpus that lost its cases:
        # "0 passed, 0 failed" must not be green
        print("FAIL: %d checks ran, fewer than the floor of %d" % (ran, args.min_checks))
        return 1
    if results.skipped:
        print("skipped: %s" % ", ".join(results.skipped))
        return 1 if os.environ.get("CI") == "true" else 77
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
