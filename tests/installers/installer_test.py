# SPDX-License-Identifier: MIT
"""What the installer tests share: checks and their report, running
commands, the fixture distribution, asking the build's entrypoints-query
about a site directory, and a minimal root for installers that run hooks
chrooted.

Each test prints one line per check and ends with "N passed, M failed";
it exits 77 with a reason when the installer it drives is missing.
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

SKIP = 77
GROUP = "epcache.test"
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print("%s %s%s" % ("ok  " if ok else "FAIL", name,
                       "" if ok else "\n     " + str(detail).replace("\n", "\n     ")),
          flush=True)
    return ok


def skip(reason):
    print("SKIP: %s" % reason, flush=True)
    sys.exit(SKIP)


def need_programs(*names):
    for name in names:
        if not shutil.which(name):
            skip("%s is not installed" % name)


def need_root(what):
    if os.geteuid() != 0:
        skip("%s chroots into the test root to run its hooks, which needs "
             "root" % what)


def run(cmd, env=None, cwd=None, input=None):
    """Run cmd; return (status, stdout + stderr). env adds to the
    environment; a value of None removes the variable."""
    e = dict(os.environ, PKGSYSTEM_ENABLE_FSYNC="0", LC_ALL="C.UTF-8")
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    r = subprocess.run(cmd, env=e, cwd=cwd, input=input, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode, r.stdout


def must(cmd, what, **kw):
    """Run a step the rest depends on; stop the test if it fails."""
    rc, out = run(cmd, **kw)
    if not check(what, rc == 0, "%s\nexit %d\n%s" % (" ".join(cmd), rc, out)):
        finish()
    return out


def finish():
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    sys.exit(1 if failed else 0)


def args(extra=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="the source tree")
    ap.add_argument("--query", required=True, help="entrypoints-query")
    ap.add_argument("--update", required=True, help="update-entrypoints-cache")
    for a in extra or []:
        ap.add_argument(a, default=None)
    a = ap.parse_args()
    a.source = os.path.abspath(a.source)
    a.query = os.path.abspath(a.query)
    a.update = os.path.abspath(a.update)
    return a


def pip_env():
    """No pip configuration of this machine: no index, no find-links, no
    config files; only what a test asks for."""
    env = dict((k, None) for k in os.environ if k.startswith("PIP_"))
    env.update({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
                "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
                "PYTHONPATH": None})
    return env


def tmpdir(name):
    d = tempfile.mkdtemp(prefix="epcache-%s-" % name)
    os.chmod(d, 0o755)
    return d


def dist_files(name, version, eps):
    """The files of a distribution NAME-VERSION.dist-info with the entry
    points eps ({name: value}) in GROUP, relative to its site directory."""
    info = "%s-%s.dist-info" % (name, version)
    text = "[%s]\n%s" % (GROUP, "".join("%s = %s\n" % kv for kv in eps.items()))
    return {
        "%s/__init__.py" % name: "def main():\n    return 0\n",
        "%s/METADATA" % info: "Metadata-Version: 2.1\nName: %s\nVersion: %s\n\n"
        % (name, version),
        "%s/entry_points.txt" % info: text,
    }


def wheel(tmp, name, version, eps):
    """NAME-VERSION-py3-none-any.whl, written by hand: the dist-info of
    dist_files() plus WHEEL and RECORD."""
    files = dist_files(name, version, eps)
    info = "%s-%s.dist-info" % (name, version)
    files["%s/WHEEL" % info] = ("Wheel-Version: 1.0\nGenerator: epcache-tests\n"
                                "Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = ""
    for rel, text in files.items():
        digest = base64.urlsafe_b64encode(
            hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (rel, digest, len(text.encode()))
    files["%s/RECORD" % info] = record + "%s/RECORD,,\n" % info
    path = os.path.join(tmp, "%s-%s-py3-none-any.whl" % (name, version))
    with zipfile.ZipFile(path, "w") as z:
        for rel, text in sorted(files.items()):
            z.writestr(rel, text)
    return path


def write_tree(base, files):
    for rel, text in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def status(query, site):
    """(status, reason) the library gives the cache of site."""
    rc, out = run([query, "--status", "--format", "json", "--path", site])
    try:
        s = json.loads(out)[0]
        return s["status"], s["reason"]
    except (ValueError, IndexError, KeyError):
        return "error", "exit %d: %s" % (rc, out)


def names(query, site, group=GROUP, no_cache=False):
    """The names of the entry points of group in site, as the library
    answers (from the cache when it is fresh), sorted."""
    cmd = [query, "--format", "json", "--path", site, "--group", group]
    if no_cache:
        cmd.append("--no-cache")
    rc, out = run(cmd)
    try:
        return sorted(e["name"] for e in json.loads(out))
    except (ValueError, KeyError, TypeError):
        return ["error: exit %d: %s" % (rc, out)]


def cache_file(site):
    return os.path.join(site, ".epcache", "entry-points.json")


# The entry points (of GROUP) of the distributions the tests install: a
# fixture, its in-place revision (same dist-info name, one more entry
# point), and one already there before the tool.
FIXTURE = {"hello": "epfixture:main"}
FIXTURE_REV = {"hello": "epfixture:main", "second": "epfixture:second"}
BASE = {"base": "epbase:main"}
ALL_VALUES = set(FIXTURE_REV.values()) | set(BASE.values())


def cached_values(site):
    """Which of the test distributions' entry point values the cache file
    itself holds (not what a reader would answer), sorted."""
    try:
        with open(cache_file(site)) as f:
            text = f.read()
    except OSError as e:
        return "no cache: %s" % e.strerror
    return sorted(v for v in ALL_VALUES if v in text)


def check_cache(query, site, want, what):
    """site's cache is fresh, holds exactly the entry points want
    ({name: value}) of the test distributions, and the reader lists
    them, as a scan does."""
    st, reason = status(query, site)
    check("%s: cache fresh" % what, st == "fresh", "%s (%s)" % (st, reason))
    got = cached_values(site)
    check("%s: cache holds %s" % (what, sorted(want)),
          got == sorted(want.values()), "cache holds %s" % got)
    listed = names(query, site)
    scanned = names(query, site, no_cache=True)
    check("%s: lists %s, as a scan does" % (what, sorted(want)),
          listed == sorted(want) == scanned,
          "listed %s, scan %s" % (listed, scanned))


def copy_into_root(root, paths):
    """Copy host files (programs, with the shared libraries ldd lists for
    them) to the same places below root: the least a chroot needs to run
    a shell and the tool."""
    todo = list(paths)
    for p in paths:
        rc, out = run(["ldd", p])
        if rc != 0:
            continue
        for line in out.splitlines():
            parts = line.split()
            if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
                todo.append(parts[2])
            elif parts and parts[0].startswith("/"):
                todo.append(parts[0])
    for p in todo:
        dest = os.path.join(root, os.path.relpath(p, "/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.exists(dest):
            shutil.copy2(os.path.realpath(p), dest)
