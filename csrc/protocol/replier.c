/* replier.c: see replier.h. */
#include <stdlib.h>

#include "replier.h"

typedef struct replier {
	int64_t ttl;
} replier;

int
pnc_replier_init(pnc_socket *s)
{
	replier *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return PNC_ENOMEM;
	r->ttl = 8;
	s->pdata = r;
	return 0;
}

void
pnc_replier_fini(pnc_socket *s)
{
	free(s->pdata);
}



int
pnc_replier_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	int rv = pnc_msg_pull_backtrace(m, (int) ((replier *) s->pdata)->ttl);

	if (rv != 0) {
		pnc_msg_free(m);
		if (rv != PNC_EMSGSIZE)
			return rv;
		PNC_STAT(s->stats.dropped_bad_header, 1); /* too many hops: dropped */
		return 0;
	}
	return pnc_sock_queue_deliver(s, p, m);
}

int
pnc_replier_raw_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	int rv = pnc_msg_pull_backtrace(m, (int) ((replier *) s->pdata)->ttl);

	if (rv == 0 && (rv = pnc_msg_header_push_u32(m, p->id)) == 0)
		return pnc_sock_queue_deliver(s, p, m);
	pnc_msg_free(m);
	return rv == PNC_EMSGSIZE || rv == PNC_ENOMEM ? 0 : rv;
}

int
pnc_replier_recv(pnc_ctx *c, pnc_msg **mp, int flags, pnc_wait *w)
{
	pnc_replier_ctx *rc = c->pdata;
	pnc_msg *m;
	int rv;

	if ((rv = pnc_sock_queue_recv(c, &m, flags, w)) != 0)
		return rv;
	/* A new request replaces one left unanswered, as in nng. */
	memcpy(rc->backtrace, pnc_msg_header(m), m->hlen);
	rc->btlen = m->hlen;
	rc->pipe_id = m->pipe_id;
	rc->pending = 1;
	pnc_msg_header_clear(m); /* cooked: the context keeps it */
	*mp = m;
	return 0;
}

int
pnc_replier_unrecv(pnc_ctx *c, pnc_msg *m)
{
	pnc_replier_ctx *rc = c->pdata;

	/* The header bytes are still in place in front of the body. */
	m->hlen = rc->btlen;
	rc->pending = 0;
	return pnc_sock_queue_unrecv(c, m);
}

/* Sends to the pipe with that id; a pipe that is gone takes it nowhere. */
static int
replier_send_to(pnc_socket *s, uint32_t pipe_id, pnc_msg *m)
{
	pnc_pipe *p = pnc_idmap_get(&s->pipe_ids, pipe_id);

	if (p == NULL || pnc_sock_pipe_send(s, p, m) != 0)
		pnc_msg_free(m);
	return 0;
}

int
pnc_replier_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	pnc_replier_ctx *rc = c->pdata;
	int rv;

	(void) flags;
	(void) w;
	if (!rc->pending)
		return PNC_ESTATE; /* nothing to reply to */
	if ((rv = pnc_msg_header_set(m, rc->backtrace, rc->btlen)) != 0)
		return rv;
	rc->pending = 0;
	return replier_send_to(c->sock, rc->pipe_id, m);
}

int
pnc_replier_raw_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	uint32_t pipe_id;

	(void) flags;
	(void) w;
	if (pnc_msg_header_pop_u32(m, &pipe_id) != 0) {
		pnc_msg_free(m); /* no pipe to go to */
		return 0;
	}
	return replier_send_to(c->sock, pipe_id, m);
}

int
pnc_replier_set_int(pnc_socket *s, const char *name, int64_t v)
{
	if (strcmp(name, "ttl-max") != 0)
		return PNC_ENOTSUP;
	if (v < 1 || v > PNC_MAX_TTL)
		return PNC_EINVAL;
	((replier *) s->pdata)->ttl = v;
	return 0;
}

int
pnc_replier_get_int(pnc_socket *s, const char *name, int64_t *vp)
{
	if (strcmp(name, "ttl-max") != 0)
		return PNC_ENOTSUP;
	*vp = ((replier *) s->pdata)->ttl;
	return 0;
}
