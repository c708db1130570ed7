/*
 * fuzz_handshake: the SP handshake as a stream transport reads it.
 *
 * Input: byte 0 picks the socket (bits 0-6 modulo 12: the protocol, as in
 * fz_protos; bit 7: raw), and the rest is what the peer writes from its
 * first byte on, the 8-byte header included, over ipc to a socket
 * listening on a path of this process's own.  The peer then shuts its
 * write side down and reads what comes back until the core closes the
 * pipe (a bad header, the wrong protocol, or the end of the stream).
 */
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

	if (size < 1)
		return 0;
	fz_begin(&s, (data[0] & 0x7f) % FZ_NPROTO, data[0] >> 7, 0, 0);
	(void) fz_write(&s, data + 1, size - 1);
	fz_end(&s);
	return 0;
}
