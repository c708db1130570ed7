/*
 * message.c: messages are one allocation, with headroom in front of the body
 * where the protocol header and the wire prefix are written, so a message
 * goes to the kernel as one piece without being copied.
 */
#include <stdlib.h>

#include "core.h"

int
pnc_msg_alloc(pnc_msg **msgp, size_t size)
{
	size_t cap = PNC_MSG_HEADROOM + size;
	pnc_msg *m;

	if (size > SIZE_MAX - PNC_MSG_HEADROOM - sizeof(*m))
		return PNC_ENOMEM;
	if ((m = malloc(sizeof(*m) + cap)) == NULL)
		return PNC_ENOMEM;
	m->refs = 1;
	m->pipe_id = 0;
	m->targeted = 0;
	m->cap = cap;
	m->off = PNC_MSG_HEADROOM;
	m->len = size;
	m->hlen = 0;
	*msgp = m;
	return 0;
}

int
pnc_msg_from(pnc_msg **msgp, const void *data, size_t size)
{
	int rv = pnc_msg_alloc(msgp, size);

	if (rv == 0 && size > 0) {
		if (data != NULL)
			memcpy((*msgp)->data + PNC_MSG_HEADROOM, data, size);
		else
			memset((*msgp)->data + PNC_MSG_HEADROOM, 0, size);
	}
	return rv;
}

void
pnc_msg_hold(pnc_msg *m)
{
	pnc_atomic_inc(&m->refs);
}

void
pnc_msg_free(pnc_msg *m)
{
	if (m != NULL && pnc_atomic_dec(&m->refs) == 0)
		free(m);
}

void *
pnc_msg_body(pnc_msg *m)
{
	return m->data + m->off;
}

size_t
pnc_msg_len(const pnc_msg *m)
{
	return m->len;
}

void *
pnc_msg_header(pnc_msg *m)
{
	return m->data + m->off - m->hlen;
}

size_t
pnc_msg_header_len(const pnc_msg *m)
{
	return m->hlen;
}

uint32_t
pnc_msg_pipe_id(const pnc_msg *m)
{
	return m->pipe_id;
}

int
pnc_msg_header_push_u32(pnc_msg *m, uint32_t v)
{
	/* 16 bytes stay free for the longest wire prefix. */
	if (m->hlen + 4 + 16 > m->off)
		return PNC_ENOMEM;
	m->hlen += 4;
	pnc_put_u32(m->data + m->off - m->hlen, v);
	return 0;
}

int
pnc_msg_body_pull_u32(pnc_msg *m, uint32_t *vp)
{
	if (m->len < 4)
		return PNC_EPROTO;
	*vp = pnc_get_u32(m->data + m->off);
	/* The word is already just after the header: move the boundary. */
	m->off += 4;
	m->len -= 4;
	m->hlen += 4;
	return 0;
}

void
pnc_msg_header_clear(pnc_msg *m)
{
	m->hlen = 0;
}

int
pnc_msg_header_set(pnc_msg *m, const void *h, size_t len)
{
	if (len + 16 > m->off)
		return PNC_ENOMEM;
	m->hlen = len;
	memcpy(m->data + m->off - len, h, len);
	return 0;
}

int
pnc_msg_dup(pnc_msg **dup, const pnc_msg *m)
{
	int rv = pnc_msg_from(dup, m->data + m->off, m->len);

	if (rv == 0) {
		(*dup)->pipe_id = m->pipe_id;
		(*dup)->targeted = m->targeted;
		rv = pnc_msg_header_set(*dup, m->data + m->off - m->hlen, m->hlen);
		if (rv != 0)
			pnc_msg_free(*dup);
	}
	return rv;
}

int
pnc_msg_pull_backtrace(pnc_msg *m, int ttl)
{
	for (int words = 1;; words++) {
		uint32_t w;
		if (words > ttl)
			return PNC_EMSGSIZE;
		if (pnc_msg_body_pull_u32(m, &w) != 0)
			return PNC_EPROTO;
		if (w & 0x80000000u)
			return 0;
	}
}

int
pnc_msg_header_pop_u32(pnc_msg *m, uint32_t *vp)
{
	if (m->hlen < 4)
		return PNC_EPROTO;
	*vp = pnc_get_u32(m->data + m->off - m->hlen);
	m->hlen -= 4; /* the header now starts one word later */
	return 0;
}

void
pnc_msg_set_pipe_id(pnc_msg *m, uint32_t pipe_id)
{
	m->pipe_id = pipe_id;
	m->targeted = pipe_id != 0;
}

int
pnc_msg_set_header(pnc_msg *m, const void *h, size_t len)
{
	return len % 4 != 0 ? PNC_EINVAL : pnc_msg_header_set(m, h, len);
}
