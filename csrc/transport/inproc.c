/*
 * inproc.c: inproc://name, within one process.  A connection is two pipes
 * joined by a link; a send hands the message pointer to the peer socket, no
 * bytes copied, no thread involved.
 *
 * A send runs under the sender's socket lock, and no thread may hold two
 * socket locks, so it only puts the message on the link (one ring per
 * direction) and asks for a kick (pnc_sock_kick): right after the sender's
 * socket is unlocked, the kick hands everything queued to the peer socket
 * (pnc_pipe_deliver), in batches.  One thread at a time hands a direction
 * over (its hand-over lock), which keeps the order; a kick hands over what
 * was queued when it started and no more, so a sender never works for
 * another sender's stream for long.  A ring has one writer at a time (the
 * sender's socket lock orders the sends to a pipe) and one reader at a
 * time (the hand-over lock), so it needs no lock of its own: the writer
 * publishes its tail, the reader its head.
 *
 * When the peer's queue is full (its recv-buffer and the slack below, which
 * stands in for the socket buffer a kernel gives tcp) the link is congested
 * and our pipe stops taking messages until the peer has drained to its
 * recv-buffer.  The link's own queue holds a slack's worth at most, so a
 * batch sent under one lock cannot run past the peer before a kick.
 *
 * References: each end holds the link; the transport's reference to each
 * pipe goes when the pipe is closed (inproc_close), and a connection closes
 * at both ends at once.  A kick uses the peer without a reference of its
 * own: it looks at the link's ready flag under the hand-over lock of the
 * direction into the peer, and inproc_close clears that flag and then
 * passes through that lock before it lets go of the peer.  Locks, each
 * below the socket locks: the link's (ready, ends), and each direction's
 * hand-over lock, which a kick holds while it delivers into the peer
 * socket (so the order is hand-over, then the peer's socket lock; nothing
 * takes a hand-over lock under a socket lock).
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
#define INPROC_BATCH 64 /* messages per pnc_pipe_deliver */

typedef struct inproc_pipe inproc_pipe;

/* Messages on their way to one end of the link: slots[head..tail). */
typedef struct inproc_dir {
	pnc_msg *slots[INPROC_SLACK_MSGS]; /* a power of two */
	PNC_ALIGN8 uint64_t tail; /* atomic: messages ever put (the sender's socket lock) */
	PNC_ALIGN8 uint64_t head; /* atomic: messages ever taken (hand_mtx) */
	pnc_mtx hand_mtx;         /* held by the kick handing the ring over */
} inproc_dir;

static uint64_t
inproc_queued(inproc_dir *d)
{
	return pnc_atomic_load_acquire_u64(&d->tail) - pnc_atomic_load_acquire_u64(&d->head);
}

typedef struct inproc_link {
	pnc_mtx mtx;
	inproc_pipe *end[2]; /* NULL once that end is destroyed */
	int refs;            /* atomic: one per end */
	int started;         /* ends that joined their sockets */
	int ready;           /* atomic: both did, and neither closed */
	int closed;          /* atomic: an end closed; what waits on the link goes */
	inproc_dir to[2];    /* to[i]: what end[i] receives */
} inproc_link;

struct inproc_pipe {
	pnc_pipe p;
	inproc_link *link;
	int side;
	int congested;       /* atomic: the peer's socket queue is full */
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
	peer = pnc_atomic_load_relaxed_int(&ip->link->ready) ?
	    ip->link->end[1 - ip->side] : NULL;
	if (peer != NULL)
		pnc_pipe_hold(&peer->p);
	pnc_mtx_unlock(&ip->link->mtx);
	return peer;
}

static int
inproc_has_room(inproc_pipe *ip)
{
	return !pnc_atomic_load_acquire_int(&ip->congested) &&
	    inproc_queued(&ip->link->to[1 - ip->side]) < INPROC_SLACK_MSGS;
}

/* Protocols that wait for a writable pipe wait for the peer to join too. */
static int
inproc_writable(pnc_pipe *p)
{
	inproc_pipe *ip = (inproc_pipe *) p;

	return pnc_atomic_load_acquire_int(&ip->link->ready) && inproc_has_room(ip);
}

/*
 * Socket locked: onto the link, for the kick after the unlock.  Before the
 * peer's end has joined its socket (a dialer's end joins first, and its
 * dial is done then), a message waits on the link for it, as one sent
 * over tcp waits in the kernel: a broadcast sent right after the dial
 * (bus, pub, surveyor) was lost so.
 */
static int
inproc_send(pnc_pipe *p, pnc_msg *m)
{
	inproc_pipe *ip = (inproc_pipe *) p;
	inproc_dir *d = &ip->link->to[1 - ip->side];
	pnc_msg *own = m;
	uint64_t tail;

	if (pnc_atomic_load_acquire_int(&ip->link->closed))
		return PNC_ECLOSED;
	if (!inproc_has_room(ip))
		return PNC_EAGAIN; /* the peer's queue or the link's ring is full */
	/* A receiver owns its message outright, so a shared one is copied. */
	if (pnc_atomic_load_acquire_int(&m->refs) > 1) {
		if (pnc_msg_dup(&own, m) != 0)
			return PNC_ECLOSED; /* out of memory: let the protocol try elsewhere */
		pnc_msg_free(m);
	}
	tail = pnc_atomic_load_relaxed_u64(&d->tail);
	d->slots[tail & (INPROC_SLACK_MSGS - 1)] = own;
	pnc_atomic_store_release_u64(&d->tail, tail + 1);
	pnc_sock_kick(p->sock, p);
	return 0;
}

/* n messages off d's ring; hand_mtx held.  1 if the ring was full: the
 * sender may take more again. */
static int
inproc_take(inproc_dir *d, pnc_msg **batch, size_t n)
{
	uint64_t head = pnc_atomic_load_relaxed_u64(&d->head);
	int was_full = inproc_queued(d) >= INPROC_SLACK_MSGS;

	for (size_t i = 0; i < n; i++) {
		batch[i] = d->slots[(head + i) & (INPROC_SLACK_MSGS - 1)];
		/* The receiver parses the header off the body, as from a wire. */
		pnc_msg_header_unsplit(batch[i]);
	}
	pnc_atomic_store_release_u64(&d->head, head + n); /* the slots are the sender's again */
	return was_full;
}

/* No lock held: what our sends queued goes into the peer's socket. */
static void
inproc_kick(pnc_pipe *p)
{
	inproc_pipe *ip = (inproc_pipe *) p;
	inproc_link *link = ip->link;
	inproc_dir *d = &link->to[1 - ip->side];
	pnc_msg *batch[INPROC_BATCH];
	uint64_t until;
	inproc_pipe *peer;
	int64_t left;
	size_t n;
	int freed = 0;

	pnc_mtx_lock(&d->hand_mtx);
	/*
	 * What was there when this kick began; no more, see the top.  Read
	 * under the lock, so a message put before the link was ready is seen
	 * either by the kick of its sender, which then finds the link ready,
	 * or by the kick inproc_started makes once it is.
	 */
	until = pnc_atomic_load_acquire_u64(&d->tail);
	peer = pnc_atomic_load_acquire_int(&link->ready) ? link->end[1 - ip->side] : NULL;
	if (peer == NULL && !pnc_atomic_load_acquire_int(&link->closed)) {
		pnc_mtx_unlock(&d->hand_mtx); /* the peer has not joined: they wait */
		return;
	}
	/* Another kick may have handed over past `until` meanwhile: then none. */
	while ((left = (int64_t) (until - pnc_atomic_load_relaxed_u64(&d->head))) > 0) {
		n = left < INPROC_BATCH ? (size_t) left : INPROC_BATCH;
		freed |= inproc_take(d, batch, n);
		if (peer != NULL) {
			(void) pnc_pipe_deliver(&peer->p, batch, n);
		} else {
			for (size_t i = 0; i < n; i++)
				pnc_msg_free(batch[i]); /* the connection is gone */
		}
	}
	pnc_mtx_unlock(&d->hand_mtx);
	if (freed)
		pnc_pipe_became_writable(p);
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
	pnc_atomic_store_release_int(&peer->congested, paused);
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
	pnc_atomic_store_release_int(&ip->link->closed, 1);
	pnc_atomic_store_release_int(&ip->link->ready, 0);
	peer = ip->link->end[1 - ip->side];
	if (peer != NULL)
		pnc_pipe_hold(&peer->p);
	pnc_mtx_unlock(&ip->link->mtx);
	if (peer != NULL) {
		pnc_pipe_close(&peer->p); /* a connection closes at both ends */
		pnc_pipe_rele(&peer->p);
	}
	/* A kick handing messages to this pipe is done with it (see the top). */
	pnc_mtx_lock(&ip->link->to[ip->side].hand_mtx);
	pnc_mtx_unlock(&ip->link->to[ip->side].hand_mtx);
	pnc_pipe_rele(p); /* the transport's; pnc_pipe_close's caller holds one */
}

static void
inproc_dir_fini(inproc_dir *d)
{
	for (uint64_t i = d->head; i != d->tail; i++)
		pnc_msg_free(d->slots[i & (INPROC_SLACK_MSGS - 1)]); /* never handed over */
	pnc_mtx_fini(&d->hand_mtx);
}

static void
inproc_link_rele(inproc_link *link)
{
	if (pnc_atomic_dec(&link->refs) != 0)
		return;
	inproc_dir_fini(&link->to[0]);
	inproc_dir_fini(&link->to[1]);
	pnc_mtx_fini(&link->mtx);
	free(link);
}

static void
inproc_destroy(pnc_pipe *p)
{
	inproc_pipe *ip = (inproc_pipe *) p;
	inproc_link *link = ip->link;

	pnc_mtx_lock(&link->mtx);
	link->end[ip->side] = NULL;
	pnc_mtx_unlock(&link->mtx);
	inproc_link_rele(link);
	free(ip);
}

/* When the second end has joined its socket, the link carries messages. */
static void
inproc_started(pnc_pipe *p)
{
	inproc_pipe *ip = (inproc_pipe *) p;
	inproc_pipe *peer = NULL;

	pnc_mtx_lock(&ip->link->mtx);
	if (++ip->link->started == 2 && (peer = ip->link->end[1 - ip->side]) != NULL) {
		pnc_atomic_store_release_int(&ip->link->ready, 1);
		pnc_pipe_hold(&peer->p);
	}
	pnc_mtx_unlock(&ip->link->mtx);
	if (peer != NULL) {
		/* What either end sent while it waited for the other goes now. */
		inproc_kick(p);
		inproc_kick(&peer->p);
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
	.kick = inproc_kick,
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

static inproc_link *
inproc_link_new(void)
{
	inproc_link *link = calloc(1, sizeof(*link));

	if (link == NULL)
		return NULL;
	pnc_mtx_init(&link->mtx);
	for (int i = 0; i < 2; i++)
		pnc_mtx_init(&link->to[i].hand_mtx);
	return link;
}

/* Runs on the I/O thread, like every dial attempt. */
static void
inproc_connect(pnc_endpoint *ep)
{
	pnc_endpoint *lep = inproc_find_listener(ep->url.addr);
	inproc_link *link;
	inproc_pipe *d = NULL, *l = NULL;

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
	if ((link = inproc_link_new()) != NULL) {
		d = inproc_pipe_new(link, 0, ep, lep->sock->proto->self_id);
		l = inproc_pipe_new(link, 1, lep, ep->sock->proto->self_id);
		link->refs = (d != NULL) + (l != NULL);
	}
	pnc_ep_rele(lep);
	if (d == NULL || l == NULL) {
		/* Unlikely; the link goes with the pipe that was made. */
		inproc_pipe *made = d != NULL ? d : l;
		if (made != NULL)
			pnc_pipe_rele(&made->p);
		else if (link != NULL)
			inproc_link_rele(link);
		pnc_ep_connect_failed(ep, PNC_ENOMEM);
		return;
	}
	/*
	 * Each end joins its socket (maybe after a pre-connect verdict).  Ours
	 * for the attaching: the one end's failure closes the other and drops
	 * its transport's reference on the way.  The listener's end goes
	 * first, so that once the dial is done (the dialer's end attached)
	 * both sockets have their pipe: a survey or a publish from the
	 * listening side right after the dial reaches the new peer, with no
	 * slow joiner as over tcp.  A listener that refuses the connection (a
	 * pair0 already paired) closes the link, the dialer's end with it;
	 * the dial is still done, as over tcp, where the connection was made,
	 * and the dialer dials again later instead of failing.
	 */
	pnc_pipe_hold(&l->p);
	pnc_pipe_hold(&d->p);
	pnc_pipe_attach(&l->p);
	if (pnc_atomic_load_acquire_int(&link->closed))
		pnc_ep_connected(ep, &d->p); /* closed: the dialer redials */
	else
		pnc_pipe_attach(&d->p);
	pnc_pipe_rele(&l->p);
	pnc_pipe_rele(&d->p);
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
