/*
 * tls_openssl.c: the TLS engine (tls.h) over OpenSSL 1.1.1 or 3.x, the one
 * file that knows OpenSSL.  Built without PNC_HAVE_OPENSSL (the build did
 * not find it: see _build.py), it is a stub that says PNC_ENOTSUP.
 *
 * Records go through a BIO of our own (pnc_net_read for input; output is
 * gathered in the connection and written with pnc_net_writev), so the
 * platform layer does the socket calls.  Output: plaintext is encrypted a
 * record (16 KiB) at a time, and only while the gathered output has room
 * for the whole record, so SSL_write never meets a full BIO and never has
 * to be repeated with the same arguments; small writes are gathered into
 * one record first (a record per small message would cost a record's
 * overhead and an encryption call each).  Input: read-ahead on, and a read
 * goes on until OpenSSL wants the socket or the caller's buffers are full;
 * only then may decrypted data wait (pnc_tls_in_pending).
 * TLS 1.2 and 1.3; no renegotiation, no session tickets (nothing resumes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

#ifdef PNC_HAVE_OPENSSL

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define REC 16384          /* plaintext per record */
#define REC_MARGIN 1024    /* a record's overhead, and then some */
#define OUT_MAX (256u << 10) /* gathered output, before writes wait */
#define OUT_KEEP (64u << 10) /* a drained buffer bigger than this is freed */

struct pnc_tls_config {
	int refs; /* atomic */
	pnc_mtx mtx;
	int server;
	int auth;
	int busy; /* a connection was made from it: no more changes */
	int has_cert;
	char *server_name; /* NULL: the URL's host */
	SSL_CTX *ctx;
	BIO_METHOD *bio_method;
};

struct pnc_tls_conn {
	pnc_mtx mtx;
	pnc_tls_config *cfg;
	SSL *ssl;
	pnc_fd fd;
	int err;    /* sticky */
	int io_err; /* the socket's last error, as the BIO met it */
	int done;   /* handshake over */
	int more;   /* the last read stopped with the buffers full */
	unsigned wants;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	uint8_t stage[REC];
	char failure[200];
};

const char *
pnc_tls_engine(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

/* -- the BIO: OpenSSL's records to and from the socket --------------- */

static int
bio_write(BIO *b, const char *data, int len)
{
	pnc_tls_conn *c = BIO_get_data(b);
	size_t need;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	need = c->out_len + (size_t) len;
	if (need > c->out_cap && c->out_off > 0) {
		/* Room at the front first: what the socket took. */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		need = c->out_len + (size_t) len;
	}
	if (need > c->out_cap) {
		/*
		 * A first buffer for a handshake's flight or a few records;
		 * past it, the whole bound at once: growing by doubling would
		 * copy most of what a burst gathers once more.
		 */
		size_t cap = c->out_cap ? OUT_MAX : 2 * (REC + REC_MARGIN);
		uint8_t *grown;

		if (cap < need)
			cap = need;
		if ((grown = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = grown;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, (size_t) len);
	c->out_len += (size_t) len;
	return len;
}

static int
bio_read(BIO *b, char *buf, int len)
{
	pnc_tls_conn *c = BIO_get_data(b);
	size_t n = 0;
	int rv;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	rv = pnc_net_read(c->fd, buf, (size_t) len, &n);
	if (rv == 0)
		return (int) n;
	if (rv == PNC_EAGAIN) {
		BIO_set_retry_read(b);
		return -1;
	}
	c->io_err = rv;
	return rv == PNC_ECONNSHUT ? 0 : -1;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void) b;
	(void) num;
	(void) ptr;
	return cmd == BIO_CTRL_FLUSH || cmd == BIO_CTRL_DUP ? 1 : 0;
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* -- configurations ---------------------------------------------------- */

static int
verify_optional(int ok, X509_STORE_CTX *ctx)
{
	(void) ok;
	(void) ctx;
	return 1; /* the result stays in the connection: "tls-verified" */
}

int
pnc_tls_config_alloc(pnc_tls_config **cfgp, int mode)
{
	pnc_tls_config *cfg;

	if (mode != PNC_TLS_MODE_CLIENT && mode != PNC_TLS_MODE_SERVER)
		return PNC_EINVAL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return PNC_ENOMEM;
	cfg->refs = 1;
	cfg->server = mode == PNC_TLS_MODE_SERVER;
	/* nng's defaults: a client verifies its server, a server asks nothing. */
	cfg->auth = cfg->server ? PNC_TLS_AUTH_MODE_NONE : PNC_TLS_AUTH_MODE_REQUIRED;
	pnc_mtx_init(&cfg->mtx);
	cfg->ctx = SSL_CTX_new(TLS_method());
	cfg->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pnc_net");
	if (cfg->ctx == NULL || cfg->bio_method == NULL) {
		pnc_tls_config_release(cfg);
		return PNC_ENOMEM;
	}
	BIO_meth_set_write(cfg->bio_method, bio_write);
	BIO_meth_set_read(cfg->bio_method, bio_read);
	BIO_meth_set_ctrl(cfg->bio_method, bio_ctrl);
	BIO_meth_set_create(cfg->bio_method, bio_create);
	SSL_CTX_set_min_proto_version(cfg->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(cfg->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(cfg->ctx, 0);
	SSL_CTX_set_session_cache_mode(cfg->ctx, SSL_SESS_CACHE_OFF);
	*cfgp = cfg;
	return 0;
}

void
pnc_tls_config_hold(pnc_tls_config *cfg)
{
	if (cfg != NULL)
		pnc_atomic_inc(&cfg->refs);
}

void
pnc_tls_config_release(pnc_tls_config *cfg)
{
	if (cfg == NULL || pnc_atomic_dec(&cfg->refs) != 0)
		return;
	SSL_CTX_free(cfg->ctx);
	BIO_meth_free(cfg->bio_method);
	free(cfg->server_name);
	pnc_mtx_fini(&cfg->mtx);
	free(cfg);
}

/* Locks the config for a change: PNC_EBUSY once in use. */
static int
config_change(pnc_tls_config *cfg)
{
	pnc_mtx_lock(&cfg->mtx);
	if (cfg->busy) {
		pnc_mtx_unlock(&cfg->mtx);
		return PNC_EBUSY;
	}
	ERR_clear_error();
	return 0;
}

static int
config_done(pnc_tls_config *cfg, int rv)
{
	ERR_clear_error();
	pnc_mtx_unlock(&cfg->mtx);
	return rv;
}

int
pnc_tls_config_server_name(pnc_tls_config *cfg, const char *name)
{
	char *copy;
	int rv;

	if (name == NULL)
		return PNC_EINVAL;
	if ((rv = config_change(cfg)) != 0)
		return rv;
	if ((copy = strdup(name)) == NULL)
		return config_done(cfg, PNC_ENOMEM);
	free(cfg->server_name);
	cfg->server_name = copy;
	return config_done(cfg, 0);
}

int
pnc_tls_config_auth_mode(pnc_tls_config *cfg, int mode)
{
	int rv;

	if (mode < PNC_TLS_AUTH_MODE_NONE || mode > PNC_TLS_AUTH_MODE_REQUIRED)
		return PNC_EINVAL;
	if ((rv = config_change(cfg)) != 0)
		return rv;
	cfg->auth = mode;
	return config_done(cfg, 0);
}

/* The PEM certificates of bio as CAs (config locked): PNC_EINVAL if none. */
static int
config_add_cas(pnc_tls_config *cfg, BIO *bio)
{
	X509_STORE *store = SSL_CTX_get_cert_store(cfg->ctx);
	X509 *x;
	int n = 0;

	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_STORE_add_cert(store, x);
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	return n > 0 ? 0 : PNC_EINVAL;
}

int
pnc_tls_config_ca_chain(pnc_tls_config *cfg, const char *pem, const char *crl)
{
	X509_STORE *store;
	BIO *bio;
	X509_CRL *cx;
	int rv, n;

	if (pem == NULL)
		return PNC_EINVAL;
	if ((rv = config_change(cfg)) != 0)
		return rv;
	store = SSL_CTX_get_cert_store(cfg->ctx);
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return config_done(cfg, PNC_ENOMEM);
	if ((rv = config_add_cas(cfg, bio)) != 0)
		return config_done(cfg, rv);
	if (crl != NULL && crl[0] != '\0') {
		if ((bio = BIO_new_mem_buf(crl, -1)) == NULL)
			return config_done(cfg, PNC_ENOMEM);
		n = 0;
		while ((cx = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
			X509_STORE_add_crl(store, cx);
			X509_CRL_free(cx);
			n++;
		}
		BIO_free(bio);
		if (n == 0)
			return config_done(cfg, PNC_EINVAL);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	return config_done(cfg, 0);
}

int
pnc_tls_config_ca_file(pnc_tls_config *cfg, const char *path)
{
	BIO *bio;
	int rv;

	if (path == NULL)
		return PNC_EINVAL;
	if ((rv = config_change(cfg)) != 0)
		return rv;
	if ((bio = BIO_new_file(path, "r")) == NULL)
		return config_done(cfg, PNC_ENOENT);
	return config_done(cfg, config_add_cas(cfg, bio));
}

/* The certificate (then its chain) and the key, from PEM text or a file. */
static int
config_cert_key(pnc_tls_config *cfg, BIO *certs, BIO *keys, const char *passwd)
{
	X509 *x;
	EVP_PKEY *key;
	int first = 1;

	SSL_CTX_clear_chain_certs(cfg->ctx);
	while ((x = PEM_read_bio_X509(certs, NULL, NULL, NULL)) != NULL) {
		int ok = first ? SSL_CTX_use_certificate(cfg->ctx, x)
		               : (int) SSL_CTX_add0_chain_cert(cfg->ctx, x);
		if (first || !ok)
			X509_free(x);
		if (!ok)
			return PNC_EINVAL;
		first = 0;
	}
	if (first)
		return PNC_EINVAL;
	key = PEM_read_bio_PrivateKey(keys, NULL, NULL, (void *) (passwd != NULL ? passwd : ""));
	if (key == NULL)
		return PNC_EINVAL;
	first = SSL_CTX_use_PrivateKey(cfg->ctx, key) == 1 &&
	    SSL_CTX_check_private_key(cfg->ctx) == 1;
	EVP_PKEY_free(key);
	if (!first)
		return PNC_EINVAL;
	cfg->has_cert = 1;
	return 0;
}

int
pnc_tls_config_own_cert(pnc_tls_config *cfg, const char *cert, const char *key,
    const char *passwd)
{
	BIO *cb, *kb;
	int rv;

	if (cert == NULL || key == NULL)
		return PNC_EINVAL;
	if ((rv = config_change(cfg)) != 0)
		return rv;
	cb = BIO_new_mem_buf(cert, -1);
	kb = BIO_new_mem_buf(key, -1);
	rv = cb == NULL || kb == NULL ? PNC_ENOMEM : config_cert_key(cfg, cb, kb, passwd);
	BIO_free(cb);
	BIO_free(kb);
	return config_done(cfg, rv);
}

int
pnc_tls_config_cert_key_file(pnc_tls_config *cfg, const char *path, const char *passwd)
{
	BIO *cb, *kb;
	int rv;

	if (path == NULL)
		return PNC_EINVAL;
	if ((rv = config_change(cfg)) != 0)
		return rv;
	cb = BIO_new_file(path, "r");
	kb = BIO_new_file(path, "r");
	rv = cb == NULL || kb == NULL ? PNC_ENOENT : config_cert_key(cfg, cb, kb, passwd);
	BIO_free(cb);
	BIO_free(kb);
	return config_done(cfg, rv);
}

int
pnc_tls_config_mode(const pnc_tls_config *cfg)
{
	return cfg->server ? PNC_TLS_MODE_SERVER : PNC_TLS_MODE_CLIENT;
}

int
pnc_tls_config_fits(pnc_tls_config *cfg, int server)
{
	int fits;

	if (cfg == NULL)
		return server ? PNC_EINVAL : 0; /* a client has the defaults */
	pnc_mtx_lock(&cfg->mtx);
	fits = cfg->server == !!server && (!server || cfg->has_cert);
	pnc_mtx_unlock(&cfg->mtx);
	return fits ? 0 : PNC_EINVAL;
}

/* -- connections -------------------------------------------------------- */

int
pnc_tls_conn_new(pnc_tls_conn **cp, pnc_tls_config *cfg, int server,
    const char *host, pnc_fd fd)
{
	pnc_tls_config *own = NULL;
	pnc_tls_conn *c;
	const char *name;
	BIO *bio;
	int rv, mode;

	if (cfg == NULL) {
		if (server)
			return PNC_EINVAL; /* a server has no certificate without one */
		if ((rv = pnc_tls_config_alloc(&own, PNC_TLS_MODE_CLIENT)) != 0)
			return rv;
		cfg = own;
	} else {
		pnc_tls_config_hold(cfg);
	}
	if (cfg->server != !!server || (server && !cfg->has_cert)) {
		pnc_tls_config_release(cfg);
		return PNC_EINVAL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		pnc_tls_config_release(cfg);
		return PNC_ENOMEM;
	}
	pnc_mtx_init(&c->mtx);
	c->cfg = cfg;
	c->fd = fd;
	c->wants = PNC_POLL_IN | PNC_POLL_OUT;
	pnc_mtx_lock(&cfg->mtx);
	cfg->busy = 1;
	ERR_clear_error();
	c->ssl = SSL_new(cfg->ctx);
	bio = BIO_new(cfg->bio_method);
	rv = c->ssl == NULL || bio == NULL ? PNC_ENOMEM : 0;
	if (rv != 0) {
		BIO_free(bio);
	} else {
		BIO_set_data(bio, c);
		SSL_set_bio(c->ssl, bio, bio);
		SSL_set_read_ahead(c->ssl, 1);
		mode = cfg->auth == PNC_TLS_AUTH_MODE_NONE ? SSL_VERIFY_NONE : SSL_VERIFY_PEER;
		if (server && cfg->auth == PNC_TLS_AUTH_MODE_REQUIRED)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_set_verify(c->ssl, mode,
		    cfg->auth == PNC_TLS_AUTH_MODE_OPTIONAL ? verify_optional : NULL);
		if (server) {
			SSL_set_accept_state(c->ssl);
		} else {
			SSL_set_connect_state(c->ssl);
			name = cfg->server_name != NULL ? cfg->server_name : host;
			if (name != NULL && name[0] != '\0' && strcmp(name, "*") != 0) {
				X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
				/* An address is checked as one; a name is sent too (SNI). */
				if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) {
					ERR_clear_error();
					if (SSL_set_tlsext_host_name(c->ssl, name) != 1 ||
					    SSL_set1_host(c->ssl, name) != 1)
						rv = PNC_EINVAL;
				}
			}
		}
	}
	ERR_clear_error();
	pnc_mtx_unlock(&cfg->mtx);
	if (rv != 0) {
		pnc_tls_conn_free(c);
		return rv;
	}
	*cp = c;
	return 0;
}

void
pnc_tls_conn_free(pnc_tls_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl); /* and its BIO */
	pnc_tls_config_release(c->cfg);
	free(c->out);
	pnc_mtx_fini(&c->mtx);
	free(c);
}

/* Writes gathered output: 0 all gone, PNC_EAGAIN some waits, or an error. */
static int
conn_flush(pnc_tls_conn *c)
{
	while (c->out_off < c->out_len) {
		pnc_iov iov;
		size_t n = 0;
		int rv;

		PNC_IOV_BASE(&iov) = c->out + c->out_off;
		PNC_IOV_LEN(&iov) = c->out_len - c->out_off;
		if ((rv = pnc_net_writev(c->fd, &iov, 1, &n)) != 0)
			return rv;
		if (n == 0)
			return PNC_EAGAIN;
		c->out_off += n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > OUT_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return 0;
}

static void
conn_note_failure(pnc_tls_conn *c)
{
	unsigned long e = ERR_peek_last_error();
	long vr = SSL_get_verify_result(c->ssl);

	if (c->failure[0] != '\0')
		return;
	if (vr != X509_V_OK)
		snprintf(c->failure, sizeof(c->failure), "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	else if (e != 0 && ERR_reason_error_string(e) != NULL)
		snprintf(c->failure, sizeof(c->failure), "%s", ERR_reason_error_string(e));
	else if (e != 0)
		ERR_error_string_n(e, c->failure, sizeof(c->failure));
	else if (c->io_err != 0)
		snprintf(c->failure, sizeof(c->failure), "%s", pnc_strerror(c->io_err));
}

/* A failed SSL call's error, made sticky. */
static int
conn_fail(pnc_tls_conn *c, int code)
{
	unsigned long e;
	int reason, rv;

	if (code == SSL_ERROR_ZERO_RETURN) {
		rv = PNC_ECONNSHUT;
	} else {
		conn_note_failure(c);
		e = ERR_peek_last_error();
		reason = ERR_GET_REASON(e);
		if ((!c->done && SSL_get_verify_result(c->ssl) != X509_V_OK) ||
		    reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
		    reason == SSL_R_CERTIFICATE_VERIFY_FAILED ||
		    reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
		    reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
		    reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA)
			rv = PNC_EPEERAUTH;
		else if (c->io_err != 0)
			rv = c->io_err;
		else
			rv = PNC_ECRYPTO;
	}
	ERR_clear_error();
	(void) conn_flush(c); /* the alert, if the socket takes it */
	c->err = rv;
	return rv;
}

int
pnc_tls_handshake(pnc_tls_conn *c)
{
	int r, rv;

	pnc_mtx_lock(&c->mtx);
	if ((rv = c->err) != 0 || c->done)
		goto out;
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->done = 1;
		c->more = 1; /* the peer's first bytes may have come with the last flight */
		rv = conn_flush(c);
		if (rv == PNC_EAGAIN)
			rv = 0; /* the rest goes with the first writes (pnc_tls_out_pending) */
		else if (rv != 0)
			c->err = rv;
		goto out;
	}
	switch (r = SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		rv = conn_flush(c);
		if (rv != 0 && rv != PNC_EAGAIN) {
			c->err = rv;
			break;
		}
		c->wants = (r == SSL_ERROR_WANT_READ ? PNC_POLL_IN : 0) |
		    (rv == PNC_EAGAIN || r == SSL_ERROR_WANT_WRITE ? PNC_POLL_OUT : 0);
		rv = PNC_EAGAIN;
		break;
	default:
		rv = conn_fail(c, r);
		if (rv == PNC_ECONNSHUT)
			rv = c->err = PNC_ECONNRESET;
		break;
	}
out:
	pnc_mtx_unlock(&c->mtx);
	return rv;
}

unsigned
pnc_tls_wants(pnc_tls_conn *c)
{
	unsigned w;

	pnc_mtx_lock(&c->mtx);
	w = c->wants;
	pnc_mtx_unlock(&c->mtx);
	return w;
}

int
pnc_tls_readv(pnc_tls_conn *c, pnc_iov *iov, int niov, size_t *np)
{
	size_t total = 0;
	int rv = 0, full = 1;

	pnc_mtx_lock(&c->mtx);
	if ((rv = c->err) != 0) {
		pnc_mtx_unlock(&c->mtx);
		return rv;
	}
	for (int i = 0; i < niov && full; i++) {
		uint8_t *base = PNC_IOV_BASE(&iov[i]);
		size_t len = PNC_IOV_LEN(&iov[i]), pos = 0;

		while (pos < len) {
			size_t got = 0;
			int r;

			ERR_clear_error();
			if ((r = SSL_read_ex(c->ssl, base + pos, len - pos, &got)) == 1) {
				pos += got;
				continue;
			}
			r = SSL_get_error(c->ssl, r);
			if (r != SSL_ERROR_WANT_READ && r != SSL_ERROR_WANT_WRITE)
				rv = conn_fail(c, r);
			full = 0;
			break;
		}
		total += pos;
	}
	c->more = full;
	if (c->out_len > c->out_off && c->err == 0)
		(void) conn_flush(c); /* an alert or a key update's answer */
	pnc_mtx_unlock(&c->mtx);
	*np = total;
	if (total > 0)
		return 0;
	return rv != 0 ? rv : PNC_EAGAIN;
}

/* Encrypts len bytes (at most REC) into the gathered output. */
static int
conn_seal(pnc_tls_conn *c, const uint8_t *data, size_t len)
{
	size_t w = 0;
	int r;

	ERR_clear_error();
	if ((r = SSL_write_ex(c->ssl, data, len, &w)) == 1 && w == len)
		return 0;
	return conn_fail(c, SSL_get_error(c->ssl, r));
}

static int
conn_has_room(pnc_tls_conn *c)
{
	if (c->out_len - c->out_off + REC + REC_MARGIN <= OUT_MAX)
		return 1;
	(void) conn_flush(c);
	return c->out_len - c->out_off + REC + REC_MARGIN <= OUT_MAX;
}

int
pnc_tls_writev(pnc_tls_conn *c, pnc_iov *iov, int niov, size_t *np)
{
	size_t taken = 0, off = 0; /* into iov[i] */
	int i = 0, rv = 0;

	pnc_mtx_lock(&c->mtx);
	if ((rv = c->err) != 0)
		goto out;
	while (i < niov && conn_has_room(c)) {
		const uint8_t *base = PNC_IOV_BASE(&iov[i]);
		size_t left = PNC_IOV_LEN(&iov[i]) - off;

		if (left == 0) {
			i++, off = 0;
			continue;
		}
		if (left >= REC || i == niov - 1) {
			size_t n = left < REC ? left : REC;
			if ((rv = conn_seal(c, base + off, n)) != 0)
				goto out;
			off += n;
			taken += n;
			continue;
		}
		/* Small pieces: gathered into one record. */
		size_t staged = 0;
		while (i < niov && staged < REC) {
			size_t n = PNC_IOV_LEN(&iov[i]) - off;
			if (n > REC - staged)
				n = REC - staged;
			memcpy(c->stage + staged, (const uint8_t *) PNC_IOV_BASE(&iov[i]) + off, n);
			staged += n;
			off += n;
			if (off == PNC_IOV_LEN(&iov[i]))
				i++, off = 0;
		}
		if ((rv = conn_seal(c, c->stage, staged)) != 0)
			goto out;
		taken += staged;
	}
	rv = conn_flush(c);
	if (rv == PNC_EAGAIN)
		rv = 0;
	else if (rv != 0)
		c->err = rv;
out:
	pnc_mtx_unlock(&c->mtx);
	*np = taken;
	if (taken > 0)
		return 0;
	return rv != 0 ? rv : PNC_EAGAIN;
}

int
pnc_tls_flush(pnc_tls_conn *c)
{
	int rv;

	pnc_mtx_lock(&c->mtx);
	if ((rv = c->err) == 0 && (rv = conn_flush(c)) != 0 && rv != PNC_EAGAIN)
		c->err = rv;
	pnc_mtx_unlock(&c->mtx);
	return rv;
}

int
pnc_tls_out_pending(pnc_tls_conn *c)
{
	int pending;

	pnc_mtx_lock(&c->mtx);
	pending = c->err == 0 && c->out_len > c->out_off;
	pnc_mtx_unlock(&c->mtx);
	return pending;
}

int
pnc_tls_in_pending(pnc_tls_conn *c)
{
	int pending;

	pnc_mtx_lock(&c->mtx);
	pending = c->err == 0 && c->done && c->more;
	pnc_mtx_unlock(&c->mtx);
	return pending;
}

void
pnc_tls_shutdown(pnc_tls_conn *c)
{
	pnc_mtx_lock(&c->mtx);
	if (c->err == 0 && c->done) {
		ERR_clear_error();
		(void) SSL_shutdown(c->ssl);
		ERR_clear_error();
		(void) conn_flush(c);
		c->err = PNC_ECLOSED;
	}
	pnc_mtx_unlock(&c->mtx);
}

static X509 *
conn_peer_cert(pnc_tls_conn *c)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	return SSL_get1_peer_certificate(c->ssl);
#else
	return SSL_get_peer_certificate(c->ssl);
#endif
}

int
pnc_tls_get_int(pnc_tls_conn *c, const char *name, int64_t *vp)
{
	X509 *x;

	if (strcmp(name, "tls-verified") != 0)
		return PNC_ENOTSUP;
	pnc_mtx_lock(&c->mtx);
	x = c->done ? conn_peer_cert(c) : NULL;
	*vp = x != NULL && SSL_get_verify_result(c->ssl) == X509_V_OK;
	pnc_mtx_unlock(&c->mtx);
	X509_free(x);
	return 0;
}

/* The subject alternative names, one per line (DNS names and addresses). */
static int
cert_alt_names(X509 *x, char *buf, size_t size)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;
	int n;

	if (names == NULL)
		return PNC_ENOENT;
	buf[0] = '\0';
	n = sk_GENERAL_NAME_num(names);
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		char one[260];
		const unsigned char *d;
		int len;

		one[0] = '\0';
		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			snprintf(one, sizeof(one), "%.*s", len, (const char *) d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if (len == 4) {
				snprintf(one, sizeof(one), "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
			} else if (len == 16) {
				size_t k = 0;
				for (int j = 0; j < 16; j += 2)
					k += (size_t) snprintf(one + k, sizeof(one) - k, "%s%x",
					    j ? ":" : "", (unsigned) ((d[j] << 8) | d[j + 1]));
			}
		}
		if (one[0] != '\0' && used + strlen(one) + 2 <= size)
			used += (size_t) snprintf(buf + used, size - used, "%s%s",
			    used ? "\n" : "", one);
	}
	GENERAL_NAMES_free(names);
	return 0;
}

int
pnc_tls_get_string(pnc_tls_conn *c, const char *name, char *buf, size_t size)
{
	X509 *x;
	int rv = 0, cn;

	cn = strcmp(name, "tls-peer-cn") == 0;
	if (!cn && strcmp(name, "tls-peer-alt-names") != 0)
		return PNC_ENOTSUP;
	if (size == 0)
		return PNC_EINVAL;
	pnc_mtx_lock(&c->mtx);
	x = c->done ? conn_peer_cert(c) : NULL;
	pnc_mtx_unlock(&c->mtx);
	if (x == NULL)
		return PNC_ENOENT;
	if (cn) {
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
		        size > (size_t) INT32_MAX ? INT32_MAX : (int) size) < 0)
			rv = PNC_ENOENT;
	} else {
		rv = cert_alt_names(x, buf, size);
	}
	X509_free(x);
	ERR_clear_error();
	return rv;
}

void
pnc_tls_failure(pnc_tls_conn *c, char *buf, size_t size)
{
	pnc_mtx_lock(&c->mtx);
	snprintf(buf, size, "%s", c->failure);
	pnc_mtx_unlock(&c->mtx);
}

#else /* no engine: tls+tcp:// says PNC_ENOTSUP, and so does every call */

const char *
pnc_tls_engine(void)
{
	return NULL;
}

int
pnc_tls_config_alloc(pnc_tls_config **cfgp, int mode)
{
	(void) cfgp;
	(void) mode;
	return PNC_ENOTSUP;
}

void pnc_tls_config_hold(pnc_tls_config *cfg) { (void) cfg; }
void pnc_tls_config_release(pnc_tls_config *cfg) { (void) cfg; }
int pnc_tls_config_server_name(pnc_tls_config *cfg, const char *name)
{ (void) cfg; (void) name; return PNC_ENOTSUP; }
int pnc_tls_config_auth_mode(pnc_tls_config *cfg, int mode)
{ (void) cfg; (void) mode; return PNC_ENOTSUP; }
int pnc_tls_config_ca_chain(pnc_tls_config *cfg, const char *pem, const char *crl)
{ (void) cfg; (void) pem; (void) crl; return PNC_ENOTSUP; }
int pnc_tls_config_ca_file(pnc_tls_config *cfg, const char *path)
{ (void) cfg; (void) path; return PNC_ENOTSUP; }
int pnc_tls_config_own_cert(pnc_tls_config *cfg, const char *cert, const char *key,
    const char *passwd)
{ (void) cfg; (void) cert; (void) key; (void) passwd; return PNC_ENOTSUP; }
int pnc_tls_config_cert_key_file(pnc_tls_config *cfg, const char *path, const char *passwd)
{ (void) cfg; (void) path; (void) passwd; return PNC_ENOTSUP; }
int pnc_tls_config_mode(const pnc_tls_config *cfg) { (void) cfg; return PNC_TLS_MODE_CLIENT; }
int pnc_tls_config_fits(pnc_tls_config *cfg, int server)
{ (void) cfg; (void) server; return PNC_ENOTSUP; }

int
pnc_tls_conn_new(pnc_tls_conn **cp, pnc_tls_config *cfg, int server,
    const char *host, pnc_fd fd)
{
	(void) cp; (void) cfg; (void) server; (void) host; (void) fd;
	return PNC_ENOTSUP;
}

void pnc_tls_conn_free(pnc_tls_conn *c) { (void) c; }
int pnc_tls_handshake(pnc_tls_conn *c) { (void) c; return PNC_ENOTSUP; }
unsigned pnc_tls_wants(pnc_tls_conn *c) { (void) c; return 0; }
int pnc_tls_readv(pnc_tls_conn *c, pnc_iov *iov, int niov, size_t *np)
{ (void) c; (void) iov; (void) niov; *np = 0; return PNC_ENOTSUP; }
int pnc_tls_writev(pnc_tls_conn *c, pnc_iov *iov, int niov, size_t *np)
{ (void) c; (void) iov; (void) niov; *np = 0; return PNC_ENOTSUP; }
int pnc_tls_flush(pnc_tls_conn *c) { (void) c; return PNC_ENOTSUP; }
int pnc_tls_out_pending(pnc_tls_conn *c) { (void) c; return 0; }
int pnc_tls_in_pending(pnc_tls_conn *c) { (void) c; return 0; }
void pnc_tls_shutdown(pnc_tls_conn *c) { (void) c; }
int pnc_tls_get_int(pnc_tls_conn *c, const char *name, int64_t *vp)
{ (void) c; (void) name; (void) vp; return PNC_ENOTSUP; }
int pnc_tls_get_string(pnc_tls_conn *c, const char *name, char *buf, size_t size)
{ (void) c; (void) name; (void) buf; (void) size; return PNC_ENOTSUP; }
void pnc_tls_failure(pnc_tls_conn *c, char *buf, size_t size)
{ (void) c; if (size > 0) buf[0] = '\0'; }

#endif
