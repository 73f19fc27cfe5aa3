# SPDX-License-Identifier: MIT
"""Small site directories for the Python module's tests."""
import os
import zipfile


def dist(site, dirname, name=None, version="1.0", eps=None, meta_file=None):
    """A distribution directory DIRNAME in SITE with a metadata file (Name:
    and Version: when given) and, when EPS is given, its entry_points.txt
    (a dict group -> [lines] or the text itself)."""
    d = os.path.join(site, dirname)
    os.makedirs(d, exist_ok=True)
    if meta_file is None:
        meta_file = "PKG-INFO" if dirname.endswith(".egg-info") else "METADATA"
    with open(os.path.join(d, meta_file), "w") as f:
        f.write("Metadata-Version: 2.1\n")
        if name is not None:
            f.write("Name: %s\n" % name)
        if version is not None:
            f.write("Version: %s\n" % version)
    if eps is not None:
        with open(os.path.join(d, "entry_points.txt"), "w") as f:
            f.write(eps_text(eps))
    return d


def eps_text(eps):
    if isinstance(eps, str):
        return eps
    return "".join("[%s]\n%s\n\n" % (g, "\n".join(lines)) for g, lines in eps.items())


def zip_site(path, dists):
    """A zip archive with DISTS: [(dirname, name, version, eps)]."""
    with zipfile.ZipFile(path, "w") as z:
        for dirname, name, version, eps in dists:
            z.writestr("%s/METADATA" % dirname,
                       "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version))
            if eps is not None:
                z.writestr("%s/entry_points.txt" % dirname, eps_text(eps))
    return path
