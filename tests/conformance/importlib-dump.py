#!/usr/bin/python3 -SI
# SPDX-License-Identifier: MIT
"""Print what /usr/bin/python3's importlib.metadata says about entry points.

Reference side of the conformance test.  Run it with the system interpreter
in isolated mode, without site:

    /usr/bin/python3 -S -I importlib-dump.py --path DIR [--path DIR]... \
        [--group G] [--name N]

sys.path is set to exactly the given list and importlib.metadata.entry_points()
is called (with group=G / name=N when given).  The output is ONE JSON array,
the same shape as `entrypoints-query --format json`:

    [{"group": ..., "name": ..., "value": ..., "dist": {"name": ..., "version": ...}}, ...]

 * with --group G: exactly the order of entry_points(group=G);
 * without --group: on Python 3.10 and 3.11 the SelectableGroups result, i.e.
   every group sorted by group name (Python str order = code point order),
   each in importlib order (SelectableGroups.load is a stable sort by group);
   --name alone gives entry_points(name=N), which is the same order
   filtered. On 3.12 and later, EntryPoints in distribution order.

--batch reads a JSON array of {"group": G|null, "name": N|null} queries from
stdin and prints one JSON array with one result array per query (each from
its own entry_points(**params) call), so a harness needs one interpreter
start per path list instead of one per query.

Exit status: 0 on success, 3 when importlib raised (traceback on stderr; this
is how the corpus generator proves that a "bad" case really breaks importlib),
2 on usage errors or when the SelectableGroups order self-check fails.
"""

import sys

# Import everything importlib.metadata may import lazily *before* sys.path is
# replaced by the directories under test (email.message_from_string imports
# email.parser inside the function, for instance).
import argparse
import email
import email.feedparser
import email.message
import email.parser
import email.policy  # noqa: F401  (pulls the rest of the email package in)
import functools
import importlib.metadata as md
import itertools
import json
import operator
import re
import traceback
import zipfile  # noqa: F401

ORIGINAL_SYS_PATH = list(sys.path)


def ep_to_json(ep, dist_cache):
    dist = ep.dist
    # dist.name / dist.version re-read and re-parse the metadata file on
    # every access; all entry points of one distribution share one dist
    # object, so read its metadata once per query (the files do not change).
    key = id(dist)
    if key not in dist_cache:
        dist_cache[key] = (dist, {
            "name": dist.name if dist is not None else None,
            "version": dist.version if dist is not None else None,
        })
    return {
        "group": ep.group,
        "name": ep.name,
        "value": ep.value,
        "dist": dict(dist_cache[key][1]),
    }


def details(ep):
    """module/attr/extras as importlib computes them (None when the value
    does not match EntryPoint.pattern; importlib's properties would raise)."""
    m = ep.pattern.match(ep.value)
    if m is None:
        return {"match": False}
    return {
        "match": True,
        "module": m.group("module"),
        "attr": m.group("attr"),
        "extras": re.findall(r"\w+", m.group("extras") or ""),
    }


def query(group, name, with_details=False):
    params = {}
    if group is not None:
        params["group"] = group
    if name is not None:
        params["name"] = name
    eps = md.entry_points(**params)

    # 3.10 and 3.11 only; 3.12+ return EntryPoints in distribution order
    if isinstance(eps, getattr(md, "SelectableGroups", ())):
        # No selection parameters: a dict of group -> EntryPoints.  Use the
        # plain dict interface (dict.items bypasses the deprecation shims) and
        # check it really is sorted by group and equal to a stable sort of the
        # distribution-ordered chain.
        items = list(dict.items(eps))
        groups = [g for g, _ in items]
        if groups != sorted(groups):
            raise SelfCheckError("SelectableGroups is not sorted by group: %r" % groups)
        flat = [ep for _, group_eps in items for ep in group_eps]
        # 3.10 has no _unique, the same partial inline
        unique = getattr(md, "_unique", None) or functools.partial(
            md._itertools.unique_everseen, key=operator.attrgetter("_normalized_name"))
        chain = list(itertools.chain.from_iterable(
            dist.entry_points for dist in unique(md.distributions())))
        expected = sorted(chain, key=operator.attrgetter("group"))
        if [(e.group, e.name, e.value) for e in flat] != \
                [(e.group, e.name, e.value) for e in expected]:
            raise SelfCheckError("SelectableGroups order differs from a stable sort by group")
    else:
        flat = list(eps)

    out = []
    dist_cache = {}
    for ep in flat:
        o = ep_to_json(ep, dist_cache)
        if with_details:
            o["details"] = details(ep)
        out.append(o)
    return out


class SelfCheckError(Exception):
    pass


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", action="extend", nargs="+", default=[],
                    help="path entry (repeatable; earlier wins, like sys.path)")
    ap.add_argument("--group", default=None)
    ap.add_argument("--name", default=None)
    ap.add_argument("--format", default="json", choices=["json"])
    ap.add_argument("--details", action="store_true",
                    help="add module/attr/extras as importlib parses them")
    ap.add_argument("--batch", action="store_true",
                    help="read a JSON list of {group,name} queries on stdin")
    args = ap.parse_args(argv)

    batch = None
    if args.batch:
        batch = json.load(sys.stdin)

    sys.path[:] = args.path
    try:
        if batch is None:
            result = query(args.group, args.name, args.details)
        else:
            result = [query(q.get("group"), q.get("name"), args.details) for q in batch]
    except SelfCheckError as e:
        sys.path[:] = ORIGINAL_SYS_PATH
        print("importlib-dump: self-check failed: %s" % e, file=sys.stderr)
        return 2
    except Exception:
        sys.path[:] = ORIGINAL_SYS_PATH
        traceback.print_exc()
        return 3
    finally:
        sys.path[:] = ORIGINAL_SYS_PATH

    sys.stdout.write(json.dumps(result, ensure_ascii=True))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
