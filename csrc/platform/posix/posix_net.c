/* posix_net.c: BSD sockets for tcp and ipc, and the wake-up descriptor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * What this system offers, by feature test: eventfd (Linux, FreeBSD 13+),
 * else the wake-up descriptor is a pipe; socket() and accept4() flags that
 * make a descriptor non-blocking and close-on-exec in the same call (Linux,
 * the BSDs), else fcntl does it after (macOS).
 */
#ifdef __has_include
#if __has_include(<sys/eventfd.h>)
#include <sys/eventfd.h>
#define HAVE_EVENTFD 1
#endif
#endif
#ifdef SOCK_NONBLOCK
#define HAVE_SOCK_FLAGS 1
#define SOCK_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)
#else
#define SOCK_FLAGS 0
#endif

#include "../common/net_common.h"

/* The one place where errno becomes an NNG code. */
static int
errno_to_pnc(int e)
{
	switch (e) {
	case EINTR:
		return PNC_EINTR;
	case ENOMEM:
	case ENOBUFS:
		return PNC_ENOMEM;
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINPROGRESS:
		return PNC_EAGAIN;
	case ECONNREFUSED:
		return PNC_ECONNREFUSED;
	case EADDRINUSE:
		return PNC_EADDRINUSE;
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
	case ENAMETOOLONG:
	case ENOTDIR:
		return PNC_EADDRINVAL;
	case ENOENT:
		return PNC_ENOENT;
	case EACCES:
	case EPERM:
	case EROFS:
		return PNC_EPERM;
	case ECONNRESET:
		return PNC_ECONNRESET;
	case ECONNABORTED:
		return PNC_ECONNABORTED;
	case EPIPE:
	case ENOTCONN:
		return PNC_ECONNSHUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return PNC_EUNREACHABLE;
	case ETIMEDOUT:
		return PNC_ETIMEDOUT;
	case EMFILE:
	case ENFILE:
		return PNC_ENOFILES;
	case ENOSPC:
		return PNC_ENOSPC;
	case EMSGSIZE:
		return PNC_EMSGSIZE;
	default:
		return PNC_EINTERNAL;
	}
}

#if !defined(HAVE_SOCK_FLAGS) || !defined(HAVE_EVENTFD)
/* For a descriptor made without the flags (see HAVE_SOCK_FLAGS). */
static int
set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return errno_to_pnc(errno);
	(void) fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}
#endif

/*
 * Makes a new socket, created or accepted, what every one of ours is; closes
 * it on failure.  A write to a peer that is gone raises SIGPIPE, which kills
 * a process that does not ignore it (one embedding Python may not): where
 * SO_NOSIGPIPE exists (macOS, the BSDs) every socket gets it, accepted ones
 * too, as they do not reliably inherit it from the listener.  It is set even
 * where sendmsg also takes MSG_NOSIGNAL: macOS's headers define that flag
 * while older kernels may not honour it.
 */
static int
socket_setup(int fd)
{
	int rv = 0;

#ifndef HAVE_SOCK_FLAGS
	rv = set_nonblock_cloexec(fd);
#endif
#ifdef SO_NOSIGPIPE
	int one = 1;
	if (rv == 0 && setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one)) != 0)
		rv = errno_to_pnc(errno);
#endif
	if (rv != 0)
		close(fd);
	return rv;
}

static int
new_socket(int family, int *fdp)
{
	int fd = socket(family, SOCK_STREAM | SOCK_FLAGS, 0);

	*fdp = fd; /* closed again if the setup fails: use it only after a 0 */
	return fd < 0 ? errno_to_pnc(errno) : socket_setup(fd);
}

int
pnc_net_ready(void)
{
	return 0; /* nothing to start */
}

int
pnc_net_ipc_addr(const char *path, pnc_sockaddr *sa)
{
	struct sockaddr_un *un = (struct sockaddr_un *) &sa->ss;

	if (path[0] == '\0' || strlen(path) >= sizeof(un->sun_path))
		return PNC_EADDRINVAL;
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	sa->len = sizeof(*un);
	return 0;
}

size_t
pnc_net_unix_name_max(void)
{
	return sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1;
}

int
pnc_net_abstract_addr(const uint8_t *name, size_t len, pnc_sockaddr *sa)
{
#ifdef __linux__ /* a feature of Linux's kernel that no header announces */
	struct sockaddr_un *un = (struct sockaddr_un *) &sa->ss;

	if (len >= sizeof(un->sun_path))
		return PNC_EADDRINVAL; /* the leading NUL takes one byte */
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path + 1, name, len);
	/*
	 * The length counts the name's bytes and no terminator, as nng writes
	 * it: the kernel matches names by length, so this is what lets a peer
	 * of nng's find ours.  The family alone asks the kernel for a name.
	 */
	sa->len = offsetof(struct sockaddr_un, sun_path) + (len > 0 ? 1 + len : 0);
	return 0;
#else
	(void) name;
	(void) len;
	(void) sa;
	return PNC_ENOTSUP;
#endif
}

int
pnc_net_listen(const pnc_sockaddr *sa, pnc_fd *fdp)
{
	int fd, rv, one = 1;

	if ((rv = new_socket(sa->ss.ss_family, &fd)) != 0)
		return rv;
	if (sa->ss.ss_family != AF_UNIX)
		(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/*
	 * The longest accept queue the system allows (the kernel caps the
	 * asking at its somaxconn): a burst of dials past a queue of 128 lost
	 * SYNs that came back only 1, 3 and 7 s later.
	 */
	if (bind(fd, (const struct sockaddr *) &sa->ss, sa->len) != 0 ||
	    listen(fd, INT_MAX) != 0) {
		rv = errno_to_pnc(errno);
		close(fd);
		return rv;
	}
	*fdp = fd;
	return 0;
}

int
pnc_net_accept(pnc_fd lfd, pnc_fd *fdp)
{
	int fd, rv;

	for (;;) {
#ifdef HAVE_SOCK_FLAGS
		fd = accept4(lfd, NULL, NULL, SOCK_FLAGS);
#else
		fd = accept(lfd, NULL, NULL);
#endif
		if (fd >= 0)
			break;
		if (errno != EINTR)
			return errno_to_pnc(errno);
	}
	if ((rv = socket_setup(fd)) != 0)
		return rv;
	*fdp = fd;
	return 0;
}

int
pnc_net_connect(const pnc_sockaddr *sa, pnc_fd *fdp)
{
	int fd, rv;

	if ((rv = new_socket(sa->ss.ss_family, &fd)) != 0)
		return rv;
	*fdp = fd;
	if (connect(fd, (const struct sockaddr *) &sa->ss, sa->len) == 0)
		return 0;
	rv = errno_to_pnc(errno);
	/*
	 * A unix socket with a full backlog says EAGAIN, one with no file
	 * ENOENT: to a dialer both are a refusal, as nng says.
	 */
	if ((rv == PNC_EAGAIN || rv == PNC_ENOENT) && sa->ss.ss_family == AF_UNIX)
		rv = PNC_ECONNREFUSED;
	if (rv != PNC_EAGAIN) {
		close(fd);
		*fdp = PNC_FD_NONE;
	}
	return rv;
}

int
pnc_net_connect_result(pnc_fd fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return errno_to_pnc(errno);
	return err == 0 ? 0 : errno_to_pnc(err);
}

int
pnc_net_read(pnc_fd fd, void *buf, size_t size, size_t *np)
{
	pnc_iov iov;

	PNC_IOV_BASE(&iov) = buf;
	PNC_IOV_LEN(&iov) = size;
	return pnc_net_readv(fd, &iov, 1, np);
}

/* recvmsg, not readv: a socket's own call skips the file layer's. */
int
pnc_net_readv(pnc_fd fd, pnc_iov *iov, int niov, size_t *np)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = niov };
	ssize_t n;

	do {
		n = recvmsg(fd, &mh, 0);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		*np = (size_t) n;
		return 0;
	}
	return n == 0 ? PNC_ECONNSHUT : errno_to_pnc(errno);
}

int
pnc_net_writev(pnc_fd fd, pnc_iov *iov, int niov, size_t *np)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = niov };
	ssize_t n;

#ifdef MSG_NOSIGNAL
	const int flags = MSG_NOSIGNAL; /* a dead peer must not kill the process */
#else
	const int flags = 0;
#endif
	do {
		n = sendmsg(fd, &mh, flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno_to_pnc(errno);
	*np = (size_t) n;
	return 0;
}

int
pnc_net_wait_readable(pnc_fd fd, pnc_fd wake, int timeout_ms)
{
	struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { wake, POLLIN, 0 } };

	if (poll(pfd, 2, timeout_ms) <= 0)
		return 0;
	return (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

void
pnc_net_close(pnc_fd fd)
{
	if (fd != PNC_FD_NONE)
		close(fd);
}

int
pnc_net_local_port(pnc_fd fd, int *portp)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *) &ss, &len) != 0)
		return errno_to_pnc(errno);
	if (ss.ss_family == AF_INET)
		*portp = ntohs(((struct sockaddr_in *) &ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		*portp = ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
	else
		return PNC_ENOTSUP;
	return 0;
}

void
pnc_net_set_nodelay(pnc_fd fd, int on)
{
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

void
pnc_net_set_buffers(pnc_fd fd, int bytes)
{
	/* The kernel caps these at its own limits: a request, not a demand. */
	(void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
	(void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

void
pnc_net_set_keepalive(pnc_fd fd, int on)
{
	(void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}

int
pnc_net_get_tcp_option(pnc_fd fd, const char *name, int64_t *vp)
{
	int level, opt, on = 0;
	socklen_t len = sizeof(on);

	if (strcmp(name, "tcp-nodelay") == 0) {
		level = IPPROTO_TCP;
		opt = TCP_NODELAY;
	} else if (strcmp(name, "tcp-keepalive") == 0) {
		level = SOL_SOCKET;
		opt = SO_KEEPALIVE;
	} else {
		return PNC_ENOTSUP;
	}
	if (getsockopt(fd, level, opt, &on, &len) != 0)
		return errno == ENOPROTOOPT || errno == EOPNOTSUPP ? PNC_ENOTSUP
		                                                   : errno_to_pnc(errno);
	*vp = on != 0;
	return 0;
}

/* A path or an abstract name, as the kernel gave it (len bytes of ss). */
static int
unix_addr(const struct sockaddr_un *un, socklen_t len, pnc_addr *a)
{
	size_t n = len > offsetof(struct sockaddr_un, sun_path)
	    ? len - offsetof(struct sockaddr_un, sun_path) : 0;

	if (n > sizeof(un->sun_path))
		n = sizeof(un->sun_path); /* the kernel says how long it would be */

	if (n > 0 && un->sun_path[0] == '\0') { /* abstract: a NUL, the name */
		a->family = PNC_AF_ABSTRACT;
		a->name_len = (uint16_t) (n - 1);
		memcpy(a->path, un->sun_path + 1, n - 1);
	} else {
		a->family = PNC_AF_IPC;
		memcpy(a->path, un->sun_path, strnlen(un->sun_path, n));
	}
	return 0;
}

int
pnc_net_addr(pnc_fd fd, int remote, pnc_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rv = remote ? getpeername(fd, (struct sockaddr *) &ss, &len)
	                : getsockname(fd, (struct sockaddr *) &ss, &len);

	if (rv != 0)
		return errno_to_pnc(errno);
	if (ss.ss_family != AF_UNIX)
		return pnc_net_inet_addr(&ss, a);
	memset(a, 0, sizeof(*a));
	return unix_addr((struct sockaddr_un *) &ss, len, a);
}

int
pnc_net_ipc_clean_stale(const char *path)
{
	pnc_sockaddr sa;
	struct stat st;
	int fd, rv;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return PNC_EADDRINUSE; /* never remove what is not a socket */
	if ((rv = pnc_net_ipc_addr(path, &sa)) != 0)
		return rv;
	if ((rv = new_socket(AF_UNIX, &fd)) != 0)
		return rv;
	/* Somebody answering means the address is in use; a refusal, stale. */
	rv = connect(fd, (struct sockaddr *) &sa.ss, sa.len) == 0 ? 0 : errno;
	close(fd);
	if (rv == ECONNREFUSED) {
		unlink(path);
		return 0;
	}
	return PNC_EADDRINUSE;
}

void
pnc_net_ipc_unlink(const char *path)
{
	(void) unlink(path);
}

int
pnc_wakefd_open(pnc_wakefd *w)
{
#ifdef HAVE_EVENTFD
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return errno_to_pnc(errno);
	w->rfd = w->wfd = fd;
#else
	/* No pipe2 on macOS: the flags come after, and both ends need them (a
	 * blocking write end would hang a signal once the pipe is full). */
	int fds[2], rv;
	if (pipe(fds) != 0)
		return errno_to_pnc(errno);
	if ((rv = set_nonblock_cloexec(fds[0])) != 0 ||
	    (rv = set_nonblock_cloexec(fds[1])) != 0) {
		close(fds[0]);
		close(fds[1]);
		return rv;
	}
	w->rfd = fds[0];
	w->wfd = fds[1];
#endif
	return 0;
}

void
pnc_wakefd_close(pnc_wakefd *w)
{
	close(w->rfd);
	if (w->wfd != w->rfd)
		close(w->wfd);
	w->rfd = w->wfd = -1;
}

void
pnc_wakefd_signal(pnc_wakefd *w)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(w->wfd, &one, w->wfd == w->rfd ? 8 : 1);
	} while (n < 0 && errno == EINTR);
	/* EAGAIN means a wake-up is already pending: nothing more to do. */
}

void
pnc_wakefd_drain(pnc_wakefd *w)
{
	char buf[64];

	while (read(w->rfd, buf, sizeof(buf)) > 0) {
	}
}

pnc_fd
pnc_wakefd_fd(const pnc_wakefd *w)
{
	return w->rfd;
}
