/*
 * win_iocp.c: the native Windows poller, "iocp": socket readiness from the
 * AFD driver's poll request, completed through an I/O completion port.
 *
 * How it works
 * ------------
 * A Winsock socket is a file of the AFD driver.  Its IOCTL_AFD_POLL request
 * names sockets with an event mask each and completes once one of them has
 * one of its events: a one-shot readiness wait, which WSAPoll is built on.
 * We open a file of our own on the driver (\Device\Afd\PncPoll; only ntdll's
 * NtCreateFile opens one), tie it to a completion port, and keep at most one
 * poll request in flight per registered socket, each naming that socket's
 * base (provider) handle alone.  A completed request is a packet on the
 * port; wait() dequeues packets with GetQueuedCompletionStatusEx and turns
 * their AFD events into PNC_POLL_*.  Nothing is copied per wait for the
 * sockets that are quiet, so the cost of a wait does not grow with them (as
 * WSAPoll's does: it hands the whole set to the kernel each time).
 *
 * Level-triggered: a completed request is re-issued at the start of the next
 * wait(), after the caller has acted on its event, not at once.  If the
 * condition still holds then, the new request completes at once and the
 * event is reported again, as poll() and epoll report a level; if the caller
 * has read everything, it waits.
 *
 * Registration changes (add, mod, del) come from any thread while the I/O
 * thread may sleep in wait(); the core does not wake it for the native
 * poller.  They never issue a request themselves:
 *  - a request in flight that asks for less than is now wanted is cancelled
 *    (NtCancelIoFileEx): its cancelled completion wakes wait(), which issues
 *    the new mask;
 *  - a request in flight that asks for more is left alone: what it reports
 *    beyond the wanted mask is dropped when it completes, and it is re-issued
 *    with the new mask;
 *  - a registration with no request in flight is on the update list already
 *    (or is broken, see below) and is put there; a sleeping wait() is woken
 *    by a packet of our own (PostQueuedCompletionStatus, no overlapped).
 *
 * Lifetime of a registration (struct iocp_reg): the rule that matters
 * -------------------------------------------------------------------
 * While a request is in flight (reg->busy), the kernel owns reg->iosb and
 * reg->info: it writes them when the request completes, cancelled or not,
 * and then queues a packet that points at reg.  So a reg with a request in
 * flight is never freed:
 *  - del() takes reg out of the lookup table at once (the socket's number may
 *    be reused by a new socket and registered again: that one gets a new reg)
 *    and, if a request is in flight, cancels it and marks reg `dead` instead
 *    of freeing it; a reg with no request in flight it frees at once;
 *  - wait() frees a dead reg when it dequeues that reg's packet, the kernel's
 *    last touch;
 *  - close() cancels every request on its AFD file and dequeues packets until
 *    none is in flight before freeing anything.  Should that not end (it
 *    should not happen), the regs still in flight are leaked, never freed
 *    under the kernel.
 *
 * Threads
 * -------
 * st->mtx guards the lookup table, the update list, the counters and every
 * reg field but iosb and info (the kernel's while busy, the I/O thread's once
 * the packet is dequeued).  wait() runs on the I/O thread only; it alone
 * issues requests, dequeues packets and frees dead regs.  add/mod/del run on
 * any thread (the core calls them under its own lock); they change masks,
 * cancel requests (any thread may cancel any thread's request), put regs on
 * the update list and free regs with no request in flight.  close() runs on
 * the I/O thread (a poller switch) or where open() did, with no wait() and no
 * other call running on this poller.
 *
 * A broken reg (its socket was closed before del(), or a request could not
 * be issued) is reported once with PNC_POLL_ERR and left idle until a mod()
 * or its del(). *
 * Measured (benchmarks/idle_peers.py under wine 8, one CPU, tcp req/rep
 * round trip p50 while N idle connections sit on the I/O thread): 0 idle
 * 125 us here, 142 us WSAPoll; 500 idle 616 vs 6776 us; 1000 idle 1150 vs
 * 20683 us.  What still grows here is wine's, not ours: wineserver keeps one
 * list of every pending poll request and walks it at each socket event
 * (server/sock.c, complete_async_polls); its CPU per round trip went from
 * 0.24 ms at 0 idle to 2.2 ms at 1000, while this file does no work per
 * quiet socket.  Windows' AFD is not wine's; it is not measured here.
 *
 * One AFD file serves every socket.  wepoll, mio and trio spread sockets
 * over several (32, or a few hundred, each): on Windows, cancelling a
 * request costs more the more requests its file has pending.  Not done here
 * yet: our cancels come from del() and from a mod() that adds OUT.
 */
#include <stdlib.h>
#include <string.h>

#include "../platform.h"

#include <winternl.h>

#ifndef SIO_BASE_HANDLE
#define SIO_BASE_HANDLE 0x48000022 /* _WSAIOR(IOC_WS2, 34) */
#endif

/* The AFD driver's poll request and its event bits. */
#define IOCTL_AFD_POLL 0x00012024
#define AFD_POLL_RECEIVE 0x0001
#define AFD_POLL_RECEIVE_EXPEDITED 0x0002
#define AFD_POLL_SEND 0x0004
#define AFD_POLL_DISCONNECT 0x0008
#define AFD_POLL_ABORT 0x0010
#define AFD_POLL_LOCAL_CLOSE 0x0020
#define AFD_POLL_ACCEPT 0x0080
#define AFD_POLL_CONNECT_FAIL 0x0100

typedef struct afd_poll_handle_info {
	HANDLE handle;
	ULONG events;
	LONG status; /* NTSTATUS */
} afd_poll_handle_info;

typedef struct afd_poll_info {
	LARGE_INTEGER timeout; /* absolute when positive: INT64_MAX is never */
	ULONG n_handles;
	ULONG exclusive;
	afd_poll_handle_info handles[1];
} afd_poll_info;

/* NTSTATUS values (ntstatus.h clashes with windows.h: ours, prefixed). */
#define PNC_NT_PENDING ((LONG) 0x00000103L)
#define PNC_NT_CANCELLED ((LONG) 0xC0000120L)
#define PNC_NT_FILE_OPEN 1 /* NtCreateFile's disposition: open, never create */

/* ntdll's calls, found at run time (no import library names them all). */
typedef LONG(NTAPI *nt_create_file_fn)(HANDLE *, ACCESS_MASK,
    OBJECT_ATTRIBUTES *, IO_STATUS_BLOCK *, LARGE_INTEGER *, ULONG, ULONG,
    ULONG, ULONG, void *, ULONG);
typedef LONG(NTAPI *nt_device_io_control_file_fn)(HANDLE, HANDLE, void *,
    void *, IO_STATUS_BLOCK *, ULONG, void *, ULONG, void *, ULONG);
typedef LONG(NTAPI *nt_cancel_io_file_ex_fn)(HANDLE, IO_STATUS_BLOCK *,
    IO_STATUS_BLOCK *);

static INIT_ONCE nt_once = INIT_ONCE_STATIC_INIT;
static nt_create_file_fn nt_create_file;
static nt_device_io_control_file_fn nt_device_io_control_file;
static nt_cancel_io_file_ex_fn nt_cancel_io_file_ex;

static BOOL CALLBACK
nt_load(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	HMODULE nt = GetModuleHandleW(L"ntdll.dll");

	(void) once;
	(void) param;
	(void) ctx;
	if (nt == NULL)
		return TRUE;
	/* Through void (*)(void), which any function pointer converts to. */
	nt_create_file = (nt_create_file_fn) (void (*)(void))
	    GetProcAddress(nt, "NtCreateFile");
	nt_device_io_control_file = (nt_device_io_control_file_fn) (void (*)(void))
	    GetProcAddress(nt, "NtDeviceIoControlFile");
	nt_cancel_io_file_ex = (nt_cancel_io_file_ex_fn) (void (*)(void))
	    GetProcAddress(nt, "NtCancelIoFileEx");
	return TRUE;
}

#define IOCP_BATCH 256
#define IOCP_KEY_AFD 1 /* the AFD file's packets; 0 is our wake-up packet */

typedef struct iocp_reg iocp_reg;
struct iocp_reg {
	IO_STATUS_BLOCK iosb; /* the kernel's while busy */
	afd_poll_info info;   /* the kernel's while busy */
	SOCKET fd;
	HANDLE base;          /* the base provider socket that AFD knows */
	void *ptr;
	unsigned want;        /* PNC_POLL_IN and OUT */
	ULONG asked;          /* the AFD mask of the request in flight */
	int busy;             /* a request in flight */
	int cancelling;       /* and its cancel asked for */
	int dead;             /* del()'d while busy: wait() frees it */
	int queued;           /* on the update list */
	iocp_reg *hnext;      /* in the lookup table */
	iocp_reg *qnext, *qprev; /* on the update list */
};

typedef struct iocp_state {
	pnc_mtx mtx;
	HANDLE port;
	HANDLE afd;
	iocp_reg **table; /* by socket, chained */
	size_t nbuckets;  /* a power of two */
	size_t nregs;
	iocp_reg queue;   /* the update list's sentinel */
	int nbusy;        /* requests in flight, dead regs' included */
	int sleeping;     /* wait() is in GetQueuedCompletionStatusEx */
	int woken;        /* our wake-up packet is on the port */
	OVERLAPPED_ENTRY entries[IOCP_BATCH]; /* wait()'s, I/O thread only */
} iocp_state;

static ULONG
to_afd(unsigned want)
{
	/* Errors are reported whatever is asked, as poll() and epoll do. */
	ULONG m = AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL | AFD_POLL_LOCAL_CLOSE;

	if (want & PNC_POLL_IN)
		m |= AFD_POLL_RECEIVE | AFD_POLL_ACCEPT | AFD_POLL_DISCONNECT;
	if (want & PNC_POLL_OUT)
		m |= AFD_POLL_SEND;
	return m;
}

static unsigned
from_afd(ULONG e)
{
	/* A peer's orderly close (DISCONNECT) is readable: read says EOF. */
	return ((e & (AFD_POLL_RECEIVE | AFD_POLL_ACCEPT | AFD_POLL_DISCONNECT)) ?
	               PNC_POLL_IN : 0) |
	    ((e & AFD_POLL_SEND) ? PNC_POLL_OUT : 0) |
	    ((e & (AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL)) ? PNC_POLL_ERR : 0);
}

static size_t
bucket(const iocp_state *st, SOCKET fd)
{
	/* Handles are multiples of 4; Fibonacci hashing spreads the rest. */
	uint64_t h = ((uint64_t) fd >> 2) * 0x9E3779B97F4A7C15ull;

	return (size_t) (h >> 32) & (st->nbuckets - 1);
}

static iocp_reg *
lookup(const iocp_state *st, SOCKET fd)
{
	iocp_reg *r = st->table[bucket(st, fd)];

	while (r != NULL && r->fd != fd)
		r = r->hnext;
	return r;
}

static void
unlink_reg(iocp_state *st, iocp_reg *reg)
{
	iocp_reg **pp = &st->table[bucket(st, reg->fd)];

	while (*pp != reg)
		pp = &(*pp)->hnext;
	*pp = reg->hnext;
	st->nregs--;
}

static int
grow_table(iocp_state *st)
{
	size_t old = st->nbuckets;
	iocp_reg **t = calloc(old * 2, sizeof(*t));
	iocp_reg **from = st->table;

	if (t == NULL)
		return PNC_ENOMEM;
	st->table = t;
	st->nbuckets = old * 2;
	for (size_t i = 0; i < old; i++) {
		iocp_reg *r = from[i], *next;
		for (; r != NULL; r = next) {
			size_t b = bucket(st, r->fd);
			next = r->hnext;
			r->hnext = t[b];
			t[b] = r;
		}
	}
	free(from);
	return 0;
}

static void
enqueue(iocp_state *st, iocp_reg *reg)
{
	if (reg->queued)
		return;
	reg->queued = 1;
	reg->qnext = &st->queue;
	reg->qprev = st->queue.qprev;
	st->queue.qprev->qnext = reg;
	st->queue.qprev = reg;
}

static void
dequeue(iocp_reg *reg)
{
	if (!reg->queued)
		return;
	reg->queued = 0;
	reg->qprev->qnext = reg->qnext;
	reg->qnext->qprev = reg->qprev;
}

/* Wakes a wait() that sleeps, once, for what it must issue. */
static void
wake_locked(iocp_state *st)
{
	if (st->sleeping && !st->woken) {
		st->woken = 1;
		PostQueuedCompletionStatus(st->port, 0, 0, NULL);
	}
}

static void
cancel_locked(iocp_state *st, iocp_reg *reg)
{
	IO_STATUS_BLOCK cio;

	if (reg->busy && !reg->cancelling) {
		reg->cancelling = 1;
		/* Not found: it completed already; its packet is on the way. */
		(void) nt_cancel_io_file_ex(st->afd, &reg->iosb, &cio);
	}
}

/* Issues reg's poll request; I/O thread (wait) only. */
static int
issue_locked(iocp_state *st, iocp_reg *reg)
{
	ULONG mask = to_afd(reg->want);
	LONG s;

	reg->info.timeout.QuadPart = INT64_MAX;
	reg->info.n_handles = 1;
	reg->info.exclusive = FALSE;
	reg->info.handles[0].handle = reg->base;
	reg->info.handles[0].events = mask;
	reg->info.handles[0].status = 0;
	reg->iosb.Status = PNC_NT_PENDING;
	reg->iosb.Information = 0;
	s = nt_device_io_control_file(st->afd, NULL, NULL, reg, &reg->iosb,
	    IOCTL_AFD_POLL, &reg->info, sizeof(reg->info), &reg->info,
	    sizeof(reg->info));
	/* Pending or done at once, a packet comes; an error posts none. */
	if (s != PNC_NT_PENDING && s < 0)
		return PNC_EINTERNAL;
	reg->busy = 1;
	reg->cancelling = 0;
	reg->asked = mask;
	st->nbusy++;
	return 0;
}

static int
iocp_open(void **statep)
{
	static WCHAR name[] = L"\\Device\\Afd\\PncPoll";
	UNICODE_STRING uname;
	OBJECT_ATTRIBUTES attr;
	IO_STATUS_BLOCK iosb;
	iocp_state *st;
	LONG s;

	InitOnceExecuteOnce(&nt_once, nt_load, NULL, NULL);
	if (nt_create_file == NULL || nt_device_io_control_file == NULL ||
	    nt_cancel_io_file_ex == NULL)
		return PNC_ENOTSUP;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return PNC_ENOMEM;
	st->nbuckets = 64;
	if ((st->table = calloc(st->nbuckets, sizeof(*st->table))) == NULL) {
		free(st);
		return PNC_ENOMEM;
	}
	st->queue.qnext = st->queue.qprev = &st->queue;
	pnc_mtx_init(&st->mtx);
	st->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
	if (st->port == NULL)
		goto fail;
	uname.Length = (USHORT) (sizeof(name) - sizeof(WCHAR));
	uname.MaximumLength = (USHORT) sizeof(name);
	uname.Buffer = name;
	memset(&attr, 0, sizeof(attr));
	attr.Length = sizeof(attr);
	attr.ObjectName = &uname;
	s = nt_create_file(&st->afd, SYNCHRONIZE, &attr, &iosb, NULL, 0,
	    FILE_SHARE_READ | FILE_SHARE_WRITE, PNC_NT_FILE_OPEN, 0, NULL, 0);
	if (s != 0) {
		st->afd = NULL;
		goto fail;
	}
	if (CreateIoCompletionPort(st->afd, st->port, IOCP_KEY_AFD, 0) == NULL)
		goto fail;
	/* No event to set on completion: nobody waits on the file itself. */
	(void) SetFileCompletionNotificationModes(st->afd,
	    FILE_SKIP_SET_EVENT_ON_HANDLE);
	*statep = st;
	return 0;
fail:
	if (st->afd != NULL)
		CloseHandle(st->afd);
	if (st->port != NULL)
		CloseHandle(st->port);
	free(st->table);
	free(st);
	return PNC_ENOTSUP;
}

static void
iocp_close(void *state)
{
	iocp_state *st = state;
	int idle_rounds = 0;

	pnc_mtx_lock(&st->mtx);
	if (st->nbusy > 0)
		(void) CancelIoEx(st->afd, NULL); /* every request on the file */
	/* Nothing is freed while the kernel may still complete into it. */
	while (st->nbusy > 0 && idle_rounds < 50) {
		ULONG got = 0;
		if (!GetQueuedCompletionStatusEx(st->port, st->entries, IOCP_BATCH,
		        &got, 100, FALSE)) {
			idle_rounds++;
			continue;
		}
		for (ULONG i = 0; i < got; i++) {
			iocp_reg *reg = (iocp_reg *) st->entries[i].lpOverlapped;
			if (reg == NULL)
				continue;
			reg->busy = 0;
			st->nbusy--;
			if (reg->dead)
				free(reg);
		}
	}
	for (size_t i = 0; i < st->nbuckets; i++) {
		iocp_reg *r = st->table[i], *next;
		for (; r != NULL; r = next) {
			next = r->hnext;
			if (!r->busy)
				free(r); /* else leaked: see the top of the file */
		}
	}
	pnc_mtx_unlock(&st->mtx);
	CloseHandle(st->afd);
	CloseHandle(st->port);
	pnc_mtx_fini(&st->mtx);
	free(st->table);
	free(st);
}

static int
iocp_add(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	iocp_state *st = state;
	iocp_reg *reg;
	HANDLE base = NULL;
	DWORD bytes = 0;
	int rv = 0;

	/* AFD knows the base socket, under any layered provider. */
	if (WSAIoctl(fd, SIO_BASE_HANDLE, NULL, 0, &base, sizeof(base), &bytes,
	        NULL, NULL) != 0 || base == NULL || base == (HANDLE) INVALID_SOCKET)
		return PNC_EINVAL;
	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return PNC_ENOMEM;
	reg->fd = fd;
	reg->base = base;
	reg->ptr = ptr;
	reg->want = events;
	pnc_mtx_lock(&st->mtx);
	if (lookup(st, fd) != NULL)
		rv = PNC_EEXIST;
	else if (st->nregs >= st->nbuckets)
		rv = grow_table(st);
	if (rv == 0) {
		size_t b = bucket(st, fd);
		reg->hnext = st->table[b];
		st->table[b] = reg;
		st->nregs++;
		enqueue(st, reg);
		wake_locked(st);
	}
	pnc_mtx_unlock(&st->mtx);
	if (rv != 0)
		free(reg);
	return rv;
}

static int
iocp_mod(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	iocp_state *st = state;
	iocp_reg *reg;

	pnc_mtx_lock(&st->mtx);
	if ((reg = lookup(st, fd)) != NULL) {
		reg->want = events;
		reg->ptr = ptr;
		if (!reg->busy) {
			enqueue(st, reg);
			wake_locked(st);
		} else if ((to_afd(events) & ~reg->asked) != 0) {
			cancel_locked(st, reg); /* its packet wakes wait() */
		}
	}
	pnc_mtx_unlock(&st->mtx);
	return reg != NULL ? 0 : PNC_ENOENT;
}

static void
iocp_del(void *state, pnc_fd fd)
{
	iocp_state *st = state;
	iocp_reg *reg;

	pnc_mtx_lock(&st->mtx);
	if ((reg = lookup(st, fd)) != NULL) {
		unlink_reg(st, reg);
		dequeue(reg);
		if (reg->busy) {
			reg->dead = 1;
			cancel_locked(st, reg);
		} else {
			free(reg);
		}
	}
	pnc_mtx_unlock(&st->mtx);
}

/* One dequeued packet; 1 if it made an event in *ev. */
static int
complete_locked(iocp_state *st, const OVERLAPPED_ENTRY *e, pnc_poll_event *ev)
{
	iocp_reg *reg = (iocp_reg *) e->lpOverlapped;
	ULONG afd;
	unsigned got;

	if (reg == NULL) {
		st->woken = 0; /* our wake-up packet */
		return 0;
	}
	reg->busy = 0;
	st->nbusy--;
	if (reg->dead) {
		free(reg);
		return 0;
	}
	if (reg->iosb.Status == PNC_NT_CANCELLED) {
		enqueue(st, reg); /* a mod() wants another mask */
		return 0;
	}
	if (reg->iosb.Status < 0) {
		ev->ptr = reg->ptr; /* broken: once, then idle */
		ev->events = PNC_POLL_ERR;
		return 1;
	}
	afd = reg->info.n_handles >= 1 ? reg->info.handles[0].events : 0;
	if (afd & AFD_POLL_LOCAL_CLOSE)
		return 0; /* closed before its del(): nothing more to watch */
	enqueue(st, reg);
	got = from_afd(afd) & (reg->want | PNC_POLL_ERR);
	if (got == 0)
		return 0;
	ev->ptr = reg->ptr;
	ev->events = got;
	return 1;
}

static int
iocp_wait(void *state, pnc_poll_event *evs, int max, int timeout_ms)
{
	iocp_state *st = state;
	DWORD ms = timeout_ms < 0 ? INFINITE : (DWORD) timeout_ms;
	ULONG got = 0;
	BOOL ok;
	int cnt = 0;

	if (max > IOCP_BATCH)
		max = IOCP_BATCH;
	if (max <= 0)
		return 0;
	pnc_mtx_lock(&st->mtx);
	/* Re-arm what completed last round, and what add/mod changed. */
	while (st->queue.qnext != &st->queue && cnt < max) {
		iocp_reg *reg = st->queue.qnext;
		dequeue(reg);
		if (issue_locked(st, reg) != 0) {
			evs[cnt].ptr = reg->ptr; /* broken: once, then idle */
			evs[cnt].events = PNC_POLL_ERR;
			cnt++;
		}
	}
	if (cnt == max) {
		pnc_mtx_unlock(&st->mtx);
		return cnt;
	}
	if (cnt > 0)
		ms = 0;
	st->sleeping = 1;
	pnc_mtx_unlock(&st->mtx);

	ok = GetQueuedCompletionStatusEx(st->port, st->entries,
	    (ULONG) (max - cnt), &got, ms, FALSE);

	pnc_mtx_lock(&st->mtx);
	st->sleeping = 0;
	for (ULONG i = 0; ok && i < got; i++)
		cnt += complete_locked(st, &st->entries[i], &evs[cnt]);
	pnc_mtx_unlock(&st->mtx);
	return cnt;
}

const pnc_poller_ops pnc_win_poller_iocp = {
	.name = "iocp",
	.open = iocp_open,
	.close = iocp_close,
	.add = iocp_add,
	.mod = iocp_mod,
	.del = iocp_del,
	.wait = iocp_wait,
};
