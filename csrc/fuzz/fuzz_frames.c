/*
 * fuzz_frames: the same sessions as fuzz_stream, but the peer's bytes
 * arrive in pieces the input chooses, so that the core meets partial
 * prefixes, partial bodies, and large frames read in place (>= 32 KiB)
 * whose body comes in several reads.
 *
 * Input: byte 0 the protocol and byte 1 the flags, as for fuzz_stream
 * (the harness does the handshake, and req/surveyor send first), then
 * commands that build the peer's stream:
 *   0x00-0x7f  c: the next c+1 bytes, as they are;
 *   0x80-0xbf  c, lo, v: ((c & 0x3f) << 8 | lo) * 64 bytes of value v
 *              (up to 1 MiB: a large body from a small input);
 *   0xc0-0xff  write what was built so far, and wait (up to 20 ms)
 *              until the core has read it; then bit 0 set: the peer
 *              stops reading what the core sends (clear: reads again),
 *              so the core's write queue fills and a closing pipe
 *              lingers; bit 1 set: 64 copies of each message received are
 *              sent back (clear: 1).
 * What is left at the end is written too.  FZ_ID_MAGIC in a piece stands
 * for the request id, as in fuzz_stream.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define STREAM_MAX (4u << 20) /* bytes one input may make the peer write */
#define FLUSH_WAIT_MS 20

typedef struct piece {
	uint8_t *buf;
	size_t len;
	size_t room;
	size_t total;
} piece;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	return fz_init();
}

/* Room for n more bytes, within the input's STREAM_MAX: 0, or -1. */
static int
piece_grow(piece *p, size_t n)
{
	uint8_t *bigger;
	size_t room = p->room ? p->room : 256;

	if (p->total + n > STREAM_MAX)
		return -1;
	while (room < p->len + n)
		room *= 2;
	if (room != p->room) {
		if ((bigger = realloc(p->buf, room)) == NULL)
			return -1;
		p->buf = bigger;
		p->room = room;
	}
	p->total += n;
	return 0;
}

static void
piece_flush(fz_session *s, piece *p, int wait)
{
	uint8_t *wire;

	if (p->len > 0 && (wire = fz_patch_ids(s, p->buf, p->len)) != NULL) {
		(void) fz_write(s, wire, p->len);
		free(wire);
	}
	p->len = 0;
	if (wait)
		fz_wait_taken(s, FLUSH_WAIT_MS);
}

static void
run_commands(fz_session *s, const uint8_t *in, size_t size)
{
	piece p = { NULL, 0, 0, 0 };
	size_t i = 0;

	while (i < size && !s->eof && fz_now_ms() < s->deadline) {
		uint8_t c = in[i++];
		if (c < 0x80) {
			size_t n = (size_t) c + 1 < size - i ? (size_t) c + 1 : size - i;
			if (piece_grow(&p, n) != 0)
				break;
			memcpy(p.buf + p.len, in + i, n);
			p.len += n;
			i += n;
		} else if (c < 0xc0) {
			size_t n;
			if (size - i < 2)
				break;
			n = ((size_t) (c & 0x3f) << 8 | in[i]) * 64;
			if (piece_grow(&p, n) != 0)
				break;
			memset(p.buf + p.len, in[i + 1], n);
			p.len += n;
			i += 2;
		} else {
			piece_flush(s, &p, 1);
			s->hold_reads = c & 1;
			s->echo_copies = c & 2 ? 64 : 1;
		}
	}
	piece_flush(s, &p, 0);
	free(p.buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_session s;

	if (size < 2)
		return 0;
	fz_begin(&s, data[0], data[1] & 1, !((data[1] >> 1) & 1), (data[1] >> 2) & 1);
	if (fz_handshake(&s) == 0 && fz_wait_attached(&s)) {
		fz_prime(&s);
		run_commands(&s, data + 2, size - 2);
	}
	fz_end(&s);
	return 0;
}
