/*
 * win_pipe.c: named pipe objects for ipc:// (design, lifetime and locks:
 * win_pipe.h).
 *
 * Instances are byte pipes that refuse remote clients; the first instance
 * of a listener is made with FILE_FLAG_FIRST_PIPE_INSTANCE, so a name in
 * use is AddressInUse, as a bound socket path is.  A dialer's CreateFileW
 * either connects at once or fails: a name nobody serves is
 * ConnectionRefused, as NNG reports it, and the dialer retries later.
 */
#include <stdlib.h>
#include <string.h>

#include "win_pipe.h"

/* What the kernel buffers each way per instance; NNG asks for 4 KiB. */
#define PIPE_BUF_BYTES (64u << 10)
#define RBUF_BYTES (64u << 10)
#define WBUF_BYTES (256u << 10)
#define BUSY_TRIES 5
#define BUSY_WAIT_MS 20

enum { OP_READ, OP_WRITE, OP_CONNECT };

typedef struct winpipe_op {
	OVERLAPPED ov; /* first: the packet's OVERLAPPED is the op's address */
	pnc_winpipe *obj;
	int kind;
} winpipe_op;

struct pnc_winpipe {
	pnc_mtx mtx;
	int refs;
	int listener;
	int closed;
	HANDLE h; /* the connection, or the listener's instance waiting for one */
	/* a connection's reads: rbuf holds rhave bytes from roff */
	winpipe_op rop;
	int rpending;
	uint8_t *rbuf;
	size_t roff, rhave;
	int reof;
	int rerr;
	/* a connection's writes: wbuf holds what WriteFile is writing */
	winpipe_op wop;
	int wpending;
	uint8_t *wbuf;
	size_t wlen;
	int werr;
	/* a listener's */
	winpipe_op cop;
	int cpending;
	int cready; /* the instance in h has its client */
	int cfailed; /* its connect failed: a new instance is due */
	WCHAR name[PNC_PIPE_NAME_MAX + 1];
};

static struct {
	INIT_ONCE once;
	int err;
	HANDLE port;
	pnc_wakefd wake;
	pnc_thread thread;
	int started; /* atomic: wake is open */
} g = { .once = INIT_ONCE_STATIC_INIT };

static int
win_to_pnc(DWORD e)
{
	switch (e) {
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_NO_SYSTEM_RESOURCES:
		return PNC_ENOMEM;
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_PIPE_BUSY:
	case ERROR_SEM_TIMEOUT:
		return PNC_ECONNREFUSED;
	case ERROR_ACCESS_DENIED:
		return PNC_EPERM;
	case ERROR_INVALID_NAME:
	case ERROR_BAD_PATHNAME:
	case ERROR_FILENAME_EXCED_RANGE:
		return PNC_EADDRINVAL;
	case ERROR_TOO_MANY_OPEN_FILES:
		return PNC_ENOFILES;
	case ERROR_BROKEN_PIPE:
	case ERROR_PIPE_NOT_CONNECTED:
	case ERROR_NO_DATA:
	case ERROR_HANDLE_EOF:
		return PNC_ECONNSHUT;
	case ERROR_OPERATION_ABORTED:
	case ERROR_NETNAME_DELETED:
		return PNC_ECONNABORTED;
	default:
		return PNC_EINTERNAL;
	}
}

static void pipe_op_done(winpipe_op *op, DWORD err, DWORD n);

/* The completion thread: every pipe's packets, one after another. */
static void
completion_main(void *arg)
{
	(void) arg;
	for (;;) {
		DWORD n = 0;
		ULONG_PTR key = 0;
		OVERLAPPED *ov = NULL;
		BOOL ok = GetQueuedCompletionStatus(g.port, &n, &key, &ov, INFINITE);

		if (ov == NULL) {
			if (GetLastError() == ERROR_ABANDONED_WAIT_0)
				return; /* the port is gone */
			continue;
		}
		pipe_op_done((winpipe_op *) ov, ok ? 0 : GetLastError(), n);
	}
}

static BOOL CALLBACK
pipes_start(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	(void) once;
	(void) param;
	(void) ctx;
	if ((g.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1)) == NULL) {
		g.err = PNC_ENOMEM;
		return TRUE;
	}
	if ((g.err = pnc_wakefd_open(&g.wake)) != 0)
		return TRUE;
	if ((g.err = pnc_thread_start(&g.thread, completion_main, NULL)) != 0) {
		pnc_wakefd_close(&g.wake);
		return TRUE;
	}
	pnc_atomic_store_release_int(&g.started, 1);
	return TRUE;
}

/* The port, its thread and the wake-up: made once, kept until exit. */
static int
pipes_ready(void)
{
	InitOnceExecuteOnce(&g.once, pipes_start, NULL, NULL);
	return g.err;
}

pnc_fd
pnc_winpipe_wake_fd(void)
{
	return pnc_atomic_load_acquire_int(&g.started) ? pnc_wakefd_fd(&g.wake)
	                                                      : PNC_FD_NONE;
}

void
pnc_winpipe_wake_drain(void)
{
	if (pnc_atomic_load_acquire_int(&g.started))
		pnc_wakefd_drain(&g.wake);
}

void
pnc_winpipe_wake_signal(void)
{
	if (pnc_atomic_load_acquire_int(&g.started))
		pnc_wakefd_signal(&g.wake);
}

static pnc_fd
pipe_fd(pnc_winpipe *p)
{
	return (pnc_fd) ((uintptr_t) p | 1);
}

static pnc_winpipe *
pipe_new(int listener)
{
	pnc_winpipe *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (!listener && (p->rbuf = malloc(RBUF_BYTES)) == NULL) {
		free(p);
		return NULL;
	}
	pnc_mtx_init(&p->mtx);
	p->refs = 1;
	p->listener = listener;
	p->h = INVALID_HANDLE_VALUE;
	p->rop.obj = p->wop.obj = p->cop.obj = p;
	p->rop.kind = OP_READ;
	p->wop.kind = OP_WRITE;
	p->cop.kind = OP_CONNECT;
	return p;
}

static void
pipe_destroy(pnc_winpipe *p)
{
	if (p->h != INVALID_HANDLE_VALUE)
		CloseHandle(p->h);
	pnc_mtx_fini(&p->mtx);
	free(p->rbuf);
	free(p->wbuf);
	free(p);
}

void
pnc_winpipe_hold(pnc_winpipe *p)
{
	pnc_mtx_lock(&p->mtx);
	p->refs++;
	pnc_mtx_unlock(&p->mtx);
}

void
pnc_winpipe_rele(pnc_winpipe *p)
{
	int last;

	pnc_mtx_lock(&p->mtx);
	last = --p->refs == 0;
	pnc_mtx_unlock(&p->mtx);
	if (last)
		pipe_destroy(p);
}

/* Started (or completed at once): its packet will come.  Locked. */
static void
pipe_op_started_locked(pnc_winpipe *p, int *pending)
{
	*pending = 1;
	p->refs++;
}

/* A read into the empty buffer, unless the stream is over.  Locked. */
static void
pipe_read_start_locked(pnc_winpipe *p)
{
	DWORD e;

	if (p->closed || p->rpending || p->reof || p->rerr || p->rhave > 0)
		return;
	memset(&p->rop.ov, 0, sizeof(p->rop.ov));
	p->roff = 0;
	if (ReadFile(p->h, p->rbuf, RBUF_BYTES, NULL, &p->rop.ov) ||
	    (e = GetLastError()) == ERROR_IO_PENDING) {
		pipe_op_started_locked(p, &p->rpending);
		return;
	}
	if (win_to_pnc(e) == PNC_ECONNSHUT)
		p->reof = 1;
	else
		p->rerr = win_to_pnc(e);
}

static void
pipe_op_done(winpipe_op *op, DWORD err, DWORD n)
{
	pnc_winpipe *p = op->obj;
	int last, notify;

	pnc_mtx_lock(&p->mtx);
	switch (op->kind) {
	case OP_READ:
		p->rpending = 0;
		if (err == 0 && n > 0) {
			p->roff = 0;
			p->rhave = n;
		} else if (err == 0 || err == ERROR_MORE_DATA) {
			pipe_read_start_locked(p); /* an empty write's: read on */
		} else if (win_to_pnc(err) == PNC_ECONNSHUT) {
			p->reof = 1;
		} else if (!p->closed) {
			p->rerr = win_to_pnc(err);
		}
		break;
	case OP_WRITE:
		p->wpending = 0;
		/*
		 * A short write is the end of the pipe: the caller counted all
		 * of wbuf as written, and what the peer got is not known.  Wine
		 * 8.0 sends such a packet (success, 0 bytes of 256 KiB), the
		 * OVERLAPPED still saying STATUS_PENDING for good, when the
		 * thread that began the write exits before it is done; writing
		 * the rest again put bytes twice on the wire.
		 */
		if (err != 0)
			p->werr = win_to_pnc(err);
		else if (n < p->wlen)
			p->werr = PNC_ECONNSHUT;
		p->wlen = 0;
		/* The last write of a closed pipe done: the handle may go. */
		if (p->closed && p->h != INVALID_HANDLE_VALUE) {
			CloseHandle(p->h);
			p->h = INVALID_HANDLE_VALUE;
		}
		break;
	default: /* OP_CONNECT */
		p->cpending = 0;
		if (err == 0 || err == ERROR_PIPE_CONNECTED)
			p->cready = 1;
		else
			p->cfailed = 1;
		break;
	}
	notify = !p->closed;
	last = --p->refs == 0;
	pnc_mtx_unlock(&p->mtx);
	if (last)
		pipe_destroy(p);
	else if (notify)
		pnc_wakefd_signal(&g.wake);
}

/* A new instance of the listener's pipe, waiting for a client.  Locked. */
static int
pipe_instance_locked(pnc_winpipe *l, int first)
{
	HANDLE h;
	DWORD e;

	/*
	 * FILE_FLAG_FIRST_PIPE_INSTANCE finds a name in use on Windows; wine 8
	 * ignores it, so ask first too: a pipe that exists either has an
	 * instance free (TRUE) or none (a timeout); only a name nobody serves
	 * is not found.  Nothing connects to it.
	 */
	if (first && (WaitNamedPipeW(l->name, 1) || GetLastError() != ERROR_FILE_NOT_FOUND))
		return PNC_EADDRINUSE;
	h = CreateNamedPipeW(l->name,
	    PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
	    PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
	    PIPE_UNLIMITED_INSTANCES, PIPE_BUF_BYTES, PIPE_BUF_BYTES, 0, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		/* The first instance exists: somebody serves this name. */
		return first && e == ERROR_ACCESS_DENIED ? PNC_EADDRINUSE : win_to_pnc(e);
	}
	if (CreateIoCompletionPort(h, g.port, 0, 0) == NULL) {
		e = GetLastError();
		CloseHandle(h);
		return win_to_pnc(e);
	}
	l->h = h;
	l->cready = l->cfailed = 0;
	memset(&l->cop.ov, 0, sizeof(l->cop.ov));
	if (ConnectNamedPipe(h, &l->cop.ov) || (e = GetLastError()) == ERROR_IO_PENDING)
		pipe_op_started_locked(l, &l->cpending);
	else if (e == ERROR_PIPE_CONNECTED)
		l->cready = 1; /* came between the two calls: no packet */
	else
		l->cfailed = 1; /* came and went: the next accept makes another */
	return 0;
}

int
pnc_winpipe_listen(const WCHAR *name, pnc_fd *fdp)
{
	pnc_winpipe *l;
	int rv;

	if ((rv = pipes_ready()) != 0)
		return rv;
	if ((l = pipe_new(1)) == NULL)
		return PNC_ENOMEM;
	memcpy(l->name, name, sizeof(l->name));
	pnc_mtx_lock(&l->mtx);
	rv = pipe_instance_locked(l, 1);
	pnc_mtx_unlock(&l->mtx);
	if (rv != 0) {
		pnc_winpipe_rele(l);
		return rv;
	}
	*fdp = pipe_fd(l);
	return 0;
}

/* A connected handle becomes a connection object, reading at once. */
static int
pipe_conn(HANDLE h, pnc_fd *fdp)
{
	pnc_winpipe *p = pipe_new(0);

	if (p == NULL) {
		CloseHandle(h);
		return PNC_ENOMEM;
	}
	p->h = h;
	pnc_mtx_lock(&p->mtx);
	pipe_read_start_locked(p);
	pnc_mtx_unlock(&p->mtx);
	*fdp = pipe_fd(p);
	return 0;
}

int
pnc_winpipe_accept(pnc_winpipe *l, pnc_fd *fdp)
{
	HANDLE h = INVALID_HANDLE_VALUE;
	int rv = 0;

	pnc_mtx_lock(&l->mtx);
	if (l->closed) {
		rv = PNC_ECLOSED;
	} else if (l->h == INVALID_HANDLE_VALUE) {
		/* The last new instance could not be made: again. */
		rv = pipe_instance_locked(l, 0);
		rv = rv == 0 ? PNC_EAGAIN : rv == PNC_ENOMEM ? rv : PNC_ENOFILES;
	} else if (l->cfailed) {
		CloseHandle(l->h);
		l->h = INVALID_HANDLE_VALUE;
		(void) pipe_instance_locked(l, 0);
		rv = PNC_ECONNABORTED;
	} else if (!l->cready) {
		rv = PNC_EAGAIN;
	} else {
		h = l->h;
		l->h = INVALID_HANDLE_VALUE;
		l->cready = 0;
		/* A failure leaves h unset: the next accept tries again. */
		(void) pipe_instance_locked(l, 0);
	}
	pnc_mtx_unlock(&l->mtx);
	return rv != 0 ? rv : pipe_conn(h, fdp);
}

int
pnc_winpipe_connect(const WCHAR *name, pnc_fd *fdp)
{
	HANDLE h;
	DWORD e;
	int rv;

	if ((rv = pipes_ready()) != 0)
		return rv;
	for (int tries = 0;; tries++) {
		h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
		    FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
		    NULL);
		if (h != INVALID_HANDLE_VALUE)
			break;
		/* Every instance taken: the listener makes the next one soon. */
		if ((e = GetLastError()) != ERROR_PIPE_BUSY || tries + 1 >= BUSY_TRIES)
			return win_to_pnc(e);
		(void) WaitNamedPipeW(name, BUSY_WAIT_MS);
	}
	if (CreateIoCompletionPort(h, g.port, 0, 0) == NULL) {
		e = GetLastError();
		CloseHandle(h);
		return win_to_pnc(e);
	}
	return pipe_conn(h, fdp);
}

int
pnc_winpipe_read(pnc_winpipe *p, pnc_iov *iov, int niov, size_t *np)
{
	size_t got = 0;
	int rv = 0;

	pnc_mtx_lock(&p->mtx);
	if (p->rhave > 0) {
		for (int i = 0; i < niov && p->rhave > 0; i++) {
			size_t n = PNC_IOV_LEN(&iov[i]);
			if (n > p->rhave)
				n = p->rhave;
			memcpy(PNC_IOV_BASE(&iov[i]), p->rbuf + p->roff, n);
			p->roff += n;
			p->rhave -= n;
			got += n;
		}
		pipe_read_start_locked(p); /* if it is empty now */
		*np = got;
	} else {
		rv = p->rerr ? p->rerr : p->reof ? PNC_ECONNSHUT
		   : p->listener || p->closed ? PNC_ECLOSED : PNC_EAGAIN;
	}
	pnc_mtx_unlock(&p->mtx);
	return rv;
}

int
pnc_winpipe_write(pnc_winpipe *p, const pnc_iov *iov, int niov, size_t *np)
{
	size_t len = 0;
	DWORD e;
	int rv = 0;

	pnc_mtx_lock(&p->mtx);
	if (p->werr) {
		rv = p->werr;
	} else if (p->listener || p->closed) {
		rv = PNC_ECLOSED;
	} else if (p->wpending) {
		rv = PNC_EAGAIN;
	} else if (p->wbuf == NULL && (p->wbuf = malloc(WBUF_BYTES)) == NULL) {
		rv = PNC_EAGAIN; /* try later: memory may come back */
	} else {
		for (int i = 0; i < niov && len < WBUF_BYTES; i++) {
			size_t n = PNC_IOV_LEN(&iov[i]);
			if (n > WBUF_BYTES - len)
				n = WBUF_BYTES - len;
			memcpy(p->wbuf + len, PNC_IOV_BASE(&iov[i]), n);
			len += n;
		}
		memset(&p->wop.ov, 0, sizeof(p->wop.ov));
		p->wlen = len;
		if (len == 0) {
			/* nothing to write */
		} else if (WriteFile(p->h, p->wbuf, (DWORD) len, NULL, &p->wop.ov) ||
		    (e = GetLastError()) == ERROR_IO_PENDING) {
			pipe_op_started_locked(p, &p->wpending);
		} else {
			rv = p->werr = win_to_pnc(e);
		}
		*np = len;
	}
	pnc_mtx_unlock(&p->mtx);
	return rv;
}

unsigned
pnc_winpipe_ready(pnc_winpipe *p)
{
	unsigned r = 0;

	pnc_mtx_lock(&p->mtx);
	if (p->listener) {
		if (p->cready || p->cfailed || p->h == INVALID_HANDLE_VALUE)
			r = PNC_POLL_IN;
	} else {
		if (p->rhave > 0 || p->reof || p->rerr)
			r |= PNC_POLL_IN;
		if (p->rerr)
			r |= PNC_POLL_ERR;
		if (!p->wpending)
			r |= PNC_POLL_OUT;
	}
	pnc_mtx_unlock(&p->mtx);
	return r;
}

void
pnc_winpipe_close(pnc_winpipe *p)
{
	int last;

	pnc_mtx_lock(&p->mtx);
	p->closed = 1;
	/*
	 * Closing the handle cancels its pending read or connect, whose
	 * packet still comes (the OVERLAPPED lives on in p until then); a
	 * pending write keeps it open until it is done (pipe_op_done).
	 */
	if (p->wpending)
		(void) CancelIoEx(p->h, &p->rop.ov);
	else if (p->h != INVALID_HANDLE_VALUE) {
		CloseHandle(p->h);
		p->h = INVALID_HANDLE_VALUE;
	}
	last = --p->refs == 0;
	pnc_mtx_unlock(&p->mtx);
	if (last)
		pipe_destroy(p);
}
