# SPDX-License-Identifier: MIT
"""What a build of the module needs to know about the interpreter running
this script, asked from the interpreter itself (sysconfig, never distutils,
which Python 3.12 removed and Debian 12's meson 1.0 still relies on).

    python3 python-config.py PREFIX

Prints four lines: the version (3.X), the directory of Python.h,
EXT_SUFFIX, and where the package goes (platlib, relative to PREFIX). Exit status 1 with the reason on stderr when the
interpreter cannot have the module.
"""
import os
import sys
import sysconfig

# 3.9's importlib.metadata does not deduplicate distributions and returns
# a dict: a second set of semantics the C library does not have.
MIN = (3, 10)

if sys.version_info < MIN:
    sys.exit("Python %d.%d is too old for the module epcache: it needs %d.%d or "
             "later (importlib.metadata of 3.9 and older keeps every "
             "distribution of a name and returns a dict)" %
             (sys.version_info[:2] + MIN))
prefix = sys.argv[1]
include = sysconfig.get_path("include")
if not os.path.exists(os.path.join(include, "Python.h")):
    sys.exit("%s has no Python.h: the interpreter's development headers "
             "are not installed" % include)
ext_suffix = sysconfig.get_config_var("EXT_SUFFIX")
if not ext_suffix or not ext_suffix.startswith("."):
    sys.exit("the interpreter gives no EXT_SUFFIX")
platlib = sysconfig.get_path("platlib", vars={"base": prefix, "platbase": prefix,
                                              "installed_base": prefix,
                                              "installed_platbase": prefix})
print("%d.%d" % sys.version_info[:2])
print("%s" % include)
print("%s" % ext_suffix)
print("%s" % os.path.relpath(platlib, prefix))
