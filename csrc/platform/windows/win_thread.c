/* win_thread.c: SRW locks, condition variables, threads, clock, randomness. */
#include <process.h>
#include <stdlib.h>

#include "../platform.h"

void
pnc_mtx_init(pnc_mtx *m)
{
	InitializeSRWLock(m);
}

void
pnc_mtx_fini(pnc_mtx *m)
{
	(void) m; /* an SRW lock owns no kernel object */
}

void
pnc_mtx_lock(pnc_mtx *m)
{
	AcquireSRWLockExclusive(m);
}

void
pnc_mtx_unlock(pnc_mtx *m)
{
	ReleaseSRWLockExclusive(m);
}

void
pnc_cv_init(pnc_cv *cv)
{
	InitializeConditionVariable(cv);
}

void
pnc_cv_fini(pnc_cv *cv)
{
	(void) cv;
}

void
pnc_cv_wait_until(pnc_cv *cv, pnc_mtx *m, int64_t until_ms)
{
	DWORD ms = INFINITE;

	if (until_ms != INT64_MAX) {
		int64_t left = until_ms - pnc_clock_ms();
		/* Below INFINITE (0xFFFFFFFF): a long deadline wakes early, harmlessly. */
		ms = left <= 0 ? 0 : left >= 0x7FFFFFFF ? 0x7FFFFFFF : (DWORD) left;
	}
	(void) SleepConditionVariableSRW(cv, m, ms, 0);
}

void
pnc_cv_wake(pnc_cv *cv)
{
	WakeAllConditionVariable(cv);
}

void
pnc_cv_wake_one(pnc_cv *cv)
{
	WakeConditionVariable(cv);
}

struct thread_start {
	void (*fn)(void *);
	void *arg;
};

static unsigned __stdcall
thread_main(void *p)
{
	struct thread_start ts = *(struct thread_start *) p;

	free(p);
	ts.fn(ts.arg);
	return 0;
}

/*
 * _beginthreadex, not CreateThread: the C runtime sets up its per-thread
 * state.  No signal mask to set: Windows delivers Ctrl-C on a thread of its
 * own, and Python's handler takes it from there.
 */
int
pnc_thread_start(pnc_thread *t, void (*fn)(void *), void *arg)
{
	struct thread_start *ts;
	unsigned id;
	uintptr_t h;

	if ((ts = malloc(sizeof(*ts))) == NULL)
		return PNC_ENOMEM;
	ts->fn = fn;
	ts->arg = arg;
	if ((h = _beginthreadex(NULL, 0, thread_main, ts, 0, &id)) == 0) {
		free(ts);
		return PNC_ENOMEM;
	}
	t->handle = (HANDLE) h;
	t->id = id;
	return 0;
}

void
pnc_thread_join(pnc_thread *t)
{
	WaitForSingleObject(t->handle, INFINITE);
	CloseHandle(t->handle);
	t->handle = NULL;
}

int
pnc_thread_is_self(const pnc_thread *t)
{
	return t->id == GetCurrentThreadId();
}

void
pnc_thread_self(pnc_thread *t)
{
	t->handle = NULL; /* never joined: only compared */
	t->id = GetCurrentThreadId();
}

void
pnc_atfork_child(void (*fn)(void))
{
	(void) fn; /* Windows has no fork() */
}

int
pnc_process_id(void)
{
	return (int) GetCurrentProcessId();
}

int64_t
pnc_clock_ms(void)
{
	return pnc_clock_ns() / 1000000;
}

int64_t
pnc_clock_ns(void)
{
	static LARGE_INTEGER freq; /* fixed at boot: racing first callers agree */
	LARGE_INTEGER now;

	if (freq.QuadPart == 0)
		QueryPerformanceFrequency(&freq);
	QueryPerformanceCounter(&now);
	/* Whole seconds and the rest apart, so the product cannot overflow. */
	return (now.QuadPart / freq.QuadPart) * 1000000000 +
	    (now.QuadPart % freq.QuadPart) * 1000000000 / freq.QuadPart;
}

void
pnc_thread_yield(void)
{
	SwitchToThread();
}

uint32_t
pnc_random(void)
{
	/* One sequence for the process, advanced atomically, as on POSIX. */
	static volatile LONG64 seed;
	uint64_t z = (uint64_t) seed;

	if (z == 0) {
		LARGE_INTEGER now;

		QueryPerformanceCounter(&now);
		z = ((uint64_t) now.QuadPart << 20) ^ (uint64_t) GetCurrentProcessId();
		(void) InterlockedCompareExchange64(&seed, (LONG64) (z | 1), 0);
	}
	/* splitmix64: jitter and id seeds need spread, not secrecy. */
	z = (uint64_t) InterlockedAdd64(&seed, (LONG64) 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return (uint32_t) ((z ^ (z >> 31)) >> 32);
}
