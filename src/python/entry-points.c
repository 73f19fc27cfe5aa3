/* SPDX-License-Identifier: MIT */
/*
 * EntryPoints: an immutable collection of EntryPoint objects, a tuple
 * subclass as importlib.metadata.EntryPoints became in Python 3.12, with
 * the interface it has in 3.11: select(**params), names, groups, and
 * [name] (KeyError when no entry point has that name).
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

/* eps[name]: the first entry point of that name. Integers and slices
 * index the tuple, as they do any tuple. */
static PyObject *
eps_subscript(PyObject *self, PyObject *key)
{
	Py_ssize_t n = PyTuple_GET_SIZE(self);

	if (PyIndex_Check(key) || PySlice_Check(key))
		return PyTuple_Type.tp_as_mapping->mp_subscript(self, key);
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

static PyObject *
eps_repr(PyObject *self)
{
	PyObject *t = PyTuple_GetSlice(self, 0, PyTuple_GET_SIZE(self)), *r;

	if (!t)
		return NULL;
	r = PyUnicode_FromFormat("EntryPoints(%R)", t);
	Py_DECREF(t);
	return r;
}

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
};
