#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The attacks of issue 14, as root against a user who owns (or may write)
a site directory. Each one failed on 57951c3.

    attacks.py --query Q --update U --swap-preload SO [--module-dir D]

Needs root; creates the unprivileged user `epcache-att` (useradd, once).
Without root it exits 77 (a meson skip), with CI=true in the environment
it fails instead.

leak        the user plants, in their directory, entry_points.txt and
            METADATA as symlinks to root-only files (mode 0600 in a 0700
            directory) and a dist-info as a symlink to a root-only file.
            Root's rebuild must publish none of it: not the secret entry
            point, not the secret Name:, not the secret file's inode.
            Controls: root's live scan does see the secret (the plant
            works, importlib as root would read it), and a symlink to a
            world-readable file is still followed into the cache.
group       the same in a root-owned, group-writable directory whose
            group the user is in; a file readable by that group is still
            cached (control). Then root's Python self-heal (when the module
            is built) in such a site-packages: it heals (the cache is fresh
            afterwards) and publishes nothing the group could not read.
lock        the user holds DIR/.epcache/lock: root's rebuild of DIR and of
            a second directory ends within the bound (--lock-timeout, and
            EPCACHE_LOCK_TIMEOUT), exit 2, a message naming DIR and the
            lock, the second directory's cache written. Root's Python
            self-heal of a stale site-packages whose lock is held returns
            at once (it skips healing), and heals once the lock is free.
planted-dir in a root-owned group-writable directory, a group member
            replaces .epcache with their own directory and holds a lock in
            it: readers report `untrusted` (not `missing`), root's rebuild
            refuses without waiting and writes nothing into it, and root's
            Python self-heal returns at once, writing nothing.
bounds      a 1 GiB sparse entry_points.txt; a 12 MiB file hard-linked into
            24 distributions (288 MiB to read, over the 64 MiB of
            entry_points.txt a rebuild reads in all); a 6 MiB file of 1.5 million
            entry points hard-linked into two: each rebuild ends with exit
            2, a warning naming the file, no cache (readers report
            `missing` and scan), and a bounded peak memory.
swap        between root's mkdirat(".epcache") and what follows, a
            root-owned directory is swapped in (LD_PRELOAD, counted): it
            must keep its owner and mode.
"""

import argparse
import json
import os
import pwd
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time

USER = "epcache-att"


def write(path, text, mode=None):
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def ensure_user():
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", "--user-group", USER], check=True)
        pw = pwd.getpwnam(USER)
    return pw.pw_uid, pw.pw_gid


class T:
    def __init__(self, args, uid, gid):
        self.args = args
        self.uid, self.gid = uid, gid
        self.env = dict(os.environ, PKGSYSTEM_ENABLE_FSYNC="0")
        self.env.pop("EPCACHE_LOCK_TIMEOUT", None)
        self.tmp = tempfile.mkdtemp(prefix="epcache-att-")
        os.chmod(self.tmp, 0o755)
        # root's secrets: 0600 files in a 0700 directory
        self.secret_dir = os.path.join(self.tmp, "rootonly")
        os.mkdir(self.secret_dir, 0o700)
        self.secret_ep = os.path.join(self.secret_dir, "db.ini")
        write(self.secret_ep, "[database]\npassword = hunter2secret.mod:pw\n", 0o600)
        self.secret_md = os.path.join(self.secret_dir, "other")
        write(self.secret_md, "Name: topsecretname\nVersion: 6.6.6\n", 0o600)
        # a world-readable file outside the site (control)
        self.public_dir = os.path.join(self.tmp, "public")
        os.mkdir(self.public_dir, 0o755)
        self.public_ep = os.path.join(self.public_dir, "ep.txt")
        write(self.public_ep, "[g]\npublic_ep = publicmod:f\n", 0o644)
        # readable by the user's group only (control for group sites)
        self.group_ep = os.path.join(self.public_dir, "group.txt")
        write(self.group_ep, "[g]\ngroup_ep = groupmod:f\n", 0o640)
        os.chown(self.group_ep, 0, self.gid)
        self.passed = self.failed = 0
        self.n = 0
        self.lib_preload = self.asan_runtime()

    def asan_runtime(self):
        """An ASan build must have its runtime first in LD_PRELOAD."""
        out = subprocess.run(["ldd", self.args.update], capture_output=True, text=True).stdout
        for line in out.splitlines():
            p = line.split()
            if p and p[0].startswith("libasan.so") and len(p) > 2:
                return [p[2]]
        return []

    def result(self, label, problems):
        if problems:
            self.failed += 1
            print("FAIL %s: %s" % (label, "; ".join(problems)))
        else:
            self.passed += 1
            print("ok   %s" % label)
        sys.stdout.flush()

    def as_user(self, fn):
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
                fn()
                os._exit(0)
            except BaseException as e:  # noqa: B902
                print("planting failed: %r" % e)
                os._exit(1)
        _, st = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(st)

    def new_site(self, name=None, owner=None, mode=0o755):
        self.n += 1
        site = os.path.join(self.tmp, "s%d" % self.n, name or "site")
        os.makedirs(site)
        d = os.path.join(site, "good-1.0.dist-info")
        os.mkdir(d)
        write(d + "/METADATA", "Name: good\nVersion: 1.0\n")
        write(d + "/entry_points.txt", "[g]\ngood_ep = goodmod:f\n")
        uid, gid = owner if owner else (self.uid, self.gid)
        for root, dirs, files in os.walk(site):
            for n in dirs + files + [""]:
                os.lchown(os.path.join(root, n), uid, gid)
        os.chmod(site, mode)
        return site

    def run(self, cmd, env=None, timeout=60):
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env or self.env)
        except OSError as e:
            return 127, "", str(e), 0.0, 0
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return -9, out.decode(errors="replace"), "TIMEOUT after %d s" % timeout, \
                time.monotonic() - t0, 0
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), \
            time.monotonic() - t0, 0

    def run_rss(self, cmd, timeout=120):
        """Run CMD, return (rc, stderr, seconds, peak RSS in KiB)."""
        errf = tempfile.TemporaryFile()
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.dup2(errf.fileno(), 2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            try:
                os.execve(cmd[0], cmd, self.env)
            finally:
                os._exit(127)
        deadline = t0 + timeout
        while True:
            wpid, status, ru = os.wait4(pid, os.WNOHANG)
            if wpid:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                _, status, ru = os.wait4(pid, 0)
                break
            time.sleep(0.05)
        errf.seek(0)
        err = errf.read().decode(errors="replace")
        return os.waitstatus_to_exitcode(status), err, time.monotonic() - t0, ru.ru_maxrss

    def rebuild(self, *args, env=None, timeout=60):
        rc, _, err, secs, _ = self.run([self.args.update] + list(args), env=env, timeout=timeout)
        return rc, err, secs

    def status(self, site):
        rc, out, err, _, _ = self.run([self.args.query, "--path", site, "--status", "--format", "json"])
        return json.loads(out)[0]["status"] if rc == 0 else "exit %d: %s" % (rc, err)

    def answer(self, site, live=False):
        rc, out, err, _, _ = self.run([self.args.query, "--path", site, "--format", "json"] +
                                      (["--no-cache"] if live else []))
        return out if rc == 0 else "exit %d: %s" % (rc, err)

    def cache_bytes(self, site):
        try:
            with open(os.path.join(site, ".epcache", "entry-points.json"), "rb") as f:
                return f.read()
        except OSError:
            return None

    def python_heal(self, site, timeout=30):
        """Root's self-heal: epcache.entry_points() over SITE."""
        env = dict(self.env, PYTHONPATH=self.args.module_dir)
        env.pop("EPCACHE_NO_WRITE", None)
        if self.lib_preload:
            env["LD_PRELOAD"] = " ".join(self.lib_preload)
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
        # .groups and .select(): the same on 3.10/3.11 (SelectableGroups,
        # whose dict interface warns) and 3.12+ (EntryPoints)
        code = ("import epcache, sys; "
                "eps = epcache.entry_points(path=[sys.argv[1]]); "
                "print(sorted(e.name + '=' + e.value for g in eps.groups "
                "for e in eps.select(group=g)))")
        rc, out, err, secs, _ = self.run([sys.executable, "-c", code, site], env=env,
                                         timeout=timeout)
        return rc, out, err, secs

    # ------------------------------------------------------------------
    def plant_links(self, site, who_uid, who_gid):
        def plant():
            d = os.path.join(site, "evil-1.0.dist-info")
            os.mkdir(d)
            os.symlink(self.secret_ep, d + "/entry_points.txt")
            os.symlink(self.secret_md, d + "/METADATA")
            os.symlink(self.secret_md, os.path.join(site, "statleak-1.0.dist-info"))
            p = os.path.join(site, "public-1.0.dist-info")
            os.mkdir(p)
            os.symlink(self.public_ep, p + "/entry_points.txt")
            g = os.path.join(site, "grouponly-1.0.dist-info")
            os.mkdir(g)
            os.symlink(self.group_ep, g + "/entry_points.txt")
        return self.as_user(plant)

    def check_no_leak(self, site, problems, group_control=False):
        data = self.cache_bytes(site)
        if data is None:
            problems.append("no cache was written")
            return
        ino = str(os.stat(self.secret_md).st_ino).encode()
        if b"hunter2secret" in data:
            problems.append("the root-only entry_points.txt is in the cache")
        if b"topsecretname" in data or b"6.6.6" in data:
            problems.append("the root-only METADATA is in the cache")
        if ino in data:
            problems.append("the root-only file's inode is in the cache")
        if b"public_ep" not in data:
            problems.append("control: a symlink to a world-readable file is no longer followed")
        if group_control and b"group_ep" not in data:
            problems.append("control: a file readable by the writers' group is not cached")
        if self.status(site) != "fresh":
            problems.append("the cache is %s, not fresh" % self.status(site))
        elif "hunter2secret" in self.answer(site):
            problems.append("root's cached answer holds the secret")
        if "hunter2secret" not in self.answer(site, live=True):
            problems.append("control: root's live scan does not see the secret "
                            "(the plant did not work, the test proves nothing)")

    def leak(self):
        site = self.new_site()
        problems = []
        if self.plant_links(site, self.uid, self.gid) != 0:
            problems.append("could not plant")
        rc, err, _ = self.rebuild(site)
        if rc != 0:
            problems.append("rebuild exit %d: %s" % (rc, err.strip()))
        self.check_no_leak(site, problems)
        st = os.stat(os.path.join(site, ".epcache", "entry-points.json")) if not problems else None
        if st and (st.st_uid, st.st_gid) != (self.uid, self.gid):
            problems.append("the cache belongs to %d:%d" % (st.st_uid, st.st_gid))
        self.result("leak: root's rebuild of the user's directory publishes none of the "
                    "root-only files the user linked to", problems)

    def group(self):
        # root:USERGROUP 0775: the user may write it through the group
        site = self.new_site(owner=(0, self.gid), mode=0o775)
        problems = []
        if self.plant_links(site, self.uid, self.gid) != 0:
            problems.append("could not plant")
        rc, err, _ = self.rebuild(site)
        if rc != 0:
            problems.append("rebuild exit %d: %s" % (rc, err.strip()))
        self.check_no_leak(site, problems, group_control=True)
        self.result("group: root's rebuild of a root-owned group-writable directory publishes "
                    "nothing the group could not read", problems)
        if not self.args.module_dir:
            return
        site = self.new_site(name="site-packages", owner=(0, self.gid), mode=0o775)
        problems = []
        if self.plant_links(site, self.uid, self.gid) != 0:
            problems.append("could not plant")
        rc, out, err, _ = self.python_heal(site)
        if rc != 0:
            problems.append("python exit %d: %s" % (rc, err.strip()[-300:]))
        elif "hunter2secret" not in out:
            problems.append("control: root's Python answer (a live scan, as importlib) "
                            "lacks the secret: the plant did not work")
        self.check_no_leak(site, problems, group_control=True)
        self.result("group: root's Python self-heal of a root-owned group-writable "
                    "site-packages heals it and publishes nothing the group could not read",
                    problems)

    # ------------------------------------------------------------------
    def hold_lock(self, path):
        """The user takes flock(PATH) and keeps it until killed."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                import fcntl
                os.close(r)
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
                fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(w, b"1")
                time.sleep(600)
            except BaseException as e:  # noqa: B902
                print("holding the lock failed: %r" % e, file=sys.stderr, flush=True)
            finally:
                os._exit(0)
        os.close(w)
        got = os.read(r, 1)
        os.close(r)
        if got == b"1":
            return pid
        os.kill(pid, 9)
        _, st = os.waitpid(pid, 0)
        print("the lock holder ended with status %d" % os.waitstatus_to_exitcode(st))
        return None

    def lock(self):
        site = self.new_site()
        other = self.new_site()
        rc, err, _ = self.rebuild(site)
        lockpath = os.path.join(site, ".epcache", "lock")
        holder = self.hold_lock(lockpath)
        try:
            for how, args, env, bound in (
                    ("--lock-timeout 1", ["--lock-timeout", "1"], None, 1.0),
                    ("EPCACHE_LOCK_TIMEOUT=0.5", [], dict(self.env, EPCACHE_LOCK_TIMEOUT="0.5"), 0.5),
                    ("the default bound", [], None, 10.0)):
                problems = []
                if holder is None:
                    problems.append("the user could not take the lock")
                os.makedirs(os.path.join(other, "new%d-1.0.dist-info" % len(how)))
                rc, err, secs = self.rebuild(*(args + [site, other]), env=env, timeout=bound + 20)
                if rc != 2:
                    problems.append("exit %d (%s)" % (rc, err.strip()))
                if secs > bound + 5:
                    problems.append("took %.1f s" % secs)
                if secs < bound * 0.8:
                    problems.append("gave up after %.2f s, before the bound" % secs)
                if site not in err or "lock" not in err or "skipped" not in err:
                    problems.append("no message naming the directory and its lock: %r" % err)
                if "uid %d" % self.uid not in err:
                    problems.append("the message does not say who holds the lock: %r" % err)
                if self.status(other) != "fresh":
                    problems.append("the other directory was not done")
                self.result("lock: a lock held by the user stops root's rebuild for %s only "
                            "(%.1f s, exit %d), the other directory is done" % (how, secs, rc),
                            problems)
            # readers never take the lock
            problems = []
            rc, out, err, secs, _ = self.run([self.args.query, "--path", site, "--format", "json"],
                                             timeout=20)
            if rc != 0 or secs > 5:
                problems.append("reader exit %d after %.1f s" % (rc, secs))
            self.result("lock: a reader answers while the lock is held", problems)
        finally:
            if holder:
                os.kill(holder, 9)
                os.waitpid(holder, 0)

    def heal_no_wait(self):
        """Self-heal never waits for the lock: it skips healing."""
        if not self.args.module_dir:
            return
        import fcntl
        site = self.new_site(name="site-packages", owner=(0, 0))
        self.rebuild(site)
        os.mkdir(os.path.join(site, "later-1.0.dist-info"))
        write(os.path.join(site, "later-1.0.dist-info", "entry_points.txt"), "[g]\nlater_ep = m:f\n")
        fd = os.open(os.path.join(site, ".epcache", "lock"), os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        problems = []
        try:
            if self.status(site) != "stale":
                problems.append("the cache is %s, not stale (nothing to heal)" % self.status(site))
            rc, out, err, secs = self.python_heal(site, timeout=30)
            if rc != 0:
                problems.append("python exit %d: %s" % (rc, err.strip()[-300:]))
            if secs > 3:
                problems.append("took %.1f s: it waited for the lock" % secs)
            if "later_ep" not in out:
                problems.append("the answer lacks the new distribution: %s" % out.strip())
            if self.status(site) != "stale":
                problems.append("healed while the lock was held")
        finally:
            os.close(fd)
        rc, out, err, secs = self.python_heal(site, timeout=30)
        if self.status(site) != "fresh":
            problems.append("control: not healed once the lock is free (the test proves nothing)")
        self.result("lock: root's Python self-heal does not wait for a held lock; it skips "
                    "healing and heals once the lock is free", problems)

    def planted_dir(self):
        name = "site-packages"
        site = self.new_site(name=name, owner=(0, self.gid), mode=0o775)
        cd = os.path.join(site, ".epcache")

        def plant():
            os.mkdir(cd, 0o755)
        problems = []
        if self.as_user(plant) != 0:
            problems.append("could not plant")
        holder = self.hold_lock(os.path.join(cd, "lock"))
        try:
            st = self.status(site)
            if st != "untrusted":
                problems.append("reader status %s, not untrusted" % st)
            rc, err, secs = self.rebuild(site, timeout=30)
            if rc != 2 or secs > 5:
                problems.append("rebuild exit %d after %.1f s: %s" % (rc, secs, err.strip()))
            if os.listdir(cd) != ["lock"]:
                problems.append("root wrote into the user's .epcache: %s" % os.listdir(cd))
            self.result("planted-dir: a group member's own .epcache in a root-owned group-writable "
                        "site is untrusted; root's rebuild refuses at once, writes nothing",
                        problems)
            if self.args.module_dir:
                problems = []
                rc, out, err, secs = self.python_heal(site, timeout=30)
                if rc != 0 or secs > 10:
                    problems.append("python exit %d after %.1f s: %s" % (rc, secs, err.strip()[-300:]))
                if "good_ep" not in out:
                    problems.append("wrong answer: %s" % out.strip())
                if os.listdir(cd) != ["lock"]:
                    problems.append("root's self-heal wrote into it: %s" % os.listdir(cd))
                self.result("planted-dir: root's Python self-heal returns at once and writes "
                            "nothing into it (%.1f s)" % secs, problems)
        finally:
            if holder:
                os.kill(holder, 9)
                os.waitpid(holder, 0)

    # ------------------------------------------------------------------
    def bounds(self):
        cases = []
        # a sparse file: no blocks on disk, a gigabyte to read
        site = self.new_site()
        d = os.path.join(site, "sparse-1.0.dist-info")
        os.mkdir(d)
        with open(d + "/entry_points.txt", "wb") as f:
            f.truncate(1 << 30)
        cases.append(("a 1 GiB sparse entry_points.txt", site, "sparse-1.0.dist-info/entry_points.txt",
                      "larger than"))
        # one file, hard-linked into many distributions: 288 MiB to read
        site = self.new_site()
        big = os.path.join(site, "big.txt")
        line = "#" + "x" * 1022 + "\n"
        with open(big, "w") as f:
            f.write("[g]\n")
            for _ in range(12 * 1024):
                f.write(line)
        for i in range(24):
            d = os.path.join(site, "hl%02d-1.0.dist-info" % i)
            os.mkdir(d)
            os.link(big, d + "/entry_points.txt")
        cases.append(("a 12 MiB file hard-linked into 24 distributions", site, "/entry_points.txt",
                      "in all"))
        # entry points: 1.5 million in one 6 MiB file, linked twice
        site = self.new_site()
        big = os.path.join(site, "many.txt")
        with open(big, "w") as f:
            f.write("[g]\n")
            f.write("a=b\n" * (1536 * 1024))
        for i in range(2):
            d = os.path.join(site, "ep%d-1.0.dist-info" % i)
            os.mkdir(d)
            os.link(big, d + "/entry_points.txt")
        cases.append(("3 million entry points (a 6 MiB file linked twice)", site, "ep1-1.0.dist-info",
                      "entry points"))
        for label, site, names, says in cases:
            problems = []
            rc, err, secs, rss = self.run_rss([self.args.update, site])
            if rc != 2:
                problems.append("exit %d" % rc)
            if names not in err or says not in err:
                problems.append("no warning naming the file (%r, %r): %r" % (names, says, err[-400:]))
            if os.path.exists(os.path.join(site, ".epcache", "entry-points.json")):
                problems.append("a cache was written")
            if self.status(site) != "missing":
                problems.append("readers see %s, not missing" % self.status(site))
            # ASan's shadow memory counts in the RSS: a looser bound there
            limit = 1024 if self.lib_preload else 512
            if rss // 1024 > limit:
                problems.append("peak memory %d MiB > %d MiB" % (rss // 1024, limit))
            self.result("bounds: %s: exit %d in %.1f s, peak %d MiB, no cache" %
                        (label, rc, secs, rss // 1024), problems)
        # the previous cache goes: it would answer for a directory that
        # no longer matches it
        site = self.new_site()
        self.rebuild(site)
        d = os.path.join(site, "sparse-1.0.dist-info")
        os.mkdir(d)
        with open(d + "/entry_points.txt", "wb") as f:
            f.truncate(100 << 20)
        problems = []
        rc, err, _ = self.rebuild(site)
        if rc != 2 or self.cache_bytes(site) is not None:
            problems.append("exit %d, cache %s" % (rc, "left" if self.cache_bytes(site) else "gone"))
        self.result("bounds: a directory that grows beyond the bounds loses its old cache", problems)

    # ------------------------------------------------------------------
    def swap(self):
        for label, mode, content in (("an empty root-owned 0700 directory", 0o700, False),
                                     ("a root-owned 0755 directory with a file", 0o755, True)):
            site = self.new_site()
            victim = os.path.join(site, "rootdir")
            os.mkdir(victim, mode)
            os.chmod(victim, mode)
            if content:
                write(victim + "/rootfile", "root's\n", 0o600)
            count = os.path.join(self.tmp, "swaps-%d" % self.n)
            env = dict(self.env, EPCACHE_TEST_SWAP_IN="rootdir", EPCACHE_TEST_SWAP_COUNT=count,
                       LD_PRELOAD=" ".join(self.lib_preload + [self.args.swap_preload]))
            rc, err, _ = self.rebuild(site, env=env)
            problems = []
            swaps = open(count).read().count("swapped") if os.path.exists(count) else 0
            if swaps < 1:
                problems.append("the swap never happened (the test proves nothing)")
            st = os.lstat(os.path.join(site, ".epcache"))
            if (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (0, 0, mode):
                problems.append("the swapped-in directory is now %d:%d %o" %
                                (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
            if content and os.lstat(os.path.join(site, ".epcache", "rootfile")).st_uid != 0:
                problems.append("a file in it changed owner")
            self.result("swap: %s swapped in after mkdirat (%d swap, rebuild exit %d) keeps its "
                        "owner and mode" % (label, swaps, rc), problems)

    def main(self):
        self.leak()
        self.group()
        self.lock()
        self.heal_no_wait()
        self.planted_dir()
        self.bounds()
        self.swap()
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 and self.passed > 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--query", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--swap-preload", required=True)
    ap.add_argument("--module-dir", default=None,
                    help="the built Python module (for the self-heal cases)")
    args = ap.parse_args()
    ci = os.environ.get("CI") == "true"
    if os.geteuid() != 0:
        print("SKIP: needs root (root rebuilds in a user's directory)")
        return 1 if ci else 77
    if ci and not args.module_dir:
        print("FAIL: CI builds the Python module: the self-heal cases must run")
        return 1
    uid, gid = ensure_user()
    t = T(args, uid, gid)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        return t.main()
    finally:
        shutil.rmtree(t.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
