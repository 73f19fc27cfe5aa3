#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""CPython 3.9 (RHEL 9, Debian 11) is refused, loudly, at build time and
at import time: its importlib.metadata keeps every distribution of a name
and returns a dict, an answer the library does not give.

    old-python.py --source SRC --module-dir BUILD/src/python

Needs pyenv's 3.9 ($(pyenv root)/versions/3.9.*), as every machine of
this kind has; without it the test fails. Checks:
  meson setup -Dpython=3.9 -Dpython-module=enabled fails, naming 3.9 and
      the reason;
  with the default (auto) it configures, warns the same, and leaves the
      module out;
  3.9 importing the package epcache (from the build tree at hand) gets
      an ImportError saying that it needs 3.10.
Last line "N passed, M failed"; exit status 0 iff M is 0.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % what)
    else:
        failed += 1
        print("FAIL %s\n     %s" % (what, str(detail).replace("\n", "\n     ")))


def pyenv_root():
    try:
        return subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.expanduser("~/.pyenv")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--module-dir", required=True)
    a = ap.parse_args()
    found = sorted(glob.glob(os.path.join(pyenv_root(), "versions", "3.9.*", "bin", "python3")))
    check("a CPython 3.9 under $(pyenv root)/versions", found, pyenv_root())
    if not found:
        print("%d passed, %d failed" % (passed, failed))
        return 1
    py39 = found[-1]
    why = "needs 3.10 or later"
    tmp = tempfile.mkdtemp(prefix="epcache-py39-")
    try:
        b = os.path.join(tmp, "enabled")
        r = subprocess.run(["meson", "setup", b, a.source, "-Dtests=false",
                            "-Dpython=" + py39, "-Dpython-module=enabled"],
                           capture_output=True, text=True)
        out = r.stdout + r.stderr
        check("-Dpython=3.9 -Dpython-module=enabled fails, saying why",
              r.returncode != 0 and "Python 3.9 is too old" in out and why in out, out)
        b = os.path.join(tmp, "auto")
        r = subprocess.run(["meson", "setup", b, a.source, "-Dtests=false",
                            "-Dpython=" + py39], capture_output=True, text=True)
        out = r.stdout + r.stderr
        check("-Dpython=3.9 (auto) configures without the module, warning why",
              r.returncode == 0 and "WARNING: the Python module is not built" in out
              and "Python 3.9 is too old" in out, out)
        check("... and builds no module",
              r.returncode == 0 and not glob.glob(os.path.join(b, "src", "python", "epcache",
                                                               "_epcache*")), os.listdir(b))
        r = subprocess.run([py39, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "import epcache", a.module_dir], capture_output=True, text=True)
        check("import epcache on 3.9: ImportError, needs 3.10",
              r.returncode != 0 and "ImportError: epcache needs Python 3.10 or later, this is 3.9"
              in r.stderr, r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
