/*
 * fuzz_common.h: what the libFuzzer targets share.
 *
 * A session is one real pynng_core socket listening on tcp or ipc, and one
 * raw client connection to it that plays the peer: it writes what the
 * fuzzer made and reads whatever the socket sends.  Each iteration opens
 * a fresh session and ends it with nothing left behind: no pipe, no
 * descriptor (fz_end waits, bounded, for the I/O thread to let go of its
 * descriptors, and in debug mode aborts if it does not).
 *
 * Every wait is bounded: an iteration ends within FZ_ITER_MS whatever the
 * input, since the peer shuts its write side down and the core answers a
 * closed stream by closing the pipe.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "pnc.h"

#define FZ_ITER_MS 250 /* an iteration's whole budget */
#define FZ_CLOSE_MS 200 /* of which the wait for the pipe to close */
#define FZ_ECHO_MAX 256 /* messages sent back per iteration, */
#define FZ_ECHO_BYTES (8u << 20) /* and their bytes: past any socket buffer */

typedef struct fz_proto {
	const char *name;
	int poly;      /* pair1 polyamorous */
	int requester; /* req, surveyor: sends first, so replies can match */
	uint16_t peer_id; /* what the peer says in its handshake */
} fz_proto;

/*
 * The protocol table of fuzz_stream and fuzz_frames (byte 0 modulo
 * FZ_NPROTO); fuzz_handshake picks from it too.  The order is fixed: the
 * seed corpora and the audit's reproducers depend on it.
 */
#define FZ_NPROTO 12
extern const fz_proto fz_protos[FZ_NPROTO];

/*
 * A request or survey id the peer cannot know in advance: every aligned or
 * unaligned occurrence of these four bytes in the peer's data becomes the
 * id the socket just sent (see fz_patch_ids), so the seeds can answer it.
 */
#define FZ_ID_MAGIC 0xF00DF00Du

typedef struct fz_session {
	pnc_socket *sock;
	pnc_listener *l; /* the socket listens, */
	pnc_dialer *d;   /* or it dials the peer */
	const fz_proto *proto;
	int raw;
	int tcp;
	int ws;       /* ws:// over tcp (fz_begin_ws): the peer speaks RFC 6455 */
	int fd;       /* the peer's end */
	size_t plen;  /* frame prefix: 8 (tcp) or 9 (ipc) */
	uint32_t id;  /* the request or survey id sent, 0 if none */
	int eof;      /* the core closed its end */
	int received;
	int echoes; /* tries to send back, bounded by FZ_ECHO_MAX */
	size_t echo_bytes;
	int echo_copies; /* sent back per message received */
	int sent;
	int hold_reads; /* the peer reads nothing: the core's writes back up */
	int64_t start;
	int64_t deadline;
	int fds_before;
	pnc_op op;
} fz_session;

/* Once per process: the I/O thread, paths, signals.  0 or an errno. */
int fz_init(void);
int64_t fz_now_ms(void);
/*
 * PNC_FUZZ_DEBUG: 1 makes a descriptor left open an abort and says when a
 * pipe stayed open; 2 also logs a line per session.
 */
int fz_debug(void);
int fz_fd_count(void);
/* Waits (bounded) until the process has no more descriptors than `n`. */
void fz_wait_fds(int n, const char *what);

/*
 * Opens the socket (options set as the table says) and connects it to the
 * peer: the socket listens and the peer connects, or (dial) the peer
 * listens and the socket dials.  A failure here is the machine's, not the
 * input's: it aborts, loudly.
 */
int fz_begin(fz_session *s, int proto, int raw, int tcp, int dial);
/* The right handshake for the socket's peer, and the socket's read back. */
int fz_handshake(fz_session *s);

/*
 * fz_begin over ws://127.0.0.1:<port>/fz (the socket listens, or dials our
 * listener).  The peer's side of the upgrade is the target's: fz_ws_read_head
 * reads an HTTP head, fz_ws_upgrade does the whole of it correctly (the
 * peer asks for, or answers with, the right subprotocol).
 */
int fz_begin_ws(fz_session *s, int proto, int raw, int dial);
/* The HTTP head the core wrote (up to cap - 1 bytes, NUL-terminated): its
 * length, or -1 if none came whole by the deadline. */
int fz_ws_read_head(fz_session *s, char *buf, size_t cap);
/* A correct upgrade from the peer's side: 0, or -1. */
int fz_ws_upgrade(fz_session *s);
/* The SP names of the socket's own protocol and its peer's ("pair1", ...). */
const char *fz_ws_name(const fz_session *s);
const char *fz_ws_peer_name(const fz_session *s);
/* Waits (bounded) for the pipe to join the socket: 1 if it did. */
int fz_wait_attached(fz_session *s);
/* req and surveyor: sends a request and reads its id (s->id). */
void fz_prime(fz_session *s);
/* A copy of data with every FZ_ID_MAGIC replaced by s->id; free it. */
uint8_t *fz_patch_ids(const fz_session *s, const uint8_t *data, size_t size);
/* Writes all of it (bounded), receiving on both sides meanwhile. */
int fz_write(fz_session *s, const uint8_t *data, size_t size);
/* Waits (bounded) until the kernel has handed what we wrote to the core. */
void fz_wait_taken(fz_session *s, int max_ms);
/* One round of receiving: the peer's side and the socket's. */
void fz_pump(fz_session *s, int wait_ms);
/* Shuts the peer's write side, waits for the pipe to close, closes all. */
void fz_end(fz_session *s);

/* Both are defined by each target; the replay main calls them too. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
