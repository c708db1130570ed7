/*
 * win_impl.h: the Windows types behind platform.h.
 *
 * Locks are SRW locks (no kernel object, statically initialisable) and
 * condition variables CONDITION_VARIABLEs; descriptors are Winsock SOCKETs,
 * which select(), WSAPoll() and Python's select module all take, or named
 * pipes (ipc://): a pnc_fd with its low bit set names a pipe object of
 * win_pipe.c (see win_pipe.h), which no socket handle is (they are
 * multiples of 4).  Only platform/windows/ looks inside one.
 */
#ifndef PNC_WIN_IMPL_H
#define PNC_WIN_IMPL_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600 /* Vista: WSAPoll, SRW locks, condition variables */
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

typedef SRWLOCK pnc_mtx;
#define PNC_MTX_INITIALIZER SRWLOCK_INIT
typedef CONDITION_VARIABLE pnc_cv;

/* The handle joins; the id answers "is this the calling thread". */
typedef struct pnc_thread {
	HANDLE handle;
	DWORD id;
} pnc_thread;

typedef SOCKET pnc_fd;
#define PNC_FD_NONE INVALID_SOCKET

/* See platform.h: a named pipe is no socket that select() could watch. */
static inline int
pnc_net_selectable(pnc_fd fd)
{
	return fd == PNC_FD_NONE || (fd & 1) == 0;
}

/*
 * WSABUF's layout (length first), so WSASend takes the array as it is; its
 * own type, since WSABUF's `CHAR *buf` would not take the core's uint8_t
 * pointers without a cast at each use.  A length is 32 bits: one buffer of
 * 4 GiB or more does not fit (the core's frames are bounded far below).
 */
typedef struct pnc_iov {
	ULONG len;
	void *buf;
} pnc_iov;
#define PNC_IOV_BASE(iov) ((iov)->buf)
#define PNC_IOV_LEN(iov) ((iov)->len)

/*
 * A connected loopback tcp pair, both ends non-blocking: Windows has no
 * pipe that WSAPoll or Python's select can watch.  As with a POSIX pipe, a
 * full buffer refusing a signal's byte means a wake-up is already pending.
 */
typedef struct pnc_wakefd {
	SOCKET rfd;
	SOCKET wfd;
} pnc_wakefd;

/* A pipe's full name, \\.\pipe\<name>, is at most 256 characters. */
#define PNC_PIPE_NAME_MAX 256

/*
 * tcp: ss and len.  ipc: ss.ss_family is AF_UNIX and pipe the pipe's full
 * name (NUL-terminated), which no sockaddr holds.
 */
typedef struct pnc_sockaddr {
	struct sockaddr_storage ss;
	int len;
	WCHAR pipe[PNC_PIPE_NAME_MAX + 1];
} pnc_sockaddr;

#endif
