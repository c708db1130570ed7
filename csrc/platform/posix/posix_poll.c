/*
 * posix_poll.c: the portable poller, on poll(2).
 *
 * Other threads change the watched set while the I/O thread sleeps in poll(),
 * so the set lives under a lock and each wait works on a snapshot; the core
 * wakes the I/O thread after a change (needs_wake below).
 *
 * Windows builds this same file (windows/win_poll.c includes it) over
 * WSAPoll, which is poll(2) for sockets: the same struct pollfd and flags.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../platform.h"

#ifdef _WIN32
#define poll(fds, n, ms) WSAPoll((fds), (n), (ms))
typedef ULONG nfds_t;
#else
#include <poll.h>
#endif

typedef struct poll_state {
	pnc_mtx mtx;
	struct pollfd *fds;
	void **ptrs;
	int n;
	int cap;
	struct pollfd *snap; /* the copy poll() works on, I/O thread only */
	void **snap_ptrs;
	int snap_cap;
} poll_state;

static short
to_poll(unsigned ev)
{
	return (short) (((ev & PNC_POLL_IN) ? POLLIN : 0) |
	    ((ev & PNC_POLL_OUT) ? POLLOUT : 0));
}

static int
grow(void **arr, int *cap, int need, size_t elem)
{
	int ncap = *cap ? *cap : 16;
	void *p;

	while (ncap < need)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	if ((p = realloc(*arr, (size_t) ncap * elem)) == NULL)
		return PNC_ENOMEM;
	*arr = p;
	return 0;
}

static int
find(poll_state *st, pnc_fd fd)
{
	for (int i = 0; i < st->n; i++)
		if (st->fds[i].fd == fd)
			return i;
	return -1;
}

static int
poll_open(void **statep)
{
	poll_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PNC_ENOMEM;
	pnc_mtx_init(&st->mtx);
	*statep = st;
	return 0;
}

static void
poll_close(void *state)
{
	poll_state *st = state;

	pnc_mtx_fini(&st->mtx);
	free(st->fds);
	free(st->ptrs);
	free(st->snap);
	free(st->snap_ptrs);
	free(st);
}

static int
poll_add(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	poll_state *st = state;
	int cap = st->cap, rv;

	pnc_mtx_lock(&st->mtx);
	if ((rv = grow((void **) &st->fds, &cap, st->n + 1, sizeof(*st->fds))) == 0 &&
	    (rv = grow((void **) &st->ptrs, &st->cap, st->n + 1, sizeof(void *))) == 0) {
		st->fds[st->n].fd = fd;
		st->fds[st->n].events = to_poll(events);
		st->fds[st->n].revents = 0;
		st->ptrs[st->n] = ptr;
		st->n++;
	}
	pnc_mtx_unlock(&st->mtx);
	return rv;
}

static int
poll_mod(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	poll_state *st = state;
	int i;

	pnc_mtx_lock(&st->mtx);
	if ((i = find(st, fd)) >= 0) {
		st->fds[i].events = to_poll(events);
		st->ptrs[i] = ptr;
	}
	pnc_mtx_unlock(&st->mtx);
	return i >= 0 ? 0 : PNC_ENOENT;
}

static void
poll_del(void *state, pnc_fd fd)
{
	poll_state *st = state;
	int i;

	pnc_mtx_lock(&st->mtx);
	if ((i = find(st, fd)) >= 0) {
		st->n--;
		st->fds[i] = st->fds[st->n];
		st->ptrs[i] = st->ptrs[st->n];
	}
	pnc_mtx_unlock(&st->mtx);
}

static int
poll_wait(void *state, pnc_poll_event *evs, int max, int timeout_ms)
{
	poll_state *st = state;
	int n, rv, cnt = 0;

	pnc_mtx_lock(&st->mtx);
	n = st->n;
	int cap = st->snap_cap;
	if (grow((void **) &st->snap, &cap, n, sizeof(*st->snap)) != 0 ||
	    grow((void **) &st->snap_ptrs, &st->snap_cap, n, sizeof(void *)) != 0) {
		pnc_mtx_unlock(&st->mtx);
		return 0;
	}
	memcpy(st->snap, st->fds, (size_t) n * sizeof(*st->fds));
	memcpy(st->snap_ptrs, st->ptrs, (size_t) n * sizeof(void *));
	pnc_mtx_unlock(&st->mtx);

	rv = poll(st->snap, (nfds_t) n, timeout_ms);
	for (int i = 0; rv > 0 && i < n && cnt < max; i++) {
		short re = st->snap[i].revents;
		if (re == 0)
			continue;
		evs[cnt].ptr = st->snap_ptrs[i];
		evs[cnt].events = ((re & POLLIN) ? PNC_POLL_IN : 0) |
		    ((re & POLLOUT) ? PNC_POLL_OUT : 0) |
		    ((re & (POLLERR | POLLHUP | POLLNVAL)) ? PNC_POLL_ERR : 0);
		cnt++;
	}
	return cnt;
}

const pnc_poller_ops pnc_poller_poll = {
	.name = "poll",
	.open = poll_open,
	.close = poll_close,
	.add = poll_add,
	.mod = poll_mod,
	.del = poll_del,
	.wait = poll_wait,
};
