/*
 * batch.c: many messages per call (pnc_batch, see pnc.h).  A caller such
 * as Python pays more to cross into the core than the core spends on a
 * small message, so a batch moves many under one lock in one call.  Each
 * message still goes through the protocol one at a time, exactly as a
 * single send or receive would take it.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

int
pnc_batch_open(pnc_ctx *c, pnc_batch **bp)
{
	pnc_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return PNC_ENOMEM;
	b->op.ctx = c;
	*bp = b;
	return 0;
}

void
pnc_batch_release(pnc_batch *b)
{
	for (size_t i = 0; i < b->count; i++)
		pnc_msg_free(b->msgs[i]);
	b->count = 0;
}

void
pnc_batch_free(pnc_batch *b)
{
	if (b == NULL)
		return;
	pnc_batch_release(b);
	free(b->msgs);
	free(b->offs);
	free(b->data);
	free(b);
}

/* Where the next body goes in b->data. */
static size_t
batch_end(const pnc_batch *b)
{
	return b->offs != NULL ? b->offs[b->count] : 0;
}

/* Room for one more message of `len` bytes. */
static int
batch_reserve(pnc_batch *b, size_t len)
{
	size_t end = batch_end(b);

	if (b->count == b->room) {
		size_t room = b->room ? 2 * b->room : 64;
		pnc_msg **msgs = realloc(b->msgs, room * sizeof(*msgs));
		size_t *offs;

		if (msgs == NULL)
			return PNC_ENOMEM;
		b->msgs = msgs;
		if ((offs = realloc(b->offs, (room + 1) * sizeof(*offs))) == NULL)
			return PNC_ENOMEM;
		offs[0] = 0; /* the first body starts the data */
		b->offs = offs;
		b->room = room;
	}
	if (b->data == NULL || end + len > b->data_room) { /* empty bodies need data too */
		size_t want = b->data_room ? b->data_room : 4096;
		char *data;

		while (want < end + len)
			want *= 2;
		if ((data = realloc(b->data, want)) == NULL)
			return PNC_ENOMEM;
		b->data = data;
		b->data_room = want;
	}
	return 0;
}

/* Adds the message the batch's op just took; socket locked. */
static int
batch_add(pnc_batch *b)
{
	pnc_msg *m = b->op.msg;
	size_t end;
	int rv;

	b->op.msg = NULL;
	if ((rv = batch_reserve(b, m->len)) != 0) {
		pnc_ctx_unrecv(b->op.ctx, m);
		return rv;
	}
	end = batch_end(b);
	memcpy(b->data + end, pnc_msg_body(m), m->len);
	b->offs[b->count + 1] = end + m->len;
	b->msgs[b->count++] = m;
	return 0;
}

int
pnc_batch_recv(pnc_batch *b, int flags, size_t max)
{
	pnc_ctx *c = b->op.ctx;
	pnc_socket *s = c->sock;
	int rv;

	pnc_batch_release(b);
	pnc_mtx_lock(&s->mtx);
	rv = pnc_ctx_run(c, NULL, flags, &b->op, PNC_SLICE_MS);
	if (rv == 0)
		rv = batch_add(b);
	if (rv == 0 && s->proto->recv_many) {
		/* What else is ready: the protocol says PNC_EAGAIN when none is. */
		while (b->count < max && batch_end(b) < PNC_BATCH_BYTES &&
		    pnc_ctx_run(c, NULL, PNC_FLAG_NONBLOCK, &b->op, 0) == 0 &&
		    batch_add(b) == 0)
			;
	}
	pnc_mtx_unlock(&s->mtx);
	pnc_op_step_end(&b->op, rv);
	return rv;
}

void
pnc_batch_unget(pnc_batch *b)
{
	pnc_ctx *c = b->op.ctx;
	pnc_socket *s = c->sock;
	int back = 0;

	pnc_mtx_lock(&s->mtx);
	/* Last first, each to the front: they end up in their old order. */
	while (b->count > 0)
		back |= pnc_ctx_unrecv(c, b->msgs[--b->count]);
	if (back)
		pnc_sock_wake(s, PNC_WAKE_RECV, 0, NULL);
	pnc_mtx_unlock(&s->mtx);
}

int
pnc_batch_send(pnc_batch *b, const char *data, const size_t *offs, size_t n,
    int flags)
{
	pnc_ctx *c = b->op.ctx;
	pnc_socket *s = c->sock;
	int rv = 0;

	pnc_mtx_lock(&s->mtx);
	while (b->count < n) {
		size_t i = b->count;
		pnc_msg *m;

		if ((rv = pnc_msg_from(&m, data + offs[i], offs[i + 1] - offs[i])) != 0)
			break;
		rv = pnc_ctx_run(c, m, flags, &b->op, PNC_SLICE_MS);
		pnc_op_step_end(&b->op, rv);
		if (rv != 0) {
			pnc_msg_free(m); /* not taken: the next call makes it again */
			break;
		}
		b->count++;
	}
	pnc_mtx_unlock(&s->mtx);
	return rv;
}
