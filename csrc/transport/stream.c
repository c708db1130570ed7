/*
 * stream.c: pipes over stream sockets (tcp, ipc).
 *
 * Writes: a send on an idle pipe goes to the kernel from the caller's
 * thread, so a request costs no thread hop.  Sends that come in a stream
 * (within CORK_WINDOW_NS of the last, with nothing received between) are
 * corked instead: they wait in the pipe's queue until CORK_BYTES are
 * there, which the sender then writes with one writev, or until the I/O
 * thread, woken once per burst, flushes the tail.  A syscall per message
 * is what caps small-message throughput, and on a shared CPU each write
 * that wakes a waiting peer also hands it the CPU.
 * A socket's batch of broadcasts (pnc_sock_broadcast) comes as one framed
 * message that all its pipes share: each writes it at once, and none
 * ever copies a frame of its own into it.
 * Whatever the kernel does not take waits in the queue for the socket to
 * drain.  The wire prefix is written into each message's headroom, so a
 * message is one iovec.
 *
 * Reads: a chunk at a time, every whole frame in it handed up in batches;
 * once the socket's queue is full (the pipe is paused), a pipe that shares
 * its socket with others leaves the frames still in the chunk for the
 * resume, so it adds at most a batch past the queue's limit, and a flood
 * from one peer cannot crowd out the others' turn (a pipe alone hands up
 * the whole chunk: a receiver then takes many messages per wake-up).
 * A large frame is read straight into its message.  A caller that
 * reads may say where bodies go (pnc_body_source): Python's recv has them
 * read into the bytes objects it returns.
 * The I/O thread reads, unless a lone receiver waits on the pipe: that
 * one reads it itself, and keeps the reads while it comes back for more
 * (the handback period).  A peer's length is checked against recv-size-max before any
 * allocation.  Anything malformed closes this pipe and nothing else.
 *
 * tls+tcp: the same, through the TLS engine (csrc/tls/tls.h), whose
 * handshake comes first (within the same HANDSHAKE_MS).  Its calls take
 * the place of the socket's (stream_io_*): writes under wmtx as ever;
 * reads on the I/O thread only (no reads lent to callers: a caller would
 * poll the socket while decrypted bytes wait in the engine).  What the
 * poller cannot see is looked after here: decrypted bytes left in the
 * engine are read by the parse task (stream_tls_kick), and encrypted
 * output the socket did not take keeps the pipe waiting for POLL_OUT.
 */
#include <stdio.h>
#include <stdlib.h>

#include "stream.h"
#include "../tls/tls.h"

#define HANDSHAKE_MS 10000 /* nng's */
/*
 * Connections a listener has in their handshake at once.  Past it, the
 * oldest is dropped for the new one: a peer that opens connections and
 * says nothing holds its slots only until others come, and a real client
 * handshakes within a round trip.
 */
#define HANDSHAKES_MAX 2048
#define LINGER_MS 1000     /* how long a closing pipe may flush its queue */
/*
 * Reads take up to RBUF_SIZE at a time: many small frames per syscall.
 * The buffer is a message block, so it comes from the block cache and goes
 * back to it when the connection falls idle (see message.c).
 */
#define RBUF_SIZE (256u << 10)
/*
 * A caller that reads its pipe itself reads at most CALLER_READ_MAX at a
 * time: it takes what a read brought one message at a time right after,
 * and 256 KiB of small frames made thousands of messages that had left
 * the cache by the time it came to them (pub/sub 1 -> 4 subscriber
 * threads of one process, 64 B, one CPU: 2.9 M delivered/s, 4.7 M so).
 */
#define CALLER_READ_MAX (32u << 10)
/*
 * A frame this big whose body is not all in the buffer yet is read in
 * place: the kernel copies it into its message, and the copy out of the
 * buffer (as costly as the read itself) is saved for one more syscall.
 */
#define IN_PLACE_MIN (32u << 10)
/*
 * A frame's memory grows as its bytes arrive, so what a peer costs is
 * what it sent: its message is made for at most FRAME_FIRST bytes or
 * twice what has come, whichever is more, and doubles from there.  A peer
 * that claims a gigabyte and sends one byte costs FRAME_FIRST.
 */
#define FRAME_FIRST (1u << 20)
/* No length past this is taken, whatever recv-size-max says: a 32-bit
 * build could not even add the headroom to it. */
#define FRAME_MAX ((uint64_t) (SIZE_MAX / 2) < ((uint64_t) 1 << 62) ? \
    (uint64_t) (SIZE_MAX / 2) : ((uint64_t) 1 << 62))
/*
 * The kernel's socket buffer is the real queue: ours only holds what it
 * did not take, and is kept short, because a long one is written to the
 * kernel from memory long gone from the cache (a 4 MiB queue cost a tcp
 * sender of 64 KiB messages twice the CPU), and a sender finds it empty
 * more often, and then writes from its own memory, no copy (pnc_msg_lend).
 */
#define WQ_MAX_MSGS 1024
#define WQ_MAX_BYTES (256u << 10)
#define ACCEPT_PAUSE_MS 100
#define DELIVER_BATCH 64
#define CORK_WINDOW_NS 200000
#define CORK_BYTES 32768
/*
 * A frame this small that joins a non-empty write queue is copied into a
 * chunk at its tail, and its message let go at once, while it is still
 * in the cache.  The kernel then copies a few 4 KiB pieces instead of one
 * iovec a frame: a publisher to 64 pipes spent a quarter of its CPU in
 * that per-iovec copy, and more on the prefixes and on freeing messages
 * gone from the cache by the time the kernel took them.
 */
#define COPY_MAX 512
#define CHUNK_BYTES (4096 - PNC_MSG_HEADROOM) /* the largest pooled block */
/*
 * ipc socket buffers: the default (~200 KiB) splits a large message into
 * many writes, each a wake-up of the I/O thread and of the reader, so a
 * pipe gets IPC_BUFFER_BYTES once it sends a frame past IPC_GROW_AT.  Not
 * before: with more in flight, the kernel's copies of smaller messages
 * run on memory that has left the cache (64 KiB push/pull, one CPU: 6.2-6.4
 * GB/s with the default against 5.5 with 1 MiB).  tcp sizes its own
 * buffers, better than a fixed number would.
 */
#define IPC_BUFFER_BYTES (1 << 20)
#define IPC_GROW_AT (128u << 10)
/*
 * Reads lent to callers: while a lone receiver keeps coming back, the
 * pipe's read interest stays off between its reads, so no epoll_ctl pair
 * per receive and no I/O thread wake-up competes with it for the data.
 * Once no caller has read for a whole handback period, the I/O thread
 * takes the reads back; until then a message waits in the kernel, never
 * lost (a receiver that comes to wait another way, on the cv, in asyncio
 * or on the readiness descriptor, has them back at once).  The period
 * starts at HANDBACK_MS and doubles each time the timer finds the reads
 * still in use, up to HANDBACK_MAX_MS: a receiver that keeps reading
 * costs the I/O thread a wake-up every HANDBACK_MAX_MS, not every
 * millisecond (8 subscribers of a process, on one CPU: ~1,000 wake-ups a
 * second, two context switches each).
 */
#define HANDBACK_MS 1
#define HANDBACK_MAX_MS 32

enum { READ_FREE, READ_IO, READ_CALLER };

typedef struct stream_pipe {
	pnc_pipe p;
	size_t plen;
	pnc_fd fd;
	pnc_tls_conn *tls; /* tls+tcp's, made at the start, freed with the pipe */
	int tls_done;      /* its handshake is over (I/O thread) */
	pnc_pollfd pfd;
	pnc_timer timer; /* handshake deadline, then linger limit */
	pnc_task close_task;
	pnc_task flush_task;
	pnc_task parse_task; /* frames left in the buffer, after a resume */
	int handshaken;
	int failed;
	int finished;
	int read_owner;      /* READ_FREE, READ_IO or READ_CALLER (atomic) */
	int finish_deferred; /* the close waits for a caller to give reads back */
	/* reads lent to callers, under the socket's lock */
	int reads_lent;
	int handback_lapsed; /* the timer found a caller reading: end re-arms it */
	unsigned lent_reads; /* receives that ended */
	unsigned lent_reads_seen; /* at the timer's last look */
	int handback_ms; /* the period now */
	pnc_timer handback_timer;
	int draining;
	pnc_node hs_node; /* on its listener's handshaking list (I/O thread) */
	uint8_t hs_in[8];
	size_t hs_got;
	uint8_t hs_out[8];
	size_t hs_sent;
	/* the write side, under wmtx */
	pnc_mtx wmtx;
	pnc_ring wq;
	size_t wq_bytes;
	size_t wsent; /* bytes of the first queued message already written */
	int64_t last_send_ns;
	unsigned recvs_at_send; /* the socket's receive count then */
	int wblocked;      /* the kernel took no more: POLL_OUT flushes */
	int flush_posted;  /* the I/O thread will flush a corked burst */
	int wfull;
	int wclosed;
	int werr;
	int wok; /* none of the three: read without the lock by the protocol */
	int wgrow; /* ipc: its buffers grow at the first frame past IPC_GROW_AT */
	/* the read side, I/O thread only */
	pnc_msg *rblock; /* the read buffer (stream_rbuf), while reading */
	size_t rlen;
	pnc_msg *rmsg; /* a large frame being read in place, grown as it comes */
	size_t rgot;   /* its bytes in rmsg so far */
	size_t rwant;  /* its length, of which rmsg has room for rmsg->len */
	int rfull; /* the last read took all it asked for: more is likely there */
	int rleft; /* atomic: whole frames wait in the buffer for the resume */
	const pnc_body_source *rbodies; /* a caller's, while it reads */
} stream_pipe;

static const pnc_pipe_ops stream_pipe_ops;

static uint64_t
get_u64(const uint8_t *b)
{
	return ((uint64_t) pnc_get_u32(b) << 32) | pnc_get_u32(b + 4);
}

/* The socket's calls, or the TLS engine's (which takes its own lock). */
static int
stream_io_readv(stream_pipe *sp, pnc_iov *iov, int n, size_t *np)
{
	return sp->tls != NULL ? pnc_tls_readv(sp->tls, iov, n, np)
	                       : pnc_net_readv(sp->fd, iov, n, np);
}

static int
stream_io_read(stream_pipe *sp, void *buf, size_t len, size_t *np)
{
	pnc_iov iov;

	if (sp->tls == NULL)
		return pnc_net_read(sp->fd, buf, len, np);
	PNC_IOV_BASE(&iov) = buf;
	PNC_IOV_LEN(&iov) = len;
	return pnc_tls_readv(sp->tls, &iov, 1, np);
}

static int
stream_io_writev(stream_pipe *sp, pnc_iov *iov, int n, size_t *np)
{
	return sp->tls != NULL ? pnc_tls_writev(sp->tls, iov, n, np)
	                       : pnc_net_writev(sp->fd, iov, n, np);
}

/* Encrypted output waits in the engine: the pipe waits for POLL_OUT. */
static int
stream_tls_out_waits(stream_pipe *sp)
{
	return sp->tls != NULL && pnc_tls_out_pending(sp->tls);
}

/* Decrypted bytes wait in the engine, which the poller cannot see. */
static void
stream_tls_kick(stream_pipe *sp)
{
	if (sp->tls != NULL && pnc_tls_in_pending(sp->tls))
		pnc_pipe_post(&sp->p, &sp->parse_task);
}

/* Ends the pipe's life on the I/O thread: descriptor gone, reference dropped. */
static void
stream_finish(stream_pipe *sp)
{
	pnc_socket *s = sp->p.sock;
	int caller_reads;

	if (sp->finished)
		return;
	/* Never close the descriptor under a caller polling it: it comes back. */
	pnc_sock_lock(s);
	caller_reads = pnc_atomic_load_acquire_int(&sp->read_owner) == READ_CALLER;
	sp->finish_deferred = caller_reads;
	pnc_sock_unlock(s);
	if (caller_reads)
		return;
	sp->finished = 1;
	pnc_timer_cancel(&sp->timer);
	pnc_timer_cancel(&sp->handback_timer);
	pnc_pollfd_del(&sp->pfd);
	/* Under the write lock: Python threads ask the descriptor for addresses. */
	pnc_mtx_lock(&sp->wmtx);
	if (sp->tls != NULL)
		pnc_tls_shutdown(sp->tls); /* its close_notify, if the socket takes it */
	pnc_net_close(sp->fd);
	sp->fd = PNC_FD_NONE;
	pnc_mtx_unlock(&sp->wmtx);
	pnc_pipe_rele(&sp->p); /* the transport's */
}

static void
stream_wok_update_locked(stream_pipe *sp)
{
	pnc_atomic_store_release_int(&sp->wok, !sp->wfull && !sp->wclosed && !sp->werr);
}

/* Off its listener's handshaking list, if on it; I/O thread. */
static void
stream_handshake_over(stream_pipe *sp)
{
	pnc_stream_ep *se = sp->p.ep->tdata;

	if (pnc_node_linked(&sp->hs_node)) {
		pnc_list_remove(&sp->hs_node);
		se->nhandshaking--;
	}
}

/*
 * A failure on the I/O thread: the pipe closes; one in its handshake is
 * refused, and its endpoint hears why (a dialer dials again).
 */
static void
stream_fail(stream_pipe *sp, int err)
{
	char tls_why[PNC_WHY_MAX] = "";

	if (sp->failed)
		return;
	sp->failed = 1;
	if (!sp->handshaken)
		stream_handshake_over(sp);
	pnc_mtx_lock(&sp->wmtx);
	if (sp->werr == 0)
		sp->werr = err; /* nothing more gets written, nothing lingers */
	stream_wok_update_locked(sp);
	pnc_mtx_unlock(&sp->wmtx);
	if (!sp->handshaken) {
		if (sp->tls != NULL)
			pnc_tls_failure(sp->tls, tls_why, sizeof(tls_why));
		pnc_ep_handshake_failed(sp->p.ep, err,
		    sp->tls != NULL && !sp->tls_done ? "TLS handshake" : "SP handshake", tls_why);
	}
	pnc_pipe_close(&sp->p);
}

/* A write queue entry: a message, or a chunk of copied frames. */
static size_t
stream_frame_len(const stream_pipe *sp, pnc_msg *m)
{
	return m->framed ? m->len : sp->plen + pnc_msg_wire_len(m);
}

static uint8_t *
stream_frame_start(const stream_pipe *sp, pnc_msg *m)
{
	return m->framed ? pnc_msg_wire(m) : pnc_msg_wire(m) - sp->plen;
}

/* iov[] for a queue entry's bytes past the first skip: 1 or 2 (a lent
 * body, after the prefix and header); *want grows by their length. */
static int
stream_entry_iov(const stream_pipe *sp, pnc_msg *m, size_t skip, pnc_iov *iov, size_t *want)
{
	size_t head = sp->plen + m->hlen;
	int n = 0;

	*want += stream_frame_len(sp, m) - skip;
	if (m->lent == NULL) {
		PNC_IOV_BASE(&iov[0]) = stream_frame_start(sp, m) + skip;
		PNC_IOV_LEN(&iov[0]) = stream_frame_len(sp, m) - skip;
		return 1;
	}
	if (skip < head) {
		PNC_IOV_BASE(&iov[n]) = stream_frame_start(sp, m) + skip;
		PNC_IOV_LEN(&iov[n]) = head - skip;
		n++;
		skip = head;
	}
	PNC_IOV_BASE(&iov[n]) = (void *) (m->lent + (skip - head));
	PNC_IOV_LEN(&iov[n]) = m->len - (skip - head);
	return n + 1;
}

/* Drops what the kernel took from the front of the queue. */
static void
stream_consume_locked(stream_pipe *sp, size_t done)
{
	while (done > 0) {
		pnc_msg *m = pnc_ring_at(&sp->wq, 0);
		size_t left = stream_frame_len(sp, m) - sp->wsent;
		if (done < left) {
			sp->wsent += done;
			return;
		}
		done -= left;
		sp->wsent = 0;
		sp->wq_bytes -= stream_frame_len(sp, m);
		pnc_msg_free(pnc_ring_get(&sp->wq));
	}
}

/* Writes as much of the queue as the kernel takes: 0 all, PNC_EAGAIN some. */
static int
stream_flush_locked(stream_pipe *sp)
{
	pnc_iov iov[PNC_IOV_MAX];
	int rv;

	if (sp->tls != NULL && (rv = pnc_tls_flush(sp->tls)) != 0 && rv != PNC_EAGAIN)
		return rv;
	while (sp->wq.len > 0) {
		size_t want = 0, done;
		int n = 0;

		for (size_t i = 0; i < sp->wq.len && n + 2 <= PNC_IOV_MAX; i++)
			n += stream_entry_iov(sp, pnc_ring_at(&sp->wq, i), i == 0 ? sp->wsent : 0,
			    &iov[n], &want);
		if ((rv = stream_io_writev(sp, iov, n, &done)) != 0)
			return rv;
		stream_consume_locked(sp, done);
		if (done < want)
			return PNC_EAGAIN; /* the socket buffer is full */
	}
	return stream_tls_out_waits(sp) ? PNC_EAGAIN : 0;
}

static int
stream_full_locked(const stream_pipe *sp)
{
	return sp->wq.len >= WQ_MAX_MSGS || sp->wq_bytes >= WQ_MAX_BYTES;
}

static void
stream_wait_writable_locked(stream_pipe *sp)
{
	sp->wblocked = 1;
	pnc_pollfd_want(&sp->pfd, PNC_POLL_OUT, 0);
}

/*
 * Write on the sender's thread: a lone message, or a burst's full batch.
 * m, just queued, may be a broadcast's that the socket knows is part of a
 * stream (pnc_sock_broadcast): never lone, whatever this pipe's gap.
 * joined: the queue held others before m.
 */
static int
stream_send_now_locked(stream_pipe *sp, const pnc_msg *m, int joined)
{
	int64_t now;
	unsigned recvs;
	int lone;

	/* A socket's batch of broadcasts (pnc_sock_broadcast) is a burst whole. */
	if (m->framed)
		return !sp->wblocked;
	/* Joining a corked stream: no clock read, the hot path's biggest cost. */
	if (joined)
		return !sp->wblocked && sp->wq_bytes >= CORK_BYTES;
	now = pnc_clock_ns();
	recvs = pnc_atomic_load_relaxed_uint(&sp->p.sock->recvs);
	lone = !m->in_stream &&
	    (now - sp->last_send_ns >= CORK_WINDOW_NS || recvs != sp->recvs_at_send);
	sp->last_send_ns = now;
	sp->recvs_at_send = recvs;
	if (sp->wblocked)
		return 0;
	return lone || sp->wq_bytes >= CORK_BYTES;
}

/* Copies m's frame (flen bytes; its body not lent) to the chunk at the
 * queue's tail, or to a new one: 0, or PNC_ENOMEM.  m stays the caller's.
 * A socket's batch there is others' too: never written to. */
static int
stream_copy_locked(stream_pipe *sp, const pnc_msg *m, size_t flen)
{
	pnc_msg *c = pnc_ring_at(&sp->wq, sp->wq.len - 1);

	if (!c->framed || pnc_msg_shared(c) || c->cap - c->off - c->len < flen) {
		if (pnc_msg_alloc(&c, CHUNK_BYTES) != 0)
			return PNC_ENOMEM;
		c->framed = 1;
		c->len = 0;
		if (pnc_ring_put(&sp->wq, c) != 0) {
			pnc_msg_free(c);
			return PNC_ENOMEM;
		}
	}
	pnc_msg_frame_append(c, m, sp->plen);
	return 0;
}

/*
 * A lent body (see pnc_msg_lend), just queued, goes to the kernel from the
 * sender's own memory when nothing is queued before it.  What the kernel
 * does not take at once waits at the head of the queue: copied in, unless
 * the message holds the body's owner (pnc_msg_lent_owned), and then as it
 * is.  0: all of it went.
 */
static int
stream_write_lent_locked(stream_pipe *sp, pnc_msg *m)
{
	size_t head = sp->plen + m->hlen, done = 0, want = 0;
	pnc_iov iov[2];

	if (sp->wq.len == 1 && !sp->wblocked) {
		int n = stream_entry_iov(sp, m, 0, iov, &want);

		if (stream_io_writev(sp, iov, n, &done) != 0)
			done = 0; /* the flush that follows meets the error again */
		if (done == want)
			return 0;
		sp->wsent = done; /* m heads the queue */
	}
	if (!pnc_msg_lent_owned(m))
		pnc_msg_keep(m, done > head ? done - head : 0);
	return 1;
}

/* Queues m, a copy of it when it is small and others are queued (see
 * COPY_MAX), or a reference to it when it is shared: 0, or PNC_ENOMEM. */
static int
stream_queue_locked(stream_pipe *sp, pnc_msg *m, size_t flen, int shared, int *copied)
{
	/* Lent bodies are never this small (PNC_LEND_MIN_BYTES); a socket's
	 * batch, however small, is frames already: queued as it is. */
	*copied = sp->wq.len > 0 && flen <= COPY_MAX && m->lent == NULL && !m->framed;
	if (*copied)
		return stream_copy_locked(sp, m, flen);
	if (!m->framed)
		pnc_msg_wire_prefix(m); /* plen bytes of it are this transport's */
	if (sp->wgrow && flen > IPC_GROW_AT) {
		sp->wgrow = 0;
		pnc_net_set_buffers(sp->fd, IPC_BUFFER_BYTES);
	}
	if (pnc_ring_put(&sp->wq, m) != 0)
		return PNC_ENOMEM;
	if (shared)
		pnc_msg_hold(m);
	return 0;
}

/* Socket locked (see pnc_pipe_ops.send): a failure closes the pipe later.
 * shared: see pnc_pipe_ops.send_shared. */
static int
stream_send_msg(pnc_pipe *p, pnc_msg *m, int shared)
{
	stream_pipe *sp = (stream_pipe *) p;
	size_t flen = stream_frame_len(sp, m);
	int rv = 0, joined, copied;

	pnc_mtx_lock(&sp->wmtx);
	if (sp->wclosed || sp->werr || sp->wfull) { /* not writable: see stream_writable */
		rv = sp->wclosed || sp->werr ? PNC_ECLOSED : PNC_EAGAIN;
		pnc_mtx_unlock(&sp->wmtx);
		return rv;
	}
	joined = sp->wq.len > 0;
	if (stream_queue_locked(sp, m, flen, shared, &copied) != 0) {
		pnc_mtx_unlock(&sp->wmtx);
		return PNC_ECLOSED; /* out of memory: let the protocol try elsewhere */
	}
	if (!copied && m->lent != NULL && stream_write_lent_locked(sp, m) == 0) {
		(void) pnc_ring_get(&sp->wq); /* all of it went: out again */
		pnc_mtx_unlock(&sp->wmtx);
		pnc_msg_free(m);
		return 0;
	}
	sp->wq_bytes += flen;
	if (stream_send_now_locked(sp, m, joined)) {
		rv = stream_flush_locked(sp);
		if (rv == PNC_EAGAIN)
			stream_wait_writable_locked(sp);
		else if (rv != 0)
			sp->werr = rv;
	} else if (!sp->wblocked && !sp->flush_posted) {
		sp->flush_posted = 1;
		pnc_pipe_post(p, &sp->flush_task);
	}
	if (stream_full_locked(sp))
		sp->wfull = 1;
	stream_wok_update_locked(sp);
	pnc_mtx_unlock(&sp->wmtx);
	if (copied && !shared)
		pnc_msg_free(m);
	if (rv != 0 && rv != PNC_EAGAIN)
		pnc_pipe_close_later(p); /* the message went down with the connection */
	return 0;
}

static int
stream_send(pnc_pipe *p, pnc_msg *m)
{
	return stream_send_msg(p, m, 0);
}

static int
stream_send_shared(pnc_pipe *p, pnc_msg *m)
{
	return stream_send_msg(p, m, 1);
}

static int
stream_writable(pnc_pipe *p)
{
	stream_pipe *sp = (stream_pipe *) p;

	return pnc_atomic_load_acquire_int(&sp->wok);
}

static void
stream_on_writable(stream_pipe *sp)
{
	int rv, notify, drained;

	pnc_mtx_lock(&sp->wmtx);
	sp->flush_posted = 0; /* this flush is the one it asked for */
	rv = sp->werr ? sp->werr : stream_flush_locked(sp);
	if (rv == 0) {
		sp->wblocked = 0;
		pnc_pollfd_want(&sp->pfd, 0, PNC_POLL_OUT);
	} else if (rv == PNC_EAGAIN) {
		stream_wait_writable_locked(sp);
	} else {
		sp->werr = rv;
	}
	/* Tell the protocol once the queue is down to half. */
	notify = sp->wfull && sp->wq.len <= WQ_MAX_MSGS / 2 &&
	    sp->wq_bytes <= WQ_MAX_BYTES / 2;
	if (notify)
		sp->wfull = 0;
	drained = sp->draining && ((sp->wq.len == 0 && rv != PNC_EAGAIN) || sp->werr);
	stream_wok_update_locked(sp);
	pnc_mtx_unlock(&sp->wmtx);
	if (rv != 0 && rv != PNC_EAGAIN)
		pnc_pipe_close(&sp->p);
	else if (notify)
		pnc_pipe_became_writable(&sp->p);
	if (drained)
		stream_finish(sp);
}

/* Hands a batch up: 0; 1, the socket's queue is full (the pipe is paused);
 * -1, this pipe closed meanwhile (see pnc_pipe_deliver). */
static int
stream_deliver(stream_pipe *sp, pnc_msg **batch, size_t *nb)
{
	int rv = 0;

	if (*nb > 0)
		rv = pnc_pipe_deliver(&sp->p, batch, *nb);
	*nb = 0;
	return rv;
}

/*
 * The socket's queue is full, and whole frames are left in the buffer:
 * they wait for the pipe's resume (stream_pause), which has them parsed,
 * if the pipe has others to be fair to.  0 if the resume came already or
 * the pipe is its socket's only one: the caller parses on.
 */
static int
stream_rest_waits(stream_pipe *sp)
{
	pnc_socket *s = sp->p.sock;
	int waits;

	pnc_atomic_store_release_int(&sp->rleft, 1);
	pnc_sock_lock(s);
	waits = sp->p.paused && !pnc_list_single(&s->pipes);
	pnc_sock_unlock(s);
	if (!waits)
		pnc_atomic_store_release_int(&sp->rleft, 0);
	return waits;
}

static uint8_t *
stream_rbuf(stream_pipe *sp)
{
	return pnc_msg_body(sp->rblock);
}

/* The body length that the frame prefix at h says. */
static uint64_t
stream_prefix_len(const stream_pipe *sp, const uint8_t *h)
{
	return get_u64(h + sp->plen - 8);
}

/* The room to make for a frame of `want` bytes of which `got` are here. */
static size_t
stream_frame_room(size_t want, size_t got)
{
	size_t room = got > FRAME_FIRST / 2 ? 2 * got : FRAME_FIRST;

	return room < want ? room : want;
}

/*
 * sp->rmsg, with room for the frame's next bytes: made for the frame's
 * start (the `got` bytes of it in the buffer, or none), or grown when
 * full.  Only a message made for the whole frame takes its body from the
 * caller's source: the one the caller keeps.
 */
static int
stream_frame_make_room(stream_pipe *sp, size_t got)
{
	pnc_msg *old = sp->rmsg, *m;
	size_t room;
	int rv;

	if (old != NULL && sp->rgot < old->len)
		return 0;
	room = stream_frame_room(sp->rwant, old != NULL ? sp->rgot : got);
	if ((rv = pnc_msg_alloc_from(&m, room, room == sp->rwant ? sp->rbodies : NULL)) != 0)
		return rv;
	if (old != NULL) {
		memcpy(pnc_msg_body(m), pnc_msg_body(old), sp->rgot);
		pnc_msg_free(old);
	}
	sp->rmsg = m;
	return 0;
}

/* Every whole frame in the buffer goes up; a large one is read in place. */
static int
stream_parse(stream_pipe *sp)
{
	pnc_msg *batch[DELIVER_BATCH];
	uint8_t *rbuf = stream_rbuf(sp);
	size_t nb = 0, pos = 0;
	size_t max = pnc_atomic_load_relaxed_size(&sp->p.ep->opts.recv_max);
	int rv = 0, delivered;

	while (sp->rlen - pos >= sp->plen) {
		const uint8_t *h = rbuf + pos;
		size_t avail = sp->rlen - pos - sp->plen;
		uint64_t len;
		pnc_msg *m;

		if (sp->plen == 9 && h[0] != 0x01) {
			PNC_STAT(sp->p.sock->stats.dropped_bad_header, 1);
			rv = PNC_EPROTO;
			break;
		}
		len = stream_prefix_len(sp, h);
		if ((max != 0 && len > max) || len > FRAME_MAX) {
			PNC_STAT(sp->p.sock->stats.dropped_too_large, 1);
			rv = PNC_EMSGSIZE;
			break;
		}
		/* The rest of it comes with the next read; a large frame's
		 * message is made once its body starts to come (see
		 * stream_read_in_place). */
		if (avail < len && (len < IN_PLACE_MIN || avail == 0))
			break;
		if (avail < len) {
			sp->rwant = (size_t) len;
			if ((rv = stream_frame_make_room(sp, avail)) != 0)
				break;
			memcpy(pnc_msg_body(sp->rmsg), h + sp->plen, avail);
			sp->rgot = avail;
			pos = sp->rlen;
			break;
		}
		if ((rv = pnc_msg_alloc_from(&m, (size_t) len, sp->rbodies)) != 0)
			break;
		memcpy(pnc_msg_body(m), h + sp->plen, (size_t) len);
		pos += sp->plen + (size_t) len;
		batch[nb++] = m;
		if (nb == DELIVER_BATCH) {
			if ((delivered = stream_deliver(sp, batch, &nb)) < 0)
				return PNC_ECLOSED;
			if (delivered > 0 && sp->rlen - pos >= sp->plen && stream_rest_waits(sp))
				break;
		}
	}
	if (stream_deliver(sp, batch, &nb) < 0)
		return PNC_ECLOSED;
	memmove(rbuf, rbuf + pos, sp->rlen - pos);
	sp->rlen -= pos;
	return rv;
}

/*
 * The rest of a large frame goes straight into its message, and, once its
 * message has room for all of it, the next frame's prefix into the buffer
 * behind it, in one read: if that frame is large too, it is read in place
 * from its first byte, never copied.  Its message is made at the next
 * read, not now: a caller's next body made before it has let go of the
 * last would make three alive at a time, and malloc gives the third's
 * pages back to the system at every turn.
 */
static int
stream_read_in_place(stream_pipe *sp)
{
	pnc_msg *m;
	size_t left, n, one = 1;
	pnc_iov iov[2];
	int last, rv;

	if (sp->rmsg == NULL) { /* the prefix alone is in the buffer */
		sp->rwant = (size_t) stream_prefix_len(sp, stream_rbuf(sp)); /* checked */
		sp->rgot = 0;
	}
	if ((rv = stream_frame_make_room(sp, 0)) != 0)
		return rv;
	sp->rlen = 0; /* the prefix is in use no more */
	m = sp->rmsg;
	left = m->len - sp->rgot;
	last = m->len == sp->rwant;

	PNC_IOV_BASE(&iov[0]) = (uint8_t *) pnc_msg_body(m) + sp->rgot;
	PNC_IOV_LEN(&iov[0]) = left;
	PNC_IOV_BASE(&iov[1]) = stream_rbuf(sp); /* empty while a frame is read in place */
	PNC_IOV_LEN(&iov[1]) = sp->plen;
	if ((rv = stream_io_readv(sp, iov, last ? 2 : 1, &n)) != 0)
		return rv;
	sp->rfull = n == left + (last ? sp->plen : 0);
	if (n < left || !last) {
		sp->rgot += n;
		return 0;
	}
	sp->rmsg = NULL;
	sp->rlen = n - left;
	if (stream_deliver(sp, &m, &one) < 0)
		return PNC_ECLOSED;
	return sp->rlen > 0 ? stream_parse(sp) : 0;
}

/* Only the prefix of a frame to read in place is in the buffer. */
static int
stream_large_waits(stream_pipe *sp)
{
	return sp->rlen == sp->plen && stream_prefix_len(sp, stream_rbuf(sp)) >= IN_PLACE_MIN;
}

/* 0: the kernel had nothing to read. */
static int
stream_on_readable(stream_pipe *sp)
{
	size_t n;
	int rv;

	sp->rfull = 0;
	if (sp->rblock == NULL && pnc_msg_alloc(&sp->rblock, RBUF_SIZE) != 0) {
		stream_fail(sp, PNC_ENOMEM);
		return 1;
	}
	if (pnc_atomic_swap_int(&sp->rleft, 0)) {
		rv = stream_parse(sp); /* what waited for the resume goes first */
	} else if (sp->rmsg != NULL || stream_large_waits(sp)) {
		rv = stream_read_in_place(sp);
	} else {
		size_t want = RBUF_SIZE - sp->rlen;

		if (want > CALLER_READ_MAX &&
		    pnc_atomic_load_relaxed_int(&sp->read_owner) == READ_CALLER)
			want = CALLER_READ_MAX;
		rv = stream_io_read(sp, stream_rbuf(sp) + sp->rlen, want, &n);
		if (rv == 0) {
			sp->rfull = n == want;
			sp->rlen += n;
			rv = stream_parse(sp);
		}
	}
	if (sp->rlen == 0 && sp->rmsg == NULL) {
		/* An idle connection keeps no buffer. */
		pnc_msg_free(sp->rblock);
		sp->rblock = NULL;
	}
	if (rv != 0 && rv != PNC_EAGAIN && rv != PNC_ECLOSED)
		stream_fail(sp, rv);
	return rv != PNC_EAGAIN;
}

static int
stream_handshake_check(stream_pipe *sp)
{
	const uint8_t *h = sp->hs_in;

	if (h[0] != 0 || h[1] != 'S' || h[2] != 'P' || h[3] != 0 || h[6] != 0 ||
	    h[7] != 0)
		return PNC_EPROTO;
	sp->p.peer_id = (uint16_t) ((h[4] << 8) | h[5]);
	return 0;
}

/* TLS's handshake, before the SP one: 1 once it is over. */
static int
stream_tls_handshake(stream_pipe *sp)
{
	unsigned wants;
	int rv = pnc_tls_handshake(sp->tls);

	if (rv == PNC_EAGAIN) {
		/* Level-triggered: POLL_OUT only while output waits for it. */
		wants = pnc_tls_wants(sp->tls);
		pnc_pollfd_want(&sp->pfd, wants & PNC_POLL_OUT,
		    (wants & PNC_POLL_OUT) ? 0 : PNC_POLL_OUT);
		return 0;
	}
	if (rv != 0) {
		stream_fail(sp, rv);
		return 0;
	}
	sp->tls_done = 1;
	return 1;
}

static void
stream_handshake_io(stream_pipe *sp, unsigned events)
{
	size_t n;
	int rv = 0, sent;

	if (sp->tls != NULL && !sp->tls_done) {
		if (!stream_tls_handshake(sp))
			return;
		events |= PNC_POLL_IN; /* the peer's header may be in already */
	}
	if (sp->hs_sent < 8) {
		pnc_iov iov;
		PNC_IOV_BASE(&iov) = sp->hs_out + sp->hs_sent;
		PNC_IOV_LEN(&iov) = 8 - sp->hs_sent;
		rv = stream_io_writev(sp, &iov, 1, &n);
		if (rv == 0)
			sp->hs_sent += n;
	} else if (sp->tls != NULL) {
		rv = pnc_tls_flush(sp->tls);
	}
	sent = sp->hs_sent == 8 && !stream_tls_out_waits(sp);
	if (rv == 0 || rv == PNC_EAGAIN)
		pnc_pollfd_want(&sp->pfd, sent ? 0 : PNC_POLL_OUT, sent ? PNC_POLL_OUT : 0);
	if ((rv == 0 || rv == PNC_EAGAIN) && (events & (PNC_POLL_IN | PNC_POLL_ERR)) &&
	    sp->hs_got < 8) {
		/* Exactly the header: frames after it are read as frames. */
		rv = stream_io_read(sp, sp->hs_in + sp->hs_got, 8 - sp->hs_got, &n);
		if (rv == 0)
			sp->hs_got += n;
	}
	if (rv != 0 && rv != PNC_EAGAIN) {
		stream_fail(sp, rv == PNC_ECONNSHUT ? PNC_ECONNRESET : rv);
		return;
	}
	if (sp->hs_got < 8 || !sent)
		return;
	if ((rv = stream_handshake_check(sp)) != 0) {
		stream_fail(sp, rv);
		return;
	}
	sp->handshaken = 1;
	stream_handshake_over(sp);
	pnc_timer_cancel(&sp->timer);
	/*
	 * Frames wait in the kernel until the pipe has joined its socket (it
	 * may wait for a pre-connect verdict first): a pipe that has not
	 * joined has nowhere to deliver them.  stream_started reads again.
	 */
	pnc_pollfd_want(&sp->pfd, 0, PNC_POLL_IN);
	pnc_pipe_attach(&sp->p);
}

/* Joined: frames come off the wire now, unless a receiver reads them. */
static void
stream_started(pnc_pipe *p)
{
	stream_pipe *sp = (stream_pipe *) p;

	pnc_sock_lock(p->sock);
	if (!sp->reads_lent && !p->paused && !p->closed) {
		pnc_pollfd_want(&sp->pfd, PNC_POLL_IN, 0);
		stream_tls_kick(sp); /* frames that came with the header */
	}
	pnc_sock_unlock(p->sock);
}

/* Whoever reads holds the read side: the I/O thread, or a waiting caller. */
static int
stream_read_take(stream_pipe *sp, int who)
{
	int expected = READ_FREE;

	return pnc_atomic_cas_int(&sp->read_owner, &expected, who);
}

static int
stream_read_begin(pnc_pipe *p)
{
	stream_pipe *sp = (stream_pipe *) p;

	/* A descriptor no caller can wait on (a Windows pipe): the I/O thread's. */
	if (sp->draining || !pnc_net_selectable(sp->fd) || !stream_read_take(sp, READ_CALLER))
		return PNC_EBUSY;
	if (!sp->reads_lent) {
		sp->reads_lent = 1;
		pnc_pollfd_want(&sp->pfd, 0, PNC_POLL_IN);
		pnc_timer_arm(&sp->handback_timer, sp->handback_ms);
	}
	return 0;
}

static void
stream_read_some(stream_pipe *sp, pnc_fd wake, int64_t until)
{
	int64_t left;

	/* More is likely there: a read says as much as a poll would. */
	if ((sp->rfull || pnc_atomic_load_acquire_int(&sp->rleft)) &&
	    stream_on_readable(sp))
		return;
	left = until - pnc_clock_ms();
	/* Out of time: one read, no poll. */
	if (left <= 0 || pnc_net_wait_readable(sp->fd, wake,
	                     until == PNC_FOREVER ? -1 : (int) left))
		stream_on_readable(sp);
}

static void
stream_read_wait(pnc_pipe *p, pnc_fd wake, int64_t until, const pnc_body_source *bodies)
{
	stream_pipe *sp = (stream_pipe *) p;

	sp->rbodies = bodies; /* the I/O thread's reads use none */
	stream_read_some(sp, wake, until);
	sp->rbodies = NULL;
}

/* The I/O thread reads again (socket locked). */
static void
stream_reads_back(stream_pipe *sp)
{
	sp->reads_lent = 0;
	sp->handback_lapsed = 0;
	sp->handback_ms = HANDBACK_MS;
	if (!sp->p.paused && !sp->p.closed)
		pnc_pollfd_want(&sp->pfd, PNC_POLL_IN, 0);
}

static void
stream_read_end(pnc_pipe *p)
{
	stream_pipe *sp = (stream_pipe *) p;

	pnc_atomic_store_release_int(&sp->read_owner, READ_FREE);
	sp->lent_reads++;
	if (sp->finish_deferred) {
		pnc_pipe_post(p, &sp->close_task);
	} else if (sp->handback_lapsed) {
		sp->handback_lapsed = 0;
		pnc_timer_arm(&sp->handback_timer, sp->handback_ms);
	}
}

/* A caller reading now gives them back when it ends (the socket sees to it). */
static void
stream_reads_back_op(pnc_pipe *p)
{
	stream_pipe *sp = (stream_pipe *) p;

	if (sp->reads_lent &&
	    pnc_atomic_load_acquire_int(&sp->read_owner) != READ_CALLER)
		stream_reads_back(sp);
}

/* The reads were in use for a whole period: the next is twice as long. */
static void
stream_handback_longer(stream_pipe *sp)
{
	sp->handback_ms = sp->handback_ms >= HANDBACK_MAX_MS / 2 ? HANDBACK_MAX_MS
	                                                         : sp->handback_ms * 2;
}

/* Reads lent, a handback period on: still in use, or back to the I/O thread? */
static void
stream_handback_cb(void *arg)
{
	stream_pipe *sp = arg;
	pnc_socket *s = sp->p.sock;

	pnc_sock_lock(s);
	if (!sp->reads_lent) {
		/* given back meanwhile */
	} else if (pnc_atomic_load_acquire_int(&sp->read_owner) == READ_CALLER) {
		/* A caller waits in a read: no ticking while it sleeps there. */
		stream_handback_longer(sp);
		sp->handback_lapsed = 1;
	} else if (sp->lent_reads != sp->lent_reads_seen) {
		sp->lent_reads_seen = sp->lent_reads;
		stream_handback_longer(sp);
		pnc_timer_arm(&sp->handback_timer, sp->handback_ms);
	} else {
		stream_reads_back(sp);
	}
	pnc_sock_unlock(s);
}

/*
 * The I/O thread's own reference for the callback: what it does may finish
 * the pipe (a lingering pipe's last write fails), and it looks on after.
 */
static void
stream_pipe_cb(pnc_pollfd *pfd, unsigned events)
{
	stream_pipe *sp = pfd->arg;

	pnc_pipe_hold(&sp->p);
	if (!sp->handshaken) {
		stream_handshake_io(sp, events);
	} else {
		if (events & PNC_POLL_OUT)
			stream_on_writable(sp);
		if ((events & (PNC_POLL_IN | PNC_POLL_ERR)) && !sp->finished &&
		    !sp->draining && stream_read_take(sp, READ_IO)) {
			stream_on_readable(sp);
			pnc_atomic_store_release_int(&sp->read_owner, READ_FREE);
			if (!sp->failed)
				stream_tls_kick(sp);
		}
	}
	pnc_pollfd_rearm(pfd); /* while sp holds it */
	pnc_pipe_rele(&sp->p);
}

/* The tail of a corked burst, on the I/O thread. */
static void
stream_flush_task(void *arg)
{
	stream_pipe *sp = arg;

	/*
	 * A sender on this CPU that woke us may have more to add: let it.  Per
	 * flush, not once per batch of them: a publisher to 64 pipes then adds
	 * to the bursts of those not yet flushed (pub/sub 1 -> 64: 6.8 us of
	 * the publisher's CPU a message, against 37 us with one yield a batch).
	 */
	pnc_thread_yield();
	if (!sp->finished)
		stream_on_writable(sp);
	pnc_pipe_rele(&sp->p); /* pnc_pipe_post's */
}

static void
stream_timer_cb(void *arg)
{
	stream_pipe *sp = arg;

	if (!sp->handshaken && !sp->draining)
		stream_fail(sp, PNC_ETIMEDOUT);
	else
		stream_finish(sp); /* the linger time is up */
}

static void
stream_close_on_io(void *arg)
{
	stream_pipe *sp = arg;
	int pending;

	pnc_mtx_lock(&sp->wmtx);
	pending = sp->handshaken && (sp->wq.len > 0 || stream_tls_out_waits(sp)) &&
	    sp->werr == 0;
	pnc_mtx_unlock(&sp->wmtx);
	if (!pending || sp->draining) {
		stream_finish(sp);
	} else {
		/* Give what was already sent a moment to reach the peer. */
		sp->draining = 1;
		pnc_pollfd_want(&sp->pfd, PNC_POLL_OUT, PNC_POLL_IN);
		pnc_timer_arm(&sp->timer, LINGER_MS);
	}
	pnc_pipe_rele(&sp->p); /* pnc_pipe_post's */
}

static void
stream_close(pnc_pipe *p)
{
	stream_pipe *sp = (stream_pipe *) p;

	pnc_mtx_lock(&sp->wmtx);
	sp->wclosed = 1;
	stream_wok_update_locked(sp);
	pnc_mtx_unlock(&sp->wmtx);
	pnc_pipe_post(p, &sp->close_task); /* the close goes on on the I/O thread */
}

static void
stream_pause(pnc_pipe *p, int paused)
{
	stream_pipe *sp = (stream_pipe *) p;

	if (paused) {
		pnc_pollfd_want(&sp->pfd, 0, PNC_POLL_IN);
		return;
	}
	if (!sp->reads_lent) {
		pnc_pollfd_want(&sp->pfd, PNC_POLL_IN, 0); /* else: when they come back */
		stream_tls_kick(sp);
	}
	/* No read brings frames already in the buffer: they are parsed on
	 * the I/O thread (or by a receiver reading the pipe meanwhile). */
	if (pnc_atomic_load_acquire_int(&sp->rleft))
		pnc_pipe_post(p, &sp->parse_task);
}

/* The pipe takes frames now (a TLS pipe's task may come while paused). */
static int
stream_tls_may_read(stream_pipe *sp)
{
	int may;

	pnc_sock_lock(sp->p.sock);
	may = !sp->p.paused && !sp->p.closed && sp->p.attached;
	pnc_sock_unlock(sp->p.sock);
	return may && pnc_tls_in_pending(sp->tls);
}

static void
stream_parse_task(void *arg)
{
	stream_pipe *sp = arg;

	if (!sp->finished && !sp->draining && stream_read_take(sp, READ_IO)) {
		if (pnc_atomic_load_acquire_int(&sp->rleft)) {
			stream_on_readable(sp);
		} else if (sp->tls != NULL && sp->handshaken && !sp->failed &&
		    stream_tls_may_read(sp)) {
			stream_on_readable(sp);
			if (!sp->failed)
				stream_tls_kick(sp);
		}
		pnc_atomic_store_release_int(&sp->read_owner, READ_FREE);
	}
	pnc_pipe_rele(&sp->p); /* pnc_pipe_post's */
}

static void
stream_destroy(pnc_pipe *p)
{
	stream_pipe *sp = (stream_pipe *) p;

	pnc_tls_conn_free(sp->tls);
	pnc_ring_fini(&sp->wq);
	pnc_msg_free(sp->rmsg);
	pnc_msg_free(sp->rblock);
	pnc_mtx_fini(&sp->wmtx);
	free(sp);
}

/*
 * The descriptor is asked under the write lock, which its close takes: a
 * closed pipe says so, never another connection's facts.  Both ends of a
 * unix socket go by the listener's address, as nng has it (a dialer's own
 * is unnamed): ipc by the path of its URL, abstract by the name the
 * listening end has, its own on the listener's side, its peer's on the
 * dialer's (the kernel's, so an auto-bound name shows as picked).
 */
static int
stream_addr(pnc_pipe *p, int remote, pnc_addr *a)
{
	stream_pipe *sp = (stream_pipe *) p;
	pnc_stream_kind kind = ((pnc_stream_ep *) p->ep->tdata)->kind;
	int rv;

	if (kind == PNC_STREAM_IPC) {
		memset(a, 0, sizeof(*a));
		a->family = PNC_AF_IPC;
		snprintf(a->path, sizeof(a->path), "%s", p->ep->url.addr);
		return 0;
	}
	if (kind == PNC_STREAM_ABSTRACT)
		remote = !p->ep->listener;
	pnc_mtx_lock(&sp->wmtx);
	rv = sp->fd == PNC_FD_NONE ? PNC_ECLOSED : pnc_net_addr(sp->fd, remote, a);
	pnc_mtx_unlock(&sp->wmtx);
	return rv;
}

static int
stream_get_int(pnc_pipe *p, const char *name, int64_t *vp)
{
	stream_pipe *sp = (stream_pipe *) p;
	int rv;

	if (sp->tls != NULL && strncmp(name, "tls-", 4) == 0)
		return pnc_tls_get_int(sp->tls, name, vp);
	if (sp->plen != 8)
		return PNC_ENOTSUP; /* ipc has no TCP options */
	pnc_mtx_lock(&sp->wmtx);
	rv = sp->fd == PNC_FD_NONE ? PNC_ECLOSED : pnc_net_get_tcp_option(sp->fd, name, vp);
	pnc_mtx_unlock(&sp->wmtx);
	return rv;
}

/* "tls-peer-cn", "tls-peer-alt-names": the engine keeps them to the end. */
static int
stream_get_string(pnc_pipe *p, const char *name, char *buf, size_t size)
{
	stream_pipe *sp = (stream_pipe *) p;

	return sp->tls != NULL ? pnc_tls_get_string(sp->tls, name, buf, size) : PNC_ENOTSUP;
}

static pnc_fd
stream_read_fd(pnc_pipe *p)
{
	return ((stream_pipe *) p)->fd;
}

static const pnc_pipe_ops stream_pipe_ops = {
	.send = stream_send,
	.send_shared = stream_send_shared,
	.started = stream_started,
	.takes_lent = 1,
	.read_fd = stream_read_fd,
	.read_begin = stream_read_begin,
	.read_wait = stream_read_wait,
	.read_end = stream_read_end,
	.reads_back = stream_reads_back_op,
	.addr = stream_addr,
	.get_int = stream_get_int,
	.writable = stream_writable,
	.pause = stream_pause,
	.close = stream_close,
	.destroy = stream_destroy,
};

/* tls+tcp: the I/O thread reads (see the top); every write is encrypted. */
static const pnc_pipe_ops stream_tls_pipe_ops = {
	.send = stream_send,
	.send_shared = stream_send_shared,
	.started = stream_started,
	.addr = stream_addr,
	.get_int = stream_get_int,
	.get_string = stream_get_string,
	.writable = stream_writable,
	.pause = stream_pause,
	.close = stream_close,
	.destroy = stream_destroy,
};

/* A listener's new connection joins the handshaking, the oldest may leave. */
static void
stream_handshake_limit(pnc_stream_ep *se, stream_pipe *sp)
{
	pnc_list_append(&se->handshaking, &sp->hs_node);
	if (++se->nhandshaking > HANDSHAKES_MAX) {
		stream_pipe *oldest = PNC_CONTAINER(pnc_list_first(&se->handshaking),
		    stream_pipe, hs_node);

		stream_fail(oldest, PNC_ETIMEDOUT); /* the transport's reference holds it */
	}
}

/* A new connection, either way: say who we are and wait to hear the peer. */
static void
stream_pipe_start(pnc_endpoint *ep, pnc_fd fd)
{
	pnc_stream_ep *se = ep->tdata;
	pnc_socket *s = ep->sock;
	stream_pipe *sp;
	int rv = 0;

	if (pnc_ep_closing(ep)) {
		pnc_net_close(fd); /* see pnc_ep_closing; its close told any waiter */
		return;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		pnc_net_close(fd);
		if (!ep->listener)
			pnc_ep_connect_failed(ep, PNC_ENOMEM);
		return;
	}
	pnc_pipe_init(&sp->p, ep->uses_tls ? &stream_tls_pipe_ops : &stream_pipe_ops, s, ep);
	sp->plen = se->prefix_len;
	sp->p.frame_prefix = (uint8_t) sp->plen;
	sp->fd = fd;
	pnc_mtx_init(&sp->wmtx);
	pnc_ring_init(&sp->wq);
	sp->wok = 1;
	pnc_timer_init(&sp->timer, stream_timer_cb, sp);
	pnc_timer_init(&sp->handback_timer, stream_handback_cb, sp);
	sp->handback_ms = HANDBACK_MS;
	pnc_task_init(&sp->close_task, stream_close_on_io, sp);
	pnc_task_init(&sp->flush_task, stream_flush_task, sp);
	pnc_task_init(&sp->parse_task, stream_parse_task, sp);
	sp->hs_out[1] = 'S';
	sp->hs_out[2] = 'P';
	sp->hs_out[4] = (uint8_t) (s->proto->self_id >> 8);
	sp->hs_out[5] = (uint8_t) s->proto->self_id;
	if (se->kind == PNC_STREAM_TCP) {
		int nodelay, keepalive;

		pnc_sock_lock(s); /* a Python thread may be setting them */
		nodelay = (int) ep->opts.tcp_nodelay;
		keepalive = (int) ep->opts.tcp_keepalive;
		pnc_sock_unlock(s);
		pnc_net_set_nodelay(fd, nodelay);
		pnc_net_set_keepalive(fd, keepalive);
	} else {
		sp->wgrow = 1;
	}
	if (ep->uses_tls) {
		pnc_tls_config *cfg = pnc_ep_tls(ep);

		rv = pnc_tls_conn_new(&sp->tls, cfg, ep->listener,
		    ep->listener ? NULL : ep->url.host, fd);
		pnc_tls_config_release(cfg);
	}
	if (rv != 0 || (rv = pnc_pollfd_add(&sp->pfd, fd,
	                    PNC_POLL_IN | PNC_POLL_OUT | PNC_POLL_ONESHOT, stream_pipe_cb, sp)) != 0) {
		sp->pfd.fd = PNC_FD_NONE;
		sp->handshaken = 0;
		stream_fail(sp, rv);
		return;
	}
	pnc_timer_arm(&sp->timer, HANDSHAKE_MS);
	if (ep->listener)
		stream_handshake_limit(se, sp);
}

static void
stream_accept_resume(void *arg)
{
	pnc_endpoint *ep = arg;
	pnc_stream_ep *se = ep->tdata;

	pnc_pollfd_want(&se->pfd, PNC_POLL_IN, 0);
}

static void
stream_accept_cb(pnc_pollfd *pfd, unsigned events)
{
	pnc_endpoint *ep = pfd->arg;
	pnc_stream_ep *se = ep->tdata;
	pnc_fd fd;

	(void) events;
	for (int i = 0; i < 64; i++) {
		int rv = pnc_net_accept(se->fd, &fd);
		if (rv == PNC_EAGAIN)
			return;
		if (rv == PNC_ENOFILES || rv == PNC_ENOMEM) {
			/* Level-triggered: without a pause this would spin. */
			pnc_pollfd_want(&se->pfd, 0, PNC_POLL_IN);
			pnc_timer_arm(&se->accept_timer, ACCEPT_PAUSE_MS);
			return;
		}
		if (rv == 0)
			stream_pipe_start(ep, fd);
	}
}

void
pnc_stream_ep_setup(pnc_endpoint *ep, pnc_stream_kind kind)
{
	pnc_stream_ep *se = ep->tdata;

	se->kind = kind;
	se->prefix_len = kind == PNC_STREAM_TCP ? 8 : 9;
	se->fd = PNC_FD_NONE;
	se->pfd.fd = PNC_FD_NONE;
	pnc_list_init(&se->handshaking);
	pnc_timer_init(&se->accept_timer, stream_accept_resume, ep);
}

int
pnc_stream_bind(pnc_endpoint *ep)
{
	pnc_stream_ep *se = ep->tdata;
	pnc_socket *s = ep->sock;
	pnc_fd fd;
	int rv;

	if ((rv = pnc_net_listen(&se->sa, &fd)) != 0)
		return rv;
	pnc_sock_lock(s);
	if (ep->closed) {
		rv = PNC_ECLOSED;
	} else if ((rv = pnc_pollfd_add(&se->pfd, fd, PNC_POLL_IN,
	                stream_accept_cb, ep)) == 0) {
		se->fd = fd;
		ep->bound = 1;
	}
	pnc_sock_unlock(s);
	if (rv != 0)
		pnc_net_close(fd);
	return rv;
}

static void
stream_connect_cb(pnc_pollfd *pfd, unsigned events)
{
	pnc_endpoint *ep = pfd->arg;
	pnc_stream_ep *se = ep->tdata;
	pnc_fd fd = se->fd;
	int rv = pnc_net_connect_result(fd);

	(void) events;
	pnc_pollfd_del(&se->pfd);
	se->fd = PNC_FD_NONE;
	if (rv != 0) {
		pnc_net_close(fd);
		pnc_ep_connect_failed(ep, rv);
		return;
	}
	stream_pipe_start(ep, fd);
}

void
pnc_stream_connect(pnc_endpoint *ep)
{
	pnc_stream_ep *se = ep->tdata;
	pnc_fd fd;
	int rv = pnc_net_connect(&se->sa, &fd);

	if (rv == 0) {
		stream_pipe_start(ep, fd);
	} else if (rv == PNC_EAGAIN) {
		se->fd = fd;
		if ((rv = pnc_pollfd_add(&se->pfd, fd, PNC_POLL_OUT,
		         stream_connect_cb, ep)) != 0) {
			se->fd = PNC_FD_NONE;
			pnc_net_close(fd);
			pnc_ep_connect_failed(ep, rv);
		}
	} else {
		pnc_ep_connect_failed(ep, rv);
	}
}

int
pnc_stream_ep_bound_fd(pnc_endpoint *ep, pnc_fd *fdp)
{
	pnc_stream_ep *se = ep->tdata;
	int rv;

	/*
	 * A bind retried on the I/O thread sets fd under the lock; a close,
	 * on that thread too, clears it only after closed was set.
	 */
	pnc_sock_lock(ep->sock);
	*fdp = ep->closed ? PNC_FD_NONE : se->fd;
	rv = ep->closed ? PNC_ECLOSED : *fdp == PNC_FD_NONE ? PNC_ESTATE : 0;
	pnc_sock_unlock(ep->sock);
	return rv;
}

/* ipc goes by its URL's path; tcp and abstract by what the kernel bound. */
int
pnc_stream_ep_addr(pnc_endpoint *ep, pnc_addr *a)
{
	pnc_stream_ep *se = ep->tdata;
	pnc_fd fd;
	int rv;

	if (se->kind == PNC_STREAM_IPC) {
		memset(a, 0, sizeof(*a));
		a->family = PNC_AF_IPC;
		snprintf(a->path, sizeof(a->path), "%s", ep->url.addr);
		return 0;
	}
	if ((rv = pnc_stream_ep_bound_fd(ep, &fd)) != 0)
		return rv;
	return pnc_net_addr(fd, 0, a);
}

void
pnc_stream_ep_close(pnc_endpoint *ep)
{
	pnc_stream_ep *se = ep->tdata;

	/* Its connections still in their handshake go with it. */
	while (!pnc_list_empty(&se->handshaking))
		stream_fail(PNC_CONTAINER(pnc_list_first(&se->handshaking), stream_pipe,
		    hs_node), PNC_ECLOSED);
	pnc_timer_cancel(&se->accept_timer);
	pnc_pollfd_del(&se->pfd);
	pnc_net_close(se->fd);
	se->fd = PNC_FD_NONE;
}
