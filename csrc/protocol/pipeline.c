/*
 * pipeline.c: push0 and pull0.  Push gives each message to one ready peer
 * (round-robin) and ignores anything a peer sends it; pull queues what
 * every peer sends, in arrival order.
 */
#include "../core/core.h"

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
	.init = pnc_pipeset_proto_init,
	.fini = pnc_pipeset_proto_fini,
	.pipe_start = pnc_pipeset_pipe_start,
	.pipe_stop = pnc_pipeset_pipe_stop,
	.pipe_writable = pnc_pipeset_pipe_writable,
	.send = pnc_pipeset_send_cooked,
	.send_ready = pnc_pipeset_send_ready,
	.lends = 1,
	.deliver = push0_deliver,
};





const pnc_proto_ops pnc_proto_pull0 = {
	.name = "pull",
	.peer_name = "push",
	.self_id = 0x51,
	.peer_id = 0x50,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = pnc_sock_queue_deliver,
};
