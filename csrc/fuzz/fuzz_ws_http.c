/*
 * fuzz_ws_http: the HTTP/1.1 upgrade of ws:// (RFC 6455), the request as a
 * listener reads it and the reply as a dialer reads it, and ws_wire.c's
 * HTTP head parsers on their own.
 *
 * Input: byte 0: bit 0 the socket dials (else it listens), bits 1-7 the
 * protocol (modulo 12, as fz_protos); then what the peer writes from its
 * first byte on.  A listening socket's peer writes the upgrade request
 * (and whatever follows it: frames); a dialing socket's peer first reads
 * the socket's request and then writes the reply, in which "{ACCEPT}"
 * stands for the Sec-WebSocket-Accept of the request's key and "{PROTO}"
 * for the subprotocol it asked for, so seeds can be right.  The peer then
 * shuts its write side and reads until the core closes the connection.
 *
 * First, without I/O, the bytes go through the parsers as ws.c calls them
 * (the head's end, the request and status lines, the headers it reads,
 * their token lists, the key, the accept key), with a few capacities, and
 * through pnc_ws_headers_valid (ws:request-headers / response-headers):
 * whatever they write must be a C string within its buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "../transport/ws.h"

#define HEAD_MAX 8192 /* ws.c's WS_HEAD_MAX */

static const char *const names[] = {
	"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
	"Sec-WebSocket-Protocol", "Sec-WebSocket-Accept", "Host",
};
static const char *const tokens[] = {
	"websocket", "upgrade", "13", "pair1.sp.nanomsg.org", "rep.sp.nanomsg.org", "",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	return fz_init();
}

static void
must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_ws_http: %s\n", what);
		abort();
	}
}

static void
parse_alone(const uint8_t *b, size_t n)
{
	static const size_t caps[] = { 1, 2, 9, 64, 256 };
	char *head, uri[256], val[256], accept[PNC_WS_ACCEPT_LEN + 1];
	size_t end = pnc_ws_http_end(b, n), len = end != 0 ? end : n;

	must(end <= n, "the head ends past the bytes");
	if (len > HEAD_MAX)
		len = HEAD_MAX;
	/* Exactly len + 1 bytes, so ASan sees any read past the string. */
	if ((head = malloc(len + 1)) == NULL)
		return;
	memcpy(head, b, len);
	head[len] = '\0';
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		if (pnc_ws_request_line(head, uri, caps[c]) == 0)
			must(strlen(uri) < caps[c] && uri[0] == '/', "request line");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (pnc_ws_http_header(head, names[i], val, caps[c]) != 0)
				continue;
			must(strlen(val) < caps[c], "header value past its buffer");
			for (size_t t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++)
				(void) pnc_ws_token_in(val, tokens[t]);
			if (pnc_ws_key_valid(val)) {
				pnc_ws_accept_key(val, accept);
				must(strlen(accept) == PNC_WS_ACCEPT_LEN, "accept key");
			}
		}
	}
	(void) pnc_ws_status_line(head);
	(void) pnc_ws_headers_valid(head);
	free(head);
}

/* data with {ACCEPT} and {PROTO} filled in from the socket's request. */
static uint8_t *
patch_reply(const char *request, const uint8_t *data, size_t size, size_t *outlen)
{
	char key[64], accept[PNC_WS_ACCEPT_LEN + 1] = "", proto[128] = "";
	uint8_t *out;
	size_t o = 0;

	if (pnc_ws_http_header(request, "Sec-WebSocket-Key", key, sizeof(key)) == 0)
		pnc_ws_accept_key(key, accept);
	(void) pnc_ws_http_header(request, "Sec-WebSocket-Protocol", proto, sizeof(proto));
	if ((out = malloc(size * (sizeof(proto) / 7 + 1) + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < size;) {
		if (size - i >= 8 && memcmp(data + i, "{ACCEPT}", 8) == 0) {
			memcpy(out + o, accept, strlen(accept));
			o += strlen(accept);
			i += 8;
		} else if (size - i >= 7 && memcmp(data + i, "{PROTO}", 7) == 0) {
			memcpy(out + o, proto, strlen(proto));
			o += strlen(proto);
			i += 7;
		} else {
			out[o++] = data[i++];
		}
	}
	*outlen = o;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_session s;
	char request[HEAD_MAX + 1];
	uint8_t *reply;
	size_t n;

	if (size < 1)
		return 0;
	parse_alone(data + 1, size - 1);
	fz_begin_ws(&s, (data[0] >> 1) % FZ_NPROTO, 0, data[0] & 1);
	if (!(data[0] & 1)) {
		(void) fz_write(&s, data + 1, size - 1);
	} else if (fz_ws_read_head(&s, request, sizeof(request)) >= 0 &&
	    (reply = patch_reply(request, data + 1, size - 1, &n)) != NULL) {
		(void) fz_write(&s, reply, n);
		free(reply);
	}
	fz_end(&s);
	return 0;
}
