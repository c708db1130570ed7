/*
 * send and recv of bytes, the calls Python makes once per message, made
 * against Python's stable C API instead of through cffi's wrappers.
 *
 * Why: a cffi call releases and retakes the GIL and converts every
 * argument, and for a small message that costs more than everything the
 * core does with it (callgrind: about 950 instructions a call).  These two
 * keep the GIL while the core cannot wait (a message already queued, a
 * send the socket takes at once), release it wherever it may wait or move
 * a large body, and make recv's bytes straight from the message.
 *
 * _build.py compiles this into the cffi module, after Python.h, so only the
 * stable API (Py_LIMITED_API) is at hand.  The core itself stays free of
 * Python: nothing under csrc/ calls back here.  Keeping the GIL while the
 * core takes a socket lock cannot deadlock, since no thread ever waits for
 * the GIL while it holds a core lock (the core's threads never take the
 * GIL, and a Python thread's core call returns with its locks released).
 *
 * Each call is a builtin bound to its context's or operation record's
 * address (self, a Python int), so a call converts one argument.
 */

/* Bodies above this move with the GIL released: a copy or a write of a
 * large body takes long enough for other threads to want to run. */
#define HOT_GIL_BYTES 16384

static void *
hot_address(PyObject *self)
{
	return PyLong_AsVoidPtr(self);
}

/* bound(data: bytes) -> 0, PNC_EAGAIN or an error code, as
 * pnc_ctx_try_send_data. */
static PyObject *
hot_send(PyObject *self, PyObject *data)
{
	char *buf;
	Py_ssize_t len;
	int rv;

	if (PyBytes_AsStringAndSize(data, &buf, &len) < 0)
		return NULL;
	if (len <= HOT_GIL_BYTES) {
		rv = pnc_ctx_try_send_data(hot_address(self), buf, (size_t) len);
	} else {
		Py_BEGIN_ALLOW_THREADS
		rv = pnc_ctx_try_send_data(hot_address(self), buf, (size_t) len);
		Py_END_ALLOW_THREADS
	}
	return PyLong_FromLong(rv);
}

static PyObject *
hot_body(const pnc_op *op)
{
	PyObject *bytes;

	if (op->len <= HOT_GIL_BYTES)
		return PyBytes_FromStringAndSize(op->body, (Py_ssize_t) op->len);
	bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t) op->len);
	if (bytes != NULL) {
		char *to = PyBytes_AsString(bytes);

		Py_BEGIN_ALLOW_THREADS
		memcpy(to, op->body, op->len);
		Py_END_ALLOW_THREADS
	}
	return bytes;
}

/*
 * bound(block: bool) -> the body as bytes, or what pnc_op_recv returns
 * instead of a size (PNC_ESLICE, a negated error code) as an int.  The op
 * owns the message afterwards, as after pnc_op_recv.  An op whose wait is
 * under way (its deadline set, after PNC_ESLICE) goes straight back to
 * waiting: a take would end that wait, and its deadline with it.
 */
static PyObject *
hot_recv(PyObject *self, PyObject *block)
{
	pnc_op *op = hot_address(self);
	int64_t rv = op->deadline == 0 ? pnc_op_take(op) : -PNC_EAGAIN;
	int wait;

	if (rv == -PNC_EAGAIN) {
		if ((wait = PyObject_IsTrue(block)) < 0)
			return NULL;
		Py_BEGIN_ALLOW_THREADS
		rv = wait ? pnc_op_recv(op) : pnc_op_try_recv(op);
		Py_END_ALLOW_THREADS
	}
	return rv < 0 ? PyLong_FromLongLong(rv) : hot_body(op);
}

static PyMethodDef hot_send_def = { "send", hot_send, METH_O, NULL };
static PyMethodDef hot_recv_def = { "recv", hot_recv, METH_O, NULL };

static PyObject *
hot_bind_send(PyObject *module, PyObject *ctx_address)
{
	(void) module;
	return PyCFunction_NewEx(&hot_send_def, ctx_address, NULL);
}

static PyObject *
hot_bind_recv(PyObject *module, PyObject *op_address)
{
	(void) module;
	return PyCFunction_NewEx(&hot_recv_def, op_address, NULL);
}

static PyMethodDef hot_binders[] = {
	{ "bind_send", hot_bind_send, METH_O,
	    "bind_send(ctx address) -> send(bytes): try_send_data's code" },
	{ "bind_recv", hot_bind_recv, METH_O,
	    "bind_recv(op address) -> recv(block): bytes, or a code as an int" },
	{ NULL, NULL, 0, NULL },
};

/*
 * Puts bind_send and bind_recv into this module (cffi makes no room for
 * functions of our own).  Python calls it once, through cffi, so without
 * the GIL.  Returns 0, or -1 with the Python error printed.
 */
int
pnc_hotpath_install(void)
{
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *module = PyImport_AddModule("pynng_core._core");
	PyMethodDef *def;
	int rv = module == NULL ? -1 : 0;

	for (def = hot_binders; rv == 0 && def->ml_name != NULL; def++) {
		PyObject *fn = PyCFunction_NewEx(def, NULL, NULL);

		rv = fn == NULL ? -1 : PyObject_SetAttrString(module, def->ml_name, fn);
		Py_XDECREF(fn);
	}
	if (rv != 0)
		PyErr_Print();
	PyGILState_Release(gil);
	return rv;
}
