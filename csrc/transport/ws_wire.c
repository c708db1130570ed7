/*
 * ws_wire.c: the WebSocket wire's pure parts (see ws.h).  SHA-1 is here
 * for the one thing the upgrade needs it for, the accept key, so it is
 * written for short inputs and clarity, not speed.
 */
#include <string.h>

#include "ws.h"

static uint32_t
rol32(uint32_t v, int n)
{
	return (v << n) | (v >> (32 - n));
}

/* One 64-byte block into the state (FIPS 180-4, 6.1.2). */
static void
sha1_block(uint32_t h[5], const uint8_t *b)
{
	uint32_t w[80], a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = ((uint32_t) b[4 * i] << 24) | ((uint32_t) b[4 * i + 1] << 16) |
		    ((uint32_t) b[4 * i + 2] << 8) | b[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;
		if (i < 20) {
			f = (bb & c) | (~bb & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = bb ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (bb & c) | (bb & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = bb ^ c ^ d;
			k = 0xCA62C1D6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(bb, 30);
		bb = a;
		a = t;
	}
	h[0] += a;
	h[1] += bb;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void
pnc_ws_sha1(const void *data, size_t len, uint8_t out[20])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	const uint8_t *p = data;
	uint8_t last[128];
	size_t rest = len % 64, tail;
	uint64_t bits = (uint64_t) len * 8;

	for (size_t i = 0; i + 64 <= len; i += 64)
		sha1_block(h, p + i);
	/* The padding: 0x80, zeros, the length in bits; one block or two. */
	memset(last, 0, sizeof(last));
	memcpy(last, p + len - rest, rest);
	last[rest] = 0x80;
	tail = rest < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		last[tail - 1 - i] = (uint8_t) (bits >> (8 * i));
	sha1_block(h, last);
	if (tail == 128)
		sha1_block(h, last + 64);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t) (h[i] >> 24);
		out[4 * i + 1] = (uint8_t) (h[i] >> 16);
		out[4 * i + 2] = (uint8_t) (h[i] >> 8);
		out[4 * i + 3] = (uint8_t) h[i];
	}
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
pnc_ws_base64(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t) in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t) in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

void
pnc_ws_accept_key(const char *key, char out[PNC_WS_ACCEPT_LEN + 1])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	char buf[128];
	uint8_t digest[20];
	size_t n = strlen(key);

	if (n > sizeof(buf) - sizeof(guid))
		n = sizeof(buf) - sizeof(guid); /* callers pass valid keys */
	memcpy(buf, key, n);
	memcpy(buf + n, guid, sizeof(guid) - 1);
	pnc_ws_sha1(buf, n + sizeof(guid) - 1, digest);
	pnc_ws_base64(digest, sizeof(digest), out);
}

int
pnc_ws_key_valid(const char *key)
{
	if (strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return 0;
	for (int i = 0; i < 22; i++)
		if (key[i] == '\0' || strchr(b64, key[i]) == NULL)
			return 0;
	return 1;
}

size_t
pnc_ws_frame_header(uint8_t *out, int fin, int opcode, uint64_t len,
    const uint8_t *mask)
{
	size_t n = 2;

	out[0] = (uint8_t) ((fin ? 0x80 : 0) | (opcode & 0x0F));
	if (len < 126) {
		out[1] = (uint8_t) len;
	} else if (len <= 0xFFFF) {
		out[1] = 126;
		out[2] = (uint8_t) (len >> 8);
		out[3] = (uint8_t) len;
		n = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t) (len >> (56 - 8 * i));
		n = 10;
	}
	if (mask != NULL) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

int
pnc_ws_frame_parse(const uint8_t *b, size_t n, pnc_ws_frame *f)
{
	size_t need = 2;
	uint64_t len;
	int op;

	if (n < 2)
		return 0;
	op = b[0] & 0x0F;
	f->fin = (b[0] & 0x80) != 0;
	f->opcode = op;
	f->masked = (b[1] & 0x80) != 0;
	len = b[1] & 0x7F;
	if ((b[0] & 0x70) != 0) /* RSV1-3: no extension was agreed */
		return -1;
	if (op != PNC_WS_CONT && op != PNC_WS_TEXT && op != PNC_WS_BINARY &&
	    op != PNC_WS_CLOSE && op != PNC_WS_PING && op != PNC_WS_PONG)
		return -1;
	if ((op & 0x8) && (!f->fin || len > PNC_WS_CONTROL_MAX))
		return -1;
	need += len == 126 ? 2 : len == 127 ? 8 : 0;
	need += f->masked ? 4 : 0;
	if (n < need)
		return 0;
	if (len == 126) {
		len = ((uint64_t) b[2] << 8) | b[3];
		if (len < 126)
			return -1;
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | b[2 + i];
		if (len <= 0xFFFF || (len >> 63) != 0)
			return -1;
	}
	f->len = len;
	if (f->masked)
		memcpy(f->mask, b + need - 4, 4);
	return (int) need;
}

/*
 * Eight bytes at a time: the key repeats every 4 bytes, so an 8-byte word
 * of it, rotated to the phase, masks any 8 bytes in a row whatever their
 * alignment (memcpy makes the loads and stores; compilers emit plain or
 * vector ones).  Byte order plays no part: the word is built from bytes.
 */
void
pnc_ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
    uint64_t phase)
{
	size_t k = (size_t) (phase & 3), i = 0;

	if (n >= 8) {
		uint8_t kb[8];
		uint64_t w;

		for (int j = 0; j < 8; j++)
			kb[j] = key[(k + (size_t) j) & 3];
		memcpy(&w, kb, 8);
		for (; n - i >= 8; i += 8) {
			uint64_t v;
			memcpy(&v, src + i, 8);
			v ^= w;
			memcpy(dst + i, &v, 8);
		}
		/* 8 is a multiple of 4: the phase is where it was */
	}
	for (; i < n; i++) {
		dst[i] = src[i] ^ key[k];
		k = (k + 1) & 3;
	}
}

void
pnc_ws_mask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t phase)
{
	pnc_ws_mask_copy(p, p, n, key, phase);
}

size_t
pnc_ws_http_end(const uint8_t *b, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r')
			return i + 1;
	return 0;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
same_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char) a[i]) != lower((unsigned char) b[i]))
			return 0;
	return 1;
}

int
pnc_ws_http_header(const char *head, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name), o = 0;
	const char *line = strstr(head, "\r\n");
	int found = 0;

	if (cap == 0)
		return -1;
	/* Each line after the start line: "Name: value". */
	while (line != NULL && line[2] != '\r' && line[2] != '\0') {
		const char *l = line + 2, *end = strstr(l, "\r\n"), *v;
		if (end == NULL)
			break;
		line = end;
		if ((size_t) (end - l) <= nlen || l[nlen] != ':' || !same_ci(l, name, nlen))
			continue;
		for (v = l + nlen + 1; v < end && (*v == ' ' || *v == '\t'); v++)
			;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (found) {
			if (o + 2 >= cap)
				return -1;
			out[o++] = ',';
			out[o++] = ' ';
		}
		if (o + (size_t) (end - v) >= cap)
			return -1;
		memcpy(out + o, v, (size_t) (end - v));
		o += (size_t) (end - v);
		found = 1;
	}
	out[o] = '\0';
	return found ? 0 : -1;
}

int
pnc_ws_token_in(const char *list, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = list;

	while (*p != '\0') {
		const char *end;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		{
			const char *e = end;
			while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if ((size_t) (e - p) == tlen && tlen > 0 && same_ci(p, token, tlen))
				return 1;
		}
		p = end;
	}
	return 0;
}

int
pnc_ws_request_line(const char *head, char *uri, size_t cap)
{
	const char *u, *sp, *eol = strstr(head, "\r\n");
	size_t n;

	if (eol == NULL || strncmp(head, "GET ", 4) != 0)
		return -1;
	u = head + 4;
	sp = memchr(u, ' ', (size_t) (eol - u));
	if (sp == NULL || (size_t) (eol - sp - 1) != 8 || strncmp(sp + 1, "HTTP/1.1", 8) != 0)
		return -1;
	n = (size_t) (sp - u);
	/* nng 1.x dials a URL with no path as "GET  HTTP/1.1": that is "/". */
	if (n == 0 && cap >= 2) {
		strcpy(uri, "/");
		return 0;
	}
	if (n >= cap || u[0] != '/')
		return -1;
	memcpy(uri, u, n);
	uri[n] = '\0';
	return 0;
}

int
pnc_ws_status_line(const char *head)
{
	int code = 0;

	if (strncmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') ||
	    head[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++) {
		if (head[i] < '0' || head[i] > '9')
			return -1;
		code = code * 10 + (head[i] - '0');
	}
	return head[12] == ' ' || head[12] == '\r' ? code : -1;
}

int
pnc_ws_headers_valid(const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		const char *end = strstr(p, "\r\n"), *colon;
		size_t n = end != NULL ? (size_t) (end - p) : strlen(p);
		if (memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
			return -1;
		colon = memchr(p, ':', n);
		if (colon == NULL || colon == p || memchr(p, ' ', (size_t) (colon - p)) != NULL)
			return -1;
		p += n + (end != NULL ? 2 : 0);
	}
	return 0;
}
