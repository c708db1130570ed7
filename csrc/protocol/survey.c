/*
 * survey.c: surveyor0 and respondent0, cooked and raw.
 *
 * A survey goes to every peer that takes more (none waits for a slow one)
 * with an id like a request's.  Its context collects the responses until
 * survey-time runs out: a recv waiting then says PNC_ETIMEDOUT, a later one
 * PNC_ESTATE, and late responses are dropped.  A new survey on the context
 * ends the old one.  respondent0 is the replier of replier.c.
 */
#include <stdlib.h>

#include "replier.h"

/* Queued per survey, whatever the respondents send; more are dropped. */
#define MAX_RESPONSES 1024
#define MAX_RESPONSE_BYTES (64u << 20)

typedef enum { SURVEY_NONE, SURVEY_ACTIVE, SURVEY_EXPIRED } survey_state;

typedef struct surveyor_sock {
	pnc_idmap surveys; /* id -> surveyor_ctx */
	uint32_t next_id;
	int64_t survey_ms;
} surveyor_sock;

typedef struct surveyor_ctx {
	pnc_ctx *ctx;
	uint32_t id;
	survey_state state;
	pnc_ring responses;
	pnc_timer timer;
	uint32_t gen; /* changes with every new survey */
} surveyor_ctx;

static void surveyor_timer_cb(void *arg);

static int
surveyor_init(pnc_socket *s)
{
	surveyor_sock *ss = calloc(1, sizeof(*ss));

	if (ss == NULL)
		return PNC_ENOMEM;
	pnc_idmap_init(&ss->surveys);
	ss->next_id = pnc_random();
	ss->survey_ms = 1000;
	s->pdata = ss;
	return 0;
}

static void
surveyor_fini(pnc_socket *s)
{
	surveyor_sock *ss = s->pdata;

	pnc_idmap_fini(&ss->surveys);
	free(ss);
}

static int
surveyor_ctx_init(pnc_ctx *c)
{
	surveyor_ctx *sc = c->pdata;

	sc->ctx = c;
	pnc_ring_init(&sc->responses);
	pnc_timer_init(&sc->timer, surveyor_timer_cb, c);
	return 0;
}

/* The survey is over: no more responses are taken for it. */
static void
surveyor_end(surveyor_ctx *sc, survey_state to)
{
	surveyor_sock *ss = sc->ctx->sock->pdata;

	if (sc->id != 0)
		pnc_idmap_del(&ss->surveys, sc->id);
	sc->id = 0;
	sc->state = to;
	pnc_ctx_timer_cancel(sc->ctx, &sc->timer);
	pnc_ring_fini(&sc->responses);
}

static void
surveyor_ctx_close(pnc_ctx *c)
{
	surveyor_end(c->pdata, SURVEY_NONE);
}

static void
surveyor_timer_cb(void *arg)
{
	pnc_ctx *c = arg;
	surveyor_ctx *sc = c->pdata;
	pnc_socket *s = c->sock;

	pnc_sock_lock(s);
	if (sc->state == SURVEY_ACTIVE) {
		surveyor_end(sc, SURVEY_EXPIRED);
		pnc_sock_wake(s, PNC_WAKE_RECV, 1, c);
	}
	pnc_sock_unlock(s);
	pnc_ctx_rele(c);
}

static int
surveyor_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	pnc_socket *s = c->sock;
	surveyor_sock *ss = s->pdata;
	surveyor_ctx *sc = c->pdata;
	int rv;

	(void) flags;
	(void) w;
	surveyor_end(sc, SURVEY_NONE); /* a new survey ends the old */
	sc->gen++;
	pnc_sock_wake(s, PNC_WAKE_RECV, 1, c); /* its receiver: canceled */
	do {
		ss->next_id = (ss->next_id + 1) | 0x80000000u;
	} while (pnc_idmap_get(&ss->surveys, ss->next_id) != NULL);
	pnc_msg_header_clear(m);
	if ((rv = pnc_msg_header_push_u32(m, ss->next_id)) != 0 ||
	    (rv = pnc_idmap_set(&ss->surveys, ss->next_id, sc)) != 0)
		return rv;
	sc->id = ss->next_id;
	sc->state = SURVEY_ACTIVE;
	pnc_ctx_timer_arm(c, &sc->timer, ss->survey_ms);
	pnc_sock_broadcast(s, m, 0);
	return 0;
}

static int
surveyor_recv(pnc_ctx *c, pnc_msg **mp, int flags, pnc_wait *w)
{
	pnc_socket *s = c->sock;
	surveyor_ctx *sc = c->pdata;
	uint32_t gen;
	int began_active, rv;

	/* Which survey this recv is for, and whether it was still running. */
	if (w->first)
		*w->note = ((uint64_t) sc->gen << 1) | (sc->state == SURVEY_ACTIVE);
	gen = (uint32_t) (*w->note >> 1);
	began_active = (int) (*w->note & 1);
	for (;;) {
		if ((*mp = pnc_ring_get(&sc->responses)) != NULL)
			return 0;
		if (sc->gen != gen)
			return PNC_ECANCELED; /* a newer survey took over */
		if (sc->state != SURVEY_ACTIVE)
			/* The survey ran out while this recv waited for it. */
			return began_active && sc->state == SURVEY_EXPIRED ? PNC_ETIMEDOUT
			                                                   : PNC_ESTATE;
		if (flags & PNC_FLAG_NONBLOCK)
			return PNC_EAGAIN;
		if ((rv = pnc_ctx_wait(c, &s->cv_recv, &s->recv_waiters, w)) != 0)
			return rv;
	}
}

static int
surveyor_recv_ready(pnc_ctx *c)
{
	return ((surveyor_ctx *) c->pdata)->responses.len > 0;
}

static int
surveyor_unrecv(pnc_ctx *c, pnc_msg *m)
{
	return pnc_ring_unget(&((surveyor_ctx *) c->pdata)->responses, m);
}

/* Room for m in the survey's queue. */
static int
surveyor_room(const surveyor_ctx *sc, const pnc_msg *m)
{
	return sc->responses.len < MAX_RESPONSES &&
	    sc->responses.bytes + m->len <= MAX_RESPONSE_BYTES;
}

static int
surveyor_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	surveyor_sock *ss = s->pdata;
	surveyor_ctx *sc;
	uint32_t id;

	if (pnc_msg_body_pull_u32(m, &id) != 0) {
		pnc_msg_free(m);
		return PNC_EPROTO;
	}
	sc = pnc_idmap_get(&ss->surveys, id);
	if (sc != NULL && !surveyor_room(sc, m))
		PNC_STAT(s->stats.dropped_queue_full, 1);
	if (sc == NULL || !surveyor_room(sc, m) || pnc_ring_put(&sc->responses, m) != 0) {
		pnc_msg_free(m); /* unknown, expired, or too many: dropped */
		return 0;
	}
	pnc_msg_header_clear(m);
	m->pipe_id = p->id;
	pnc_sock_wake(s, PNC_WAKE_RECV, 1, sc->ctx);
	return 0;
}



static int
surveyor_set_int(pnc_socket *s, const char *name, int64_t v)
{
	if (strcmp(name, "surveyor:survey-time") != 0)
		return PNC_ENOTSUP;
	if (v < 0 || v > INT32_MAX)
		return PNC_EINVAL;
	((surveyor_sock *) s->pdata)->survey_ms = v;
	return 0;
}

static int
surveyor_get_int(pnc_socket *s, const char *name, int64_t *vp)
{
	if (strcmp(name, "surveyor:survey-time") != 0)
		return PNC_ENOTSUP;
	*vp = ((surveyor_sock *) s->pdata)->survey_ms;
	return 0;
}

const pnc_proto_ops pnc_proto_surveyor0 = {
	.name = "surveyor",
	.peer_name = "respondent",
	.self_id = 0x62,
	.peer_id = 0x63,
	.contexts = 1,
	.ctx_size = sizeof(surveyor_ctx),
	.init = surveyor_init,
	.fini = surveyor_fini,
	.ctx_init = surveyor_ctx_init,
	.ctx_close = surveyor_ctx_close,
	.send = surveyor_send,
	.recv = surveyor_recv,
	.recv_ready = surveyor_recv_ready,
	.recv_many = 1,
	.unrecv = surveyor_unrecv,
	.deliver = surveyor_deliver,
	.set_int = surveyor_set_int,
	.get_int = surveyor_get_int,
};

/* Raw surveyor: surveys go to all as the caller made them; responses keep their id. */
static int
xsurveyor_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	(void) flags;
	(void) w;
	pnc_sock_broadcast(c->sock, m, 0);
	return 0;
}

static int
xsurveyor_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	uint32_t id;

	if (pnc_msg_body_pull_u32(m, &id) != 0) {
		pnc_msg_free(m);
		return PNC_EPROTO;
	}
	return pnc_sock_queue_deliver(s, p, m);
}

const pnc_proto_ops pnc_proto_xsurveyor0 = {
	.name = "surveyor",
	.peer_name = "respondent",
	.self_id = 0x62,
	.peer_id = 0x63,
	.raw = 1,
	.init = surveyor_init,
	.fini = surveyor_fini,
	.send = xsurveyor_send,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = xsurveyor_deliver,
	.set_int = surveyor_set_int,
	.get_int = surveyor_get_int,
};

PNC_REPLIER_PROTOCOLS(pnc_proto_respondent0, pnc_proto_xrespondent0, "respondent",
    "surveyor", 0x63, 0x62);
