/*
 * inproc.c: inproc://name, within one process.  A connection is two pipes
 * joined by a link; a send hands the message pointer to the peer socket, no
 * bytes copied, no thread involved.  When the peer's queue is full (its
 * recv-buffer and the slack below, which stands in for the socket buffer a
 * kernel gives tcp) the link is congested and our pipe stops taking
 * messages until the peer has drained to its recv-buffer.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../core/core.h"

/*
 * Deep enough that a sender and a receiver sharing a CPU (and the GIL)
 * hand over once per thousand small messages, not once per 256: each
 * hand-over is a few context switches (inproc push/pull 64 B went from
 * 1.36x pyzmq to 1.64x).  A kernel gives loopback tcp megabytes.
 */
#define INPROC_SLACK_MSGS 2048
#define INPROC_SLACK_BYTES (1u << 20)

typedef struct inproc_pipe inproc_pipe;

typedef struct inproc_link {
	pnc_mtx mtx;
	inproc_pipe *end[2]; /* NULL once that end is destroyed */
	int refs;
	int started; /* ends that joined their sockets */
	int ready;   /* both did */
} inproc_link;

struct inproc_pipe {
	pnc_pipe p;
	inproc_link *link;
	int side;
	int congested;       /* the peer's socket queue is full */
	pnc_task resume_task; /* tells our socket the peer has room again */
};

static struct {
	pnc_mtx mtx;
	pnc_list listeners;
} registry = { PNC_MTX_INITIALIZER, { { &registry.listeners.head, &registry.listeners.head } } };

typedef struct inproc_ep {
	pnc_node node; /* in registry.listeners */
	int registered;
} inproc_ep;

static inproc_pipe *
inproc_peer_hold(inproc_pipe *ip)
{
	inproc_pipe *peer;

	pnc_mtx_lock(&ip->link->mtx);
	peer = ip->link->ready ? ip->link->end[1 - ip->side] : NULL;
	if (peer != NULL)
		pnc_pipe_hold(&peer->p);
	pnc_mtx_unlock(&ip->link->mtx);
	return peer;
}

static int
inproc_send(pnc_pipe *p, pnc_msg *m)
{
	inproc_pipe *peer = inproc_peer_hold((inproc_pipe *) p);

	if (peer == NULL)
		return PNC_ECLOSED;
	/* A receiver owns its message outright, so a shared one is copied. */
	if (m->refs > 1) {
		pnc_msg *own;
		if (pnc_msg_dup(&own, m) != 0) {
			pnc_pipe_rele(&peer->p);
			return PNC_ECLOSED;
		}
		pnc_msg_free(m);
		m = own;
	}
	/* The receiver parses the header off the body, as from a wire. */
	pnc_msg_header_unsplit(m);
	(void) pnc_pipe_deliver(&peer->p, &m, 1);
	pnc_pipe_rele(&peer->p);
	return 0;
}

static int
inproc_writable(pnc_pipe *p)
{
	inproc_pipe *ip = (inproc_pipe *) p;

	return __atomic_load_n(&ip->link->ready, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&ip->congested, __ATOMIC_ACQUIRE);
}

static void
inproc_resume_on_io(void *arg)
{
	inproc_pipe *ip = arg;

	pnc_pipe_became_writable(&ip->p);
	pnc_pipe_rele(&ip->p);
}

/* Our socket's queue filled or drained: the peer pipe may send or not. */
static void
inproc_pause(pnc_pipe *p, int paused)
{
	inproc_pipe *peer = inproc_peer_hold((inproc_pipe *) p);

	if (peer == NULL)
		return;
	__atomic_store_n(&peer->congested, paused, __ATOMIC_RELEASE);
	/*
	 * We hold our socket's lock here; the peer's socket is told from the
	 * I/O thread, since no thread holds two socket locks.
	 */
	if (paused || !pnc_task_post(&peer->resume_task))
		pnc_pipe_rele(&peer->p);
}

static void
inproc_close(pnc_pipe *p)
{
	inproc_pipe *ip = (inproc_pipe *) p;
	inproc_pipe *peer;

	pnc_mtx_lock(&ip->link->mtx);
	ip->link->ready = 0;
	peer = ip->link->end[1 - ip->side];
	if (peer != NULL)
		pnc_pipe_hold(&peer->p);
	pnc_mtx_unlock(&ip->link->mtx);
	if (peer != NULL) {
		pnc_pipe_close(&peer->p); /* a connection closes at both ends */
		pnc_pipe_rele(&peer->p);
	}
	pnc_pipe_rele(p); /* the transport's reference */
}

static void
inproc_destroy(pnc_pipe *p)
{
	inproc_pipe *ip = (inproc_pipe *) p;
	inproc_link *link = ip->link;

	pnc_mtx_lock(&link->mtx);
	link->end[ip->side] = NULL;
	pnc_mtx_unlock(&link->mtx);
	if (pnc_atomic_dec(&link->refs) == 0) {
		pnc_mtx_fini(&link->mtx);
		free(link);
	}
	free(ip);
}

/* When the second end has joined its socket, the link carries messages. */
static void
inproc_started(pnc_pipe *p)
{
	inproc_pipe *ip = (inproc_pipe *) p;
	inproc_pipe *peer = NULL;

	pnc_mtx_lock(&ip->link->mtx);
	if (++ip->link->started == 2) {
		__atomic_store_n(&ip->link->ready, 1, __ATOMIC_RELEASE);
		if ((peer = ip->link->end[1 - ip->side]) != NULL)
			pnc_pipe_hold(&peer->p);
	}
	pnc_mtx_unlock(&ip->link->mtx);
	if (peer != NULL) {
		pnc_pipe_became_writable(&peer->p);
		pnc_pipe_became_writable(p);
		pnc_pipe_rele(&peer->p);
	}
}

static int
inproc_addr(pnc_pipe *p, int remote, pnc_addr *a)
{
	(void) remote;
	memset(a, 0, sizeof(*a));
	a->family = PNC_AF_INPROC;
	snprintf(a->path, sizeof(a->path), "%s", p->ep->url_text); /* nng: the URL */
	return 0;
}

static const pnc_pipe_ops inproc_pipe_ops = {
	.send = inproc_send,
	.started = inproc_started,
	.addr = inproc_addr,
	.writable = inproc_writable,
	.pause = inproc_pause,
	.close = inproc_close,
	.destroy = inproc_destroy,
	.slack_msgs = INPROC_SLACK_MSGS,
	.slack_bytes = INPROC_SLACK_BYTES,
};

static int
inproc_ep_init(pnc_endpoint *ep)
{
	return ep->url.addr[0] == '\0' ? PNC_EADDRINVAL : 0;
}

static int
inproc_bind(pnc_endpoint *ep)
{
	inproc_ep *ie = ep->tdata;
	int rv = 0;

	pnc_mtx_lock(&registry.mtx);
	PNC_LIST_EACH(&registry.listeners, n) {
		pnc_endpoint *other = (pnc_endpoint *) PNC_CONTAINER(n, inproc_ep, node) - 1;
		if (strcmp(other->url.addr, ep->url.addr) == 0)
			rv = PNC_EADDRINUSE;
	}
	if (rv == 0) {
		pnc_list_append(&registry.listeners, &ie->node);
		ie->registered = 1;
		ep->bound = 1;
	}
	pnc_mtx_unlock(&registry.mtx);
	return rv;
}

static pnc_endpoint *
inproc_find_listener(const char *name)
{
	pnc_endpoint *found = NULL;

	pnc_mtx_lock(&registry.mtx);
	PNC_LIST_EACH(&registry.listeners, n) {
		pnc_endpoint *ep = (pnc_endpoint *) PNC_CONTAINER(n, inproc_ep, node) - 1;
		if (strcmp(ep->url.addr, name) == 0) {
			found = ep;
			pnc_ep_hold(ep);
			break;
		}
	}
	pnc_mtx_unlock(&registry.mtx);
	return found;
}

static inproc_pipe *
inproc_pipe_new(inproc_link *link, int side, pnc_endpoint *ep, uint16_t peer_id)
{
	inproc_pipe *ip = calloc(1, sizeof(*ip));

	if (ip == NULL)
		return NULL;
	pnc_pipe_init(&ip->p, &inproc_pipe_ops, ep->sock, ep);
	ip->p.peer_id = peer_id;
	ip->link = link;
	ip->side = side;
	pnc_task_init(&ip->resume_task, inproc_resume_on_io, ip);
	link->end[side] = ip;
	return ip;
}

/* Runs on the I/O thread, like every dial attempt. */
static void
inproc_connect(pnc_endpoint *ep)
{
	pnc_endpoint *lep = inproc_find_listener(ep->url.addr);
	inproc_link *link;
	inproc_pipe *d, *l;

	if (lep == NULL) {
		pnc_ep_connect_failed(ep, PNC_ECONNREFUSED);
		return;
	}
	if (lep->sock->proto->peer_id != ep->sock->proto->self_id ||
	    ep->sock->proto->peer_id != lep->sock->proto->self_id) {
		pnc_ep_rele(lep);
		pnc_ep_connect_failed(ep, PNC_EPROTO);
		return;
	}
	if ((link = calloc(1, sizeof(*link))) == NULL) {
		pnc_ep_rele(lep);
		pnc_ep_connect_failed(ep, PNC_ENOMEM);
		return;
	}
	pnc_mtx_init(&link->mtx);
	link->refs = 2;
	d = inproc_pipe_new(link, 0, ep, lep->sock->proto->self_id);
	l = inproc_pipe_new(link, 1, lep, ep->sock->proto->self_id);
	pnc_ep_rele(lep);
	if (d == NULL || l == NULL) {
		/* Unlikely; the link goes with the pipe that was made. */
		inproc_pipe *made = d != NULL ? d : l;
		if (made != NULL) {
			link->refs = 1;
			pnc_pipe_rele(&made->p);
		} else {
			pnc_mtx_fini(&link->mtx);
			free(link);
		}
		pnc_ep_connect_failed(ep, PNC_ENOMEM);
		return;
	}
	/* Each end joins its socket (maybe after a pre-connect verdict). */
	pnc_pipe_attach(&l->p);
	pnc_pipe_attach(&d->p);
}

static void
inproc_ep_close(pnc_endpoint *ep)
{
	inproc_ep *ie = ep->tdata;

	pnc_mtx_lock(&registry.mtx);
	if (ie->registered)
		pnc_list_remove(&ie->node);
	ie->registered = 0;
	pnc_mtx_unlock(&registry.mtx);
}

static int
inproc_ep_addr(pnc_endpoint *ep, pnc_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = PNC_AF_INPROC;
	snprintf(a->path, sizeof(a->path), "%s", ep->url_text);
	return 0;
}

const pnc_tran_ops pnc_tran_inproc = {
	.addr = inproc_ep_addr,
	.ep_size = sizeof(inproc_ep),
	.ep_init = inproc_ep_init,
	.bind = inproc_bind,
	.connect = inproc_connect,
	.ep_close = inproc_ep_close,
};
