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
import sys

from installer_test import (BASE, FIXTURE, FIXTURE_REV, check, check_cache, dist_files,
                            finish, main_of, must, pacman_base, pacman_built,
                            pacman_pkg, pacman_pkginfo, pacman_root, run, write_tree)

PYVER = "%d.%d" % sys.version_info[:2]
SITE = "usr/lib/python%s/site-packages" % PYVER


def main():
    main_of("pacman", test, ("pacman", "zstd"), root="pacman")


def test(a, tmp):
    pkgs = os.path.join(tmp, "pkgs")
    os.makedirs(pkgs)
    must([os.path.join(a.source, "packaging", "arch", "build-pkg"), "--out", pkgs,
          "--nocheck"], "build-pkg builds the packages")
    built = pacman_built(pkgs)
    # split: the accelerator is a package of its own (test-pacman-accelerate.py)
    check("epcache and python-epcache-accelerate were built",
          sorted(built) == ["epcache", "python-epcache-accelerate"], built)
    if "epcache" not in built:
        finish()
    tool = built["epcache"]
    # byte-compiled in the package (compileall in the PKGBUILD)
    rc, files = run(["tar", "--zstd", "-tf", tool])
    check("the package holds the module's byte code",
          rc == 0 and "epcache/__pycache__/__init__.%s.pyc" % sys.implementation.cache_tag
          in files, files)
    check("the package has its hooks",
          all(h in files for h in ("usr/share/libalpm/hooks/epcache.hook",
                                   "usr/share/libalpm/hooks/epcache-remove.hook")))
    depends = pacman_pkginfo(tool, "depend")

    # The base: what the hooks need in R (a shell; the tool's libraries),
    # providing what the package depends on.
    base_pkg = pacman_base(tmp, a.update, SITE, depends)
    root, pacman = pacman_root(tmp)
    site = os.path.join(root, SITE)

    must(pacman + ["-U", base_pkg], "pacman installs the base")
    must(pacman + ["-U", tool], "pacman installs epcache")
    check_cache(a.query, site, BASE, "after post_install")

    fx = os.path.join(tmp, "fixture-1")
    write_tree(os.path.join(fx, SITE), dist_files("epfixture", "1.0", FIXTURE))
    out = must(pacman + ["-U", pacman_pkg(tmp, "python-epfixture", "1.0-1", fx)],
               "pacman installs the fixture")
    check("install: the hook ran",
          "Updating Python entry point caches" in out, out)
    check_cache(a.query, site, dict(BASE, **FIXTURE), "install")

    fx = os.path.join(tmp, "fixture-2")
    write_tree(os.path.join(fx, SITE), dist_files("epfixture", "1.0", FIXTURE_REV))
    out = must(pacman + ["-U", pacman_pkg(tmp, "python-epfixture", "1.0-2", fx)],
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
