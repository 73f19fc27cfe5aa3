# SPDX-License-Identifier: MIT
"""importlib.metadata.entry_points(), answered from the epcache caches.

    import epcache
    for ep in epcache.entry_points(group="console_scripts"):
        print(ep.name, ep.value, ep.dist.name, ep.dist.version)

entry_points(*, group=None, name=None, path=None) returns what Python
3.11's importlib.metadata.entry_points(group=..., name=...) finds on path
(sys.path when None, read at each call), as an EntryPoints tuple of
EntryPoint objects with the same interface. Where a directory's cache is
missing, stale or untrusted the directory itself is read, so the answer is
the same either way; zip archives on the path are read by importlib.

After answering, the caches of stale directories that belong to the
calling user (a virtualenv pip changed) are rebuilt; EPCACHE_NO_WRITE=1
turns that off. Metadata importlib would raise on (an entry_points.txt
line without '=') is left out with a MetadataWarning naming file and line.
Importing this module imports nothing else.
"""
import sys as _sys

if _sys.version_info < (3, 10):
    # importlib.metadata of 3.9 and older keeps every distribution of a
    # name and returns a dict: an answer the library does not give
    raise ImportError("epcache needs Python 3.10 or later, this is %d.%d"
                      % _sys.version_info[:2])

from ._epcache import (Distribution, EntryPoint, EntryPoints, MetadataWarning,
                       entry_points, library_version, path_status)

__all__ = ["Distribution", "EntryPoint", "EntryPoints", "MetadataWarning",
           "accelerate", "entry_points", "path_status"]
__version__ = library_version


def accelerate():
    """Answer importlib.metadata.entry_points() itself, and each
    PathDistribution's entry_points, from the caches in this process (what
    epcache-accelerate.pth does for every program), and the same of the
    importlib_metadata backport once it is imported: importlib's own
    objects and answers. True when in place; never raises (a warning says
    why not)."""
    from ._accelerate import install
    return install()
