/*
 * bus.c: bus0.  What one sends goes to every peer that takes more; what
 * any peer sends is received.  No header on the wire.  Raw bus keeps the
 * pipe a message came from in its header (not sent), and sending it skips
 * that pipe, so a device on one raw bus socket echoes to all the others.
 */
#include "../core/core.h"

static int
bus0_init(pnc_socket *s)
{
	s->pdata = NULL;
	s->recv_buffer = 16; /* nng's */
	return 0;
}


static int
bus0_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	(void) flags;
	(void) w;
	pnc_msg_header_clear(m);
	pnc_sock_broadcast(c->sock, m, 0);
	return 0;
}

static int
xbus0_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	uint32_t from = 0;

	(void) flags;
	(void) w;
	(void) pnc_msg_header_pop_u32(m, &from);
	pnc_msg_header_clear(m);
	pnc_sock_broadcast(c->sock, m, from);
	return 0;
}

static int
xbus0_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	if (pnc_msg_header_push_u32(m, p->id) != 0) {
		pnc_msg_free(m);
		return 0;
	}
	return pnc_sock_queue_deliver(s, p, m);
}

const pnc_proto_ops pnc_proto_bus0 = {
	.name = "bus",
	.peer_name = "bus",
	.self_id = 0x70,
	.peer_id = 0x70,
	.init = bus0_init,
	.send = bus0_send,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = pnc_sock_queue_deliver,
};

const pnc_proto_ops pnc_proto_xbus0 = {
	.name = "bus",
	.peer_name = "bus",
	.self_id = 0x70,
	.peer_id = 0x70,
	.raw = 1,
	.init = bus0_init,
	.send = xbus0_send,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = xbus0_deliver,
};
