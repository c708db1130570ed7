/*
 * pair0.c: one peer at a time, no header.  A second connection is refused
 * (its pipe closed) while the first lasts.
 */
#include <stdlib.h>

#include "../core/core.h"

typedef struct pair0 {
	pnc_pipeset peers;
} pair0;

static int
pair0_init(pnc_socket *s)
{
	pair0 *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return PNC_ENOMEM;
	pnc_pipeset_init(&p->peers);
	s->pdata = p;
	return 0;
}

static void
pair0_fini(pnc_socket *s)
{
	free(s->pdata);
}

static int
pair0_pipe_start(pnc_socket *s, pnc_pipe *p)
{
	pair0 *pr = s->pdata;

	if (pr->peers.count > 0)
		return PNC_EBUSY;
	pnc_pipeset_add(s, &pr->peers, p);
	return 0;
}

static void
pair0_pipe_stop(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_remove(&((pair0 *) s->pdata)->peers, p);
}

static void
pair0_pipe_writable(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_writable(s, &((pair0 *) s->pdata)->peers, p);
}

static int
pair0_send(pnc_ctx *c, pnc_msg *m, int flags, const pnc_wait *w)
{
	pnc_msg_header_clear(m);
	return pnc_pipeset_send(c, &((pair0 *) c->sock->pdata)->peers, m, flags, w, NULL);
}

const pnc_proto_ops pnc_proto_pair0 = {
	.name = "pair",
	.peer_name = "pair",
	.self_id = 0x10,
	.peer_id = 0x10,
	.init = pair0_init,
	.fini = pair0_fini,
	.pipe_start = pair0_pipe_start,
	.pipe_stop = pair0_pipe_stop,
	.pipe_writable = pair0_pipe_writable,
	.send = pair0_send,
	.recv = pnc_sock_queue_recv,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = pnc_sock_queue_deliver,
};
