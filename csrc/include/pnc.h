/*
 * pnc.h: the whole public C API of the pynng_core engine.
 *
 * This is the only header cffi reads, so it holds declarations and integer
 * #defines only (the builder drops every other preprocessor line).
 * Every function that can fail returns 0 or an NNG error code.
 */
#ifndef PNC_H
#define PNC_H

#include <stddef.h>
#include <stdint.h>

/* NNG error codes (wire.md section 5). */
#define PNC_EINTR 1
#define PNC_ENOMEM 2
#define PNC_EINVAL 3
#define PNC_EBUSY 4
#define PNC_ETIMEDOUT 5
#define PNC_ECONNREFUSED 6
#define PNC_ECLOSED 7
#define PNC_EAGAIN 8
#define PNC_ENOTSUP 9
#define PNC_EADDRINUSE 10
#define PNC_ESTATE 11
#define PNC_ENOENT 12
#define PNC_EPROTO 13
#define PNC_EUNREACHABLE 14
#define PNC_EADDRINVAL 15
#define PNC_EPERM 16
#define PNC_EMSGSIZE 17
#define PNC_ECONNABORTED 18
#define PNC_ECONNRESET 19
#define PNC_ECANCELED 20
#define PNC_ENOFILES 21
#define PNC_ENOSPC 22
#define PNC_EEXIST 23
#define PNC_EREADONLY 24
#define PNC_EWRITEONLY 25
#define PNC_ECRYPTO 26
#define PNC_EPEERAUTH 27
#define PNC_ENOARG 28
#define PNC_EAMBIGUOUS 29
#define PNC_EBADTYPE 30
#define PNC_ECONNSHUT 31
#define PNC_EINTERNAL 1000

/*
 * Not NNG codes, and negative, unlike every negated code, so a call that
 * returns a size or a negated code (pnc_op_recv) can return these too.
 * PNC_ESLICE: a blocking call's wait slice ended before its deadline, so
 * the caller can look at signals and call again.  PNC_EPENDING: an async
 * operation is waiting; its waiter will fire.
 */
#define PNC_ESLICE -100
#define PNC_EPENDING -101

/* Flags for send, recv, dial and listen (NNG's values). */
#define PNC_FLAG_NONBLOCK 2

typedef struct pnc_msg pnc_msg;
typedef struct pnc_socket pnc_socket;
typedef struct pnc_dialer pnc_dialer;
typedef struct pnc_listener pnc_listener;
typedef struct pnc_tls_config pnc_tls_config; /* TLS, below */
typedef struct pnc_ctx pnc_ctx;
typedef struct pnc_device pnc_device;

const char *pnc_strerror(int err);
const char *pnc_version(void);

/*
 * The I/O poller: "epoll" (Linux) or "poll" (portable).  Switching moves
 * every registered descriptor to the new poller on the I/O thread, and
 * returns when that is done.
 */
int pnc_poller_set(const char *name);
const char *pnc_poller_name(void);

/* Messages: one allocation, body plus headroom for header and wire prefix. */
int pnc_msg_alloc(pnc_msg **msgp, size_t size);
/* data NULL: the body is zeroed. */
int pnc_msg_from(pnc_msg **msgp, const void *data, size_t size);
void pnc_msg_free(pnc_msg *msg);
/* A copy with the same header and pipe id. */
int pnc_msg_dup(pnc_msg **dupp, const pnc_msg *msg);
void *pnc_msg_body(pnc_msg *msg);
size_t pnc_msg_len(const pnc_msg *msg);
void *pnc_msg_header(pnc_msg *msg);
size_t pnc_msg_header_len(const pnc_msg *msg);
uint32_t pnc_msg_pipe_id(const pnc_msg *msg);
/* Sends it to that pipe only (where the protocol sends to one or all). */
void pnc_msg_set_pipe_id(pnc_msg *msg, uint32_t pipe_id);
/* Raw sockets read and write the protocol header. */
int pnc_msg_set_header(pnc_msg *msg, const void *header, size_t size);

/*
 * A receiver that reads a pipe itself (see pnc_op_recv) may name where the
 * bodies it reads go: memory that becomes the caller's result as it is,
 * such as a Python bytes object, saves copying every body out of a
 * message.  alloc returns memory for a body of `size` bytes and sets
 * *owner, or returns NULL (the message's own block serves); it runs on
 * the receiving caller's thread, with no lock of the core held.  release
 * gives an owner back when its message goes; it runs on any thread, maybe
 * with a lock of the core held, so it must not wait for anything.
 */
typedef struct pnc_body_source {
	void *(*alloc)(size_t size, void **owner);
	void (*release)(void *owner);
} pnc_body_source;

/* The owner of the message's body, if `src` gave that body; else NULL. */
void *pnc_msg_body_owner(const pnc_msg *msg, const pnc_body_source *src);

/*
 * Sockets.  `protocol` is a name such as "pair0", "req0", "sub0"; `raw`
 * opens it in raw mode (headers exposed, no state machine), for devices.
 * close() shuts the socket down and wakes every waiter with PNC_ECLOSED;
 * release() drops the caller's reference (the memory goes with the last).
 */
int pnc_socket_open(pnc_socket **sockp, const char *protocol, int raw);
int pnc_socket_close(pnc_socket *sock);
void pnc_socket_release(pnc_socket *sock);
uint32_t pnc_socket_id(const pnc_socket *sock);
const char *pnc_socket_protocol(const pnc_socket *sock, int peer);

/*
 * Send and receive.  An operation's state lives in a pnc_op the caller
 * zeroes before the first call: the core fills in the deadline from the
 * timeout option.  A call waits at most `slice_ms` and then returns
 * PNC_ESLICE; calling again with the same pnc_op goes on waiting.
 * send consumes the message only on success.
 *
 * recv leaves the message it took in op->msg (body and len filled in): the
 * op owns it until pnc_op_release.  Until then pnc_op_unget can still put it
 * back at the front of the queue: that is how an interrupted caller (Ctrl-C
 * between taking a message and returning it) loses nothing.  Either leaves
 * the op zeroed but for op->ctx, ready for the next operation.  So does the
 * end of a receive, except that the op still owns its message: the next
 * receive with the same op frees it first.
 *
 * The hot paths have entry points of their own with as few arguments as
 * will do, since each one costs a caller such as cffi a conversion:
 * pnc_ctx_try_send and pnc_ctx_try_send_data make one non-blocking attempt
 * with no op at all, and pnc_op_recv receives on op->ctx (set it before the
 * first call; every operation sets it to the context it ran in), blocking
 * in slices of PNC_SLICE_MS.  pnc_op_try_recv does not block, and
 * pnc_op_take does not even look at the kernel: it takes a message already
 * queued, or says PNC_EAGAIN, in the time a lock takes (a caller may hold
 * a lock of its own, such as Python's GIL, through it).  An op whose wait
 * is under way (after PNC_ESLICE) it leaves alone, with PNC_EAGAIN: taking
 * would end that wait and its deadline, so the caller waits on with
 * pnc_op_recv.  They return the body's length, PNC_ESLICE, or a negated
 * error code.
 */
#define PNC_SLICE_MS 50

/*
 * The calling thread is the one Python handles signals on (its main
 * thread): from now on only that thread's waits end at their slice, and
 * every other thread's wait lasts until it is woken or its deadline.
 * Until it is called, every thread's waits are sliced.  A forked child
 * calls it again, on the thread that forked.
 */
void pnc_signal_thread_set(void);

typedef struct pnc_op {
	int64_t deadline;
	uint64_t note; /* the protocol's, kept from one slice to the next */
	pnc_ctx *ctx;  /* the context it ran in */
	pnc_msg *msg;
	char *body;
	size_t len;
	const pnc_body_source *bodies; /* for what it reads itself, or NULL */
} pnc_op;

int64_t pnc_op_recv(pnc_op *op);
int64_t pnc_op_try_recv(pnc_op *op);
int64_t pnc_op_take(pnc_op *op);
/* How many threads of this process wait in a send or a receive now: a
 * caller holding a lock of its own (the GIL) lets go of it to send while
 * one does, since the send may be what wakes it. */
int pnc_threads_waiting(void);
/* Lets another thread ready on this CPU run first (a caller that let go
 * of its own lock, such as the GIL, for a thread that wants it). */
void pnc_yield(void);
/* Copies min(size, op->len) bytes of the body (nn_recv's truncation rule). */
void pnc_op_copy(const pnc_op *op, void *buf, size_t size);
void pnc_op_unget(pnc_op *op);
/* Frees the message the op still owns, if any. */
void pnc_op_release(pnc_op *op);

/*
 * Batches: many messages per call, for a caller (such as Python through
 * cffi) whose every call costs more than the core spends on a small
 * message.  A batch is one per thread at a time, like a pnc_op.
 *
 * pnc_batch_recv waits for a message in b->op.ctx as pnc_op_recv does
 * (PNC_FLAG_NONBLOCK: not at all), then takes what else is ready without
 * waiting: up to `max` messages while their bodies come to less than
 * PNC_BATCH_BYTES, and one only where a receive sets state the next would
 * replace (cooked req, rep and respondent).  It leaves `count` messages in
 * `msgs`.  The batch owns them until the next pnc_batch_recv or
 * pnc_batch_release; pnc_batch_unget puts them all back at the front of
 * the queue, in order (an interrupted caller loses nothing).
 *
 * pnc_batch_send sends the n bodies, each as pnc_ctx_send_data would (its
 * own send timeout).  `count` says how many went: zero it before the first
 * call; a call after PNC_ESLICE goes on from there.  With
 * PNC_FLAG_NONBLOCK it stops with PNC_EAGAIN at the first message the
 * socket cannot take now.
 */
/*
 * 64 KiB: a caller that makes each body an object of its own and frees
 * the batch at once (Python's bytes, each of which malloc serves above
 * 512 B) then frees less than glibc's heap-trim threshold (128 KiB).  With
 * 1 MiB, each batch of 1 KiB messages gave the freed heap back to the
 * system and faulted it in again for the next (110,000 page faults a
 * second): recv_many was 0.75x of one recv per message.
 */
#define PNC_BATCH_BYTES 65536

typedef struct pnc_batch {
	pnc_op op;      /* the wait; op.ctx is the context it runs in */
	size_t count;   /* messages received, or sent so far */
	size_t bytes;   /* the received messages' bodies, in all */
	pnc_msg **msgs; /* the messages received, owned by the batch */
	size_t room;    /* entries msgs has */
} pnc_batch;

typedef struct pnc_body {
	const void *data;
	size_t len;
} pnc_body;

int pnc_batch_open(pnc_ctx *ctx, pnc_batch **bp);
void pnc_batch_free(pnc_batch *b);
int pnc_batch_recv(pnc_batch *b, int flags, size_t max);
void pnc_batch_unget(pnc_batch *b);
void pnc_batch_release(pnc_batch *b);
int pnc_batch_send(pnc_batch *b, const pnc_body *bodies, size_t n, int flags);

/*
 * Contexts (req, rep, sub, surveyor, respondent): independent protocol
 * state on one socket, each with its own timeouts ("recv-timeout",
 * "send-timeout", starting from the socket's).  Other protocols answer
 * pnc_ctx_open with PNC_ENOTSUP.
 */
int pnc_ctx_open(pnc_socket *sock, pnc_ctx **ctxp);
int pnc_ctx_close(pnc_ctx *ctx);
void pnc_ctx_release(pnc_ctx *ctx);
uint32_t pnc_ctx_id(const pnc_ctx *ctx);
int pnc_ctx_send(pnc_ctx *ctx, pnc_msg *msg, int flags, pnc_op *op,
    int slice_ms);
int pnc_ctx_send_data(pnc_ctx *ctx, const void *data, size_t size, int flags,
    pnc_op *op, int slice_ms);
int pnc_ctx_try_send(pnc_ctx *ctx, pnc_msg *msg);
int pnc_ctx_try_send_data(pnc_ctx *ctx, const void *data, size_t size);
/* A send's body this large may go to the kernel from the caller's memory
 * (lent, see pnc_ctx_send_owned); a smaller one is copied at once. */
#define PNC_LEND_MIN_BYTES 32768
/* pnc_ctx_send_data of a body that owner owns: src->release(owner) once
 * the body is no longer needed, on any thread, under the core's locks.
 * A lent body may then stay in the caller's memory past the call, with
 * no copy, while it waits for the kernel. */
int pnc_ctx_send_owned(pnc_ctx *ctx, const void *data, size_t size,
    const pnc_body_source *src, void *owner, int flags, pnc_op *op, int slice_ms);
int pnc_ctx_recv(pnc_ctx *ctx, int flags, pnc_op *op, int slice_ms);
int pnc_ctx_set_int(pnc_ctx *ctx, const char *name, int64_t value);
/* Byte-string options: "sub:subscribe", "sub:unsubscribe". */
int pnc_ctx_set_bytes(pnc_ctx *ctx, const char *name, const void *data,
    size_t size);
int pnc_ctx_get_int(pnc_ctx *ctx, const char *name, int64_t *valuep);

/*
 * Options by NNG name ("recv-timeout", "recv-size-max", ...).  Each has one
 * type; asking with another type returns PNC_EBADTYPE, an unknown name
 * PNC_ENOTSUP, a value out of range PNC_EINVAL.
 */
int pnc_socket_set_int(pnc_socket *sock, const char *name, int64_t value);
int pnc_socket_get_int(pnc_socket *sock, const char *name, int64_t *valuep);
int pnc_socket_set_string(pnc_socket *sock, const char *name, const char *value);
int pnc_socket_set_bytes(pnc_socket *sock, const char *name, const void *data,
    size_t size);
/* Copies at most size-1 bytes and a NUL. */
int pnc_socket_get_string(pnc_socket *sock, const char *name, char *buf,
    size_t size);

#define PNC_URL_MAX 512

/*
 * Endpoints.  A URL has fewer than PNC_URL_MAX bytes (a longer one is
 * PNC_EADDRINVAL): room for an abstract name as long as a unix socket
 * address holds, every byte a %XX escape.
 * listen binds at once and returns its error; with
 * PNC_FLAG_NONBLOCK a failed bind is retried in the background.  dial
 * connects (and does the SP handshake) before it returns; with
 * PNC_FLAG_NONBLOCK it returns at once and connects in the background.
 * Either way a lost connection is redialed with backoff.
 * An endpoint's options are those of its connections ("recv-size-max",
 * "reconnect-time-min", "reconnect-time-max", "tcp-nodelay",
 * "tcp-keepalive"): it starts with its socket's, and may set its own for
 * its future connections and redials (setting the socket's sets them on
 * every endpoint too).  Its other names read the socket's; setting those
 * is PNC_ENOTSUP, or PNC_EREADONLY for what the transport tells
 * ("tcp-bound-port").
 */
int pnc_listen(pnc_socket *sock, const char *url, int flags,
    pnc_listener **lp);
int pnc_listener_close(pnc_listener *l);
void pnc_listener_release(pnc_listener *l);
int pnc_listener_get_int(pnc_listener *l, const char *name, int64_t *valuep);
int pnc_listener_set_int(pnc_listener *l, const char *name, int64_t value);

int pnc_dial(pnc_socket *sock, const char *url, int flags, pnc_dialer **dp);
int pnc_dialer_close(pnc_dialer *d);
void pnc_dialer_release(pnc_dialer *d);
int pnc_dialer_get_int(pnc_dialer *d, const char *name, int64_t *valuep);
int pnc_dialer_set_int(pnc_dialer *d, const char *name, int64_t value);
/*
 * String options of an endpoint's transport ("ws:request-headers",
 * "ws:response-headers", "ws:request-uri"); PNC_ENOTSUP for any other
 * name.  get copies at most size-1 bytes and a NUL.
 */
int pnc_listener_set_string(pnc_listener *l, const char *name, const char *value);
int pnc_listener_get_string(pnc_listener *l, const char *name, char *buf,
    size_t size);
int pnc_dialer_set_string(pnc_dialer *d, const char *name, const char *value);
int pnc_dialer_get_string(pnc_dialer *d, const char *name, char *buf, size_t size);
/*
 * nng's create, set, start: an endpoint made but not yet listening or
 * dialing, so that options set now ("ws:request-headers", the TLS ones
 * below, a TLS config) are its first connection's too.  start takes
 * pnc_listen's and pnc_dial's flags; a second start is PNC_ESTATE.  A
 * start that fails (a blocking dial, a bind without PNC_FLAG_NONBLOCK)
 * leaves the endpoint made and not started: start it again, or close it.
 * pnc_listen_tls and pnc_dial_tls are create and start in one call.
 */
int pnc_listener_create(pnc_socket *sock, const char *url, pnc_tls_config *cfg,
    pnc_listener **lp);
int pnc_listener_start(pnc_listener *l, int flags);
int pnc_dialer_create(pnc_socket *sock, const char *url, pnc_tls_config *cfg,
    pnc_dialer **dp);
int pnc_dialer_start(pnc_dialer *d, int flags);
/*
 * Why the endpoint's last connection failed: *errp its error (0: none has
 * failed) and why, as the transport said it ("TLS handshake: certificate
 * verify failed: ...", "" when the error says it all), at most size-1
 * bytes and a NUL.  A dialer's is its last attempt's, so after a failed
 * blocking start it tells why; a start clears it.
 */
#define PNC_WHY_MAX 256
int pnc_listener_last_error(pnc_listener *l, int *errp, char *why, size_t size);
int pnc_dialer_last_error(pnc_dialer *d, int *errp, char *why, size_t size);

/*
 * The longest ipc path, or abstract name, a unix socket address holds
 * (bytes): a longer one is PNC_EADDRINVAL, which callers can explain.
 */
size_t pnc_ipc_name_max(void);

/*
 * Async operations for event loops.  A completion queue has a descriptor
 * the loop watches; drain gives the tokens of the waiters that fired.  An
 * async send or recv either completes at once (0, or an error) or returns
 * PNC_EPENDING with a waiter registered; when its token comes out of the
 * queue, try again with the same op and release the old waiter.  `final`
 * is the last try when the op's deadline passed (PNC_ETIMEDOUT if nothing
 * came).  With q NULL nothing is registered: PNC_EAGAIN says it would wait.
 * release(w, 1) on a waiter given up (a cancelled coroutine) passes its
 * wake-up, if it had one, to another waiter.
 */
typedef struct pnc_aioq pnc_aioq;
typedef struct pnc_waiter pnc_waiter;
int pnc_aioq_open(pnc_aioq **qp);
void pnc_aioq_close(pnc_aioq *q);
int pnc_aioq_fd(const pnc_aioq *q);
int pnc_aioq_drain(pnc_aioq *q, uint64_t *tokens, int max);
int pnc_ctx_recv_async(pnc_ctx *ctx, pnc_op *op, pnc_aioq *q, uint64_t token,
    int final, pnc_waiter **wp);
int pnc_ctx_send_async(pnc_ctx *ctx, pnc_msg *msg, pnc_op *op, pnc_aioq *q,
    uint64_t token, int final, pnc_waiter **wp);
void pnc_waiter_release(pnc_waiter *w, int pass_on);
/*
 * An event loop may read a receive waiter's socket pipe itself: watch_fd
 * gives the descriptor to watch (-1: none, rely on the queue), read takes in
 * what it has when it is readable.  release gives the pipe back.
 */
int pnc_waiter_watch_fd(pnc_waiter *w);
void pnc_waiter_read(pnc_waiter *w);
pnc_ctx *pnc_socket_context(pnc_socket *sock); /* its default context */
/*
 * Readiness descriptors (nng's recv-fd, send-fd): readable exactly while a
 * receive (sending 0) or a send (sending 1) on the socket's default
 * context would not block; for select() and poll() only, never to be read
 * or written.  Made on first call, the same one after; it stays open, and
 * readable once the socket closes, until the socket's last release.
 * PNC_ENOTSUP where the protocol does not receive (send).
 */
int pnc_socket_ready_fd(pnc_socket *sock, int sending, int *fdp);
int64_t pnc_clock_now_ms(void);                /* the clock of op deadlines */

/*
 * Pipes (connections), by id.  Addresses use nng's families; ports are in
 * host order.  A pipe that is gone answers PNC_ECLOSED.
 */
#define PNC_AF_UNSPEC 0
#define PNC_AF_INPROC 1
#define PNC_AF_IPC 2
#define PNC_AF_INET 3
#define PNC_AF_INET6 4
#define PNC_AF_ABSTRACT 6 /* nng's value: 5 is its ZeroTier */

typedef struct pnc_addr {
	uint16_t family;
	uint16_t port;
	uint8_t ip[16];
	uint16_t name_len; /* bytes of an abstract name in path (may hold NULs) */
	char path[PNC_URL_MAX]; /* ipc path, inproc URL or abstract name */
} pnc_addr;

typedef struct pnc_pipe_info {
	uint32_t id;
	uint32_t endpoint_id; /* the dialer or listener it came from */
	int from_listener;
	pnc_addr local;
	pnc_addr remote;
} pnc_pipe_info;

/* Fills up to max ids; returns how many pipes there are. */
int pnc_socket_pipes(pnc_socket *sock, uint32_t *ids, int max);
int pnc_pipe_info_get(pnc_socket *sock, uint32_t pipe_id, pnc_pipe_info *info);
int pnc_pipe_get_int(pnc_socket *sock, uint32_t pipe_id, const char *name,
    int64_t *valuep);
int pnc_pipe_close_id(pnc_socket *sock, uint32_t pipe_id);
uint32_t pnc_listener_id(const pnc_listener *l);
uint32_t pnc_dialer_id(const pnc_dialer *d);
int pnc_listener_addr(pnc_listener *l, pnc_addr *addr);

/*
 * Pipe events, for the sockets that watch them (mask of the kinds below),
 * from one queue for the whole process.  While a socket watches
 * PRE_CONNECT, a new pipe waits for pnc_pipe_admit before it joins.
 */
#define PNC_PIPE_PRE_CONNECT 1
#define PNC_PIPE_POST_CONNECT 2
#define PNC_PIPE_POST_REMOVE 4

typedef struct pnc_pipe_event {
	uint32_t socket_id;
	uint32_t pipe_id;
	int kind;
} pnc_pipe_event;

int pnc_socket_watch_pipes(pnc_socket *sock, int mask);
/* 0 and an event, or PNC_ESLICE when none came within slice_ms (on the
 * signal thread: see pnc_signal_thread_set; elsewhere it waits for one). */
int pnc_pipe_events_next(pnc_pipe_event *ev, int slice_ms);
int pnc_pipe_admit(pnc_socket *sock, uint32_t pipe_id, int accept);

/* Statistics, counted without locks; a pipe has the message counters. */
typedef struct pnc_stats {
	uint64_t msgs_in;
	uint64_t bytes_in;
	uint64_t msgs_out;
	uint64_t bytes_out;
	uint64_t pipes_opened;
	uint64_t pipes_closed;
	uint64_t pipes_rejected;
	uint64_t dropped_too_large; /* over recv-size-max */
	uint64_t dropped_bad_header;
	uint64_t dropped_queue_full;
	/* pipes_rejected for a failed handshake, by reason (see pnc_ep_handshake_failed) */
	uint64_t rejected_peer_auth; /* TLS: the peer's certificate refused or missing */
	uint64_t rejected_tls;       /* TLS: any other failure (not TLS at all, say) */
	uint64_t rejected_protocol;  /* a bad SP header or websocket upgrade */
	uint64_t rejected_timeout;   /* the handshake did not finish in time */
} pnc_stats;

int pnc_socket_stats(pnc_socket *sock, pnc_stats *stats);
int pnc_pipe_stats(pnc_socket *sock, uint32_t pipe_id, pnc_stats *stats);

/*
 * TLS (tls+tcp://, tls+tcp4://, tls+tcp6://): the SP handshake and tcp's
 * framing inside TLS 1.2 or 1.3; wss://, wss4://, wss6:// are ws's upgrade
 * and frames inside it (listeners sharing a port share its config).  pnc_tls_engine() names the engine the
 * build has ("OpenSSL 3.0.2 ..."), or is NULL: then tls+tcp:// and every
 * call below answer PNC_ENOTSUP.  A config is made for a mode (a dialer
 * takes a client's, a listener a server's), set up with the calls below
 * (nng's, with the same defaults: a client requires its server to verify,
 * a server asks no certificate), and frozen once a connection used it
 * (PNC_EBUSY).  The socket's config is every endpoint's that has none of
 * its own; an endpoint's (set before it starts, or for its next
 * connections) wins.  server_name: what a client checks the server's
 * certificate against (and sends as SNI), the URL's host when unset; ""
 * checks no name.  The PEM texts are NUL-terminated; crl may be NULL.
 * Sockets, endpoints and pipes hold references of their own: release
 * the caller's when done with it.
 */
#define PNC_TLS_MODE_CLIENT 0
#define PNC_TLS_MODE_SERVER 1
#define PNC_TLS_AUTH_MODE_NONE 0
#define PNC_TLS_AUTH_MODE_OPTIONAL 1
#define PNC_TLS_AUTH_MODE_REQUIRED 2

const char *pnc_tls_engine(void);
int pnc_tls_config_alloc(pnc_tls_config **cfgp, int mode);
void pnc_tls_config_release(pnc_tls_config *cfg);
int pnc_tls_config_server_name(pnc_tls_config *cfg, const char *name);
int pnc_tls_config_ca_chain(pnc_tls_config *cfg, const char *pem, const char *crl);
int pnc_tls_config_ca_file(pnc_tls_config *cfg, const char *path);
int pnc_tls_config_own_cert(pnc_tls_config *cfg, const char *cert,
    const char *key, const char *passwd);
int pnc_tls_config_cert_key_file(pnc_tls_config *cfg, const char *path,
    const char *passwd);
int pnc_tls_config_auth_mode(pnc_tls_config *cfg, int mode);
int pnc_socket_set_tls(pnc_socket *sock, pnc_tls_config *cfg);
int pnc_listener_set_tls(pnc_listener *l, pnc_tls_config *cfg);
int pnc_dialer_set_tls(pnc_dialer *d, pnc_tls_config *cfg);
/* pnc_listen and pnc_dial with the endpoint's own config (NULL: the socket's). */
/*
 * A tls+tcp:// or wss:// endpoint's TLS options, nng's: "tls-ca-file" (CA
 * certificates from a PEM file, added), "tls-cert-key-file" (its own
 * certificate and key from one PEM file), "tls-server-name" (strings,
 * pnc_*_set_string) and "tls-authmode" (PNC_TLS_AUTH_MODE_*,
 * pnc_*_set_int).  Each changes the endpoint's own config; one that has
 * none gets a new one of its role (nng's defaults) first, its socket's
 * being left alone.  Write-only (PNC_EWRITEONLY), as nng's; PNC_ENOTSUP
 * on other transports; PNC_ENOENT for a file that cannot be opened,
 * PNC_EINVAL for one without what it should hold or a mode outside 0..2;
 * PNC_EBUSY once the endpoint started (as nng's) or the config served a
 * connection: set them between pnc_*_create and pnc_*_start.
 */
int pnc_listen_tls(pnc_socket *sock, const char *url, int flags,
    pnc_tls_config *cfg, pnc_listener **lp);
int pnc_dial_tls(pnc_socket *sock, const char *url, int flags,
    pnc_tls_config *cfg, pnc_dialer **dp);
/*
 * A pipe's string options: "tls-peer-cn", "tls-peer-alt-names" (one name
 * a line); "tls-verified" is an integer one (pnc_pipe_get_int).
 */
int pnc_pipe_get_string(pnc_socket *sock, uint32_t pipe_id, const char *name,
    char *buf, size_t size);

/*
 * Devices forward between two raw sockets that are each other's peers (or
 * reflect on one whose peer is itself) on threads of their own.  wait
 * returns PNC_ESLICE at the end of each slice while it runs (slices as a
 * blocking call's: on the signal thread only), then the reason it stopped
 * (PNC_ECLOSED when a socket closed); release stops it and frees it.
 */
int pnc_device_start(pnc_socket *a, pnc_socket *b, pnc_device **devp);
int pnc_device_wait(pnc_device *dev, int slice_ms);
void pnc_device_release(pnc_device *dev);

#endif
