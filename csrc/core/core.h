/*
 * core.h: the engine's internal structures and the contracts between layers.
 *
 * Data goes down on send (socket -> protocol -> pipe -> transport) and up on
 * receive.  A protocol never touches a descriptor; a transport never knows a
 * protocol.
 *
 * LOCKS.  Each socket has one mutex (pnc_sock_lock) over its protocol
 * state, its queues, its lists of pipes, contexts and endpoints, and the
 * fields this file marks "socket lock".  Below it, in this order, come
 * locks that guard one object each and are never held while a socket lock
 * is taken: a stream pipe's write lock (wmtx), an inproc link's locks, an
 * async completion queue's lock, the I/O thread's lock, the pipe-event
 * queue's lock.  No thread holds two socket locks at once: inproc, which
 * hands messages from one socket to another, does it after the sender's
 * socket is unlocked (see pnc_sock_kick).
 *
 * WHAT MAY UNLOCK.  A section run under a socket lock is atomic: no
 * function it calls lets go of the lock, with two exceptions a caller
 * knows about.  pnc_ctx_wait (the wait of a blocking send or receive)
 * sleeps unlocked: a protocol's send or recv that calls it must look at
 * everything again afterwards, and commits no state before it that
 * another thread could change meanwhile (no saved list position, no
 * half-made request).  And the receive path's inline read
 * (pnc_sock_sole_pipe, sock_read_inline) reads the pipe unlocked between
 * two whole protocol steps.  A send to a pipe (pnc_sock_pipe_send,
 * pnc_sock_broadcast) is made with the socket locked and never unlocks.
 *
 * REFERENCES.  Whoever uses an object outside the lock that keeps it
 * listed holds a reference of its own, for as long as it uses it, the
 * I/O thread included.  Who holds what is written at each structure below.
 * The last reference may go under a socket lock: destroy functions never
 * take a socket lock.
 *
 * PROTOCOL CALLBACKS run with the socket locked and may do anything the
 * socket lock allows: change protocol state, queue, wake waiters, send to
 * pipes (pnc_sock_pipe_send, pnc_sock_broadcast, the pipeset).  They never
 * close a pipe themselves (a deliver that returns an error has its pipe
 * closed by the caller) and never call into an endpoint.
 */
#ifndef PNC_CORE_H
#define PNC_CORE_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "pnc.h"
#include "../platform/platform.h"

#define PNC_FOREVER INT64_MAX
/* A recv flag of the core's own, with PNC_FLAG_NONBLOCK: take what is
 * queued and no more, not even a look at the kernel (pnc_op_take). */
#define PNC_FLAG_QUEUED 0x100
/*
 * Statistics, read without locks.  PNC_STAT is for counters written from
 * anywhere; PNC_STAT_LOCKED for those whose every writer holds the socket
 * lock (messages and bytes in and out of a socket, in through a pipe):
 * a plain load and store, since an atomic add per counter per message
 * costs the hot path more than all the rest of its bookkeeping.
 */
#define PNC_STAT(field, n) pnc_atomic_add_u64(&(field), (n))
#define PNC_STAT_LOCKED(field, n) \
	pnc_atomic_store_relaxed_u64(&(field), pnc_atomic_load_relaxed_u64(&(field)) + (n))
#define PNC_CONTAINER(ptr, type, member) \
	((type *) (void *) ((char *) (ptr) - offsetof(type, member)))

/* Intrusive doubly linked lists. */
typedef struct pnc_node {
	struct pnc_node *next;
	struct pnc_node *prev;
} pnc_node;

typedef struct pnc_list {
	pnc_node head;
} pnc_list;

void pnc_list_init(pnc_list *l);
void pnc_list_append(pnc_list *l, pnc_node *n);
void pnc_list_insert_after(pnc_node *at, pnc_node *n); /* at: a node or &l->head */
void pnc_list_remove(pnc_node *n);
/* Every node of `from`, in order, into `to` (made empty first); `from` empty. */
void pnc_list_move_all(pnc_list *to, pnc_list *from);

static inline int
pnc_list_empty(const pnc_list *l)
{
	return l->head.next == &l->head;
}

static inline int
pnc_list_single(const pnc_list *l)
{
	return !pnc_list_empty(l) && l->head.next->next == &l->head;
}

int pnc_node_linked(const pnc_node *n);
pnc_node *pnc_list_first(const pnc_list *l);
#define PNC_LIST_EACH(l, n) \
	for (pnc_node *n = (l)->head.next; n != &(l)->head; n = n->next)

/*
 * Messages: [headroom: wire prefix | protocol header][body][spare].
 *
 * A message has one owner at a time (a caller, a queue, a pipe's write
 * queue), which may change it, except when it is shared: fan-out (pub,
 * bus, surveyor) and a request kept for resending give one message to
 * several holders, each with a reference (pnc_msg_hold).  A shared
 * message is read-only: nobody changes its header or body, and its wire
 * prefix is the same for every transport (pnc_msg_wire_prefix), so the
 * pipes that write it out only read it.
 */
#define PNC_MSG_HEADROOM 96
/*
 * The longest frame prefix (ipc: a type byte and a 64-bit length), just
 * before the header: written there for every stream transport at once.
 */
#define PNC_WIRE_PREFIX 9

struct pnc_msg {
	int refs;         /* holders; see above */
	uint32_t pipe_id; /* the pipe it came in on, or the one to send to */
	int targeted;     /* pipe_id was set to send to that pipe only: a send
	                     fails with PNC_ECLOSED once it is gone (pnc_ctx_run) */
	int in_stream;    /* broadcast right after the one before (a transport
	                     may cork it: see pnc_sock_broadcast) */
	int framed;       /* its body is whole frames, prefixes and all: a
	                     transport's copy of small sends, in its own write
	                     queue only (stream.c), or a socket's batch of
	                     broadcasts, shared (pnc_sock_broadcast) */
	size_t cap;       /* bytes in data[] */
	size_t off;       /* where the body starts in data[] */
	size_t len;       /* body length */
	size_t hlen;      /* header bytes, just before the body */
	const uint8_t *lent; /* the body, still the sender's (pnc_msg_lend) */
	uint8_t *ext;        /* the body, in a source's memory (pnc_msg_alloc_from) */
	void *ext_owner;
	const pnc_body_source *ext_src;
	uint8_t data[];
};

/* Header and body are one piece, as pnc_msg_wire needs, unless the body
 * is in a source's memory: such a message is sent as a copy. */
static inline uint8_t *
pnc_msg_wire(pnc_msg *m) /* header + body, as they go on the wire */
{
	return m->data + m->off - m->hlen;
}

static inline size_t
pnc_msg_wire_len(const pnc_msg *m)
{
	return m->hlen + m->len;
}

/*
 * Writes the frame prefix in front of the header, as ipc has it (0x01,
 * then the 64-bit length; tcp's is its last 8 bytes), unless it is there
 * already: a shared message's prefix is written by its first send, and
 * later sends to other pipes find it and only read.
 */
void pnc_msg_wire_prefix(pnc_msg *m);
/* The same prefix, for a frame of wire_len bytes, into out. */
void pnc_wire_prefix_put(uint8_t out[PNC_WIRE_PREFIX], uint64_t wire_len);
/*
 * Appends m's frame with a prefix of plen bytes (tcp's 8, ipc's 9) to the
 * framed message `to`, which has room for it; m's body is its own (not
 * lent, not in a source's memory).
 */
void pnc_msg_frame_append(pnc_msg *to, const pnc_msg *m, size_t plen);
/* More than one holder has it (see above): it is read-only. */
int pnc_msg_shared(const pnc_msg *m);

/* Makes the header part of the body again, as if it came off the wire. */
static inline void
pnc_msg_header_unsplit(pnc_msg *m)
{
	m->off -= m->hlen;
	m->len += m->hlen;
	m->hlen = 0;
}

void pnc_msg_hold(pnc_msg *m);
/* pnc_msg_free of each: their pooled blocks go back in one go. */
void pnc_msg_free_many(pnc_msg *const *msgs, size_t n);
/*
 * A large send need not copy its body if the transport writes the whole
 * frame before the send call returns.  pnc_msg_lend makes a message whose
 * body is still the caller's memory (room for it allocated, not filled);
 * whatever would keep the message past the send call, or read its body
 * any other way, first calls pnc_msg_keep, which copies the body in (but
 * for its first `skip` bytes, if they went to the wire already).
 * Only protocols with `lends` set and pipes with `takes_lent` set ever
 * see a lent message; pnc_sock_pipe_send keeps it for any other pipe.
 */
int pnc_msg_lend(pnc_msg **msgp, const void *data, size_t size);
/*
 * A lent body whose owner the message holds (src->release(owner) when it
 * goes) stays valid as long as the message: a pipe may keep it as it is
 * (pnc_msg_lent_owned) instead of copying it.  pnc_msg_keep copies it all
 * the same, and lets the owner go.
 */
int pnc_msg_lend_owned(pnc_msg **msgp, const void *data, size_t size,
    const pnc_body_source *src, void *owner);
static inline int
pnc_msg_lent_owned(const pnc_msg *m)
{
	return m->lent != NULL && m->ext_owner != NULL;
}
/* A message whose body is memory from src, or from its own block when src
 * (NULL, or its alloc) gives none.  Its header stays in the headroom. */
int pnc_msg_alloc_from(pnc_msg **msgp, size_t size, const pnc_body_source *src);
void pnc_msg_keep(pnc_msg *m, size_t skip);
int pnc_msg_header_push_u32(pnc_msg *m, uint32_t v);
int pnc_msg_body_pull_u32(pnc_msg *m, uint32_t *vp); /* body word -> header */
void pnc_msg_header_clear(pnc_msg *m);
int pnc_msg_header_set(pnc_msg *m, const void *h, size_t len);
int pnc_msg_header_pop_u32(pnc_msg *m, uint32_t *vp); /* the first word */
/*
 * Moves a request backtrace (words up to and including the first with its
 * top bit set) from the body to the header.  PNC_EPROTO if the body ends
 * first (the pipe closes), PNC_EMSGSIZE if it has more than ttl words (the
 * message is dropped).
 */
int pnc_msg_pull_backtrace(pnc_msg *m, int ttl);
#define PNC_MAX_TTL 15

static inline uint32_t
pnc_get_u32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
	    ((uint32_t) p[2] << 8) | p[3];
}

static inline void
pnc_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/*
 * A growable ring of message pointers: socket and pipe queues.  A message's
 * length does not change while it is queued: `bytes` counts them.
 */
typedef struct pnc_ring {
	pnc_msg **items;
	size_t cap; /* a power of two */
	size_t head;
	size_t len;
	size_t bytes; /* the bodies of the messages queued */
} pnc_ring;

void pnc_ring_init(pnc_ring *r);
void pnc_ring_fini(pnc_ring *r); /* frees the messages still queued */
int pnc_ring_put(pnc_ring *r, pnc_msg *m);
pnc_msg *pnc_ring_get(pnc_ring *r);
int pnc_ring_unget(pnc_ring *r, pnc_msg *m); /* back to the front */
static inline pnc_msg *
pnc_ring_at(const pnc_ring *r, size_t i)
{
	return r->items[(r->head + i) & (r->cap - 1)];
}

/* A map from non-zero 32-bit ids to pointers. */
typedef struct pnc_idmap {
	uint32_t *keys;
	void **vals;
	size_t cap; /* a power of two */
	size_t count;
} pnc_idmap;

void pnc_idmap_init(pnc_idmap *m);
void pnc_idmap_fini(pnc_idmap *m);
void *pnc_idmap_get(const pnc_idmap *m, uint32_t key);
int pnc_idmap_set(pnc_idmap *m, uint32_t key, void *val);
void pnc_idmap_del(pnc_idmap *m, uint32_t key);

/* The I/O thread: poller registrations, timers and tasks. */
typedef struct pnc_pollfd pnc_pollfd;
typedef void (*pnc_poll_cb)(pnc_pollfd *pfd, unsigned events);

/*
 * A descriptor the I/O thread watches.  Its callback runs on the I/O thread
 * with the events asked for (and PNC_POLL_ERR); it may call pnc_pollfd_want
 * and pnc_pollfd_del.  events, armed and armed_once change under the io
 * lock.
 */
struct pnc_pollfd {
	pnc_fd fd;
	unsigned events; /* what is asked for */
	pnc_poll_cb cb;
	void *arg;
	pnc_node node; /* in the registry, for moving to another poller */
	unsigned armed; /* what the poller watches, as far as is known */
	unsigned char oneshot; /* added with PNC_POLL_ONESHOT */
	unsigned char armed_once; /* armed one-shot: its event disarms it */
};

/*
 * events may add PNC_POLL_ONESHOT, for a descriptor whose callback often
 * stops asking for input (a pipe paused behind a full queue; iothread.c):
 * its callback must then end with pnc_pollfd_rearm, while the pfd is
 * still alive.
 */
int pnc_pollfd_add(pnc_pollfd *pfd, pnc_fd fd, unsigned events,
    pnc_poll_cb cb, void *arg);
void pnc_pollfd_rearm(pnc_pollfd *pfd); /* I/O thread only */
void pnc_pollfd_want(pnc_pollfd *pfd, unsigned on, unsigned off);
void pnc_pollfd_del(pnc_pollfd *pfd); /* I/O thread only */

/*
 * A timer is a node of the I/O thread's heap, soonest first (iothread.c):
 * arming or cancelling one costs a walk down the heap's height, however many
 * are armed (a listener in a burst has one per connection in its handshake).
 * Its fields are the I/O thread's, under its lock.
 */
typedef struct pnc_timer {
	int64_t when;  /* 0 when not armed */
	uint32_t seq;  /* the order of arming, which breaks a tie of deadlines */
	void (*cb)(void *arg);
	void *arg;
	struct pnc_timer *parent, *left, *right;
} pnc_timer;

void pnc_timer_init(pnc_timer *t, void (*cb)(void *), void *arg);
/* Both return 1 if the timer was armed before the call. */
int pnc_timer_arm(pnc_timer *t, int64_t delay_ms);
int pnc_timer_cancel(pnc_timer *t);

typedef struct pnc_task {
	void (*cb)(void *arg);
	void *arg;
	pnc_node node;
} pnc_task;

void pnc_task_init(pnc_task *t, void (*cb)(void *), void *arg);
/* Runs cb on the I/O thread soon.  Returns 0 if it was queued already. */
int pnc_task_post(pnc_task *t);
int pnc_io_start(void);
int pnc_io_on_thread(void);

/*
 * How long an operation step may wait: to the end of this call (its slice)
 * or the operation's deadline, whichever comes first.  Both are worked out
 * at the step's first wait, so a step that never waits never reads the
 * clock.  A wait that reaches the slice's end first says PNC_ESLICE (the
 * caller will come back), one that reaches the deadline PNC_ETIMEDOUT.
 * What a protocol must remember across slices (which request a recv waits
 * for) goes in *note, set on the first call.
 */
typedef struct pnc_wait {
	pnc_op *op;      /* holds the deadline from one slice to the next */
	int64_t timeout; /* ms from the first wait (< 0: none) */
	int slice_ms;
	int64_t until;   /* this call's end; 0 until its first wait */
	int first;       /* the operation's first call (its first slice) */
	uint64_t *note;  /* the protocol's note about the operation */
} pnc_wait;

/* Protocols: each a table of operations. */
typedef struct pnc_pipe pnc_pipe;
typedef struct pnc_proto_ops pnc_proto_ops;
typedef struct pnc_ctx pnc_ctx;

/*
 * All protocol operations run with the socket locked.  send and recv act
 * for a context (every socket has a default one; protocols with
 * `contexts` set allow more) and may wait with pnc_ctx_wait, which unlocks
 * while it sleeps.  deliver owns the message it is given; it returns 0,
 * PNC_EAGAIN to pause the pipe (its queue is full), or an error that
 * closes the pipe.
 */
struct pnc_proto_ops {
	const char *name;
	const char *peer_name;
	uint16_t self_id;
	uint16_t peer_id;
	int raw;         /* headers exposed, no state machine */
	int lends;       /* send keeps a message only through pnc_pipeset_send */
	int contexts;    /* pnc_ctx_open allowed */
	int recv_many;   /* receives hold no state: a batch may take several */
	size_t ctx_size; /* protocol state per context, zeroed */
	/* Hooks left NULL have nothing to do. */
	int (*init)(pnc_socket *s);
	void (*fini)(pnc_socket *s);
	int (*ctx_init)(pnc_ctx *c);
	void (*ctx_close)(pnc_ctx *c); /* cancel what it has under way */
	int (*pipe_start)(pnc_socket *s, pnc_pipe *p); /* non-zero rejects */
	void (*pipe_stop)(pnc_socket *s, pnc_pipe *p);
	void (*pipe_writable)(pnc_socket *s, pnc_pipe *p);
	int (*send)(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w);
	int (*recv)(pnc_ctx *c, pnc_msg **mp, int flags, pnc_wait *w);
	/* Takes back a message recv gave out, as if it had not been taken. */
	int (*unrecv)(pnc_ctx *c, pnc_msg *m);
	int (*deliver)(pnc_socket *s, pnc_pipe *p, pnc_msg *m);
	int (*set_int)(pnc_socket *s, const char *name, int64_t v);
	int (*get_int)(pnc_socket *s, const char *name, int64_t *vp);
	int (*ctx_set_bytes)(pnc_ctx *c, const char *name, const void *data,
	    size_t len);
	/* Would a recv (send) on c not block now?  Unset: a recv does when
	 * the socket's recvq is empty, a send never does (readiness.c). */
	int (*recv_ready)(pnc_ctx *c);
	int (*send_ready)(pnc_ctx *c);
};

/* Contexts: independent protocol state on one socket. */
#define PNC_TIMEOUT_INHERIT (-2) /* the default context uses the socket's */

struct pnc_ctx {
	pnc_socket *sock;
	int refs;
	uint32_t id;
	int closed;
	int64_t recv_timeout;
	int64_t send_timeout;
	pnc_node sock_node;
	void *pdata; /* ctx_size bytes for the protocol */
};

void pnc_ctx_hold(pnc_ctx *c);
void pnc_ctx_rele(pnc_ctx *c);
/*
 * Sleeps on cv until woken or w->until; returns 0 when woken (look again),
 * PNC_ESLICE or PNC_ETIMEDOUT when the time ran out (see pnc_wait),
 * PNC_ECLOSED if the context or its socket closed.
 */
int pnc_ctx_wait(pnc_ctx *c, pnc_cv *cv, int *waiters, pnc_wait *w);
/* Whether this thread's blocking waits end at their slice: it is the one
 * Python handles signals on, or that is not known (pnc_signal_thread_set). */
int pnc_wait_sliced(void);
/* An operation about to wait outside pnc_ctx_wait (async) sets its deadline. */
void pnc_op_deadline_start(pnc_op *op, int sending);
void pnc_ctx_close_locked(pnc_ctx *c);
int pnc_sock_ctx_init(pnc_socket *s); /* makes the default context */
/* One send (m) or recv step, socket locked. */
int pnc_ctx_run(pnc_ctx *c, pnc_msg *m, int flags, pnc_op *op, int slice_ms);
/* After a step: unless it ran out of slice, the operation is over. */
void pnc_op_step_end(pnc_op *op, int rv);
/* Puts back a message a receive took (freed if it can't): 1 if put back. */
int pnc_ctx_unrecv(pnc_ctx *c, pnc_msg *m);
/*
 * A context's timer holds a reference to it while armed; its callback
 * ends with pnc_ctx_rele, outside the socket lock.
 */
void pnc_ctx_timer_arm(pnc_ctx *c, pnc_timer *t, int64_t delay_ms);
void pnc_ctx_timer_cancel(pnc_ctx *c, pnc_timer *t);

const pnc_proto_ops *pnc_proto_find(const char *name, int raw);

/*
 * The options of the connections an endpoint makes.  A socket has a set,
 * which each endpoint copies when it is made; setting one on the socket
 * sets it on every endpoint too, setting one on an endpoint only there
 * (as with nng).  Socket lock, for every read and write, the I/O thread's
 * too (a new connection's tcp_nodelay and tcp_keepalive); recv_max is
 * also written atomically, since the I/O thread reads it per frame
 * without the lock (pnc_atomic_load_relaxed_size).
 */
typedef struct pnc_conn_opts {
	size_t recv_max;
	int64_t reconnect_min;
	int64_t reconnect_max;
	int64_t tcp_nodelay;
	int64_t tcp_keepalive;
} pnc_conn_opts;

/* A readiness descriptor: readable while signaled (readiness.c). */
typedef struct pnc_ready {
	pnc_wakefd wake;
	int open;
	int signaled;
} pnc_ready;

/*
 * Sockets.  References: the opener's (dropped by pnc_socket_release), and
 * one from each context, endpoint and pipe of it, each async waiter (by
 * its context) and device; the memory goes with the last.  Every field
 * below is under the socket lock unless it says otherwise.
 */
struct pnc_socket {
	pnc_mtx mtx;
	pnc_cv cv_recv;
	pnc_cv cv_send;
	int refs; /* atomic */
	int closed;
	int raw;
	uint32_t id;
	int recv_waiters;
	/*
	 * A receiver was woken for the queue and has not come back from its
	 * wait yet: the messages queued meanwhile wake no other, since that
	 * one takes the first and wakes the next if more are left (see
	 * pnc_sock_queue_recv).  A server's threads on one CPU then take a
	 * burst of requests one after the other instead of each being woken.
	 */
	int recv_wake_pending;
	int wakes_held;     /* see pnc_sock_lock_holding_wakes */
	int wake_due[2];    /* per PNC_WAKE_*: 1 wake one, 2 wake all */
	int send_waiters;
	const pnc_proto_ops *proto;
	void *pdata;
	pnc_ctx *dflt;  /* the context socket-level send and recv use */
	pnc_list ctxs;  /* the others */
	pnc_ring recvq; /* used by protocols that queue inbound messages */
	pnc_ring sendq; /* messages waiting for a writable pipe */
	pnc_list pipes;
	pnc_idmap pipe_ids; /* the attached pipes by id */
	pnc_list held;      /* new pipes waiting for a pre-connect verdict */
	int nheld;          /* at most PNC_HELD_MAX; more are refused */
	pnc_list kicks;     /* pipes with work for after the unlock (pnc_sock_kick) */
	int watch;          /* pipe events reported (PNC_PIPE_*) */
	PNC_ALIGN8 pnc_stats stats; /* 8-aligned: 64-bit atomics on 32-bit builds too */
	pnc_list paused; /* pipes not read while recvq is full */
	pnc_list endpoints;
	pnc_list dialing;      /* dialers' attempts under way, oldest first */
	int ndialing;          /* at most PNC_DIALS_AT_ONCE (endpoint.c) */
	pnc_list dial_waiting; /* dialers waiting for one of them to end */
	pnc_list waiters[2]; /* async operations waiting: recv, send */
	/* a receiving thread reading its one pipe itself (see pnc_pipe_ops) */
	int inline_reader;
	int inline_signaled;
	int inline_wake_open;
	pnc_thread inline_thread;
	pnc_wakefd inline_wake;
	unsigned recvs; /* messages received: a send after one is no stream */
	int64_t broadcast_end_ns; /* when the last broadcast was done */
	/* broadcasts in a stream, gathered for every pipe (pnc_sock_broadcast) */
	pnc_msg *batch;        /* their frames so far (framed), or NULL */
	unsigned batch_msgs;   /* how many */
	size_t batch_bytes;    /* their bodies' bytes */
	uint8_t batch_prefix;  /* the frame prefix length of every pipe it is for */
	pnc_task batch_task;   /* the I/O thread's send of a batch the sender left
	                          part full: holds a socket reference while posted */
	/* options */
	int64_t recv_timeout;
	int64_t send_timeout;
	int64_t recv_buffer;
	int64_t send_buffer;
	pnc_conn_opts conn; /* each endpoint's, until it sets its own */
	pnc_tls_config *tls; /* a reference: endpoints' TLS config unless their own */
	char name[64];
	/* readiness descriptors, per PNC_WAKE_* (readiness.c) */
	pnc_ready ready[2];
	int ready_watched; /* either is open */
	int ready_due;     /* to be looked at again before the unlock */
};

/* Pre-connect verdicts pending per socket: Python's callback thread may lag. */
#define PNC_HELD_MAX 1024
/* NNG 2.0's default: large enough for any message a user means to send,
 * safe since a frame's memory grows only as its bytes arrive (stream.c). */
#define PNC_RECV_MAX_DEFAULT ((size_t) 1 << 30)

void pnc_sock_hold(pnc_socket *s);
void pnc_sock_rele(pnc_socket *s);
/*
 * Readiness (readiness.c), socket locked: what a receiver or a sender
 * would find may have changed; the unlock looks again (update).
 */
static inline void
pnc_sock_ready_changed(pnc_socket *s)
{
	s->ready_due = s->ready_watched;
}
void pnc_sock_ready_update(pnc_socket *s);
void pnc_sock_ready_fini(pnc_socket *s); /* closes the descriptors */
/*
 * The socket lock.  pnc_sock_unlock also does what was left for after the
 * unlock: the wake-ups held back (pnc_sock_lock_holding_wakes) and the
 * pipes' kicks (pnc_sock_kick), so every unlock of a socket goes through
 * it.  pnc_sock_lock_holding_wakes locks with the cv wake-ups held back
 * until the unlock: a thread woken while the lock is still held only
 * wakes to sleep on the lock, and on a shared CPU that is two context
 * switches more per message handed over (the hand-over paths use it).
 */
void pnc_sock_lock(pnc_socket *s);
void pnc_sock_lock_holding_wakes(pnc_socket *s);
void pnc_sock_unlock(pnc_socket *s);
/*
 * Socket locked: p's transport has work to do once the socket is unlocked
 * (inproc: hand what was sent over to the peer socket, whose lock may not
 * be taken under this one).  Holds p until its ops->kick has run, on the
 * thread that unlocks next, with no lock held.
 */
void pnc_sock_kick(pnc_socket *s, pnc_pipe *p);
/*
 * Wakes what waits to receive (or send): blocked threads and async waiters,
 * one or all, or all of one context's.  Protocols call it wherever their
 * state changed in a way a waiter must look at.
 */
#define PNC_WAKE_RECV 0
#define PNC_WAKE_SEND 1
void pnc_sock_wake(pnc_socket *s, int kind, int all, const pnc_ctx *only);
/* The async part of it: hands matching waiters to their queues (aio.c). */
void pnc_aio_fire(pnc_socket *s, int kind, int all, const pnc_ctx *only);
/* The generic receive queue, bounded by recv-buffer (at least 1). */
int pnc_sock_queue_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m);
int pnc_sock_queue_recv(pnc_ctx *c, pnc_msg **mp, int flags, pnc_wait *w);
int pnc_sock_queue_unrecv(pnc_ctx *c, pnc_msg *m);
/*
 * Sends m to p, an attached pipe, socket locked throughout: 0 if p took it,
 * PNC_EAGAIN if p takes no more now (its queue is at its limit), or
 * PNC_ECLOSED if p is going; m is the caller's still unless p took it.
 */
int pnc_sock_pipe_send(pnc_socket *s, pnc_pipe *p, pnc_msg *m);
void pnc_sock_resume_pipes(pnc_socket *s);
/* The one pipe a receiver may read itself, or NULL; socket locked. */
pnc_pipe *pnc_sock_sole_pipe(pnc_socket *s);
/* True on the thread that is reading the socket's pipe itself. */
int pnc_sock_reading_here(const pnc_socket *s);
/* A closed socket gives its inline reader's wake-up descriptor back as
 * soon as no reader uses it (socket locked). */
void pnc_sock_inline_wake_release(pnc_socket *s);
/*
 * A receiver waiting on the cv or its queue needs the I/O thread to read:
 * p (if not NULL) gets back reads a past receive kept.  Socket locked.
 */
void pnc_sock_reads_back_if_waited(pnc_socket *s, pnc_pipe *p);
/*
 * To the pipe m->pipe_id names, waiting for it to take more; consumes m.
 * When that pipe is gone: PNC_ECLOSED if the sender chose it (m->targeted),
 * m then still the sender's; else (a protocol's reply) m is dropped, as nng.
 */
int pnc_sock_send_to(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w);
/*
 * Gives m to every pipe that takes more (to its target pipe only, if it has
 * one), except pipe `skip`; consumes m.  Socket locked throughout.  A small
 * m sent right after the last may wait in the socket's batch, which goes
 * to the pipes when it is full, before any other broadcast, when a pipe
 * joins or the socket closes, or from the I/O thread soon after.
 */
void pnc_sock_broadcast(pnc_socket *s, pnc_msg *m, uint32_t skip);
/* Socket locked: the batch goes to the pipes now, if there is one. */
void pnc_sock_batch_send(pnc_socket *s);

/*
 * A set of pipes that each message goes to one of: the ready ones in
 * round-robin order, else the socket's send queue (send-buffer deep), else
 * the sender waits.  pair0, pair1 and push are built on it.
 */
typedef struct pnc_pipeset {
	pnc_list ready;
	int count;
} pnc_pipeset;

void pnc_pipeset_init(pnc_pipeset *ps);
void pnc_pipeset_add(pnc_socket *s, pnc_pipeset *ps, pnc_pipe *p);
void pnc_pipeset_remove(pnc_pipeset *ps, pnc_pipe *p);
void pnc_pipeset_writable(pnc_socket *s, pnc_pipeset *ps, pnc_pipe *p);
/* *sentp (if given) is the pipe that took it, NULL if it was queued. */
int pnc_pipeset_send(pnc_ctx *c, pnc_pipeset *ps, pnc_msg *m, int flags,
    pnc_wait *w, pnc_pipe **sentp);
/* Protocol hooks for a socket state that starts with its pnc_pipeset. */
int pnc_pipeset_send_ready(pnc_ctx *c);
int pnc_pipeset_proto_init(pnc_socket *s);
void pnc_pipeset_proto_fini(pnc_socket *s);
int pnc_pipeset_pipe_start(pnc_socket *s, pnc_pipe *p);
void pnc_pipeset_pipe_stop(pnc_socket *s, pnc_pipe *p);
void pnc_pipeset_pipe_writable(pnc_socket *s, pnc_pipe *p);
int pnc_pipeset_send_raw(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w);
int pnc_pipeset_send_cooked(pnc_ctx *c, pnc_msg *m, int flags,
    pnc_wait *w);
/* To a ready pipe now, or PNC_EAGAIN; never queues, never waits. */
int pnc_pipeset_try_send(pnc_socket *s, pnc_pipeset *ps, pnc_msg *m,
    pnc_pipe **sentp);

/* Pipes: one connection to one peer. */
typedef struct pnc_endpoint pnc_endpoint;

/*
 * A transport's pipe operations.  Unless one says otherwise, an operation
 * is called with a reference to the pipe held and no lock held.
 */
typedef struct pnc_pipe_ops {
	/*
	 * Socket locked (never unlocked here, never another socket's lock
	 * taken), so it never blocks: 0, taken; PNC_EAGAIN, full (as writable
	 * says: the check that bounds the pipe's queue, whoever sends is);
	 * PNC_ECLOSED, the pipe is going.  Either error leaves m with the
	 * caller.  Work that needs the socket unlocked is left for
	 * kick (pnc_sock_kick); a failure that closes the pipe is left for
	 * the I/O thread (pnc_pipe_close_later).
	 */
	int (*send)(pnc_pipe *p, pnc_msg *m);
	/*
	 * Optional: as send, but m stays the caller's, shared (a broadcast's):
	 * the pipe takes a reference of its own only if it keeps m, and a
	 * pipe that copies m takes none.  Without it the socket takes one for
	 * the pipe and calls send.
	 */
	int (*send_shared)(pnc_pipe *p, pnc_msg *m);
	void (*kick)(pnc_pipe *p); /* optional, see pnc_sock_kick */
	void (*started)(pnc_pipe *p); /* joined its socket (optional) */
	int (*addr)(pnc_pipe *p, int remote, pnc_addr *a);
	int (*get_int)(pnc_pipe *p, const char *name, int64_t *vp); /* optional */
	int (*get_string)(pnc_pipe *p, const char *name, char *buf, size_t size); /* optional */
	/*
	 * Optional: a caller about to wait for input reads the pipe itself,
	 * with no thread hop.  begin takes the pipe's read side from the I/O
	 * thread (socket locked; PNC_EBUSY if it cannot), wait reads what
	 * comes until `until` or a wake-up (socket unlocked), bodies from
	 * `bodies` (pnc_msg_alloc_from), end gives it
	 * back (socket locked), though the pipe may keep its reads for the next
	 * receive; reads_back makes the I/O thread read again (socket locked).
	 */
	int (*read_begin)(pnc_pipe *p);
	void (*read_wait)(pnc_pipe *p, pnc_fd wake, int64_t until,
	    const pnc_body_source *bodies);
	void (*read_end)(pnc_pipe *p);
	void (*reads_back)(pnc_pipe *p);
	pnc_fd (*read_fd)(pnc_pipe *p); /* what an event loop reading it watches */
	int (*writable)(pnc_pipe *p); /* any lock or none; never blocks */
	void (*pause)(pnc_pipe *p, int paused); /* socket locked */
	/* Once, from pnc_pipe_close, after the socket let go of the pipe. */
	void (*close)(pnc_pipe *p);
	/* At the last reference; maybe under a socket lock: takes none. */
	void (*destroy)(pnc_pipe *p);
	/*
	 * What the pipe may deliver past recv-buffer before it is paused, as
	 * a kernel socket buffer holds for tcp: without it a transport with no
	 * such buffer (inproc) would pause and resume at every message.
	 */
	int slack_msgs;
	size_t slack_bytes;
	int takes_lent; /* send writes a lent body at once or keeps it */
} pnc_pipe_ops;

/*
 * A pipe.  References: its transport's (from pnc_pipe_init until the
 * transport is done with the connection), its socket's while the pipe is
 * on the socket's pipe or held list (from pnc_pipe_attach until
 * pnc_pipe_close has taken it off), and one from each thread, task, timer
 * or waiter using it outside the socket lock (pipe_find's callers, a
 * caller reading it inline, an async waiter reading it, a kick, the I/O
 * thread's callbacks).  A pipe holds its socket and endpoint.  So a pipe
 * found on a socket list under the socket lock is alive until the unlock;
 * to use it after, take a reference first.
 */
struct pnc_pipe {
	const pnc_pipe_ops *ops;
	int refs; /* atomic */
	uint32_t id;
	uint16_t peer_id; /* set by the transport before pnc_pipe_attach */
	/* set by the transport before pnc_pipe_attach: its frames' prefix
	 * length, if its send_shared takes a batch of frames whole (a framed
	 * message, pnc_sock_broadcast), else 0 */
	uint8_t frame_prefix;
	/* socket lock */
	int closed;
	int attached; /* on the socket's pipe list */
	int paused;
	int kick_due; /* on the socket's kick list */
	pnc_socket *sock;
	pnc_endpoint *ep; /* the dialer or listener it came from */
	pnc_node sock_node; /* on the socket's pipes or held list */
	pnc_node ep_node;   /* on its endpoint's pipes list, while attached */
	pnc_node paused_node;
	pnc_node kick_node;
	pnc_task close_task; /* pnc_pipe_close_later */
	PNC_ALIGN8 pnc_stats stats; /* the message counters, 8-aligned for their atomics */
	/* for the protocol's use, socket lock */
	pnc_node proto_node;
	int proto_ready;
	void *proto_data;
};

void pnc_pipe_init(pnc_pipe *p, const pnc_pipe_ops *ops, pnc_socket *s,
    pnc_endpoint *ep);
void pnc_pipe_hold(pnc_pipe *p);
void pnc_pipe_rele(pnc_pipe *p);
/*
 * Detaches from socket and protocol (the protocol's pipe_stop runs in the
 * same locked step, so the pipe is never half gone), then has the
 * transport close it.  No lock held; the caller holds a reference.
 */
void pnc_pipe_close(pnc_pipe *p);
/* The same, from where it cannot be done now (a lock held): on the I/O thread. */
void pnc_pipe_close_later(pnc_pipe *p);
/*
 * Runs t (one of p's tasks) on the I/O thread with a reference to p that
 * t's callback drops; posted already, it runs once, with the one reference.
 */
void pnc_pipe_post(pnc_pipe *p, pnc_task *t);
/*
 * The transport's handshake is done: the pipe joins its socket now, or
 * after a pre-connect verdict; a dialer hears how it went either way.
 * No lock held; the caller holds a reference.
 */
void pnc_pipe_attach(pnc_pipe *p);
/* Socket locked; 0, or PNC_ENOMEM when the event queue is full (dropped). */
int pnc_pipe_post_event(pnc_socket *s, pnc_pipe *p, int kind);
/*
 * Hands received messages up: 1 if reading must pause, -1 if it closed.
 * No lock held; the caller holds a reference.
 */
int pnc_pipe_deliver(pnc_pipe *p, pnc_msg **msgs, size_t n);
void pnc_pipe_became_writable(pnc_pipe *p); /* as pnc_pipe_deliver */

/* URLs. */
typedef struct pnc_url {
	char scheme[16];
	char addr[PNC_URL_MAX]; /* everything after "://" */
	char host[PNC_URL_MAX]; /* filled by pnc_url_hostport */
	char port[8];
} pnc_url;

int pnc_url_parse(const char *url, pnc_url *u);
/* Splits addr as host:port; a listener may leave the host empty or "*". */
int pnc_url_hostport(pnc_url *u, int listener);
/*
 * Percent-decodes text into out (cap bytes, no terminator added) and sets
 * *lenp; a malformed escape or a result longer than cap is PNC_EADDRINVAL.
 */
int pnc_url_decode(const char *text, uint8_t *out, size_t cap, size_t *lenp);

/* Transports. */
typedef struct pnc_tran_ops {
	size_t ep_size; /* bytes of transport state after the endpoint */
	int (*ep_init)(pnc_endpoint *ep);
	int (*bind)(pnc_endpoint *ep);
	/* Starts one connection attempt; ends in pnc_ep_connected/_failed. */
	void (*connect)(pnc_endpoint *ep);
	void (*ep_close)(pnc_endpoint *ep); /* on the I/O thread */
	int (*get_int)(pnc_endpoint *ep, const char *name, int64_t *vp);
	int (*addr)(pnc_endpoint *ep, pnc_addr *a); /* a listener's bound address */
	/*
	 * Optional: options of the transport's own ("ws:rxframe-max"), asked
	 * before the endpoint's; PNC_ENOTSUP for a name it does not know.
	 * Called with no lock held.
	 */
	int (*set_int)(pnc_endpoint *ep, const char *name, int64_t v);
	int (*set_string)(pnc_endpoint *ep, const char *name, const char *v);
	int (*get_string)(pnc_endpoint *ep, const char *name, char *buf, size_t size);
	/*
	 * Optional: may the endpoint take a new TLS config now?  0, or why
	 * not (wss's bound listener: PNC_EBUSY).  Called with no lock held.
	 */
	int (*tls_settable)(pnc_endpoint *ep);
} pnc_tran_ops;

const pnc_tran_ops *pnc_tran_find(const char *scheme);

/*
 * Dialers and listeners.  References: the opener's (pnc_*_release), the
 * socket's while listed (dropped on the I/O thread once the transport
 * let go of its descriptors, ep_close_on_io), each pipe's, and a
 * caller's that closes it.  Its timer and tasks run on the I/O thread,
 * where its close runs too, so they need none.  Fields under the socket
 * lock, but the transport's state (tdata), which is the I/O thread's
 * after a listener's bind, and uses_tls, which ep_init sets before the
 * endpoint is listed and nothing changes after.  last_why is written by
 * the I/O thread (a failed connection) and copied out by callers
 * (pnc_*_last_error), both under the socket lock.
 */
struct pnc_endpoint {
	uint32_t id;
	int refs; /* atomic */
	int listener;
	int closed;
	int flags;
	pnc_socket *sock;
	const pnc_tran_ops *tran;
	pnc_url url;
	char url_text[PNC_URL_MAX];
	pnc_node sock_node;
	pnc_list pipes;      /* its pipes on the socket's pipes list (socket lock) */
	pnc_timer timer;     /* redial or rebind */
	pnc_task close_task;
	int64_t backoff;
	pnc_conn_opts opts;  /* its connections' options */
	pnc_tls_config *tls; /* its own (a reference), else NULL: the socket's */
	int uses_tls;        /* tls+tcp, wss: set by the transport's ep_init */
	int started;         /* pnc_*_start began its dialing or binding */
	int last_err;        /* its last failed connection's error, 0: none yet */
	char last_why[PNC_WHY_MAX]; /* and what the transport said of it */
	uint32_t pipe_id;    /* a dialer's current pipe, 0 if none */
	pnc_cv cv;           /* a blocking dial waits here for the first attempt */
	int sync_waiting;
	int sync_result;
	int bound;
	int released; /* the transport let go of its descriptors */
	int dial_state;     /* PNC_DIAL_*: its place in its socket's dial lists */
	int64_t dial_since; /* when its attempt took a place among the dialing */
	pnc_node dial_node;
	void *tdata;
};

enum { PNC_DIAL_IDLE, PNC_DIAL_WAITING, PNC_DIAL_UNDER_WAY };

struct pnc_dialer {
	pnc_endpoint ep;
};

struct pnc_listener {
	pnc_endpoint ep;
};

void pnc_ep_connected(pnc_endpoint *ep, pnc_pipe *p);
/* A dialer's attempt failed before it had a connection (refused, say). */
void pnc_ep_connect_failed(pnc_endpoint *ep, int err);
/*
 * A connection of ep's, either side, failed its handshake (TLS, SP or the
 * websocket upgrade) and closes: counted in pipes_rejected and by reason
 * (PNC_EPEERAUTH, PNC_ECRYPTO, PNC_EPROTO, PNC_ETIMEDOUT), err kept as
 * ep's last error with why ("TLS: " and what the engine said, tls_why,
 * when it said something, else the stage that failed, "SP handshake",
 * and err's text), and a dialer told as by pnc_ep_connect_failed.  No
 * lock held (the socket's is taken).
 */
void pnc_ep_handshake_failed(pnc_endpoint *ep, int err, const char *stage,
    const char *tls_why);
void pnc_ep_pipe_gone(pnc_endpoint *ep, pnc_pipe *p);
/*
 * 1 once ep's close has begun (no lock held; the socket's is taken).  A
 * transport asks before it starts a new connection on the I/O thread,
 * accepted or dialed (stream_pipe_start, ws_conn_request):
 * between the close's start and its task there, a listener that still
 * accepted would answer a peer's handshake and hand it a pipe that dies
 * at once, with what the peer sent into it.
 */
int pnc_ep_closing(pnc_endpoint *ep);
void pnc_ep_hold(pnc_endpoint *ep);
void pnc_ep_rele(pnc_endpoint *ep);
void pnc_ep_close(pnc_endpoint *ep);
/*
 * pnc_ep_close in two steps, for a socket closing many at once: the first
 * closes ep and its pipes and has the I/O thread let go of its
 * descriptors (1: the caller waits for that, with the second, socket
 * locked; 0: done, or closed already).  No lock held for the first.
 */
int pnc_ep_close_start(pnc_endpoint *ep);
void pnc_ep_close_wait_locked(pnc_endpoint *ep);

/* Options by name, socket locked: a socket's, and an endpoint's own
 * (its pnc_conn_opts; the others are its socket's, read-only there). */
int pnc_sockopt_set_int(pnc_socket *s, const char *name, int64_t v);
int pnc_sockopt_get_int(pnc_socket *s, const char *name, int64_t *vp);
int pnc_epopt_set_int(pnc_endpoint *ep, const char *name, int64_t v);
int pnc_epopt_get_int(pnc_endpoint *ep, const char *name, int64_t *vp);

uint32_t pnc_next_id(void);

/*
 * TLS configs (csrc/tls/tls.h has the engine): references are atomic.
 * pnc_ep_tls gives a reference to the config an endpoint's next
 * connection uses (its own, else its socket's; NULL if neither has one).
 */
void pnc_tls_config_hold(pnc_tls_config *cfg);
/* PNC_TLS_MODE_CLIENT or PNC_TLS_MODE_SERVER (fixed at its making). */
int pnc_tls_config_mode(const pnc_tls_config *cfg);
/*
 * Can cfg serve a connection on this side?  0, or PNC_EINVAL: a config of
 * the other mode, or a server's without a certificate (NULL: a client has
 * the defaults, a server nothing to serve).
 */
int pnc_tls_config_fits(pnc_tls_config *cfg, int server);
pnc_tls_config *pnc_ep_tls(pnc_endpoint *ep);

#endif
