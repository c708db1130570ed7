/*
 * fuzz_ws_frame: WebSocket frames (RFC 6455) as ws.c reads them, and
 * ws_wire.c's frame header parser on its own.
 *
 * Input: byte 0 the protocol (index into fz_protos, modulo 12), byte 1
 * flags (bit 0 raw socket, bit 2 the socket dials the peer instead of
 * listening), then the bytes the peer sends after a correct upgrade over
 * ws://, which the harness does itself.  A listening socket's peer is the
 * client, whose frames must be masked; a dialing socket's peer the server,
 * whose frames must not be.  Whatever arrives is received and, where the
 * socket can send, answered; the peer reads and drops what comes back.
 *
 * First, without I/O, every frame header in the bytes (each header, then
 * its payload skipped) goes through pnc_ws_frame_parse, and what it accepts
 * must be what pnc_ws_frame_header writes for the same fields (RFC 6455's
 * shortest length form makes the encoding unique), every shorter prefix
 * must ask for more, and masking (8 bytes at a time) must match RFC 6455's
 * byte-by-byte rule and give the bytes back when done twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "../transport/ws.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	return fz_init();
}

static void
check_header(const uint8_t *b, size_t n, const pnc_ws_frame *f, int hl)
{
	uint8_t out[PNC_WS_FRAME_HEADER_MAX];
	pnc_ws_frame g;
	size_t ol;

	if (hl < 2 || hl > PNC_WS_FRAME_HEADER_MAX || (size_t) hl > n)
		goto bad;
	ol = pnc_ws_frame_header(out, f->fin, f->opcode, f->len, f->masked ? f->mask : NULL);
	if (ol != (size_t) hl || memcmp(out, b, ol) != 0)
		goto bad;
	for (int k = 0; k < hl; k++)
		if (pnc_ws_frame_parse(b, (size_t) k, &g) != 0)
			goto bad;
	return;
bad:
	fprintf(stderr, "fuzz_ws_frame: header parse/encode disagree (hl %d)\n", hl);
	abort();
}

/*
 * pnc_ws_mask_copy (8 bytes at a time) against the rule itself, byte by
 * byte, for every phase and an unaligned start; and masking twice in place
 * gives the bytes back.
 */
static void
check_mask(const uint8_t *b, size_t n)
{
	uint8_t src[80], got[80], want[80], key[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t len = n < 72 ? n : 72;

	if (n >= 4)
		memcpy(key, b, 4); /* the frame's own bytes as a key too */
	for (size_t at = 0; at < 2; at++) {
		memcpy(src + at, b, len);
		for (uint64_t phase = 0; phase < 6; phase++) {
			for (size_t i = 0; i < len; i++)
				want[i] = src[at + i] ^ key[(phase + i) & 3];
			pnc_ws_mask_copy(got + 1 - at, src + at, len, key, phase);
			if (memcmp(got + 1 - at, want, len) != 0) {
				fprintf(stderr, "fuzz_ws_frame: pnc_ws_mask_copy is wrong "
				    "(len %zu phase %d)\n", len, (int) phase);
				abort();
			}
			pnc_ws_mask(got + 1 - at, len, key, phase);
			if (memcmp(got + 1 - at, src + at, len) != 0) {
				fprintf(stderr, "fuzz_ws_frame: masking twice changed the bytes\n");
				abort();
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_session s;
	size_t pos;

	if (size < 2)
		return 0;
	for (pos = 2; pos < size;) {
		pnc_ws_frame f;
		int hl = pnc_ws_frame_parse(data + pos, size - pos, &f);
		if (hl <= 0)
			break;
		check_header(data + pos, size - pos, &f, hl);
		pos += (size_t) hl;
		check_mask(data + pos, size - pos);
		if (f.len >= size - pos)
			break;
		pos += (size_t) f.len;
	}
	fz_begin_ws(&s, data[0], data[1] & 1, (data[1] >> 2) & 1);
	if (fz_ws_upgrade(&s) == 0 && fz_wait_attached(&s))
		(void) fz_write(&s, data + 2, size - 2);
	fz_end(&s);
	return 0;
}
