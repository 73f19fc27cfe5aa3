#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""python-epcache-accelerate with the real pacman, in an alternate root:
installing it is the switch that puts the caches behind every program's
importlib.metadata.entry_points(), removing it the switch back.

Builds the split package (build-pkg, --nocheck: epcache and
python-epcache-accelerate from one PKGBUILD), then in a fresh root R as
test-pacman.py does (hooks chrooted into R): the accelerator alone is
refused (it depends on epcache); epcache and python-epcache-accelerate
install together, the .pth, the hook module and its byte code are in R's
site-packages and the accelerator's (pacman -Qo), none of them epcache's
(pacman -Ql); a fixture package with entry points is cached by the alpm
hook. Then this host's /usr/bin/python3 starts with R's site-packages as
its user site (PYTHONUSERBASE, so that site.py runs R's .pth at start-up,
as test-dpkg-accelerate.py does): it loads the shipped byte code, and
importlib.metadata.entry_points() is the accelerator's, answers from R's
fresh cache (no entry_points.txt read) and answers what importlib answers
with EPCACHE_NO_ACCELERATE=1. Removing python-epcache-accelerate leaves
nothing of the hook (no .pth, module or byte code), epcache stays, and
importlib is its own again.

test-pacman-accelerate.py --source SRC --query Q --update U
"""
import os

from installer_test import (BASE, FIXTURE, HOST_PY, check, check_accelerated,
                            check_cache, dist_files, finish, main_of, must, pacman_base,
                            pacman_built, pacman_pkg, pacman_pkginfo, pacman_root,
                            probe, run, user_site, write_tree)

ACCEL = "python-epcache-accelerate"


def main():
    main_of("pacman-accelerate", test, ("pacman", "zstd"), root="pacman")


def test(a, tmp):
    # The package is built for this interpreter: its site directory and
    # the name of its byte code.
    rc, out = run([HOST_PY, "-c", "import sys; print('%d.%d' % sys.version_info[:2], "
                   "sys.implementation.cache_tag)"])
    pyver, tag = out.split()
    rel = "usr/lib/python%s/site-packages" % pyver
    hook = ("epcache-accelerate.pth", "_epcache_accelerate.py",
            "__pycache__/_epcache_accelerate.%s.pyc" % tag)

    pkgs = os.path.join(tmp, "pkgs")
    os.makedirs(pkgs)
    must([os.path.join(a.source, "packaging", "arch", "build-pkg"), "--out", pkgs,
          "--nocheck"], "build-pkg builds the packages")
    built = pacman_built(pkgs)
    for p in ("epcache", ACCEL):
        check("%s was built" % p, p in built, sorted(os.listdir(pkgs)))
    if not all(p in built for p in ("epcache", ACCEL)):
        finish()
    check("%s: one PKGBUILD (pkgbase epcache)" % ACCEL,
          pacman_pkginfo(built[ACCEL], "pkgbase") == ["epcache"],
          pacman_pkginfo(built[ACCEL], "pkgbase"))
    # what package_epcache() sets is epcache's alone
    rc, files = run(["tar", "--zstd", "-tf", built[ACCEL]])
    check("%s has no scriptlet and no backup of its own" % ACCEL,
          rc == 0 and ".INSTALL" not in files.split()
          and not pacman_pkginfo(built[ACCEL], "backup")
          and pacman_pkginfo(built["epcache"], "backup"), files)
    accel_deps = pacman_pkginfo(built[ACCEL], "depend")
    check("%s depends on epcache of its version" % ACCEL,
          any(d.startswith("epcache=") for d in accel_deps), accel_deps)

    depends = set(pacman_pkginfo(built["epcache"], "depend"))
    depends |= set(d for d in accel_deps if not d.startswith("epcache"))
    base_pkg = pacman_base(tmp, a.update, rel, sorted(depends))
    root, pacman = pacman_root(tmp)
    site = os.path.join(root, rel)
    # the same database, without the options only transactions take
    query = [o for o in pacman if o not in ("--noconfirm", "--noprogressbar")]
    must(pacman + ["-U", base_pkg], "pacman installs the base")

    rc, out = run(pacman + ["-U", built[ACCEL]])
    check("%s alone is refused: it needs epcache" % ACCEL,
          rc != 0 and "epcache" in out and not os.path.lexists(
              os.path.join(site, hook[0])), "exit %d\n%s" % (rc, out))

    must(pacman + ["-U", built["epcache"], built[ACCEL]],
         "pacman installs epcache and %s" % ACCEL)
    for f in hook:
        path = os.path.join(site, f)
        check("installed: %s" % f, os.path.isfile(path), os.listdir(site))
        rc, out = run(query + ["-Qqo", path])
        check("installed: %s is %s's" % (f, ACCEL),
              rc == 0 and out.split() == [ACCEL], "exit %d\n%s" % (rc, out))
    rc, out = run(query + ["-Qlq", "epcache"])
    owned = [line for line in out.splitlines()
             if line.rstrip("/").endswith(tuple("/" + f for f in hook))]
    check("epcache owns none of the hook's files",
          rc == 0 and "/epcache/__init__.py" in out and not owned,
          "exit %d, owns %s\n%s" % (rc, owned, out))

    fx = os.path.join(tmp, "fixture")
    write_tree(os.path.join(fx, rel), dist_files("epfixture", "1.0", FIXTURE))
    out = must(pacman + ["-U", pacman_pkg(tmp, "python-epfixture", "1.0-1", fx)],
               "pacman installs the fixture")
    check("the hook ran", "Updating Python entry point caches" in out, out)
    check_cache(a.query, site, dict(BASE, **FIXTURE), "install")

    # R's site as this interpreter's user site: start-up runs its .pth
    userbase = user_site(tmp, site)
    lib = {"LD_LIBRARY_PATH": os.path.join(root, "usr/lib")}
    rc, out = run([HOST_PY, "-v", "-c", "pass"],
                  env=dict(lib, PYTHONUSERBASE=userbase, PYTHONPATH=None,
                           PYTHONDONTWRITEBYTECODE="1"))
    check("installed: start-up runs the hook from its shipped byte code",
          "code object from '%s'" % os.path.join(userbase, "lib", "python" + pyver,
                                                 "site-packages", hook[2]) in out,
          "\n".join(line for line in out.splitlines() if "_epcache_accelerate" in line))

    off = check_accelerated(userbase, lib, dict(BASE, **FIXTURE))

    must(pacman + ["-R", ACCEL], "pacman removes %s" % ACCEL)
    left = [f for f in hook[:2] if os.path.lexists(os.path.join(site, f))]
    pyc = os.path.join(site, "__pycache__")
    if os.path.isdir(pyc):
        left += [f for f in os.listdir(pyc) if f.startswith("_epcache_accelerate.")]
    check("removed: nothing of the hook is left", not left, left)
    rc, out = run(query + ["-Qq", "epcache"])
    check("removed: epcache stays",
          rc == 0 and out.split() == ["epcache"]
          and os.path.isfile(os.path.join(site, "epcache", "__init__.py")),
          "exit %d\n%s" % (rc, out))
    gone, out_gone = probe(userbase, lib)
    check("removed: importlib.metadata is its own again",
          gone is not None and off is not None and gone[0] is False
          and gone[2] == off[2], out_gone)


if __name__ == "__main__":
    main()
