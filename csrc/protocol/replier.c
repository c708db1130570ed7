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

/*
 * A reply goes to the pipe its request came on.  While that pipe takes no
 * more (its peer sends requests and does not read), the reply waits for
 * room, up to the send timeout, as libnng's rep parks it: what a peer
 * that never reads costs is its pipe's bounded queue, nothing more.  A
 * pipe that is gone takes the reply nowhere.  The request stays to be
 * answered until its reply went (a send that timed out may be retried).
 */
int
pnc_replier_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	pnc_replier_ctx *rc = c->pdata;
	int rv;

	if (!rc->pending)
		return PNC_ESTATE; /* nothing to reply to */
	if ((rv = pnc_msg_header_set(m, rc->backtrace, rc->btlen)) != 0)
		return rv;
	m->pipe_id = rc->pipe_id;
	if ((rv = pnc_sock_send_to(c, m, flags, w)) == 0)
		rc->pending = 0;
	return rv;
}

int
pnc_replier_raw_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	uint32_t pipe_id;
	int rv;

	if (pnc_msg_header_pop_u32(m, &pipe_id) != 0) {
		pnc_msg_free(m); /* no pipe to go to */
		return 0;
	}
	m->pipe_id = pipe_id;
	if ((rv = pnc_sock_send_to(c, m, flags, w)) != 0)
		(void) pnc_msg_header_push_u32(m, pipe_id); /* as it came, for a retry */
	return rv;
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
