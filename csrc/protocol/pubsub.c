/*
 * pubsub.c: pub0 and sub0.
 *
 * Topics live only in the subscriber: pub sends everything to every peer
 * that takes more, and never waits for a slow one.  Each sub context has
 * its own subscriptions and queue; a message goes to every context that
 * wants it (a copy each after the first, since a receiver owns its
 * message).  A full queue drops its oldest message ("sub:prefnew", nng's
 * default) or the new one; but not while the receiving thread itself reads
 * the pipe: then the queue only looks full because a whole read's batch
 * arrives at once, and the receiver is right there to take it.  A
 * subscriber never sends: pub closes a pipe that does.  Raw sub takes
 * everything.
 */
#include <stdlib.h>

#include "../core/core.h"



static int
pub0_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	(void) flags;
	(void) w;
	pnc_msg_header_clear(m);
	pnc_sock_broadcast(c->sock, m, 0);
	return 0;
}

static int
pub0_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	(void) s;
	(void) p;
	pnc_msg_free(m);
	return PNC_EPROTO; /* a subscriber must not send */
}

const pnc_proto_ops pnc_proto_pub0 = {
	.name = "pub",
	.peer_name = "sub",
	.self_id = 0x20,
	.peer_id = 0x21,
	.send = pub0_send,
	.deliver = pub0_deliver,
};

typedef struct sub0_topic {
	uint8_t *data;
	size_t len;
} sub0_topic;

typedef struct sub0_ctx {
	sub0_topic *topics;
	size_t ntopics;
	pnc_ring queue;
} sub0_ctx;

typedef struct sub0_sock {
	int64_t prefnew;
} sub0_sock;

static int
sub0_init(pnc_socket *s)
{
	sub0_sock *ss = calloc(1, sizeof(*ss));

	if (ss == NULL)
		return PNC_ENOMEM;
	ss->prefnew = 1;
	s->recv_buffer = 128; /* nng's sub queue */
	s->pdata = ss;
	return 0;
}

static void
sub0_fini(pnc_socket *s)
{
	free(s->pdata);
}

static int
sub0_ctx_init(pnc_ctx *c)
{
	pnc_ring_init(&((sub0_ctx *) c->pdata)->queue);
	return 0;
}

static void
sub0_ctx_close(pnc_ctx *c)
{
	sub0_ctx *sc = c->pdata;

	for (size_t i = 0; i < sc->ntopics; i++)
		free(sc->topics[i].data);
	free(sc->topics);
	sc->topics = NULL;
	sc->ntopics = 0;
	pnc_ring_fini(&sc->queue);
}

static int
sub0_matches(const sub0_ctx *sc, pnc_msg *m)
{
	for (size_t i = 0; i < sc->ntopics; i++) {
		const sub0_topic *t = &sc->topics[i];
		if (t->len <= m->len && memcmp(t->data, pnc_msg_body(m), t->len) == 0)
			return 1;
	}
	return 0;
}

/* Queues m for one context; a full queue drops the oldest or m itself. */
static void
sub0_enqueue(pnc_socket *s, sub0_ctx *sc, pnc_msg *m)
{
	int64_t limit = s->recv_buffer > 0 ? s->recv_buffer : 1;

	if ((int64_t) sc->queue.len >= limit && !pnc_sock_reading_here(s)) {
		PNC_STAT(s->stats.dropped_queue_full, 1);
		if (!((sub0_sock *) s->pdata)->prefnew) {
			pnc_msg_free(m);
			return;
		}
		pnc_msg_free(pnc_ring_get(&sc->queue));
	}
	if (pnc_ring_put(&sc->queue, m) != 0)
		pnc_msg_free(m);
}

/* Offers m to one context: the first that wants it gets m, later ones a copy. */
static void
sub0_offer(pnc_socket *s, pnc_ctx *c, pnc_msg *m, pnc_ctx **first)
{
	pnc_msg *copy;

	if (c->closed || !sub0_matches(c->pdata, m))
		return;
	if (*first == NULL)
		*first = c; /* it gets m itself, once the others have their copies */
	else if (pnc_msg_dup(&copy, m) == 0)
		sub0_enqueue(s, c->pdata, copy);
}

static int
sub0_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	pnc_ctx *first = NULL;

	m->pipe_id = p->id;
	sub0_offer(s, s->dflt, m, &first);
	PNC_LIST_EACH(&s->ctxs, n)
		sub0_offer(s, PNC_CONTAINER(n, pnc_ctx, sock_node), m, &first);
	if (first != NULL) {
		sub0_enqueue(s, first->pdata, m);
		pnc_sock_wake(s, PNC_WAKE_RECV, 1, NULL);
	} else {
		pnc_msg_free(m);
	}
	return 0; /* never pauses the pipe: a slow subscriber drops */
}

static int
sub0_recv(pnc_ctx *c, pnc_msg **mp, int flags, pnc_wait *w)
{
	pnc_socket *s = c->sock;
	sub0_ctx *sc = c->pdata;
	int rv;

	for (;;) {
		if ((*mp = pnc_ring_get(&sc->queue)) != NULL)
			return 0;
		if (flags & PNC_FLAG_NONBLOCK)
			return PNC_EAGAIN;
		if ((rv = pnc_ctx_wait(c, &s->cv_recv, &s->recv_waiters, w)) != 0)
			return rv;
	}
}

static int
sub0_unrecv(pnc_ctx *c, pnc_msg *m)
{
	return pnc_ring_unget(&((sub0_ctx *) c->pdata)->queue, m);
}

static int
sub0_recv_ready(pnc_ctx *c)
{
	return ((sub0_ctx *) c->pdata)->queue.len > 0;
}

static int
sub0_subscribe(sub0_ctx *sc, const void *topic, size_t len)
{
	sub0_topic *grown;
	uint8_t *copy;

	for (size_t i = 0; i < sc->ntopics; i++)
		if (sc->topics[i].len == len && memcmp(sc->topics[i].data, topic, len) == 0)
			return 0; /* already there */
	if ((copy = malloc(len ? len : 1)) == NULL ||
	    (grown = realloc(sc->topics, (sc->ntopics + 1) * sizeof(*grown))) == NULL) {
		free(copy);
		return PNC_ENOMEM;
	}
	memcpy(copy, topic, len);
	sc->topics = grown;
	sc->topics[sc->ntopics].data = copy;
	sc->topics[sc->ntopics].len = len;
	sc->ntopics++;
	return 0;
}

static int
sub0_unsubscribe(sub0_ctx *sc, const void *topic, size_t len)
{
	for (size_t i = 0; i < sc->ntopics; i++) {
		if (sc->topics[i].len == len && memcmp(sc->topics[i].data, topic, len) == 0) {
			free(sc->topics[i].data);
			sc->topics[i] = sc->topics[--sc->ntopics];
			return 0;
		}
	}
	return PNC_ENOENT;
}

static int
sub0_ctx_set_bytes(pnc_ctx *c, const char *name, const void *data, size_t len)
{
	if (strcmp(name, "sub:subscribe") == 0)
		return sub0_subscribe(c->pdata, data, len);
	if (strcmp(name, "sub:unsubscribe") == 0)
		return sub0_unsubscribe(c->pdata, data, len);
	return PNC_ENOTSUP;
}

static int
sub0_set_int(pnc_socket *s, const char *name, int64_t v)
{
	if (strcmp(name, "sub:prefnew") != 0)
		return PNC_ENOTSUP;
	if (v != 0 && v != 1)
		return PNC_EINVAL;
	((sub0_sock *) s->pdata)->prefnew = v;
	return 0;
}

static int
sub0_get_int(pnc_socket *s, const char *name, int64_t *vp)
{
	if (strcmp(name, "sub:prefnew") != 0)
		return PNC_ENOTSUP;
	*vp = ((sub0_sock *) s->pdata)->prefnew;
	return 0;
}

const pnc_proto_ops pnc_proto_sub0 = {
	.name = "sub",
	.peer_name = "pub",
	.self_id = 0x21,
	.peer_id = 0x20,
	.contexts = 1,
	.ctx_size = sizeof(sub0_ctx),
	.init = sub0_init,
	.fini = sub0_fini,
	.ctx_init = sub0_ctx_init,
	.ctx_close = sub0_ctx_close,
	.recv = sub0_recv,
	.recv_ready = sub0_recv_ready,
	.recv_many = 1,
	.unrecv = sub0_unrecv,
	.deliver = sub0_deliver,
	.ctx_set_bytes = sub0_ctx_set_bytes,
	.set_int = sub0_set_int,
	.get_int = sub0_get_int,
};

const pnc_proto_ops pnc_proto_xsub0 = {
	.name = "sub",
	.peer_name = "pub",
	.self_id = 0x21,
	.peer_id = 0x20,
	.raw = 1,
	.init = sub0_init,
	.fini = sub0_fini,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = pnc_sock_queue_deliver,
};
