#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A rebuild that cannot write: disk full, no inodes, EACCES, EROFS.

    fs-errors.py --query BUILD/src/entrypoints-query \
                 --update BUILD/src/update-entrypoints-cache

Needs root (mounts); runs itself in a private mount namespace (unshare -m),
so that no mount outlives it even if it is killed, and unmounts anyway.
Exit 77 (skip) when not root or mounts are not allowed.

In each case the site already has a cache and then changes (a distribution
is installed), so a rebuild has something new to write; the rebuild must
then exit 2 with a message naming the directory and the reason, leave the
previous cache byte-identical, leave no temp file, and readers must still
answer as a live scan (status stale).  After the cause is removed, the next
rebuild must succeed.

  disk-full      a 512 KiB tmpfs filled to the last byte by a filler file
  no-inodes      a tmpfs whose inodes are all used (nr_inodes)
  eacces         the cache directory is root's, the rebuild runs as uid 65534
  eacces-new     no cache yet and a site root owns, rebuilt by uid 65534
  erofs-remount  the tmpfs remounted read-only
  erofs-bind     a read-only bind mount of a site directory on the disk

Prints one line per case and "N passed, M failed".
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

NOBODY = 65534

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reachable import Reachable  # noqa: E402



def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def make_dist(parent, i):
    d = os.path.join(parent, "fs%03d-1.0.dist-info" % i)
    os.mkdir(d)
    write(os.path.join(d, "METADATA"), "Metadata-Version: 2.1\nName: fs%03d\nVersion: 1.0\n" % i)
    write(os.path.join(d, "entry_points.txt"), "[fs]\nf%03d = fs.m:f%03d\n" % (i, i))


class T:
    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ)
        self.reachable = Reachable()
        self.env["PKGSYSTEM_ENABLE_FSYNC"] = "1"
        self.passed = self.failed = 0
        self.mounts = []

    def sh(self, *cmd):
        subprocess.run(cmd, check=True, capture_output=True)

    def mount_tmpfs(self, where, opts):
        os.makedirs(where, exist_ok=True)
        self.sh("mount", "-t", "tmpfs", "-o", opts, "tmpfs", where)
        self.mounts.append(where)
        os.chmod(where, 0o755)

    def umount_all(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], capture_output=True)
        self.mounts = []

    def make_site(self, site, n=8):
        os.makedirs(site)
        for i in range(n):
            make_dist(site, i)

    def rebuild(self, site, user=None):
        cmd = [self.args.update, site]
        env = self.env
        if user is not None:
            cmd, extra = self.reachable.as_user(user, cmd)
            env = dict(env, **extra)
        r = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
        return r.returncode, r.stderr.decode(errors="replace")

    def query(self, site, *extra):
        r = subprocess.run([self.args.query, "--path", site, "--format", "json"] + list(extra),
                           capture_output=True, env=self.env)
        return r.returncode, r.stdout.decode()

    def expect_failure(self, name, site, reason, user=None, old=None):
        """Run the rebuild and check everything a failed rebuild promises."""
        cache = os.path.join(site, ".epcache", "entry-points.json")
        if old is None and os.path.exists(cache):
            old = open(cache, "rb").read()
        rc, err = self.rebuild(site, user)
        problems = []
        if rc != 2:
            problems.append("exit status %d (want 2)" % rc)
        if site not in err or reason not in err:
            problems.append("message %r does not name %s and '%s'" % (err.strip(), site, reason))
        now = open(cache, "rb").read() if os.path.exists(cache) else None
        if now != old:
            problems.append("the previous cache changed")
        cd = os.path.join(site, ".epcache")
        extra = sorted(set(os.listdir(cd)) - {"entry-points.json", "lock"}) if os.path.isdir(cd) else []
        if extra:
            problems.append("debris: %s" % extra)
        rcs, st = self.query(site, "--status")
        st = json.loads(st)[0]["status"] if rcs == 0 else "error"
        # the comparison below relies on the reader scanning: the old
        # cache stale, or none at all
        want = "stale" if old is not None else "missing"
        if st != want:
            problems.append("status %s (want %s)" % (st, want))
        if self.query(site) != self.query(site, "--no-cache"):
            problems.append("reader answer differs from a live scan")
        return problems, err.strip()

    def report(self, name, problems, msg):
        if problems:
            self.failed += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)))
        else:
            self.passed += 1
            print("ok   %s: exit 2, cache byte-identical, no temp file: %s" % (name, msg))

    def recovered(self, name, site, user=None):
        rc, err = self.rebuild(site, user)
        rcs, st = self.query(site, "--status")
        st = json.loads(st)[0]["status"] if rcs == 0 else "error"
        if rc != 0 or st != "fresh":
            self.failed += 1
            print("FAIL %s: after the cause is gone: exit %d, status %s: %s" % (name, rc, st, err))
        else:
            self.passed += 1

    def run(self, tmp):
        # -- disk full -------------------------------------------------
        mnt = os.path.join(tmp, "small")
        self.mount_tmpfs(mnt, "size=512k,mode=0755")
        site = os.path.join(mnt, "site")
        self.make_site(site)
        rc, err = self.rebuild(site)
        assert rc == 0, err
        for i in range(8, 40):
            make_dist(site, i)
        filler = os.path.join(mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        for chunk in (65536, 4096, 1):  # to the last byte
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
        os.close(fd)
        free = os.statvfs(mnt).f_bavail
        if free:
            print("note: %d blocks still free after filling" % free)
        p, m = self.expect_failure("disk-full", site, "No space left")
        self.report("disk-full", p, m)
        os.unlink(filler)
        self.recovered("disk-full", site)

        # -- no inodes -------------------------------------------------
        mnt = os.path.join(tmp, "fewinodes")
        self.mount_tmpfs(mnt, "size=4m,nr_inodes=200,mode=0755")
        site = os.path.join(mnt, "site")
        self.make_site(site)
        rc, err = self.rebuild(site)
        assert rc == 0, err
        make_dist(site, 99)
        fill = os.path.join(mnt, "fill")
        os.mkdir(fill)
        k = 0
        try:
            while True:
                open(os.path.join(fill, str(k)), "w").close()
                k += 1
        except OSError:
            pass
        p, m = self.expect_failure("no-inodes", site, "No space left")
        self.report("no-inodes", p, m)
        shutil.rmtree(fill)
        self.recovered("no-inodes", site)

        # -- EROFS: remount -----------------------------------------
        make_dist(site, 98)
        self.sh("mount", "-o", "remount,ro", mnt)
        p, m = self.expect_failure("erofs-remount", site, "Read-only file system")
        self.report("erofs-remount", p, m)
        self.sh("mount", "-o", "remount,rw", mnt)
        self.recovered("erofs-remount", site)

        # -- EROFS: read-only bind mount of a directory on the disk -----
        disk = os.path.join(tmp, "disk-site")
        self.make_site(disk)
        rc, err = self.rebuild(disk)
        assert rc == 0, err
        make_dist(disk, 50)
        ro = os.path.join(tmp, "ro-site")
        os.mkdir(ro)
        self.sh("mount", "--bind", disk, ro)
        self.mounts.append(ro)
        self.sh("mount", "-o", "remount,bind,ro", ro)
        p, m = self.expect_failure("erofs-bind", ro, "Read-only file system")
        self.report("erofs-bind", p, m)
        self.recovered("erofs-bind", disk)

        # -- EACCES ----------------------------------------------------
        pub = os.path.join(tmp, "pub")
        os.mkdir(pub)
        os.chmod(pub, 0o755)
        site = os.path.join(pub, "site")
        self.make_site(site)
        rc, err = self.rebuild(site)
        assert rc == 0, err
        make_dist(site, 60)
        p, m = self.expect_failure("eacces", site, "Permission denied", user=NOBODY)
        self.report("eacces", p, m)
        self.recovered("eacces", site)

        site = os.path.join(pub, "site-new")
        self.make_site(site)
        p, m = self.expect_failure("eacces-new", site, "Permission denied", user=NOBODY)
        if os.path.exists(os.path.join(site, ".epcache")):
            p.append(".epcache was created")
        self.report("eacces-new", p, m)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--query", required=True)
    ap.add_argument("--update", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root to mount")
        return 77
    if os.environ.get("EPCACHE_FS_ERRORS_NS") != "1":
        env = dict(os.environ, EPCACHE_FS_ERRORS_NS="1")
        r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable,
                            os.path.abspath(__file__)] + sys.argv[1:], env=env)
        return r.returncode
    t = T(args)
    # reachable by uid 65534 for the EACCES cases
    tmp = tempfile.mkdtemp(prefix="epcache-fs-")
    os.chmod(tmp, 0o755)
    try:
        try:
            t.mount_tmpfs(os.path.join(tmp, "probe"), "size=64k")
        except subprocess.CalledProcessError as e:
            print("SKIP: cannot mount a tmpfs: %s" % e.stderr.decode(errors="replace").strip())
            return 77
        t.run(tmp)
    finally:
        t.umount_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
