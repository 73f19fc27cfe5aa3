#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The accelerator's pip form: `pip install --no-build-isolation .
--config-settings=setup-args=-Daccelerate-hook=true` into a virtual
environment puts epcache-accelerate.pth and _epcache_accelerate.py into
its site-packages; the venv's python then answers importlib's
entry_points() through the accelerator (from the venv's cache once
update-entrypoints-cache made one), the same as with
EPCACHE_NO_ACCELERATE=1; `pip uninstall` takes the hook away again.

    pip-accelerate.py SOURCE_TREE --update BUILD/src/update-entrypoints-cache
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

PY = sys.executable
PROBE = r'''
import importlib.metadata as md, json, sys
reads = []
orig = md.PathDistribution.read_text
md.PathDistribution.read_text = lambda self, n: (reads.append(str(self._path)), orig(self, n))[1]
eps = md.entry_points(group="console_scripts")
print(json.dumps([getattr(md.entry_points, "_epcache_accelerated", False),
                  [r for r in reads if r.startswith(sys.prefix)],
                  [[e.name, e.value, str(e.dist._path)] for e in eps]]))
'''

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print("%s %s" % ("ok  " if ok else "FAIL", name))
    if not ok:
        for line in str(detail).splitlines()[:30]:
            print("     %s" % line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("--update", required=True)
    ap.add_argument("--module-dir")
    ap.add_argument("--query")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="epcache-pip-accel-")
    try:
        run(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


def run(a, tmp):
    venv = os.path.join(tmp, "venv")
    # the system's meson-python builds it: no index, no network
    subprocess.run([PY, "-m", "venv", "--system-site-packages", venv], check=True)
    vpy = os.path.join(venv, "bin", "python")
    site = subprocess.run([vpy, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_CONFIG_FILE=os.devnull, EPCACHE_NO_WRITE="1")
    env.pop("PYTHONPATH", None)
    src = os.path.join(tmp, "src")
    shutil.copytree(a.source, src, ignore=shutil.ignore_patterns("build*", ".git"))
    r = subprocess.run([vpy, "-m", "pip", "install", "-q", "--no-build-isolation", src,
                        "--config-settings=setup-args=-Daccelerate-hook=true"],
                       env=env, capture_output=True, text=True)
    check("pip installs epcache with the hook", r.returncode == 0, r.stdout + r.stderr)
    for f in ("epcache-accelerate.pth", "_epcache_accelerate.py"):
        check("in the venv: %s" % f, os.path.isfile(os.path.join(site, f)), os.listdir(site))
    # fresh: not written in the tick of the directory's last change
    for _ in range(40):
        subprocess.run([a.update, site], check=True)
        if subprocess.run([a.update, "--check", site], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)

    def probe(**extra):
        e = dict(env, **extra)
        r = subprocess.run([vpy, "-c", PROBE], env=e, capture_output=True, text=True)
        try:
            return json.loads(r.stdout), r.stderr
        except ValueError:
            return None, r.stdout + r.stderr

    on, err_on = probe()
    off, err_off = probe(EPCACHE_NO_ACCELERATE="1")
    check("the venv's python: importlib's entry_points() is the accelerator's",
          on is not None and on[0] is True and not err_on, "%r %s" % (on, err_on))
    check("the venv's cache answered: nothing read in the venv (importlib reads it)",
          on is not None and on[1] == [] and off is not None and off[1] != [],
          "%r\n%r" % (on, off))
    check("the same answer as importlib's", on is not None and off is not None
          and on[2] == off[2] and off[0] is False, "%r\n%r" % (on, off))
    r = subprocess.run([vpy, "-m", "pip", "uninstall", "-y", "-q", "epcache"], env=env,
                       capture_output=True, text=True)
    left = [f for f in os.listdir(site) if "epcache" in f.lower()
            and not f.startswith(".epcache")]
    check("pip uninstall takes it all away", r.returncode == 0 and not left,
          "%s\n%s" % (left, r.stderr))
    gone, err = probe()
    check("then importlib is its own, quietly", gone is not None and gone[0] is False
          and not err, "%r %s" % (gone, err))


if __name__ == "__main__":
    sys.exit(main())
