/*
 * platform.h: everything the core needs from the operating system.
 *
 * Threads, locks, the clock, the wake-up descriptor, the pollers and
 * the socket calls.  System errors come back as NNG codes.  Only the files
 * under platform/ know which OS they run on.
 */
#ifndef PNC_PLATFORM_H
#define PNC_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "pnc.h"
#include "pnc_atomic.h" /* the atomics the core uses, and PNC_ALIGN8 */

#ifdef _WIN32
#include "windows/win_impl.h"
#else
#include "posix/posix_impl.h"
#endif

/* Locks and condition variables (monotonic clock). */
void pnc_mtx_init(pnc_mtx *m);
void pnc_mtx_fini(pnc_mtx *m);
void pnc_mtx_lock(pnc_mtx *m);
void pnc_mtx_unlock(pnc_mtx *m);
void pnc_cv_init(pnc_cv *cv);
void pnc_cv_fini(pnc_cv *cv);
/* Waits until woken or until `until_ms` (monotonic; INT64_MAX = no end). */
void pnc_cv_wait_until(pnc_cv *cv, pnc_mtx *m, int64_t until_ms);
void pnc_cv_wake(pnc_cv *cv);
void pnc_cv_wake_one(pnc_cv *cv);

/* Threads run with every signal blocked, so signals reach Python's thread. */
int pnc_thread_start(pnc_thread *t, void (*fn)(void *), void *arg);
void pnc_thread_join(pnc_thread *t);
int pnc_thread_is_self(const pnc_thread *t);
void pnc_thread_self(pnc_thread *t);
/* Runs fn in a child process after fork(), before anything else. */
void pnc_atfork_child(void (*fn)(void));
int pnc_process_id(void);

int64_t pnc_clock_ms(void);
int64_t pnc_clock_ns(void);
/* Lets another runnable thread on this CPU go first. */
void pnc_thread_yield(void);
uint32_t pnc_random(void);

/* A descriptor the poller watches to be woken from another thread. */
int pnc_wakefd_open(pnc_wakefd *w);
void pnc_wakefd_close(pnc_wakefd *w);
void pnc_wakefd_signal(pnc_wakefd *w);
void pnc_wakefd_drain(pnc_wakefd *w);
pnc_fd pnc_wakefd_fd(const pnc_wakefd *w);

/*
 * Pollers.  Events are level-triggered, but for an add or mod with
 * PNC_POLL_ONESHOT on a poller whose ops say it has it: its one event then
 * stops the watching until the next mod (see iothread.c).
 */
#define PNC_POLL_IN 1u
#define PNC_POLL_OUT 2u
#define PNC_POLL_ERR 4u
#define PNC_POLL_ONESHOT 8u

typedef struct pnc_poll_event {
	void *ptr;
	unsigned events;
} pnc_poll_event;

typedef struct pnc_poller_ops {
	const char *name;
	int (*open)(void **statep);
	void (*close)(void *state);
	int (*add)(void *state, pnc_fd fd, unsigned events, void *ptr);
	int (*mod)(void *state, pnc_fd fd, unsigned events, void *ptr);
	void (*del)(void *state, pnc_fd fd);
	/* Returns the number of events, 0 on timeout; timeout_ms < 0 waits. */
	int (*wait)(void *state, pnc_poll_event *evs, int max, int timeout_ms);
	int oneshot; /* takes PNC_POLL_ONESHOT */
} pnc_poller_ops;

extern const pnc_poller_ops pnc_poller_poll;
/* NULL where the OS has no native poller; the poll() one serves then. */
extern const pnc_poller_ops *const pnc_poller_native;

/* Socket addresses and calls. */
/* 0 once the OS takes socket calls (Windows: after WSAStartup), else an
 * NNG code; for platform/common, whose calls the OS files do not wrap. */
int pnc_net_ready(void);
/* family: PNC_AF_UNSPEC (any), PNC_AF_INET or PNC_AF_INET6 only. */
int pnc_net_resolve(const char *host, const char *port, int passive,
    int family, pnc_sockaddr *sa);
int pnc_net_ipc_addr(const char *path, pnc_sockaddr *sa);
/*
 * An abstract unix socket's name (Linux; PNC_ENOTSUP elsewhere): len bytes,
 * NULs allowed; len 0 binds a name the kernel picks.
 */
int pnc_net_abstract_addr(const uint8_t *name, size_t len, pnc_sockaddr *sa);
/*
 * The longest ipc path or abstract name a unix socket address holds: each
 * leaves one byte to a NUL (the path's end, the name's leading one).
 */
size_t pnc_net_unix_name_max(void);
int pnc_net_listen(const pnc_sockaddr *sa, pnc_fd *fdp);
int pnc_net_accept(pnc_fd lfd, pnc_fd *fdp);
/* 0 when connected at once, PNC_EAGAIN while in progress. */
int pnc_net_connect(const pnc_sockaddr *sa, pnc_fd *fdp);
int pnc_net_connect_result(pnc_fd fd);
/* 0 and *np > 0, PNC_EAGAIN when nothing is ready, PNC_ECONNSHUT at EOF. */
int pnc_net_read(pnc_fd fd, void *buf, size_t size, size_t *np);
int pnc_net_readv(pnc_fd fd, pnc_iov *iov, int niov, size_t *np);
int pnc_net_writev(pnc_fd fd, pnc_iov *iov, int niov, size_t *np);
void pnc_net_close(pnc_fd fd);
/*
 * int pnc_net_selectable(pnc_fd fd), inline in the OS's header: 1 when an
 * event loop's select() (Python's) can watch fd and pnc_net_wait_readable
 * wait on it; 0 for a Windows named pipe, which only the core's poller sees
 * (its reads are not lent to callers).
 */
/* Waits until fd or wake is readable or timeout_ms passes; 1 if fd is. */
int pnc_net_wait_readable(pnc_fd fd, pnc_fd wake, int timeout_ms);
int pnc_net_local_port(pnc_fd fd, int *portp);
void pnc_net_set_nodelay(pnc_fd fd, int on);
void pnc_net_set_keepalive(pnc_fd fd, int on);
void pnc_net_set_buffers(pnc_fd fd, int bytes);
/* "tcp-nodelay" or "tcp-keepalive" as the kernel has it. */
int pnc_net_get_tcp_option(pnc_fd fd, const char *name, int64_t *vp);
/* The socket's own (remote 0) or its peer's (remote 1) address. */
int pnc_net_addr(pnc_fd fd, int remote, pnc_addr *a);
/* Removes a socket file left behind by a listener that is gone. */
int pnc_net_ipc_clean_stale(const char *path);
void pnc_net_ipc_unlink(const char *path);
#define PNC_IOV_MAX 256

#endif
