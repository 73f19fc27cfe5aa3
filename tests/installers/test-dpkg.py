#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The dpkg trigger, with the real dpkg, in an alternate root.

Builds the Debian packages (packaging/build-deb, nocheck), then in a fresh
root R, with `dpkg --root=R --force-script-chrootless --force-not-root`
(maintainer scripts run on this host with DPKG_ROOT=R, calling the
packaged tool):
  install libepcache0 and update-entrypoints-cache: configure cached the
      distribution already in R's site directory;
  install a fixture package dropping a .dist-info with entry points: the
      trigger ran, R's cache is fresh and holds them;
  upgrade it in place (same dist-info name, one more entry point): the
      trigger rebuilt the cache, which holds the new one;
  remove the fixture: the cache no longer holds them;
  remove the tool: prerm removed the cache;
  purge it: postrm removes a cache left behind.

test-dpkg.py --source SRC --query Q --update U
"""
import os
import subprocess
import sys

from installer_test import (BASE, FIXTURE, FIXTURE_REV, check, check_cache, dist_files,
                            main_of, must, run, write_tree)

SITE = "usr/lib/python3/dist-packages"


def deb(tmp, name, version, files, arch="all", control_extra=""):
    """A binary package holding files (relative to the root)."""
    top = os.path.join(tmp, "%s-%s" % (name, version))
    write_tree(top, files)
    os.makedirs(os.path.join(top, "DEBIAN"), exist_ok=True)
    with open(os.path.join(top, "DEBIAN", "control"), "w") as f:
        f.write("Package: %s\nVersion: %s\nArchitecture: %s\n"
                "Maintainer: epcache tests <dev@epcache.invalid>\n%s"
                "Description: epcache installer test package\n"
                % (name, version, arch, control_extra))
    path = top + ".deb"
    must(["dpkg-deb", "--root-owner-group", "-b", top, path],
         "dpkg-deb builds %s %s" % (name, version))
    return path


def main():
    main_of("dpkg", test, ("dpkg", "dpkg-deb", "dpkg-buildpackage", "fakeroot", "dh",))


def check_python_deb(deb):
    """python3-epcache as dh_python3 makes it: no byte code in the .deb,
    py3compile in postinst and py3clean in prerm (compiled where it is
    installed, as root), and a dependency on the exact python3 version
    its extension was built for."""
    rc, files = run(["dpkg-deb", "-c", deb])
    check("python3-epcache ships no byte code",
          rc == 0 and "epcache/__init__.py" in files and
          "__pycache__" not in files and ".pyc" not in files, files)
    rc, postinst = run(["dpkg-deb", "-I", deb, "postinst"])
    check("python3-epcache's postinst byte-compiles it",
          rc == 0 and "py3compile -p python3-epcache" in postinst, postinst)
    rc, prerm = run(["dpkg-deb", "-I", deb, "prerm"])
    check("python3-epcache's prerm removes the byte code",
          rc == 0 and "py3clean -p python3-epcache" in prerm, prerm)
    rc, depends = run(["dpkg-deb", "-f", deb, "Depends"])
    major, minor = sys.version_info[:2]
    want = ["python3 (>= %d.%d~)" % (major, minor), "python3 (<< %d.%d)" % (major, minor + 1)]
    check("python3-epcache depends on python3 %d.%d exactly" % (major, minor),
          rc == 0 and all(w in depends for w in want), depends)


def test(a, tmp):
    debs = os.path.join(tmp, "debs")
    os.makedirs(debs)
    must([os.path.join(a.source, "packaging", "build-deb"), "--out", debs],
         "build-deb builds the packages",
         env={"DEB_BUILD_OPTIONS": "nocheck"})
    built = sorted(os.listdir(debs))
    want = ["update-entrypoints-cache", "libepcache0", "libepcache-dev"]
    if os.path.isdir(os.path.join(a.source, "src", "python")):
        want.append("python3-epcache")
    for pkg in want:
        check("%s was built" % pkg,
              any(f.startswith(pkg + "_") and f.endswith(".deb") for f in built),
              built)

    if "python3-epcache" in want:
        check_python_deb(os.path.join(debs, next(
            f for f in built if f.startswith("python3-epcache_") and f.endswith(".deb"))))

    def pkg(name):
        return os.path.join(debs, next(f for f in built
                                       if f.startswith(name + "_") and f.endswith(".deb")))

    arch = subprocess.run(["dpkg", "--print-architecture"], text=True,
                          capture_output=True).stdout.strip()
    multiarch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"],
                               text=True, capture_output=True).stdout.strip()
    root = os.path.join(tmp, "root")
    for d in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(root, "var/lib/dpkg", d))
    for f in ("status", "available"):
        open(os.path.join(root, "var/lib/dpkg", f), "w").close()
    site = os.path.join(root, SITE)

    # Chrootless maintainer scripts run this host's programs: the packaged
    # tool, from R, with R's libepcache; and their dependencies are this
    # host's, which a stub package tells R's dpkg about.
    env = {"PATH": "%s/usr/sbin:%s/usr/bin:%s" % (root, root, os.environ["PATH"]),
           "LD_LIBRARY_PATH": os.path.join(root, "usr/lib", multiarch)}
    dpkg = ["dpkg", "--root=" + root, "--force-script-chrootless",
            "--force-not-root"]

    # The packages' dependencies outside epcache, as this host has them.
    ours = ("libepcache0", "update-entrypoints-cache")
    deps = set()
    for p in ours:
        field = subprocess.run(["dpkg-deb", "-f", pkg(p), "Depends"],
                               text=True, capture_output=True).stdout
        for alt in field.replace("|", ",").split(","):
            name = alt.split()[0].split(":")[0] if alt.strip() else ""
            if name and name not in ours:
                deps.add(name)
    def host_version(name):
        # this host's version, epoch included (zlib1g's is 1:): what the
        # packages' versioned dependencies were computed against
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name],
                           text=True, capture_output=True)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "9999"
    host = deb(tmp, "epcache-test-host", "1.0",
               dict((os.path.join(SITE, k), v)
                    for k, v in dist_files("epbase", "1.0", BASE).items()),
               arch, "Multi-Arch: allowed\nProvides: %s\n"
               % ", ".join("%s (= %s)" % (d, host_version(d)) for d in sorted(deps)))
    must(dpkg + ["-i", host], "dpkg installs the host stub", env=env)

    out = must(dpkg + ["-i", pkg("libepcache0"), pkg("update-entrypoints-cache")],
               "dpkg installs libepcache0 and update-entrypoints-cache", env=env)
    check("configure reported no failure", "not written" not in out, out)
    check_cache(a.query, site, BASE, "after configure")
    with open(os.path.join(root, "var/lib/dpkg/triggers/File")) as f:
        interests = f.read()
    check("the trigger interest is registered",
          "/usr/lib/python3/dist-packages update-entrypoints-cache/noawait"
          in interests, interests)

    v1 = deb(tmp, "python3-epfixture", "1.0-1",
             dict((os.path.join(SITE, k), v)
                  for k, v in dist_files("epfixture", "1.0", FIXTURE).items()))
    out = must(dpkg + ["-i", v1], "dpkg installs the fixture", env=env)
    check("install: the trigger ran",
          "Processing triggers for update-entrypoints-cache" in out, out)
    check_cache(a.query, site, dict(BASE, **FIXTURE), "install")

    v2 = deb(tmp, "python3-epfixture", "1.0-2",
             dict((os.path.join(SITE, k), v)
                  for k, v in dist_files("epfixture", "1.0", FIXTURE_REV).items()))
    out = must(dpkg + ["-i", v2], "dpkg upgrades the fixture in place", env=env)
    check("upgrade: the trigger ran",
          "Processing triggers for update-entrypoints-cache" in out, out)
    check_cache(a.query, site, dict(BASE, **FIXTURE_REV), "in-place upgrade")

    out = must(dpkg + ["-r", "python3-epfixture"], "dpkg removes the fixture",
               env=env)
    check("remove: the trigger ran",
          "Processing triggers for update-entrypoints-cache" in out, out)
    check_cache(a.query, site, BASE, "remove")

    must(dpkg + ["-r", "update-entrypoints-cache"], "dpkg removes the tool",
         env=env)
    check("remove: prerm removed the cache",
          not os.path.lexists(os.path.join(site, ".epcache")),
          os.listdir(site))

    # A cache the tool can no longer remove (written after prerm, say):
    # purge removes it by hand.
    run([a.update, site])
    must(dpkg + ["-P", "update-entrypoints-cache"], "dpkg purges the tool",
         env=env)
    check("purge: postrm removed the cache",
          not os.path.lexists(os.path.join(site, ".epcache")),
          os.listdir(site))
    rc, out = run(dpkg + ["-P", "libepcache0", "epcache-test-host"], env=env)
    check("nothing of ours is left in the site directory",
          rc == 0 and not os.path.lexists(site), out)


if __name__ == "__main__":
    main()
