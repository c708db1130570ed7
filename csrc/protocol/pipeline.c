/*
 * pipeline.c: push0 and pull0.  Push gives each message to one ready peer
 * (round-robin) and ignores anything a peer sends it; pull queues what
 * every peer sends, in arrival order.
 */
#include <stdlib.h>

#include "../core/core.h"

typedef struct push0 {
	pnc_pipeset peers;
} push0;

static int
push0_init(pnc_socket *s)
{
	push0 *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return PNC_ENOMEM;
	pnc_pipeset_init(&p->peers);
	s->pdata = p;
	return 0;
}

static void
push0_fini(pnc_socket *s)
{
	free(s->pdata);
}

static int
push0_pipe_start(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_add(s, &((push0 *) s->pdata)->peers, p);
	return 0;
}

static void
push0_pipe_stop(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_remove(&((push0 *) s->pdata)->peers, p);
}

static void
push0_pipe_writable(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_writable(s, &((push0 *) s->pdata)->peers, p);
}

static int
push0_send(pnc_ctx *c, pnc_msg *m, int flags, const pnc_wait *w)
{
	pnc_msg_header_clear(m);
	return pnc_pipeset_send(c, &((push0 *) c->sock->pdata)->peers, m, flags, w, NULL);
}

static int
push0_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	(void) s;
	(void) p;
	pnc_msg_free(m); /* a pull peer has nothing to say; nng keeps the pipe */
	return 0;
}

const pnc_proto_ops pnc_proto_push0 = {
	.name = "push",
	.peer_name = "pull",
	.self_id = 0x50,
	.peer_id = 0x51,
	.init = push0_init,
	.fini = push0_fini,
	.pipe_start = push0_pipe_start,
	.pipe_stop = push0_pipe_stop,
	.pipe_writable = push0_pipe_writable,
	.send = push0_send,
	.deliver = push0_deliver,
};





const pnc_proto_ops pnc_proto_pull0 = {
	.name = "pull",
	.peer_name = "push",
	.self_id = 0x51,
	.peer_id = 0x50,
	.recv = pnc_sock_queue_recv,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = pnc_sock_queue_deliver,
};
