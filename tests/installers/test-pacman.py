#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The alpm hooks, with the real pacman, in an alternate root.

Builds the package from packaging/arch/PKGBUILD (build-pkg, --nocheck:
makepkg is not in Debian), then in a fresh root R with `pacman --root R
--dbpath R/var/lib/pacman --hookdir R/usr/share/libalpm/hooks` (hooks run
chrooted into R):
  install a base package providing glibc, json-c, libyaml and python: this
      host's /bin/sh and the libraries the tool needs, and a distribution
      already in R/usr/lib/python3.X/site-packages;
  install epcache: its post_install cached that distribution;
  install a fixture package dropping a .dist-info with entry points there:
      the hook ran, R's cache is fresh and holds them (and the one that was
      there before);
  upgrade it in place (same dist-info name, one more entry point): the
      cache holds the new one;
  remove the fixture: the cache no longer holds them;
  remove epcache: its PreTransaction hook removed the cache.

test-pacman.py --source SRC --query Q --update U
"""
import os
import shutil
import sys

from installer_test import (BASE, FIXTURE, FIXTURE_REV, args, check,
                            check_cache, copy_into_root, dist_files, finish,
                            must, need_programs, need_root, run, tmpdir,
                            write_tree)

PYVER = "%d.%d" % sys.version_info[:2]
SITE = "usr/lib/python%s/site-packages" % PYVER


def pkg_from_tree(tmp, name, version, tree, provides=()):
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


def main():
    a = args()
    need_programs("pacman", "zstd")
    need_root("pacman")
    tmp = tmpdir("pacman")
    try:
        test(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


def test(a, tmp):
    pkgs = os.path.join(tmp, "pkgs")
    os.makedirs(pkgs)
    must([os.path.join(a.source, "packaging", "arch", "build-pkg"), "--out", pkgs,
          "--nocheck"], "build-pkg builds the package")
    built = [f for f in os.listdir(pkgs) if f.endswith(".pkg.tar.zst")]
    check("epcache was built", len(built) == 1, built)
    if len(built) != 1:
        finish()
    tool = os.path.join(pkgs, built[0])
    # byte-compiled in the package (compileall in the PKGBUILD)
    rc, files = run(["tar", "--zstd", "-tf", tool])
    check("the package holds the module's byte code",
          rc == 0 and "epcache/__pycache__/__init__.%s.pyc" % sys.implementation.cache_tag
          in files, files)
    rc, pkginfo = run(["tar", "--zstd", "-xOf", tool, ".PKGINFO"])
    depends = [line.split("=", 1)[1].strip() for line in pkginfo.splitlines()
               if line.startswith("depend =")]
    check("the package has its hooks",
          all(h in run(["tar", "--zstd", "-tf", tool])[1]
              for h in ("usr/share/libalpm/hooks/epcache.hook",
                        "usr/share/libalpm/hooks/epcache-remove.hook")))

    # The base: what the hooks need in R (a shell; the tool's libraries),
    # providing what the package depends on.
    base = os.path.join(tmp, "base")
    for d, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        os.makedirs(os.path.join(base, target), exist_ok=True)
        os.symlink(target, os.path.join(base, d))
    os.makedirs(os.path.join(base, "tmp"))
    stage = os.path.join(tmp, "stage")
    copy_into_root(stage, ["/bin/sh", os.path.realpath(a.update)])
    for dp, _, fs in os.walk(stage):
        for f in fs:
            rel = os.path.relpath(os.path.join(dp, f), stage)
            if "libepcache" in f or f == os.path.basename(a.update):
                continue
            dest = os.path.join(base, rel if rel.startswith("usr/") else "usr/" + rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(os.path.join(dp, f), dest)
    write_tree(os.path.join(base, SITE), dist_files("epbase", "1.0", BASE))
    base_pkg = pkg_from_tree(tmp, "epcache-test-base", "1.0-1", base, depends)

    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "var/lib/pacman"))
    conf = os.path.join(tmp, "pacman.conf")
    with open(conf, "w") as f:
        f.write("[options]\nArchitecture = auto\nSigLevel = Never\n"
                "LocalFileSigLevel = Never\n")
    pacman = ["pacman", "--root", root, "--dbpath",
              os.path.join(root, "var/lib/pacman"), "--config", conf,
              "--hookdir", os.path.join(root, "usr/share/libalpm/hooks"),
              "--cachedir", os.path.join(tmp, "cache"), "--logfile",
              os.path.join(tmp, "pacman.log"), "--noconfirm", "--noprogressbar"]
    site = os.path.join(root, SITE)

    must(pacman + ["-U", base_pkg], "pacman installs the base")
    must(pacman + ["-U", tool], "pacman installs epcache")
    check_cache(a.query, site, BASE, "after post_install")

    fx = os.path.join(tmp, "fixture-1")
    write_tree(os.path.join(fx, SITE), dist_files("epfixture", "1.0", FIXTURE))
    out = must(pacman + ["-U", pkg_from_tree(tmp, "python-epfixture", "1.0-1", fx)],
               "pacman installs the fixture")
    check("install: the hook ran",
          "Updating Python entry point caches" in out, out)
    check_cache(a.query, site, dict(BASE, **FIXTURE), "install")

    fx = os.path.join(tmp, "fixture-2")
    write_tree(os.path.join(fx, SITE), dist_files("epfixture", "1.0", FIXTURE_REV))
    out = must(pacman + ["-U", pkg_from_tree(tmp, "python-epfixture", "1.0-2", fx)],
               "pacman upgrades the fixture in place")
    check("upgrade: the hook ran",
          "Updating Python entry point caches" in out, out)
    check_cache(a.query, site, dict(BASE, **FIXTURE_REV), "in-place upgrade")

    out = must(pacman + ["-R", "python-epfixture"], "pacman removes the fixture")
    check("remove: the hook ran",
          "Updating Python entry point caches" in out, out)
    check_cache(a.query, site, BASE, "remove")

    out = must(pacman + ["-R", "epcache"], "pacman removes epcache")
    check("remove: the hook ran", "Removing Python entry point caches" in out, out)
    check("remove epcache: the cache is gone",
          not os.path.lexists(os.path.join(site, ".epcache")),
          os.listdir(site))


if __name__ == "__main__":
    main()
