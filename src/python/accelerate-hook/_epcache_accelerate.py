# SPDX-License-Identifier: MIT
"""The start-up half of the epcache accelerator, run by
epcache-accelerate.pth at every interpreter start.

It only puts a finder at the head of sys.meta_path that waits for the
import of importlib.metadata: no other import, no file system work. When
a program imports importlib.metadata, the finder lets the normal finders
find it, and once the module has run, epcache._accelerate.install() puts
the accelerator behind its entry_points() (the extension is loaded then,
not before). A program that never imports importlib.metadata pays for
this module and one Python call per import it makes.

EPCACHE_NO_ACCELERATE=1 turns it off for one process. Nothing here
raises: a failure leaves importlib as it is (with at most one warning,
from install()).
"""
import sys


class EpcacheAccelerateHook:
    """Waits for importlib.metadata; inert once it has been seen."""

    __slots__ = ("done",)

    def __init__(self):
        self.done = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "importlib.metadata" or self.done:
            return None
        self.done = True  # the import system iterates sys.meta_path now:
        try:              # leave it alone until the module has run
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
            loader = spec.loader
            run = loader.exec_module
        except Exception:
            return None

        def exec_module(module):
            try:
                del loader.exec_module
            except Exception:
                pass
            run(module)
            _activate(self, module)

        try:
            loader.exec_module = exec_module
        except Exception:
            return None
        return spec


def _activate(hook, module):
    try:
        sys.meta_path.remove(hook)
    except ValueError:
        pass
    try:
        from epcache import _accelerate
    except Exception as e:
        try:
            import warnings
            warnings.warn("epcache accelerator not used: cannot import "
                          "epcache (%s: %s)" % (type(e).__name__, e),
                          RuntimeWarning)
        except Exception:
            pass
        return
    _accelerate.install(module)


def _start():
    import os
    if os.environ.get("EPCACHE_NO_ACCELERATE", "") not in ("", "0"):
        return
    if "importlib.metadata" in sys.modules:  # another .pth was first
        _activate(None, sys.modules["importlib.metadata"])
        return
    if not any(type(f).__name__ == "EpcacheAccelerateHook"
               for f in sys.meta_path):
        sys.meta_path.insert(0, EpcacheAccelerateHook())


try:
    _start()
except Exception:
    pass
