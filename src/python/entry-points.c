/* SPDX-License-Identifier: MIT */
/*
 * EntryPoints: an immutable collection of EntryPoint objects, a tuple
 * subclass as importlib.metadata.EntryPoints became in Python 3.12:
 * select(**params), names, groups, and [name] (KeyError when no entry
 * point has that name). Where importlib's differs between versions
 * (indexing, repr, equality), it is the one of the version built for.
 */
#include "config.h"

#include "epcache-python.h"

static PyObject *
eps_select(PyObject *self, PyObject *args, PyObject *kwds)
{
	PyObject *list, *result;
	Py_ssize_t n = PyTuple_GET_SIZE(self);

	if (PyTuple_GET_SIZE(args) != 0) {
		PyErr_SetString(PyExc_TypeError,
				"select() takes keyword arguments only");
		return NULL;
	}
	list = PyList_New(0);
	if (!list)
		return NULL;
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *ep = PyTuple_GET_ITEM(self, i);
		int r = epy_entry_point_matches(ep, kwds);

		if (r < 0 || (r > 0 && PyList_Append(list, ep) < 0))
			goto fail;
	}
	result = PyObject_CallOneArg((PyObject *)&EpyEntryPoints_Type, list);
	Py_DECREF(list);
	return result;
fail:
	Py_DECREF(list);
	return NULL;
}

/* {getattr(ep, attr) for ep in self} */
static PyObject *
eps_attr_set(PyObject *self, const char *attr)
{
	PyObject *set = PySet_New(NULL);
	Py_ssize_t n = PyTuple_GET_SIZE(self);

	if (!set)
		return NULL;
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *v = PyObject_GetAttrString(PyTuple_GET_ITEM(self, i),
						     attr);
		int rc;

		if (!v)
			goto fail;
		rc = PySet_Add(set, v);
		Py_DECREF(v);
		if (rc < 0)
			goto fail;
	}
	return set;
fail:
	Py_DECREF(set);
	return NULL;
}

static PyObject *
eps_get_names(PyObject *self, void *closure)
{
	return eps_attr_set(self, "name");
}

static PyObject *
eps_get_groups(PyObject *self, void *closure)
{
	return eps_attr_set(self, "group");
}

/*
 * eps[name]: the first entry point of that name, else KeyError. Before
 * 3.12 (a list there) an int indexes, with a DeprecationWarning; since
 * then an int is a name like any other (KeyError). A slice is always a
 * name: importlib never gave slices a meaning.
 */
static PyObject *
eps_subscript(PyObject *self, PyObject *key)
{
	Py_ssize_t n = PyTuple_GET_SIZE(self);

#if PY_VERSION_HEX < 0x030C0000
	if (PyLong_Check(key)) {
		if (PyErr_WarnEx(PyExc_DeprecationWarning,
				 "Accessing entry points by index is "
				 "deprecated. Cast to tuple if needed.",
				 1) < 0)
			return NULL;
		return PyTuple_Type.tp_as_mapping->mp_subscript(self, key);
	}
#endif
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *ep = PyTuple_GET_ITEM(self, i);
		PyObject *name = PyObject_GetAttrString(ep, "name"), *eq;
		int r;

		if (!name)
			return NULL;
		eq = PyObject_RichCompare(key, name, Py_EQ);
		Py_DECREF(name);
		if (!eq)
			return NULL;
		r = PyObject_IsTrue(eq);
		Py_DECREF(eq);
		if (r < 0)
			return NULL;
		if (r) {
			Py_INCREF(ep);
			return ep;
		}
	}
	PyErr_SetObject(PyExc_KeyError, key);
	return NULL;
}

/* As each version's importlib shows it: a list before 3.12, a tuple in
 * 3.12, EntryPoints((...)) since 3.13. */
static PyObject *
eps_repr(PyObject *self)
{
#if PY_VERSION_HEX >= 0x030D0000
	PyObject *t = PyTuple_GetSlice(self, 0, PyTuple_GET_SIZE(self)), *r;

	if (!t)
		return NULL;
	r = PyUnicode_FromFormat("EntryPoints(%R)", t);
	Py_DECREF(t);
	return r;
#elif PY_VERSION_HEX >= 0x030C0000
	return PyTuple_Type.tp_repr(self);
#else
	PyObject *l = PySequence_List(self), *r;

	if (!l)
		return NULL;
	r = PyObject_Repr(l);
	Py_DECREF(l);
	return r;
#endif
}

#if PY_VERSION_HEX < 0x030C0000
/*
 * Before 3.12 EntryPoints is a list whose == takes a tuple silently and
 * anything else iterable with a DeprecationWarning; != is list's own,
 * between lists. (A tuple subclass cannot be unequal to a tuple with the
 * same items, as the list was: that one difference stays.)
 */
static PyObject *
eps_richcompare(PyObject *a, PyObject *b, int op)
{
	PyObject *t, *r;

	if (op == Py_NE && PyList_Check(b)) {
		t = PySequence_Tuple(b);
		if (!t)
			return NULL;
		r = PyTuple_Type.tp_richcompare(a, t, op);
		Py_DECREF(t);
		return r;
	}
	if (op != Py_EQ || PyTuple_Check(b))
		return PyTuple_Type.tp_richcompare(a, b, op);
	if (PyErr_WarnEx(PyExc_DeprecationWarning,
			 "EntryPoints list interface is deprecated. Cast to "
			 "list if needed.", 1) < 0)
		return NULL;
	t = PySequence_Tuple(b);
	if (!t)
		return NULL;
	r = PyTuple_Type.tp_richcompare(a, t, op);
	Py_DECREF(t);
	return r;
}
#endif

static PyMappingMethods eps_as_mapping = {
	.mp_subscript = eps_subscript,
};

static PyMethodDef eps_methods[] = {
	{ "select", (PyCFunction)(void (*)(void))eps_select,
	  METH_VARARGS | METH_KEYWORDS,
	  "select(**params): the entry points that match the parameters "
	  "(group, name, value, module, attr, extras)." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef eps_getset[] = {
	{ "names", eps_get_names, NULL, "the set of all names", NULL },
	{ "groups", eps_get_groups, NULL, "the set of all groups", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject EpyEntryPoints_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "epcache.EntryPoints",
	.tp_repr = eps_repr,
	.tp_as_mapping = &eps_as_mapping,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE |
		    Py_TPFLAGS_TUPLE_SUBCLASS,
	.tp_doc = "EntryPoints(iterable): an immutable collection of "
		  "EntryPoint objects.",
	.tp_methods = eps_methods,
	.tp_getset = eps_getset,
	.tp_base = &PyTuple_Type,
#if PY_VERSION_HEX < 0x030C0000
	.tp_richcompare = eps_richcompare,
#endif
};
