/*
 * ws.c: ws://host[:port][/path], and ws4:// and ws6:// (IPv4 or IPv6
 * only, as tcp4 and tcp6), the SP WebSocket mapping as nng and nanomsg
 * speak it.  The port defaults to 80, the path to "/".
 *
 * The wire: an HTTP/1.1 upgrade (RFC 6455) whose Sec-WebSocket-Protocol
 * names the listening socket's protocol, "<name>.sp.nanomsg.org" (a req
 * dialer asks for rep.sp.nanomsg.org); no SP handshake, the subprotocol
 * says who the peer is.  Each SP message (header words and body) is one
 * WebSocket message, binary unless "ws:send-text" says text, sent in
 * frames of at most "ws:txframe-max" bytes (64 KiB, nng's), masked from
 * the client.  Received frames may be up to "ws:rxframe-max" (1 MiB,
 * nng's); a message is reassembled from its fragments up to the socket's
 * recv-size-max.  A ping is answered with a pong, a close with a close;
 * text is refused (close 1003) unless "ws:recv-text" is set.  A pong goes
 * out ahead of queued data frames not yet begun, so a large message does
 * not hold it back; a close goes after them.
 *
 * Listeners on one host:port share one HTTP listener (a ws_server), as
 * nng's do: the request's path picks the listener, an unknown path gets
 * 404, a subprotocol that is not the listener's 400.  Anything malformed
 * closes that connection only, counted and said (pnc_ep_handshake_failed)
 * on its dialer, or on the listener its path picked, or, before a path
 * picked one (a failed TLS handshake, a deadline, a refusal), on the
 * first listener on its port.
 *
 * Structure: a connection starts as a ws_conn, which does the upgrade
 * (and nothing else), then becomes a ws_pipe, which moves frames.  The
 * pipe is simpler than stream.c's: its writes go from the sender's thread
 * when the queue is empty, else from the I/O thread; its reads are the
 * I/O thread's only (no reads lent to callers).
 *
 * wss://, wss4://, wss6:// (port 443 by default): the same inside TLS
 * (csrc/tls/tls.h), whose handshake comes first, within the same
 * deadline as the upgrade; the connection's TLS goes on from ws_conn to
 * ws_pipe with its descriptor.  A dialer takes its endpoint's client
 * config (or the defaults), checked against the URL's host unless the
 * config names a server.  A listener needs a server config; listeners on
 * one port share its TLS as they share its HTTP listener, so the config
 * the first one bound with serves the port, and a later listener there
 * must have the very same config (or be plain ws where the port is plain
 * ws): else its bind says PNC_EADDRINUSE.  Once bound, a listener takes
 * no other config (PNC_EBUSY), and its socket's set later does not reach
 * it either.  The engine's calls take the
 * socket's place (ws_io_*): writes under wmtx, reads on the I/O thread
 * (ws reads nowhere else).  What the poller cannot see is looked after
 * here, as in stream.c: encrypted output the socket did not take keeps
 * the pipe waiting for POLL_OUT (and lingering at its close), and
 * decrypted bytes left in the engine are read by the resume task.
 *
 * LOCKS AND LIFETIMES.  ws_lock guards the list of servers and each
 * server's list of listeners and its count of them; it is a leaf: nothing
 * is locked under it, and it is never taken under a socket lock.  A
 * server lives while listeners use it; the last one's close (on the I/O
 * thread) takes it out of the list and frees it.  A ws_conn is the I/O
 * thread's alone: its server or dialer owns it (listed), and frees it when
 * it ends or becomes a pipe.  A ws_pipe follows core.h's pipe rules: its
 * write side is under its wmtx (below the socket lock), its read side is
 * the I/O thread's.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../core/core.h"
#include "ws.h"
#include "../tls/tls.h"

#define WS_HANDSHAKE_MS 10000 /* nng's, as tcp's */
#define WS_HANDSHAKES_MAX 2048 /* per server, as stream.c: the oldest goes */
#define WS_HEAD_MAX 8192       /* an upgrade request or reply, headers included */
#define WS_LINGER_MS 1000
#define WS_RBUF_SIZE (64u << 10)
#define WS_RXFRAME_DEFAULT ((size_t) 1 << 20) /* nng's ws:rxframe-max */
#define WS_TXFRAME_DEFAULT ((size_t) 1 << 16) /* nng's ws:txframe-max */
/* The write queue, as stream.c's: short, the kernel's buffer is the queue. */
#define WS_WQ_MAX_BYTES (256u << 10)
#define WS_ACCEPT_PAUSE_MS 100
#define WS_HEADERS_MAX 4096 /* ws:request-headers, ws:response-headers */
#define WS_MSG_FIRST (64u << 10) /* a message's first room; it doubles */
#define WS_SUFFIX ".sp.nanomsg.org"

typedef struct ws_server ws_server;
typedef struct ws_conn ws_conn;

/* An endpoint's transport state (ep->tdata). */
typedef struct ws_ep {
	pnc_sockaddr sa;
	char host[PNC_URL_MAX]; /* as pnc_url_hostport made it ("" any) */
	char port[8];
	char hostport[PNC_URL_MAX]; /* the Host header: as the URL wrote it */
	char uri[PNC_URL_MAX];      /* the request URI: path and query */
	char path[PNC_URL_MAX];     /* a listener's: the URI's path */
	int family;
	int tls; /* wss */
	/* options, socket lock (copied where used) */
	size_t rxframe_max;
	size_t txframe_max;
	int recv_text;
	int send_text;
	char *req_headers;  /* ws:request-headers, or NULL */
	char *resp_headers; /* ws:response-headers, or NULL */
	/* a dialer's attempt, I/O thread */
	pnc_fd fd;
	pnc_pollfd pfd;
	ws_conn *conn;
	/* a listener's server, ws_lock */
	ws_server *srv;
	pnc_node srv_node;
	pnc_endpoint *ep;
} ws_ep;

/* One HTTP listener, for every ws listener on its host:port. */
struct ws_server {
	pnc_node node; /* on ws_servers */
	int refs;      /* listeners on it (ws_lock) */
	char host[PNC_URL_MAX];
	char port[8]; /* the bound one: port 0 was asked, this was given */
	int family;
	int tls;                /* wss: served with tls_cfg */
	pnc_tls_config *tls_cfg; /* a reference; NULL for ws */
	pnc_fd fd;
	pnc_pollfd pfd;
	pnc_timer accept_timer; /* accepting paused when out of descriptors */
	pnc_list eps;           /* ws_ep.srv_node (ws_lock) */
	pnc_list handshaking;   /* ws_conn.node (I/O thread) */
	int nhandshaking;
};

static pnc_mtx ws_lock = PNC_MTX_INITIALIZER;
static pnc_list ws_servers = { { &ws_servers.head, &ws_servers.head } };

/* A connection in its upgrade (I/O thread). */
struct ws_conn {
	pnc_fd fd;
	pnc_tls_conn *tls; /* wss's, handed on to the pipe */
	int tls_done;      /* its handshake is over */
	pnc_pollfd pfd;
	pnc_timer timer; /* the handshake's deadline */
	pnc_node node;   /* on its server's handshaking list */
	ws_server *srv;  /* a listener's connection, or */
	pnc_endpoint *ep; /* a dialer's */
	char in[WS_HEAD_MAX + 1];
	size_t got;
	char *out; /* what it writes: the request, or an error reply */
	size_t outlen;
	size_t sent;
	int replying; /* a listener's refusal goes out, then the close */
	char accept[PNC_WS_ACCEPT_LEN + 1]; /* what a dialer expects back */
	char proto[64];                     /* the subprotocol it asked for */
};

/* A frame queued for writing, whole or in part (see ws_pipe.wsent). */
typedef struct ws_out {
	pnc_node node;
	pnc_msg *m;     /* holds data, or NULL */
	uint8_t *owned; /* data, freed with the frame, or NULL */
	const uint8_t *data;
	size_t len;
	size_t hlen;
	uint8_t hdr[PNC_WS_FRAME_HEADER_MAX];
	uint8_t ctl[PNC_WS_CONTROL_MAX];
} ws_out;

typedef struct ws_pipe {
	pnc_pipe p;
	int client; /* we dialed: our frames are masked, the peer's not */
	pnc_fd fd;
	pnc_tls_conn *tls; /* wss's, freed with the pipe */
	pnc_pollfd pfd;
	pnc_timer timer; /* the linger limit */
	pnc_task close_task;
	pnc_task resume_task; /* parses what waited in the buffer */
	int finished;
	int draining;
	int failed;
	/* options, copied from the endpoint when the pipe was made */
	size_t rxframe_max;
	size_t txframe_max;
	int recv_text;
	int send_text;
	/* the write side, under wmtx */
	pnc_mtx wmtx;
	pnc_list wq; /* ws_out.node */
	size_t wq_bytes;
	size_t wsent; /* bytes of the first frame written */
	ws_out *pong; /* the last pong queued, until written (ws_answer_ping_locked) */
	int wblocked; /* the kernel took no more: POLL_OUT flushes */
	int wfull;
	int wclosed;
	int werr;
	int close_sent;
	int wok; /* none of the three above: read without the lock */
	/* the read side, I/O thread */
	uint8_t *rbuf;
	size_t rlen;
	int rpaused; /* the socket's queue is full: no reads until the resume */
	int in_frame; /* fr's header is read, fr_got bytes of its payload */
	pnc_ws_frame fr;
	uint64_t fr_got;
	pnc_msg *amsg; /* the message being put together */
	size_t alen;   /* its bytes so far */
	size_t acap;   /* its room */
	int aop;       /* its opcode, 0 when none is under way */
	uint8_t ctl[PNC_WS_CONTROL_MAX];
} ws_pipe;

static const pnc_pipe_ops ws_pipe_ops;

/* The socket's calls, or the TLS engine's (wss; it takes its own lock). */
static int
ws_io_writev(pnc_fd fd, pnc_tls_conn *tls, pnc_iov *iov, int n, size_t *np)
{
	return tls != NULL ? pnc_tls_writev(tls, iov, n, np) : pnc_net_writev(fd, iov, n, np);
}

static int
ws_io_read(pnc_fd fd, pnc_tls_conn *tls, void *buf, size_t len, size_t *np)
{
	pnc_iov iov;

	if (tls == NULL)
		return pnc_net_read(fd, buf, len, np);
	PNC_IOV_BASE(&iov) = buf;
	PNC_IOV_LEN(&iov) = len;
	return pnc_tls_readv(tls, &iov, 1, np);
}

/* Encrypted output waits in the engine: the pipe waits for POLL_OUT. */
static int
ws_tls_out_waits(pnc_tls_conn *tls)
{
	return tls != NULL && pnc_tls_out_pending(tls);
}

/* ------------------------------------------------------------------ */
/* The pipe: writes */

/*
 * Writable: what ws_send would take.  A close frame queued (ours, or the
 * answer to the peer's) ends the sending too: were wok still 1, the
 * pipeset would put the pipe back as ready after each PNC_ECLOSED and its
 * sender spin under the socket lock, which the I/O thread's close of this
 * very pipe waits for.
 */
static void
ws_wok_update_locked(ws_pipe *wp)
{
	pnc_atomic_store_release_int(&wp->wok,
	    !wp->wfull && !wp->wclosed && !wp->werr && !wp->close_sent);
}

static void
ws_out_free(ws_out *o)
{
	pnc_msg_free(o->m);
	free(o->owned);
	free(o);
}

/* A frame written whole: off the queue's front. */
static void
ws_out_done_locked(ws_pipe *wp, ws_out *o)
{
	if (o == wp->pong)
		wp->pong = NULL;
	pnc_list_remove(&o->node);
	ws_out_free(o);
}

/* Drops what the kernel took from the front of the queue. */
static void
ws_consume_locked(ws_pipe *wp, size_t done)
{
	while (done > 0) {
		ws_out *o = PNC_CONTAINER(pnc_list_first(&wp->wq), ws_out, node);
		size_t left = o->hlen + o->len - wp->wsent;
		if (done < left) {
			wp->wsent += done;
			return;
		}
		done -= left;
		wp->wsent = 0;
		wp->wq_bytes -= o->hlen + o->len;
		ws_out_done_locked(wp, o);
	}
	/* Zero-length frames whose header went are done too. */
	while (!pnc_list_empty(&wp->wq) && wp->wsent == 0) {
		ws_out *o = PNC_CONTAINER(pnc_list_first(&wp->wq), ws_out, node);
		if (o->hlen + o->len != 0)
			break;
		ws_out_done_locked(wp, o);
	}
}

/* Writes as much of the queue as the kernel takes: 0 all, PNC_EAGAIN some. */
static int
ws_flush_locked(ws_pipe *wp)
{
	pnc_iov iov[PNC_IOV_MAX];
	int rv;

	if (wp->tls != NULL && (rv = pnc_tls_flush(wp->tls)) != 0 && rv != PNC_EAGAIN)
		return rv;
	while (!pnc_list_empty(&wp->wq)) {
		size_t want = 0, done, skip = wp->wsent;
		int n = 0;

		PNC_LIST_EACH(&wp->wq, node) {
			ws_out *o = PNC_CONTAINER(node, ws_out, node);
			if (n + 2 > PNC_IOV_MAX)
				break;
			if (skip < o->hlen) {
				PNC_IOV_BASE(&iov[n]) = o->hdr + skip;
				PNC_IOV_LEN(&iov[n]) = o->hlen - skip;
				want += o->hlen - skip;
				n++;
				skip = 0;
			} else {
				skip -= o->hlen;
			}
			if (o->len > skip) {
				PNC_IOV_BASE(&iov[n]) = (void *) (o->data + skip);
				PNC_IOV_LEN(&iov[n]) = o->len - skip;
				want += o->len - skip;
				n++;
			}
			skip = 0;
		}
		if ((rv = ws_io_writev(wp->fd, wp->tls, iov, n, &done)) != 0)
			return rv;
		ws_consume_locked(wp, done);
		if (done < want)
			return PNC_EAGAIN; /* the socket buffer is full */
	}
	return ws_tls_out_waits(wp->tls) ? PNC_EAGAIN : 0;
}

/* After a queue grew: write now unless waiting for the socket to drain. */
static int
ws_kick_locked(ws_pipe *wp)
{
	int rv;

	if (wp->wblocked || wp->werr)
		return wp->werr;
	rv = ws_flush_locked(wp);
	if (rv == PNC_EAGAIN) {
		wp->wblocked = 1;
		pnc_pollfd_want(&wp->pfd, PNC_POLL_OUT, 0);
		return 0;
	}
	if (rv != 0)
		wp->werr = rv;
	return rv;
}

/* o's header; a client's payload masked from src into o->data as it goes. */
static void
ws_out_header(ws_pipe *wp, ws_out *o, int fin, int opcode, const uint8_t *src)
{
	uint8_t key[4];
	uint32_t r;

	if (!wp->client) {
		o->hlen = pnc_ws_frame_header(o->hdr, fin, opcode, o->len, NULL);
		return;
	}
	r = pnc_random();
	pnc_put_u32(key, r);
	o->hlen = pnc_ws_frame_header(o->hdr, fin, opcode, o->len, key);
	pnc_ws_mask_copy((uint8_t *) o->data, src, o->len, key, 0);
}

/*
 * Where a pong goes: ahead of every data frame not yet begun, so that it
 * does not wait behind a large message (RFC 6455 lets control frames come
 * between a message's fragments).  Never ahead of a frame partly written
 * or of the upgrade reply (raw bytes, no header), which only come first.
 * A close never precedes it: no pong is queued after our close.
 */
static pnc_node *
ws_pong_slot_locked(ws_pipe *wp)
{
	pnc_node *first = pnc_list_first(&wp->wq);

	if (first != NULL && (wp->wsent > 0 || PNC_CONTAINER(first, ws_out, node)->hlen == 0))
		return first;
	return &wp->wq.head;
}

/* A control frame (or raw bytes, opcode -1) to the queue: wmtx held. */
static int
ws_queue_control_locked(ws_pipe *wp, int opcode, const void *data, size_t len)
{
	ws_out *o;

	if (wp->werr || wp->close_sent)
		return PNC_ECLOSED;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return PNC_ENOMEM;
	o->len = len;
	if (opcode < 0) {
		if ((o->owned = malloc(len > 0 ? len : 1)) == NULL) {
			free(o);
			return PNC_ENOMEM;
		}
		memcpy(o->owned, data, len);
		o->data = o->owned;
	} else {
		memcpy(o->ctl, data, len); /* len <= PNC_WS_CONTROL_MAX */
		o->data = o->ctl;
		ws_out_header(wp, o, 1, opcode, o->ctl);
	}
	if (opcode == PNC_WS_CLOSE) {
		wp->close_sent = 1;
		ws_wok_update_locked(wp);
	}
	if (opcode == PNC_WS_PONG) {
		wp->pong = o;
		pnc_list_insert_after(ws_pong_slot_locked(wp), &o->node);
	} else {
		pnc_list_append(&wp->wq, &o->node);
	}
	wp->wq_bytes += o->hlen + o->len;
	return 0;
}

static int
ws_queue_close_locked(ws_pipe *wp, int code)
{
	uint8_t b[2] = { (uint8_t) (code >> 8), (uint8_t) code };

	return ws_queue_control_locked(wp, PNC_WS_CLOSE, b, code != 0 ? 2 : 0);
}

/*
 * The frames of one message, made before any is queued: all or none.  m
 * holds what goes out; src is the message's bytes (a client's m is a copy
 * made for masking, filled here, frame by frame, with src masked).
 */
static int
ws_frames_make(ws_pipe *wp, pnc_msg *m, const uint8_t *src, pnc_list *out)
{
	size_t len = pnc_msg_wire_len(m), frag = wp->txframe_max, off = 0;
	uint8_t *data = pnc_msg_wire(m);
	int op = wp->send_text ? PNC_WS_TEXT : PNC_WS_BINARY;

	if (frag == 0)
		frag = len > 0 ? len : 1;
	do {
		size_t n = len - off < frag ? len - off : frag;
		ws_out *o = calloc(1, sizeof(*o));
		if (o == NULL) {
			while (!pnc_list_empty(out)) {
				ws_out *f = PNC_CONTAINER(pnc_list_first(out), ws_out, node);
				pnc_list_remove(&f->node);
				ws_out_free(f);
			}
			return PNC_ENOMEM;
		}
		pnc_msg_hold(m);
		o->m = m;
		o->data = data + off;
		o->len = n;
		ws_out_header(wp, o, off + n == len, off == 0 ? op : PNC_WS_CONT, src + off);
		pnc_list_append(out, &o->node);
		off += n;
	} while (off < len);
	return 0;
}

/*
 * A client masks what it sends, so it sends a copy of its own (its bytes
 * written masked by ws_frames_make); a server sends the message itself,
 * which may be shared (pub, bus): read only.
 */
static pnc_msg *
ws_msg_for_wire(ws_pipe *wp, pnc_msg *m)
{
	pnc_msg *c;

	if (!wp->client) {
		pnc_msg_hold(m);
		return m;
	}
	if (pnc_msg_alloc(&c, pnc_msg_wire_len(m)) != 0)
		return NULL;
	return c;
}

/* Socket locked (see pnc_pipe_ops.send): a failure closes the pipe later. */
static int
ws_send(pnc_pipe *p, pnc_msg *m)
{
	ws_pipe *wp = (ws_pipe *) p;
	pnc_list frames;
	pnc_msg *w;
	int rv;

	pnc_mtx_lock(&wp->wmtx);
	if (wp->wclosed || wp->werr || wp->wfull || wp->close_sent) {
		rv = wp->wfull && !wp->wclosed && !wp->werr && !wp->close_sent
		    ? PNC_EAGAIN : PNC_ECLOSED;
		pnc_mtx_unlock(&wp->wmtx);
		return rv;
	}
	pnc_list_init(&frames);
	if ((w = ws_msg_for_wire(wp, m)) == NULL ||
	    ws_frames_make(wp, w, pnc_msg_wire(m), &frames) != 0) {
		pnc_msg_free(w);
		pnc_mtx_unlock(&wp->wmtx);
		return PNC_ECLOSED; /* out of memory: let the protocol try elsewhere */
	}
	pnc_msg_free(w); /* the frames hold it */
	pnc_msg_free(m); /* taken */
	while (!pnc_list_empty(&frames)) {
		ws_out *o = PNC_CONTAINER(pnc_list_first(&frames), ws_out, node);
		pnc_list_remove(&o->node);
		pnc_list_append(&wp->wq, &o->node);
		wp->wq_bytes += o->hlen + o->len;
	}
	rv = ws_kick_locked(wp);
	if (wp->wq_bytes >= WS_WQ_MAX_BYTES)
		wp->wfull = 1;
	ws_wok_update_locked(wp);
	pnc_mtx_unlock(&wp->wmtx);
	if (rv != 0)
		pnc_pipe_close_later(p); /* the message went down with the connection */
	return 0;
}

static int
ws_writable(pnc_pipe *p)
{
	return pnc_atomic_load_acquire_int(&((ws_pipe *) p)->wok);
}

/* Ends the pipe's life on the I/O thread: descriptor gone, reference dropped. */
static void
ws_finish(ws_pipe *wp)
{
	if (wp->finished)
		return;
	wp->finished = 1;
	pnc_timer_cancel(&wp->timer);
	pnc_pollfd_del(&wp->pfd);
	pnc_mtx_lock(&wp->wmtx); /* Python threads ask the descriptor for addresses */
	if (wp->tls != NULL)
		pnc_tls_shutdown(wp->tls); /* its close_notify, if the socket takes it */
	pnc_net_close(wp->fd);
	wp->fd = PNC_FD_NONE;
	pnc_mtx_unlock(&wp->wmtx);
	pnc_pipe_rele(&wp->p); /* the transport's */
}

static void
ws_on_writable(ws_pipe *wp)
{
	int rv, notify, drained;

	pnc_mtx_lock(&wp->wmtx);
	rv = wp->werr ? wp->werr : ws_flush_locked(wp);
	if (rv == 0) {
		wp->wblocked = 0;
		pnc_pollfd_want(&wp->pfd, 0, PNC_POLL_OUT);
	} else if (rv != PNC_EAGAIN) {
		wp->werr = rv;
	}
	notify = wp->wfull && wp->wq_bytes <= WS_WQ_MAX_BYTES / 2;
	if (notify)
		wp->wfull = 0;
	/* wss: drained once the engine's output went too (rv 0, not EAGAIN). */
	drained = wp->draining && ((pnc_list_empty(&wp->wq) && rv != PNC_EAGAIN) || wp->werr);
	ws_wok_update_locked(wp);
	pnc_mtx_unlock(&wp->wmtx);
	if (rv != 0 && rv != PNC_EAGAIN)
		pnc_pipe_close(&wp->p);
	else if (notify)
		pnc_pipe_became_writable(&wp->p);
	if (drained)
		ws_finish(wp);
}

/* ------------------------------------------------------------------ */
/* The pipe: reads */

/*
 * A failure on the I/O thread: the pipe closes.  A violation of the
 * WebSocket protocol (code != 0) tells the peer with a close frame first,
 * as RFC 6455 asks; an I/O error writes nothing more.
 */
static void
ws_fail(ws_pipe *wp, int err, int code)
{
	if (wp->failed)
		return;
	wp->failed = 1;
	pnc_mtx_lock(&wp->wmtx);
	if (code != 0 && wp->werr == 0)
		(void) ws_queue_close_locked(wp, code);
	else if (wp->werr == 0)
		wp->werr = err;
	ws_wok_update_locked(wp);
	pnc_mtx_unlock(&wp->wmtx);
	pnc_pipe_close(&wp->p);
}

/* Room in the message under way for `more` bytes: it doubles as they come. */
static int
ws_msg_room(ws_pipe *wp, size_t more)
{
	size_t need = wp->alen + more, cap;
	pnc_msg *m;

	if (wp->amsg != NULL && need <= wp->acap)
		return 0;
	cap = wp->acap > WS_MSG_FIRST / 2 ? 2 * wp->acap : WS_MSG_FIRST;
	if (cap < need)
		cap = need;
	if (pnc_msg_alloc(&m, cap) != 0)
		return PNC_ENOMEM;
	if (wp->amsg != NULL) {
		memcpy(pnc_msg_body(m), pnc_msg_body(wp->amsg), wp->alen);
		pnc_msg_free(wp->amsg);
	}
	wp->amsg = m;
	wp->acap = cap;
	return 0;
}

/* A whole message goes up: 0, 1 if reading must pause, -1 if it closed. */
static int
ws_deliver(ws_pipe *wp)
{
	pnc_msg *m = wp->amsg;
	int rv;

	if (m == NULL && pnc_msg_alloc(&m, 0) != 0)
		return -2;
	m->len = wp->alen;
	wp->amsg = NULL;
	wp->alen = wp->acap = 0;
	wp->aop = 0;
	rv = pnc_pipe_deliver(&wp->p, &m, 1);
	if (rv > 0)
		wp->rpaused = 1;
	return rv;
}

/* A frame's header, checked against what this end accepts: 0 or a close code. */
static int
ws_frame_check(ws_pipe *wp, const pnc_ws_frame *f, int *errp)
{
	size_t max = pnc_atomic_load_relaxed_size(&wp->p.ep->opts.recv_max);

	*errp = PNC_EPROTO;
	if (f->masked == wp->client) /* a client masks, a server never */
		return PNC_WS_CLOSE_PROTOCOL;
	if (f->opcode & 0x8)
		return 0;
	if ((f->opcode == PNC_WS_CONT) != (wp->aop != 0))
		return PNC_WS_CLOSE_PROTOCOL; /* a continuation of nothing, or a
		                                 new message inside one */
	if (f->opcode == PNC_WS_TEXT && !wp->recv_text)
		return PNC_WS_CLOSE_UNSUPPORTED;
	*errp = PNC_EMSGSIZE;
	if ((wp->rxframe_max != 0 && f->len > wp->rxframe_max) ||
	    (max != 0 && f->len > max - wp->alen) || f->len > SIZE_MAX / 2) {
		PNC_STAT(wp->p.sock->stats.dropped_too_large, 1);
		return PNC_WS_CLOSE_TOO_BIG;
	}
	return 0;
}

/*
 * A ping's answer.  A peer that pings and never reads would otherwise grow
 * the queue by a pong a ping: a pong queued and not yet begun answers the
 * latest ping instead (RFC 6455 lets only the most recent be answered).
 */
static int
ws_answer_ping_locked(ws_pipe *wp, size_t n)
{
	ws_out *o = wp->pong;

	if (o == NULL || (wp->wsent > 0 && &o->node == pnc_list_first(&wp->wq)))
		return ws_queue_control_locked(wp, PNC_WS_PONG, wp->ctl, n);
	if (wp->werr || wp->close_sent)
		return PNC_ECLOSED;
	wp->wq_bytes -= o->hlen + o->len;
	o->len = n;
	memcpy(o->ctl, wp->ctl, n);
	ws_out_header(wp, o, 1, PNC_WS_PONG, o->ctl);
	wp->wq_bytes += o->hlen + o->len;
	return 0;
}

/* A whole control frame: 0 to go on, 1 if the pipe is closing. */
static int
ws_control(ws_pipe *wp)
{
	size_t n = (size_t) wp->fr.len;
	int rv = 0;

	if (wp->fr.opcode == PNC_WS_PONG)
		return 0;
	if (wp->fr.opcode == PNC_WS_CLOSE && n == 1) {
		ws_fail(wp, PNC_EPROTO, PNC_WS_CLOSE_PROTOCOL);
		return 1;
	}
	pnc_mtx_lock(&wp->wmtx);
	/* A ping's pong carries its payload; a close's answer its code. */
	if (wp->fr.opcode == PNC_WS_PING)
		rv = ws_answer_ping_locked(wp, n);
	else if (!wp->close_sent)
		rv = ws_queue_control_locked(wp, PNC_WS_CLOSE, wp->ctl, n < 2 ? 0 : 2);
	if (rv == 0)
		rv = ws_kick_locked(wp);
	pnc_mtx_unlock(&wp->wmtx);
	if (wp->fr.opcode == PNC_WS_CLOSE) {
		/* The peer is done: our answer lingers out, then the close. */
		wp->failed = 1;
		pnc_pipe_close(&wp->p);
		return 1;
	}
	if (rv != 0 && rv != PNC_ECLOSED) {
		ws_fail(wp, rv, 0);
		return 1;
	}
	return 0;
}

/*
 * Every frame in the buffer: payloads are copied (unmasked) into their
 * message or the control buffer as they come, so a frame need not be in
 * the buffer whole; only a header cut short waits there for its rest.
 */
static void
ws_parse(ws_pipe *wp)
{
	size_t pos = 0;

	while (!wp->rpaused && !wp->failed) {
		size_t take, avail = wp->rlen - pos;
		uint8_t *dst;

		if (!wp->in_frame) {
			int err, code, hl = pnc_ws_frame_parse(wp->rbuf + pos, avail, &wp->fr);
			if (hl == 0)
				break;
			code = hl < 0 ? PNC_WS_CLOSE_PROTOCOL : ws_frame_check(wp, &wp->fr, &err);
			if (hl < 0)
				err = PNC_EPROTO;
			if (code != 0) {
				ws_fail(wp, err, code);
				return;
			}
			if (wp->fr.opcode == PNC_WS_TEXT || wp->fr.opcode == PNC_WS_BINARY)
				wp->aop = wp->fr.opcode;
			pos += (size_t) hl;
			avail -= (size_t) hl;
			wp->in_frame = 1;
			wp->fr_got = 0;
		}
		take = wp->fr.len - wp->fr_got < avail ? (size_t) (wp->fr.len - wp->fr_got) : avail;
		if (wp->fr.opcode & 0x8) {
			dst = wp->ctl + wp->fr_got;
		} else {
			if (ws_msg_room(wp, take) != 0) {
				ws_fail(wp, PNC_ENOMEM, 0);
				return;
			}
			dst = (uint8_t *) pnc_msg_body(wp->amsg) + wp->alen;
			wp->alen += take;
		}
		if (wp->fr.masked)
			pnc_ws_mask_copy(dst, wp->rbuf + pos, take, wp->fr.mask, wp->fr_got);
		else
			memcpy(dst, wp->rbuf + pos, take);
		pos += take;
		wp->fr_got += take;
		if (wp->fr_got < wp->fr.len)
			break; /* the rest comes with the next read */
		wp->in_frame = 0;
		if (wp->fr.opcode & 0x8) {
			if (ws_control(wp) != 0)
				return;
		} else if (wp->fr.fin) {
			int rv = ws_deliver(wp);
			if (rv < 0) {
				if (rv == -2)
					ws_fail(wp, PNC_ENOMEM, 0);
				return;
			}
		}
	}
	memmove(wp->rbuf, wp->rbuf + pos, wp->rlen - pos);
	wp->rlen -= pos;
}

/*
 * Decrypted bytes wait in the engine, which the poller cannot see: the
 * resume task reads them (unless reading is paused: the resume posts that
 * task anyway).  I/O thread.
 */
static void
ws_tls_kick(ws_pipe *wp)
{
	if (wp->tls != NULL && !wp->rpaused && !wp->failed && !wp->finished &&
	    !wp->draining && pnc_tls_in_pending(wp->tls))
		pnc_pipe_post(&wp->p, &wp->resume_task);
}

/*
 * Reads what came.  A paused pipe reads too when the connection failed
 * (level-triggered, the error would be reported again and again): the
 * read meets the error, or takes what came before it into the buffer.
 */
static void
ws_on_readable(ws_pipe *wp, unsigned events)
{
	size_t n;
	int rv;

	if (wp->rbuf == NULL && (wp->rbuf = malloc(WS_RBUF_SIZE)) == NULL) {
		ws_fail(wp, PNC_ENOMEM, 0);
		return;
	}
	if (wp->rlen == WS_RBUF_SIZE) {
		/* Unparsed while paused (the resume parses it), unless the
		 * connection is gone meanwhile. */
		if (events & PNC_POLL_ERR)
			ws_fail(wp, PNC_ECONNRESET, 0);
		return;
	}
	rv = ws_io_read(wp->fd, wp->tls, wp->rbuf + wp->rlen, WS_RBUF_SIZE - wp->rlen, &n);
	if (rv == PNC_EAGAIN)
		return;
	if (rv != 0) {
		ws_fail(wp, rv == PNC_ECONNSHUT ? PNC_ECONNSHUT : rv, 0);
		return;
	}
	wp->rlen += n;
	ws_parse(wp);
	ws_tls_kick(wp);
}

/* ------------------------------------------------------------------ */
/* The pipe: its life */

static void
ws_pipe_cb(pnc_pollfd *pfd, unsigned events)
{
	ws_pipe *wp = pfd->arg;

	pnc_pipe_hold(&wp->p); /* what this does may finish the pipe */
	if (events & PNC_POLL_OUT)
		ws_on_writable(wp);
	if ((events & (PNC_POLL_IN | PNC_POLL_ERR)) && !wp->finished && !wp->draining &&
	    !wp->failed && (!wp->rpaused || (events & PNC_POLL_ERR)))
		ws_on_readable(wp, events);
	pnc_pipe_rele(&wp->p);
}

static void
ws_resume_task(void *arg)
{
	ws_pipe *wp = arg;

	if (!wp->finished && !wp->draining && !wp->failed) {
		wp->rpaused = 0;
		if (wp->rlen > 0)
			ws_parse(wp);
		/* wss: what the engine decrypted and holds comes next. */
		if (wp->tls != NULL && !wp->rpaused && !wp->failed &&
		    pnc_tls_in_pending(wp->tls))
			ws_on_readable(wp, 0);
	}
	pnc_pipe_rele(&wp->p); /* pnc_pipe_post's */
}

/* Joined: frames come off the wire now (any that came with the upgrade first). */
static void
ws_started(pnc_pipe *p)
{
	ws_pipe *wp = (ws_pipe *) p;

	pnc_sock_lock(p->sock);
	if (!p->paused && !p->closed)
		pnc_pollfd_want(&wp->pfd, PNC_POLL_IN, 0);
	pnc_sock_unlock(p->sock);
	pnc_pipe_post(p, &wp->resume_task);
}

static void
ws_pause(pnc_pipe *p, int paused)
{
	ws_pipe *wp = (ws_pipe *) p;

	if (paused) {
		pnc_pollfd_want(&wp->pfd, 0, PNC_POLL_IN);
		return;
	}
	pnc_pollfd_want(&wp->pfd, PNC_POLL_IN, 0);
	pnc_pipe_post(p, &wp->resume_task);
}

static void
ws_timer_cb(void *arg)
{
	ws_finish(arg); /* the linger time is up */
}

static void
ws_close_on_io(void *arg)
{
	ws_pipe *wp = arg;
	int pending;

	pnc_mtx_lock(&wp->wmtx);
	pending = (!pnc_list_empty(&wp->wq) || ws_tls_out_waits(wp->tls)) && wp->werr == 0;
	pnc_mtx_unlock(&wp->wmtx);
	if (!pending || wp->draining) {
		ws_finish(wp);
	} else {
		/* What was sent, and the close frame, get a moment to go out. */
		wp->draining = 1;
		pnc_pollfd_want(&wp->pfd, PNC_POLL_OUT, PNC_POLL_IN);
		pnc_timer_arm(&wp->timer, WS_LINGER_MS);
	}
	pnc_pipe_rele(&wp->p); /* pnc_pipe_post's */
}

/* Says goodbye with a close frame (1000) unless one went already. */
static void
ws_close(pnc_pipe *p)
{
	ws_pipe *wp = (ws_pipe *) p;

	pnc_mtx_lock(&wp->wmtx);
	wp->wclosed = 1;
	if (wp->werr == 0 && !wp->close_sent)
		(void) ws_queue_close_locked(wp, PNC_WS_CLOSE_NORMAL);
	ws_wok_update_locked(wp);
	pnc_mtx_unlock(&wp->wmtx);
	pnc_pipe_post(p, &wp->close_task); /* the close goes on on the I/O thread */
}

static void
ws_destroy(pnc_pipe *p)
{
	ws_pipe *wp = (ws_pipe *) p;

	while (!pnc_list_empty(&wp->wq)) {
		ws_out *o = PNC_CONTAINER(pnc_list_first(&wp->wq), ws_out, node);
		pnc_list_remove(&o->node);
		ws_out_free(o);
	}
	pnc_msg_free(wp->amsg);
	free(wp->rbuf);
	pnc_tls_conn_free(wp->tls);
	pnc_mtx_fini(&wp->wmtx);
	free(wp);
}

static int
ws_addr(pnc_pipe *p, int remote, pnc_addr *a)
{
	ws_pipe *wp = (ws_pipe *) p;
	int rv;

	pnc_mtx_lock(&wp->wmtx);
	rv = wp->fd == PNC_FD_NONE ? PNC_ECLOSED : pnc_net_addr(wp->fd, remote, a);
	pnc_mtx_unlock(&wp->wmtx);
	return rv;
}

static int
ws_get_int(pnc_pipe *p, const char *name, int64_t *vp)
{
	ws_pipe *wp = (ws_pipe *) p;
	int rv;

	if (wp->tls != NULL && strncmp(name, "tls-", 4) == 0)
		return pnc_tls_get_int(wp->tls, name, vp);
	pnc_mtx_lock(&wp->wmtx);
	rv = wp->fd == PNC_FD_NONE ? PNC_ECLOSED : pnc_net_get_tcp_option(wp->fd, name, vp);
	pnc_mtx_unlock(&wp->wmtx);
	return rv;
}

/* wss: "tls-peer-cn", "tls-peer-alt-names" (the engine keeps them to the end). */
static int
ws_get_string(pnc_pipe *p, const char *name, char *buf, size_t size)
{
	ws_pipe *wp = (ws_pipe *) p;

	return wp->tls != NULL ? pnc_tls_get_string(wp->tls, name, buf, size) : PNC_ENOTSUP;
}

static const pnc_pipe_ops ws_pipe_ops = {
	.send = ws_send,
	.started = ws_started,
	.addr = ws_addr,
	.get_int = ws_get_int,
	.get_string = ws_get_string,
	.writable = ws_writable,
	.pause = ws_pause,
	.close = ws_close,
	.destroy = ws_destroy,
};

/*
 * The upgrade is done: a pipe takes the connection over, with the bytes
 * that came after the upgrade's head, and the listener's 101 reply (if
 * given) first in its queue.  I/O thread; the caller has let go of fd.
 */
static void
ws_pipe_start(pnc_endpoint *ep, pnc_fd fd, pnc_tls_conn *tls, int client,
    const char *left, size_t nleft, const char *reply)
{
	ws_ep *we = ep->tdata;
	pnc_socket *s = ep->sock;
	ws_pipe *wp;
	int rv;

	if ((wp = calloc(1, sizeof(*wp))) == NULL ||
	    (nleft > 0 && (wp->rbuf = malloc(WS_RBUF_SIZE)) == NULL)) {
		free(wp);
		pnc_tls_conn_free(tls);
		pnc_net_close(fd);
		if (client)
			pnc_ep_connect_failed(ep, PNC_ENOMEM);
		return;
	}
	pnc_pipe_init(&wp->p, &ws_pipe_ops, s, ep);
	wp->p.peer_id = s->proto->peer_id; /* the subprotocol said so */
	wp->client = client;
	wp->fd = fd;
	wp->tls = tls;
	wp->pfd.fd = PNC_FD_NONE;
	pnc_mtx_init(&wp->wmtx);
	pnc_list_init(&wp->wq);
	wp->wok = 1;
	pnc_timer_init(&wp->timer, ws_timer_cb, wp);
	pnc_task_init(&wp->close_task, ws_close_on_io, wp);
	pnc_task_init(&wp->resume_task, ws_resume_task, wp);
	pnc_sock_lock(s);
	wp->rxframe_max = we->rxframe_max;
	wp->txframe_max = we->txframe_max;
	wp->recv_text = we->recv_text;
	wp->send_text = we->send_text;
	pnc_sock_unlock(s);
	if (nleft > 0) {
		memcpy(wp->rbuf, left, nleft);
		wp->rlen = nleft;
	}
	if ((rv = pnc_pollfd_add(&wp->pfd, fd, 0, ws_pipe_cb, wp)) != 0) {
		wp->pfd.fd = PNC_FD_NONE;
		wp->werr = rv;
		if (client)
			pnc_ep_connect_failed(ep, rv);
		wp->failed = 1;
		pnc_pipe_close(&wp->p);
		return;
	}
	if (reply != NULL) {
		pnc_mtx_lock(&wp->wmtx);
		rv = ws_queue_control_locked(wp, -1, reply, strlen(reply));
		if (rv == 0)
			rv = ws_kick_locked(wp);
		pnc_mtx_unlock(&wp->wmtx);
		if (rv != 0) {
			ws_fail(wp, rv, 0);
			return;
		}
	}
	pnc_pipe_attach(&wp->p);
}

/* ------------------------------------------------------------------ */
/* The upgrade */

static void
ws_conn_free(ws_conn *c)
{
	pnc_timer_cancel(&c->timer);
	if (c->pfd.fd != PNC_FD_NONE)
		pnc_pollfd_del(&c->pfd);
	pnc_tls_conn_free(c->tls);
	if (c->fd != PNC_FD_NONE)
		pnc_net_close(c->fd);
	if (c->srv != NULL && pnc_node_linked(&c->node)) {
		pnc_list_remove(&c->node);
		c->srv->nhandshaking--;
	}
	free(c->out);
	free(c);
}

/*
 * A connection's upgrade (or wss's TLS handshake before it) failed: its
 * endpoint hears why (pnc_ep_handshake_failed), ep if known.  A
 * listener's connection whose path is not known yet counts on the first
 * listener on its port, whose TLS config serves the port.
 */
static void
ws_conn_rejected(ws_conn *c, pnc_endpoint *ep, int err, const char *stage)
{
	pnc_endpoint *first = NULL;
	char tls_why[PNC_WHY_MAX] = "";

	if (ep == NULL && c->srv != NULL) {
		pnc_mtx_lock(&ws_lock);
		if (!pnc_list_empty(&c->srv->eps)) {
			first = PNC_CONTAINER(pnc_list_first(&c->srv->eps), ws_ep, srv_node)->ep;
			pnc_ep_hold(first);
		}
		pnc_mtx_unlock(&ws_lock);
		ep = first;
	}
	if (c->tls != NULL)
		pnc_tls_failure(c->tls, tls_why, sizeof(tls_why));
	if (ep != NULL)
		pnc_ep_handshake_failed(ep, err, stage, tls_why);
	if (first != NULL)
		pnc_ep_rele(first);
}

/* The upgrade failed: counted, and a dialer hears why and dials again. */
static void
ws_conn_fail(ws_conn *c, int err)
{
	if (c->ep != NULL)
		((ws_ep *) c->ep->tdata)->conn = NULL;
	ws_conn_rejected(c, c->ep, err,
	    c->tls != NULL && !c->tls_done ? "TLS handshake" : "websocket upgrade");
	ws_conn_free(c);
}

/* Writes what is left of c->out: 0 all, PNC_EAGAIN some, or an error. */
static int
ws_conn_write(ws_conn *c)
{
	pnc_iov iov;
	size_t n;
	int rv;

	if (c->sent < c->outlen) {
		PNC_IOV_BASE(&iov) = c->out + c->sent;
		PNC_IOV_LEN(&iov) = c->outlen - c->sent;
		if ((rv = ws_io_writev(c->fd, c->tls, &iov, 1, &n)) != 0)
			return rv;
		c->sent += n;
		if (c->sent < c->outlen)
			return PNC_EAGAIN;
	}
	/* wss: all of it taken, and out of the engine too. */
	return c->tls != NULL ? pnc_tls_flush(c->tls) : 0;
}

static int
ws_conn_set_out(ws_conn *c, const char *text)
{
	free(c->out);
	c->sent = 0;
	c->outlen = strlen(text);
	if ((c->out = malloc(c->outlen + 1)) == NULL)
		return PNC_ENOMEM;
	memcpy(c->out, text, c->outlen + 1);
	return 0;
}

/*
 * A listener's refusal, counted on ep (NULL: the port's, see
 * ws_conn_rejected): the status goes out, then the connection closes.
 */
static void
ws_conn_refuse(ws_conn *c, pnc_endpoint *ep, int status, const char *reason,
    const char *extra)
{
	char text[256];
	int rv;

	snprintf(text, sizeof(text), "websocket upgrade answered %d %s", status, reason);
	ws_conn_rejected(c, ep, PNC_EPROTO, text);
	snprintf(text, sizeof(text),
	    "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n",
	    status, reason, extra);
	if (ws_conn_set_out(c, text) != 0 || (rv = ws_conn_write(c)) != PNC_EAGAIN) {
		ws_conn_free(c);
		return;
	}
	c->replying = 1;
	pnc_pollfd_want(&c->pfd, PNC_POLL_OUT, PNC_POLL_IN);
}

/* The listener whose path this is, held, or NULL. */
static pnc_endpoint *
ws_server_find(ws_server *srv, const char *path)
{
	pnc_endpoint *found = NULL;

	pnc_mtx_lock(&ws_lock);
	PNC_LIST_EACH(&srv->eps, n) {
		ws_ep *we = PNC_CONTAINER(n, ws_ep, srv_node);
		if (strcmp(we->path, path) == 0) {
			found = we->ep;
			pnc_ep_hold(found);
			break;
		}
	}
	pnc_mtx_unlock(&ws_lock);
	return found;
}

/* The URI's path: the listeners' key ("?" and after is the query). */
static void
ws_uri_path(const char *uri, char *path, size_t cap)
{
	size_t n = strcspn(uri, "?");

	if (n >= cap)
		n = cap - 1;
	memcpy(path, uri, n);
	path[n] = '\0';
	if (n == 0)
		snprintf(path, cap, "/");
}

/* A listener's connection sent its head (a C string now): answer it. */
static void
ws_conn_request(ws_conn *c, const char *left, size_t nleft)
{
	char uri[PNC_URL_MAX], path[PNC_URL_MAX], val[1024], key[64], want[64];
	char accept[PNC_WS_ACCEPT_LEN + 1], *reply, *extra = NULL;
	pnc_endpoint *ep;
	pnc_tls_conn *tls;
	pnc_fd fd;
	size_t n;

	if (pnc_ws_request_line(c->in, uri, sizeof(uri)) != 0) {
		ws_conn_refuse(c, NULL, 400, "Bad Request", "");
		return;
	}
	if (pnc_ws_http_header(c->in, "Upgrade", val, sizeof(val)) != 0 ||
	    !pnc_ws_token_in(val, "websocket") ||
	    pnc_ws_http_header(c->in, "Connection", val, sizeof(val)) != 0 ||
	    !pnc_ws_token_in(val, "upgrade") ||
	    pnc_ws_http_header(c->in, "Sec-WebSocket-Key", key, sizeof(key)) != 0 ||
	    !pnc_ws_key_valid(key)) {
		ws_conn_refuse(c, NULL, 400, "Bad Request", "");
		return;
	}
	if (pnc_ws_http_header(c->in, "Sec-WebSocket-Version", val, sizeof(val)) != 0 ||
	    strcmp(val, "13") != 0) {
		ws_conn_refuse(c, NULL, 426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n");
		return;
	}
	ws_uri_path(uri, path, sizeof(path));
	/* A listener whose close has begun is gone for new peers already. */
	if ((ep = ws_server_find(c->srv, path)) != NULL && pnc_ep_closing(ep)) {
		pnc_ep_rele(ep);
		ep = NULL;
	}
	if (ep == NULL) {
		ws_conn_refuse(c, NULL, 404, "Not Found", "");
		return;
	}
	snprintf(want, sizeof(want), "%s" WS_SUFFIX, ep->sock->proto->name);
	if (pnc_ws_http_header(c->in, "Sec-WebSocket-Protocol", val, sizeof(val)) != 0 ||
	    !pnc_ws_token_in(val, want)) {
		ws_conn_refuse(c, ep, 400, "Bad Request", "");
		pnc_ep_rele(ep);
		return;
	}
	pnc_ws_accept_key(key, accept);
	pnc_sock_lock(ep->sock);
	if (((ws_ep *) ep->tdata)->resp_headers != NULL)
		extra = strdup(((ws_ep *) ep->tdata)->resp_headers);
	pnc_sock_unlock(ep->sock);
	n = 256 + (extra != NULL ? strlen(extra) : 0);
	if ((reply = malloc(n)) == NULL) {
		free(extra);
		pnc_ep_rele(ep);
		ws_conn_free(c);
		return;
	}
	snprintf(reply, n,
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
	    "Sec-WebSocket-Protocol: %s\r\n%s%s\r\n",
	    accept, want, extra != NULL ? extra : "",
	    extra != NULL && extra[0] != '\0' && extra[strlen(extra) - 1] != '\n' ? "\r\n" : "");
	fd = c->fd;
	c->fd = PNC_FD_NONE;
	tls = c->tls;
	c->tls = NULL;
	ws_conn_free(c); /* off the poller before the pipe puts fd on it */
	ws_pipe_start(ep, fd, tls, 0, left, nleft, reply);
	free(extra);
	free(reply);
	pnc_ep_rele(ep);
}

/* A dialer's connection got its reply (a C string now): a pipe, or a failure. */
static void
ws_conn_reply(ws_conn *c, const char *left, size_t nleft)
{
	char val[1024];
	pnc_endpoint *ep = c->ep;
	pnc_tls_conn *tls;
	pnc_fd fd;
	int status = pnc_ws_status_line(c->in);

	if (status != 101) {
		ws_conn_fail(c, status < 0 ? PNC_EPROTO : PNC_ECONNREFUSED);
		return;
	}
	if (pnc_ws_http_header(c->in, "Upgrade", val, sizeof(val)) != 0 ||
	    !pnc_ws_token_in(val, "websocket") ||
	    pnc_ws_http_header(c->in, "Connection", val, sizeof(val)) != 0 ||
	    !pnc_ws_token_in(val, "upgrade") ||
	    pnc_ws_http_header(c->in, "Sec-WebSocket-Accept", val, sizeof(val)) != 0 ||
	    strcmp(val, c->accept) != 0 ||
	    pnc_ws_http_header(c->in, "Sec-WebSocket-Protocol", val, sizeof(val)) != 0 ||
	    !pnc_ws_token_in(val, c->proto)) {
		ws_conn_fail(c, PNC_EPROTO);
		return;
	}
	fd = c->fd;
	c->fd = PNC_FD_NONE;
	tls = c->tls;
	c->tls = NULL;
	pnc_pollfd_del(&c->pfd);
	c->pfd.fd = PNC_FD_NONE;
	((ws_ep *) ep->tdata)->conn = NULL;
	ws_pipe_start(ep, fd, tls, 1, left, nleft, NULL);
	ws_conn_free(c);
}

/*
 * wss: TLS's handshake, before the upgrade: 1 once it is over.  The
 * poller waits for POLL_OUT only while the engine has output waiting.
 */
static int
ws_conn_tls_handshake(ws_conn *c)
{
	unsigned wants;
	int rv = pnc_tls_handshake(c->tls);

	if (rv == PNC_EAGAIN) {
		wants = pnc_tls_wants(c->tls);
		pnc_pollfd_want(&c->pfd, wants & PNC_POLL_OUT,
		    (wants & PNC_POLL_OUT) ? 0 : PNC_POLL_OUT);
		return 0;
	}
	if (rv != 0) {
		ws_conn_fail(c, rv == PNC_ECONNSHUT ? PNC_ECONNRESET : rv);
		return 0;
	}
	c->tls_done = 1;
	return 1;
}

/* A request's first byte: a method's (a token's, as HTTP's are: letters). */
static int
ws_request_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static void
ws_conn_cb(pnc_pollfd *pfd, unsigned events)
{
	ws_conn *c = pfd->arg;
	size_t n, end;
	int rv;

	if (c->tls != NULL && !c->tls_done) {
		if (!ws_conn_tls_handshake(c))
			return;
		events |= PNC_POLL_IN; /* the peer's first bytes may be in already */
	}
	rv = ws_conn_write(c);
	if (rv == 0 && c->replying) {
		ws_conn_free(c); /* the refusal went out */
		return;
	}
	if (rv == 0 || rv == PNC_EAGAIN)
		pnc_pollfd_want(&c->pfd, rv == 0 ? 0 : PNC_POLL_OUT, rv == 0 ? PNC_POLL_OUT : 0);
	if (rv != 0 && rv != PNC_EAGAIN) {
		ws_conn_fail(c, rv);
		return;
	}
	if (c->replying || !(events & (PNC_POLL_IN | PNC_POLL_ERR)))
		return;
	rv = ws_io_read(c->fd, c->tls, c->in + c->got, WS_HEAD_MAX - c->got, &n);
	if (rv == PNC_EAGAIN)
		return;
	if (rv != 0) {
		ws_conn_fail(c, rv == PNC_ECONNSHUT ? PNC_ECONNRESET : rv);
		return;
	}
	if (c->got == 0 && n > 0 && c->srv != NULL && !ws_request_start(c->in[0])) {
		/* No HTTP request starts so (a TLS ClientHello on a plain
		 * port, say): refused now, not at the deadline. */
		ws_conn_refuse(c, NULL, 400, "Bad Request", "");
		return;
	}
	c->got += n;
	if ((end = pnc_ws_http_end((uint8_t *) c->in, c->got)) == 0) {
		if (c->got < WS_HEAD_MAX)
			return;
		if (c->srv != NULL)
			ws_conn_refuse(c, NULL, 431, "Request Header Fields Too Large", "");
		else
			ws_conn_fail(c, PNC_EPROTO);
		return;
	}
	{
		/* What came after the head is frames: kept aside, the head
		 * made a C string where they were. */
		char left[WS_HEAD_MAX];
		size_t nleft = c->got - end;

		memcpy(left, c->in + end, nleft);
		c->in[end] = '\0';
		if (c->srv != NULL)
			ws_conn_request(c, left, nleft);
		else
			ws_conn_reply(c, left, nleft);
	}
}

static void
ws_conn_timer_cb(void *arg)
{
	ws_conn *c = arg;

	ws_conn_fail(c, PNC_ETIMEDOUT); /* never finished its upgrade */
}

/* A new connection, either way; a dialer's sends its request at once. */
static ws_conn *
ws_conn_new(pnc_fd fd, ws_server *srv, pnc_endpoint *ep)
{
	ws_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		pnc_net_close(fd);
		return NULL;
	}
	c->fd = fd;
	c->pfd.fd = PNC_FD_NONE;
	c->srv = srv;
	c->ep = ep;
	pnc_timer_init(&c->timer, ws_conn_timer_cb, c);
	return c;
}

static int
ws_conn_watch(ws_conn *c, unsigned events)
{
	int rv = pnc_pollfd_add(&c->pfd, c->fd, events, ws_conn_cb, c);

	if (rv != 0) {
		c->pfd.fd = PNC_FD_NONE;
		return rv;
	}
	pnc_timer_arm(&c->timer, WS_HANDSHAKE_MS);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Listeners: the shared HTTP listener */

static void
ws_accept_resume(void *arg)
{
	ws_server *srv = arg;

	pnc_pollfd_want(&srv->pfd, PNC_POLL_IN, 0);
}

static void
ws_accept_cb(pnc_pollfd *pfd, unsigned events)
{
	ws_server *srv = pfd->arg;
	pnc_fd fd;

	(void) events;
	for (int i = 0; i < 64; i++) {
		ws_conn *c;
		int rv = pnc_net_accept(srv->fd, &fd);
		if (rv == PNC_EAGAIN)
			return;
		if (rv == PNC_ENOFILES || rv == PNC_ENOMEM) {
			/* Level-triggered: without a pause this would spin. */
			pnc_pollfd_want(&srv->pfd, 0, PNC_POLL_IN);
			pnc_timer_arm(&srv->accept_timer, WS_ACCEPT_PAUSE_MS);
			return;
		}
		if (rv != 0 || (c = ws_conn_new(fd, srv, NULL)) == NULL)
			continue;
		pnc_net_set_nodelay(fd, 1);
		if ((srv->tls && pnc_tls_conn_new(&c->tls, srv->tls_cfg, 1, NULL, fd) != 0) ||
		    ws_conn_watch(c, PNC_POLL_IN) != 0) {
			ws_conn_free(c);
			continue;
		}
		pnc_list_append(&srv->handshaking, &c->node);
		/* The oldest goes, by its timer: it may have an event
		 * later in this round of the poller, so not freed now. */
		if (++srv->nhandshaking > WS_HANDSHAKES_MAX)
			pnc_timer_arm(&PNC_CONTAINER(pnc_list_first(&srv->handshaking),
			    ws_conn, node)->timer, 0);
	}
}

/*
 * The server for this host:port with we's path free: 0, or why not.  A
 * port serves ws or wss, with one TLS config (see the top).  ws_lock.
 */
static int
ws_server_join_locked(ws_ep *we, pnc_tls_config *cfg, ws_server **srvp)
{
	*srvp = NULL;
	if (strcmp(we->port, "0") == 0)
		return 0; /* a port of its own */
	PNC_LIST_EACH(&ws_servers, n) {
		ws_server *srv = PNC_CONTAINER(n, ws_server, node);
		if (strcmp(srv->host, we->host) != 0 || strcmp(srv->port, we->port) != 0 ||
		    srv->family != we->family)
			continue;
		if (srv->tls != we->tls || srv->tls_cfg != cfg)
			return PNC_EADDRINUSE;
		PNC_LIST_EACH(&srv->eps, m) {
			if (strcmp(PNC_CONTAINER(m, ws_ep, srv_node)->path, we->path) == 0)
				return PNC_EADDRINUSE;
		}
		*srvp = srv;
		return 0;
	}
	return 0;
}

static int
ws_bind(pnc_endpoint *ep)
{
	ws_ep *we = ep->tdata;
	pnc_tls_config *cfg = NULL;
	ws_server *srv;
	pnc_fd fd;
	int port, rv;

	/* wss: the config it serves with, taken now (no lock under ws_lock). */
	if (we->tls && (cfg = pnc_ep_tls(ep)) == NULL)
		return PNC_EINVAL;
	pnc_mtx_lock(&ws_lock);
	if ((rv = ws_server_join_locked(we, cfg, &srv)) == 0 && srv != NULL) {
		srv->refs++;
		pnc_list_append(&srv->eps, &we->srv_node);
		we->srv = srv;
	}
	pnc_mtx_unlock(&ws_lock);
	if (rv != 0 || srv != NULL) {
		pnc_tls_config_release(cfg);
		return rv;
	}
	if ((rv = pnc_net_listen(&we->sa, &fd)) != 0) {
		pnc_tls_config_release(cfg);
		return rv;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		pnc_net_close(fd);
		pnc_tls_config_release(cfg);
		return PNC_ENOMEM;
	}
	srv->refs = 1;
	srv->fd = fd;
	srv->tls = we->tls;
	srv->tls_cfg = cfg; /* the reference taken above */
	srv->family = we->family;
	snprintf(srv->host, sizeof(srv->host), "%s", we->host);
	if (pnc_net_local_port(fd, &port) == 0)
		snprintf(srv->port, sizeof(srv->port), "%d", port);
	pnc_list_init(&srv->eps);
	pnc_list_init(&srv->handshaking);
	pnc_timer_init(&srv->accept_timer, ws_accept_resume, srv);
	pnc_list_append(&srv->eps, &we->srv_node);
	/* Served from here on: a request may come before the list has it. */
	if ((rv = pnc_pollfd_add(&srv->pfd, fd, PNC_POLL_IN, ws_accept_cb, srv)) != 0) {
		pnc_net_close(fd);
		pnc_tls_config_release(srv->tls_cfg);
		free(srv);
		return rv;
	}
	pnc_mtx_lock(&ws_lock);
	we->srv = srv;
	pnc_list_append(&ws_servers, &srv->node);
	pnc_mtx_unlock(&ws_lock);
	return 0;
}

/* A listener leaves its server; the last one closes it.  I/O thread. */
static void
ws_unbind(ws_ep *we)
{
	ws_server *srv;
	int last;

	pnc_mtx_lock(&ws_lock);
	if ((srv = we->srv) == NULL) {
		pnc_mtx_unlock(&ws_lock);
		return;
	}
	pnc_list_remove(&we->srv_node);
	we->srv = NULL;
	if ((last = --srv->refs == 0))
		pnc_list_remove(&srv->node);
	pnc_mtx_unlock(&ws_lock);
	if (!last)
		return;
	while (!pnc_list_empty(&srv->handshaking))
		ws_conn_free(PNC_CONTAINER(pnc_list_first(&srv->handshaking), ws_conn, node));
	pnc_timer_cancel(&srv->accept_timer);
	pnc_pollfd_del(&srv->pfd);
	pnc_net_close(srv->fd);
	pnc_tls_config_release(srv->tls_cfg);
	free(srv);
}

/* ------------------------------------------------------------------ */
/* Dialers */

static int
ws_request_make(ws_conn *c, pnc_endpoint *ep)
{
	ws_ep *we = ep->tdata;
	uint8_t raw[16];
	char key[32], *text, *extra = NULL;
	size_t n;
	int rv;

	for (int i = 0; i < 16; i += 4)
		pnc_put_u32(raw + i, pnc_random());
	pnc_ws_base64(raw, sizeof(raw), key);
	pnc_ws_accept_key(key, c->accept);
	snprintf(c->proto, sizeof(c->proto), "%s" WS_SUFFIX, ep->sock->proto->peer_name);
	pnc_sock_lock(ep->sock);
	if (we->req_headers != NULL)
		extra = strdup(we->req_headers);
	pnc_sock_unlock(ep->sock);
	n = 512 + strlen(we->uri) + strlen(we->hostport) + (extra != NULL ? strlen(extra) : 0);
	if ((text = malloc(n)) == NULL) {
		free(extra);
		return PNC_ENOMEM;
	}
	snprintf(text, n,
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n%s%s\r\n",
	    we->uri, we->hostport, key, c->proto, extra != NULL ? extra : "",
	    extra != NULL && extra[0] != '\0' && extra[strlen(extra) - 1] != '\n' ? "\r\n" : "");
	rv = ws_conn_set_out(c, text);
	free(text);
	free(extra);
	return rv;
}

/* Connected: the upgrade request goes out.  I/O thread. */
static void
ws_dialer_start(pnc_endpoint *ep, pnc_fd fd)
{
	ws_ep *we = ep->tdata;
	ws_conn *c = ws_conn_new(fd, NULL, ep);
	int rv;

	if (c == NULL) {
		pnc_ep_connect_failed(ep, PNC_ENOMEM);
		return;
	}
	pnc_net_set_nodelay(fd, (int) ep->opts.tcp_nodelay);
	pnc_net_set_keepalive(fd, (int) ep->opts.tcp_keepalive);
	if (we->tls) {
		pnc_tls_config *cfg = pnc_ep_tls(ep); /* NULL: the defaults */

		rv = pnc_tls_conn_new(&c->tls, cfg, 0, we->host, fd);
		pnc_tls_config_release(cfg);
		if (rv != 0) {
			ws_conn_free(c);
			pnc_ep_connect_failed(ep, rv);
			return;
		}
	}
	if ((rv = ws_request_make(c, ep)) != 0 ||
	    (rv = ws_conn_watch(c, PNC_POLL_IN | PNC_POLL_OUT)) != 0) {
		ws_conn_free(c);
		pnc_ep_connect_failed(ep, rv);
		return;
	}
	we->conn = c;
}

static void
ws_connect_cb(pnc_pollfd *pfd, unsigned events)
{
	pnc_endpoint *ep = pfd->arg;
	ws_ep *we = ep->tdata;
	pnc_fd fd = we->fd;
	int rv = pnc_net_connect_result(fd);

	(void) events;
	pnc_pollfd_del(&we->pfd);
	we->fd = PNC_FD_NONE;
	if (rv != 0) {
		pnc_net_close(fd);
		pnc_ep_connect_failed(ep, rv);
		return;
	}
	ws_dialer_start(ep, fd);
}

static void
ws_connect(pnc_endpoint *ep)
{
	ws_ep *we = ep->tdata;
	pnc_fd fd;
	int rv = pnc_net_connect(&we->sa, &fd);

	if (rv == 0) {
		ws_dialer_start(ep, fd);
	} else if (rv == PNC_EAGAIN) {
		we->fd = fd;
		if ((rv = pnc_pollfd_add(&we->pfd, fd, PNC_POLL_OUT, ws_connect_cb, ep)) != 0) {
			we->fd = PNC_FD_NONE;
			pnc_net_close(fd);
			pnc_ep_connect_failed(ep, rv);
		}
	} else {
		pnc_ep_connect_failed(ep, rv);
	}
}

/* ------------------------------------------------------------------ */
/* Endpoints */

/*
 * ws://host[:port][/path[?query]]: the host and port as tcp's, port 80 if
 * none; a listener's path is its key on a shared port (a query there is
 * PNC_EADDRINVAL).
 */
static int
ws_ep_init(pnc_endpoint *ep)
{
	ws_ep *we = ep->tdata;
	pnc_url u = ep->url;
	const char *addr = ep->url.addr, *slash = strchr(addr, '/');
	size_t hl = slash != NULL ? (size_t) (slash - addr) : strlen(addr);
	const char *colon, *fam;
	int rv;

	we->ep = ep;
	we->fd = PNC_FD_NONE;
	we->pfd.fd = PNC_FD_NONE;
	we->rxframe_max = WS_RXFRAME_DEFAULT;
	we->txframe_max = WS_TXFRAME_DEFAULT;
	we->tls = strncmp(ep->url.scheme, "wss", 3) == 0;
	fam = ep->url.scheme + (we->tls ? 3 : 2); /* "", "4" or "6" */
	we->family = strcmp(fam, "4") == 0 ? PNC_AF_INET :
	    strcmp(fam, "6") == 0 ? PNC_AF_INET6 : PNC_AF_UNSPEC;
	if (we->tls && pnc_tls_engine() == NULL)
		return PNC_ENOTSUP; /* the build found no OpenSSL */
	ep->uses_tls = we->tls; /* its config is checked at its start */
	if (strpbrk(addr, "#@") != NULL || hl >= sizeof(we->hostport))
		return PNC_EADDRINVAL;
	memcpy(we->hostport, addr, hl);
	we->hostport[hl] = '\0';
	snprintf(we->uri, sizeof(we->uri), "%s", slash != NULL ? slash : "/");
	if (memchr(we->hostport, '?', hl) != NULL)
		return PNC_EADDRINVAL;
	ws_uri_path(we->uri, we->path, sizeof(we->path));
	if (ep->listener && strchr(we->uri, '?') != NULL)
		return PNC_EADDRINVAL;
	/* No port (none after the last colon, or after "]"): 80, wss's 443. */
	colon = strrchr(we->hostport, ':');
	if (hl + 5 > sizeof(u.addr))
		return PNC_EADDRINVAL;
	memcpy(u.addr, we->hostport, hl);
	strcpy(u.addr + hl, colon != NULL && strchr(colon, ']') == NULL ? "" :
	    we->tls ? ":443" : ":80");
	if ((rv = pnc_url_hostport(&u, ep->listener)) != 0)
		return rv;
	snprintf(we->host, sizeof(we->host), "%s", u.host);
	snprintf(we->port, sizeof(we->port), "%s", u.port);
	return pnc_net_resolve(u.host, u.port, ep->listener, we->family, &we->sa);
}

static void
ws_ep_close(pnc_endpoint *ep)
{
	ws_ep *we = ep->tdata;

	if (we->conn != NULL) {
		ws_conn_free(we->conn);
		we->conn = NULL;
	}
	if (we->fd != PNC_FD_NONE) {
		pnc_pollfd_del(&we->pfd);
		pnc_net_close(we->fd);
		we->fd = PNC_FD_NONE;
	}
	ws_unbind(we);
	pnc_sock_lock(ep->sock); /* the option getters read them under it */
	free(we->req_headers);
	free(we->resp_headers);
	we->req_headers = we->resp_headers = NULL;
	pnc_sock_unlock(ep->sock);
}

/* The listener's server descriptor, asked under ws_lock, which its close takes. */
static int
ws_ep_addr(pnc_endpoint *ep, pnc_addr *a)
{
	ws_ep *we = ep->tdata;
	int rv;

	pnc_mtx_lock(&ws_lock);
	rv = we->srv == NULL ? PNC_ESTATE : pnc_net_addr(we->srv->fd, 0, a);
	pnc_mtx_unlock(&ws_lock);
	return rv;
}

static int
ws_ep_get_int(pnc_endpoint *ep, const char *name, int64_t *vp)
{
	ws_ep *we = ep->tdata;
	int port = 0, rv;

	if (strcmp(name, "tcp-bound-port") == 0 && ep->listener) {
		pnc_mtx_lock(&ws_lock);
		rv = we->srv == NULL ? PNC_ESTATE : pnc_net_local_port(we->srv->fd, &port);
		pnc_mtx_unlock(&ws_lock);
		*vp = port;
		return rv;
	}
	pnc_sock_lock(ep->sock);
	rv = 0;
	if (strcmp(name, "ws:rxframe-max") == 0)
		*vp = (int64_t) we->rxframe_max;
	else if (strcmp(name, "ws:txframe-max") == 0)
		*vp = (int64_t) we->txframe_max;
	else if (strcmp(name, "ws:recv-text") == 0)
		*vp = we->recv_text;
	else if (strcmp(name, "ws:send-text") == 0)
		*vp = we->send_text;
	else
		rv = PNC_ENOTSUP;
	pnc_sock_unlock(ep->sock);
	return rv;
}

/*
 * Its connections' options, for those made from now on: frame sizes
 * (0: any), text in and out (nng's names and meanings).
 */
static int
ws_ep_set_int(pnc_endpoint *ep, const char *name, int64_t v)
{
	ws_ep *we = ep->tdata;
	int rv = 0, flag = strcmp(name, "ws:recv-text") == 0 || strcmp(name, "ws:send-text") == 0;

	if (!flag && strcmp(name, "ws:rxframe-max") != 0 && strcmp(name, "ws:txframe-max") != 0)
		return PNC_ENOTSUP;
	if (v < 0 || (flag && v > 1) || (uint64_t) v > SIZE_MAX / 2)
		return PNC_EINVAL;
	pnc_sock_lock(ep->sock);
	if (ep->closed)
		rv = PNC_ECLOSED;
	else if (strcmp(name, "ws:rxframe-max") == 0)
		we->rxframe_max = (size_t) v;
	else if (strcmp(name, "ws:txframe-max") == 0)
		we->txframe_max = (size_t) v;
	else if (strcmp(name, "ws:recv-text") == 0)
		we->recv_text = (int) v;
	else
		we->send_text = (int) v;
	pnc_sock_unlock(ep->sock);
	return rv;
}

/* Which string option a name is on this side: NULL, none. */
static char **
ws_headers_field(pnc_endpoint *ep, const char *name)
{
	ws_ep *we = ep->tdata;

	if (strcmp(name, "ws:request-headers") == 0 && !ep->listener)
		return &we->req_headers;
	if (strcmp(name, "ws:response-headers") == 0 && ep->listener)
		return &we->resp_headers;
	return NULL;
}

/* Extra headers for the upgrade, "Name: value\r\n" each, as nng takes them. */
static int
ws_ep_set_string(pnc_endpoint *ep, const char *name, const char *v)
{
	char **field = ws_headers_field(ep, name), *copy;
	int rv = 0;

	if (field == NULL)
		return strcmp(name, "ws:request-uri") == 0 ? PNC_EREADONLY : PNC_ENOTSUP;
	if (strlen(v) > WS_HEADERS_MAX || pnc_ws_headers_valid(v) != 0)
		return PNC_EINVAL;
	if ((copy = strdup(v)) == NULL)
		return PNC_ENOMEM;
	pnc_sock_lock(ep->sock);
	if (ep->closed) {
		rv = PNC_ECLOSED;
	} else {
		free(*field);
		*field = copy;
		copy = NULL;
	}
	pnc_sock_unlock(ep->sock);
	free(copy);
	return rv;
}

static int
ws_ep_get_string(pnc_endpoint *ep, const char *name, char *buf, size_t size)
{
	ws_ep *we = ep->tdata;
	char **field = ws_headers_field(ep, name);
	int rv = 0;

	if (field == NULL && strcmp(name, "ws:request-uri") != 0)
		return PNC_ENOTSUP;
	pnc_sock_lock(ep->sock);
	if (ep->closed)
		rv = PNC_ECLOSED;
	else if (size > 0)
		snprintf(buf, size, "%s", field == NULL ? we->uri : *field != NULL ? *field : "");
	pnc_sock_unlock(ep->sock);
	return rv;
}

/*
 * A wss listener serves with the config its port was opened with (see the
 * top): once bound, another is PNC_EBUSY, as nng's started HTTP server
 * says.  A dialer's next connection takes the new one.
 */
static int
ws_ep_tls_settable(pnc_endpoint *ep)
{
	ws_ep *we = ep->tdata;
	int bound;

	if (!ep->listener || !we->tls)
		return 0;
	pnc_mtx_lock(&ws_lock);
	bound = we->srv != NULL;
	pnc_mtx_unlock(&ws_lock);
	return bound ? PNC_EBUSY : 0;
}

const pnc_tran_ops pnc_tran_ws = {
	.ep_size = sizeof(ws_ep),
	.ep_init = ws_ep_init,
	.bind = ws_bind,
	.connect = ws_connect,
	.addr = ws_ep_addr,
	.ep_close = ws_ep_close,
	.get_int = ws_ep_get_int,
	.set_int = ws_ep_set_int,
	.set_string = ws_ep_set_string,
	.get_string = ws_ep_get_string,
	.tls_settable = ws_ep_tls_settable,
};
