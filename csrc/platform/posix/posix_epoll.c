/* posix_epoll.c: the Linux poller.  epoll_ctl is safe from any thread. */
#include "../platform.h"

#ifdef __linux__
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EPOLL_BATCH 256

typedef struct epoll_state {
	int epfd;
	struct epoll_event evs[EPOLL_BATCH];
} epoll_state;

static uint32_t
to_epoll(unsigned ev)
{
	return ((ev & PNC_POLL_IN) ? EPOLLIN : 0) |
	    ((ev & PNC_POLL_OUT) ? EPOLLOUT : 0) |
	    ((ev & PNC_POLL_ONESHOT) ? EPOLLONESHOT : 0);
}

static int
epoll_open_state(void **statep)
{
	epoll_state *st = malloc(sizeof(*st));

	if (st == NULL)
		return PNC_ENOMEM;
	if ((st->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		free(st);
		return PNC_ENOFILES;
	}
	*statep = st;
	return 0;
}

static void
epoll_close_state(void *state)
{
	epoll_state *st = state;

	close(st->epfd);
	free(st);
}

static int
epoll_ctl_op(void *state, int op, pnc_fd fd, unsigned events, void *ptr)
{
	epoll_state *st = state;
	struct epoll_event ev;

	ev.events = to_epoll(events);
	ev.data.ptr = ptr;
	if (epoll_ctl(st->epfd, op, fd, &ev) != 0)
		return errno == ENOMEM ? PNC_ENOMEM : PNC_EINTERNAL;
	return 0;
}

static int
epoll_add(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	return epoll_ctl_op(state, EPOLL_CTL_ADD, fd, events, ptr);
}

static int
epoll_mod(void *state, pnc_fd fd, unsigned events, void *ptr)
{
	return epoll_ctl_op(state, EPOLL_CTL_MOD, fd, events, ptr);
}

static void
epoll_del(void *state, pnc_fd fd)
{
	struct epoll_event ev = { 0 };

	(void) epoll_ctl(((epoll_state *) state)->epfd, EPOLL_CTL_DEL, fd, &ev);
}

static int
epoll_wait_events(void *state, pnc_poll_event *evs, int max, int timeout_ms)
{
	epoll_state *st = state;
	int n;

	if (max > EPOLL_BATCH)
		max = EPOLL_BATCH;
	n = epoll_wait(st->epfd, st->evs, max, timeout_ms);
	for (int i = 0; i < n; i++) {
		uint32_t e = st->evs[i].events;
		evs[i].ptr = st->evs[i].data.ptr;
		evs[i].events = ((e & EPOLLIN) ? PNC_POLL_IN : 0) |
		    ((e & EPOLLOUT) ? PNC_POLL_OUT : 0) |
		    ((e & (EPOLLERR | EPOLLHUP)) ? PNC_POLL_ERR : 0);
	}
	return n < 0 ? 0 : n;
}

static const pnc_poller_ops epoll_ops = {
	.name = "epoll",
	.open = epoll_open_state,
	.close = epoll_close_state,
	.add = epoll_add,
	.mod = epoll_mod,
	.del = epoll_del,
	.wait = epoll_wait_events,
	.oneshot = 1,
};

const pnc_poller_ops *const pnc_poller_native = &epoll_ops;
#else
const pnc_poller_ops *const pnc_poller_native = NULL;
#endif
