#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The hook scripts on their own, run the way installers run them but
without an installer: hooks/update-changed-sites (rpm, alpm), the dpkg
maintainer scripts (hooks/dpkg/) under a DPKG_ROOT, and pip-epcache's
error paths. Mostly what goes wrong: paths that are no site directory,
directories that do not exist, a tool that fails or is missing, a bad
configuration, a planted symlink; none of it may fail the installer's
transaction or touch anything outside the site directories.

test-hook-scripts.py --source SRC --query Q --update U
"""
import os
import shutil

from installer_test import (FIXTURE, args, cache_file, check, dist_files,
                            finish, pip_env, run, status, tmpdir, wheel,
                            write_tree)


def main():
    a = args()
    tmp = tmpdir("hooks")
    try:
        # The tool the scripts find on PATH is the build's.
        env = {"PATH": "%s:%s" % (os.path.dirname(a.update), os.environ["PATH"])}
        changed_sites(a, tmp, env)
        dpkg_scripts(a, tmp, env)
        pip_errors(a, tmp, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


def cache_id(site):
    try:
        st = os.stat(cache_file(site))
        return (st.st_ino, st.st_mtime_ns)
    except OSError:
        return None


def changed_sites(a, tmp, env):
    script = os.path.join(a.source, "hooks", "update-changed-sites")
    root = os.path.join(tmp, "ucs")
    A = os.path.join(root, "usr/lib/python3.11/site-packages")
    B = os.path.join(root, "usr/lib/python3/dist-packages")
    nested = os.path.join(A, "vendored/site-packages")
    for d in (A, B, nested):
        write_tree(d, dist_files("epfixture", "1.0", FIXTURE))
    lines = [os.path.join(A, "epfixture/__init__.py"),
             os.path.join(A, "epfixture-1.0.dist-info/RECORD").lstrip("/"),
             B,
             os.path.join(nested, "x.py"),
             "/etc/passwd",
             "",
             "/nonexistent/site-packages/x.py",
             os.path.join(root, "usr/lib/python3.11/site-packagesX/y"),
             os.path.join(A, "last-line-without-newline")]
    rc, out = run([script], env=env, input="\n".join(lines))
    check("update-changed-sites: exit 0", rc == 0, out)
    check("update-changed-sites: both site directories cached",
          status(a.query, A)[0] == status(a.query, B)[0] == "fresh",
          "%s %s\n%s" % (status(a.query, A), status(a.query, B), out))
    check("update-changed-sites: only the first site-packages of a path",
          not os.path.exists(os.path.join(nested, ".epcache")), out)

    before = cache_id(A)
    rc, out = run([script, "-n"], env=env, input=A + "/epfixture/x.py\n")
    check("update-changed-sites -n: a fresh cache is left alone",
          rc == 0 and cache_id(A) == before, out)
    rc, out = run([script], env=env, input=A + "/epfixture/x.py\n")
    check("update-changed-sites: a fresh cache is rebuilt without -n",
          rc == 0 and cache_id(A) not in (before, None), out)

    rc, out = run([script, "--remove"], env=env, input=A + "/x\n")
    check("update-changed-sites --remove: the cache is gone",
          rc == 0 and not os.path.exists(cache_file(A)), out)

    # The tool fails on B (its cache directory is a file): reported, A
    # still done, and the transaction is not failed.
    shutil.rmtree(os.path.join(B, ".epcache"))
    with open(os.path.join(B, ".epcache"), "w") as f:
        f.write("not a directory\n")
    rc, out = run([script], env=env, input="%s/x\n%s/y\n" % (B, A))
    check("update-changed-sites: a failing directory does not fail the hook",
          rc == 0 and "were not updated" in out, out)
    check("update-changed-sites: the other directory is still done",
          status(a.query, A)[0] == "fresh", status(a.query, A))
    os.unlink(os.path.join(B, ".epcache"))

    rc, out = run([script, "--bogus"], env=env, input="")
    check("update-changed-sites: a bad option is a usage error",
          rc == 1 and "usage" in out, out)


def dpkg_scripts(a, tmp, env):
    hooks = os.path.join(a.source, "hooks", "dpkg")
    root = os.path.join(tmp, "dpkgroot")
    site = os.path.join(root, "usr/lib/python3/dist-packages")
    write_tree(site, dist_files("epfixture", "1.0", FIXTURE))
    # Where this build of the tool reads its configuration (under the root).
    rc, out = run([a.update, "--help"])
    words = out.split()
    conf_path = next((w for w in words if w.endswith("/entrypoints-cache.yaml")),
                     "/etc/entrypoints-cache.yaml")
    conf = os.path.join(root, conf_path.lstrip("/"))
    os.makedirs(os.path.dirname(conf))
    with open(conf, "w") as f:
        f.write("directories:\n  - /usr/lib/python3/dist-packages\n")
    renv = dict(env, DPKG_ROOT=root)

    rc, out = run([os.path.join(hooks, "postinst"), "triggered",
                   "/usr/lib/python3/dist-packages /usr/lib/python3.99/gone "
                   "a-named-trigger"], env=renv)
    check("postinst triggered: caches R's directory, skips the rest",
          rc == 0 and status(a.query, site)[0] == "fresh", out)
    check("postinst triggered: nothing written outside the root",
          not os.path.exists("/usr/lib/python3.99/gone"), out)

    shutil.rmtree(os.path.join(site, ".epcache"))
    with open(os.path.join(site, ".epcache"), "w") as f:
        f.write("not a directory\n")
    rc, out = run([os.path.join(hooks, "postinst"), "triggered",
                   "/usr/lib/python3/dist-packages"], env=renv)
    check("postinst triggered: a failing tool warns, does not fail",
          rc == 0 and "not" in out and "written" in out, out)
    os.unlink(os.path.join(site, ".epcache"))

    rc, out = run([os.path.join(hooks, "postinst"), "configure", ""], env=renv)
    check("postinst configure: --all caches R's configured directory",
          rc == 0 and status(a.query, site)[0] == "fresh", out)

    with open(conf, "w") as f:
        f.write("directories: [unclosed\n")
    rc, out = run([os.path.join(hooks, "postinst"), "configure", ""], env=renv)
    check("postinst configure: a bad configuration warns, does not fail",
          rc == 0 and "entrypoints-cache.yaml:" in out, out)
    with open(conf, "w") as f:
        f.write("directories:\n  - /usr/lib/python3/dist-packages\n")

    rc, out = run([os.path.join(hooks, "prerm"), "upgrade", "0.1.0"], env=renv)
    check("prerm upgrade: the caches stay",
          rc == 0 and os.path.exists(cache_file(site)), out)
    rc, out = run([os.path.join(hooks, "prerm"), "remove"], env=renv)
    check("prerm remove: R's configured caches are removed",
          rc == 0 and not os.path.exists(os.path.join(site, ".epcache")), out)

    rc, out = run([os.path.join(hooks, "postrm"), "purge"], env=renv)
    check("postrm purge: nothing to remove is fine", rc == 0, out)
    run([a.update, site])
    rc, out = run([os.path.join(hooks, "postrm"), "purge"], env=renv)
    check("postrm purge: a cache left behind is removed",
          rc == 0 and not os.path.lexists(os.path.join(site, ".epcache")), out)

    # A planted symlink: its target's files stay.
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere)
    victim = os.path.join(elsewhere, "entry-points.json")
    open(victim, "w").close()
    os.symlink(elsewhere, os.path.join(site, ".epcache"))
    rc, out = run([os.path.join(hooks, "postrm"), "purge"], env=renv)
    check("postrm purge: does not follow a symlinked .epcache",
          rc == 0 and os.path.exists(victim), out)
    os.unlink(os.path.join(site, ".epcache"))


def pip_errors(a, tmp, env):
    wrapper = os.path.join(a.source, "hooks", "pip-epcache")
    whl = wheel(tmp, "epfixture", "1.0", FIXTURE)
    penv = dict(env, **pip_env())
    penv["EPCACHE_PIP_PYTHON"] = "/usr/bin/python3"

    rc, out = run([wrapper, "--version"],
                  env=dict(penv, EPCACHE_PIP_PYTHON="/nonexistent/python3"))
    check("pip-epcache: an interpreter that cannot run: 127 and why",
          rc == 127 and "/nonexistent/python3" in out, out)

    target = os.path.join(tmp, "t1")
    rc, out = run([wrapper, "install", "--target", target, whl],
                  env=dict(penv, EPCACHE_UPDATE="/nonexistent/update-entrypoints-cache"))
    check("pip-epcache: a missing tool is reported, pip's status kept",
          rc == 0 and "cannot run /nonexistent" in out
          and os.path.isdir(os.path.join(target, "epfixture-1.0.dist-info")), out)

    target = os.path.join(tmp, "t2")
    rc, out = run([wrapper, "install", "--target", target, whl],
                  env=dict(penv, EPCACHE_UPDATE="/bin/false"))
    check("pip-epcache: a failing tool is reported, pip's status kept",
          rc == 0 and "were not updated" in out, out)

    target = os.path.join(tmp, "t3")
    rc, out = run([wrapper, "install", "--target", target, whl], env=penv)
    check("pip-epcache: --target with the system interpreter is cached",
          rc == 0 and status(a.query, target)[0] == "fresh", out)

    rc, out = run([wrapper, "--no-such-option"], env=penv)
    check("pip-epcache: pip's usage error is its exit status",
          rc != 0 and "no such option" in out, out)


if __name__ == "__main__":
    main()
