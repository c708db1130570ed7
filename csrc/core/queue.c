/* queue.c: intrusive lists and rings of message pointers. */
#include <stdlib.h>

#include "core.h"

void
pnc_list_init(pnc_list *l)
{
	l->head.next = l->head.prev = &l->head;
}

void
pnc_list_insert_after(pnc_node *at, pnc_node *n)
{
	n->prev = at;
	n->next = at->next;
	at->next->prev = n;
	at->next = n;
}

void
pnc_list_append(pnc_list *l, pnc_node *n)
{
	pnc_list_insert_after(l->head.prev, n);
}

void
pnc_list_remove(pnc_node *n)
{
	if (n->next == NULL)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = NULL;
}

void
pnc_list_move_all(pnc_list *to, pnc_list *from)
{
	pnc_list_init(to);
	if (pnc_list_empty(from))
		return;
	to->head.next = from->head.next;
	to->head.prev = from->head.prev;
	to->head.next->prev = &to->head;
	to->head.prev->next = &to->head;
	pnc_list_init(from);
}

int
pnc_node_linked(const pnc_node *n)
{
	return n->next != NULL;
}

pnc_node *
pnc_list_first(const pnc_list *l)
{
	return pnc_list_empty(l) ? NULL : l->head.next;
}

void
pnc_ring_init(pnc_ring *r)
{
	r->items = NULL;
	r->cap = r->head = r->len = r->bytes = 0;
}

void
pnc_ring_fini(pnc_ring *r)
{
	pnc_msg *m;

	while ((m = pnc_ring_get(r)) != NULL)
		pnc_msg_free(m);
	free(r->items);
	pnc_ring_init(r);
}

int
pnc_ring_put(pnc_ring *r, pnc_msg *m)
{
	if (r->len == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 16;
		pnc_msg **items = malloc(ncap * sizeof(*items));
		if (items == NULL)
			return PNC_ENOMEM;
		for (size_t i = 0; i < r->len; i++)
			items[i] = pnc_ring_at(r, i);
		free(r->items);
		r->items = items;
		r->cap = ncap;
		r->head = 0;
	}
	r->items[(r->head + r->len) & (r->cap - 1)] = m;
	r->len++;
	r->bytes += m->len;
	return 0;
}

pnc_msg *
pnc_ring_get(pnc_ring *r)
{
	pnc_msg *m;

	if (r->len == 0)
		return NULL;
	m = r->items[r->head];
	r->head = (r->head + 1) & (r->cap - 1);
	r->len--;
	r->bytes -= m->len;
	return m;
}

int
pnc_ring_unget(pnc_ring *r, pnc_msg *m)
{
	int rv;

	/* put makes the room; then the message moves from the tail to the front */
	if ((rv = pnc_ring_put(r, m)) != 0)
		return rv;
	r->head = (r->head + r->cap - 1) & (r->cap - 1);
	r->items[r->head] = m;
	return 0;
}
