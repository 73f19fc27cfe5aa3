/* SPDX-License-Identifier: MIT */
/*
 * The parts of the _epcache extension module, one job per file:
 *   module.c        entry_points() and path_status(): lookups, the zip
 *                   fallback hand-over, the library's log
 *   entry-point.c   the EntryPoint type (importlib.metadata.EntryPoint)
 *   entry-points.c  the EntryPoints type (a tuple of EntryPoint)
 *   distribution.c  the Distribution type (name and version only)
 *   self-heal.c     rebuilding the caches of the caller's own stale dirs
 */
#ifndef EPCACHE_PYTHON_H
#define EPCACHE_PYTHON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* python-config.py refuses older interpreters already: 3.9's
 * importlib.metadata keeps every distribution of a name */
#if PY_VERSION_HEX < 0x030A0000
#error "the module epcache needs Python 3.10 or later"
#endif

#include "epcache.h"

extern PyTypeObject EpyEntryPoint_Type;
extern PyTypeObject EpyEntryPoints_Type;
extern PyTypeObject EpyDistribution_Type;

/* Decode a string the library gave us; NULL gives None. Library strings
 * are UTF-8, except normalized names of directories whose names are not:
 * those keep their bytes as os.listdir() would (surrogateescape). */
PyObject *epy_str(const char *s);

/* A new EntryPoint; steals nothing. @dist may be NULL (None). */
PyObject *epy_entry_point_new(PyObject *name, PyObject *value,
			      PyObject *group, PyObject *dist);

/* A new Distribution from the Name: and Version: headers (NULL: None). */
PyObject *epy_distribution_new(const char *name, const char *version);

/* ep.matches(**params) for any object with the attributes; -1 on error. */
int epy_entry_point_matches(PyObject *ep, PyObject *params);

/*
 * Rebuild, quietly and without fsync, the cache of every path entry of
 * @lookup that is the caller's own, writable, and stale (or corrupt, or
 * missing in a directory named site-packages or dist-packages), unless
 * EPCACHE_NO_WRITE is set to anything but "" or "0". Call it without the
 * GIL: it does file system work and never touches Python objects.
 */
void epy_self_heal(const struct epcache_lookup *lookup);

/* _epcache._accel_entry(path, group): accelerate.c */
PyObject *epy_accel_entry(PyObject *module, PyObject *args);
/* _epcache._accel_fresh(path): the same */
PyObject *epy_accel_fresh(PyObject *module, PyObject *args);
/* _epcache._accel_records(path, children): the same */
PyObject *epy_accel_records(PyObject *module, PyObject *args);

#endif /* EPCACHE_PYTHON_H */
