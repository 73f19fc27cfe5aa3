#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The tools with another interpreter: hooks/rebuild-python-sites PY and
entrypoints-query --python PY, for PY a venv of the interpreter running
this (each CPython tests/run-all builds the module for).

    interpreter-tools.py --source SRC --update U --query Q

In a venv with two distributions (one shadowing a later one of the same
name is not possible in one directory, so: two names, groups interleaved):
rebuild-python-sites writes the venv's cache, which is then fresh;
entrypoints-query --python gives what that interpreter's importlib gives
for each group (and, sorted by group, for all of them), cached and with
--no-cache. Last line "N passed, M failed"; exit status 0 iff M is 0.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import sitegen

passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % what)
    else:
        failed += 1
        print("FAIL %s\n     %s" % (what, str(detail).replace("\n", "\n     ")))


IMPORTLIB = r"""
import importlib.metadata as md, json, sys
eps = md.entry_points(**json.loads(sys.argv[1]))
if isinstance(eps, dict):
    eps = [e for g in dict.values(eps) for e in g]
if not json.loads(sys.argv[1]):
    eps = sorted(eps, key=lambda e: e.group)
print(json.dumps([{"group": e.group, "name": e.name, "value": e.value,
                   "dist": {"name": e.dist.name, "version": e.dist.version}} for e in eps]))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--update", required=True)
    ap.add_argument("--query", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="epcache-interp-")
    try:
        venv = os.path.join(tmp, "venv")
        r = subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv],
                           capture_output=True, text=True)
        check("python%d.%d -m venv" % sys.version_info[:2], r.returncode == 0, r.stderr)
        if r.returncode:
            return 1
        py = os.path.join(venv, "bin", "python")
        site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              capture_output=True, text=True, check=True).stdout.strip()
        sitegen.dist(site, "alpha-1.0.dist-info", "alpha", "1.0",
                     {"g2": ["z = alpha:z"], "g1": ["a = alpha:a"]})
        sitegen.dist(site, "beta-2.0.dist-info", "beta", "2.0", {"g1": ["b = beta:b"]})
        bindir = os.path.dirname(os.path.abspath(a.update))
        env = dict(os.environ, PKGSYSTEM_ENABLE_FSYNC="0")
        r = subprocess.run([os.path.join(a.source, "hooks", "rebuild-python-sites"),
                            "--bin", bindir, py], capture_output=True, text=True, env=env)
        check("rebuild-python-sites %s" % py, r.returncode == 0 and site in r.stdout,
              r.stdout + r.stderr)
        r = subprocess.run([a.query, "--python", py, "--status"], capture_output=True, text=True)
        check("entrypoints-query --python: the venv's cache is fresh",
              r.returncode == 0 and any(line.split("\t")[:2] == [site, "fresh"]
                                        for line in r.stdout.splitlines()), r.stdout + r.stderr)
        for params in ({}, {"group": "g1"}, {"group": "g2"}, {"group": "none"}):
            want = subprocess.run([py, "-I", "-c", IMPORTLIB, json.dumps(params)],
                                  capture_output=True, text=True)
            for extra in ([], ["--no-cache"]):
                cmd = [a.query, "--python", py, "--format", "json"] + extra
                if params:
                    cmd += ["--group", params["group"]]
                got = subprocess.run(cmd, capture_output=True, text=True)
                check("%s = importlib of %s" % (" ".join(cmd[1:]), py),
                      want.returncode == 0 and got.returncode == 0 and
                      json.loads(got.stdout) == json.loads(want.stdout),
                      "importlib: %s%s\nentrypoints-query: %s%s" % (
                          want.stdout, want.stderr, got.stdout, got.stderr))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
