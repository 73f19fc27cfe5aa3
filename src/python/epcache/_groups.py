# SPDX-License-Identifier: MIT
"""SelectableGroups: what importlib.metadata.entry_points() returns without
a selection on Python 3.10 and 3.11 (3.12 returns EntryPoints): a dict of
group -> EntryPoints, sorted by group, whose dict interface warns
(DeprecationWarning) and whose select(), groups and names do not.

Imported by the extension module only for such a call, on those versions.
"""
import warnings

from ._epcache import EntryPoints


def _warn():
    # stacklevel 3: the caller of the dict method
    warnings.warn("SelectableGroups dict interface is deprecated. Use select.",
                  DeprecationWarning, stacklevel=3)


class SelectableGroups(dict):
    """A dict of group name -> EntryPoints, sorted by group name."""

    @classmethod
    def load(cls, eps):
        # eps comes sorted by group from the library
        groups = {}
        for ep in eps:
            groups.setdefault(ep.group, []).append(ep)
        return cls((g, EntryPoints(v)) for g, v in groups.items())

    def __getitem__(self, name):
        _warn()
        return super().__getitem__(name)

    def get(self, name, default=None):
        _warn()
        return super().get(name, default)

    def __iter__(self):
        _warn()
        return super().__iter__()

    def __contains__(self, *args):
        _warn()
        return super().__contains__(*args)

    def keys(self):
        _warn()
        return super().keys()

    def values(self):
        _warn()
        return super().values()

    @property
    def _all(self):
        return EntryPoints(ep for eps in dict.values(self) for ep in eps)

    @property
    def groups(self):
        return self._all.groups

    @property
    def names(self):
        return self._all.names

    def select(self, **params):
        if not params:
            return self
        return self._all.select(**params)
