/*
 * pair0.c: one peer at a time, no header.  A second connection is refused
 * (its pipe closed) while the first lasts.
 */
#include "../core/core.h"

static int
pair0_pipe_start(pnc_socket *s, pnc_pipe *p)
{
	if (((pnc_pipeset *) s->pdata)->count > 0)
		return PNC_EBUSY;
	return pnc_pipeset_pipe_start(s, p);
}

const pnc_proto_ops pnc_proto_pair0 = {
	.name = "pair",
	.peer_name = "pair",
	.self_id = 0x10,
	.peer_id = 0x10,
	.init = pnc_pipeset_proto_init,
	.fini = pnc_pipeset_proto_fini,
	.pipe_start = pair0_pipe_start,
	.pipe_stop = pnc_pipeset_pipe_stop,
	.pipe_writable = pnc_pipeset_pipe_writable,
	.send = pnc_pipeset_send_cooked,
	.send_ready = pnc_pipeset_send_ready,
	.lends = 1,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = pnc_sock_queue_deliver,
};
