/*
 * message.c: messages are one allocation, with headroom in front of the body
 * where the protocol header and the wire prefix are written, so a message
 * goes to the kernel as one piece without being copied.
 *
 * Large blocks are recycled.  malloc gives big freed blocks back to the
 * system, and the next message gets fresh pages that the kernel faults in
 * and zeroes one by one: for 1 MiB messages that costs more than copying
 * them.  So a few recently freed large messages wait in a small cache for
 * the next one of about their size; the newest takes the place of an old
 * one when the slots are full, so the cache follows the sizes in use.  Its
 * slots are swapped atomically: no lock, so any thread (and a forked
 * child) may use it.
 *
 * Small blocks are pooled too, for another reason: a message is made on
 * one thread and freed on another (the sender's and the receiver's, or the
 * I/O thread's), which malloc's per-thread caches do not serve, so each
 * small message went through malloc's shared bins.  A small block's size is
 * rounded up to a power of two, and each size has a stack of free blocks:
 * the last freed is the next taken, while it is still in the cache (a
 * queue, first freed first taken, handed out blocks gone from it, and the
 * writes to them stalled a subscriber's I/O thread: a tenth of its CPU).
 * A stack's lock is only ever tried: a thread that finds it taken mallocs
 * or frees instead of waiting, so no thread waits for another, and a
 * forked child whose parent held a lock only mallocs from there on.
 *
 * Built with PNC_NO_POOLS (a sanitizer build, see _build.py), neither
 * keeps anything: every block is malloc'd and freed, so AddressSanitizer
 * sees each free, and a double release is a report, not a block owned
 * twice.
 */
#include <stdlib.h>

#include "core.h"

#ifndef PNC_NO_POOLS
#define CACHE_MIN_CAP (32u << 10) /* malloc's own bins serve smaller ones well */
#define CACHE_MAX_CAP (4u << 20)
#define CACHE_SLOTS 64 /* 64 KiB messages queued to receive, in place */
#define CACHE_MAX_BYTES (16u << 20) /* all slots together */

static pnc_msg *cache[CACHE_SLOTS];
static size_t cache_caps[CACHE_SLOTS]; /* hints: whose slot fits, checked after */
static size_t cache_bytes;
static unsigned cache_evict; /* the slot the next newcomer takes when full */

#define POOL_MIN_CAP 256u /* the smallest block, headroom included */
#define POOL_CLASSES 5    /* 256 B to 4 KiB */
#define POOL_MAX_CAP (POOL_MIN_CAP << (POOL_CLASSES - 1))
/*
 * Per class: as many as an inproc queue holds in flight (1 MiB of 1 KiB
 * messages), which 128 did not, so a stream of them went to malloc again
 * (inproc push/pull 1 KiB: 1.31x pyzmq, 1.44x with these).  A pool keeps
 * what it was given: 7.75 MiB at most over the five classes.
 */
#define POOL_CELLS 1024

typedef struct {
	int busy;    /* a thread is in it (atomic): see pool_enter */
	size_t count; /* blocks in free[], under busy */
	pnc_msg *free[POOL_CELLS];
} msg_pool;

static msg_pool pools[POOL_CLASSES];

/* The class of a block of `cap` bytes or less: the smallest that holds it. */
static unsigned
pool_class(size_t cap)
{
	unsigned k = 0;

	while ((POOL_MIN_CAP << k) < cap)
		k++;
	return k;
}

/* 1 if the pool is this thread's until pool_leave; 0 if another has it. */
static int
pool_enter(msg_pool *q)
{
	return pnc_atomic_load_relaxed_int(&q->busy) == 0 &&
	    pnc_atomic_swap_int(&q->busy, 1) == 0;
}

static void
pool_leave(msg_pool *q)
{
	pnc_atomic_store_release_int(&q->busy, 0);
}

static pnc_msg *
pool_take(msg_pool *q)
{
	pnc_msg *m = NULL;

	if (!pool_enter(q))
		return NULL;
	if (q->count > 0)
		m = q->free[--q->count];
	pool_leave(q);
	return m;
}

static int
cache_fits(size_t have, size_t want)
{
	return have >= want && have / 2 <= want;
}

static pnc_msg *
cache_take(size_t cap)
{
	if (cap < CACHE_MIN_CAP || cap > CACHE_MAX_CAP)
		return NULL;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		pnc_msg *m = pnc_atomic_load_acquire_ptr(&cache[i]);

		if (m == NULL || !cache_fits(pnc_atomic_load_relaxed_size(&cache_caps[i]), cap) ||
		    !pnc_atomic_cas_ptr(&cache[i], &m, NULL))
			continue;
		pnc_atomic_sub_size(&cache_bytes, m->cap);
		if (cache_fits(m->cap, cap))
			return m;
		free(m); /* the hint was stale: another block took the slot */
	}
	return NULL;
}

/* 1 if the cache kept m. */
static int
cache_put(pnc_msg *m)
{
	unsigned slot;
	pnc_msg *old;

	if (m->cap < CACHE_MIN_CAP || m->cap > CACHE_MAX_CAP)
		return 0;
	if (pnc_atomic_add_size(&cache_bytes, m->cap) > CACHE_MAX_BYTES) {
		pnc_atomic_sub_size(&cache_bytes, m->cap);
		return 0;
	}
	for (int i = 0; i < CACHE_SLOTS; i++) {
		pnc_msg *empty = NULL;

		if (pnc_atomic_load_relaxed_ptr(&cache[i]) != NULL)
			continue;
		pnc_atomic_store_relaxed_size(&cache_caps[i], m->cap);
		if (pnc_atomic_cas_ptr(&cache[i], &empty, m))
			return 1;
	}
	slot = (pnc_atomic_add_uint(&cache_evict, 1) - 1) % CACHE_SLOTS;
	pnc_atomic_store_relaxed_size(&cache_caps[slot], m->cap);
	if ((old = pnc_atomic_swap_ptr(&cache[slot], m)) != NULL) {
		pnc_atomic_sub_size(&cache_bytes, old->cap);
		free(old);
	}
	return 1;
}

/* A freed block for `*cap` bytes, or NULL; *cap becomes the size of the
 * block to use, reused or not (a pooled size is rounded up). */
static pnc_msg *
block_reuse(size_t *cap)
{
	pnc_msg *m;

	if (*cap <= POOL_MAX_CAP) {
		unsigned k = pool_class(*cap);

		*cap = POOL_MIN_CAP << k;
		return pool_take(&pools[k]);
	}
	if ((m = cache_take(*cap)) != NULL)
		*cap = m->cap;
	return m;
}

/*
 * Blocks freed one after another (pnc_msg_free_many) give themselves back
 * to a pool entered once for the run: *run is the pool this thread is in,
 * or NULL, until block_run_end.
 */
typedef msg_pool *block_run;

/* 1 if m's block was kept for reuse. */
static int
block_keep(pnc_msg *m, block_run *run)
{
	msg_pool *q;

	if (m->cap > POOL_MAX_CAP)
		return cache_put(m);
	q = &pools[pool_class(m->cap)];
	if (q != *run) {
		if (*run != NULL)
			pool_leave(*run);
		*run = pool_enter(q) ? q : NULL;
	}
	if (*run == NULL || q->count == POOL_CELLS)
		return 0;
	q->free[q->count++] = m;
	return 1;
}

static void
block_run_end(block_run *run)
{
	if (*run != NULL)
		pool_leave(*run);
}
#else
static pnc_msg *
block_reuse(size_t *cap)
{
	(void) cap;
	return NULL;
}

typedef int block_run;

static int
block_keep(pnc_msg *m, block_run *run)
{
	(void) m;
	(void) run;
	return 0;
}

static void
block_run_end(block_run *run)
{
	(void) run;
}
#endif

int
pnc_msg_alloc(pnc_msg **msgp, size_t size)
{
	size_t cap = PNC_MSG_HEADROOM + size;
	pnc_msg *m;

	if (size > SIZE_MAX - PNC_MSG_HEADROOM - sizeof(*m))
		return PNC_ENOMEM;
	if ((m = block_reuse(&cap)) == NULL && (m = malloc(sizeof(*m) + cap)) == NULL)
		return PNC_ENOMEM;
	m->refs = 1;
	m->pipe_id = 0;
	m->targeted = 0;
	m->in_stream = 0;
	m->framed = 0;
	m->cap = cap;
	m->off = PNC_MSG_HEADROOM;
	m->len = size;
	m->hlen = 0;
	m->lent = NULL;
	m->ext = NULL;
	m->ext_owner = NULL;
	m->ext_src = NULL;
	*msgp = m;
	return 0;
}

int
pnc_msg_alloc_from(pnc_msg **msgp, size_t size, const pnc_body_source *src)
{
	void *owner = NULL;
	uint8_t *body = src != NULL ? src->alloc(size, &owner) : NULL;
	int rv;

	if (body == NULL)
		return pnc_msg_alloc(msgp, size);
	if ((rv = pnc_msg_alloc(msgp, 0)) != 0) {
		src->release(owner);
		return rv;
	}
	(*msgp)->ext = body;
	(*msgp)->ext_owner = owner;
	(*msgp)->ext_src = src;
	(*msgp)->len = size;
	return 0;
}

void *
pnc_msg_body_owner(const pnc_msg *m, const pnc_body_source *src)
{
	return m->ext_src == src ? m->ext_owner : NULL;
}

int
pnc_msg_lend(pnc_msg **msgp, const void *data, size_t size)
{
	int rv = pnc_msg_alloc(msgp, size);

	if (rv == 0)
		(*msgp)->lent = data;
	return rv;
}

int
pnc_msg_lend_owned(pnc_msg **msgp, const void *data, size_t size,
    const pnc_body_source *src, void *owner)
{
	int rv = pnc_msg_lend(msgp, data, size);

	if (rv != 0) {
		src->release(owner);
		return rv;
	}
	(*msgp)->ext_owner = owner;
	(*msgp)->ext_src = src;
	return 0;
}

void
pnc_msg_keep(pnc_msg *m, size_t skip)
{
	if (m->lent == NULL)
		return;
	memcpy(m->data + m->off + skip, m->lent + skip, m->len - skip);
	m->lent = NULL;
	if (m->ext_owner != NULL) {
		m->ext_src->release(m->ext_owner); /* the lent body's */
		m->ext_owner = NULL;
		m->ext_src = NULL;
	}
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
pnc_wire_prefix_put(uint8_t out[PNC_WIRE_PREFIX], uint64_t wire_len)
{
	out[0] = 0x01;
	pnc_put_u32(out + 1, (uint32_t) (wire_len >> 32));
	pnc_put_u32(out + 5, (uint32_t) wire_len);
}

void
pnc_msg_wire_prefix(pnc_msg *m)
{
	uint8_t want[PNC_WIRE_PREFIX], *at = pnc_msg_wire(m) - PNC_WIRE_PREFIX;

	pnc_wire_prefix_put(want, pnc_msg_wire_len(m));
	if (memcmp(at, want, sizeof(want)) != 0)
		memcpy(at, want, sizeof(want));
}

void
pnc_msg_frame_append(pnc_msg *to, const pnc_msg *m, size_t plen)
{
	uint8_t prefix[PNC_WIRE_PREFIX], *at = pnc_msg_wire(to) + to->len;

	pnc_wire_prefix_put(prefix, pnc_msg_wire_len(m));
	memcpy(at, prefix + PNC_WIRE_PREFIX - plen, plen);
	memcpy(at + plen, pnc_msg_wire((pnc_msg *) m), pnc_msg_wire_len(m));
	to->len += plen + pnc_msg_wire_len(m);
}

int
pnc_msg_shared(const pnc_msg *m)
{
	return pnc_atomic_load_acquire_int(&m->refs) > 1;
}

void
pnc_msg_hold(pnc_msg *m)
{
	pnc_atomic_inc(&m->refs);
}

/* 1 if the caller held m's last reference.  A lone holder needs no atomic
 * write: nobody else can take a reference to a message it cannot see. */
static int
msg_last_ref(pnc_msg *m)
{
	return pnc_atomic_load_acquire_int(&m->refs) == 1 || pnc_atomic_dec(&m->refs) == 0;
}

static void
msg_free_in_run(pnc_msg *m, block_run *run)
{
	if (m == NULL || !msg_last_ref(m))
		return;
	if (m->ext_owner != NULL)
		m->ext_src->release(m->ext_owner);
	if (!block_keep(m, run))
		free(m);
}

void
pnc_msg_free(pnc_msg *m)
{
	block_run run = 0;

	msg_free_in_run(m, &run);
	block_run_end(&run);
}

void
pnc_msg_free_many(pnc_msg *const *msgs, size_t n)
{
	block_run run = 0;

	for (size_t i = 0; i < n; i++)
		msg_free_in_run(msgs[i], &run);
	block_run_end(&run);
}

static uint8_t *
msg_body(const pnc_msg *m)
{
	return m->ext != NULL ? m->ext : (uint8_t *) m->data + m->off;
}

void *
pnc_msg_body(pnc_msg *m)
{
	return msg_body(m);
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
	*vp = pnc_get_u32(msg_body(m));
	if (m->ext != NULL) {
		/* The header is in the headroom: the word goes on its end. */
		if (m->hlen + 4 + 16 > m->off)
			return PNC_EMSGSIZE;
		memmove(m->data + m->off - m->hlen - 4, m->data + m->off - m->hlen, m->hlen);
		memcpy(m->data + m->off - 4, m->ext, 4);
		m->ext += 4;
	} else {
		/* The word is already just after the header: move the boundary. */
		m->off += 4;
	}
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
	int rv = pnc_msg_from(dup, msg_body(m), m->len);

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
		int rv;

		if (words > ttl)
			return PNC_EMSGSIZE;
		if ((rv = pnc_msg_body_pull_u32(m, &w)) != 0)
			return rv;
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
