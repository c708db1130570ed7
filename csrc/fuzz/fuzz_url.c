/*
 * fuzz_url: the URL parser, and endpoints opened on what it accepts.
 *
 * Input: the URL's text (a NUL-terminated copy is parsed; a NUL inside
 * ends it early, as it would for a C caller).  pnc_url_parse runs on it,
 * and pnc_url_hostport as a dialer and as a listener would use it where
 * the scheme is tcp, tcp4 or tcp6.  Then a listener and a non-blocking
 * dialer are opened on it and closed at once, so the errors run end to end.
 *
 * Endpoints touch the machine, so the URL they get is tamed where it must
 * be, after the parsers saw the original:
 * - ipc and unix paths go into a directory of this process's own ('/'
 *   becomes '_'), so no file elsewhere is made or removed;
 * - abstract names get a prefix of this process's own (the namespace is
 *   the whole host's), an empty one stays empty (the kernel picks);
 * - tcp, tcp4 and tcp6 hosts must be numeric (no name is ever resolved,
 *   so no DNS query leaves the machine); a listener binds port 0 (never a
 *   port somebody else may want), and a dialer connects only to loopback,
 *   to a port this process holds bound but never listens on (refused at
 *   once).
 * A URL the core refuses before resolving or binding goes in as it is.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "../core/core.h"

static char sandbox[64];
static char abstract_prefix[64];
static int closed_port;

static void
sandbox_remove(void)
{
	DIR *d = opendir(sandbox);
	struct dirent *e;
	char path[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sandbox, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(sandbox);
}

/* A port on every address that refuses connections: bound, not listening. */
static int
reserve_closed_port(void)
{
	struct sockaddr_in6 in6;
	socklen_t len = sizeof(in6);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0;

	if (fd < 0)
		return -1;
	(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	in6.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *) &in6, sizeof(in6)) != 0 ||
	    getsockname(fd, (struct sockaddr *) &in6, &len) != 0) {
		close(fd);
		return -1;
	}
	return ntohs(in6.sin6_port); /* fd stays open for the process's life */
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	if (fz_init() != 0)
		return 1;
	snprintf(sandbox, sizeof(sandbox), "/tmp/pnc-fuzz-url-%d-XXXXXX", (int) getpid());
	snprintf(abstract_prefix, sizeof(abstract_prefix), "pnc-fuzz-url-%d-", (int) getpid());
	if (mkdtemp(sandbox) == NULL || (closed_port = reserve_closed_port()) < 0) {
		perror("fuzz_url: setup");
		return 1;
	}
	atexit(sandbox_remove);
	return 0;
}

/* Numeric host (never a name lookup): its address, or 0. */
static int
host_addr(const char *host, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 1;
}

static int
host_loopback(const char *host)
{
	struct sockaddr_storage ss;
	const uint8_t *a;

	if (!host_addr(host, &ss))
		return 0;
	if (ss.ss_family == AF_INET) {
		a = (const uint8_t *) &((struct sockaddr_in *) &ss)->sin_addr;
		return a[0] == 127;
	}
	a = ((struct sockaddr_in6 *) &ss)->sin6_addr.s6_addr;
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
		return a[12] == 127; /* v4-mapped */
	return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
}

static void
ipc_url(const char *scheme, const char *addr, char *out, size_t size)
{
	int n = snprintf(out, size, "%s://%s/", scheme, sandbox);

	for (const char *c = addr; *c != '\0' && (size_t) n + 1 < size; c++)
		out[n++] = *c == '/' ? '_' : *c;
	out[n < (int) size ? n : (int) size - 1] = '\0';
}

/* 1: open it on `out`; 0: not this one (it would reach past the machine). */
static int
tcp_url(const char *url, const pnc_url *u, int listener, char *out, size_t size)
{
	pnc_url t = *u;
	const char *open = "", *close = "";
	char port[16];

	if (pnc_url_hostport(&t, listener) != 0) {
		snprintf(out, size, "%s", url); /* refused before any lookup */
		return 1;
	}
	if (t.host[0] != '\0') {
		struct sockaddr_storage ss;
		if (!host_addr(t.host, &ss) || (!listener && !host_loopback(t.host)))
			return 0;
	}
	if (listener && strspn(t.port, "0") == strlen(t.port)) {
		snprintf(out, size, "%s", url); /* port 0 as it was written */
		return 1;
	}
	if (strchr(t.host, ':') != NULL) {
		open = "[";
		close = "]";
	}
	snprintf(port, sizeof(port), "%d", listener ? 0 : closed_port);
	snprintf(out, size, "%s://%s%s%s:%s", u->scheme, open, t.host, close, port);
	return 1;
}

static int
is_tcp(const char *scheme)
{
	return strcmp(scheme, "tcp") == 0 || strcmp(scheme, "tcp4") == 0 ||
	    strcmp(scheme, "tcp6") == 0;
}

/* The URL an endpoint gets (see the top of the file); 0: none. */
static int
endpoint_url(const char *url, int parsed, const pnc_url *u, int listener,
    char *out, size_t size)
{
	if (!parsed || pnc_tran_find(u->scheme) == NULL ||
	    strcmp(u->scheme, "inproc") == 0) {
		snprintf(out, size, "%s", url); /* nothing outside the process */
		return 1;
	}
	if (strcmp(u->scheme, "ipc") == 0 || strcmp(u->scheme, "unix") == 0) {
		if (u->addr[0] == '\0')
			snprintf(out, size, "%s", url);
		else
			ipc_url(u->scheme, u->addr, out, size);
		return 1;
	}
	if (strcmp(u->scheme, "abstract") == 0) {
		if (u->addr[0] == '\0')
			snprintf(out, size, "%s", url);
		else
			snprintf(out, size, "abstract://%s%s", abstract_prefix, u->addr);
		return 1;
	}
	if (is_tcp(u->scheme))
		return tcp_url(url, u, listener, out, size);
	return 0; /* a transport this harness does not know how to keep in */
}

/*
 * A listener and a dialer on the same URL, on two sockets, both closed at
 * once: where the URL names a place both can reach (ipc, inproc) the dial
 * may connect before the close, and a handshake runs too.
 */
static void
open_endpoints(const char *url, int parsed, const pnc_url *u)
{
	char lurl[1024], durl[1024];
	pnc_socket *ls = NULL, *ds = NULL;
	pnc_listener *l = NULL;
	pnc_dialer *d = NULL;
	pnc_addr addr;
	int64_t port;

	if (pnc_socket_open(&ls, "pair0", 0) != 0 || pnc_socket_open(&ds, "pair0", 0) != 0)
		abort();
	if (endpoint_url(url, parsed, u, 1, lurl, sizeof(lurl)) &&
	    pnc_listen(ls, lurl, 0, &l) == 0) {
		(void) pnc_listener_addr(l, &addr);
		(void) pnc_listener_get_int(l, "tcp-bound-port", &port);
	}
	if (endpoint_url(url, parsed, u, 0, durl, sizeof(durl)))
		(void) pnc_dial(ds, durl, PNC_FLAG_NONBLOCK, &d);
	if (d != NULL) {
		(void) pnc_dialer_close(d);
		pnc_dialer_release(d);
	}
	if (l != NULL) {
		(void) pnc_listener_close(l);
		pnc_listener_release(l);
	}
	pnc_socket_release(ds);
	pnc_socket_release(ls);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1);
	int fds = fz_fd_count(), parsed;
	pnc_url u, t;

	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	parsed = pnc_url_parse(url, &u) == 0;
	if (parsed && is_tcp(u.scheme)) {
		t = u;
		(void) pnc_url_hostport(&t, 0);
		t = u;
		(void) pnc_url_hostport(&t, 1);
	}
	open_endpoints(url, parsed, &u);
	free(url);
	fz_wait_fds(fds, "an endpoint");
	return 0;
}
