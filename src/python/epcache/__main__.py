# SPDX-License-Identifier: MIT
"""python3 -m epcache [--group G] [--name N] [--status]

Print what entrypoints-query prints, for this interpreter's sys.path:
GROUP<TAB>NAME = VALUE<TAB>(DIST VERSION), '-' for an unknown DIST or
VERSION; with --status, PATH<TAB>STATUS<TAB>REASON for each path entry.
"""
import argparse
import sys

from . import entry_points, path_status


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m epcache",
        description="Print the entry points importlib.metadata finds on "
                    "this interpreter's sys.path, from the epcache caches.")
    ap.add_argument("--group", help="only entry points of group GROUP")
    ap.add_argument("--name", help="only entry points named NAME")
    ap.add_argument("--status", action="store_true",
                    help="print each path entry's cache status instead")
    args = ap.parse_args(argv)
    out = sys.stdout
    if args.status:
        for path, status, reason in path_status():
            out.write("%s\t%s\t%s\n" % (path, status, reason or ""))
        return 0
    eps = entry_points(group=args.group, name=args.name)
    if isinstance(eps, dict):
        # SelectableGroups (3.10, 3.11): its values, without the warning
        eps = [ep for group in dict.values(eps) for ep in group]
    if args.group is None:
        # as entrypoints-query prints them: by group (3.12's entry_points()
        # gives distribution order), each group in importlib's order
        eps = sorted(eps, key=lambda ep: ep.group)
    for ep in eps:
        d = ep.dist
        out.write("%s\t%s = %s\t(%s %s)\n" % (
            ep.group, ep.name, ep.value,
            "-" if d is None or d.name is None else d.name,
            "-" if d is None or d.version is None else d.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
