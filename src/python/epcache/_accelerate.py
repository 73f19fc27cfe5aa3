# SPDX-License-Identifier: MIT
"""importlib.metadata.entry_points() itself, answered from the caches.

install() replaces importlib.metadata.entry_points with a function that
does what importlib's does -- chain(dist.entry_points for dist in
unique(distributions())) then the selection -- walking the same finders
of sys.meta_path with the same Context, but where the path finder would
read a path entry whose cache is fresh and trusted, the entry's rows come
from the cache (_epcache._accel_entry). The objects are importlib's own:
EntryPoint (with .dist a PathDistribution of the distribution's
directory), EntryPoints, SelectableGroups (3.10, 3.11).

It also answers PathDistribution.entry_points, which programs read for
every distribution in turn (pluggy, flake8: for dist in distributions()),
from the records of the distribution's directory when that directory's
cache is fresh and the distribution's entry_points.txt is the file it was
when the cache was judged fresh (_epcache._accel_records).

A repeated entry_points() call hands out the entry points the same call
built before from a path entry's cache, after a freshness check of that
cache, where importlib's EntryPoint cannot be changed (3.11+, the
backport; as a program caching them itself would); a path entry whose cache
was not used is importlib's for a second before it is asked again.

Everything else is importlib's own code: other finders, path entries
without a fresh cache (zips, eggs, uncached or stale directories),
distributions(), distribution(), version(), metadata(), requires(),
files().

It never raises while installing and gives importlib back untouched, with
one RuntimeWarning, when the extension cannot be loaded or importlib's
internals are not the ones this was written against. At call time, when
something else has replaced a part of importlib it relies on (a test's
monkeypatch, another finder's wrapper), or the selection is one it does
not handle (module=, extras=, a value that is not a str), the call is
importlib's own entry_points().
"""
import os
import sys
from time import monotonic_ns

_MARK = "_epcache_accelerated"

# co_names of the importlib functions whose behaviour this reproduces, as
# in CPython 3.10-3.13: a change there means other semantics, maybe.
_EXPECTED = {
    "entry_points": {
        ('operator', 'attrgetter', 'functools', 'partial', 'unique_everseen',
         'itertools', 'chain', 'from_iterable', 'distributions',
         'SelectableGroups', 'load', 'select'),
        ('itertools', 'chain', 'from_iterable', '_unique', 'distributions',
         'SelectableGroups', 'load', 'select'),
        ('itertools', 'chain', 'from_iterable', '_unique', 'distributions',
         'EntryPoints', 'select'),
    },
    "MetadataPathFinder._search_paths": {
        ('Prepared', 'itertools', 'chain', 'from_iterable', 'map',
         'FastPath'),
    },
    "MetadataPathFinder.find_distributions": {
        ('_search_paths', 'name', 'path', 'map', 'PathDistribution'),
    },
    "PathFinder.find_distributions": {
        ('importlib.metadata', 'MetadataPathFinder', 'find_distributions'),
    },
    "FastPath.search": {('lookup', 'mtime', 'search')},
    "Distribution.entry_points": {
        ('EntryPoints', '_from_text_for', 'read_text'),
    },
}


def _warn(msg):
    import warnings
    warnings.warn("epcache accelerator not used: " + msg, RuntimeWarning,
                  stacklevel=2)


def _code_names(f):
    return getattr(f, "__func__", f).__code__.co_names


def _check(md, path_find=None, label="importlib.metadata"):
    """None when @md (importlib.metadata, or the importlib_metadata
    backport) is what this was written for, else why not. @path_find: the
    stdlib's PathFinder.find_distributions, when it has one."""
    if not (3, 10) <= sys.version_info[:2] <= (3, 13):
        return "Python %d.%d is not 3.10-3.13" % sys.version_info[:2]
    try:
        funcs = {
            "entry_points": md.entry_points,
            "MetadataPathFinder._search_paths":
                md.MetadataPathFinder._search_paths,
            "MetadataPathFinder.find_distributions":
                md.MetadataPathFinder.find_distributions,
            "FastPath.search": md.FastPath.search,
            "Distribution.entry_points": md.Distribution.entry_points.fget,
        }
        if path_find is not None:
            funcs["PathFinder.find_distributions"] = path_find
        for name in ("EntryPoint", "EntryPoints", "PathDistribution",
                     "Prepared", "DistributionFinder"):
            getattr(md, name)
        md.EntryPoint._for
        md.FastPath.lookup
        md.FastPath.mtime
        md.EntryPoints._from_text_for
        md.PathDistribution.read_text
        if hasattr(md, "SelectableGroups"):
            md.SelectableGroups.load
        elif sys.version_info < (3, 12):
            return "%s has no SelectableGroups" % label
        for name, f in funcs.items():
            if _code_names(f) not in _EXPECTED[name]:
                return "%s's %s is not the one expected" % (label, name)
    except Exception as e:  # an attribute gone, not a function...
        return "%s's internals changed (%s: %s)" % (
            label, type(e).__name__, e)
    return None


def _func(f):
    return getattr(f, "__func__", f)


# The path-based finders whose directories the caches answer for, by
# their find_distributions function: the stdlib's PathFinder, and the
# importlib_metadata backport's MetadataPathFinder, which programs on
# Debian 12 import (cliff, and so openstack): it removes the stdlib's
# from path discovery and puts its own on sys.meta_path.
_KINDS = {}
_backport_tried = []


class _Kind:
    """One module's path discovery: its classes, and whether they are
    still the ones this was installed over."""

    def __init__(self, md):
        self.md = md
        self.EntryPoint = md.EntryPoint
        self.PathDistribution = md.PathDistribution
        self.FastPath = md.FastPath
        self.Prepared = md.Prepared
        self.MPF = md.MetadataPathFinder
        self.mpf_find = _func(md.MetadataPathFinder.find_distributions)
        self.mpf_search = _func(md.MetadataPathFinder._search_paths)
        self.fp_search = md.FastPath.search
        self.dist_eps = md.Distribution.__dict__["entry_points"]
        # Its EntryPoint objects cannot be changed (3.11+, the backport):
        # a repeated call may hand out the same ones again, as a program
        # keeping its own cache would. 3.10's can, so each call builds
        # its own.
        self.shared = self.EntryPoint.__setattr__ is not object.__setattr__
        # root -> (its Lookup, its names, normalized -> path)
        self.known = {}

    def untouched(self):
        md = self.md
        return (md.MetadataPathFinder is self.MPF
                and _func(self.MPF.find_distributions) is self.mpf_find
                and _func(self.MPF._search_paths) is self.mpf_search
                and self.FastPath.search is self.fp_search
                and md.Distribution.__dict__.get("entry_points")
                is self.dist_eps
                and getattr(getattr(self.PathDistribution.__dict__.get(
                    "entry_points"), "fget", None), _MARK, True)
                and md.EntryPoint is self.EntryPoint
                and md.PathDistribution is self.PathDistribution
                and md.FastPath is self.FastPath)

    def names_of(self, root):
        """The module's own view of the entry (its Lookup, cached by it
        per mtime): the normalized names of its distributions and the
        directory of the first of each, as unique() would keep it."""
        fp = self.FastPath(root)
        lookup = fp.lookup(fp.mtime)
        have = self.known.get(root)
        if have is not None and have[0] is lookup:
            return have[1], have[2]
        first = {}
        PathDistribution = self.PathDistribution
        for paths in lookup.infos.values():
            for p in paths:
                first.setdefault(PathDistribution(p)._normalized_name, p)
        for paths in lookup.eggs.values():
            for p in paths:
                first.setdefault(PathDistribution(p)._normalized_name, p)
        names = frozenset(first)
        self.known[root] = (lookup, names, first)
        return names, first


def _extension():
    """The extension's calls, or None with one warning."""
    try:
        from ._epcache import _accel_entry, _accel_fresh, _accel_records
    except Exception as e:
        _warn("cannot load the epcache extension (%s: %s)" % (
            type(e).__name__, e))
        return None
    return _accel_entry, _accel_records, _accel_fresh


def _put(md, kind, ext):
    """The accelerator behind @md's entry_points() and its
    PathDistribution's entry_points."""
    eps = _make(md, md.entry_points, ext[0], ext[2])
    prop = _make_dist_entry_points(md, ext[1])
    if kind.find is not None:
        _KINDS[kind.find] = kind
    md.entry_points = eps
    md.PathDistribution.entry_points = prop


def install(md=None):
    """Put the accelerator behind importlib.metadata.entry_points. True
    when it is (or already was) in place; never raises."""
    try:
        if md is None:
            import importlib.metadata as md
        if getattr(md.entry_points, _MARK, False):
            return True
        import importlib.machinery as machinery
        # None when the importlib_metadata backport took path discovery
        # away from the stdlib (its _compat.disable_stdlib_finder()):
        # the stdlib's entry_points() then reads the backport's finder
        path_find = machinery.PathFinder.__dict__.get("find_distributions")
        path_find = getattr(path_find, "__func__", path_find)
        why = _check(md, path_find)
        if why:
            _warn(why)
            return False
        ext = _extension()
        if ext is None:
            return False
        kind = _Kind(md)
        kind.find = path_find
        _put(md, kind, ext)
        _adopt_backport()
        return True
    except Exception as e:  # never into the caller
        try:
            _warn("%s: %s" % (type(e).__name__, e))
        except Exception:
            pass
        return False


def _adopt_backport():
    """Once importlib_metadata has been imported: the accelerator behind
    it too, if it is a version this was written for; else it stays as it
    is, quietly (another library, not importlib's internals changing)."""
    if _backport_tried:
        return
    bp = sys.modules.get("importlib_metadata")
    if bp is None:
        return
    _backport_tried.append(bp)
    try:
        if getattr(bp.entry_points, _MARK, False) or _check(
                bp, None, "importlib_metadata"):
            return
        ext = _extension()
        if ext is not None:
            kind = _Kind(bp)
            kind.find = kind.mpf_find  # its finder is on sys.meta_path
            _put(bp, kind, ext)
    except Exception:
        pass


def uninstall(md=None):
    """Give importlib.metadata (or @md) its own entry_points back."""
    if md is None:
        import importlib.metadata as md
    orig = getattr(md.entry_points, "__wrapped__", None)
    if getattr(md.entry_points, _MARK, False) and orig is not None:
        md.entry_points = orig
    prop = md.PathDistribution.__dict__.get("entry_points")
    if getattr(getattr(prop, "fget", None), _MARK, False):
        del md.PathDistribution.entry_points
    for f, kind in list(_KINDS.items()):
        if kind.md is md:
            del _KINDS[f]


def _make(md, orig, accel_entry, accel_fresh):
    EntryPoints = md.EntryPoints
    Context = md.DistributionFinder.Context
    selectable = hasattr(md, "SelectableGroups")
    SelectableGroups = md.SelectableGroups if selectable else None
    # Without a group, the rows come in the files' order, from the
    # cache's records in one read: 3.12+ keeps that order, and
    # SelectableGroups (3.10, 3.11, the backport) sorts by group itself,
    # stably, as it does importlib's own.
    EntryPoint = md.EntryPoint
    distributions = md.distributions
    # root -> (its cache file's identity, whether it is clean)
    clean = {}
    # (kind, root, group, name) -> (the cache file's identity, the
    # module's listing of the directory, [(normalized, EntryPoint)])
    memo = {}
    # root -> when to ask again about its cache, not used until then
    unused = {}
    # root -> its cache file's path
    cache_paths = {}
    stat = os.stat

    def untouched():
        return (md.distributions is distributions
                and md.EntryPoint is EntryPoint
                and md.EntryPoints is EntryPoints)

    def cache_token(root):
        path = cache_paths.get(root)
        if path is None:
            path = _put_bounded(cache_paths, root, os.path.join(
                root or ".", ".epcache", "entry-points.json"))
        try:
            st = stat(path)
        except (OSError, ValueError):
            return None
        return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns,
                st.st_ctime_ns)

    def build(kind, first, rows, name):
        """(normalized name, EntryPoint) per row, one PathDistribution
        per distribution, as importlib; None when the directory's
        listing no longer has one of them."""
        PathDistribution = kind.PathDistribution
        KEntryPoint = kind.EntryPoint
        items = []
        dists = {}
        dist_norm = None
        dist = None
        for norm, ep_name, value, ep_group in rows:
            if norm is not dist_norm:
                dist_norm = norm
                dist = dists.get(norm)
                if dist is None:
                    path = first.get(norm)
                    if path is None:
                        return None  # changed under us: importlib's
                    dist = dists[norm] = PathDistribution(path)
            if name is None or ep_name == name:
                items.append(
                    (norm, KEntryPoint(ep_name, value, ep_group)._for(dist)))
        return items

    def from_memo(kind, root, key, token):
        """The entry points built from this very cache file by an
        earlier call, when it is still fresh and the module's listing of
        the directory is the same: (names, items), or None."""
        m = memo.get(key)
        if m is None or m[0] != token or not accel_fresh(root):
            return None
        try:
            names, first = kind.names_of(root)
        except Exception:
            return None
        # the file judged fresh is the one the entry points came from
        if first is not m[1] or cache_token(root) != token:
            return None
        return names, m[2]

    def from_cache(kind, root, group, name, seen, out):
        """Append what the path entry @root contributes from its cache;
        False (having appended nothing) when its cache is not used."""
        if type(root) is not str or root.lower().endswith(".egg"):
            return False
        # An entry whose cache was not used (none, stale, untrusted: most
        # of sys.path) is importlib's for a while before it is asked
        # again, a self-heal included: what each call checks is then
        # the caches that answer.
        retry = unused.get(root)
        if retry is not None:
            if monotonic_ns() < retry:
                return False
            unused.pop(root, None)  # or another thread did
        # Whether the cache's writer left anything out (importlib raises
        # there, or keeps a NUL) is asked once per cache file: that reads
        # all of it. A rebuild renames a new file into place.
        token = cache_token(root)
        have = clean.get(root)
        key = (kind, root, group, name)
        got = None
        if token is not None and have is not None and have[0] == token:
            if not have[1]:
                return False
            if kind.shared:
                got = from_memo(kind, root, key, token)
            if got is None:
                got = from_rows(kind, root, key, token, accel_entry(
                    root, group, False, group is None), group, name)
        else:
            rows = accel_entry(root, group, True, group is None)
            if token is not None and rows is not None:
                clean[root] = (token, rows is not False)
            got = from_rows(kind, root, key, token, rows, group, name)
        if got is None:
            return False
        names, items = got
        out.extend(ep for norm, ep in items if norm not in seen)
        seen.update(names)
        return True

    def from_rows(kind, root, key, token, rows, group, name):
        """(names, items) built from what _accel_entry() gave, kept for
        the next same call; None when the cache is not used (the entry
        is put aside for a while, unless an odd group was the cause)."""
        if rows is None and (group is None or "\0" not in group):
            _put_bounded(unused, root, monotonic_ns() + _RETRY_NS)
        if rows is None or rows is False:
            return None
        try:
            names, first = kind.names_of(root)
        except Exception:
            return None  # importlib's own code will say what is wrong
        items = build(kind, first, rows, name)
        if items is None:
            return None
        if kind.shared and token is not None:
            _put_bounded(memo, key, (token, first, items))
        return names, items

    def from_dists(dists, params, seen, out):
        for dist in dists:
            norm = dist._normalized_name
            if norm in seen:
                continue
            seen.add(norm)
            if params:
                out.extend(ep for ep in dist.entry_points
                           if ep.matches(**params))
            else:
                out.extend(dist.entry_points)

    def entry_points(**params):
        for k, v in params.items():
            if k not in ("group", "name") or type(v) is not str:
                return orig(**params)
        if not untouched():
            return orig(**params)
        if not _backport_tried:
            _adopt_backport()
        group = params.get("group")
        name = params.get("name")
        out = []
        seen = set()
        context = Context()
        for finder in sys.meta_path:
            find = getattr(finder, "find_distributions", None)
            if find is None:
                continue
            kind = _KINDS.get(_func(find))
            if kind is None or not kind.untouched():
                from_dists(find(context), params, seen, out)
                continue
            prepared = kind.Prepared(None)
            for root in context.path:
                if not from_cache(kind, root, group, name, seen, out):
                    from_dists(map(kind.PathDistribution,
                                   kind.FastPath(root).search(prepared)),
                               params, seen, out)
        if selectable and not params:
            return SelectableGroups.load(out)
        if selectable and group is None:
            # SelectableGroups.select(): by group, each in path order
            out.sort(key=_by_group)
        return EntryPoints(out)

    entry_points.__wrapped__ = orig
    entry_points.__doc__ = orig.__doc__
    entry_points.__name__ = orig.__name__
    entry_points.__qualname__ = orig.__qualname__
    entry_points.__module__ = orig.__module__
    setattr(entry_points, _MARK, True)
    return entry_points


# A file whose ctime is this close to the moment its directory's cache
# was judged fresh may have changed within the same timestamp tick (the
# racy-timestamp rule, as the writer's): its records are not used.
_RACY_NS = 2 * 10**9
# At most this many (path entry, selection) results kept per module.
_MEMO_MAX = 256
# How long a directory whose cache is not used stays with importlib before
# it is asked again (a self-heal may have rebuilt it meanwhile).
_RETRY_NS = 10**9


def _put_bounded(d, key, value):
    """d[key] = value, emptying @d first when it holds _MEMO_MAX: a
    program's path entries and selections are few, a bound is still owed."""
    if len(d) >= _MEMO_MAX:
        d.clear()
    d[key] = value
    return value


def _make_dist_entry_points(md, accel_records):
    """A property for PathDistribution.entry_points: importlib's own
    answer, from the records of the distribution's directory where they
    are importlib's answer."""
    import pathlib
    from time import time_ns
    EntryPoint = md.EntryPoint
    EntryPoints = md.EntryPoints
    PathDistribution = md.PathDistribution
    PosixPath = pathlib.PosixPath
    orig = md.Distribution.__dict__["entry_points"].fget
    read_text = PathDistribution.read_text
    from_text_for = EntryPoints.__dict__["_from_text_for"]
    stat = os.stat
    join = os.path.join
    # root -> [its stat, when judged, child -> rows (None: importlib's)
    #          or None, child -> stat of its entry_points.txt before that]
    dirs = {}

    def key_of(st):
        return (st.st_dev, st.st_ino, st.st_mtime_ns)

    def file_key(path):
        """entry_points.txt's identity: None when it is absent (importlib
        reads nothing then), False when stat() fails otherwise."""
        try:
            st = stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError):
            return False
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                st.st_ctime_ns)

    def load(root, key):
        """The records of @root, judged fresh now, with the identity each
        distribution's entry_points.txt had before that."""
        now = time_ns()
        before = {}
        try:
            egg = root.lower().endswith(".egg")
            for child in os.listdir(root or "."):
                low = child.lower()
                if (low.endswith((".dist-info", ".egg-info"))
                        or (egg and low == "egg-info")):
                    before[child] = file_key(join(root, child,
                                                  "entry_points.txt"))
        except (OSError, ValueError):
            return [key, now, None, None]
        records = accel_records(root, list(before))
        try:
            if records is None or key_of(stat(root or ".")) != key:
                records = None
        except (OSError, ValueError):
            records = None
        return [key, now, records, before]

    def rows_of(path):
        """(name, value, group) of each entry point PathDistribution(path)
        reads, or None when importlib must read them."""
        if type(path) is not PosixPath:
            return None
        child = path.name
        if not child:
            return None
        root = str(path.parent)
        try:
            key = key_of(stat(root))
        except (OSError, ValueError):
            return None
        d = dirs.get(root)
        if (d is None or d[0] != key
                or (d[2] is None and time_ns() - d[1] > _RETRY_NS)):
            d = dirs[root] = load(root, key)
        if d[2] is None:
            return None
        now = file_key(join(str(path), "entry_points.txt"))
        if now is None:
            return ()  # importlib reads nothing: no entry points
        was = d[3].get(child)
        if not now or now != was or now[4] > d[1] - _RACY_NS:
            return None  # changed since, or maybe within its tick
        return d[2].get(child)

    def entry_points(self):
        if (type(self) is PathDistribution
                and PathDistribution.read_text is read_text
                and EntryPoints.__dict__.get("_from_text_for")
                is from_text_for
                and md.EntryPoint is EntryPoint):
            try:
                rows = rows_of(self._path)
            except Exception:
                rows = None
            if rows is not None:
                return EntryPoints(EntryPoint(name, value, group)._for(self)
                                   for name, value, group in rows)
        return orig(self)

    entry_points.__doc__ = orig.__doc__
    entry_points.__name__ = orig.__name__
    entry_points.__qualname__ = orig.__qualname__
    entry_points.__module__ = orig.__module__
    entry_points.__wrapped__ = orig
    setattr(entry_points, _MARK, True)
    return property(entry_points)


def _by_group(ep):
    return ep.group


def disabled():
    """EPCACHE_NO_ACCELERATE set to anything but '' or '0'."""
    return os.environ.get("EPCACHE_NO_ACCELERATE", "") not in ("", "0")
