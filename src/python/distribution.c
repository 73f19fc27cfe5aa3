/* SPDX-License-Identifier: MIT */
/*
 * Distribution: what an entry point's .dist is here. importlib's is a
 * PathDistribution that re-reads and re-parses its metadata file (with the
 * email package) on every .name or .version; ours carries the two headers
 * the cache already holds and nothing else, so asking costs nothing.
 */
#include "config.h"

#include "epcache-python.h"

#include <structmember.h>

typedef struct {
	PyObject_HEAD
	PyObject *name;	   /* str or None */
	PyObject *version; /* str or None */
} EpyDistribution;

PyObject *
epy_str(const char *s)
{
	if (!s)
		Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

static PyObject *
dist_make(PyTypeObject *type, PyObject *name, PyObject *version)
{
	EpyDistribution *d = (EpyDistribution *)type->tp_alloc(type, 0);

	if (!d)
		return NULL;
	Py_INCREF(name);
	d->name = name;
	Py_INCREF(version);
	d->version = version;
	return (PyObject *)d;
}

PyObject *
epy_distribution_new(const char *name, const char *version)
{
	PyObject *n = NULL, *v = NULL, *d = NULL;

	if (!(n = epy_str(name)) || !(v = epy_str(version)))
		goto out;
	d = dist_make(&EpyDistribution_Type, n, v);
out:
	Py_XDECREF(n);
	Py_XDECREF(v);
	return d;
}

static PyObject *
dist_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "name", "version", NULL };
	PyObject *name, *version;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:Distribution", kwlist,
					 &name, &version))
		return NULL;
	return dist_make(type, name, version);
}

/* A caller's own Distribution may hold anything, a cycle included. */
static int
dist_traverse(EpyDistribution *d, visitproc visit, void *arg)
{
	Py_VISIT(d->name);
	Py_VISIT(d->version);
	return 0;
}

static int
dist_clear(EpyDistribution *d)
{
	Py_CLEAR(d->name);
	Py_CLEAR(d->version);
	return 0;
}

static void
dist_dealloc(EpyDistribution *d)
{
	PyObject_GC_UnTrack(d);
	dist_clear(d);
	Py_TYPE(d)->tp_free((PyObject *)d);
}

static PyObject *
dist_repr(EpyDistribution *d)
{
	return PyUnicode_FromFormat("Distribution(name=%R, version=%R)",
				    d->name, d->version);
}

static PyMemberDef dist_members[] = {
	{ "name", T_OBJECT, offsetof(EpyDistribution, name), READONLY,
	  "the Name: header of the distribution's metadata, or None" },
	{ "version", T_OBJECT, offsetof(EpyDistribution, version), READONLY,
	  "the Version: header of the distribution's metadata, or None" },
	{ NULL, 0, 0, 0, NULL },
};

PyTypeObject EpyDistribution_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "epcache.Distribution",
	.tp_basicsize = sizeof(EpyDistribution),
	.tp_dealloc = (destructor)dist_dealloc,
	.tp_repr = (reprfunc)dist_repr,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_traverse = (traverseproc)dist_traverse,
	.tp_clear = (inquiry)dist_clear,
	.tp_doc = "Distribution(name, version): the distribution an entry "
		  "point came from.",
	.tp_members = dist_members,
	.tp_new = dist_new,
};
