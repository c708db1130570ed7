/*
 * idmap.c: a hash map from 32-bit ids (never 0) to pointers: requests and
 * surveys by id, pipes by id.  Open addressing, linear probing, and
 * deletion by shifting back, so there are no tombstones to clean up.
 */
#include <stdlib.h>

#include "core.h"

void
pnc_idmap_init(pnc_idmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
pnc_idmap_fini(pnc_idmap *m)
{
	free(m->keys);
	free(m->vals);
	pnc_idmap_init(m);
}

static size_t
slot_of(const pnc_idmap *m, uint32_t key)
{
	return (size_t) (key * 2654435761u) & (m->cap - 1);
}

void *
pnc_idmap_get(const pnc_idmap *m, uint32_t key)
{
	if (m->count == 0)
		return NULL;
	for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (m->keys[i] == 0)
			return NULL;
	}
}

static int
idmap_grow(pnc_idmap *m)
{
	pnc_idmap bigger;
	size_t cap = m->cap ? m->cap * 2 : 16;

	bigger.cap = cap;
	bigger.count = 0;
	bigger.keys = calloc(cap, sizeof(*bigger.keys));
	bigger.vals = calloc(cap, sizeof(*bigger.vals));
	if (bigger.keys == NULL || bigger.vals == NULL) {
		free(bigger.keys);
		free(bigger.vals);
		return PNC_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] != 0)
			(void) pnc_idmap_set(&bigger, m->keys[i], m->vals[i]);
	pnc_idmap_fini(m);
	*m = bigger;
	return 0;
}

int
pnc_idmap_set(pnc_idmap *m, uint32_t key, void *val)
{
	size_t i;

	/* At most half full keeps the probes short. */
	if ((m->count + 1) * 2 > m->cap && idmap_grow(m) != 0)
		return PNC_ENOMEM;
	for (i = slot_of(m, key); m->keys[i] != 0 && m->keys[i] != key;
	     i = (i + 1) & (m->cap - 1)) {
	}
	if (m->keys[i] == 0)
		m->count++;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

void
pnc_idmap_del(pnc_idmap *m, uint32_t key)
{
	size_t i, j;

	if (m->count == 0)
		return;
	for (i = slot_of(m, key); m->keys[i] != key; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == 0)
			return;
	m->count--;
	/* Shift back the entries after it that probed past this slot. */
	for (j = (i + 1) & (m->cap - 1); m->keys[j] != 0; j = (j + 1) & (m->cap - 1)) {
		size_t home = slot_of(m, m->keys[j]);
		int moves = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (moves) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->vals[i] = NULL;
}
