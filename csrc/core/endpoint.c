/*
 * endpoint.c: dialers and listeners.
 *
 * A listener binds on the caller's thread, so its error is known at once.
 * A dialer's attempts run on the I/O thread; a blocking dial waits for the
 * first one.  Lost connections are redialed after a random wait within the
 * current backoff, which doubles per failure up to reconnect-time-max
 * (the endpoint's, see pnc_conn_opts).  Endpoint state is guarded by its
 * socket's lock.
 *
 * A socket has at most PNC_DIALS_AT_ONCE attempts under way (from the
 * connect to the end of the SP handshake); its other dialers wait their
 * turn, first come first served.  A program that dials thousands at once
 * would otherwise fill the listener's accept queue faster than it is
 * drained, and every connection the kernel drops there costs a SYN sent
 * again a second later.  An attempt that has not ended after
 * DIAL_STALLED_MS (an address that does not answer) no longer holds its
 * place, so a dead address never holds back the dials to live ones for
 * longer than that.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

#define PNC_DIALS_AT_ONCE 256
#define DIAL_STALLED_MS 1000

static void ep_redial(void *arg);
static void ep_close_on_io(void *arg);

void
pnc_ep_hold(pnc_endpoint *ep)
{
	pnc_atomic_inc(&ep->refs);
}

void
pnc_ep_rele(pnc_endpoint *ep)
{
	pnc_socket *s;

	if (pnc_atomic_dec(&ep->refs) != 0)
		return;
	s = ep->sock;
	pnc_tls_config_release(ep->tls);
	pnc_cv_fini(&ep->cv);
	free(ep);
	pnc_sock_rele(s);
}

static int
ep_create(pnc_socket *s, const char *url, int listener, pnc_tls_config *tls,
    pnc_endpoint **epp)
{
	pnc_url u;
	const pnc_tran_ops *tran;
	pnc_endpoint *ep;
	int rv;

	if ((rv = pnc_url_parse(url, &u)) != 0)
		return rv;
	if ((tran = pnc_tran_find(u.scheme)) == NULL)
		return PNC_ENOTSUP;
	if ((ep = calloc(1, sizeof(*ep) + tran->ep_size)) == NULL)
		return PNC_ENOMEM;
	ep->refs = 2; /* the caller's, and the socket's while attached */
	ep->id = pnc_next_id();
	ep->listener = listener;
	ep->sock = s;
	ep->tran = tran;
	ep->url = u;
	ep->tdata = ep + 1;
	pnc_tls_config_hold(tls);
	ep->tls = tls;
	snprintf(ep->url_text, sizeof(ep->url_text), "%s", url);
	pnc_cv_init(&ep->cv);
	pnc_list_init(&ep->pipes);
	pnc_timer_init(&ep->timer, ep_redial, ep);
	pnc_task_init(&ep->close_task, ep_close_on_io, ep);
	pnc_sock_hold(s);
	pnc_sock_lock(s);
	ep->opts = s->conn;
	ep->backoff = ep->opts.reconnect_min;
	pnc_sock_unlock(s);
	if ((rv = tran->ep_init(ep)) != 0) {
		ep->refs = 1;
		pnc_ep_rele(ep);
		return rv;
	}
	pnc_sock_lock(s);
	if (s->closed) {
		pnc_sock_unlock(s);
		ep->refs = 1;
		pnc_ep_rele(ep);
		return PNC_ECLOSED;
	}
	pnc_list_append(&s->endpoints, &ep->sock_node);
	pnc_sock_unlock(s);
	*epp = ep;
	return 0;
}

/* Closing an endpoint that never got going: drop both references. */
static void
ep_discard(pnc_endpoint *ep)
{
	pnc_ep_close(ep);
	pnc_ep_rele(ep);
}

/* Random wait in [0, backoff), then the backoff grows; socket locked. */
static int64_t
ep_next_wait_locked(pnc_endpoint *ep)
{
	int64_t wait = ep->backoff > 0 ? (int64_t) (pnc_random() % (uint64_t) ep->backoff) : 0;
	int64_t max = ep->opts.reconnect_max;

	if (max > 0) {
		ep->backoff *= 2;
		if (ep->backoff > max)
			ep->backoff = max;
		if (ep->backoff <= 0)
			ep->backoff = max;
	}
	return wait;
}

/* Socket locked: ep's attempt takes a place among the dialing. */
static void
ep_dial_under_way_locked(pnc_endpoint *ep, int64_t now)
{
	pnc_socket *s = ep->sock;

	pnc_list_append(&s->dialing, &ep->dial_node);
	s->ndialing++;
	ep->dial_state = PNC_DIAL_UNDER_WAY;
	ep->dial_since = now;
}

/*
 * Socket locked: ep leaves the dial lists (its attempt ended, or it
 * closed), and the first dialer waiting takes the place it had.
 */
static void
ep_dial_over_locked(pnc_endpoint *ep)
{
	pnc_socket *s = ep->sock;

	if (ep->dial_state == PNC_DIAL_IDLE)
		return;
	pnc_list_remove(&ep->dial_node);
	if (ep->dial_state == PNC_DIAL_UNDER_WAY)
		s->ndialing--;
	ep->dial_state = PNC_DIAL_IDLE;
	if (s->ndialing < PNC_DIALS_AT_ONCE && !pnc_list_empty(&s->dial_waiting)) {
		pnc_endpoint *next = PNC_CONTAINER(pnc_list_first(&s->dial_waiting),
		    pnc_endpoint, dial_node);

		pnc_list_remove(&next->dial_node);
		ep_dial_under_way_locked(next, pnc_clock_ms());
		pnc_timer_arm(&next->timer, 0);
	}
}

/*
 * Socket locked: 1 if ep may dial now (its place is taken), 0 if it waits
 * for one (its timer looks again when the oldest attempt stalls).
 */
static int
ep_dial_admitted_locked(pnc_endpoint *ep)
{
	pnc_socket *s = ep->sock;
	int64_t now = pnc_clock_ms();

	if (ep->dial_state == PNC_DIAL_UNDER_WAY)
		return 1; /* given a place as another attempt ended */
	while (s->ndialing > 0) {
		pnc_endpoint *oldest = PNC_CONTAINER(pnc_list_first(&s->dialing),
		    pnc_endpoint, dial_node);

		if (now - oldest->dial_since < DIAL_STALLED_MS) {
			if (s->ndialing < PNC_DIALS_AT_ONCE)
				break;
			if (ep->dial_state == PNC_DIAL_IDLE) {
				pnc_list_append(&s->dial_waiting, &ep->dial_node);
				ep->dial_state = PNC_DIAL_WAITING;
			}
			pnc_timer_arm(&ep->timer, oldest->dial_since + DIAL_STALLED_MS - now);
			return 0;
		}
		pnc_list_remove(&oldest->dial_node); /* stalled: no longer counted */
		s->ndialing--;
		oldest->dial_state = PNC_DIAL_IDLE;
	}
	if (ep->dial_state == PNC_DIAL_WAITING)
		pnc_list_remove(&ep->dial_node);
	ep_dial_under_way_locked(ep, now);
	return 1;
}

static void
ep_schedule_locked(pnc_endpoint *ep)
{
	if (!ep->closed && !ep->sock->closed)
		pnc_timer_arm(&ep->timer, ep_next_wait_locked(ep));
}

/* A start that failed: the endpoint may start again. */
static void
ep_start_undo(pnc_endpoint *ep)
{
	pnc_sock_lock(ep->sock);
	ep->started = 0;
	pnc_sock_unlock(ep->sock);
}

/*
 * Marks ep started: 0, or why it cannot start (a TLS endpoint's config
 * cannot serve its side: see pnc_tls_config_fits).
 */
static int
ep_start_begin(pnc_endpoint *ep)
{
	pnc_tls_config *cfg;
	int rv;

	pnc_sock_lock(ep->sock);
	rv = ep->closed || ep->sock->closed ? PNC_ECLOSED : ep->started ? PNC_ESTATE : 0;
	if (rv == 0) {
		ep->started = 1;
		ep->last_err = 0; /* what fails from now on is this start's */
		ep->last_why[0] = '\0';
	}
	pnc_sock_unlock(ep->sock);
	if (rv != 0 || !ep->uses_tls)
		return rv;
	cfg = pnc_ep_tls(ep);
	rv = pnc_tls_config_fits(cfg, ep->listener);
	pnc_tls_config_release(cfg);
	if (rv != 0)
		ep_start_undo(ep);
	return rv;
}

int
pnc_listener_create(pnc_socket *s, const char *url, pnc_tls_config *tls,
    pnc_listener **lp)
{
	return ep_create(s, url, 1, tls, (pnc_endpoint **) lp);
}

int
pnc_listener_start(pnc_listener *l, int flags)
{
	pnc_endpoint *ep = &l->ep;
	int rv;

	if ((rv = ep_start_begin(ep)) != 0)
		return rv;
	if ((rv = ep->tran->bind(ep)) != 0) {
		if (!(flags & PNC_FLAG_NONBLOCK) || rv == PNC_EADDRINVAL) {
			ep_start_undo(ep);
			return rv;
		}
		pnc_sock_lock(ep->sock);
		ep_schedule_locked(ep); /* try the bind again in the background */
		pnc_sock_unlock(ep->sock);
	}
	return 0;
}

int
pnc_dialer_create(pnc_socket *s, const char *url, pnc_tls_config *tls,
    pnc_dialer **dp)
{
	return ep_create(s, url, 0, tls, (pnc_endpoint **) dp);
}

int
pnc_dialer_start(pnc_dialer *d, int flags)
{
	pnc_endpoint *ep = &d->ep;
	pnc_socket *s = ep->sock;
	int rv;

	if ((rv = ep_start_begin(ep)) != 0)
		return rv;
	pnc_sock_lock(s);
	ep->sync_waiting = !(flags & PNC_FLAG_NONBLOCK);
	pnc_sock_unlock(s);
	/* Attempts run on the I/O thread, where the endpoint's close runs too. */
	pnc_timer_arm(&ep->timer, 0);
	if (flags & PNC_FLAG_NONBLOCK)
		return 0;
	pnc_sock_lock(s);
	while (ep->sync_waiting && !s->closed)
		pnc_cv_wait_until(&ep->cv, &s->mtx, PNC_FOREVER);
	rv = ep->sync_waiting ? PNC_ECLOSED : ep->sync_result;
	ep->sync_waiting = 0;
	if (rv != 0)
		ep->started = 0; /* a failed blocking dial is not retried */
	pnc_sock_unlock(s);
	return rv;
}

int
pnc_listen(pnc_socket *s, const char *url, int flags, pnc_listener **lp)
{
	return pnc_listen_tls(s, url, flags, NULL, lp);
}

int
pnc_listen_tls(pnc_socket *s, const char *url, int flags, pnc_tls_config *tls,
    pnc_listener **lp)
{
	pnc_listener *l;
	int rv;

	if ((rv = pnc_listener_create(s, url, tls, &l)) != 0)
		return rv;
	if ((rv = pnc_listener_start(l, flags)) != 0) {
		ep_discard(&l->ep);
		return rv;
	}
	*lp = l;
	return 0;
}

int
pnc_dial(pnc_socket *s, const char *url, int flags, pnc_dialer **dp)
{
	return pnc_dial_tls(s, url, flags, NULL, dp);
}

int
pnc_dial_tls(pnc_socket *s, const char *url, int flags, pnc_tls_config *tls,
    pnc_dialer **dp)
{
	pnc_dialer *d;
	int rv;

	if ((rv = pnc_dialer_create(s, url, tls, &d)) != 0)
		return rv;
	if ((rv = pnc_dialer_start(d, flags)) != 0) {
		ep_discard(&d->ep);
		return rv;
	}
	*dp = d;
	return 0;
}

void
pnc_ep_connected(pnc_endpoint *ep, pnc_pipe *p)
{
	pnc_socket *s = ep->sock;

	pnc_sock_lock(s);
	ep_dial_over_locked(ep);
	ep->backoff = ep->opts.reconnect_min;
	if (p->closed)
		ep_schedule_locked(ep); /* gone already, before it was ours to miss */
	else
		ep->pipe_id = p->id;
	if (ep->sync_waiting) {
		ep->sync_waiting = 0;
		ep->sync_result = 0;
		pnc_cv_wake(&ep->cv);
	}
	pnc_sock_unlock(s);
}

/* Socket locked: a failed connection's error is ep's last, a dialer's told. */
static void
ep_failed_locked(pnc_endpoint *ep, int err, const char *why)
{
	ep->last_err = err;
	snprintf(ep->last_why, sizeof(ep->last_why), "%s", why != NULL ? why : "");
	if (ep->listener)
		return;
	ep_dial_over_locked(ep);
	if (ep->sync_waiting) {
		ep->sync_waiting = 0;
		ep->sync_result = err;
		pnc_cv_wake(&ep->cv);
	} else {
		ep_schedule_locked(ep);
	}
}

void
pnc_ep_connect_failed(pnc_endpoint *ep, int err)
{
	pnc_sock_lock(ep->sock);
	ep_failed_locked(ep, err, NULL);
	pnc_sock_unlock(ep->sock);
}

void
pnc_ep_handshake_failed(pnc_endpoint *ep, int err, const char *stage,
    const char *tls_why)
{
	pnc_stats *st = &ep->sock->stats;
	char why[PNC_WHY_MAX];

	if (tls_why[0] != '\0')
		snprintf(why, sizeof(why), "TLS: %s", tls_why);
	else
		snprintf(why, sizeof(why), "%s: %s", stage,
		    err == PNC_ETIMEDOUT ? "not finished in time" : pnc_strerror(err));

	PNC_STAT(st->pipes_rejected, 1);
	if (err == PNC_EPEERAUTH)
		PNC_STAT(st->rejected_peer_auth, 1);
	else if (err == PNC_ECRYPTO)
		PNC_STAT(st->rejected_tls, 1);
	else if (err == PNC_EPROTO)
		PNC_STAT(st->rejected_protocol, 1);
	else if (err == PNC_ETIMEDOUT)
		PNC_STAT(st->rejected_timeout, 1);
	pnc_sock_lock(ep->sock);
	ep_failed_locked(ep, err, why);
	pnc_sock_unlock(ep->sock);
}

void
pnc_ep_pipe_gone(pnc_endpoint *ep, pnc_pipe *p)
{
	pnc_socket *s = ep->sock;

	pnc_sock_lock(s);
	if (ep->pipe_id == p->id) {
		ep->pipe_id = 0;
		if (!ep->listener)
			ep_schedule_locked(ep);
	}
	pnc_sock_unlock(s);
}

int
pnc_ep_closing(pnc_endpoint *ep)
{
	int closing;

	pnc_sock_lock(ep->sock);
	closing = ep->closed || ep->sock->closed;
	pnc_sock_unlock(ep->sock);
	return closing;
}

static void
ep_redial(void *arg)
{
	pnc_endpoint *ep = arg;
	pnc_socket *s = ep->sock;
	int stopped, rv;

	pnc_sock_lock(s);
	stopped = ep->closed || s->closed || (!ep->listener && !ep_dial_admitted_locked(ep));
	pnc_sock_unlock(s);
	if (stopped)
		return;
	if (!ep->listener) {
		ep->tran->connect(ep);
		return;
	}
	if ((rv = ep->tran->bind(ep)) != 0) {
		pnc_sock_lock(s);
		ep_schedule_locked(ep);
		pnc_sock_unlock(s);
	}
}

static void
ep_close_on_io(void *arg)
{
	pnc_endpoint *ep = arg;
	pnc_socket *s = ep->sock;

	pnc_timer_cancel(&ep->timer);
	ep->tran->ep_close(ep);
	pnc_sock_lock(s);
	ep->released = 1;
	pnc_cv_wake(&ep->cv);
	pnc_sock_unlock(s);
	pnc_ep_rele(ep); /* the socket's reference */
}

int
pnc_ep_close_start(pnc_endpoint *ep)
{
	pnc_socket *s = ep->sock;

	pnc_sock_lock(s);
	if (ep->closed) {
		pnc_sock_unlock(s);
		return 0;
	}
	ep->closed = 1;
	pnc_list_remove(&ep->sock_node);
	ep_dial_over_locked(ep);
	if (ep->sync_waiting) {
		ep->sync_waiting = 0;
		ep->sync_result = PNC_ECLOSED;
		pnc_cv_wake(&ep->cv);
	}
	/* Its pipes go with it, as with nng: each leaves ep->pipes as it closes. */
	while (!pnc_list_empty(&ep->pipes)) {
		pnc_pipe *p = PNC_CONTAINER(pnc_list_first(&ep->pipes), pnc_pipe, ep_node);
		pnc_pipe_hold(p);
		pnc_sock_unlock(s);
		pnc_pipe_close(p);
		pnc_pipe_rele(p);
		pnc_sock_lock(s);
	}
	pnc_sock_unlock(s);
	/*
	 * The transport's descriptors belong to the I/O thread.  Wait for it
	 * to let them go, so the address can be listened on again at once,
	 * as after nng_close.  The caller holds a reference, so ep stays.
	 */
	if (pnc_io_on_thread()) {
		ep_close_on_io(ep);
		return 0;
	}
	pnc_task_post(&ep->close_task);
	return 1;
}

void
pnc_ep_close_wait_locked(pnc_endpoint *ep)
{
	while (!ep->released)
		pnc_cv_wait_until(&ep->cv, &ep->sock->mtx, PNC_FOREVER);
}

void
pnc_ep_close(pnc_endpoint *ep)
{
	if (pnc_ep_close_start(ep)) {
		pnc_sock_lock(ep->sock);
		pnc_ep_close_wait_locked(ep);
		pnc_sock_unlock(ep->sock);
	}
}

static int
ep_user_close(pnc_endpoint *ep)
{
	pnc_socket *s = ep->sock;
	int closed;

	pnc_sock_lock(s);
	closed = ep->closed;
	pnc_sock_unlock(s);
	if (closed)
		return PNC_ECLOSED;
	pnc_ep_close(ep);
	return 0;
}

/* -- TLS options (pnc.h) ---------------------------------------------- */

static int
ep_is_tls_option(const char *name)
{
	return strcmp(name, "tls-ca-file") == 0 || strcmp(name, "tls-cert-key-file") == 0 ||
	    strcmp(name, "tls-server-name") == 0 || strcmp(name, "tls-authmode") == 0;
}

/*
 * A reference to ep's own TLS config, made for it when it has none; only
 * before its start (after it, PNC_EBUSY, as nng's: a config made now
 * would lack what the one it started with had).
 */
static int
ep_own_tls(pnc_endpoint *ep, pnc_tls_config **cfgp)
{
	pnc_tls_config *made = NULL;
	int rv;

	if (!ep->uses_tls)
		return PNC_ENOTSUP;
	for (;;) {
		pnc_sock_lock(ep->sock);
		rv = ep->closed ? PNC_ECLOSED : ep->started ? PNC_EBUSY : 0;
		if (rv == 0 && ep->tls == NULL && made != NULL) {
			ep->tls = made; /* the reference alloc gave */
			made = NULL;
		}
		*cfgp = rv == 0 ? ep->tls : NULL;
		pnc_tls_config_hold(*cfgp);
		pnc_sock_unlock(ep->sock);
		pnc_tls_config_release(made); /* another thread's came first */
		if (rv != 0 || *cfgp != NULL)
			return rv;
		/* None yet: one is made unlocked (OpenSSL's), then put in. */
		if ((rv = pnc_tls_config_alloc(&made,
		         ep->listener ? PNC_TLS_MODE_SERVER : PNC_TLS_MODE_CLIENT)) != 0)
			return rv;
	}
}

/* text for the string options, mode for "tls-authmode". */
static int
ep_set_tls_option(pnc_endpoint *ep, const char *name, const char *text, int64_t mode)
{
	pnc_tls_config *cfg;
	int rv;

	if ((text == NULL) != (strcmp(name, "tls-authmode") == 0))
		return PNC_EBADTYPE;
	if (text == NULL && (mode < PNC_TLS_AUTH_MODE_NONE || mode > PNC_TLS_AUTH_MODE_REQUIRED))
		return ep->uses_tls ? PNC_EINVAL : PNC_ENOTSUP; /* the value first, as nng */
	if ((rv = ep_own_tls(ep, &cfg)) != 0)
		return rv;
	if (strcmp(name, "tls-ca-file") == 0)
		rv = pnc_tls_config_ca_file(cfg, text);
	else if (strcmp(name, "tls-cert-key-file") == 0)
		rv = pnc_tls_config_cert_key_file(cfg, text, NULL);
	else if (strcmp(name, "tls-server-name") == 0)
		rv = pnc_tls_config_server_name(cfg, text);
	else
		rv = pnc_tls_config_auth_mode(cfg, (int) mode);
	pnc_tls_config_release(cfg);
	return rv;
}

static int
ep_get_int(pnc_endpoint *ep, const char *name, int64_t *vp)
{
	int rv;

	if (ep_is_tls_option(name))
		return ep->uses_tls ? PNC_EWRITEONLY : PNC_ENOTSUP;
	rv = ep->tran->get_int != NULL ? ep->tran->get_int(ep, name, vp) : PNC_ENOTSUP;

	/*
	 * What the transport does not know is the endpoint's own option (its
	 * connections', copied from the socket's as nng does); what it knows
	 * but cannot tell yet (a port not bound) it says.
	 */
	if (rv != PNC_ENOTSUP)
		return rv;
	pnc_sock_lock(ep->sock);
	rv = pnc_epopt_get_int(ep, name, vp);
	pnc_sock_unlock(ep->sock);
	return rv;
}

/* Its connections' options; what the transport tells is read-only. */
static int
ep_set_int(pnc_endpoint *ep, const char *name, int64_t v)
{
	int64_t unused;
	int rv;

	if (ep_is_tls_option(name))
		return ep_set_tls_option(ep, name, NULL, v);
	if (ep->tran->set_int != NULL && (rv = ep->tran->set_int(ep, name, v)) != PNC_ENOTSUP)
		return rv;
	pnc_sock_lock(ep->sock);
	rv = ep->closed ? PNC_ECLOSED : pnc_epopt_set_int(ep, name, v);
	pnc_sock_unlock(ep->sock);
	if (rv == PNC_ENOTSUP && ep->tran->get_int != NULL &&
	    ep->tran->get_int(ep, name, &unused) != PNC_ENOTSUP)
		rv = PNC_EREADONLY;
	return rv;
}

/* The TLS ones, and the transport's ("ws:request-headers"). */
static int
ep_set_string(pnc_endpoint *ep, const char *name, const char *v)
{
	if (ep_is_tls_option(name))
		return ep_set_tls_option(ep, name, v, 0);
	return ep->tran->set_string != NULL ? ep->tran->set_string(ep, name, v)
	                                    : PNC_ENOTSUP;
}

static int
ep_get_string(pnc_endpoint *ep, const char *name, char *buf, size_t size)
{
	if (ep_is_tls_option(name))
		return ep->uses_tls ? PNC_EWRITEONLY : PNC_ENOTSUP;
	return ep->tran->get_string != NULL ? ep->tran->get_string(ep, name, buf, size)
	                                    : PNC_ENOTSUP;
}

static int
ep_last_error(pnc_endpoint *ep, int *errp, char *why, size_t size)
{
	pnc_sock_lock(ep->sock);
	*errp = ep->last_err;
	if (size > 0)
		snprintf(why, size, "%s", ep->last_why);
	pnc_sock_unlock(ep->sock);
	return 0;
}

int
pnc_listener_last_error(pnc_listener *l, int *errp, char *why, size_t size)
{
	return ep_last_error(&l->ep, errp, why, size);
}

int
pnc_dialer_last_error(pnc_dialer *d, int *errp, char *why, size_t size)
{
	return ep_last_error(&d->ep, errp, why, size);
}

int
pnc_listener_set_string(pnc_listener *l, const char *name, const char *value)
{
	return ep_set_string(&l->ep, name, value);
}

int
pnc_listener_get_string(pnc_listener *l, const char *name, char *buf, size_t size)
{
	return ep_get_string(&l->ep, name, buf, size);
}

int
pnc_dialer_set_string(pnc_dialer *d, const char *name, const char *value)
{
	return ep_set_string(&d->ep, name, value);
}

int
pnc_dialer_get_string(pnc_dialer *d, const char *name, char *buf, size_t size)
{
	return ep_get_string(&d->ep, name, buf, size);
}

int
pnc_listener_close(pnc_listener *l)
{
	return ep_user_close(&l->ep);
}

void
pnc_listener_release(pnc_listener *l)
{
	pnc_ep_rele(&l->ep);
}

int
pnc_listener_get_int(pnc_listener *l, const char *name, int64_t *vp)
{
	return ep_get_int(&l->ep, name, vp);
}

int
pnc_listener_set_int(pnc_listener *l, const char *name, int64_t v)
{
	return ep_set_int(&l->ep, name, v);
}


int
pnc_dialer_close(pnc_dialer *d)
{
	return ep_user_close(&d->ep);
}

void
pnc_dialer_release(pnc_dialer *d)
{
	pnc_ep_rele(&d->ep);
}

int
pnc_dialer_get_int(pnc_dialer *d, const char *name, int64_t *vp)
{
	return ep_get_int(&d->ep, name, vp);
}

int
pnc_dialer_set_int(pnc_dialer *d, const char *name, int64_t v)
{
	return ep_set_int(&d->ep, name, v);
}


uint32_t
pnc_listener_id(const pnc_listener *l)
{
	return l->ep.id;
}

uint32_t
pnc_dialer_id(const pnc_dialer *d)
{
	return d->ep.id;
}

int
pnc_listener_addr(pnc_listener *l, pnc_addr *a)
{
	return l->ep.tran->addr(&l->ep, a);
}

pnc_tls_config *
pnc_ep_tls(pnc_endpoint *ep)
{
	pnc_tls_config *cfg;

	pnc_sock_lock(ep->sock);
	cfg = ep->tls != NULL ? ep->tls : ep->sock->tls;
	pnc_tls_config_hold(cfg);
	pnc_sock_unlock(ep->sock);
	return cfg;
}

/* For the endpoint's next connections: a config of the mode its role takes. */
static int
ep_set_tls(pnc_endpoint *ep, pnc_tls_config *cfg)
{
	pnc_tls_config *old;
	int rv;

	if (cfg == NULL)
		return PNC_EINVAL;
	if (pnc_tls_config_mode(cfg) !=
	    (ep->listener ? PNC_TLS_MODE_SERVER : PNC_TLS_MODE_CLIENT))
		return PNC_EINVAL;
	if (ep->tran->tls_settable != NULL && (rv = ep->tran->tls_settable(ep)) != 0)
		return rv;
	pnc_tls_config_hold(cfg);
	pnc_sock_lock(ep->sock);
	old = ep->tls;
	ep->tls = cfg;
	pnc_sock_unlock(ep->sock);
	pnc_tls_config_release(old);
	return 0;
}

int
pnc_listener_set_tls(pnc_listener *l, pnc_tls_config *cfg)
{
	return ep_set_tls(&l->ep, cfg);
}

int
pnc_dialer_set_tls(pnc_dialer *d, pnc_tls_config *cfg)
{
	return ep_set_tls(&d->ep, cfg);
}
