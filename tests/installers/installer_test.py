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


# pacman: packages made here, the base a root needs, pacman in that root.

def pacman_pkg(tmp, name, version, tree, provides=()):
    """NAME-VERSION-any.pkg.tar.zst of the files below tree: a .PKGINFO
    first, then the files, as makepkg packs them."""
    with open(os.path.join(tree, ".PKGINFO"), "w") as f:
        f.write("pkgname = %s\npkgbase = %s\npkgver = %s\n"
                "pkgdesc = epcache installer test package\narch = any\n"
                "size = 1\n%s" % (name, name, version,
                                  "".join("provides = %s\n" % p for p in provides)))
    entries = sorted(os.path.relpath(os.path.join(dp, n), tree)
                     for dp, ds, fs in os.walk(tree) for n in ds + fs
                     if n != ".PKGINFO" or dp != tree)
    path = os.path.join(tmp, "%s-%s-any.pkg.tar.zst" % (name, version))
    must(["tar", "--zstd", "-c", "--owner=0", "--group=0", "--numeric-owner",
          "--no-recursion", "-C", tree, "-f", path, ".PKGINFO"] + entries,
         "pack %s %s" % (name, version))
    return path


def pacman_built(pkgs):
    """{pkgname: path} of the NAME-PKGVER-PKGREL-ARCH.pkg.tar.zst in pkgs
    (names have dashes, versions and arch do not)."""
    return dict((f.rsplit("-", 3)[0], os.path.join(pkgs, f))
                for f in os.listdir(pkgs)
                if f.endswith(".pkg.tar.zst") and f.count("-") >= 3)


def pacman_pkginfo(pkg, key):
    """The values of key (depend, pkgbase...) in pkg's .PKGINFO."""
    rc, text = run(["tar", "--zstd", "-xOf", pkg, ".PKGINFO"])
    return [line.split("=", 1)[1].strip() for line in text.splitlines()
            if line.startswith(key + " =")]


def pacman_base(tmp, update, site, provides):
    """The package a root starts from: what the hooks need chrooted in it
    (this host's /bin/sh, the libraries of the tool update), providing
    provides, with the distribution epbase (BASE) already in site
    (relative to the root)."""
    base = os.path.join(tmp, "base")
    for d, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        os.makedirs(os.path.join(base, target), exist_ok=True)
        os.symlink(target, os.path.join(base, d))
    os.makedirs(os.path.join(base, "tmp"))
    stage = os.path.join(tmp, "stage")
    copy_into_root(stage, ["/bin/sh", os.path.realpath(update)])
    for dp, _, fs in os.walk(stage):
        for f in fs:
            rel = os.path.relpath(os.path.join(dp, f), stage)
            if "libepcache" in f or f == os.path.basename(update):
                continue
            dest = os.path.join(base, rel if rel.startswith("usr/") else "usr/" + rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(os.path.join(dp, f), dest)
    write_tree(os.path.join(base, site), dist_files("epbase", "1.0", BASE))
    return pacman_pkg(tmp, "epcache-test-base", "1.0-1", base, provides)


def pacman_root(tmp):
    """(R, the pacman command working on the empty root R): its database,
    hooks, cache and log in R or tmp, no signatures."""
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "var/lib/pacman"))
    conf = os.path.join(tmp, "pacman.conf")
    with open(conf, "w") as f:
        f.write("[options]\nArchitecture = auto\nSigLevel = Never\n"
                "LocalFileSigLevel = Never\n")
    return root, ["pacman", "--root", root, "--dbpath",
                  os.path.join(root, "var/lib/pacman"), "--config", conf,
                  "--hookdir", os.path.join(root, "usr/share/libalpm/hooks"),
                  "--cachedir", os.path.join(tmp, "cache"), "--logfile",
                  os.path.join(tmp, "pacman.log"), "--noconfirm", "--noprogressbar"]


# The accelerator, installed in a root R, seen by this host's interpreter.
# What the probe prints: whether the accelerator is behind importlib, how
# many entry_points.txt importlib's PathDistribution read, and the answer.
HOST_PY = "/usr/bin/python3"
PROBE = r'''
import importlib.metadata as md, json, sys
sys.path[:] = [p for p in sys.path if p.startswith(sys.argv[2])]  # R's site only
reads = []
orig = md.PathDistribution.read_text
md.PathDistribution.read_text = lambda self, n: (reads.append(n), orig(self, n))[1]
eps = md.entry_points(group=sys.argv[1])
print(json.dumps([getattr(md.entry_points, "_epcache_accelerated", False),
                  reads.count("entry_points.txt"),
                  [[type(e).__name__, e.name, e.value, type(e.dist).__name__,
                    str(e.dist._path)] for e in eps]]))
'''


def user_site(tmp, site):
    """A PYTHONUSERBASE whose user site (of HOST_PY) is site: start-up
    runs site's .pth files there as R's own interpreter would."""
    rc, ver = run([HOST_PY, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    userbase = os.path.join(tmp, "userbase")
    os.makedirs(os.path.join(userbase, "lib", "python" + ver.strip()))
    os.symlink(site, os.path.join(userbase, "lib", "python" + ver.strip(),
                                  "site-packages"))
    return userbase


def probe(userbase, env):
    """(PROBE's answer or None, its output) with R's site as HOST_PY's user
    site and nothing else on sys.path; env adds to the environment."""
    e = {"PYTHONUSERBASE": userbase, "EPCACHE_NO_WRITE": "1", "PYTHONPATH": None,
         "PYTHONDONTWRITEBYTECODE": "1"}
    e.update(env)
    rc, out = run([HOST_PY, "-c", PROBE, GROUP, userbase], env=e)
    try:
        return json.loads(out.splitlines()[-1]), out
    except (ValueError, IndexError):
        return None, out


def check_accelerated(userbase, lib, want):
    """The installed hook answers HOST_PY's importlib.metadata from R's
    cache (no entry_points.txt read) with importlib's own answer, which
    holds the @want entry points; EPCACHE_NO_ACCELERATE=1 gives importlib
    back. Returns importlib's own answer."""
    on, out_on = probe(userbase, lib)
    off, out_off = probe(userbase, dict(lib, EPCACHE_NO_ACCELERATE="1"))
    check("installed: importlib.metadata.entry_points() is the accelerator's",
          on is not None and on[0] is True, out_on)
    check("installed: answered from R's cache, no entry_points.txt read",
          on is not None and on[1] == 0, out_on)
    check("installed: the fixture's entry points, as importlib's",
          on is not None and off is not None and on[2] == off[2]
          and len(on[2]) == len(want), "%s\n%s" % (out_on, out_off))
    check("EPCACHE_NO_ACCELERATE=1: importlib's own",
          off is not None and off[0] is False and off[1] > 0, out_off)
    return off


def main_of(name, test, programs=(), root=None, extra_args=None):
    """An installer test's main(): its programs (and root, for @root)
    or a skip, a temporary directory for test(args, tmp), the last line."""
    a = args(extra_args)
    need_programs(*programs)
    if root:
        need_root(root)
    tmp = tmpdir(name)
    try:
        test(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()
