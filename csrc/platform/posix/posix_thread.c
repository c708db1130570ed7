/* posix_thread.c: locks, condition variables, threads, clock, randomness. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../platform.h"

/*
 * Deadlines are monotonic, so a wall-clock jump never stretches a wait.  A
 * condition variable keeps to the monotonic clock where POSIX clock
 * selection is there (pthread_condattr_setclock); macOS lacks it and has a
 * wait for a relative time instead, which no wall-clock jump moves; any other
 * system waits for the same distance ahead on the wall clock.
 */
#if defined(_POSIX_CLOCK_SELECTION) && _POSIX_CLOCK_SELECTION > 0
#define CV_MONOTONIC 1
#elif defined(__APPLE__) /* no macro announces the _np call */
#define CV_RELATIVE 1
#endif

void
pnc_mtx_init(pnc_mtx *m)
{
	pthread_mutex_init(m, NULL);
}

void
pnc_mtx_fini(pnc_mtx *m)
{
	pthread_mutex_destroy(m);
}

void
pnc_mtx_lock(pnc_mtx *m)
{
	pthread_mutex_lock(m);
}

void
pnc_mtx_unlock(pnc_mtx *m)
{
	pthread_mutex_unlock(m);
}

void
pnc_cv_init(pnc_cv *cv)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
#ifdef CV_MONOTONIC
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
#endif
	pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
}

void
pnc_cv_fini(pnc_cv *cv)
{
	pthread_cond_destroy(cv);
}

/* The monotonic deadline until_ms as the time the wait below takes. */
static struct timespec
cv_timeout(int64_t until_ms)
{
	int64_t ms = until_ms;

#ifndef CV_MONOTONIC
	ms -= pnc_clock_ms();
	if (ms < 0)
		ms = 0;
#ifndef CV_RELATIVE
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	ms += (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
#endif
#endif
	return (struct timespec) { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
}

void
pnc_cv_wait_until(pnc_cv *cv, pnc_mtx *m, int64_t until_ms)
{
	struct timespec ts;

	if (until_ms == INT64_MAX) {
		pthread_cond_wait(cv, m);
		return;
	}
	ts = cv_timeout(until_ms);
#ifdef CV_RELATIVE
	pthread_cond_timedwait_relative_np(cv, m, &ts);
#else
	pthread_cond_timedwait(cv, m, &ts);
#endif
}

void
pnc_cv_wake(pnc_cv *cv)
{
	pthread_cond_broadcast(cv);
}

void
pnc_cv_wake_one(pnc_cv *cv)
{
	pthread_cond_signal(cv);
}

struct thread_start {
	void (*fn)(void *);
	void *arg;
};

static void *
thread_main(void *p)
{
	struct thread_start ts = *(struct thread_start *) p;

	free(p);
	ts.fn(ts.arg);
	return NULL;
}

int
pnc_thread_start(pnc_thread *t, void (*fn)(void *), void *arg)
{
	struct thread_start *ts;
	sigset_t all, old;
	int rv;

	if ((ts = malloc(sizeof(*ts))) == NULL)
		return PNC_ENOMEM;
	ts->fn = fn;
	ts->arg = arg;
	/* The new thread inherits this mask: Ctrl-C must reach Python's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rv = pthread_create(t, NULL, thread_main, ts);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rv != 0) {
		free(ts);
		return PNC_ENOMEM;
	}
	return 0;
}

void
pnc_thread_join(pnc_thread *t)
{
	pthread_join(*t, NULL);
}

int
pnc_thread_is_self(const pnc_thread *t)
{
	return pthread_equal(*t, pthread_self());
}

void
pnc_thread_self(pnc_thread *t)
{
	*t = pthread_self();
}

void
pnc_atfork_child(void (*fn)(void))
{
	pthread_atfork(NULL, NULL, fn);
}

int
pnc_process_id(void)
{
	return (int) getpid();
}

int64_t
pnc_clock_ms(void)
{
	return pnc_clock_ns() / 1000000;
}

int64_t
pnc_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
pnc_thread_yield(void)
{
	sched_yield();
}

uint32_t
pnc_random(void)
{
	/* One sequence for the process, advanced atomically (no per-thread
	 * state: a thread-local in a loaded module is what ThreadSanitizer
	 * cannot follow as glibc frees a finished thread's block). */
	static PNC_ALIGN8 uint64_t seed;
	uint64_t z = pnc_atomic_load_relaxed_u64(&seed);

	if (z == 0) {
		struct timespec ts;
		uint64_t start;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		start = (((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) ts.tv_sec ^
		    (uint64_t) getpid()) | 1;
		(void) pnc_atomic_cas_u64(&seed, &z, start);
	}
	/* splitmix64: jitter and id seeds need spread, not secrecy. */
	z = pnc_atomic_add_u64(&seed, 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return (uint32_t) ((z ^ (z >> 31)) >> 32);
}
