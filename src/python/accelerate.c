/* SPDX-License-Identifier: MIT */
/*
 * _accel_entry(): what one path entry contributes to
 * importlib.metadata.entry_points(), for the accelerator
 * (epcache/_accelerate.py) that answers importlib's own entry_points()
 * from the caches.
 *
 * The accelerator walks sys.meta_path and the path itself, as importlib
 * does, and asks here about one path entry at a time: only when that
 * entry's cache is fresh and trusted, and was read without a single
 * library message (a corrupt part, a line left out), are its rows
 * returned; otherwise None, and importlib's own code reads the entry.
 * With @check_warnings, False when the cache's writer left something out
 * (importlib raises there, or keeps a NUL): the accelerator asks that
 * once per cache file, as it reads the whole file. The
 * lookup is of that entry alone, so no other entry is scanned and no
 * cross-path rule is applied here: the accelerator applies importlib's
 * first-distribution-wins rule over everything the interpreter finds.
 * An entry whose cache is not used is self-healed as by entry_points()
 * (self-heal.c: the caller's own stale caches only; EPCACHE_NO_WRITE).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-python.h"

/* Any message at all makes the answer importlib's: the library only
 * speaks when it left something out or fell back to a scan. */
static void
note_message(struct epcache *ctx, enum epcache_log_priority prio,
	     void *userdata, const char *fmt, va_list args)
	__attribute__((format(printf, 4, 0)));

static void
note_message(struct epcache *ctx, enum epcache_log_priority prio,
	     void *userdata, const char *fmt, va_list args)
{
	*(bool *)userdata = true;
}

/* One path entry's lookup, every library message noted in @spoke. */
struct accel_lookup {
	struct epcache *ctx;
	struct epcache_lookup *lookup;
	bool spoke;
};

/*
 * 1 with @a->lookup made (NULL when the library failed: importlib's
 * answer), 0 when @path is not a str (importlib's FastPath handles
 * anything else its way), -1 with a Python exception set.
 */
static int
accel_lookup_open(struct accel_lookup *a, PyObject *path)
{
	PyObject *bytes;
	const char *p;
	int rc;

	*a = (struct accel_lookup){0};
	if (!PyUnicode_Check(path) || !PyUnicode_FSConverter(path, &bytes)) {
		PyErr_Clear();
		return 0;
	}
	p = PyBytes_AS_STRING(bytes);
	if (!(a->ctx = epcache_new())) {
		Py_DECREF(bytes);
		PyErr_NoMemory();
		return -1;
	}
	epcache_set_log_handler(a->ctx, note_message, &a->spoke);
	epcache_set_log_priority(a->ctx, EPCACHE_LOG_WARNING);
	Py_BEGIN_ALLOW_THREADS
	rc = epcache_lookup_new(a->ctx, &p, 1, 0, &a->lookup);
	Py_END_ALLOW_THREADS
	Py_DECREF(bytes);
	if (rc == -ENOMEM) {
		PyErr_NoMemory();
		return -1;
	}
	return 1;
}

static void
accel_lookup_close(struct accel_lookup *a)
{
	epcache_lookup_free(a->lookup);
	epcache_free(a->ctx);
}

static bool
accel_fresh(const struct accel_lookup *a)
{
	return a->lookup && epcache_lookup_get_path_status(a->lookup, 0) ==
				    EPCACHE_STATUS_FRESH;
}

/* (normalized, name, value, group) per entry, in importlib's order. */
static PyObject *
rows_of(const struct epcache_selection *sel)
{
	size_t n = epcache_selection_get_count(sel);
	PyObject *out = PyList_New((Py_ssize_t)n);
	PyObject *norm = NULL, *group = NULL;
	const char *norm_key = NULL, *group_key = NULL;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct epcache_entry *e = epcache_selection_get_entry(sel, i);
		const char *nk = epcache_entry_get_dist_normalized_name(e);
		const char *gk = epcache_entry_get_group(e);
		PyObject *row;

		/* one string object per distribution and per group run */
		if (!norm || nk != norm_key) {
			Py_XDECREF(norm);
			if (!(norm = epy_str(nk)))
				goto fail;
			norm_key = nk;
		}
		if (!group || gk != group_key) {
			Py_XDECREF(group);
			if (!(group = epy_str(gk)))
				goto fail;
			group_key = gk;
		}
		row = Py_BuildValue("(ONNO)", norm,
				    epy_str(epcache_entry_get_name(e)),
				    epy_str(epcache_entry_get_value(e)), group);
		if (!row)
			goto fail;
		PyList_SET_ITEM(out, (Py_ssize_t)i, row);
	}
	Py_XDECREF(norm);
	Py_XDECREF(group);
	return out;
fail:
	Py_XDECREF(norm);
	Py_XDECREF(group);
	Py_DECREF(out);
	return NULL;
}

PyObject *
epy_accel_entry(PyObject *module, PyObject *args)
{
	PyObject *path, *group = Py_None, *result = NULL;
	struct accel_lookup a;
	struct epcache_selection *sel = NULL;
	const char *g = NULL;
	int check = 0, unsorted = 0, rc = 0;
	size_t warnings = 0;

	if (!PyArg_ParseTuple(args, "OO|pp:_accel_entry", &path, &group, &check,
			      &unsorted))
		return NULL;
	if (group != Py_None) {
		Py_ssize_t len;

		if (!PyUnicode_Check(group))
			Py_RETURN_NONE;
		g = PyUnicode_AsUTF8AndSize(group, &len);
		if (!g || (size_t)len != strlen(g)) {
			PyErr_Clear(); /* importlib compares; let it */
			Py_RETURN_NONE;
		}
	}
	switch (accel_lookup_open(&a, path)) {
	case 0:
		Py_RETURN_NONE;
	case -1:
		goto out;
	}
	if (!a.lookup) {
		result = Py_NewRef(Py_None);
		goto out;
	}
	Py_BEGIN_ALLOW_THREADS
	if (accel_fresh(&a))
		rc = g || !unsorted
			     ? epcache_lookup_select(a.lookup, g, NULL, &sel)
			     : epcache_lookup_select_unsorted(a.lookup, NULL, &sel);
	if (rc == 0 && sel && check)
		rc = epcache_lookup_get_path_warnings(a.lookup, 0, &warnings);
	else if (rc == 0 && !sel)
		/* importlib answers for this entry; a stale cache of the
		 * caller's own directory is rebuilt, by the module's rules */
		epy_self_heal(a.lookup);
	Py_END_ALLOW_THREADS
	if (rc == -ENOMEM) {
		PyErr_NoMemory();
		goto out;
	}
	/* no answer from the cache: a failure, not fresh, or it fell back
	 * to a scan on the way (status corrupt), or something was said */
	if (rc == 0 && sel && !a.spoke && warnings) {
		result = Py_NewRef(Py_False); /* fresh, but not importlib's */
		goto out;
	}
	if (rc < 0 || !sel || a.spoke || !accel_fresh(&a)) {
		result = Py_NewRef(Py_None);
		goto out;
	}
	result = rows_of(sel);
out:
	epcache_selection_free(sel);
	accel_lookup_close(&a);
	return result;
}

/*
 * Is @path's cache still fresh and trusted, read without a message? The
 * accelerator keeps, per process, the entry points it built from a cache
 * file, and asks this before it hands them out again: a repeated call
 * costs this freshness check, not a selection and new objects. No
 * self-heal here: when the answer is no, the accelerator asks
 * _accel_entry(), which does it.
 */
PyObject *
epy_accel_fresh(PyObject *module, PyObject *args)
{
	PyObject *path, *result = NULL;
	struct accel_lookup a;

	if (!PyArg_ParseTuple(args, "O:_accel_fresh", &path))
		return NULL;
	switch (accel_lookup_open(&a, path)) {
	case 0:
		Py_RETURN_FALSE;
	case -1:
		goto out;
	}
	result = Py_NewRef(accel_fresh(&a) && !a.spoke ? Py_True : Py_False);
out:
	accel_lookup_close(&a);
	return result;
}

/* ((name, value, group), ...) of one distribution, None when importlib
 * must read it (not one of the records, or its files gave a warning) */
static PyObject *
dist_rows(struct epcache_lookup *lookup, PyObject *name, int *rc)
{
	struct epcache_selection *sel = NULL;
	PyObject *bytes = NULL, *out = NULL;
	size_t n;

	*rc = 0;
	/* the name's bytes, as os.listdir() gave them (surrogate escapes) */
	if (!PyUnicode_Check(name) || !PyUnicode_FSConverter(name, &bytes)) {
		PyErr_Clear(); /* not a name a directory can hold */
		return Py_NewRef(Py_None);
	}
	*rc = epcache_lookup_select_distribution(lookup, 0,
						 PyBytes_AS_STRING(bytes), &sel);
	Py_DECREF(bytes);
	if (*rc == -ENOMEM)
		return PyErr_NoMemory();
	if (*rc < 0)
		return Py_NewRef(Py_None);
	n = epcache_selection_get_count(sel);
	if (!(out = PyTuple_New((Py_ssize_t)n)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct epcache_entry *e = epcache_selection_get_entry(sel, i);
		PyObject *row = Py_BuildValue(
			"(NNN)", epy_str(epcache_entry_get_name(e)),
			epy_str(epcache_entry_get_value(e)),
			epy_str(epcache_entry_get_group(e)));

		if (!row) {
			Py_CLEAR(out);
			goto out;
		}
		PyTuple_SET_ITEM(out, (Py_ssize_t)i, row);
	}
out:
	epcache_selection_free(sel);
	return out;
}

/*
 * Distribution.entry_points for every distribution in turn (pluggy,
 * flake8: for dist in distributions(): dist.entry_points): one lookup of
 * the directory gives the accelerator every distribution's rows at once,
 * {child: rows or None}, or None when the cache is not fresh and clean of
 * messages. Nothing is kept open: a program's file descriptors are its
 * own (pytest prints their numbers).
 */
PyObject *
epy_accel_records(PyObject *module, PyObject *args)
{
	PyObject *path, *children, *result = NULL;
	struct accel_lookup a;
	int rc;

	if (!PyArg_ParseTuple(args, "OO:_accel_records", &path, &children))
		return NULL;
	switch (accel_lookup_open(&a, path)) {
	case 0:
		Py_RETURN_NONE;
	case -1:
		goto out;
	}
	if (!accel_fresh(&a)) {
		if (a.lookup) {
			Py_BEGIN_ALLOW_THREADS
			epy_self_heal(a.lookup);
			Py_END_ALLOW_THREADS
		}
		result = Py_NewRef(Py_None);
		goto out;
	}
	if (!(result = PyDict_New()))
		goto out;
	{
		PyObject *it = PyObject_GetIter(children), *name;

		if (!it) {
			Py_CLEAR(result);
			goto out;
		}
		while ((name = PyIter_Next(it))) {
			PyObject *rows = dist_rows(a.lookup, name, &rc);

			if (!rows || PyDict_SetItem(result, name, rows) < 0) {
				Py_XDECREF(rows);
				Py_DECREF(name);
				Py_CLEAR(result);
				break;
			}
			Py_DECREF(rows);
			Py_DECREF(name);
			/* a corrupt part: the answer is a scan's, not the
			 * cache's; importlib reads the directory itself */
			if (a.spoke || !accel_fresh(&a))
				break;
		}
		Py_DECREF(it);
		if (result && PyErr_Occurred())
			Py_CLEAR(result);
	}
	if (result && (a.spoke || !accel_fresh(&a))) {
		Py_DECREF(result);
		result = Py_NewRef(Py_None);
	}
out:
	accel_lookup_close(&a);
	return result;
}
