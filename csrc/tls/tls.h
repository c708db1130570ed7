/*
 * tls.h: the TLS engine, as transports use it (tls+tcp:// through
 * stream.c; wss:// over ws.c can use it the same way).
 *
 * One file implements it: tls_openssl.c, over OpenSSL 1.1.1 or 3.x when
 * the build found it (PNC_HAVE_OPENSSL, see _build.py), and otherwise a
 * stub whose every call says PNC_ENOTSUP (pnc_tls_engine() is NULL then).
 *
 * A connection is non-blocking, over a connected socket the caller owns
 * (and closes, after pnc_tls_conn_free).  Its records go to and from the
 * socket through pnc_net_read and pnc_net_writev, so the engine has no OS
 * code.  Its calls look like pnc_net_*'s: 0 and bytes done, PNC_EAGAIN
 * when nothing could be done now, or an error that stays (every later call
 * returns it too).  Encrypted output the socket did not take waits in the
 * connection (pnc_tls_out_pending); pnc_tls_flush writes it when the
 * socket is writable.  Decrypted input may wait in the connection too, so
 * a level-triggered poller does not see it: after reading, a caller asks
 * pnc_tls_in_pending and reads again rather than waiting for the socket.
 *
 * Locking: each connection has a mutex of its own, which every call below
 * takes and gives back (OpenSSL allows one thread at a time per
 * connection, and reads may write: alerts).  It is a leaf: callers may
 * hold any lock of theirs (stream.c holds its pipe's write lock while it
 * writes), and the engine calls nothing that takes one of theirs.
 *
 * Configurations (pnc_tls_config, pnc.h) are reference counted (atomic,
 * pnc_atomic.h); their setters take the config's mutex and answer
 * PNC_EBUSY once a connection was made from it: a config is frozen by use,
 * as nng's is.  A connection holds a reference to its config.
 */
#ifndef PNC_TLS_H
#define PNC_TLS_H

#include "../core/core.h"

typedef struct pnc_tls_conn pnc_tls_conn;


/*
 * server: the accepting end.  host: the URL's host, which a client checks
 * the server's certificate against (and sends as SNI) when its config has
 * no server name; NULL for none.  A client whose config is NULL gets the
 * defaults (verification required, no CAs); a server needs a config with
 * a certificate (PNC_EINVAL without).  A config for the other mode is
 * PNC_EINVAL.
 */
int pnc_tls_conn_new(pnc_tls_conn **cp, pnc_tls_config *cfg, int server,
    const char *host, pnc_fd fd);
void pnc_tls_conn_free(pnc_tls_conn *c);
/*
 * Drives the handshake: 0 once done, PNC_EAGAIN while it waits for the
 * socket (pnc_tls_wants tells for what), PNC_EPEERAUTH when the peer's
 * certificate was refused, PNC_ECRYPTO for any other TLS failure, or the
 * socket's error.
 */
int pnc_tls_handshake(pnc_tls_conn *c);
/* PNC_POLL_IN and/or PNC_POLL_OUT: what the last PNC_EAGAIN waits for. */
unsigned pnc_tls_wants(pnc_tls_conn *c);
/* Plaintext in: as pnc_net_readv (PNC_ECONNSHUT at the peer's close). */
int pnc_tls_readv(pnc_tls_conn *c, pnc_iov *iov, int niov, size_t *np);
/*
 * Plaintext out: *np bytes were taken (encrypted); what of them the socket
 * did not take waits in the connection.  Fewer than asked (PNC_EAGAIN
 * when none) once that output is at its bound.
 */
int pnc_tls_writev(pnc_tls_conn *c, pnc_iov *iov, int niov, size_t *np);
/* Writes what waits: 0 when nothing does any more, PNC_EAGAIN if some. */
int pnc_tls_flush(pnc_tls_conn *c);
int pnc_tls_out_pending(pnc_tls_conn *c);
int pnc_tls_in_pending(pnc_tls_conn *c);
/* A close_notify, if the connection is sound and the socket takes it now. */
void pnc_tls_shutdown(pnc_tls_conn *c);
/*
 * The peer's facts after the handshake: "tls-verified" (int) and
 * "tls-peer-cn", "tls-peer-alt-names" (strings, the names one per line).
 * PNC_ENOTSUP for other names; PNC_ENOENT when the peer sent no
 * certificate (or it has no such field).
 */
int pnc_tls_get_int(pnc_tls_conn *c, const char *name, int64_t *vp);
int pnc_tls_get_string(pnc_tls_conn *c, const char *name, char *buf, size_t size);
/*
 * Why the connection failed, as the engine says it ("" if it did not),
 * copied into buf (size bytes with the NUL): its first failure, kept.
 */
void pnc_tls_failure(pnc_tls_conn *c, char *buf, size_t size);

#endif
