/*
 * fuzz_common.c: sessions for the libFuzzer targets (see fuzz_common.h).
 *
 * The peer is a plain non-blocking socket of the harness's own, so that
 * every byte the fuzzer made reaches the core as it is, handshake included
 * where the target wants that.  The harness thread plays the application
 * too: it receives on the socket without blocking (which may read the pipe
 * on this thread, as a Python caller does) and sends back, so that the
 * reply and backtrace paths run as well as the parsers.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "fuzz_common.h"
#include "../transport/ws.h"

const fz_proto fz_protos[FZ_NPROTO] = {
	{ "pair0", 0, 0, 0x10 },
	{ "pair1", 0, 0, 0x11 },
	{ "pair1", 1, 0, 0x11 },
	{ "req0", 0, 1, 0x31 },
	{ "rep0", 0, 0, 0x30 },
	{ "pub0", 0, 0, 0x21 },
	{ "sub0", 0, 0, 0x20 },
	{ "surveyor0", 0, 1, 0x63 },
	{ "respondent0", 0, 0, 0x62 },
	{ "bus0", 0, 0, 0x70 },
	{ "push0", 0, 0, 0x51 },
	{ "pull0", 0, 0, 0x50 },
};

static char ipc_path[108];
static int debug_mode = -1;
/*
 * A frame's memory grows only as its bytes arrive, so no input can make
 * the core allocate much more than the input itself: libFuzzer's malloc
 * limit (-malloc_limit_mb, its rss limit by default) reports any path that
 * does.  Leak checking stays on.  ASAN_OPTIONS overrides these.
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "abort_on_error=1:symbolize=1";
}

const char *__ubsan_default_options(void);
const char *
__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1";
}

int
fz_debug(void)
{
	if (debug_mode < 0) {
		const char *v = getenv("PNC_FUZZ_DEBUG");
		debug_mode = v != NULL ? atoi(v) : 0;
	}
	return debug_mode;
}

int64_t
fz_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fz_sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

static void
fz_cleanup(void)
{
	unlink(ipc_path);
}

int
fz_init(void)
{
	pnc_socket *s;
	int rv;

	/* Writes to a core that closed first must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(ipc_path, sizeof(ipc_path), "/tmp/pnc-fuzz-%d.sock", (int) getpid());
	atexit(fz_cleanup);
	/* The I/O thread and its descriptors are there before any count. */
	if ((rv = pnc_socket_open(&s, "pair0", 0)) != 0) {
		fprintf(stderr, "fuzz: cannot open a socket: %s\n", pnc_strerror(rv));
		return rv;
	}
	pnc_socket_release(s);
	return 0;
}

int
fz_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n; /* the directory's own descriptor included, every time */
}

static void
fz_list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		ssize_t n;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
	}
	closedir(d);
}

void
fz_wait_fds(int n, const char *what)
{
	/* The I/O thread closes a pipe's descriptor soon after the pipe. */
	int64_t until = fz_now_ms() + (fz_debug() ? 1000 : 100);
	int have;

	while ((have = fz_fd_count()) > n && fz_now_ms() < until)
		fz_sleep_us(100);
	if (have > n && fz_debug()) {
		fprintf(stderr, "fuzz: %s left %d descriptor(s) open:\n", what, have - n);
		fz_list_fds();
		abort();
	}
}

/* The address the session meets at: the core's listener's, or ours. */
static socklen_t
fz_addr(const fz_session *s, struct sockaddr_storage *ss, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (s->tcp) {
		struct sockaddr_in *in = (struct sockaddr_in *) ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t) port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*in);
	}
	struct sockaddr_un *un = (struct sockaddr_un *) ss;
	un->sun_family = AF_UNIX;
	snprintf(un->sun_path, sizeof(un->sun_path), "%s", ipc_path);
	return sizeof(*un);
}

/*
 * tcp listeners (the core's, or ours when it dials) take ports from a range
 * of the process's own, below the ephemeral ones, in turn.  Port 0 would
 * do, but at a thousand sessions a second the peers' connections in
 * TIME_WAIT use up the ephemeral range within half a minute, and bind(0)
 * then fails.  SO_REUSEADDR (the core sets it) binds past TIME_WAIT.
 */
#define FZ_PORTS 2000
#define FZ_PORT_TRIES 64

static int
fz_next_port(void)
{
	static int next = -1;

	if (next < 0)
		next = (int) (getpid() % 8) * FZ_PORTS;
	next = (next + 1) % (8 * FZ_PORTS);
	return 12000 + next;
}

static int
fz_socket(const fz_session *s)
{
	int fd = socket(s->tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	/* Each piece goes now: Nagle would hold it for the core's delayed ACK. */
	if (fd >= 0 && s->tcp)
		(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * 1 when fd is ready, 0 when the time ran out.  libFuzzer's timer signal
 * (-timeout) interrupts waits: they go on to their end.
 */
static int
fz_poll(int fd, short events, int timeout_ms)
{
	int64_t until = fz_now_ms() + timeout_ms;
	struct pollfd pfd = { fd, events, 0 };
	int n;

	while ((n = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR) {
		timeout_ms = (int) (until - fz_now_ms());
		if (timeout_ms < 0)
			return 0;
	}
	return n == 1;
}

static int
fz_wait_fd(int fd, short events)
{
	return fz_poll(fd, events, FZ_ITER_MS) ? 0 : -1;
}

/* The peer connects to the core's listener, which is ours: quick. */
static int
fz_connect(fz_session *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int64_t port = 0;
	int err = 0;

	if (s->tcp && pnc_listener_get_int(s->l, "tcp-bound-port", &port) != 0)
		return -1;
	len = fz_addr(s, &ss, (int) port);
	if ((s->fd = fz_socket(s)) < 0)
		return -1;
	if (connect(s->fd, (struct sockaddr *) &ss, len) == 0)
		return 0;
	if ((errno != EINPROGRESS && errno != EINTR) || fz_wait_fd(s->fd, POLLOUT) != 0)
		return -1;
	len = sizeof(err);
	return getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 ? 0 : -1;
}

/* The core dials the peer: our listener takes its connection. */
static int
fz_accept_dial(fz_session *s, char *url, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, rv;

	unlink(ipc_path);
	if ((lfd = fz_socket(s)) < 0)
		return -1;
	(void) setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int));
	for (int i = 0;; i++) {
		len = fz_addr(s, &ss, s->tcp ? fz_next_port() : 0);
		if (bind(lfd, (struct sockaddr *) &ss, len) == 0)
			break;
		if (!s->tcp || errno != EADDRINUSE || i == FZ_PORT_TRIES) {
			close(lfd);
			return -1;
		}
	}
	if (listen(lfd, 4) != 0 || getsockname(lfd, (struct sockaddr *) &ss, &len) != 0) {
		close(lfd);
		return -1;
	}
	if (s->ws)
		snprintf(url, size, "ws://127.0.0.1:%d/fz",
		    ntohs(((struct sockaddr_in *) &ss)->sin_port));
	else if (s->tcp)
		snprintf(url, size, "tcp://127.0.0.1:%d",
		    ntohs(((struct sockaddr_in *) &ss)->sin_port));
	else
		snprintf(url, size, "ipc://%s", ipc_path);
	if ((rv = pnc_dial(s->sock, url, PNC_FLAG_NONBLOCK, &s->d)) == 0 &&
	    fz_wait_fd(lfd, POLLIN) == 0)
		while ((s->fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0 &&
		    errno == EINTR) {
		}
	/* One connection per session: a redial meets nobody. */
	close(lfd);
	if (!s->tcp)
		unlink(ipc_path);
	return s->fd >= 0 ? 0 : -1;
}

/* A harness that cannot set up tests nothing: say so loudly. */
static void
fz_setup_failed(const char *what, int rv)
{
	fprintf(stderr, "fuzz: setup failed: %s: %s\n", what,
	    rv ? pnc_strerror(rv) : strerror(errno));
	abort();
}

static int fz_begin_(fz_session *s, int proto, int raw, int tcp, int dial, int ws);

int
fz_begin(fz_session *s, int proto, int raw, int tcp, int dial)
{
	return fz_begin_(s, proto, raw, tcp, dial, 0);
}

int
fz_begin_ws(fz_session *s, int proto, int raw, int dial)
{
	return fz_begin_(s, proto, raw, 1, dial, 1);
}

static int
fz_begin_(fz_session *s, int proto, int raw, int tcp, int dial, int ws)
{
	char url[160];
	int rv;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->ws = ws;
	s->proto = &fz_protos[proto % FZ_NPROTO];
	s->raw = raw;
	s->tcp = tcp;
	s->plen = tcp ? 8 : 9;
	s->echo_copies = 1;
	s->start = fz_now_ms();
	s->deadline = s->start + FZ_ITER_MS;
	s->fds_before = fz_fd_count();
	if ((rv = pnc_socket_open(&s->sock, s->proto->name, raw)) != 0)
		fz_setup_failed("socket open", rv);
	if (s->proto->poly &&
	    (rv = pnc_socket_set_int(s->sock, "pair1:polyamorous", 1)) != 0)
		fz_setup_failed("pair1:polyamorous", rv);
	if (strcmp(s->proto->name, "sub0") == 0 && !raw &&
	    (rv = pnc_socket_set_bytes(s->sock, "sub:subscribe", "", 0)) != 0)
		fz_setup_failed("sub:subscribe", rv);
	if (dial) {
		if (fz_accept_dial(s, url, sizeof(url)) != 0)
			fz_setup_failed("the socket's dial", 0);
	} else {
		for (int i = 0;; i++) {
			if (ws)
				snprintf(url, sizeof(url), "ws://127.0.0.1:%d/fz", fz_next_port());
			else if (tcp)
				snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", fz_next_port());
			else
				snprintf(url, sizeof(url), "ipc://%s", ipc_path);
			if ((rv = pnc_listen(s->sock, url, 0, &s->l)) == 0)
				break;
			if (!tcp || rv != PNC_EADDRINUSE || i == FZ_PORT_TRIES)
				fz_setup_failed(url, rv);
		}
		if (fz_connect(s) != 0)
			fz_setup_failed("connect", 0);
	}
	s->op.ctx = pnc_socket_context(s->sock);
	return 0;
}

/* Reads exactly n bytes by the session's deadline: 0, or -1. */
static int
fz_read_full(fz_session *s, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		int64_t left = s->deadline - fz_now_ms();
		ssize_t r;

		if (left <= 0 || !fz_poll(s->fd, POLLIN, (int) left))
			return -1;
		r = recv(s->fd, buf + got, n - got, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			s->eof = 1;
			return -1;
		}
		if (r > 0)
			got += (size_t) r;
	}
	return 0;
}

int
fz_handshake(fz_session *s)
{
	uint8_t hs[8] = { 0, 'S', 'P', 0, 0, 0, 0, 0 }, theirs[8];

	hs[4] = (uint8_t) (s->proto->peer_id >> 8);
	hs[5] = (uint8_t) s->proto->peer_id;
	if (send(s->fd, hs, sizeof(hs), MSG_NOSIGNAL) != (ssize_t) sizeof(hs))
		return -1;
	return fz_read_full(s, theirs, sizeof(theirs));
}

/* The SP names, in fz_protos' order (ws subprotocols are "<name>.sp.nanomsg.org"). */
static const char *const fz_ws_names[FZ_NPROTO][2] = {
	{ "pair", "pair" }, { "pair1", "pair1" }, { "pair1", "pair1" }, { "req", "rep" },
	{ "rep", "req" }, { "pub", "sub" }, { "sub", "pub" }, { "surveyor", "respondent" },
	{ "respondent", "surveyor" }, { "bus", "bus" }, { "push", "pull" }, { "pull", "push" },
};

const char *
fz_ws_name(const fz_session *s)
{
	return fz_ws_names[s->proto - fz_protos][0];
}

const char *
fz_ws_peer_name(const fz_session *s)
{
	return fz_ws_names[s->proto - fz_protos][1];
}

int
fz_ws_read_head(fz_session *s, char *buf, size_t cap)
{
	size_t got = 0, end;

	while ((end = pnc_ws_http_end((const uint8_t *) buf, got)) == 0) {
		int64_t left = s->deadline - fz_now_ms();
		ssize_t r;

		if (got + 1 >= cap || left <= 0 || !fz_poll(s->fd, POLLIN, (int) left))
			return -1;
		/* A byte at a time: what follows the head is not ours to take. */
		r = recv(s->fd, buf + got, 1, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			s->eof = 1;
			return -1;
		}
		if (r > 0)
			got += (size_t) r;
	}
	buf[end] = '\0';
	return (int) end;
}

int
fz_ws_upgrade(fz_session *s)
{
	char head[4096], text[1024], key[64], accept[PNC_WS_ACCEPT_LEN + 1];
	int n;

	if (s->d == NULL) {
		/* The peer dials: it asks for the socket's own protocol. */
		n = snprintf(text, sizeof(text),
		    "GET /fz HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s.sp.nanomsg.org\r\n\r\n",
		    fz_ws_name(s));
		if (send(s->fd, text, (size_t) n, MSG_NOSIGNAL) != n ||
		    fz_ws_read_head(s, head, sizeof(head)) < 0)
			return -1;
		return strncmp(head, "HTTP/1.1 101 ", 13) == 0 ? 0 : -1;
	}
	/* The socket dials: the peer answers its request, for the protocol
	 * it asked for (its peer's). */
	if (fz_ws_read_head(s, head, sizeof(head)) < 0 ||
	    pnc_ws_http_header(head, "Sec-WebSocket-Key", key, sizeof(key)) != 0)
		return -1;
	pnc_ws_accept_key(key, accept);
	n = snprintf(text, sizeof(text),
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
	    "Sec-WebSocket-Protocol: %s.sp.nanomsg.org\r\n\r\n", accept, fz_ws_peer_name(s));
	return send(s->fd, text, (size_t) n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* What an application may ask about a pipe, asked while it is new. */
static void
fz_pipe_facts(fz_session *s)
{
	uint32_t ids[4];
	int n = pnc_socket_pipes(s->sock, ids, 4);

	for (int i = 0; i < n && i < 4; i++) {
		pnc_pipe_info info;
		pnc_stats st;
		int64_t v;
		(void) pnc_pipe_info_get(s->sock, ids[i], &info);
		(void) pnc_pipe_get_int(s->sock, ids[i], "tcp-nodelay", &v);
		(void) pnc_pipe_stats(s->sock, ids[i], &st);
	}
}

int
fz_wait_attached(fz_session *s)
{
	int64_t until = s->start + FZ_ITER_MS / 2;

	while (pnc_socket_pipes(s->sock, NULL, 0) == 0) {
		if (fz_now_ms() >= until)
			return 0;
		fz_sleep_us(20);
	}
	fz_pipe_facts(s);
	return 1;
}

static uint32_t
fz_get_u32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
	    ((uint32_t) p[2] << 8) | p[3];
}

static void
fz_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/* Raw sockets send what the caller made: a header word of our own. */
static int
fz_send_raw_request(fz_session *s)
{
	uint8_t hdr[4];
	pnc_msg *m;
	int rv;

	fz_put_u32(hdr, 0x80000001u);
	if (pnc_msg_from(&m, "fuzz", 4) != 0)
		return PNC_ENOMEM;
	if ((rv = pnc_msg_set_header(m, hdr, sizeof(hdr))) != 0 ||
	    (rv = pnc_ctx_try_send(s->op.ctx, m)) != 0)
		pnc_msg_free(m);
	return rv;
}

void
fz_prime(fz_session *s)
{
	uint8_t pfx[9], payload[64];
	uint64_t len;
	int rv;

	if (!s->proto->requester)
		return;
	rv = s->raw ? fz_send_raw_request(s)
	            : pnc_ctx_try_send_data(s->op.ctx, "fuzz", 4);
	if (rv != 0)
		return;
	/* Its frame: [type byte] length, then the id word and our body. */
	if (fz_read_full(s, pfx, s->plen) != 0)
		return;
	len = ((uint64_t) fz_get_u32(pfx + s->plen - 8) << 32) |
	    fz_get_u32(pfx + s->plen - 4);
	if (len < 4 || len > sizeof(payload) || fz_read_full(s, payload, (size_t) len) != 0)
		return;
	s->id = fz_get_u32(payload);
}

uint8_t *
fz_patch_ids(const fz_session *s, const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1), magic[4];

	if (copy == NULL)
		return NULL;
	memcpy(copy, data, size);
	if (s->id == 0 || size < 4)
		return copy;
	fz_put_u32(magic, FZ_ID_MAGIC);
	for (size_t i = 0; i + 4 <= size; i++) {
		if (memcmp(copy + i, magic, 4) == 0) {
			fz_put_u32(copy + i, s->id);
			i += 3;
		}
	}
	return copy;
}

/*
 * Sends what came in back: a reply, an echo, or a new request.  Cooked
 * sockets send every other one as a bare body, as Python's send does (one
 * of 32 KiB or more goes out from our memory, lent); the others go as a
 * copy of the message, header and pipe id included (a raw reply, a
 * polyamorous pair1's send to the pipe it came from).
 */
static void
fz_echo(fz_session *s)
{
	for (int k = 0; k < s->echo_copies && s->echoes < FZ_ECHO_MAX &&
	     s->echo_bytes < FZ_ECHO_BYTES; k++) {
		pnc_msg *dup;
		int rv = PNC_ENOMEM;

		s->echoes++;
		s->echo_bytes += s->op.len;
		if (!s->raw && s->echoes % 2 == 0) {
			rv = pnc_ctx_try_send_data(s->op.ctx, s->op.body, s->op.len);
		} else if (pnc_msg_dup(&dup, s->op.msg) == 0 &&
		    (rv = pnc_ctx_try_send(s->op.ctx, dup)) != 0) {
			pnc_msg_free(dup);
		}
		if (rv == 0)
			s->sent++;
	}
}

/* Takes what the socket has queued (or can read now), and answers it. */
static void
fz_recv_all(fz_session *s, int answer)
{
	for (int i = 0; i < 256; i++) {
		int64_t n = pnc_op_try_recv(&s->op);
		if (n < 0)
			break;
		s->received++;
		if (answer)
			fz_echo(s);
	}
}

/* What the core sent the peer: read and dropped, so the core never blocks. */
static void
fz_drain_peer(fz_session *s)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0)
			continue;
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			s->eof = 1;
		return;
	}
}

void
fz_pump(fz_session *s, int wait_ms)
{
	if (s->hold_reads) {
		if (wait_ms > 0)
			fz_sleep_us(200); /* the core's queue fills meanwhile */
	} else if (!s->eof && fz_poll(s->fd, POLLIN, wait_ms)) {
		fz_drain_peer(s);
	}
	fz_recv_all(s, 1);
}

int
fz_write(fz_session *s, const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size && !s->eof && fz_now_ms() < s->deadline) {
		ssize_t n = send(s->fd, data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t) n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			(void) fz_poll(s->fd, POLLOUT, 1);
			fz_pump(s, 0);
		} else {
			s->eof = 1; /* the core closed the pipe: the rest goes nowhere */
		}
	}
	return off == size ? 0 : -1;
}

void
fz_wait_taken(fz_session *s, int max_ms)
{
	int64_t until = fz_now_ms() + max_ms;

	if (until > s->deadline)
		until = s->deadline;
	for (;;) {
		int queued = 0;
		/*
		 * ipc: our send queue is what the core has not read yet.  tcp
		 * counts bytes until they are acknowledged, which the receiver
		 * delays up to 40 ms: there, what has not left yet, and then a
		 * moment for the I/O thread to read what arrived.
		 */
		if (ioctl(s->fd, s->tcp ? SIOCOUTQNSD : SIOCOUTQ, &queued) != 0)
			return;
		if (queued == 0) {
			if (s->tcp) {
				fz_sleep_us(200);
				fz_pump(s, 0);
			}
			return;
		}
		if (s->eof || fz_now_ms() >= until)
			return;
		fz_pump(s, 0);
		fz_sleep_us(50);
	}
}

void
fz_end(fz_session *s)
{
	int64_t until = fz_now_ms() + FZ_CLOSE_MS;

	if (until > s->start + FZ_ITER_MS + 50)
		until = s->start + FZ_ITER_MS + 50;
	/* A closed stream is the one thing the core must always answer. */
	if (s->fd >= 0)
		shutdown(s->fd, SHUT_WR);
	while (s->fd >= 0 && !s->eof && fz_now_ms() < until) {
		/* A peer that reads nothing sees no end: the pipe's going is it. */
		if (s->hold_reads && pnc_socket_pipes(s->sock, NULL, 0) == 0)
			break;
		fz_pump(s, 2);
	}
	if (fz_debug() && s->fd >= 0 && !s->eof && !s->hold_reads)
		fprintf(stderr, "fuzz: the pipe was kept open past %d ms\n", FZ_CLOSE_MS);
	fz_recv_all(s, 0);
	if (fz_debug() >= 2)
		fprintf(stderr, "fuzz: %s%s %s: id %08x, %d received, %d sent back, "
		    "%s, %d ms\n", s->raw ? "raw " : "", s->proto->name,
		    s->tcp ? "tcp" : "ipc", (unsigned) s->id, s->received, s->sent,
		    s->eof ? "closed by the core" : "still open", (int) (fz_now_ms() - s->start));
	pnc_op_release(&s->op);
	if (s->l != NULL)
		pnc_listener_release(s->l);
	if (s->d != NULL)
		pnc_dialer_release(s->d);
	pnc_socket_release(s->sock); /* closes its listener and its pipes */
	if (s->fd >= 0)
		close(s->fd);
	fz_wait_fds(s->fds_before, "an iteration");
}
