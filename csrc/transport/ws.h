/*
 * ws.h: the WebSocket wire (RFC 6455) as the SP WebSocket mapping uses it:
 * the HTTP/1.1 upgrade, the frame header, SHA-1 and base64 for the
 * Sec-WebSocket-Accept key.  ws_wire.c holds these as pure functions (no
 * I/O, no state: fuzz targets can call them); ws.c is the transport.
 */
#ifndef PNC_WS_H
#define PNC_WS_H

#include <stddef.h>
#include <stdint.h>

/* Opcodes. */
#define PNC_WS_CONT 0x0
#define PNC_WS_TEXT 0x1
#define PNC_WS_BINARY 0x2
#define PNC_WS_CLOSE 0x8
#define PNC_WS_PING 0x9
#define PNC_WS_PONG 0xA

/* Close codes. */
#define PNC_WS_CLOSE_NORMAL 1000
#define PNC_WS_CLOSE_PROTOCOL 1002
#define PNC_WS_CLOSE_UNSUPPORTED 1003
#define PNC_WS_CLOSE_TOO_BIG 1009

#define PNC_WS_FRAME_HEADER_MAX 14
#define PNC_WS_CONTROL_MAX 125
#define PNC_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

typedef struct pnc_ws_frame {
	int fin;
	int opcode;
	int masked;
	uint8_t mask[4];
	uint64_t len;
} pnc_ws_frame;

void pnc_ws_sha1(const void *data, size_t len, uint8_t out[20]);
/* out holds 4 * ((n + 2) / 3) + 1 bytes; returns the length written. */
size_t pnc_ws_base64(const uint8_t *in, size_t n, char *out);
/* The Sec-WebSocket-Accept for a Sec-WebSocket-Key, NUL-terminated. */
void pnc_ws_accept_key(const char *key, char out[PNC_WS_ACCEPT_LEN + 1]);
/* A key is base64 of 16 bytes: 24 characters, the last two "==". */
int pnc_ws_key_valid(const char *key);

/*
 * Writes a frame header (masked if mask is not NULL) into out, which has
 * PNC_WS_FRAME_HEADER_MAX bytes; returns its length.  Lengths use the
 * shortest form, as RFC 6455 requires.
 */
size_t pnc_ws_frame_header(uint8_t *out, int fin, int opcode, uint64_t len,
    const uint8_t *mask);
/*
 * Reads the frame header at b (n bytes there): its length, 0 if more bytes
 * are needed, -1 if it breaks RFC 6455 (reserved bits, an unknown opcode,
 * a fragmented or long control frame, a length not in its shortest form
 * or with its top bit set).
 */
int pnc_ws_frame_parse(const uint8_t *b, size_t n, pnc_ws_frame *f);
/* XORs n bytes with the key, starting `phase` bytes into the payload. */
void pnc_ws_mask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t phase);
/* The same from src into dst (n bytes each; the same buffer, or apart). */
void pnc_ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
    uint64_t phase);

/*
 * HTTP heads.  pnc_ws_http_end: the length of the head (through the blank
 * line) at b, or 0 if it has not all come.  The others read a head that
 * was made a C string.
 */
size_t pnc_ws_http_end(const uint8_t *b, size_t n);
/*
 * The value of header `name` (case-insensitive, whitespace trimmed) into
 * out (cap bytes, NUL-terminated); several fields of that name are joined
 * with ", " as HTTP allows.  0, or -1 if absent or too long.
 */
int pnc_ws_http_header(const char *head, const char *name, char *out, size_t cap);
/* Whether the comma-separated list holds token (case-insensitive). */
int pnc_ws_token_in(const char *list, const char *token);
/*
 * A request line "GET <uri> HTTP/1.1": the URI into uri (cap bytes); an
 * empty one, as nng 1.x sends for a URL without a path, is "/".
 * 0, or -1 if the line is not that.
 */
int pnc_ws_request_line(const char *head, char *uri, size_t cap);
/* A status line "HTTP/1.x <code> ...": the code, or -1. */
int pnc_ws_status_line(const char *head);
/*
 * Extra headers as nng's options take them ("Name: value\r\n" each, the
 * last CRLF optional): 0 if every line is a header with no CR or LF of its
 * own, -1 otherwise.
 */
int pnc_ws_headers_valid(const char *text);

#endif
