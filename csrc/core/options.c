/*
 * options.c: socket and endpoint options by their NNG names, one table.
 *
 * The protocol is asked first, so it can own names of its own
 * ("pair1:polyamorous", "ttl-max").  Integer options share one setter that
 * checks the range the table gives.  The options of connections
 * (pnc_conn_opts) are a socket's and each endpoint's: see core.h.
 */
#include <stdio.h>

#include "core.h"

typedef enum { OPT_I64, OPT_SIZE, OPT_STRING } opt_type;

typedef struct sock_option {
	const char *name;
	opt_type type;
	int conn;      /* in pnc_conn_opts, at offset; else in pnc_socket */
	size_t offset;
	int64_t min;
	int64_t max;
} sock_option;

#define SOPT(name, type, field, min, max) \
	{ name, type, 0, offsetof(pnc_socket, field), min, max }
#define COPT(name, type, field, min, max) \
	{ name, type, 1, offsetof(pnc_conn_opts, field), min, max }

static const sock_option sock_options[] = {
	SOPT("recv-timeout", OPT_I64, recv_timeout, -1, INT32_MAX),
	SOPT("send-timeout", OPT_I64, send_timeout, -1, INT32_MAX),
	SOPT("recv-buffer", OPT_I64, recv_buffer, 0, 8192),
	SOPT("send-buffer", OPT_I64, send_buffer, 0, 8192),
	/* 2^62 (what a size_t holds on a 32-bit build): no length a peer may
	 * claim is bigger (nng 2.0 refuses >2^60) */
	COPT("recv-size-max", OPT_SIZE, recv_max, 0,
	    (uint64_t) SIZE_MAX < ((uint64_t) 1 << 62) ? (int64_t) SIZE_MAX : (int64_t) 1 << 62),
	COPT("reconnect-time-min", OPT_I64, reconnect_min, 0, INT32_MAX),
	COPT("reconnect-time-max", OPT_I64, reconnect_max, 0, INT32_MAX),
	COPT("tcp-nodelay", OPT_I64, tcp_nodelay, 0, 1),
	COPT("tcp-keepalive", OPT_I64, tcp_keepalive, 0, 1),
	SOPT("socket-name", OPT_STRING, name, 0, 63),
};

static const sock_option *
option_find(const char *name)
{
	for (size_t i = 0; i < sizeof(sock_options) / sizeof(sock_options[0]); i++)
		if (strcmp(sock_options[i].name, name) == 0)
			return &sock_options[i];
	return NULL;
}

/* Read-only facts about the socket, answered outside the table. */
static int
sock_fact(pnc_socket *s, const char *name, int64_t *vp)
{
	if (strcmp(name, "protocol") == 0)
		*vp = s->proto->self_id;
	else if (strcmp(name, "peer") == 0)
		*vp = s->proto->peer_id;
	else if (strcmp(name, "raw") == 0)
		*vp = s->raw;
	else
		return PNC_ENOTSUP;
	return 0;
}

/* Where an integer option lives: in the socket, or in these conn options. */
static void *
option_field(const sock_option *o, pnc_socket *s, pnc_conn_opts *conn)
{
	return (char *) (o->conn ? (void *) conn : (void *) s) + o->offset;
}

static void
option_store(const sock_option *o, void *field, int64_t v)
{
	if (o->type == OPT_SIZE)
		pnc_atomic_store_relaxed_size(field, (size_t) v);
	else
		*(int64_t *) field = v;
}

static int64_t
option_load(const sock_option *o, void *field)
{
	if (o->type == OPT_SIZE)
		return (int64_t) pnc_atomic_load_relaxed_size(field);
	return *(int64_t *) field;
}

/* An integer option's value checked: 0, or why it cannot be set. */
static int
option_check(const sock_option *o, int64_t v)
{
	if (o->type == OPT_STRING)
		return PNC_EBADTYPE;
	return v < o->min || v > o->max ? PNC_EINVAL : 0;
}

/* An endpoint's conn option is set: a redial waits by the new bounds. */
static void
ep_option_set(const sock_option *o, pnc_endpoint *ep, int64_t v)
{
	option_store(o, option_field(o, ep->sock, &ep->opts), v);
	if (strcmp(o->name, "reconnect-time-min") == 0)
		ep->backoff = v;
}

int
pnc_sockopt_set_int(pnc_socket *s, const char *name, int64_t v)
{
	const sock_option *o;
	int64_t unused;
	int rv;

	if (s->proto->set_int != NULL &&
	    (rv = s->proto->set_int(s, name, v)) != PNC_ENOTSUP)
		return rv;
	if ((o = option_find(name)) == NULL)
		return sock_fact(s, name, &unused) == 0 ? PNC_EREADONLY : PNC_ENOTSUP;
	if ((rv = option_check(o, v)) != 0)
		return rv;
	option_store(o, option_field(o, s, &s->conn), v);
	if (strcmp(name, "recv-buffer") == 0)
		pnc_sock_resume_pipes(s); /* a bigger queue may have room now */
	if (o->conn) {
		PNC_LIST_EACH(&s->endpoints, n)
			ep_option_set(o, PNC_CONTAINER(n, pnc_endpoint, sock_node), v);
	}
	return 0;
}

int
pnc_sockopt_get_int(pnc_socket *s, const char *name, int64_t *vp)
{
	const sock_option *o;
	int rv;

	if (s->proto->get_int != NULL &&
	    (rv = s->proto->get_int(s, name, vp)) != PNC_ENOTSUP)
		return rv;
	if ((o = option_find(name)) == NULL)
		return sock_fact(s, name, vp);
	if (o->type == OPT_STRING)
		return PNC_EBADTYPE;
	*vp = option_load(o, option_field(o, s, &s->conn));
	return 0;
}

int
pnc_epopt_set_int(pnc_endpoint *ep, const char *name, int64_t v)
{
	const sock_option *o = option_find(name);
	int rv;

	if (o == NULL || !o->conn)
		return PNC_ENOTSUP; /* the socket's own: set there, as with nng */
	if ((rv = option_check(o, v)) != 0)
		return rv;
	ep_option_set(o, ep, v);
	return 0;
}

int
pnc_epopt_get_int(pnc_endpoint *ep, const char *name, int64_t *vp)
{
	const sock_option *o = option_find(name);

	if (o == NULL || !o->conn)
		return pnc_sockopt_get_int(ep->sock, name, vp);
	*vp = option_load(o, option_field(o, ep->sock, &ep->opts));
	return 0;
}

int
pnc_socket_set_int(pnc_socket *s, const char *name, int64_t v)
{
	int rv;

	pnc_sock_lock(s);
	rv = s->closed ? PNC_ECLOSED : pnc_sockopt_set_int(s, name, v);
	pnc_sock_unlock(s);
	return rv;
}

int
pnc_socket_get_int(pnc_socket *s, const char *name, int64_t *vp)
{
	int rv;

	pnc_sock_lock(s);
	rv = s->closed ? PNC_ECLOSED : pnc_sockopt_get_int(s, name, vp);
	pnc_sock_unlock(s);
	return rv;
}

int
pnc_socket_set_string(pnc_socket *s, const char *name, const char *value)
{
	const sock_option *o = option_find(name);
	int rv = 0;

	pnc_sock_lock(s);
	if (s->closed)
		rv = PNC_ECLOSED;
	else if (o == NULL)
		rv = PNC_ENOTSUP;
	else if (o->type != OPT_STRING)
		rv = PNC_EBADTYPE;
	else if ((int64_t) strlen(value) > o->max)
		rv = PNC_EINVAL;
	else
		strcpy((char *) s + o->offset, value);
	pnc_sock_unlock(s);
	return rv;
}

int
pnc_socket_get_string(pnc_socket *s, const char *name, char *buf, size_t size)
{
	const sock_option *o = option_find(name);
	const char *value = NULL;
	int rv = 0;

	pnc_sock_lock(s);
	if (s->closed)
		rv = PNC_ECLOSED;
	else if (strcmp(name, "protocol-name") == 0)
		value = s->proto->name;
	else if (strcmp(name, "peer-name") == 0)
		value = s->proto->peer_name;
	else if (o == NULL)
		rv = PNC_ENOTSUP;
	else if (o->type != OPT_STRING)
		rv = PNC_EBADTYPE;
	else
		value = (const char *) s + o->offset;
	if (value != NULL && size > 0)
		snprintf(buf, size, "%s", value);
	pnc_sock_unlock(s);
	return rv;
}
