/*
 * The raw limit of the req/rep server figure (reqrep_server.py): the same
 * closed loop with no library at all, in C, so that its requests/s are the
 * most this machine's kernel and CPU allow in that shape.
 *
 *   raw_reqrep server PORT T0 T1
 *       one thread, epoll, every connection's frame echoed back;
 *   raw_reqrep clients PORT T0 T1 COUNT
 *       COUNT threads, each a blocking TCP connection in a closed loop.
 *
 * A frame is what the SP wire carries for a Req0's 64 B request: an 8-byte
 * length, a 4-byte request id, the body (76 bytes).  T0 and T1 are
 * CLOCK_MONOTONIC instants (Python's time.monotonic() on Linux): replies
 * and CPU time are counted inside [T0, T1).  Like the roles of the Python
 * figures, each prints "READY {}" when its peers may start and one
 * "RESULT {...}" line at the end; role.py's pinning is inherited through
 * exec.  Linux only (epoll), as the pinned benchmark is; gcc or clang
 * (their atomic builtins).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME 76
#define MAX_CLIENTS 256

static struct sockaddr_in server_addr;
static double t0, t1;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
sleep_until(double instant)
{
	struct timespec ts = { .tv_sec = (time_t) instant };

	ts.tv_nsec = (long) ((instant - (double) ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		; /* a signal: sleep on */
}

/* The CPU this process spent inside [t0, t1), read by a thread of its own. */
static void *
cpu_window(void *arg)
{
	double *spent = arg, start;

	sleep_until(t0);
	start = cpu_seconds();
	sleep_until(t1);
	*spent = cpu_seconds() - start;
	return NULL;
}

static int
read_frame(int fd, char *buf)
{
	size_t got = 0;

	while (got < FRAME) {
		ssize_t n = recv(fd, buf + got, FRAME - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t) n;
	}
	return 0;
}

static void
no_delay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
serve(void)
{
	int one = 1, ep = epoll_create1(0), ls = socket(AF_INET, SOCK_STREAM, 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls }, evs[256];
	pthread_t sampler;
	double spent = 0;
	char buf[FRAME];

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ep < 0 || bind(ls, (struct sockaddr *) &server_addr, sizeof(server_addr)) != 0 ||
	    listen(ls, MAX_CLIENTS) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) != 0) {
		perror("raw_reqrep server");
		return 1;
	}
	pthread_create(&sampler, NULL, cpu_window, &spent);
	printf("READY {}\n");
	fflush(stdout);
	while (now() < t1) {
		int n = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == ls) {
				int conn = accept(ls, NULL, NULL);
				struct epoll_event cev = { .events = EPOLLIN, .data.fd = conn };

				no_delay(conn);
				epoll_ctl(ep, EPOLL_CTL_ADD, conn, &cev);
			} else if (read_frame(fd, buf) != 0 || send(fd, buf, FRAME, 0) != FRAME) {
				close(fd);
			}
		}
	}
	pthread_join(sampler, NULL);
	printf("RESULT {\"cpu\": %.6f}\n", spent);
	return 0;
}

static long replies[MAX_CLIENTS];

static void *
client(void *arg)
{
	long *mine = arg;
	char buf[FRAME];
	int fd;

	memset(buf, 'x', sizeof(buf));
	/* The server may not listen yet. */
	while ((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0 &&
	    connect(fd, (struct sockaddr *) &server_addr, sizeof(server_addr)) != 0) {
		close(fd);
		usleep(10000);
	}
	no_delay(fd);
	for (;;) {
		double t;

		if (send(fd, buf, FRAME, 0) != FRAME || read_frame(fd, buf) != 0)
			break;
		if ((t = now()) >= t1)
			break;
		if (t >= t0)
			__atomic_add_fetch(mine, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int
clients(int count)
{
	pthread_t threads[MAX_CLIENTS], sampler;
	double spent = 0;
	long total = 0;

	pthread_create(&sampler, NULL, cpu_window, &spent);
	for (int i = 0; i < count; i++)
		pthread_create(&threads[i], NULL, client, &replies[i]);
	printf("READY {}\n");
	fflush(stdout);
	pthread_join(sampler, NULL);
	for (int i = 0; i < count; i++)
		total += __atomic_load_n(&replies[i], __ATOMIC_RELAXED);
	printf("RESULT {\"replies\": %ld, \"cpu\": %.6f}\n", total, spent);
	fflush(stdout);
	_exit(0); /* threads still waiting for a last reply are left so */
}

int
main(int argc, char **argv)
{
	int count = argc > 5 ? atoi(argv[5]) : 0;

	if (argc < 5 || (strcmp(argv[1], "server") != 0 &&
	                    (strcmp(argv[1], "clients") != 0 || count < 1 || count > MAX_CLIENTS))) {
		fprintf(stderr, "usage: raw_reqrep server PORT T0 T1 | clients PORT T0 T1 COUNT(1-%d)\n",
		    MAX_CLIENTS);
		return 2;
	}
	server_addr.sin_family = AF_INET;
	server_addr.sin_port = htons((uint16_t) atoi(argv[2]));
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t0 = atof(argv[3]);
	t1 = atof(argv[4]);
	return argv[1][0] == 's' ? serve() : clients(count);
}
