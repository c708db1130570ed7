/*
 * fuzz_stream: stream framing through a real socket, and delivery to every
 * protocol, cooked and raw.
 *
 * Input: byte 0 the protocol (index into fz_protos, modulo 12: pair0,
 * pair1, pair1 polyamorous, req0, rep0, pub0, sub0, surveyor0,
 * respondent0, bus0, push0, pull0), byte 1 flags (bit 0 raw socket, bit 1
 * ipc instead of tcp, bit 2 the socket dials the peer instead of
 * listening), then the wire bytes the peer sends after a correct SP
 * handshake, which the harness does itself.  req and surveyor send a
 * request first; FZ_ID_MAGIC in the input stands for its id.  Whatever
 * arrives is received and, where the socket can send, answered.
 */
#include <stdlib.h>

#include "fuzz_common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	return fz_init();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_session s;
	uint8_t *wire;

	if (size < 2)
		return 0;
	fz_begin(&s, data[0], data[1] & 1, !((data[1] >> 1) & 1), (data[1] >> 2) & 1);
	if (fz_handshake(&s) == 0 && fz_wait_attached(&s)) {
		fz_prime(&s);
		if ((wire = fz_patch_ids(&s, data + 2, size - 2)) != NULL) {
			(void) fz_write(&s, wire, size - 2);
			free(wire);
		}
	}
	fz_end(&s);
	return 0;
}
