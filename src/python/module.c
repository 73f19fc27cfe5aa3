/* SPDX-License-Identifier: MIT */
/*
 * _epcache: importlib.metadata.entry_points() answered by libepcache.
 *
 * Each call makes its own library context and lookup over the path list
 * (sys.path, read at call time), turns the selection into EntryPoint
 * objects, frees the lookup (so no descriptor outlives the call), and then
 * rebuilds the caller's own stale caches (self-heal.c). Path entries the C
 * reader cannot read (zip archives) are handed, with the rest of the
 * answer, to epcache._fallback, which asks importlib.metadata about those
 * entries only; importlib is never imported otherwise.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-python.h"

/* epcache.MetadataWarning */
static PyObject *metadata_warning;

/*
 * Library messages (a bad entry_points.txt line, as "PATH:LINE: reason",
 * where importlib would raise) become warnings of category
 * epcache.MetadataWarning, so that Python's own filters apply: by default
 * each is shown once, not on every call. The library calls us without the
 * GIL. A warning filter that raises ("error") leaves its exception set;
 * the caller sees it once the library returns, and later messages of the
 * same call are dropped.
 */
static void
log_to_warnings(struct epcache *ctx, enum epcache_log_priority prio,
		void *userdata, const char *fmt, va_list args)
	__attribute__((format(printf, 4, 0)));

static void
log_to_warnings(struct epcache *ctx, enum epcache_log_priority prio,
		void *userdata, const char *fmt, va_list args)
{
	PyGILState_STATE gil;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, args);
	gil = PyGILState_Ensure();
	if (!PyErr_Occurred())
		PyErr_WarnEx(metadata_warning, msg, 1);
	PyGILState_Release(gil);
}

/* The path list as C strings. Entries that cannot name a file (not str,
 * bytes or os.PathLike, or with a NUL) are left out: importlib finds
 * nothing in them either. @index maps our entries back to the list's. */
struct pathv {
	char **v;
	Py_ssize_t *index;
	size_t n;
	PyObject *list; /* the list the entries were taken from */
};

static void
pathv_release(struct pathv *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	free(p->index);
	Py_XDECREF(p->list);
	memset(p, 0, sizeof(*p));
}

static int
pathv_init(struct pathv *p, PyObject *path)
{
	Py_ssize_t n;

	memset(p, 0, sizeof(*p));
	if (path == NULL || path == Py_None) {
		path = PySys_GetObject("path"); /* borrowed */
		if (!path) {
			PyErr_SetString(PyExc_RuntimeError, "lost sys.path");
			return -1;
		}
	}
	/* a copy: the answer is for the list as it was at call time */
	p->list = PySequence_List(path);
	if (!p->list)
		return -1;
	n = PyList_GET_SIZE(p->list);
	p->v = calloc(n ? (size_t)n : 1, sizeof(*p->v));
	p->index = calloc(n ? (size_t)n : 1, sizeof(*p->index));
	if (!p->v || !p->index) {
		PyErr_NoMemory();
		return -1;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *bytes = NULL;
		char *s;

		if (!PyUnicode_FSConverter(PyList_GET_ITEM(p->list, i),
					   &bytes)) {
			if (!PyErr_ExceptionMatches(PyExc_TypeError) &&
			    !PyErr_ExceptionMatches(PyExc_ValueError))
				return -1;
			PyErr_Clear();
			continue;
		}
		s = strdup(PyBytes_AS_STRING(bytes));
		Py_DECREF(bytes);
		if (!s) {
			PyErr_NoMemory();
			return -1;
		}
		p->index[p->n] = i;
		p->v[p->n++] = s;
	}
	return 0;
}

static PyObject *
raise_errno(int rc, const char *what)
{
	if (rc == -ENOMEM)
		return PyErr_NoMemory();
	errno = -rc;
	PyErr_Format(PyExc_OSError, "epcache: %s: %s", what, strerror(-rc));
	return NULL;
}

/* The lookup over @paths, made without the GIL. */
static int
lookup_new(struct epcache *ctx, const struct pathv *paths,
	   struct epcache_lookup **lookup)
{
	int rc;

	Py_BEGIN_ALLOW_THREADS
	rc = epcache_lookup_new(ctx, (const char *const *)paths->v, paths->n,
				0, lookup);
	Py_END_ALLOW_THREADS
	if (rc < 0) {
		*lookup = NULL;
		raise_errno(rc, "cannot start the lookup");
	} else if (PyErr_Occurred()) {
		rc = -1; /* a warning turned error */
	}
	return rc;
}

/* A str argument as a C string for the library; *skip when no entry point
 * can have it (not a str, or with a NUL, which no library string holds):
 * importlib would compare and find nothing. */
static int
selector(PyObject *o, const char **out, bool *skip)
{
	Py_ssize_t len;

	*out = NULL;
	if (!o || o == Py_None)
		return 0;
	if (!PyUnicode_Check(o)) {
		*skip = true;
		return 0;
	}
	*out = PyUnicode_AsUTF8AndSize(o, &len);
	if (!*out) {
		/* lone surrogates: never in what the library read */
		if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
			return -1;
		PyErr_Clear();
		*skip = true;
		return 0;
	}
	if ((size_t)len != strlen(*out))
		*skip = true;
	return 0;
}

static bool
has_unsupported(const struct epcache_lookup *lookup)
{
	size_t n = epcache_lookup_get_path_count(lookup);

	for (size_t i = 0; i < n; i++)
		if (epcache_lookup_get_path_status(lookup, i) ==
		    EPCACHE_STATUS_UNSUPPORTED)
			return true;
	return false;
}

/*
 * The selection as EntryPoint objects: an EntryPoints, or with @rows a
 * list of (path index, normalized dist name, EntryPoint) for the merge
 * with importlib's answer for zip entries.
 */
static PyObject *
selection_to_python(const struct epcache_selection *sel,
		    const struct pathv *paths, bool rows)
{
	size_t n = epcache_selection_get_count(sel);
	PyObject *out, *dist = NULL;
	const char *dist_key = NULL;
	size_t dist_path = 0;

	out = rows ? PyList_New((Py_ssize_t)n) :
		     EpyEntryPoints_Type.tp_alloc(&EpyEntryPoints_Type,
						  (Py_ssize_t)n);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct epcache_entry *e = epcache_selection_get_entry(sel, i);
		const char *norm = epcache_entry_get_dist_normalized_name(e);
		PyObject *name, *value, *group, *ep, *item;

		/* One Distribution for the entries of one distribution: they
		 * come together, and the normalized name string is the
		 * distribution's own. */
		if (!dist || norm != dist_key ||
		    epcache_entry_get_path_index(e) != dist_path) {
			Py_XDECREF(dist);
			dist = epy_distribution_new(
				epcache_entry_get_dist_name(e),
				epcache_entry_get_dist_version(e));
			if (!dist)
				goto fail;
			dist_key = norm;
			dist_path = epcache_entry_get_path_index(e);
		}
		name = epy_str(epcache_entry_get_name(e));
		value = epy_str(epcache_entry_get_value(e));
		group = epy_str(epcache_entry_get_group(e));
		ep = name && value && group ?
			     epy_entry_point_new(name, value, group, dist) :
			     NULL;
		Py_XDECREF(name);
		Py_XDECREF(value);
		Py_XDECREF(group);
		if (!ep)
			goto fail;
		if (!rows) {
			PyTuple_SET_ITEM(out, (Py_ssize_t)i, ep);
			continue;
		}
		item = Py_BuildValue(
			"(nNN)",
			paths->index[epcache_entry_get_path_index(e)],
			epy_str(norm), ep);
		if (!item)
			goto fail;
		PyList_SET_ITEM(out, (Py_ssize_t)i, item);
	}
	Py_XDECREF(dist);
	return out;
fail:
	Py_XDECREF(dist);
	Py_DECREF(out);
	return NULL;
}

/* Hand the library's rows and the zip entries to epcache._fallback. */
static PyObject *
merge_with_fallback(PyObject *rows, const struct epcache_lookup *lookup,
		    const struct pathv *paths, PyObject *group, PyObject *name)
{
	PyObject *mod, *zips, *result = NULL;
	size_t n = epcache_lookup_get_path_count(lookup);

	zips = PyList_New(0);
	if (!zips)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		PyObject *idx;
		int rc;

		if (epcache_lookup_get_path_status(lookup, i) !=
		    EPCACHE_STATUS_UNSUPPORTED)
			continue;
		idx = PyLong_FromSsize_t(paths->index[i]);
		if (!idx)
			goto out;
		rc = PyList_Append(zips, idx);
		Py_DECREF(idx);
		if (rc < 0)
			goto out;
	}
	mod = PyImport_ImportModule("epcache._fallback");
	if (!mod)
		goto out;
	result = PyObject_CallMethod(mod, "merge", "OOOOO", rows, paths->list,
				     zips, group ? group : Py_None,
				     name ? name : Py_None);
	Py_DECREF(mod);
out:
	Py_DECREF(zips);
	return result;
}

#if PY_VERSION_HEX < 0x030C0000
/* epcache._groups.SelectableGroups.load(eps) */
static PyObject *
selectable_groups(PyObject *eps)
{
	PyObject *mod, *cls, *result;

	mod = PyImport_ImportModule("epcache._groups");
	if (!mod)
		return NULL;
	cls = PyObject_GetAttrString(mod, "SelectableGroups");
	Py_DECREF(mod);
	if (!cls)
		return NULL;
	result = PyObject_CallMethod(cls, "load", "(O)", eps);
	Py_DECREF(cls);
	return result;
}
#endif

static PyObject *
entry_points(PyObject *module, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "group", "name", "path", NULL };
	PyObject *group = NULL, *name = NULL, *path = NULL, *result = NULL;
	struct pathv paths;
	struct epcache *ctx = NULL;
	struct epcache_lookup *lookup = NULL;
	struct epcache_selection *sel = NULL;
	const char *g = NULL, *nm = NULL;
	bool skip = false, fallback;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OOO:entry_points",
					 kwlist, &group, &name, &path))
		return NULL;
	if (pathv_init(&paths, path) < 0)
		goto out;
	if (selector(group, &g, &skip) < 0 || selector(name, &nm, &skip) < 0)
		goto out;
	if (!(ctx = epcache_new())) {
		PyErr_NoMemory();
		goto out;
	}
	epcache_set_log_handler(ctx, log_to_warnings, NULL);
	epcache_set_log_priority(ctx, EPCACHE_LOG_WARNING);
	if (lookup_new(ctx, &paths, &lookup) < 0)
		goto out;
	fallback = has_unsupported(lookup);
	if (skip && !fallback) {
		result = PyObject_CallNoArgs((PyObject *)&EpyEntryPoints_Type);
		goto heal;
	}
	if (!skip) {
		Py_BEGIN_ALLOW_THREADS
#if PY_VERSION_HEX >= 0x030C0000
		/* 3.12's importlib no longer sorts by group what it does not
		 * select by group */
		if (!g)
			rc = epcache_lookup_select_unsorted(lookup, nm, &sel);
		else
#endif
			rc = epcache_lookup_select(lookup, g, nm, &sel);
		Py_END_ALLOW_THREADS
		if (rc < 0) {
			sel = NULL;
			raise_errno(rc, "cannot read entry points");
			goto out;
		}
		if (PyErr_Occurred())
			goto out; /* a warning turned error */
	}
	if (!fallback) {
		result = selection_to_python(sel, &paths, false);
	} else {
		PyObject *rows = sel ? selection_to_python(sel, &paths, true) :
				       PyList_New(0);

		if (!rows)
			goto out;
		result = merge_with_fallback(rows, lookup, &paths, group, name);
		Py_DECREF(rows);
	}
	if (!result)
		goto out;
#if PY_VERSION_HEX < 0x030C0000
	/* 3.10 and 3.11: no selection at all gives SelectableGroups */
	if ((!group || group == Py_None) && (!name || name == Py_None)) {
		PyObject *eps = result;

		result = selectable_groups(eps);
		Py_DECREF(eps);
		if (!result)
			goto out;
	}
#endif
heal:
	/* The answer is made; nothing below can fail it. Free the selection
	 * first: a rebuild needs no part of it. */
	epcache_selection_free(sel);
	sel = NULL;
	Py_BEGIN_ALLOW_THREADS
	epy_self_heal(lookup);
	Py_END_ALLOW_THREADS
out:
	epcache_selection_free(sel);
	epcache_lookup_free(lookup);
	epcache_free(ctx);
	pathv_release(&paths);
	return result;
}

static PyObject *
path_status(PyObject *module, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "path", NULL };
	PyObject *path = NULL, *result = NULL;
	struct pathv paths;
	struct epcache *ctx = NULL;
	struct epcache_lookup *lookup = NULL;
	size_t n;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$O:path_status", kwlist,
					 &path))
		return NULL;
	if (pathv_init(&paths, path) < 0)
		goto out;
	if (!(ctx = epcache_new())) {
		PyErr_NoMemory();
		goto out;
	}
	epcache_set_log_handler(ctx, log_to_warnings, NULL);
	if (lookup_new(ctx, &paths, &lookup) < 0)
		goto out;
	n = epcache_lookup_get_path_count(lookup);
	if (!(result = PyList_New((Py_ssize_t)n)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		PyObject *t = Py_BuildValue(
			"(OsN)", PyList_GET_ITEM(paths.list, paths.index[i]),
			epcache_status_to_str(
				epcache_lookup_get_path_status(lookup, i)),
			epy_str(epcache_lookup_get_path_reason(lookup, i)));

		if (!t) {
			Py_CLEAR(result);
			goto out;
		}
		PyList_SET_ITEM(result, (Py_ssize_t)i, t);
	}
out:
	epcache_lookup_free(lookup);
	epcache_free(ctx);
	pathv_release(&paths);
	return result;
}

static PyMethodDef module_methods[] = {
	{ "entry_points", (PyCFunction)(void (*)(void))entry_points,
	  METH_VARARGS | METH_KEYWORDS,
	  "entry_points(*, group=None, name=None, path=None)\n\n"
	  "The entry points importlib.metadata.entry_points(group=, name=)\n"
	  "finds on path (default: sys.path as it is now), as EntryPoints.\n"
	  "Without a group, every group: before Python 3.12 sorted by group\n"
	  "name (and with no name either, as SelectableGroups), since then\n"
	  "in distribution order, as the running interpreter's importlib." },
	{ "path_status", (PyCFunction)(void (*)(void))path_status,
	  METH_VARARGS | METH_KEYWORDS,
	  "path_status(*, path=None)\n\n"
	  "[(path entry, status, reason)]: whether each entry's cache is\n"
	  "used ('fresh') and why not ('stale', 'missing', 'untrusted',\n"
	  "'corrupt', 'unsupported')." },
	{ "_accel_entry", (PyCFunction)epy_accel_entry, METH_VARARGS,
	  "_accel_entry(path, group, check_warnings=False)\n\n"
	  "For epcache._accelerate: [(normalized, name, value, group)] of\n"
	  "one path entry, or None unless its cache is fresh and clean." },
	{ "_accel_fresh", (PyCFunction)epy_accel_fresh, METH_VARARGS,
	  "_accel_fresh(path)\n\n"
	  "For epcache._accelerate: whether the path entry's cache is still\n"
	  "fresh and trusted, and read without a message." },
	{ "_accel_records", (PyCFunction)epy_accel_records, METH_VARARGS,
	  "_accel_records(path, children)\n\n"
	  "For epcache._accelerate: {child: ((name, value, group), ...) in\n"
	  "file order, or None where importlib must read it} from a fresh\n"
	  "cache of the directory, or None." },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "epcache._epcache",
	.m_doc = "importlib.metadata.entry_points() from the epcache caches",
	.m_size = -1,
	.m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__epcache(void);

PyMODINIT_FUNC
PyInit__epcache(void)
{
	PyTypeObject *types[] = { &EpyEntryPoint_Type, &EpyEntryPoints_Type,
				  &EpyDistribution_Type };
	PyObject *m;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (PyType_Ready(types[i]) < 0)
			return NULL;
	if (!metadata_warning) {
		metadata_warning = PyErr_NewExceptionWithDoc(
			"epcache.MetadataWarning",
			"A distribution's metadata that importlib.metadata would "
			"raise on (a line of entry_points.txt without '=', text "
			"that is not UTF-8): epcache leaves that part out and "
			"answers with the rest.",
			PyExc_UserWarning, NULL);
		if (!metadata_warning)
			return NULL;
	}
	m = PyModule_Create(&module_def);
	if (!m)
		return NULL;
	if (PyModule_AddObjectRef(m, "MetadataWarning", metadata_warning) < 0 ||
	    PyModule_AddObjectRef(m, "EntryPoint",
				  (PyObject *)&EpyEntryPoint_Type) < 0 ||
	    PyModule_AddObjectRef(m, "EntryPoints",
				  (PyObject *)&EpyEntryPoints_Type) < 0 ||
	    PyModule_AddObjectRef(m, "Distribution",
				  (PyObject *)&EpyDistribution_Type) < 0 ||
	    PyModule_AddStringConstant(m, "library_version",
				       epcache_get_version()) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
