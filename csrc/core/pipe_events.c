/*
 * pipe_events.c: pipe events (pre-connect, post-connect, post-remove) of the
 * sockets that watch them, in one queue for the process.  Python reads it
 * on a thread of its own and runs the callbacks there, never on a core
 * thread; a pre-connect event holds its pipe until Python's verdict.  The
 * queue is bounded: if Python stops reading, events past EVENTS_MAX are
 * dropped, and a pipe whose pre-connect event cannot be queued is refused.
 */
#include <stdlib.h>

#include "core.h"

#define EVENTS_MAX 65536

static struct {
	pnc_mtx mtx;
	pnc_cv cv;
	int cv_ready;
	pnc_pipe_event *items;
	size_t cap; /* a power of two */
	size_t head;
	size_t len;
} events = { .mtx = PNC_MTX_INITIALIZER };

static void
events_cv(void)
{
	/* A condition variable needs its clock set: done once, lazily. */
	if (!events.cv_ready) {
		pnc_cv_init(&events.cv);
		events.cv_ready = 1;
	}
}

int
pnc_pipe_post_event(pnc_socket *s, pnc_pipe *p, int kind)
{
	if (!(s->watch & kind))
		return 0;
	pnc_mtx_lock(&events.mtx);
	events_cv();
	if (events.len == events.cap) {
		size_t ncap = events.cap ? events.cap * 2 : 64;
		pnc_pipe_event *items = ncap <= EVENTS_MAX ? malloc(ncap * sizeof(*items)) : NULL;
		if (items == NULL) {
			pnc_mtx_unlock(&events.mtx);
			return PNC_ENOMEM; /* the event is lost, the pipe is not */
		}
		for (size_t i = 0; i < events.len; i++)
			items[i] = events.items[(events.head + i) & (events.cap - 1)];
		free(events.items);
		events.items = items;
		events.cap = ncap;
		events.head = 0;
	}
	pnc_pipe_event *ev = &events.items[(events.head + events.len) & (events.cap - 1)];
	ev->socket_id = s->id;
	ev->pipe_id = p->id;
	ev->kind = kind;
	events.len++;
	pnc_cv_wake_one(&events.cv);
	pnc_mtx_unlock(&events.mtx);
	return 0;
}

int
pnc_pipe_events_next(pnc_pipe_event *ev, int slice_ms)
{
	int rv = PNC_ESLICE;

	pnc_mtx_lock(&events.mtx);
	events_cv();
	if (events.len == 0)
		pnc_cv_wait_until(&events.cv, &events.mtx,
		    pnc_wait_sliced() ? pnc_clock_ms() + slice_ms : PNC_FOREVER);
	if (events.len > 0) {
		*ev = events.items[events.head];
		events.head = (events.head + 1) & (events.cap - 1);
		events.len--;
		rv = 0;
	}
	pnc_mtx_unlock(&events.mtx);
	return rv;
}

int
pnc_socket_watch_pipes(pnc_socket *s, int mask)
{
	int rv = 0;

	pnc_sock_lock(s);
	if (s->closed)
		rv = PNC_ECLOSED;
	else
		s->watch = mask;
	pnc_sock_unlock(s);
	return rv;
}
