/* posix_impl.h: the POSIX types behind platform.h. */
#ifndef PNC_POSIX_IMPL_H
#define PNC_POSIX_IMPL_H

#include <arpa/inet.h> /* ntohs, for platform/common */
#include <netdb.h>     /* getaddrinfo, for platform/common */
#include <netinet/in.h> /* sockaddr_in(6), for platform/common */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>

typedef pthread_mutex_t pnc_mtx;
#define PNC_MTX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
typedef pthread_cond_t pnc_cv;
typedef pthread_t pnc_thread;
typedef int pnc_fd;
#define PNC_FD_NONE (-1)

/* See platform.h: every POSIX descriptor is. */
static inline int
pnc_net_selectable(pnc_fd fd)
{
	(void) fd;
	return 1;
}

/* Same layout as struct iovec, so writev takes the array as it is. */
typedef struct iovec pnc_iov;
#define PNC_IOV_BASE(iov) ((iov)->iov_base)
#define PNC_IOV_LEN(iov) ((iov)->iov_len)

typedef struct pnc_wakefd {
	int rfd;
	int wfd;
} pnc_wakefd;

typedef struct pnc_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
} pnc_sockaddr;

#endif
