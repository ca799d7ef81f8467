/*
 * Ticket spinlocks, annotated for clang's -Wthread-safety. Never global:
 * the console's, one per environment (its address space), and the striped
 * capability-tree locks (cap.c); everything else is per-core state and
 * atomics (docs/design.md: no global kernel lock).
 *
 * What -Wthread-safety can check in C: a function that needs a lock held
 * says REQUIRES(e->lock) (uaccess.h's _locked calls), and a global may be
 * GUARDED_BY a global lock. A struct field cannot name its sibling lock
 * (clang parses member attributes late only in C++), so env.h's fields say
 * their lock in a comment. The capability-tree locks are striped and handed
 * back through an out-parameter (cap.c's slot_lock), which the analysis
 * cannot follow: cap.c takes them through unannotated wrappers.
 */
#pragma once

#include <arch/cpu.h>
#include <exo/types.h>

#define CAPABILITY(x) __attribute__((capability(x)))
#define ACQUIRE(...) __attribute__((acquire_capability(__VA_ARGS__)))
#define RELEASE(...) __attribute__((release_capability(__VA_ARGS__)))
#define TRY_ACQUIRE(...) __attribute__((try_acquire_capability(__VA_ARGS__)))
#define REQUIRES(...) __attribute__((requires_capability(__VA_ARGS__)))
#define GUARDED_BY(x) __attribute__((guarded_by(x)))
#define NO_THREAD_SAFETY_ANALYSIS __attribute__((no_thread_safety_analysis))

struct CAPABILITY("spinlock") spinlock {
	uint32_t next;	  /* next ticket to hand out */
	uint32_t serving; /* ticket now holding the lock */
};

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(struct spinlock *l) ACQUIRE(*l) NO_THREAD_SAFETY_ANALYSIS
{
	uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != me)
		arch_cpu_relax();
}

static inline void spin_unlock(struct spinlock *l) RELEASE(*l) NO_THREAD_SAFETY_ANALYSIS
{
	__atomic_store_n(&l->serving, __atomic_load_n(&l->serving, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELEASE);
}

/* Take the lock only if free now; true if taken. */
static inline bool spin_trylock(struct spinlock *l) TRY_ACQUIRE(true, *l) NO_THREAD_SAFETY_ANALYSIS
{
	uint32_t s = __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
	uint32_t expect = s;
	return __atomic_compare_exchange_n(&l->next, &expect, s + 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}
