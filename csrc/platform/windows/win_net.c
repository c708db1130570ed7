/*
 * win_net.c: Winsock tcp, and the wake-up descriptor (a loopback pair).
 *
 * Every socket is non-blocking and not inherited by child processes.
 * ipc:// is NNG's named pipes, \\.\pipe\<name>: its descriptors are
 * win_pipe.c's objects, to which the calls below hand them.
 */
#include <stdio.h>
#include <string.h>

#include "../common/net_common.h"
#include "win_pipe.h"

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static int wsa_error;

static BOOL CALLBACK
wsa_start(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	WSADATA wd;

	(void) once;
	(void) param;
	(void) ctx;
	/* Never WSACleanup'd: the I/O thread may use sockets until exit. */
	wsa_error = WSAStartup(MAKEWORD(2, 2), &wd) != 0;
	return TRUE;
}

/* Winsock needs WSAStartup once before any call: each entry point asks. */
static int
wsa_ready(void)
{
	InitOnceExecuteOnce(&wsa_once, wsa_start, NULL, NULL);
	return wsa_error ? PNC_EINTERNAL : 0;
}

int
pnc_net_ready(void)
{
	return wsa_ready();
}

/* The one place where a Winsock error becomes an NNG code. */
static int
wsa_to_pnc(int e)
{
	switch (e) {
	case WSAEINTR:
		return PNC_EINTR;
	case WSA_NOT_ENOUGH_MEMORY:
	case WSAENOBUFS:
		return PNC_ENOMEM;
	case WSAEWOULDBLOCK:
	case WSAEINPROGRESS:
	case WSAEALREADY:
		return PNC_EAGAIN;
	case WSAECONNREFUSED:
		return PNC_ECONNREFUSED;
	case WSAEADDRINUSE:
		return PNC_EADDRINUSE;
	case WSAEADDRNOTAVAIL:
	case WSAEAFNOSUPPORT:
	case WSAEFAULT:
		return PNC_EADDRINVAL;
	case WSAEACCES:
		return PNC_EPERM;
	case WSAECONNRESET:
	case WSAENETRESET:
		return PNC_ECONNRESET;
	case WSAECONNABORTED:
		return PNC_ECONNABORTED;
	case WSAESHUTDOWN:
	case WSAENOTCONN:
	case WSAEDISCON:
		return PNC_ECONNSHUT;
	case WSAEHOSTUNREACH:
	case WSAENETUNREACH:
	case WSAENETDOWN:
		return PNC_EUNREACHABLE;
	case WSAETIMEDOUT:
		return PNC_ETIMEDOUT;
	case WSAEMFILE:
		return PNC_ENOFILES;
	case WSAEMSGSIZE:
		return PNC_EMSGSIZE;
	default:
		return PNC_EINTERNAL;
	}
}

static int
last_error(void)
{
	return wsa_to_pnc(WSAGetLastError());
}

/*
 * A new or accepted socket made non-blocking and kept from child processes
 * (Python's subprocess too), then handed to *sp; closed if that fails.
 */
static int
socket_setup(SOCKET s, SOCKET *sp)
{
	u_long on = 1;

	if (ioctlsocket(s, FIONBIO, &on) != 0) {
		int rv = last_error();
		closesocket(s);
		return rv;
	}
	(void) SetHandleInformation((HANDLE) s, HANDLE_FLAG_INHERIT, 0);
	*sp = s;
	return 0;
}

static int
new_socket(int family, SOCKET *sp)
{
	SOCKET s;
	int rv;

	if ((rv = wsa_ready()) != 0)
		return rv;
	if ((s = socket(family, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET)
		return last_error();
	return socket_setup(s, sp);
}

#define PIPE_PREFIX L"\\\\.\\pipe\\"
#define PIPE_PREFIX_LEN 9

/*
 * ipc://<path> is the pipe \\.\pipe\<path>, as NNG has it: the path as it
 * is (UTF-8), slashes and all.  Too long a name is a bad address.
 */
int
pnc_net_ipc_addr(const char *path, pnc_sockaddr *sa)
{
	int n;

	if (path[0] == '\0')
		return PNC_EADDRINVAL;
	memset(&sa->ss, 0, sizeof(sa->ss));
	sa->ss.ss_family = AF_UNIX;
	sa->len = 0;
	memcpy(sa->pipe, PIPE_PREFIX, PIPE_PREFIX_LEN * sizeof(WCHAR));
	n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1,
	    sa->pipe + PIPE_PREFIX_LEN, PNC_PIPE_NAME_MAX + 1 - PIPE_PREFIX_LEN);
	return n > 0 ? 0 : PNC_EADDRINVAL; /* not UTF-8, or too long */
}

size_t
pnc_net_unix_name_max(void)
{
	return PNC_PIPE_NAME_MAX - PIPE_PREFIX_LEN; /* characters after \\.\pipe\ */
}

int
pnc_net_abstract_addr(const uint8_t *name, size_t len, pnc_sockaddr *sa)
{
	(void) name;
	(void) len;
	(void) sa;
	return PNC_ENOTSUP; /* abstract sockets are Linux's */
}

int
pnc_net_listen(const pnc_sockaddr *sa, pnc_fd *fdp)
{
	SOCKET s = INVALID_SOCKET; /* set by new_socket when it succeeds */
	int rv, one = 1;

	if (sa->ss.ss_family == AF_UNIX)
		return pnc_winpipe_listen(sa->pipe, fdp);
	if ((rv = new_socket(sa->ss.ss_family, &s)) != 0)
		return rv;
	/*
	 * SO_EXCLUSIVEADDRUSE, not SO_REUSEADDR: Windows' SO_REUSEADDR lets a
	 * second listener take a bound port, where POSIX's only skips TIME_WAIT.
	 */
	(void) setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *) &one, sizeof(one));
	if (bind(s, (const struct sockaddr *) &sa->ss, sa->len) != 0 ||
	    listen(s, SOMAXCONN) != 0) {
		rv = last_error();
		closesocket(s);
		return rv;
	}
	*fdp = s;
	return 0;
}

int
pnc_net_accept(pnc_fd lfd, pnc_fd *fdp)
{
	SOCKET s;

	if (pnc_fd_is_pipe(lfd))
		return pnc_winpipe_accept(pnc_fd_pipe(lfd), fdp);
	if ((s = accept(lfd, NULL, NULL)) == INVALID_SOCKET)
		return last_error();
	return socket_setup(s, fdp);
}

int
pnc_net_connect(const pnc_sockaddr *sa, pnc_fd *fdp)
{
	SOCKET s = INVALID_SOCKET; /* set by new_socket when it succeeds */
	int rv;

	if (sa->ss.ss_family == AF_UNIX)
		return pnc_winpipe_connect(sa->pipe, fdp);
	if ((rv = new_socket(sa->ss.ss_family, &s)) != 0)
		return rv;
	*fdp = s;
	if (connect(s, (const struct sockaddr *) &sa->ss, sa->len) == 0)
		return 0;
	if ((rv = last_error()) != PNC_EAGAIN) {
		closesocket(s);
		*fdp = PNC_FD_NONE;
	}
	return rv;
}

int
pnc_net_connect_result(pnc_fd fd)
{
	int err = 0, len = sizeof(err);

	if (pnc_fd_is_pipe(fd))
		return 0; /* a pipe connects at once or not at all */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, (char *) &err, &len) != 0)
		return last_error();
	return err == 0 ? 0 : wsa_to_pnc(err);
}

int
pnc_net_read(pnc_fd fd, void *buf, size_t size, size_t *np)
{
	pnc_iov iov;

	PNC_IOV_BASE(&iov) = buf;
	PNC_IOV_LEN(&iov) = (ULONG) (size > 0x7FFFFFFF ? 0x7FFFFFFF : size);
	return pnc_net_readv(fd, &iov, 1, np);
}

int
pnc_net_readv(pnc_fd fd, pnc_iov *iov, int niov, size_t *np)
{
	DWORD n = 0, flags = 0;

	if (pnc_fd_is_pipe(fd))
		return pnc_winpipe_read(pnc_fd_pipe(fd), iov, niov, np);
	if (WSARecv(fd, (LPWSABUF) iov, (DWORD) niov, &n, &flags, NULL, NULL) != 0) {
		int rv = last_error();
		/* A graceful close mid-message reads as the end of the stream. */
		return WSAGetLastError() == WSAEDISCON ? PNC_ECONNSHUT : rv;
	}
	if (n == 0)
		return PNC_ECONNSHUT;
	*np = n;
	return 0;
}

/* No SIGPIPE on Windows: a dead peer is an error code, nothing more. */
int
pnc_net_writev(pnc_fd fd, pnc_iov *iov, int niov, size_t *np)
{
	DWORD n = 0;

	if (pnc_fd_is_pipe(fd))
		return pnc_winpipe_write(pnc_fd_pipe(fd), iov, niov, np);
	if (WSASend(fd, (LPWSABUF) iov, (DWORD) niov, &n, 0, NULL, NULL) != 0)
		return last_error();
	*np = n;
	return 0;
}

int
pnc_net_wait_readable(pnc_fd fd, pnc_fd wake, int timeout_ms)
{
	WSAPOLLFD pfd[2] = { { fd, POLLIN, 0 }, { wake, POLLIN, 0 } };
	/* WSAPoll refuses an invalid socket where poll() skips a negative fd. */
	ULONG n = wake == PNC_FD_NONE ? 1 : 2;

	/* Never asked: a pipe's reads are not lent (pnc_net_selectable). */
	if (pnc_fd_is_pipe(fd))
		return (pnc_winpipe_ready(pnc_fd_pipe(fd)) & PNC_POLL_IN) != 0;
	if (WSAPoll(pfd, n, timeout_ms) <= 0)
		return 0;
	return (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

void
pnc_net_close(pnc_fd fd)
{
	if (pnc_fd_is_pipe(fd))
		pnc_winpipe_close(pnc_fd_pipe(fd));
	else if (fd != PNC_FD_NONE)
		closesocket(fd);
}

int
pnc_net_local_port(pnc_fd fd, int *portp)
{
	pnc_addr a;
	int rv = pnc_net_addr(fd, 0, &a);

	if (rv == 0)
		*portp = a.port;
	return rv;
}

static void
set_int_option(SOCKET s, int level, int opt, int v)
{
	if (pnc_fd_is_pipe(s))
		return; /* a pipe's buffers are set when it is made */
	(void) setsockopt(s, level, opt, (const char *) &v, sizeof(v));
}

void
pnc_net_set_nodelay(pnc_fd fd, int on)
{
	set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, on);
}

void
pnc_net_set_buffers(pnc_fd fd, int bytes)
{
	set_int_option(fd, SOL_SOCKET, SO_SNDBUF, bytes);
	set_int_option(fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

void
pnc_net_set_keepalive(pnc_fd fd, int on)
{
	set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, on);
}

int
pnc_net_get_tcp_option(pnc_fd fd, const char *name, int64_t *vp)
{
	int level, opt, len;
	DWORD on = 0; /* Winsock may write a BOOL or a single byte: zero it all */

	if (strcmp(name, "tcp-nodelay") == 0) {
		level = IPPROTO_TCP;
		opt = TCP_NODELAY;
	} else if (strcmp(name, "tcp-keepalive") == 0) {
		level = SOL_SOCKET;
		opt = SO_KEEPALIVE;
	} else {
		return PNC_ENOTSUP;
	}
	if (pnc_fd_is_pipe(fd))
		return PNC_ENOTSUP;
	len = sizeof(on);
	if (getsockopt(fd, level, opt, (char *) &on, &len) != 0)
		return WSAGetLastError() == WSAENOPROTOOPT ? PNC_ENOTSUP : last_error();
	*vp = on != 0;
	return 0;
}

int
pnc_net_addr(pnc_fd fd, int remote, pnc_addr *a)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	int rv;

	if (pnc_fd_is_pipe(fd))
		return PNC_ENOTSUP; /* ipc's addresses are its URL's (stream.c) */
	rv = remote ? getpeername(fd, (struct sockaddr *) &ss, &len)
	            : getsockname(fd, (struct sockaddr *) &ss, &len);
	if (rv != 0)
		return last_error();
	return pnc_net_inet_addr(&ss, a);
}

int
pnc_net_ipc_clean_stale(const char *path)
{
	(void) path;
	return 0; /* a named pipe leaves no file behind */
}

void
pnc_net_ipc_unlink(const char *path)
{
	(void) path;
}
