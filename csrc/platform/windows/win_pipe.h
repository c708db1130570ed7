/*
 * win_pipe.h: ipc:// on Windows, over named pipes (\\.\pipe\<name>), as
 * NNG has it, behind the same readiness calls as sockets.
 *
 * A pipe cannot be WSAPoll'ed, so a pipe object keeps the overlapped I/O
 * and shows readiness: a connection keeps one ReadFile pending into its
 * own buffer (readable: bytes, the end or an error are there) and writes
 * from its own buffer (writable: no WriteFile pending); a listener keeps a
 * ConnectNamedPipe pending on a fresh instance (readable: a client came).
 * Every handle is on one completion port, whose thread (started with the
 * first pipe, never stopped) records each completion in its object and
 * signals a wake-up socket that the Windows poller (win_poll.c) watches
 * beside the sockets; its wait then asks each registered object for its
 * readiness (pnc_winpipe_ready).  Level-triggered, as the sockets'.
 *
 * A pnc_fd naming an object is its address with the low bit set.
 *
 * Lifetime: an object counts references under its lock: one for whoever
 * holds the pnc_fd (dropped by pnc_net_close), one for each operation the
 * kernel has pending on it (dropped by the completion thread when that
 * operation's packet comes), and brief ones the poller takes around its
 * look.  The last one closes the handle, if still open, and frees the
 * object with its buffers: a buffer is never freed while the kernel may
 * still write into it.  A close cancels the pending read and connect
 * (the handle is closed at once, so the peer sees the end and the name is
 * free for a new listener, unless a write is still pending: that one is
 * let finish, so what was sent is not cut, and the handle goes with the
 * last reference).
 *
 * Locks: each object's mtx guards all of its fields; it is taken by the
 * caller of the calls below and by the completion thread, never with
 * another object's, and nothing else is called under it but the kernel
 * calls that start or cancel I/O.  A completion callback only updates its
 * object's state under that lock, drops its reference, and signals the
 * wake-up socket (after unlocking): it never calls into the core.
 */
#ifndef PNC_WIN_PIPE_H
#define PNC_WIN_PIPE_H

#include "../platform.h"

typedef struct pnc_winpipe pnc_winpipe;

static inline int
pnc_fd_is_pipe(pnc_fd fd)
{
	return !pnc_net_selectable(fd);
}

static inline pnc_winpipe *
pnc_fd_pipe(pnc_fd fd)
{
	return (pnc_winpipe *) (uintptr_t) (fd & ~(pnc_fd) 1);
}

/* name: the pipe's full name, \\.\pipe\<name>. */
int pnc_winpipe_listen(const WCHAR *name, pnc_fd *fdp);
int pnc_winpipe_accept(pnc_winpipe *l, pnc_fd *fdp);
/* Connected at once (0) or refused: no connect is left in progress. */
int pnc_winpipe_connect(const WCHAR *name, pnc_fd *fdp);
/* As pnc_net_readv and pnc_net_writev. */
int pnc_winpipe_read(pnc_winpipe *p, pnc_iov *iov, int niov, size_t *np);
int pnc_winpipe_write(pnc_winpipe *p, const pnc_iov *iov, int niov, size_t *np);
void pnc_winpipe_close(pnc_winpipe *p);
/* PNC_POLL_IN, PNC_POLL_OUT and PNC_POLL_ERR as they are now. */
unsigned pnc_winpipe_ready(pnc_winpipe *p);
void pnc_winpipe_hold(pnc_winpipe *p);
void pnc_winpipe_rele(pnc_winpipe *p);
/*
 * The read end of the completions' wake-up socket, once the first pipe
 * made it (PNC_FD_NONE before), its drain and its signal; for the poller.
 */
pnc_fd pnc_winpipe_wake_fd(void);
void pnc_winpipe_wake_drain(void);
void pnc_winpipe_wake_signal(void);

#endif
