#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`pip install --no-build-isolation .` of this source tree into a fresh
venv (--system-site-packages, so that Debian's meson-python is found; no
index is asked), then the installed module answers like importlib.

    pip-install.py SOURCE_DIR [PYTHON]

Exit status 77 (skipped) when venv, pip or meson-python is missing.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print("FAIL: %s (exit %d)\n%s%s" % (" ".join(cmd), r.returncode, r.stdout[-4000:],
                                           r.stderr[-4000:]))
        sys.exit(1)
    return r.stdout


def main():
    src = os.path.abspath(sys.argv[1])
    python = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/python3"
    for mod in ("venv", "pip", "mesonpy"):
        if subprocess.run([python, "-c", "import " + mod], capture_output=True).returncode:
            print("SKIP: %s cannot import %s" % (python, mod))
            return 77
    tmp = tempfile.mkdtemp(prefix="epcache-pip-")
    try:
        # a copy: meson-python writes into the source tree it builds
        copy = os.path.join(tmp, "src")
        shutil.copytree(src, copy, symlinks=True, ignore=shutil.ignore_patterns(
            "build*", ".git", "__pycache__", ".mesonpy*"))
        venv = os.path.join(tmp, "venv")
        run([python, "-m", "venv", "--system-site-packages", "--without-pip", venv])
        vpy = os.path.join(venv, "bin", "python")
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                   EPCACHE_NO_WRITE="1")
        run([vpy, "-m", "pip", "install", "--no-build-isolation", "--no-index", copy], env=env,
            cwd=tmp)
        code = ("import epcache, json, importlib.metadata as m\n"
                "a = [(e.name, e.value, e.dist.name, e.dist.version) for e in "
                "epcache.entry_points(group='console_scripts')]\n"
                "b = [(e.name, e.value, e.dist.name, e.dist.version) for e in "
                "m.entry_points(group='console_scripts')]\n"
                "print(json.dumps([epcache.__file__, a == b, len(a), "
                "m.version('epcache')]))\n")
        where, same, n, version = json.loads(run([vpy, "-c", code], env=env, cwd=tmp))
        ok = True
        if not where.startswith(venv + "/"):
            print("FAIL: epcache imported from %s, not the venv" % where)
            ok = False
        if not same:
            print("FAIL: the installed module differs from importlib")
            ok = False
        status = run([vpy, "-m", "epcache", "--status"], env=env, cwd=tmp)
        if os.path.join(venv, "lib") not in status:
            print("FAIL: python -m epcache --status lacks the venv:\n%s" % status)
            ok = False
        so = [f for f in os.listdir(os.path.dirname(where)) if f.startswith("_epcache")]
        ldd = run(["ldd", os.path.join(os.path.dirname(where), so[0])])
        if "libepcache" in ldd:
            print("FAIL: the wheel's module needs a libepcache.so:\n%s" % ldd)
            ok = False
        print("pip install: module %s, version %s, %d console_scripts, same as importlib: %s"
              % (where, version, n, same))
        print("%d passed, %d failed" % ((1, 0) if ok else (0, 1)))
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
