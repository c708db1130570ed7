/*
 * device.c: forwarding between two raw sockets, as nng_device does, so a
 * broker or proxy needs no Python loop.  One thread per direction moves
 * messages (headers and all) from one socket to the other; with one socket
 * (or the same one twice) it reflects, which a raw bus or pair1 socket uses
 * to connect all its peers.  It runs until either socket closes or it is
 * released.
 */
#include <stdlib.h>

#include "core.h"

/* How soon a forwarder notices it must stop: each of its waits ends by
 * then (a deadline, as slices end only on Python's signal thread). */
#define DEVICE_STEP_MS 100

struct pnc_device {
	pnc_mtx mtx;
	pnc_cv cv;
	pnc_socket *sock[2];
	pnc_thread threads[2];
	int nthreads;
	int running;
	int stop;
	int result;
};

typedef struct forwarder {
	pnc_device *dev;
	pnc_socket *from;
	pnc_socket *to;
} forwarder;

static int
device_stopping(pnc_device *d)
{
	int stop;

	pnc_mtx_lock(&d->mtx);
	stop = d->stop;
	pnc_mtx_unlock(&d->mtx);
	return stop;
}

/* One step of a blocking operation, retried until it ends or must stop. */
static int
device_op(pnc_device *d, pnc_socket *s, pnc_msg *m, pnc_op *op)
{
	int rv;

	do {
		/* Its own, short deadline: socket timeouts do not end a device. */
		op->deadline = pnc_clock_ms() + DEVICE_STEP_MS;
		rv = m != NULL ? pnc_ctx_send(s->dflt, m, 0, op, 0)
		               : pnc_ctx_recv(s->dflt, 0, op, 0);
	} while (rv == PNC_ETIMEDOUT && !device_stopping(d));
	return rv;
}

static void
forward(void *arg)
{
	forwarder *f = arg;
	pnc_device *d = f->dev;
	pnc_op op;
	int rv;

	for (;;) {
		memset(&op, 0, sizeof(op));
		if ((rv = device_op(d, f->from, NULL, &op)) != 0)
			break;
		if ((rv = device_op(d, f->to, op.msg, &op)) != 0) {
			pnc_msg_free(op.msg);
			break;
		}
	}
	pnc_mtx_lock(&d->mtx);
	if (d->result == 0)
		d->result = rv == PNC_ETIMEDOUT ? PNC_ECLOSED : rv; /* told to stop */
	d->stop = 1; /* one direction ending ends the device */
	if (--d->running == 0)
		pnc_cv_wake(&d->cv);
	pnc_mtx_unlock(&d->mtx);
	free(f);
}

static int
device_pair_ok(const pnc_socket *a, const pnc_socket *b)
{
	return a->raw && b->raw && a->proto->peer_id == b->proto->self_id &&
	    b->proto->peer_id == a->proto->self_id;
}

int
pnc_device_start(pnc_socket *a, pnc_socket *b, pnc_device **dp)
{
	pnc_device *d;

	if (b == NULL)
		b = a;
	/* Two sockets must be each other's peers; one must be its own peer. */
	if (!device_pair_ok(a, b))
		return PNC_EINVAL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return PNC_ENOMEM;
	pnc_mtx_init(&d->mtx);
	pnc_cv_init(&d->cv);
	d->sock[0] = a;
	d->sock[1] = b;
	pnc_sock_hold(a);
	pnc_sock_hold(b);
	for (int i = 0; i < (a == b ? 1 : 2); i++) {
		forwarder *f = malloc(sizeof(*f));
		if (f == NULL)
			break;
		f->dev = d;
		f->from = d->sock[i];
		f->to = d->sock[1 - i];
		pnc_mtx_lock(&d->mtx);
		d->running++;
		pnc_mtx_unlock(&d->mtx);
		if (pnc_thread_start(&d->threads[d->nthreads], forward, f) != 0) {
			free(f);
			pnc_mtx_lock(&d->mtx);
			d->running--;
			pnc_mtx_unlock(&d->mtx);
			break;
		}
		d->nthreads++;
	}
	*dp = d;
	if (d->nthreads == 0) {
		pnc_device_release(d);
		return PNC_ENOMEM;
	}
	return 0;
}

int
pnc_device_wait(pnc_device *d, int slice_ms)
{
	int rv;

	pnc_mtx_lock(&d->mtx);
	if (d->running > 0)
		pnc_cv_wait_until(&d->cv, &d->mtx,
		    slice_ms > 0 && pnc_wait_sliced() ? pnc_clock_ms() + slice_ms : PNC_FOREVER);
	rv = d->running > 0 ? PNC_ESLICE : d->result;
	pnc_mtx_unlock(&d->mtx);
	return rv;
}

void
pnc_device_release(pnc_device *d)
{
	pnc_mtx_lock(&d->mtx);
	d->stop = 1;
	pnc_mtx_unlock(&d->mtx);
	for (int i = 0; i < d->nthreads; i++)
		pnc_thread_join(&d->threads[i]);
	pnc_sock_rele(d->sock[0]);
	pnc_sock_rele(d->sock[1]);
	pnc_cv_fini(&d->cv);
	pnc_mtx_fini(&d->mtx);
	free(d);
}
