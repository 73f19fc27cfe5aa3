/* SPDX-License-Identifier: MIT */
/*
 * EntryPoint: importlib.metadata.EntryPoint, in C, as the version built
 * for has it (3.10's namedtuple face, 3.11's and 3.12's deprecated one,
 * 3.13's plain object: see ep_richcompare() and below). The
 * value is parsed (by the library's grammar, the one importlib's pattern
 * describes) only when module, attr, extras or load() first need it: most
 * callers look at name and value only.
 */
#include "config.h"

#include <string.h>

#include "epcache-python.h"

enum parsed {
	PARSED_NOT_YET = 0,
	PARSED_OK,
	PARSED_NO_MATCH,
};

typedef struct {
	PyObject_HEAD
	PyObject *name;
	PyObject *value;
	PyObject *group;
	PyObject *dist; /* NULL: None */
	enum parsed parsed;
	PyObject *module; /* str, once parsed */
	PyObject *attr;	  /* str or None, once parsed */
	PyObject *extras; /* tuple of str, once parsed */
#if PY_VERSION_HEX < 0x030B0000
	/* 3.10's EntryPoint, a namedtuple subclass, takes new attributes */
	PyObject *dict;
#endif
} EpyEntryPoint;

#define EP(o) ((EpyEntryPoint *)(o))

PyObject *
epy_entry_point_new(PyObject *name, PyObject *value, PyObject *group,
		    PyObject *dist)
{
	EpyEntryPoint *ep = PyObject_GC_New(EpyEntryPoint, &EpyEntryPoint_Type);

	if (!ep)
		return NULL;
	Py_INCREF(name);
	ep->name = name;
	Py_INCREF(value);
	ep->value = value;
	Py_INCREF(group);
	ep->group = group;
	Py_XINCREF(dist);
	ep->dist = dist;
	ep->parsed = PARSED_NOT_YET;
	ep->module = ep->attr = ep->extras = NULL;
#if PY_VERSION_HEX < 0x030B0000
	ep->dict = NULL;
#endif
	PyObject_GC_Track(ep);
	return (PyObject *)ep;
}

static PyObject *
ep_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "name", "value", "group", NULL };
	PyObject *name, *value, *group;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO:EntryPoint", kwlist,
					 &name, &value, &group))
		return NULL;
	if (type != &EpyEntryPoint_Type) {
		PyErr_SetString(PyExc_TypeError,
				"EntryPoint cannot be subclassed");
		return NULL;
	}
	return epy_entry_point_new(name, value, group, NULL);
}

static int
ep_traverse(EpyEntryPoint *ep, visitproc visit, void *arg)
{
	Py_VISIT(ep->name);
	Py_VISIT(ep->value);
	Py_VISIT(ep->group);
	Py_VISIT(ep->dist);
#if PY_VERSION_HEX < 0x030B0000
	Py_VISIT(ep->dict);
#endif
	return 0;
}

static int
ep_clear(EpyEntryPoint *ep)
{
	Py_CLEAR(ep->name);
	Py_CLEAR(ep->value);
	Py_CLEAR(ep->group);
	Py_CLEAR(ep->dist);
	Py_CLEAR(ep->module);
	Py_CLEAR(ep->attr);
	Py_CLEAR(ep->extras);
#if PY_VERSION_HEX < 0x030B0000
	Py_CLEAR(ep->dict);
#endif
	return 0;
}

static void
ep_dealloc(EpyEntryPoint *ep)
{
	PyObject_GC_UnTrack(ep);
	ep_clear(ep);
	PyObject_GC_Del(ep);
}

/* Fill module/attr/extras. 0, or -1 with an exception set. */
static int
ep_parse(EpyEntryPoint *ep)
{
	struct epcache_value *v = NULL;
	PyObject *bytes = NULL, *extras = NULL;
	const char *s;
	Py_ssize_t len;
	int rc = -1, prc;

	if (ep->parsed != PARSED_NOT_YET)
		return 0;
	if (!PyUnicode_Check(ep->value)) {
		/* what re.match() says to a value that is not a str */
		PyErr_Format(PyExc_TypeError,
			     "expected string or bytes-like object, got '%.100s'",
			     Py_TYPE(ep->value)->tp_name);
		return -1;
	}
	/* Lone surrogates become bytes that are not UTF-8, which the grammar
	 * treats as neither \w nor \s, as re does the surrogates. */
	bytes = PyUnicode_AsEncodedString(ep->value, "utf-8", "surrogatepass");
	if (!bytes)
		goto out;
	s = PyBytes_AS_STRING(bytes);
	len = PyBytes_GET_SIZE(bytes);
	if ((size_t)len != strlen(s)) {
		/* A C string ends at NUL: such a value is taken as not
		 * matching (the library never yields one). */
		ep->parsed = PARSED_NO_MATCH;
		rc = 0;
		goto out;
	}
	prc = epcache_value_parse(s, &v);
	if (prc == -EINVAL) {
		ep->parsed = PARSED_NO_MATCH;
		rc = 0;
		goto out;
	}
	if (prc < 0) {
		PyErr_NoMemory();
		goto out;
	}
	extras = PyTuple_New((Py_ssize_t)epcache_value_get_extras_count(v));
	if (!extras)
		goto out;
	for (size_t i = 0; i < epcache_value_get_extras_count(v); i++) {
		PyObject *x = epy_str(epcache_value_get_extra(v, i));

		if (!x)
			goto out;
		PyTuple_SET_ITEM(extras, (Py_ssize_t)i, x);
	}
	if (!(ep->module = epy_str(epcache_value_get_module(v))) ||
	    !(ep->attr = epy_str(epcache_value_get_attr(v)))) {
		Py_CLEAR(ep->module);
		goto out;
	}
	ep->extras = extras;
	extras = NULL;
	ep->parsed = PARSED_OK;
	rc = 0;
out:
	epcache_value_free(v);
	Py_XDECREF(bytes);
	Py_XDECREF(extras);
	return rc;
}

#if PY_VERSION_HEX >= 0x030D0000
static bool
asserts_run(void)
{
	PyObject *flags = PySys_GetObject("flags"), *o;
	long optimize = 0;

	if (flags && (o = PyObject_GetAttrString(flags, "optimize"))) {
		optimize = PyLong_AsLong(o);
		Py_DECREF(o);
	}
	PyErr_Clear();
	return optimize <= 0;
}
#endif

/*
 * The parts, or -1 with importlib's exception type for a value that does
 * not match: there match is None and .group() raises AttributeError;
 * since 3.13 module, attr and extras first assert that it matched
 * (AssertionError, unless python -O), load() still does not.
 */
static int
ep_parts(EpyEntryPoint *ep, bool for_load)
{
	if (ep_parse(ep) < 0)
		return -1;
	if (ep->parsed == PARSED_NO_MATCH) {
#if PY_VERSION_HEX >= 0x030D0000
		if (!for_load && asserts_run()) {
			PyErr_SetNone(PyExc_AssertionError);
			return -1;
		}
#endif
		PyErr_Format(PyExc_AttributeError,
			     "entry point value %R does not match the entry "
			     "point syntax (module[:attr] [extras])",
			     ep->value);
		return -1;
	}
	return 0;
}

static PyObject *
ep_get_module(EpyEntryPoint *ep, void *closure)
{
	if (ep_parts(ep, false) < 0)
		return NULL;
	Py_INCREF(ep->module);
	return ep->module;
}

static PyObject *
ep_get_attr(EpyEntryPoint *ep, void *closure)
{
	if (ep_parts(ep, false) < 0)
		return NULL;
	Py_INCREF(ep->attr);
	return ep->attr;
}

static PyObject *
ep_get_extras(EpyEntryPoint *ep, void *closure)
{
	if (ep_parts(ep, false) < 0)
		return NULL;
	/* a new list each time, as re.findall() gives */
	return PySequence_List(ep->extras);
}

static PyObject *
ep_get_dist(EpyEntryPoint *ep, void *closure)
{
	PyObject *d = ep->dist ? ep->dist : Py_None;

	Py_INCREF(d);
	return d;
}

#if PY_VERSION_HEX < 0x030B0000
/* 3.10: dist is a plain attribute (None on the class) anyone may set */
static int
ep_set_dist(EpyEntryPoint *ep, PyObject *value, void *closure)
{
	if (!value) {
		PyErr_SetString(PyExc_AttributeError, "dist");
		return -1;
	}
	Py_INCREF(value);
	Py_XSETREF(ep->dist, value == Py_None ? NULL : value);
	if (value == Py_None)
		Py_DECREF(value);
	return 0;
}
#else
#define ep_set_dist NULL
#endif

#define EP_GETTER(field)                                             \
	static PyObject *ep_get_##field(EpyEntryPoint *ep, void *c) \
	{                                                            \
		Py_INCREF(ep->field);                                \
		return ep->field;                                    \
	}
EP_GETTER(name)
EP_GETTER(value)
EP_GETTER(group)

static PyGetSetDef ep_getset[] = {
	{ "name", (getter)ep_get_name, NULL, "the entry point's name", NULL },
	{ "value", (getter)ep_get_value, NULL,
	  "the entry point's value, e.g. 'pkg.mod:obj.attr [extra]'", NULL },
	{ "group", (getter)ep_get_group, NULL, "the entry point's group", NULL },
	{ "module", (getter)ep_get_module, NULL, "the module part of the value",
	  NULL },
	{ "attr", (getter)ep_get_attr, NULL,
	  "the attribute part of the value, or None", NULL },
	{ "extras", (getter)ep_get_extras, NULL,
	  "the extras of the value, a list", NULL },
	{ "dist", (getter)ep_get_dist, (setter)ep_set_dist,
	  "the Distribution the entry point came from, or None", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

/* importlib.import_module(module), then getattr along the attr path */
static PyObject *
ep_load(EpyEntryPoint *ep, PyObject *unused)
{
	PyObject *importlib = NULL, *obj = NULL, *parts = NULL;

	if (ep_parts(ep, true) < 0)
		return NULL;
	importlib = PyImport_ImportModule("importlib");
	if (!importlib)
		return NULL;
	obj = PyObject_CallMethod(importlib, "import_module", "O", ep->module);
	Py_DECREF(importlib);
	if (!obj || ep->attr == Py_None)
		return obj;
	parts = PyObject_CallMethod(ep->attr, "split", "s", ".");
	if (!parts)
		goto fail;
	for (Py_ssize_t i = 0; i < PyList_GET_SIZE(parts); i++) {
		PyObject *part = PyList_GET_ITEM(parts, i), *next;

		/* filter(None, ...): "a..b" walks a, then b */
		if (PyUnicode_GET_LENGTH(part) == 0)
			continue;
		next = PyObject_GetAttr(obj, part);
		Py_DECREF(obj);
		obj = next;
		if (!obj)
			goto fail;
	}
	Py_DECREF(parts);
	return obj;
fail:
	Py_XDECREF(parts);
	Py_XDECREF(obj);
	return NULL;
}

int
epy_entry_point_matches(PyObject *self, PyObject *params)
{
	PyObject *key, *want;
	Py_ssize_t pos = 0;

	if (!params)
		return 1;
	/* all(map(operator.eq, params.values(), attrs)): stops at the first
	 * mismatch, the wanted value on the left */
	while (PyDict_Next(params, &pos, &key, &want)) {
		PyObject *have, *eq;
		int r;

		if (!(have = PyObject_GetAttr(self, key)))
			return -1;
		eq = PyObject_RichCompare(want, have, Py_EQ);
		Py_DECREF(have);
		if (!eq)
			return -1;
		r = PyObject_IsTrue(eq);
		Py_DECREF(eq);
		if (r <= 0)
			return r;
	}
	return 1;
}

static PyObject *
ep_matches(PyObject *self, PyObject *args, PyObject *kwds)
{
	int r;

	if (PyTuple_GET_SIZE(args) != 0) {
		PyErr_SetString(PyExc_TypeError,
				"matches() takes keyword arguments only");
		return NULL;
	}
	r = epy_entry_point_matches(self, kwds);
	if (r < 0)
		return NULL;
	return PyBool_FromLong(r);
}

static PyObject *
ep_key(EpyEntryPoint *ep, PyObject *unused)
{
	return PyTuple_Pack(3, ep->name, ep->value, ep->group);
}

/* importlib's _for(): attach the distribution, before anyone sees it */
static PyObject *
ep_for(EpyEntryPoint *ep, PyObject *dist)
{
	Py_INCREF(dist);
	Py_XSETREF(ep->dist, dist);
	Py_INCREF(ep);
	return (PyObject *)ep;
}

static PyMethodDef ep_methods[] = {
	{ "load", (PyCFunction)ep_load, METH_NOARGS,
	  "Import the module and return the object the attr path names (the "
	  "module itself when there is no attr)." },
	{ "matches", (PyCFunction)(void (*)(void))ep_matches,
	  METH_VARARGS | METH_KEYWORDS,
	  "matches(**params): True when every given attribute equals." },
	{ "_key", (PyCFunction)ep_key, METH_NOARGS,
	  "(name, value, group): what equality, order and hash use" },
	{ "_for", (PyCFunction)ep_for, METH_O, NULL },
	{ NULL, NULL, 0, NULL },
};

/*
 * Equality and order on (name, value, group), as importlib, whose rules
 * changed with 3.11:
 *  - 3.10: EntryPoint is a namedtuple: it compares as the tuple of the
 *    three with any tuple (importlib's EntryPoint included); anything else
 *    gets NotImplemented.
 *  - 3.11+: __eq__ and __lt__ compare self._key() with other._key(), which
 *    raises AttributeError for an object without one; the other orders are
 *    object's (NotImplemented, so Python tries the reflected one).
 */
static PyObject *
ep_richcompare(PyObject *a, PyObject *b, int op)
{
	PyObject *ka, *kb, *r;

#if PY_VERSION_HEX < 0x030B0000
	if (PyObject_TypeCheck(b, &EpyEntryPoint_Type))
		kb = ep_key(EP(b), NULL);
	else if (PyTuple_Check(b))
		/* its items, not iter(): 3.10's EntryPoint iterates as
		 * (name, self) */
		kb = PyTuple_GetSlice(b, 0, PyTuple_GET_SIZE(b));
	else
		Py_RETURN_NOTIMPLEMENTED;
#else
	if (op != Py_EQ && op != Py_NE && op != Py_LT)
		Py_RETURN_NOTIMPLEMENTED;
	if (PyObject_TypeCheck(b, &EpyEntryPoint_Type))
		kb = ep_key(EP(b), NULL);
	else
		kb = PyObject_CallMethod(b, "_key", NULL);
#endif
	if (!kb)
		return NULL;
	ka = ep_key(EP(a), NULL);
	r = ka ? PyObject_RichCompare(ka, kb, op) : NULL;
	Py_XDECREF(ka);
	Py_DECREF(kb);
	return r;
}

#if PY_VERSION_HEX < 0x030D0000
/*
 * The tuple face importlib's EntryPoint had until 3.13 removed it:
 * ep[0] is the name, ep[1:] (value, group); silently in 3.10 (a
 * namedtuple), with a DeprecationWarning in 3.11 and 3.12.
 */
static int
warn_tuple_interface(void)
{
#if PY_VERSION_HEX >= 0x030B0000
	return PyErr_WarnEx(PyExc_DeprecationWarning,
			    "EntryPoint tuple interface is deprecated. Access "
			    "members by name.",
			    1);
#else
	return 0;
#endif
}

static PyObject *
ep_subscript(EpyEntryPoint *ep, PyObject *item)
{
	PyObject *k, *r;

	if (warn_tuple_interface() < 0)
		return NULL;
	if (!(k = ep_key(ep, NULL)))
		return NULL;
	r = PyObject_GetItem(k, item);
	Py_DECREF(k);
	return r;
}

static PyObject *
ep_item(EpyEntryPoint *ep, Py_ssize_t i)
{
	PyObject *k, *r;

	if (warn_tuple_interface() < 0)
		return NULL;
	if (!(k = ep_key(ep, NULL)))
		return NULL;
	r = PySequence_GetItem(k, i);
	Py_DECREF(k);
	return r;
}

#if PY_VERSION_HEX < 0x030B0000
static Py_ssize_t
ep_length(EpyEntryPoint *ep)
{
	return 3;
}

/* x in ep: a tuple's, without iter() */
static int
ep_contains(EpyEntryPoint *ep, PyObject *x)
{
	PyObject *k = ep_key(ep, NULL);
	int r;

	if (!k)
		return -1;
	r = PySequence_Contains(k, x);
	Py_DECREF(k);
	return r;
}
#endif

static PyMappingMethods ep_as_mapping = {
	.mp_subscript = (binaryfunc)ep_subscript,
};

/* 3.12 iterates an EntryPoint through __getitem__: name, value, group */
static PySequenceMethods ep_as_sequence = {
#if PY_VERSION_HEX < 0x030B0000
	.sq_length = (lenfunc)ep_length,
	.sq_contains = (objobjproc)ep_contains,
#endif
	.sq_item = (ssizeargfunc)ep_item,
};
#endif

#if PY_VERSION_HEX < 0x030C0000
/* iter(ep), for dict(eps) of old: (name, ep), with a DeprecationWarning */
static PyObject *
ep_iter(EpyEntryPoint *ep)
{
	PyObject *t, *it;

	if (PyErr_WarnEx(PyExc_DeprecationWarning,
			 "Construction of dict of EntryPoints is deprecated "
			 "in favor of EntryPoints.",
			 1) < 0)
		return NULL;
	t = PyTuple_Pack(2, ep->name, (PyObject *)ep);
	if (!t)
		return NULL;
	it = PyObject_GetIter(t);
	Py_DECREF(t);
	return it;
}
#endif

#if PY_VERSION_HEX >= 0x030B0000
/* 3.11+ refuses every attribute assignment with this message */
static int
ep_setattro(PyObject *self, PyObject *name, PyObject *value)
{
	if (!value)
		return PyObject_GenericSetAttr(self, name, value);
	PyErr_SetString(PyExc_AttributeError,
			"EntryPoint objects are immutable.");
	return -1;
}
#endif

static Py_hash_t
ep_hash(EpyEntryPoint *ep)
{
	PyObject *k = ep_key(ep, NULL);
	Py_hash_t h;

	if (!k)
		return -1;
	h = PyObject_Hash(k);
	Py_DECREF(k);
	return h;
}

static PyObject *
ep_repr(EpyEntryPoint *ep)
{
	return PyUnicode_FromFormat("EntryPoint(name=%R, value=%R, group=%R)",
				    ep->name, ep->value, ep->group);
}

PyTypeObject EpyEntryPoint_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "epcache.EntryPoint",
	.tp_basicsize = sizeof(EpyEntryPoint),
	.tp_dealloc = (destructor)ep_dealloc,
	.tp_repr = (reprfunc)ep_repr,
	.tp_hash = (hashfunc)ep_hash,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_doc = "EntryPoint(name, value, group): an entry point, as "
		  "importlib.metadata.EntryPoint.",
	.tp_traverse = (traverseproc)ep_traverse,
	.tp_clear = (inquiry)ep_clear,
	.tp_richcompare = ep_richcompare,
	.tp_methods = ep_methods,
	.tp_getset = ep_getset,
	.tp_new = ep_new,
#if PY_VERSION_HEX < 0x030B0000
	.tp_dictoffset = offsetof(EpyEntryPoint, dict),
#endif
#if PY_VERSION_HEX < 0x030D0000
	.tp_as_mapping = &ep_as_mapping,
	.tp_as_sequence = &ep_as_sequence,
#endif
#if PY_VERSION_HEX < 0x030C0000
	.tp_iter = (getiterfunc)ep_iter,
#endif
#if PY_VERSION_HEX >= 0x030B0000
	.tp_setattro = ep_setattro,
#endif
};
