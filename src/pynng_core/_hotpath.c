/*
 * send and recv of bytes, the calls Python makes once per message, and
 * their batch forms, made against Python's stable C API instead of through
 * cffi's wrappers.
 *
 * Why: a cffi call releases and retakes the GIL and converts every
 * argument, and for a small message that costs more than everything the
 * core does with it (callgrind: about 950 instructions a call).  send and
 * recv keep the GIL while the core cannot wait (a message already queued,
 * a send the socket takes at once), release it wherever it may wait or
 * move a large body, and make recv's bytes straight from the message.  The
 * batch forms pay the GIL once per batch; what they save is Python's work
 * and copies per message: the bodies go from the list's bytes into
 * messages, and from messages into the list's bytes.
 *
 * _build.py compiles this into the cffi module, after Python.h, so only the
 * stable API (Py_LIMITED_API) is at hand.  The core itself stays free of
 * Python: it calls back here only through the pnc_body_source below.
 * Keeping the GIL while the core takes a socket lock cannot deadlock, since
 * no thread ever waits for the GIL while it holds a core lock (the core's
 * threads never take the GIL, a Python thread's core call returns with its
 * locks released, and the body source takes the GIL only where the core
 * holds none).
 *
 * Each call is a builtin bound to the address (self, a Python int) of its
 * context, operation record or batch, so it converts no pointer.
 */
#include "pnc_atomic.h"

/* Bodies above this move with the GIL released: a copy or a write of a
 * large body takes long enough for other threads to want to run. */
#define HOT_GIL_BYTES 16384

static void *
hot_address(PyObject *self)
{
	return PyLong_AsVoidPtr(self);
}

/*
 * Threads of this process back from a call made without the GIL (a wait
 * in the core, a large copy) that now wait to take it again.  A thread
 * that keeps the GIL through a run of calls (a one-way stream's sends,
 * receives of queued messages) would have them wait for the interpreter's
 * forced switch, 5 ms by default: a request answered beside a stream in
 * the same process took milliseconds instead of microseconds.  So such a
 * call lets the GIL go while one waits, and the CPU too, for the woken
 * thread to take it.
 */
static int hot_gil_wanted;

#define HOT_WITHOUT_GIL(stmt)                            \
	do {                                             \
		Py_BEGIN_ALLOW_THREADS                   \
		stmt;                                    \
		pnc_atomic_add_int(&hot_gil_wanted, 1);  \
		Py_END_ALLOW_THREADS                     \
		pnc_atomic_sub_int(&hot_gil_wanted, 1);  \
	} while (0)

/* GIL held, by a call that kept it. */
static void
hot_hand_over_gil(void)
{
	if (pnc_atomic_load_relaxed_int(&hot_gil_wanted) > 0) {
		Py_BEGIN_ALLOW_THREADS
		pnc_yield();
		Py_END_ALLOW_THREADS
	}
}

/*
 * Large bodies that a waiting recv reads off the pipe itself go straight
 * into bytes objects (pnc_body_source), which recv then returns as they
 * are: without it, a 1 MiB recv spent more time copying the body out of
 * its message than the kernel spent reading it in.
 *
 * The message holds a reference to its bytes.  It may go on any thread,
 * under the core's locks, where taking the GIL could deadlock, so its
 * reference is dropped later, by the next recv or body, with the GIL held:
 * owners wait meanwhile on a lock-free stack.
 */
typedef struct hot_owner {
	PyObject *bytes;
	struct hot_owner *next;
} hot_owner;

static hot_owner *hot_released;

/* GIL held. */
static void
hot_drain(void)
{
	hot_owner *o;

	if (pnc_atomic_load_relaxed_ptr(&hot_released) == NULL)
		return;
	o = pnc_atomic_swap_ptr(&hot_released, NULL);
	while (o != NULL) {
		hot_owner *next = o->next;

		Py_DECREF(o->bytes);
		free(o);
		o = next;
	}
}

static void
hot_body_release(void *owner)
{
	hot_owner *o = owner;

	o->next = pnc_atomic_load_relaxed_ptr(&hot_released);
	while (!pnc_atomic_cas_ptr(&hot_released, &o->next, o))
		;
}

/* On the receiving thread, GIL released.  Small bodies are copied: the
 * copy costs less than taking the GIL. */
static void *
hot_body_alloc(size_t size, void **owner)
{
	hot_owner *o;
	PyGILState_STATE gil;
	char *body = NULL;

	if (size <= HOT_GIL_BYTES || size > PY_SSIZE_T_MAX || (o = malloc(sizeof(*o))) == NULL)
		return NULL;
	gil = PyGILState_Ensure();
	hot_drain();
	if ((o->bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t) size)) != NULL)
		body = PyBytes_AsString(o->bytes);
	else
		PyErr_Clear(); /* the core's own block serves */
	PyGILState_Release(gil);
	if (body == NULL)
		free(o);
	else
		*owner = o;
	return body;
}

static const pnc_body_source hot_bodies = { hot_body_alloc, hot_body_release };

/*
 * A send keeps the GIL unless its body is large or, on a socket whose
 * sends get answers, a thread of ours waits in the core: the send may be
 * what wakes that thread, which then wants the GIL at once and would only
 * wake to sleep on it (an inproc round trip between two threads took 18 us
 * so, 6.5 us without).  A one-way stream (push, pub) keeps it all the
 * same: its receiver then takes a queue's worth at a time, not one message
 * per hand-over (inproc push/pull, 64 B: 1.4 M msg/s the other way, 1.7 M).
 */
static int
hot_send_keeps_gil(size_t len, int one_way)
{
	return len <= HOT_GIL_BYTES && (one_way || pnc_threads_waiting() == 0);
}

/*
 * A send without the GIL (a large body, or a small one while another
 * thread waits in the core).  A large bytes object (immutable) is lent with
 * an owner, a reference to it that the message holds: a pipe may then
 * keep the body where it is, not copy what the kernel did not take at
 * once (ipc push/pull of 64 KiB: the sender's copies were a tenth of
 * the CPU).
 */
static int
hot_send_without_gil(pnc_ctx *c, PyObject *bytes, int flags, pnc_op *op, int slice_ms)
{
	const char *buf = PyBytes_AsString(bytes);
	size_t len = (size_t) PyBytes_Size(bytes);
	hot_owner *o = NULL;
	int rv;

	if (len >= PNC_LEND_MIN_BYTES && PyBytes_CheckExact(bytes) &&
	    (o = malloc(sizeof(*o))) != NULL) {
		Py_INCREF(bytes);
		o->bytes = bytes;
	}
	HOT_WITHOUT_GIL(rv = pnc_ctx_send_owned(c, buf, len, &hot_bodies, o, flags, op, slice_ms));
	hot_drain(); /* owners let go meanwhile: a sender may never receive */
	return rv;
}

static int
hot_try_send(pnc_ctx *c, PyObject *bytes, int one_way)
{
	Py_ssize_t len = PyBytes_Size(bytes);
	pnc_op once = { 0 };
	int rv;

	if (!hot_send_keeps_gil((size_t) len, one_way))
		return hot_send_without_gil(c, bytes, PNC_FLAG_NONBLOCK, &once, 0);
	rv = pnc_ctx_try_send_data(c, PyBytes_AsString(bytes), (size_t) len);
	hot_hand_over_gil();
	return rv;
}

static PyObject *
hot_send_kind(PyObject *self, PyObject *data, int one_way)
{
	char *buf;
	Py_ssize_t len;

	if (PyBytes_AsStringAndSize(data, &buf, &len) < 0)
		return NULL;
	return PyLong_FromLong(hot_try_send(hot_address(self), data, one_way));
}

/* bound(data: bytes) -> 0, PNC_EAGAIN or an error code, as
 * pnc_ctx_try_send_data. */
static PyObject *
hot_send(PyObject *self, PyObject *data)
{
	return hot_send_kind(self, data, 0);
}

static PyObject *
hot_send_one_way(PyObject *self, PyObject *data)
{
	return hot_send_kind(self, data, 1);
}

/* bound(data: bytes, op: address) -> what pnc_ctx_send_data returns, as
 * an int: one blocking slice of the method's send. */
static PyObject *
hot_send_slice(PyObject *self, PyObject *args)
{
	PyObject *bytes, *op;
	int rv;

	if (!PyArg_ParseTuple(args, "SO:send_slice", &bytes, &op))
		return NULL;
	rv = hot_send_without_gil(hot_address(self), bytes, 0, hot_address(op), PNC_SLICE_MS);
	return PyLong_FromLong(rv);
}

static PyObject *
hot_bytes(const void *body, size_t len)
{
	PyObject *bytes;

	if (len <= HOT_GIL_BYTES)
		return PyBytes_FromStringAndSize(body, (Py_ssize_t) len);
	bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t) len);
	if (bytes != NULL) {
		char *to = PyBytes_AsString(bytes);

		HOT_WITHOUT_GIL(memcpy(to, body, len));
	}
	return bytes;
}


/* A message's body as bytes: its own bytes object, if that is all of it. */
static PyObject *
hot_msg_bytes(pnc_msg *m)
{
	hot_owner *o = pnc_msg_body_owner(m, &hot_bodies);
	void *body = pnc_msg_body(m);
	size_t len = pnc_msg_len(m);

	if (o != NULL && PyBytes_AsString(o->bytes) == body &&
	    (size_t) PyBytes_Size(o->bytes) == len) {
		Py_INCREF(o->bytes);
		return o->bytes;
	}
	return hot_bytes(body, len);
}

/*
 * What pnc_op_recv (block) or pnc_op_try_recv returns: a message already
 * queued is taken with the GIL held, and the GIL is let go only to wait or
 * read.  Bodies the op reads itself go to `bodies`.  Then the bytes bodies
 * let go of meanwhile (the op's last message among them) are dropped.
 */
static int64_t
hot_take(pnc_op *op, int block, const pnc_body_source *bodies)
{
	int64_t rv = pnc_op_take(op);

	if (rv == -PNC_EAGAIN) {
		op->bodies = bodies;
		HOT_WITHOUT_GIL(rv = block ? pnc_op_recv(op) : pnc_op_try_recv(op));
		op->bodies = NULL;
	} else {
		hot_hand_over_gil();
	}
	hot_drain();
	return rv;
}

/*
 * bound(block: bool) -> the body as bytes, or what pnc_op_recv returns
 * instead of a size (PNC_ESLICE, a negated error code) as an int.  The op
 * owns the message afterwards, as after pnc_op_recv.
 */
static PyObject *
hot_recv(PyObject *self, PyObject *block)
{
	pnc_op *op = hot_address(self);
	int wait = PyObject_IsTrue(block);
	int64_t rv;

	if (wait < 0)
		return NULL;
	rv = hot_take(op, wait, &hot_bodies);
	return rv < 0 ? PyLong_FromLongLong(rv) : hot_msg_bytes(op->msg);
}

/*
 * recv_msg's received message, or a Message made of bytes (Received.of):
 * an op inside a Python object whose dealloc frees the message.  A cffi op
 * with ffi.gc, three cffi calls (receive, pipe id, release) and their GIL
 * hand-overs cost each received Message 14,000 instructions, more than the
 * core spent on a 64 KiB one.  message.py makes a cffi view of the op
 * (`address`) when it needs one.
 *
 * The op owns op.msg, and every read or change of it is made with the GIL
 * held, until a send takes it: send_held empties op.msg before it lets the
 * GIL go, and puts the message back if the core refused it; message.py's
 * send through the cffi view empties it once the core took it.
 */
typedef struct {
	PyObject_HEAD
	pnc_op op;
} hot_received;

static PyTypeObject *hot_received_type;

static void
hot_received_dealloc(PyObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	pnc_op_release(&((hot_received *) self)->op);
	PyObject_Free(self); /* PyType_GenericAlloc's, for a type without GC */
	Py_DECREF(type);
}

static Py_ssize_t
hot_received_len(PyObject *self)
{
	return (Py_ssize_t) ((hot_received *) self)->op.len;
}

static PyObject *
hot_received_address(PyObject *self, void *unused)
{
	(void) unused;
	return PyLong_FromVoidPtr(&((hot_received *) self)->op);
}

static PyObject *
hot_received_pipe_id(PyObject *self, void *unused)
{
	pnc_msg *m = ((hot_received *) self)->op.msg;

	(void) unused;
	return PyLong_FromUnsignedLong(m != NULL ? pnc_msg_pipe_id(m) : 0);
}

/* Puts the message back at the front of its queue (an interrupted
 * recv_msg loses nothing). */
static PyObject *
hot_received_unget(PyObject *self, PyObject *unused)
{
	(void) unused;
	pnc_op_unget(&((hot_received *) self)->op);
	Py_RETURN_NONE;
}

/* A copy of the body as bytes, or None once the op owns no message: a
 * Message's `bytes` without cffi's cast and unpack (a third of the cost).
 * Always a copy, since the Message's buffer may write to the body, and
 * made with the GIL held, as op.msg is only the op's while it is held (a
 * send_held on another thread could otherwise take and free the message
 * under the copy). */
static PyObject *
hot_received_body(PyObject *self, void *unused)
{
	pnc_msg *m = ((hot_received *) self)->op.msg;

	(void) unused;
	if (m == NULL)
		Py_RETURN_NONE;
	return PyBytes_FromStringAndSize(pnc_msg_body(m), (Py_ssize_t) pnc_msg_len(m));
}

static PyGetSetDef hot_received_getset[] = {
	{ "address", hot_received_address, NULL, NULL, NULL },
	{ "pipe_id", hot_received_pipe_id, NULL, NULL, NULL },
	{ "body", hot_received_body, NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

/*
 * Received.of(data: bytes) -> a Received owning a new message with a copy
 * of data, or the error code as an int: Message(bytes) without cffi's
 * four calls, its ffi.new and its ffi.gc (2 us a Message before).
 */
static PyObject *
hot_received_of(PyObject *type, PyObject *data)
{
	hot_received *r;
	pnc_msg *m;
	char *buf;
	Py_ssize_t len;
	int rv;

	if (PyBytes_AsStringAndSize(data, &buf, &len) < 0)
		return NULL;
	if ((r = (hot_received *) PyType_GenericAlloc((PyTypeObject *) type, 0)) == NULL)
		return NULL;
	if ((rv = pnc_msg_from(&m, buf, (size_t) len)) != 0) {
		Py_DECREF(r);
		return PyLong_FromLong(rv);
	}
	r->op.msg = m;
	r->op.body = pnc_msg_body(m);
	r->op.len = pnc_msg_len(m);
	return (PyObject *) r;
}

static PyMethodDef hot_received_methods[] = {
	{ "unget", hot_received_unget, METH_NOARGS, NULL },
	{ "of", hot_received_of, METH_O | METH_CLASS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyType_Slot hot_received_slots[] = {
	{ Py_tp_new, PyType_GenericNew },
	{ Py_tp_dealloc, hot_received_dealloc },
	{ Py_sq_length, hot_received_len },
	{ Py_tp_getset, hot_received_getset },
	{ Py_tp_methods, hot_received_methods },
	{ 0, NULL },
};

static PyType_Spec hot_received_spec = {
	"pynng_core._core.Received", sizeof(hot_received), 0, Py_TPFLAGS_DEFAULT,
	hot_received_slots,
};

/* bound(received) -> 0, PNC_ESLICE or a negated error code: a message
 * into received's op, as pnc_op_recv (recv_msg) or pnc_op_try_recv
 * (try_recv_msg) would put it. */
static PyObject *
hot_recv_msg_kind(PyObject *self, PyObject *received, int block)
{
	pnc_op *op = &((hot_received *) received)->op;
	int64_t rv;

	if (!PyObject_TypeCheck(received, hot_received_type)) {
		PyErr_SetString(PyExc_TypeError, "recv_msg: not a Received");
		return NULL;
	}
	op->ctx = hot_address(self);
	rv = hot_take(op, block, NULL);
	return PyLong_FromLongLong(rv < 0 ? rv : 0);
}

static PyObject *
hot_recv_msg(PyObject *self, PyObject *received)
{
	return hot_recv_msg_kind(self, received, 1);
}

static PyObject *
hot_try_recv_msg(PyObject *self, PyObject *received)
{
	return hot_recv_msg_kind(self, received, 0);
}

/*
 * bound(received, targeted: bool, pipe_id: int) -> 0 or an error code as
 * an int, or None when the op owns no message: one try of send_msg for a
 * Message that holds a Received and no cffi view (no view of its memory is
 * alive), its message handed to the core as it is.  The op lets go of the
 * message for the try, so a thread using the Message meanwhile finds none
 * (the GIL is kept or let go as for a send of bytes of its length), and
 * gets it back unless 0.
 */
static PyObject *
hot_send_held_kind(PyObject *self, PyObject *const *args, Py_ssize_t nargs, int one_way)
{
	pnc_ctx *c = hot_address(self);
	unsigned long long pipe_id;
	int targeted, rv;
	pnc_msg *m;
	pnc_op *op;

	if (nargs != 3 || !PyObject_TypeCheck(args[0], hot_received_type)) {
		PyErr_SetString(PyExc_TypeError, "send_held(received, targeted, pipe_id)");
		return NULL;
	}
	if ((targeted = PyObject_IsTrue(args[1])) < 0 ||
	    ((pipe_id = PyLong_AsUnsignedLongLong(args[2])) == (unsigned long long) -1 &&
	     PyErr_Occurred()))
		return NULL;
	if (targeted && pipe_id > UINT32_MAX) {
		PyErr_Format(PyExc_OverflowError, "send_msg: pipe id %llu is not a 32-bit pipe id",
		    pipe_id);
		return NULL;
	}
	op = &((hot_received *) args[0])->op;
	if ((m = op->msg) == NULL)
		Py_RETURN_NONE;
	if (targeted)
		pnc_msg_set_pipe_id(m, (uint32_t) pipe_id);
	op->msg = NULL;
	if (hot_send_keeps_gil(pnc_msg_len(m), one_way)) {
		rv = pnc_ctx_try_send(c, m);
		hot_hand_over_gil();
	} else {
		HOT_WITHOUT_GIL(rv = pnc_ctx_try_send(c, m));
	}
	if (rv != 0)
		op->msg = m; /* still the Message's */
	return PyLong_FromLong(rv);
}

static PyObject *
hot_send_held(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	return hot_send_held_kind(self, args, nargs, 0);
}

static PyObject *
hot_send_one_way_held(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	return hot_send_held_kind(self, args, nargs, 1);
}

/* The bodies of the batch's messages as a list of bytes. */
static PyObject *
hot_batch_list(const pnc_batch *b)
{
	PyObject *list = PyList_New((Py_ssize_t) b->count);

	for (size_t i = 0; list != NULL && i < b->count; i++) {
		PyObject *bytes = hot_msg_bytes(b->msgs[i]);

		if (bytes == NULL || PyList_SetItem(list, (Py_ssize_t) i, bytes) < 0)
			Py_CLEAR(list);
	}
	return list;
}

/* bound(block: bool, max: int) -> a list of bytes, or what pnc_batch_recv
 * returns instead of 0 as an int.  The batch owns the messages afterwards,
 * as after pnc_batch_recv. */
static PyObject *
hot_recv_many(PyObject *self, PyObject *args)
{
	pnc_batch *b = hot_address(self);
	Py_ssize_t max;
	int block, rv;

	if (!PyArg_ParseTuple(args, "pn:recv_many", &block, &max))
		return NULL;
	b->op.bodies = &hot_bodies;
	HOT_WITHOUT_GIL(rv = pnc_batch_recv(b, block ? 0 : PNC_FLAG_NONBLOCK, (size_t) max));
	b->op.bodies = NULL;
	hot_drain();
	return rv != 0 ? PyLong_FromLong(rv) : hot_batch_list(b);
}

/* bound(messages: list of bytes, flags: int) -> what pnc_batch_send
 * returns, as an int; batch.count says how many went.  A TypeError, before
 * any is sent, if one is not bytes.  The list is copied first: another
 * thread may change it while the core reads its bytes without the GIL. */
static PyObject *
hot_send_many(PyObject *self, PyObject *args)
{
	pnc_batch *b = hot_address(self);
	PyObject *given, *held;
	pnc_body *bodies;
	Py_ssize_t n, i;
	int flags, rv = 0;

	if (!PyArg_ParseTuple(args, "O!i:send_many", &PyList_Type, &given, &flags))
		return NULL;
	if ((held = PyList_GetSlice(given, 0, PyList_Size(given))) == NULL)
		return NULL;
	n = PyList_Size(held);
	if ((bodies = PyMem_Malloc((size_t) (n ? n : 1) * sizeof(*bodies))) == NULL) {
		Py_DECREF(held);
		return PyErr_NoMemory();
	}
	for (i = 0; i < n; i++) {
		char *data;
		Py_ssize_t len;

		if (PyBytes_AsStringAndSize(PyList_GetItem(held, i), &data, &len) < 0)
			break; /* not bytes: the TypeError is set */
		bodies[i] = (pnc_body) { data, (size_t) len };
	}
	if (i == n) {
		HOT_WITHOUT_GIL(rv = pnc_batch_send(b, bodies, (size_t) n, flags));
	}
	PyMem_Free(bodies);
	Py_DECREF(held);
	return i == n ? PyLong_FromLong(rv) : NULL;
}

/*
 * send and recv themselves, set on each socket and context as attributes
 * in front of the class's methods (sendrecv.py): the common call, a
 * send(bytes) the core takes at once or a recv(), then costs no Python
 * frame (callgrind: some 700 instructions a message on either side).  Any
 * other call (block=, a buffer that is not bytes, a send that would wait,
 * an error, a receive while another thread waits with this one's op) is
 * the Python method's, reached through a weakref.WeakMethod: the object
 * keeps no cycle through its own attribute, and goes when its last
 * reference does, as before.
 *
 * self: send's is (its context's address, WeakMethod of the method);
 * recv's ([the address of an op of its own], WeakMethod of the method,
 * WeakMethod of the object's _error, the op's cffi object, which frees the
 * op and what it still owns when the tuple goes).
 */
static PyObject *
hot_weak_call(PyObject *self, Py_ssize_t which, PyObject *args, PyObject *kwargs)
{
	PyObject *method = PyObject_CallObject(PyTuple_GetItem(self, which), NULL);
	PyObject *rv;

	if (method == NULL)
		return NULL;
	if (method == Py_None) {
		Py_DECREF(method);
		PyErr_SetString(PyExc_ReferenceError, "the socket or context is gone");
		return NULL;
	}
	rv = PyObject_Call(method, args, kwargs);
	Py_DECREF(method);
	return rv;
}

/*
 * The method, with the arguments of a fast call (vectorcall's own call is
 * not in the stable ABI before 3.12): a tuple and a dict made for it, on
 * the paths that are not the hot one.
 */
static PyObject *
hot_method(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
	Py_ssize_t nkw = kwnames != NULL ? PyTuple_Size(kwnames) : 0;
	PyObject *tuple = PyTuple_New(nargs), *kwargs = nkw > 0 ? PyDict_New() : NULL, *rv = NULL;

	if (tuple == NULL || (nkw > 0 && kwargs == NULL))
		goto out;
	for (Py_ssize_t i = 0; i < nargs; i++) {
		Py_INCREF(args[i]);
		PyTuple_SetItem(tuple, i, args[i]);
	}
	for (Py_ssize_t i = 0; i < nkw; i++)
		if (PyDict_SetItem(kwargs, PyTuple_GetItem(kwnames, i), args[nargs + i]) < 0)
			goto out;
	rv = hot_weak_call(self, 1, tuple, kwargs);
out:
	Py_XDECREF(tuple);
	Py_XDECREF(kwargs);
	return rv;
}

/* Raises the object's exception for `code` (an NNG error code), as the
 * method would; returns NULL. */
static PyObject *
hot_raise(PyObject *self, int code, const char *what)
{
	PyObject *args = Py_BuildValue("(is)", code, what);
	PyObject *exc = args != NULL ? hot_weak_call(self, 2, args, NULL) : NULL;

	Py_XDECREF(args);
	if (exc != NULL) {
		PyErr_SetObject((PyObject *) Py_TYPE(exc), exc);
		Py_DECREF(exc);
	}
	return NULL;
}

static PyObject *
hot_send_call_kind(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
    PyObject *kwnames, int one_way)
{
	if (kwnames == NULL && nargs == 1 && PyBytes_CheckExact(args[0]) &&
	    hot_try_send(hot_address(PyTuple_GetItem(self, 0)), args[0], one_way) == 0)
		Py_RETURN_NONE;
	/* Anything else, a send that would wait or failed included: the
	 * method's try meets the same state again. */
	return hot_method(self, args, nargs, kwnames);
}

static PyObject *
hot_send_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
	return hot_send_call_kind(self, args, nargs, kwnames, 0);
}

static PyObject *
hot_send_one_way_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
    PyObject *kwnames)
{
	return hot_send_call_kind(self, args, nargs, kwnames, 1);
}

/*
 * Waits in slices, and looks for signals between them, as the method does.
 * Any exception leaves the op as the method's do (pnc_op_unget): nothing
 * lost, no wait left half done.  The op is taken out of its one-item list
 * (the tuple's first item) for the whole call, since the call may let the
 * GIL go (to wait, to copy a large body, to hand the GIL over) while the
 * op owns its message: a receive on another thread meanwhile finds None
 * there and goes the method's way, with ops of its own.
 */
static PyObject *
hot_recv_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
	PyObject *slot = PyTuple_GetItem(self, 0);
	PyObject *held = PyList_GetItem(slot, 0), *bytes;
	pnc_op *op;
	int64_t rv;

	if (kwnames != NULL || nargs != 0 || held == Py_None)
		return hot_method(self, args, nargs, kwnames);
	Py_INCREF(held);
	Py_INCREF(Py_None);
	PyList_SetItem(slot, 0, Py_None);
	op = hot_address(held);
	while ((rv = hot_take(op, 1, &hot_bodies)) == PNC_ESLICE && PyErr_CheckSignals() == 0)
		;
	if (rv == PNC_ESLICE) { /* a signal's handler raised */
		pnc_op_unget(op);
		bytes = NULL;
	} else if (rv < 0) {
		pnc_op_unget(op);
		bytes = hot_raise(self, (int) -rv, "recv");
	} else if ((bytes = hot_msg_bytes(op->msg)) == NULL) {
		pnc_op_unget(op);
	}
	PyList_SetItem(slot, 0, held); /* the op back, for the next call */
	return bytes;
}

static PyMethodDef hot_calls[] = {
	{ "send", hot_send, METH_O, NULL },
	{ "send_one_way", hot_send_one_way, METH_O, NULL },
	{ "send_slice", hot_send_slice, METH_VARARGS, NULL },
	{ "send_held", (PyCFunction) (void (*)(void)) hot_send_held, METH_FASTCALL, NULL },
	{ "send_one_way_held", (PyCFunction) (void (*)(void)) hot_send_one_way_held, METH_FASTCALL,
	  NULL },
	{ "recv", hot_recv, METH_O, NULL },
	{ "recv_msg", hot_recv_msg, METH_O, NULL },
	{ "try_recv_msg", hot_try_recv_msg, METH_O, NULL },
	{ "recv_many", hot_recv_many, METH_VARARGS, NULL },
	{ "send_many", hot_send_many, METH_VARARGS, NULL },
	/* Fast calls: no tuple made for the arguments, no generic call path
	 * (callgrind: some 380 instructions a send) */
	{ "send_call", (PyCFunction) (void (*)(void)) hot_send_call, METH_FASTCALL | METH_KEYWORDS,
	  "send_call($self, data, block=True)\n--\n\nSends bytes or any buffer-protocol object (copied into the core)." },
	{ "send_one_way_call", (PyCFunction) (void (*)(void)) hot_send_one_way_call,
	  METH_FASTCALL | METH_KEYWORDS,
	  "send_one_way_call($self, data, block=True)\n--\n\nSends bytes or any buffer-protocol object (copied into the core)." },
	{ "recv_call", (PyCFunction) (void (*)(void)) hot_recv_call, METH_FASTCALL | METH_KEYWORDS,
	  "recv_call($self, block=True)\n--\n\nReceives the next message as bytes." },
};

/* bind(name, address) -> the call `name` bound to the address of its
 * context (send, send_one_way, recv_msg, try_recv_msg), op (recv) or
 * batch (recv_many, send_many); bind(name, (address, ...)) the method
 * calls (send_call, send_one_way_call, recv_call), as said above them. */
static PyObject *
hot_bind(PyObject *module, PyObject *args)
{
	const char *name;
	PyObject *address;

	(void) module;
	if (!PyArg_ParseTuple(args, "sO:bind", &name, &address))
		return NULL;
	for (size_t i = 0; i < sizeof(hot_calls) / sizeof(hot_calls[0]); i++)
		if (strcmp(name, hot_calls[i].ml_name) == 0)
			return PyCFunction_NewEx(&hot_calls[i], address, NULL);
	PyErr_Format(PyExc_ValueError, "bind: no call named %s", name);
	return NULL;
}

static PyMethodDef hot_bind_def = {
	"bind", hot_bind, METH_VARARGS, "bind(name, address) -> a hot call (_hotpath.c)"
};

/*
 * Puts bind and Received into this module (cffi makes no room for objects
 * of our own).  Python calls it once, through cffi, so without the GIL.
 * Returns 0, or -1 with the Python error printed.
 */
int
pnc_hotpath_install(void)
{
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *module = PyImport_AddModule("pynng_core._core");
	PyObject *bind = module != NULL ? PyCFunction_NewEx(&hot_bind_def, NULL, NULL) : NULL;
	int rv = bind != NULL ? PyObject_SetAttrString(module, "bind", bind) : -1;

	if (rv == 0 && hot_received_type == NULL &&
	    (hot_received_type = (PyTypeObject *) PyType_FromSpec(&hot_received_spec)) == NULL)
		rv = -1;
	if (rv == 0)
		rv = PyObject_SetAttrString(module, "Received", (PyObject *) hot_received_type);
	Py_XDECREF(bind);
	if (rv != 0)
		PyErr_Print();
	PyGILState_Release(gil);
	return rv;
}
