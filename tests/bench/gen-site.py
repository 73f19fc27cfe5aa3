#!/usr/bin/python3
"""Generate a synthetic site-packages directory for benchmarks.

gen-site.py DEST N [--seed S]

N distributions, about 60% with entry points, a skewed group mix
(plus "bench.fixed": exactly 5 entries in 5 distributions at any N, so
that lookups of one same-sized group can be compared across sizes)
(console_scripts and a few popular plugin groups get most entries, a long
tail of small groups), about 10% as .egg-info directories, realistic
METADATA sizes. Deterministic for a given seed.
"""
import argparse
import os
import random

POPULAR = ["console_scripts", "gui_scripts", "pytest11", "flake8.extension",
           "distutils.commands", "setuptools.finalize_distribution_options"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dest")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    os.makedirs(args.dest, exist_ok=True)
    tail = ["plugins.group%03d" % i for i in range(200)]
    desc = "Lorem ipsum dolor sit amet. " * 60
    for i in range(args.n):
        name = "pkg%05d" % i
        egg = rnd.random() < 0.10
        d = os.path.join(args.dest, "%s-1.%d.%s" % (
            name, i % 7, "egg-info" if egg else "dist-info"))
        os.makedirs(d, exist_ok=True)
        md = "PKG-INFO" if egg else "METADATA"
        with open(os.path.join(d, md), "w") as f:
            f.write("Metadata-Version: 2.1\nName: %s\nVersion: 1.%d\n"
                    "Summary: synthetic\n\n%s\n" % (name, i % 7, desc))
        fixed = i % max(args.n // 5, 1) == 0 and i // max(args.n // 5, 1) < 5
        if rnd.random() >= 0.60 and not fixed:
            continue
        lines = []
        groups = {}
        if fixed:
            groups["bench.fixed"] = ["%s = %s.fixed:plugin" % (name, name)]
        for _ in range(rnd.randint(0 if fixed else 1, 18)):
            r = rnd.random()
            if r < 0.45:
                g = "console_scripts"
            elif r < 0.75:
                g = rnd.choice(POPULAR[1:])
            else:
                # Zipf-like tail: low-numbered groups are far more common
                g = tail[min(int(rnd.paretovariate(1.2)) - 1, 199)]
            groups.setdefault(g, []).append(
                "%s-%d = %s.mod%d:func [extra]" % (name, len(lines), name,
                                                 len(lines)))
            lines.append(None)
        with open(os.path.join(d, "entry_points.txt"), "w") as f:
            for g, eps in groups.items():
                f.write("[%s]\n%s\n\n" % (g, "\n".join(eps)))


if __name__ == "__main__":
    main()
