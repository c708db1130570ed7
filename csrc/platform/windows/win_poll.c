/*
 * win_poll.c: the poller on Windows: the portable one over WSAPoll for
 * sockets, and beside it the named pipes (ipc://), which WSAPoll cannot
 * watch.
 *
 * A pipe object (win_pipe.h) tells its readiness when asked; its
 * completions signal one wake-up socket, which is in the WSAPoll set once
 * the first pipe exists.  A wait drains that socket, asks every registered
 * pipe, and polls the sockets without sleeping if a pipe is ready: a
 * completion after the asking signals the socket and ends the sleep.
 *
 * WSAPoll copies the whole set into the kernel on every wait, as poll(2)
 * does: the cost grows with the number of connections (see the measurements
 * in the notes of issue 17).  An I/O completion port would not, but it
 * completes operations instead of reporting readiness, so it needs a
 * transport that posts overlapped reads and writes: future work.
 */
/* The portable poller, under another name: this file's wraps it. */
#define pnc_poller_poll pnc_poller_sockets
#include "../posix/posix_poll.c"
#undef pnc_poller_poll

#include "win_pipe.h"

extern const pnc_poller_ops pnc_poller_poll;

typedef struct pipe_entry {
	pnc_winpipe *p;
	unsigned events;
	void *ptr;
} pipe_entry;

typedef struct win_poll {
	void *socks; /* posix_poll.c's state */
	pnc_mtx mtx; /* guards pipes and n; snap is the waiting thread's */
	pipe_entry *pipes;
	int n;
	int cap;
	pipe_entry *snap;
	int snap_cap;
	int wake_added; /* the pipes' wake-up socket is in socks (waiter only) */
	char wake_mark; /* its pointer, told apart from the sockets' */
} win_poll;

static int
win_open(void **statep)
{
	win_poll *st = calloc(1, sizeof(*st));
	int rv;

	if (st == NULL)
		return PNC_ENOMEM;
	if ((rv = poll_open(&st->socks)) != 0) {
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

	poll_close(st->socks); /* the pipes' wake-up socket is not ours to close */
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

static int
win_add(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	win_poll *st = state;
	int rv;

	if (!pnc_fd_is_pipe(fd))
		return poll_add(st->socks, fd, events, ptr);
	pnc_mtx_lock(&st->mtx);
	if ((rv = grow((void **) &st->pipes, &st->cap, st->n + 1, sizeof(*st->pipes))) == 0) {
		st->pipes[st->n].p = pnc_fd_pipe(fd);
		st->pipes[st->n].events = events;
		st->pipes[st->n].ptr = ptr;
		st->n++;
	}
	pnc_mtx_unlock(&st->mtx);
	return rv;
}

static int
win_mod(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	win_poll *st = state;
	int i;

	if (!pnc_fd_is_pipe(fd))
		return poll_mod(st->socks, fd, events, ptr);
	pnc_mtx_lock(&st->mtx);
	if ((i = pipe_find(st, pnc_fd_pipe(fd))) >= 0) {
		st->pipes[i].events = events;
		st->pipes[i].ptr = ptr;
	}
	pnc_mtx_unlock(&st->mtx);
	return i >= 0 ? 0 : PNC_ENOENT;
}

static void
win_del(void *state, pnc_fd fd)
{
	win_poll *st = state;
	int i;

	if (!pnc_fd_is_pipe(fd)) {
		poll_del(st->socks, fd);
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

	if (!st->wake_added) {
		pnc_fd w = pnc_winpipe_wake_fd();
		if (w != PNC_FD_NONE && poll_add(st->socks, w, PNC_POLL_IN, &st->wake_mark) == 0)
			st->wake_added = 1;
	}
	if (st->wake_added)
		pnc_winpipe_wake_drain();
	cnt = pipes_ready(st, evs, max);
	n = poll_wait(st->socks, evs + cnt, max - cnt, cnt > 0 ? 0 : timeout_ms);
	/* The wake-up only ended the sleep: the next wait asks the pipes. */
	out = cnt;
	for (int i = cnt; i < cnt + n; i++)
		if (evs[i].ptr != &st->wake_mark)
			evs[out++] = evs[i];
	return out;
}

const pnc_poller_ops pnc_poller_poll = {
	.name = "poll",
	.open = win_open,
	.close = win_close,
	.add = win_add,
	.mod = win_mod,
	.del = win_del,
	.wait = win_wait,
};

const pnc_poller_ops *const pnc_poller_native = NULL;
