/*
 * pair1.c: pair with a hop-count header word, and a polyamorous mode with
 * many peers (a message with a pipe id goes to that pipe, else to any).
 * On the wire a message sent from here carries hop count 1; one that comes
 * in with a count past ttl-max is dropped, one over 255 closes its pipe.
 */
#include <stdlib.h>

#include "../core/core.h"

typedef struct pair1 {
	pnc_pipeset peers; /* first: the pipeset hooks find it there */
	int poly;
	int64_t ttl;
} pair1;

static int
pair1_init(pnc_socket *s)
{
	pair1 *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return PNC_ENOMEM;
	pnc_pipeset_init(&p->peers);
	p->ttl = 8;
	s->pdata = p;
	return 0;
}

static void
pair1_fini(pnc_socket *s)
{
	free(s->pdata);
}

static int
pair1_pipe_start(pnc_socket *s, pnc_pipe *p)
{
	pair1 *pr = s->pdata;

	if (!pr->poly && pr->peers.count > 0)
		return PNC_EBUSY;
	pnc_pipeset_add(s, &pr->peers, p);
	return 0;
}

static int
pair1_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	pair1 *pr = c->sock->pdata;
	int rv;

	pnc_msg_header_clear(m);
	if ((rv = pnc_msg_header_push_u32(m, 1)) != 0)
		return rv;
	/* nng: in polyamorous mode even a received message goes back to its pipe. */
	if (pr->poly && m->pipe_id != 0)
		return pnc_sock_send_to(c, m, flags, w);
	return pnc_pipeset_send(c, &pr->peers, m, flags, w, NULL);
}

static int
pair1_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	pair1 *pr = s->pdata;
	uint32_t hops;

	if (pnc_msg_body_pull_u32(m, &hops) != 0 || hops > 0xff) {
		pnc_msg_free(m);
		return PNC_EPROTO;
	}
	if (hops > (uint32_t) pr->ttl) {
		PNC_STAT(s->stats.dropped_bad_header, 1); /* too many hops */
		pnc_msg_free(m);
		return 0;
	}
	pnc_msg_header_clear(m);
	return pnc_sock_queue_deliver(s, p, m);
}

static int
pair1_set_int(pnc_socket *s, const char *name, int64_t v)
{
	pair1 *pr = s->pdata;

	if (strcmp(name, "pair1:polyamorous") == 0) {
		if (v != 0 && v != 1)
			return PNC_EINVAL;
		if (pr->peers.count > 0)
			return PNC_EBUSY; /* the mode is chosen before connecting */
		pr->poly = (int) v;
		return 0;
	}
	if (strcmp(name, "ttl-max") == 0) {
		if (v < 1 || v > 15)
			return PNC_EINVAL;
		pr->ttl = v;
		return 0;
	}
	return PNC_ENOTSUP;
}

static int
pair1_get_int(pnc_socket *s, const char *name, int64_t *vp)
{
	pair1 *pr = s->pdata;

	if (strcmp(name, "pair1:polyamorous") == 0)
		*vp = pr->poly;
	else if (strcmp(name, "ttl-max") == 0)
		*vp = pr->ttl;
	else
		return PNC_ENOTSUP;
	return 0;
}

const pnc_proto_ops pnc_proto_pair1 = {
	.name = "pair1",
	.peer_name = "pair1",
	.self_id = 0x11,
	.peer_id = 0x11,
	.init = pair1_init,
	.fini = pair1_fini,
	.pipe_start = pair1_pipe_start,
	.pipe_stop = pnc_pipeset_pipe_stop,
	.pipe_writable = pnc_pipeset_pipe_writable,
	.send = pair1_send,
	.send_ready = pnc_pipeset_send_ready,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = pair1_deliver,
	.set_int = pair1_set_int,
	.get_int = pair1_get_int,
};

/*
 * Raw pair1: the hop count is the message's header.  What arrives keeps it;
 * what is sent goes out with it one higher (a device is a hop).
 */
static int
xpair1_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	uint32_t hops;

	if (pnc_msg_body_pull_u32(m, &hops) != 0 || hops > 0xff) {
		pnc_msg_free(m);
		return PNC_EPROTO;
	}
	if (hops > (uint32_t) ((pair1 *) s->pdata)->ttl) {
		pnc_msg_free(m);
		return 0;
	}
	return pnc_sock_queue_deliver(s, p, m);
}

static int
xpair1_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	uint32_t hops;
	int rv;

	if (pnc_msg_header_pop_u32(m, &hops) != 0 || hops >= 0xff)
		return PNC_EPROTO;
	pnc_msg_header_clear(m);
	if ((rv = pnc_msg_header_push_u32(m, hops + 1)) != 0)
		return rv;
	return pnc_pipeset_send(c, &((pair1 *) c->sock->pdata)->peers, m, flags,
	    w, NULL);
}

const pnc_proto_ops pnc_proto_xpair1 = {
	.name = "pair1",
	.peer_name = "pair1",
	.self_id = 0x11,
	.peer_id = 0x11,
	.raw = 1,
	.init = pair1_init,
	.fini = pair1_fini,
	.pipe_start = pair1_pipe_start,
	.pipe_stop = pnc_pipeset_pipe_stop,
	.pipe_writable = pnc_pipeset_pipe_writable,
	.send = xpair1_send,
	.send_ready = pnc_pipeset_send_ready,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = xpair1_deliver,
	.set_int = pair1_set_int,
	.get_int = pair1_get_int,
};
