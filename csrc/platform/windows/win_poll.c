/*
 * win_poll.c: the pollers on Windows, each a socket poller with the named
 * pipes (ipc://) beside it, since no socket poller can watch a pipe:
 *   "iocp" (the default): win_iocp.c, AFD poll requests completed through
 *          an I/O completion port; its cost does not grow with idle sockets.
 *   "poll": the portable one over WSAPoll, which copies the whole set into
 *          the kernel at every wait, as poll(2) does (benchmarks/idle_peers.py
 *          measures both).
 *
 * A pipe object (win_pipe.h) tells its readiness when asked; its
 * completions signal one wake-up socket, which is in the socket poller's
 * set once the first pipe exists.  A wait drains that socket, asks every
 * registered pipe, and waits on the sockets without sleeping if a pipe is
 * ready: a completion after the asking signals the socket and ends the
 * sleep.  Asking costs a call per registered pipe and wait.
 */
/* The portable poller, under another name: this file's wraps it. */
#define pnc_poller_poll pnc_win_poller_wsapoll
#include "../posix/posix_poll.c"
#undef pnc_poller_poll

#include "win_pipe.h"

extern const pnc_poller_ops pnc_win_poller_iocp;

typedef struct pipe_entry {
	pnc_winpipe *p;
	unsigned events;
	void *ptr;
} pipe_entry;

typedef struct win_poll {
	const pnc_poller_ops *sockets; /* the socket poller wrapped */
	void *socks;                   /* its state */
	pnc_mtx mtx; /* guards pipes, n and wake_added; snap is the waiter's */
	pipe_entry *pipes;
	int n;
	int cap;
	pipe_entry *snap;
	int snap_cap;
	int wake_added; /* the pipes' wake-up socket is in socks */
	char wake_mark; /* its pointer, told apart from the sockets' */
} win_poll;

static int
win_open(void **statep, const pnc_poller_ops *sockets)
{
	win_poll *st = calloc(1, sizeof(*st));
	int rv;

	if (st == NULL)
		return PNC_ENOMEM;
	st->sockets = sockets;
	if ((rv = sockets->open(&st->socks)) != 0) {
		free(st);
		return rv;
	}
	pnc_mtx_init(&st->mtx);
	*statep = st;
	return 0;
}

static void
win_close(void *state)
{
	win_poll *st = state;

	st->sockets->close(st->socks); /* the pipes' wake-up socket is not ours to close */
	pnc_mtx_fini(&st->mtx);
	free(st->pipes);
	free(st->snap);
	free(st);
}

static int
pipe_find(win_poll *st, pnc_winpipe *p)
{
	for (int i = 0; i < st->n; i++)
		if (st->pipes[i].p == p)
			return i;
	return -1;
}

/*
 * A pipe registered or changed while the waiter sleeps must end the sleep:
 * the core wakes a WSAPoll waiter itself but not an iocp one, so the pipes'
 * wake-up socket, put in the socket poller with the first pipe, does.
 */
static int
pipes_watch_locked(win_poll *st)
{
	int rv = 0;

	if (!st->wake_added &&
	    (rv = st->sockets->add(st->socks, pnc_winpipe_wake_fd(), PNC_POLL_IN, &st->wake_mark)) == 0)
		st->wake_added = 1;
	return rv;
}

static int
win_add(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	win_poll *st = state;
	int rv;

	if (!pnc_fd_is_pipe(fd))
		return st->sockets->add(st->socks, fd, events, ptr);
	pnc_mtx_lock(&st->mtx);
	if ((rv = pipes_watch_locked(st)) == 0 &&
	    (rv = grow((void **) &st->pipes, &st->cap, st->n + 1, sizeof(*st->pipes))) == 0) {
		st->pipes[st->n].p = pnc_fd_pipe(fd);
		st->pipes[st->n].events = events;
		st->pipes[st->n].ptr = ptr;
		st->n++;
	}
	pnc_mtx_unlock(&st->mtx);
	if (rv == 0)
		pnc_winpipe_wake_signal();
	return rv;
}

static int
win_mod(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	win_poll *st = state;
	int i;

	if (!pnc_fd_is_pipe(fd))
		return st->sockets->mod(st->socks, fd, events, ptr);
	pnc_mtx_lock(&st->mtx);
	if ((i = pipe_find(st, pnc_fd_pipe(fd))) >= 0) {
		st->pipes[i].events = events;
		st->pipes[i].ptr = ptr;
	}
	pnc_mtx_unlock(&st->mtx);
	if (i < 0)
		return PNC_ENOENT;
	pnc_winpipe_wake_signal();
	return 0;
}

static void
win_del(void *state, pnc_fd fd)
{
	win_poll *st = state;
	int i;

	if (!pnc_fd_is_pipe(fd)) {
		st->sockets->del(st->socks, fd);
		return;
	}
	pnc_mtx_lock(&st->mtx);
	if ((i = pipe_find(st, pnc_fd_pipe(fd))) >= 0)
		st->pipes[i] = st->pipes[--st->n];
	pnc_mtx_unlock(&st->mtx);
}

/* The pipes ready for what they wait for, into evs (at most max). */
static int
pipes_ready(win_poll *st, pnc_poll_event *evs, int max)
{
	int n, cnt = 0;

	/* Held while asked: a pipe deleted and closed meanwhile stays whole. */
	pnc_mtx_lock(&st->mtx);
	n = st->n;
	if (grow((void **) &st->snap, &st->snap_cap, n, sizeof(*st->snap)) != 0) {
		pnc_mtx_unlock(&st->mtx);
		return 0;
	}
	memcpy(st->snap, st->pipes, (size_t) n * sizeof(*st->snap));
	for (int i = 0; i < n; i++)
		pnc_winpipe_hold(st->snap[i].p);
	pnc_mtx_unlock(&st->mtx);
	for (int i = 0; i < n; i++) {
		unsigned want = st->snap[i].events;
		unsigned r = pnc_winpipe_ready(st->snap[i].p);
		unsigned ev = r & want & (PNC_POLL_IN | PNC_POLL_OUT);

		if ((want & PNC_POLL_IN) && (r & PNC_POLL_ERR))
			ev |= PNC_POLL_ERR;
		if (ev != 0 && cnt < max) {
			evs[cnt].ptr = st->snap[i].ptr;
			evs[cnt].events = ev;
			cnt++;
		}
		pnc_winpipe_rele(st->snap[i].p);
	}
	return cnt;
}

static int
win_wait(void *state, pnc_poll_event *evs, int max, int timeout_ms)
{
	win_poll *st = state;
	int cnt, n, out;

	pnc_winpipe_wake_drain();
	cnt = pipes_ready(st, evs, max);
	n = st->sockets->wait(st->socks, evs + cnt, max - cnt, cnt > 0 ? 0 : timeout_ms);
	/* The wake-up only ended the sleep: the next wait asks the pipes. */
	out = cnt;
	for (int i = cnt; i < cnt + n; i++)
		if (evs[i].ptr != &st->wake_mark)
			evs[out++] = evs[i];
	return out;
}

static int
open_wsapoll(void **statep)
{
	return win_open(statep, &pnc_win_poller_wsapoll);
}

static int
open_iocp(void **statep)
{
	return win_open(statep, &pnc_win_poller_iocp);
}

#define WIN_POLLER(poller_name, open_fn)                                            \
	{                                                                           \
		.name = poller_name, .open = open_fn, .close = win_close,           \
		.add = win_add, .mod = win_mod, .del = win_del, .wait = win_wait,   \
	}

const pnc_poller_ops pnc_poller_poll = WIN_POLLER("poll", open_wsapoll);
static const pnc_poller_ops win_poller_iocp = WIN_POLLER("iocp", open_iocp);
const pnc_poller_ops *const pnc_poller_native = &win_poller_iocp;
