#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The rpm file triggers, with the real rpm, in an alternate root.

Builds the RPM packages from packaging/rpm/epcache.spec (build-rpm,
--without check), then in a fresh root R with `rpm --root R --dbpath
/var/lib/rpm --nodeps` (scriptlets run chrooted into R):
  install a base package: this host's /bin/sh, C library, json-c, libyaml
      and ldconfig, with the ldconfig file trigger glibc has, and a
      distribution already in the watched site directory;
  install epcache and epcache-libs: %posttrans cached that distribution;
  install a fixture package dropping a .dist-info with entry points there:
      %transfiletriggerin ran, R's cache is fresh and holds them;
  upgrade it in place (same dist-info name, one more entry point): the
      cache holds the new one;
  erase the fixture (%transfiletriggerpostun): the cache no longer holds
      them;
  erase epcache: %preun removed the cache.

test-rpm.py --source SRC --query Q --update U
"""
import os
import shutil
import subprocess
import sys

from installer_test import (BASE, FIXTURE, FIXTURE_REV, check, check_cache,
                            copy_into_root, dist_files, finish, main_of, must, run)


def rpm_from_tree(tmp, name, version, release, files, arch="noarch",
                  scriptlets="", owned=None):
    """An rpm NAME-VERSION-RELEASE holding the host files or texts in files
    ({path in the package: host path or ("text", content)}); its %files
    list is owned (paths, directories with their contents), or files."""
    top = os.path.join(tmp, "rpmbuild-" + name)
    tree = os.path.join(top, "tree")
    for dest, src in files.items():
        path = os.path.join(tree, dest.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(src, tuple):
            with open(path, "w") as f:
                f.write(src[1])
        else:
            shutil.copy2(os.path.realpath(src), path)
    spec = os.path.join(top, name + ".spec")
    with open(spec, "w") as f:
        f.write("Name: %s\nVersion: %s\nRelease: %s\nLicense: MIT\n"
                "Summary: epcache installer test package\nBuildArch: %s\n"
                "AutoReqProv: no\n%%description\nTest package.\n"
                "%%install\ncp -a %s/. %%{buildroot}/\n%s\n%%files\n%s\n"
                % (name, version, release, arch, tree, scriptlets,
                   "\n".join("/" + d.lstrip("/") for d in owned or files)))
    must(["rpmbuild", "-bb", "--nodeps", "--define", "_topdir " + top,
          "--define", "__strip /bin/true", "--define", "debug_package %{nil}",
          spec], "rpmbuild builds %s %s-%s" % (name, version, release))
    out = os.path.join(top, "RPMS")
    return [os.path.join(dp, f) for dp, _, fs in os.walk(out) for f in fs][0]


def main():
    main_of("rpm", test, ("rpm", "rpmbuild"), root="rpm --root")


def test(a, tmp):
    rpms = os.path.join(tmp, "rpms")
    os.makedirs(rpms)
    must([os.path.join(a.source, "packaging", "build-rpm"), "--out", rpms,
          "--nodeps", "--without", "check"], "build-rpm builds the packages")
    built = sorted(os.listdir(rpms))

    def pkg(name):
        for f in built:
            if f.startswith(name + "-0") and f.endswith(".rpm"):
                return os.path.join(rpms, f)
        check("%s was built" % name, False, built)
        finish()

    tool, libs = pkg("epcache"), pkg("epcache-libs")
    pkg("epcache-devel")
    if os.path.isdir(os.path.join(a.source, "src", "python")):
        # byte-compiled in the package: its directory is root's, and
        # every user's import would compile epcache/*.py again
        rc, files = run(["rpm", "-qlp", pkg("python3-epcache")])
        tag = sys.implementation.cache_tag
        check("python3-epcache holds its byte code",
              rc == 0 and all("epcache/__pycache__/%s.%s.pyc" % (m, tag) in files
                              for m in ("__init__", "__main__", "_fallback", "_groups")),
              files)
    # The directory the file triggers watch, as built.
    rc, out = run(["rpm", "-qp", "--qf",
                   "[%{FILETRIGGERNAME} %{FILETRIGGERCONDS}\n]"
                   "[%{TRANSFILETRIGGERNAME} %{TRANSFILETRIGGERCONDS}\n]", tool])
    watched = sorted({w for line in out.splitlines() for w in line.split()[1:]
                      if w.startswith("/")})
    check("the file triggers watch a site-packages directory",
          rc == 0 and watched and all(w.endswith("/site-packages") for w in watched),
          out)
    if not watched:
        finish()
    site_in_root = watched[0]

    # The base system: what the tool and the scriptlets need to run in R,
    # and ldconfig run by a file trigger as glibc's does, so that R finds
    # /usr/lib64 (this host's ld.so does not search it by itself).
    root = os.path.join(tmp, "root")
    for d, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"),
                      ("lib64", "usr/lib64")):
        os.makedirs(os.path.join(root, target), exist_ok=True)
        os.symlink(target, os.path.join(root, d))
    hostfiles = {}
    stage = os.path.join(tmp, "stage")
    copy_into_root(stage, ["/bin/sh", "/sbin/ldconfig",
                           os.path.realpath(a.update)])
    for dp, _, fs in os.walk(stage):
        for f in fs:
            rel = os.path.relpath(os.path.join(dp, f), stage)
            if "libepcache" in f or f == os.path.basename(a.update):
                continue
            # usr-merged: /lib/x/y and /usr/lib/x/y are the same file
            if not rel.startswith("usr/"):
                rel = "usr/" + rel
            hostfiles["/" + rel] = os.path.join(dp, f)
    hostfiles["/etc/ld.so.conf"] = ("text", "/usr/lib64\n")
    for k, v in dist_files("epbase", "1.0", BASE).items():
        hostfiles[os.path.join(site_in_root, k)] = ("text", v)
    arch = subprocess.run(["rpm", "--eval", "%{_arch}"], text=True,
                          capture_output=True).stdout.strip()
    base = rpm_from_tree(tmp, "epcache-test-base", "1.0", "1", hostfiles, arch,
                         "%transfiletriggerin -P 2000000 -- /usr/lib64\n"
                         "/sbin/ldconfig\n")

    rpm = ["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--nodeps"]
    must(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb"],
         "rpm --initdb")
    must(rpm + ["-i", base], "rpm installs the base")
    site = os.path.join(root, site_in_root.lstrip("/"))

    out = must(rpm + ["-i", tool, libs], "rpm installs epcache and epcache-libs")
    check_cache(a.query, site, BASE, "after %posttrans")

    # Owned with their directories, as packages own a distribution's.
    fixture_dirs = [os.path.join(site_in_root, d)
                    for d in ("epfixture", "epfixture-1.0.dist-info")]
    v1 = rpm_from_tree(tmp, "python3-epfixture", "1.0", "1",
                       dict((os.path.join(site_in_root, k), ("text", v))
                            for k, v in dist_files("epfixture", "1.0",
                                                   FIXTURE).items()),
                       owned=fixture_dirs)
    out = must(rpm + ["-i", v1], "rpm installs the fixture")
    check_cache(a.query, site, dict(BASE, **FIXTURE), "install")

    v2 = rpm_from_tree(tmp, "python3-epfixture", "1.0", "2",
                       dict((os.path.join(site_in_root, k), ("text", v))
                            for k, v in dist_files("epfixture", "1.0",
                                                   FIXTURE_REV).items()),
                       owned=fixture_dirs)
    out = must(rpm + ["-U", v2], "rpm upgrades the fixture in place")
    check_cache(a.query, site, dict(BASE, **FIXTURE_REV), "in-place upgrade")

    out = must(rpm + ["-e", "python3-epfixture"], "rpm erases the fixture")
    check_cache(a.query, site, BASE, "erase")

    out = must(rpm + ["-e", "epcache", "epcache-libs"], "rpm erases epcache")
    check("erase: %preun removed the cache",
          not os.path.lexists(os.path.join(site, ".epcache")),
          os.listdir(site))


if __name__ == "__main__":
    main()
