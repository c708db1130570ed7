/*
 * pnc_atomic.h: the one place that knows the compiler's atomics and
 * alignment syntax.  The core and _hotpath.c use only these names, so that
 * they build with GCC and clang (the __atomic builtins) and with MSVC (the
 * _Interlocked intrinsics).
 *
 * T is one of: int, uint (unsigned), size (size_t), u64 (uint64_t, 8-byte
 * aligned: see PNC_ALIGN8) and ptr (any object pointer: macros, so no casts
 * at the call).
 *
 *   pnc_atomic_load_relaxed_T(p)      pnc_atomic_store_relaxed_T(p, v)
 *   pnc_atomic_load_acquire_T(p)      pnc_atomic_store_release_T(p, v)
 *   pnc_atomic_add_T(p, n), pnc_atomic_sub_T(p, n)   (not ptr)
 *       relaxed, the new value: counters, ids, statistics; they order
 *       nothing else, so they never publish data.
 *   pnc_atomic_inc(int *p), pnc_atomic_dec(int *p)
 *       acquire-release, the new value: reference counts, whose last
 *       holder must see every other holder's writes before it frees.
 *   pnc_atomic_swap_T(p, v)           acquire-release; the old value.
 *   pnc_atomic_cas_T(p, &expected, desired)
 *       strong, acquire-release; 1 if *p was expected and is now desired,
 *       else 0 with *p's value in expected.
 *
 * Stronger than asked is always allowed: the MSVC branch's read-modify-
 * writes are full barriers.  Define PNC_ATOMIC_INTERLOCKED to build that
 * branch with another compiler that has <intrin.h> (mingw-w64), which is
 * how it is tested without MSVC (PNC_WIN_CFLAGS in .ci/windows.py).
 */
#ifndef PNC_ATOMIC_H
#define PNC_ATOMIC_H

#include <stddef.h>
#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__) && !defined(PNC_ATOMIC_INTERLOCKED)
#define PNC_ATOMIC_INTERLOCKED
#endif

/*
 * A 64-bit atomic needs 8-byte alignment, which i386 does not give uint64_t
 * by itself: PNC_ALIGN8 goes on every uint64_t field or static that the u64
 * operations touch (on a struct, for all its fields).  They take it as
 * given, through pnc_u64_aligned, so that the compiler inlines them (i386
 * has cmpxchg8b) instead of calling libatomic's locked ones.
 */
#if defined(_MSC_VER) && !defined(__clang__)
#define PNC_ALIGN8 __declspec(align(8))
typedef uint64_t pnc_u64_aligned; /* MSVC aligns uint64_t to 8 already */
#else
#define PNC_ALIGN8 _Alignas(8)
typedef uint64_t pnc_u64_aligned __attribute__((aligned(8)));
#endif

#ifndef PNC_ATOMIC_INTERLOCKED

/* A: T as the atomic accesses it (the same type, perhaps more aligned). */
#define PNC_ATOMIC_OPS_(name, T, A)                                               \
	static inline T pnc_atomic_load_relaxed_##name(const T *p)                \
	{                                                                         \
		return __atomic_load_n((const A *) p, __ATOMIC_RELAXED);          \
	}                                                                         \
	static inline T pnc_atomic_load_acquire_##name(const T *p)                \
	{                                                                         \
		return __atomic_load_n((const A *) p, __ATOMIC_ACQUIRE);          \
	}                                                                         \
	static inline void pnc_atomic_store_relaxed_##name(T *p, T v)             \
	{                                                                         \
		__atomic_store_n((A *) p, v, __ATOMIC_RELAXED);                   \
	}                                                                         \
	static inline void pnc_atomic_store_release_##name(T *p, T v)             \
	{                                                                         \
		__atomic_store_n((A *) p, v, __ATOMIC_RELEASE);                   \
	}                                                                         \
	static inline T pnc_atomic_add_##name(T *p, T n)                          \
	{                                                                         \
		return __atomic_add_fetch((A *) p, n, __ATOMIC_RELAXED);          \
	}                                                                         \
	static inline T pnc_atomic_sub_##name(T *p, T n)                          \
	{                                                                         \
		return __atomic_sub_fetch((A *) p, n, __ATOMIC_RELAXED);          \
	}                                                                         \
	static inline T pnc_atomic_swap_##name(T *p, T v)                         \
	{                                                                         \
		return __atomic_exchange_n((A *) p, v, __ATOMIC_ACQ_REL);         \
	}                                                                         \
	static inline int pnc_atomic_cas_##name(T *p, T *expected, T desired)     \
	{                                                                         \
		return __atomic_compare_exchange_n((A *) p, expected, desired, 0, \
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);                          \
	}

PNC_ATOMIC_OPS_(int, int, int)
PNC_ATOMIC_OPS_(uint, unsigned, unsigned)
PNC_ATOMIC_OPS_(size, size_t, size_t)
PNC_ATOMIC_OPS_(u64, uint64_t, pnc_u64_aligned)

static inline int pnc_atomic_inc(int *p) { return __atomic_add_fetch(p, 1, __ATOMIC_ACQ_REL); }
static inline int pnc_atomic_dec(int *p) { return __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL); }

/* The builtins take any pointer type as it is. */
#define pnc_atomic_load_relaxed_ptr(pp) __atomic_load_n((pp), __ATOMIC_RELAXED)
#define pnc_atomic_load_acquire_ptr(pp) __atomic_load_n((pp), __ATOMIC_ACQUIRE)
#define pnc_atomic_store_relaxed_ptr(pp, v) __atomic_store_n((pp), (v), __ATOMIC_RELAXED)
#define pnc_atomic_store_release_ptr(pp, v) __atomic_store_n((pp), (v), __ATOMIC_RELEASE)
#define pnc_atomic_swap_ptr(pp, v) __atomic_exchange_n((pp), (v), __ATOMIC_ACQ_REL)
#define pnc_atomic_cas_ptr(pp, expp, desired) \
	__atomic_compare_exchange_n((pp), (expp), (desired), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

#else /* PNC_ATOMIC_INTERLOCKED */

#include <intrin.h>
#if !defined(_MSC_VER) && (defined(__aarch64__) || defined(__arm__))
#include <arm_acle.h> /* __dmb, which MSVC's <intrin.h> declares itself */
#endif

/*
 * Plain loads and stores are volatile accesses of aligned words, which are
 * single-copy atomic.  Ordering them: x86 and x64 keep loads after loads and
 * stores after stores, so acquire and release need only the compiler held
 * back; ARM64 reorders everything (MSVC's /volatile:iso gives volatile no
 * order there), so a full barrier (dmb ish) goes beside the access.
 */
#if defined(_M_ARM64) || defined(_M_ARM) || defined(__aarch64__) || defined(__arm__)
#define PNC_ATOMIC_FENCE_() __dmb(0xB) /* _ARM64_BARRIER_ISH */
#else
#define PNC_ATOMIC_FENCE_() _ReadWriteBarrier()
#endif

/* Where a volatile 64-bit access is one instruction; elsewhere (x86) it
 * may tear, so 64-bit values go through _InterlockedCompareExchange64. */
#if defined(_M_X64) || defined(_M_ARM64) || defined(__x86_64__) || defined(__aarch64__)
#define PNC_ATOMIC_WIDE64_ 1
#else
#define PNC_ATOMIC_WIDE64_ 0
#endif

/* The plain intrinsics' old value; the casts are between same-size types. */
#define PNC_ATOMIC_OPS_(name, T, W, XADD, XCHG, CMPXCHG)                          \
	static inline T pnc_atomic_load_relaxed_##name(const T *p)                \
	{                                                                         \
		return *(const volatile T *) p;                                   \
	}                                                                         \
	static inline T pnc_atomic_load_acquire_##name(const T *p)                \
	{                                                                         \
		T v = *(const volatile T *) p;                                    \
		PNC_ATOMIC_FENCE_();                                              \
		return v;                                                         \
	}                                                                         \
	static inline void pnc_atomic_store_relaxed_##name(T *p, T v)             \
	{                                                                         \
		*(volatile T *) p = v;                                            \
	}                                                                         \
	static inline void pnc_atomic_store_release_##name(T *p, T v)             \
	{                                                                         \
		PNC_ATOMIC_FENCE_();                                              \
		*(volatile T *) p = v;                                            \
	}                                                                         \
	static inline T pnc_atomic_add_##name(T *p, T n)                          \
	{                                                                         \
		return (T) ((T) XADD((volatile W *) p, (W) n) + n);               \
	}                                                                         \
	static inline T pnc_atomic_sub_##name(T *p, T n)                          \
	{                                                                         \
		return pnc_atomic_add_##name(p, (T) ((T) 0 - n));                 \
	}                                                                         \
	static inline T pnc_atomic_swap_##name(T *p, T v)                         \
	{                                                                         \
		return (T) XCHG((volatile W *) p, (W) v);                         \
	}                                                                         \
	static inline int pnc_atomic_cas_##name(T *p, T *expected, T desired)     \
	{                                                                         \
		T old = (T) CMPXCHG((volatile W *) p, (W) desired, (W) *expected); \
                                                                                  \
		if (old == *expected)                                             \
			return 1;                                                 \
		*expected = old;                                                  \
		return 0;                                                         \
	}

PNC_ATOMIC_OPS_(int, int, long, _InterlockedExchangeAdd, _InterlockedExchange,
    _InterlockedCompareExchange)
PNC_ATOMIC_OPS_(uint, unsigned, long, _InterlockedExchangeAdd, _InterlockedExchange,
    _InterlockedCompareExchange)

#if PNC_ATOMIC_WIDE64_
PNC_ATOMIC_OPS_(u64, uint64_t, __int64, _InterlockedExchangeAdd64,
    _InterlockedExchange64, _InterlockedCompareExchange64)
#else
static inline uint64_t
pnc_atomic_cas64_(uint64_t *p, uint64_t expected, uint64_t desired)
{
	return (uint64_t) _InterlockedCompareExchange64((volatile __int64 *) p,
	    (__int64) desired, (__int64) expected);
}
/* A compare-exchange that expects what *p is likely not (0 for 0) reads
 * all 8 bytes at once and changes nothing. */
static inline uint64_t pnc_atomic_load_relaxed_u64(const uint64_t *p)
{
	return pnc_atomic_cas64_((uint64_t *) p, 0, 0);
}
static inline uint64_t pnc_atomic_load_acquire_u64(const uint64_t *p)
{
	return pnc_atomic_cas64_((uint64_t *) p, 0, 0);
}
static inline uint64_t
pnc_atomic_swap_u64(uint64_t *p, uint64_t v)
{
	uint64_t old = pnc_atomic_load_relaxed_u64(p), seen;

	while ((seen = pnc_atomic_cas64_(p, old, v)) != old)
		old = seen;
	return old;
}
static inline void pnc_atomic_store_relaxed_u64(uint64_t *p, uint64_t v)
{
	(void) pnc_atomic_swap_u64(p, v);
}
static inline void pnc_atomic_store_release_u64(uint64_t *p, uint64_t v)
{
	(void) pnc_atomic_swap_u64(p, v);
}
static inline uint64_t
pnc_atomic_add_u64(uint64_t *p, uint64_t n)
{
	uint64_t old = pnc_atomic_load_relaxed_u64(p), seen;

	while ((seen = pnc_atomic_cas64_(p, old, old + n)) != old)
		old = seen;
	return old + n;
}
static inline uint64_t pnc_atomic_sub_u64(uint64_t *p, uint64_t n)
{
	return pnc_atomic_add_u64(p, 0 - n);
}
static inline int
pnc_atomic_cas_u64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
	uint64_t old = pnc_atomic_cas64_(p, *expected, desired);

	if (old == *expected)
		return 1;
	*expected = old;
	return 0;
}
#endif

#ifdef _WIN64
PNC_ATOMIC_OPS_(size, size_t, __int64, _InterlockedExchangeAdd64, _InterlockedExchange64,
    _InterlockedCompareExchange64)
#else
PNC_ATOMIC_OPS_(size, size_t, long, _InterlockedExchangeAdd, _InterlockedExchange,
    _InterlockedCompareExchange)
#endif

static inline int pnc_atomic_inc(int *p) { return (int) _InterlockedIncrement((volatile long *) p); }
static inline int pnc_atomic_dec(int *p) { return (int) _InterlockedDecrement((volatile long *) p); }

/* Pointers go through void *: the macros cast at the call, so it need not. */
static inline void *pnc_atomic_load_relaxed_ptr_(void *const *pp)
{
	return *(void *const volatile *) pp;
}
static inline void *pnc_atomic_load_acquire_ptr_(void *const *pp)
{
	void *v = *(void *const volatile *) pp;

	PNC_ATOMIC_FENCE_();
	return v;
}
static inline void pnc_atomic_store_relaxed_ptr_(void **pp, void *v)
{
	*(void *volatile *) pp = v;
}
static inline void pnc_atomic_store_release_ptr_(void **pp, void *v)
{
	PNC_ATOMIC_FENCE_();
	*(void *volatile *) pp = v;
}
static inline int pnc_atomic_cas_ptr_(void **pp, void **expected, void *desired)
{
	void *old = _InterlockedCompareExchangePointer((void *volatile *) pp, desired, *expected);

	if (old == *expected)
		return 1;
	*expected = old;
	return 0;
}
#define pnc_atomic_load_relaxed_ptr(pp) pnc_atomic_load_relaxed_ptr_((void *const *) (pp))
#define pnc_atomic_load_acquire_ptr(pp) pnc_atomic_load_acquire_ptr_((void *const *) (pp))
#define pnc_atomic_store_relaxed_ptr(pp, v) pnc_atomic_store_relaxed_ptr_((void **) (pp), (v))
#define pnc_atomic_store_release_ptr(pp, v) pnc_atomic_store_release_ptr_((void **) (pp), (v))
#define pnc_atomic_swap_ptr(pp, v) \
	_InterlockedExchangePointer((void *volatile *) (pp), (v))
#define pnc_atomic_cas_ptr(pp, expp, desired) \
	pnc_atomic_cas_ptr_((void **) (pp), (void **) (expp), (desired))

#endif /* PNC_ATOMIC_INTERLOCKED */

#endif
