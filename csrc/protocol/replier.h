/*
 * replier.h: the answering side that rep0 and respondent0 share.  A request
 * arrives with a backtrace (the hops it took and its id); the context that
 * receives it keeps the backtrace and the pipe, and its reply goes back
 * along them.  Raw mode exposes the backtrace, prefixed with the pipe id.
 */
#ifndef PNC_REPLIER_H
#define PNC_REPLIER_H

#include "../core/core.h"

typedef struct pnc_replier_ctx {
	uint8_t backtrace[(PNC_MAX_TTL + 1) * 4];
	size_t btlen;
	uint32_t pipe_id;
	int pending; /* a request was received and not yet answered */
} pnc_replier_ctx;

int pnc_replier_init(pnc_socket *s);
void pnc_replier_fini(pnc_socket *s);
int pnc_replier_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m);
int pnc_replier_recv(pnc_ctx *c, pnc_msg **mp, int flags, pnc_wait *w);
int pnc_replier_unrecv(pnc_ctx *c, pnc_msg *m);
int pnc_replier_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w);
int pnc_replier_raw_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m);
int pnc_replier_raw_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w);
int pnc_replier_set_int(pnc_socket *s, const char *name, int64_t v);
int pnc_replier_get_int(pnc_socket *s, const char *name, int64_t *vp);

/* The cooked and raw tables of a replier protocol. */
#define PNC_REPLIER_PROTOCOLS(cooked, raw_, self_name, peer_name_, self, peer) \
	const pnc_proto_ops cooked = {                                      \
		.name = self_name,                                          \
		.peer_name = peer_name_,                                    \
		.self_id = self,                                            \
		.peer_id = peer,                                            \
		.contexts = 1,                                              \
		.ctx_size = sizeof(pnc_replier_ctx),                        \
		.init = pnc_replier_init,                                   \
		.fini = pnc_replier_fini,                                   \
		.send = pnc_replier_send,                                   \
		.recv = pnc_replier_recv,                                   \
		.unrecv = pnc_replier_unrecv,                               \
		.deliver = pnc_replier_deliver,                             \
		.set_int = pnc_replier_set_int,                             \
		.get_int = pnc_replier_get_int,                             \
	};                                                                  \
	const pnc_proto_ops raw_ = {                                        \
		.name = self_name,                                          \
		.peer_name = peer_name_,                                    \
		.self_id = self,                                            \
		.peer_id = peer,                                            \
		.raw = 1,                                                   \
		.init = pnc_replier_init,                                   \
		.fini = pnc_replier_fini,                                   \
		.send = pnc_replier_raw_send,                               \
		.recv = pnc_sock_queue_recv,                                \
		.recv_many = 1,                                             \
		.unrecv = pnc_sock_queue_unrecv,                            \
		.deliver = pnc_replier_raw_deliver,                         \
		.set_int = pnc_replier_set_int,                             \
		.get_int = pnc_replier_get_int,                             \
	}

#endif
