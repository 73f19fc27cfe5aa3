# SPDX-License-Identifier: MIT
"""Commands another user can run, wherever the build tree is.

CI clones into a mktemp -d directory (mode 0700): uid 65534 can neither
execute the built programs nor load the libepcache they link, nor read the
test scripts there. as_user() copies every file argument of a command that
other users cannot reach into one 0755 directory (an ELF program together
with the libepcache it links) and returns the command to run under setpriv
with the environment it needs.
"""
import atexit
import os
import shutil
import subprocess
import tempfile


def reachable_by_others(path):
    """True when every directory above PATH lets others search it."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(d).st_mode & 0o001:
            return False
        parent = os.path.dirname(d)
        if parent == d:
            return True
        d = parent


class Reachable:
    def __init__(self):
        self.dir = None
        self.copies = {}

    def _copy(self, path):
        if path in self.copies:
            return self.copies[path]
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="epcache-reachable-")
            os.chmod(self.dir, 0o755)
            atexit.register(self.cleanup)
        sub = os.path.join(self.dir, str(len(self.copies)))
        os.mkdir(sub, 0o755)
        copy = shutil.copy2(path, sub)
        with open(path, "rb") as f:
            elf = f.read(4) == b"\x7fELF"
        if elf:
            ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
            for line in ldd.splitlines():
                parts = line.split()
                if parts and parts[0].startswith("libepcache.so") and len(parts) > 2:
                    shutil.copy2(parts[2], self.dir)
        self.copies[path] = copy
        return copy

    def as_user(self, uid, cmd):
        """(command, extra environment) running CMD as UID."""
        out = []
        for arg in cmd:
            if (isinstance(arg, str) and os.path.isfile(arg) and
                    not reachable_by_others(arg)):
                arg = self._copy(arg)
            out.append(arg)
        env = {"LD_LIBRARY_PATH": self.dir} if self.dir else {}
        return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + out, env

    def cleanup(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        self.copies = {}
