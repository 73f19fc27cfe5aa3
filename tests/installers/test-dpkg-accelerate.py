#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""python3-epcache-accelerate with the real dpkg, in an alternate root:
installing it is the switch that puts the caches behind every program's
importlib.metadata.entry_points(), removing it the switch back.

Builds the Debian packages (packaging/build-deb, nocheck); in a fresh root
R (`dpkg --root=R --force-script-chrootless --force-not-root`, maintainer
scripts on this host with DPKG_ROOT=R) installs libepcache0,
update-entrypoints-cache, python3-epcache and python3-epcache-accelerate,
and a fixture package with entry points (the trigger caches it). Then
this host's /usr/bin/python3 starts with R's site directory as its user
site (PYTHONUSERBASE, so that site.py runs R's .pth at start-up as it
would R's own interpreter): importlib.metadata.entry_points() is the
accelerator's, answers from R's fresh cache (no entry_points.txt read)
and answers what importlib answers with EPCACHE_NO_ACCELERATE=1. Removing
python3-epcache-accelerate leaves nothing of it (no .pth, module or
compiled file) and importlib is its own again; purging the rest leaves
R's site directory empty.

test-dpkg-accelerate.py --source SRC --query Q --update U
"""
import os
import subprocess
import sys

from installer_test import (BASE, FIXTURE, check, check_accelerated, check_cache,
                            dist_files, main_of, must, probe, user_site, write_tree)

SITE = "usr/lib/python3/dist-packages"
PYVER = "%d.%d" % sys.version_info[:2]


def deb(tmp, name, version, files, arch="all", control_extra=""):
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
    main_of("dpkg-accelerate", test, ("dpkg", "dpkg-deb", "dpkg-buildpackage", "fakeroot", "dh",))


def test(a, tmp):
    debs = os.path.join(tmp, "debs")
    os.makedirs(debs)
    must([os.path.join(a.source, "packaging", "build-deb"), "--out", debs],
         "build-deb builds the packages", env={"DEB_BUILD_OPTIONS": "nocheck"})
    built = sorted(os.listdir(debs))
    ours = ("libepcache0", "update-entrypoints-cache", "python3-epcache",
            "python3-epcache-accelerate")
    for p in ours:
        check("%s was built" % p,
              any(f.startswith(p + "_") and f.endswith(".deb") for f in built), built)

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
    libdir = os.path.join(root, "usr/lib", multiarch)
    env = {"PATH": "%s/usr/sbin:%s/usr/bin:%s" % (root, root, os.environ["PATH"]),
           "LD_LIBRARY_PATH": libdir}
    dpkg = ["dpkg", "--root=" + root, "--force-script-chrootless", "--force-not-root"]

    deps = set()
    for p in ours:
        field = subprocess.run(["dpkg-deb", "-f", pkg(p), "Depends"],
                               text=True, capture_output=True).stdout
        for alt in field.replace("|", ",").split(","):
            name = alt.split()[0].split(":")[0] if alt.strip() else ""
            if name and name not in ours:
                deps.add(name)

    def host_version(name):
        # python3-epcache depends on this host's python3 minor version
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name],
                           text=True, capture_output=True)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "9999"
    host = deb(tmp, "epcache-test-host", "1.0",
               dict((os.path.join(SITE, k), v)
                    for k, v in dist_files("epbase", "1.0", BASE).items()),
               arch, "Multi-Arch: allowed\nProvides: %s\n"
               % ", ".join("%s (= %s)" % (d, host_version(d)) for d in sorted(deps)))
    # python3-epcache's postinst and prerm (dh_python3's) call py3compile
    # and py3clean, which know nothing of DPKG_ROOT: in the chrootless
    # mode they would work on this host's /usr/lib/python3. Stand-ins in
    # R/usr/bin (first on PATH) do what they do, below DPKG_ROOT.
    os.makedirs(os.path.join(root, "usr/bin"), exist_ok=True)
    for tool, action in (("py3compile", "/usr/bin/python3 -m py_compile"),
                         ("py3clean", "sh -c 'for f; do rm -f \"${f%/*}\"/__pycache__/\"$(basename \"$f\" .py)\".*.pyc; done' -")):
        with open(os.path.join(root, "usr/bin", tool), "w") as f:
            f.write("#!/bin/sh\n"
                    "# %s in dpkg's chrootless mode, below $DPKG_ROOT (the test's)\n"
                    "[ \"$1\" = -p ] || exit 0\n"
                    "list=$(ls \"$DPKG_ROOT\"/var/lib/dpkg/info/\"$2\".list "
                    "\"$DPKG_ROOT\"/var/lib/dpkg/info/\"$2\":*.list 2>/dev/null | head -n 1)\n"
                    "[ -n \"$list\" ] || exit 0\n"
                    "grep '\\.py$' \"$list\" | sed \"s|^|$DPKG_ROOT|\" | xargs -r %s\n"
                    % (tool, action))
        os.chmod(os.path.join(root, "usr/bin", tool), 0o755)
    must(dpkg + ["-i", host], "dpkg installs the host stub", env=env)
    must(dpkg + ["-i"] + [pkg(p) for p in ours],
         "dpkg installs %s" % ", ".join(ours), env=env)
    for f in ("epcache-accelerate.pth", "_epcache_accelerate.py",
              "__pycache__/_epcache_accelerate.cpython-%s.pyc" % PYVER.replace(".", "")):
        check("installed: %s" % f, os.path.isfile(os.path.join(site, f)), os.listdir(site))

    v1 = deb(tmp, "python3-epfixture", "1.0-1",
             dict((os.path.join(SITE, k), v)
                  for k, v in dist_files("epfixture", "1.0", FIXTURE).items()))
    out = must(dpkg + ["-i", v1], "dpkg installs the fixture", env=env)
    check("the trigger ran", "Processing triggers for update-entrypoints-cache" in out, out)
    check_cache(a.query, site, dict(BASE, **FIXTURE), "install")

    # R's site as this interpreter's user site: start-up runs its .pth
    userbase = user_site(tmp, site)
    lib = {"LD_LIBRARY_PATH": libdir}

    off = check_accelerated(userbase, lib, dict(BASE, **FIXTURE))

    must(dpkg + ["-r", "python3-epcache-accelerate"], "dpkg removes python3-epcache-accelerate",
         env=env)
    left = [f for f in ("epcache-accelerate.pth", "_epcache_accelerate.py")
            if os.path.lexists(os.path.join(site, f))]
    pyc = os.path.join(site, "__pycache__")
    if os.path.isdir(pyc):
        left += [f for f in os.listdir(pyc) if f.startswith("_epcache_accelerate.")]
    check("removed: nothing of the hook is left", not left, left)
    gone, out_gone = probe(userbase, lib)
    check("removed: importlib.metadata is its own again",
          gone is not None and gone[0] is False and gone[2] == off[2], out_gone)

    must(dpkg + ["-P", "python3-epfixture", "python3-epcache", "update-entrypoints-cache",
                 "libepcache0", "epcache-test-host"], "dpkg purges the rest", env=env)
    check("nothing of ours is left in the site directory", not os.path.lexists(site),
          os.listdir(site) if os.path.isdir(site) else "")


if __name__ == "__main__":
    main()
