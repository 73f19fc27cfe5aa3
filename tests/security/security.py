#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A cache is code-loading data: it must not be hijacked, planted or lost.

    security.py --query BUILD/src/entrypoints-query \
                --update BUILD/src/update-entrypoints-cache [--race-rounds 300]

Needs root (exit 77 otherwise): the site directories belong to uid 65534
(the "user"), root runs the rebuilds, as a package manager hook would in a
user's venv.  Outside the site lies a root-owned directory with a victim
file (mode 0600, known content): nothing in it may ever be created,
truncated, written, chmod'ed or chowned.

planted     before a root rebuild the user plants: .epcache as a symlink to
            the outside directory, as a dangling symlink, as a FIFO, as a
            file; .epcache/lock as a symlink to the victim, a dangling
            symlink, a FIFO, a hard link to the victim (when the kernel
            allows it); entry-points.json as a symlink to the victim;
            symlinks and FIFOs with temp file names.  The rebuild must
            refuse or work around each (exit 0 or 2, never following), the
            outside must stay as it was, and a planted cache never
            becomes the answer.
race        the user swaps .epcache and .epcache/lock for symlinks to the
            outside in a tight loop while root rebuilds --race-rounds times.
owner       caches root writes into the user's site belong to the user
            (directory, file, lock), and the user can rebuild and remove them.
untrusted   a cache carrying a planted entry point (a genuine cache with one
            value changed, so it would be fresh) with the file or directory
            writable by group or others, or owned by an unrelated uid: the
            reader reports `untrusted` and answers from a live scan, as root
            and as uid 65534; as control, the same cache with safe owner and
            mode is used (fresh, planted entry point visible).

Prints one line per check and "N passed, M failed".
"""

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reachable import Reachable  # noqa: E402
from reseal import reseal  # noqa: E402


USER = 65534
OTHER = 12345   # an unrelated uid


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class T:
    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ, PKGSYSTEM_ENABLE_FSYNC="0")
        self.reachable = Reachable()
        self.tmp = tempfile.mkdtemp(prefix="epcache-sec-")
        os.chmod(self.tmp, 0o755)
        self.outside = os.path.join(self.tmp, "outside")
        os.mkdir(self.outside, 0o755)
        self.victim = os.path.join(self.outside, "victim")
        write(self.victim, "precious\n")
        os.chmod(self.victim, 0o600)
        self.passed = self.failed = 0
        self.n = 0

    def result(self, label, problems):
        if problems:
            self.failed += 1
            print("FAIL %s: %s" % (label, "; ".join(problems)))
        else:
            self.passed += 1
            print("ok   %s" % label)
        sys.stdout.flush()

    def outside_state(self):
        out = {}
        for n in sorted(os.listdir(self.outside)):
            p = os.path.join(self.outside, n)
            st = os.lstat(p)
            data = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else None
            out[n] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, data)
        return out

    def new_site(self):
        self.n += 1
        site = os.path.join(self.tmp, "site%d" % self.n)
        os.mkdir(site)
        for i in range(3):
            d = os.path.join(site, "pkg%d-1.0.dist-info" % i)
            os.mkdir(d)
            write(os.path.join(d, "METADATA"), "Name: pkg%d\nVersion: 1.0\n" % i)
            write(os.path.join(d, "entry_points.txt"), "[console_scripts]\npkg%d = good.m:f%d\n" % (i, i))
        for root, dirs, files in os.walk(site):
            for n in dirs + files + [""]:
                os.lchown(os.path.join(root, n), USER, USER)
        return site

    def run(self, cmd, user=False):
        env = self.env
        if user:
            cmd, extra = self.reachable.as_user(USER, cmd)
            env = dict(env, **extra)
        r = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def rebuild(self, site, user=False):
        return self.run([self.args.update, site], user)

    def status(self, site, user=False):
        rc, out, err = self.run([self.args.query, "--path", site, "--status", "--format", "json"], user)
        return json.loads(out)[0] if rc == 0 else {"status": "exit %d" % rc, "reason": err}

    def answer(self, site, user=False, live=False):
        rc, out, err = self.run([self.args.query, "--path", site, "--format", "json"] +
                                (["--no-cache"] if live else []), user)
        return out if rc == 0 else "exit %d: %s" % (rc, err)

    def as_user(self, fn, quiet=False):
        """Plant as the user, in a child that dropped its privileges."""
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(USER)
                os.setuid(USER)
                fn()
                os._exit(0)
            except BaseException as e:  # noqa: B902
                if not quiet:
                    print("planting failed: %r" % e)
                os._exit(1)
        _, st = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(st)

    # ------------------------------------------------------------------
    def planted(self):
        cases = [
            ("cachedir symlink to outside", lambda s: os.symlink(self.outside, s + "/.epcache")),
            ("cachedir dangling symlink", lambda s: os.symlink(self.outside + "/made", s + "/.epcache")),
            ("cachedir FIFO", lambda s: os.mkfifo(s + "/.epcache")),
            ("cachedir regular file", lambda s: write(s + "/.epcache", "x")),
            ("lock symlink to victim", lambda s: (os.mkdir(s + "/.epcache"),
                                                  os.symlink(self.victim, s + "/.epcache/lock"))),
            ("lock dangling symlink", lambda s: (os.mkdir(s + "/.epcache"),
                                                 os.symlink(self.outside + "/made", s + "/.epcache/lock"))),
            ("lock FIFO", lambda s: (os.mkdir(s + "/.epcache"), os.mkfifo(s + "/.epcache/lock"))),
            ("cache file symlink to victim", lambda s: (os.mkdir(s + "/.epcache"),
                                                        os.symlink(self.victim, s + "/.epcache/entry-points.json"))),
            ("temp names: 200 symlinks and a FIFO", self.plant_temps),
        ]
        for label, plant in cases:
            site = self.new_site()
            before = self.outside_state()
            problems = []
            if self.as_user(lambda: plant(site)) != 0:
                problems.append("could not plant")
            rc, _, err = self.rebuild(site)
            if rc not in (0, 2):
                problems.append("rebuild exit %d: %s" % (rc, err.strip()))
            if self.outside_state() != before:
                problems.append("the outside directory changed")
            cd = os.path.join(site, ".epcache")
            if rc == 0:
                # worked around: then the cache must be a real one of ours
                if os.path.islink(cd) or os.path.islink(cd + "/entry-points.json"):
                    problems.append("exit 0 with a symlinked cache")
                if self.status(site)["status"] != "fresh":
                    problems.append("exit 0 but the cache is %s" % self.status(site)["status"])
            elif self.status(site)["status"] == "fresh":
                problems.append("the rebuild failed but a cache is used")
            # (the status the comparison relies on is checked above:
            # fresh after exit 0, anything but fresh after a refusal)
            if self.answer(site) != self.answer(site, live=True):
                problems.append("the answer is not the live scan")
            self.result("planted %s: rebuild exit %d%s" % (label, rc, (", " + err.strip().split(": ", 1)[-1]) if rc else ""),
                        problems)
        # a hard link to root's file, where the kernel still allows it
        site = self.new_site()
        os.mkdir(site + "/.epcache")
        os.chown(site + "/.epcache", USER, USER)
        before = self.outside_state()
        linked = self.as_user(lambda: os.link(self.victim, site + "/.epcache/lock"),
                              quiet=True) == 0
        rc, _, err = self.rebuild(site)
        problems = [] if self.outside_state() == before else ["the victim changed"]
        self.result("planted lock hard link to victim (%s): rebuild exit %d" %
                    ("linked" if linked else "refused by fs.protected_hardlinks", rc), problems)

    def plant_temps(self, s):
        os.mkdir(s + "/.epcache")
        import random
        rng = random.Random(3)
        chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        for _ in range(200):
            n = "".join(rng.choice(chars) for _ in range(6))
            os.symlink(self.victim, s + "/.epcache/entry-points.json.tmp-" + n)
        os.mkfifo(s + "/.epcache/entry-points.json.tmp-fifo00")

    # ------------------------------------------------------------------
    def race(self):
        site = self.new_site()
        rc, _, err = self.rebuild(site)
        before = self.outside_state()
        cd = site + "/.epcache"
        stop = os.path.join(self.tmp, "stop-race")

        r_fd, w_fd = os.pipe()

        def attacker():
            # counts the swaps that completed: a symlink stood in place
            # of .epcache or of its lock
            k = swaps = 0
            while not os.path.exists(stop):
                k += 1
                try:
                    if k % 2:
                        os.rename(cd, site + "/.epcache-real")
                        os.symlink(self.outside, cd)
                        swaps += 1
                        os.unlink(cd)
                        os.rename(site + "/.epcache-real", cd)
                    else:
                        os.rename(cd + "/lock", site + "/lock-real")
                        os.symlink(self.victim, cd + "/lock")
                        swaps += 1
                        os.unlink(cd + "/lock")
                        os.rename(site + "/lock-real", cd + "/lock")
                except OSError:
                    pass
            os.write(w_fd, str(swaps).encode())
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r_fd)
                os.setgroups([])
                os.setgid(USER)
                os.setuid(USER)
                attacker()
            finally:
                os._exit(0)
        os.close(w_fd)
        ok = failed = 0
        for i in range(self.args.race_rounds):
            d = os.path.join(site, "race%d-1.0.dist-info" % i)
            os.mkdir(d)
            os.chown(d, USER, USER)
            rc, _, err = self.rebuild(site)
            ok += rc == 0
            failed += rc != 0
        write(stop, "")
        os.waitpid(pid, 0)
        swaps = int(os.read(r_fd, 64) or b"0")
        os.close(r_fd)
        problems = []
        # evidence that the race was run against anything at all
        if swaps < self.args.race_rounds:
            problems.append("only %d swaps completed during %d rebuilds" %
                            (swaps, self.args.race_rounds))
        if self.outside_state() != before:
            problems.append("the outside directory changed: %s" % sorted(self.outside_state()))
        rc, _, err = self.rebuild(site)
        if rc != 0 or self.status(site)["status"] != "fresh":
            problems.append("no good rebuild after the race: %s" % err)
        self.result("race: %d root rebuilds against a user swapping .epcache and lock for symlinks "
                    "(%d swaps made, %d rebuilds succeeded, %d refused); outside untouched" %
                    (self.args.race_rounds, swaps, ok, failed), problems)

    # ------------------------------------------------------------------
    def owner(self):
        site = self.new_site()
        problems = []
        rc, _, err = self.rebuild(site)
        if rc != 0:
            problems.append("rebuild exit %d: %s" % (rc, err))
        for rel in (".epcache", ".epcache/entry-points.json", ".epcache/lock"):
            st = os.lstat(os.path.join(site, rel))
            if (st.st_uid, st.st_gid) != (USER, USER):
                problems.append("%s belongs to %d:%d" % (rel, st.st_uid, st.st_gid))
        if self.status(site, user=True)["status"] != "fresh":
            problems.append("the user does not trust it")
        d = os.path.join(site, "later-1.0.dist-info")
        self.as_user(lambda: (os.mkdir(d), write(d + "/entry_points.txt", "[g]\nx = y\n")))
        rc, _, err = self.rebuild(site, user=True)
        if rc != 0:
            problems.append("the user cannot rebuild: %s" % err)
        rc, _, err = self.run([self.args.update, "--remove", site], user=True)
        if rc != 0 or os.path.exists(site + "/.epcache"):
            problems.append("the user cannot remove it: %s" % err)
        self.result("owner: caches root writes into a user's directory belong to the user", problems)

    # ------------------------------------------------------------------
    def untrusted(self):
        for owner_name, site_uid in (("root's site", 0), ("user's site", USER)):
            site = self.new_site()
            if site_uid == 0:
                for root, dirs, files in os.walk(site):
                    for n in dirs + files + [""]:
                        os.lchown(os.path.join(root, n), 0, 0)
            rc, _, err = self.rebuild(site)
            cd = site + "/.epcache"
            cf = cd + "/entry-points.json"
            genuine = open(cf, "rb").read()
            # a forgery, not damage: its checksums made right
            planted = reseal(genuine.replace(b"good.m:f1", b"evil.m:f1"))
            assert planted != genuine
            live = self.answer(site, live=True)

            def put(file_mode=0o644, dir_mode=0o755, file_uid=None, dir_uid=None):
                os.chmod(cd, dir_mode)
                os.chown(cd, site_uid if dir_uid is None else dir_uid, site_uid if dir_uid is None else dir_uid)
                with open(cf, "wb") as f:
                    f.write(planted)
                os.chmod(cf, file_mode)
                os.chown(cf, site_uid if file_uid is None else file_uid, 0)

            variants = [
                ("file mode 0666", dict(file_mode=0o666)),
                ("file mode 0664 (group-writable)", dict(file_mode=0o664)),
                ("file mode 0646", dict(file_mode=0o646)),
                ("directory mode 0777", dict(dir_mode=0o777)),
                ("directory mode 0775", dict(dir_mode=0o775)),
                ("directory mode 1777 (sticky)", dict(dir_mode=0o1777)),
                ("file owned by uid %d" % OTHER, dict(file_uid=OTHER)),
                ("directory owned by uid %d" % OTHER, dict(dir_uid=OTHER)),
            ]
            if site_uid == 0:
                variants.append(("file owned by uid %d in root's site" % USER, dict(file_uid=USER)))
            for label, kw in variants:
                put(**kw)
                problems = []
                for who in (False, True):
                    st = self.status(site, user=who)
                    ans = self.answer(site, user=who)
                    whoname = "uid %d" % USER if who else "root"
                    if st["status"] != "untrusted":
                        problems.append("%s: status %s" % (whoname, st["status"]))
                    if "evil" in ans or ans != live:
                        problems.append("%s: the planted entry point is in the answer" % whoname)
                self.result("untrusted (%s): %s -> untrusted, live scan, as root and uid %d"
                            % (owner_name, label, USER), problems)
            # control: the same bytes, safe owner and mode, ARE used
            put()
            problems = []
            for who in (False, True):
                if self.status(site, user=who)["status"] != "fresh" or "evil" not in self.answer(site, user=who):
                    problems.append("control: a trusted planted cache is not used (the test proves nothing)")
            self.result("control (%s): the same cache owned by %s, mode 0644 in a 0755 directory, is used"
                        % (owner_name, "root" if site_uid == 0 else "the user"), problems)

    def main(self):
        self.planted()
        self.race()
        self.owner()
        self.untrusted()
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--query", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--race-rounds", type=int, default=300)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (root rebuilds in a user's directory)")
        return 77
    t = T(args)
    try:
        return t.main()
    finally:
        shutil.rmtree(t.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
