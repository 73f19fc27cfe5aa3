# SPDX-License-Identifier: MIT
"""Path entries the C reader cannot read (zip archives), read by
importlib.metadata, and merged with the library's answer for the rest.

Imported only when such an entry is on the path. importlib.metadata keeps
the first distribution of each normalized name over the whole path; the
library already did that among the directories, so what is left is:
  - a distribution of zip entry k counts unless an earlier path entry has
    a distribution of the same name (importlib's own discovery of the
    earlier entries says which names they have: directory listings only);
  - a distribution the library found in entry j drops out when a zip entry
    before j has a distribution of that name.
"""
import importlib.metadata as _md
import sys as _sys

from ._epcache import Distribution, EntryPoint


def _names(paths):
    return {d._normalized_name for d in _md.distributions(path=paths)}


def merge(rows, paths, zips, group, name):
    """rows: [(path index, normalized dist name, EntryPoint)] from the
    library, in its order; paths: the path list; zips: the indices of the
    zip entries. Returns EntryPoints in importlib's order."""
    from ._epcache import EntryPoints

    params = {}
    if group is not None:
        params["group"] = group
    if name is not None:
        params["name"] = name
    # all groups: sorted by group before 3.12 (SelectableGroups), in
    # distribution order since
    by_group = group is None and _sys.version_info < (3, 12)
    shadow = {}  # zip index -> the names it has
    out = []     # (group or "", path index, position, EntryPoint)
    for k in zips:
        seen = _names(paths[:k])
        mine = set()
        for dist in _md.distributions(path=[paths[k]]):
            norm = dist._normalized_name
            if norm in mine or norm in seen:
                mine.add(norm)
                continue
            mine.add(norm)
            d = None
            for ep in dist.entry_points:
                if not ep.matches(**params):
                    continue
                if d is None:
                    d = Distribution(dist.name, dist.version)
                ours = EntryPoint(ep.name, ep.value, ep.group)._for(d)
                out.append((ep.group if by_group else "", k, len(out), ours))
        shadow[k] = mine
    for pos, (j, norm, ep) in enumerate(rows):
        if any(k < j and norm in names for k, names in shadow.items()):
            continue
        out.append((ep.group if by_group else "", j, pos, ep))
    # importlib: (before 3.12, every group sorted by name, a stable sort)
    # path order; within one path entry, the order each side gave
    out.sort(key=lambda t: t[:3])
    return EntryPoints(t[3] for t in out)
