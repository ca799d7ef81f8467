/*
 * User-level threads (libos-framework/thread.c): what a program calls.
 * Threads of one environment share its slices; at each slice start the
 * chosen sched policy (<libos/sched_impl.h>) decides which runs. All calls
 * are for the environment's own threads, from thread context (not from an
 * upcall handler).
 */
#pragma once

#include <exo/types.h>

struct thread;

/* The cycle counter (rdtsc; instructions under -icount) and its rate per second. */
uint64_t libos_cycles(void);
uint64_t libos_cycles_hz(void);

/* Scheduling attributes; each policy reads the ones it knows. */
struct thread_attr {
	uint32_t prio;	      /* prio: higher runs first (0..THREAD_PRIO_MAX) */
	uint32_t tickets;     /* lottery: share of the CPU, relative (default 100) */
	uint64_t period_us;   /* edf: a job is released every period (0: not periodic) */
	uint64_t budget_us;   /* edf: the job's work, for admission and accounting */
	uint32_t stack_pages; /* 4 KiB pages of stack (default THREAD_STACK_PAGES) */
	const char *name;     /* for dumps; may be NULL */
};

#define THREAD_MAX 256
#define THREAD_PRIO_MAX 255
#define THREAD_STACK_PAGES 2
#define THREAD_STACK_PAGES_MAX 16

/*
 * Start fn(arg) in a new thread (attr NULL: defaults); its handle in *out.
 * E_AGAIN: THREAD_MAX threads exist; E_NOMEM: no frames for its stack;
 * E_INVAL: a bad attribute. The first call turns threads on: from then on
 * the sched policy chosen with sched= (default rr) runs them.
 */
must_check int thread_create(struct thread **out, void (*fn)(void *), void *arg,
			     const struct thread_attr *attr);

/* End the calling thread; join returns value. Ending the main thread ends the program. */
noreturn_fn void thread_exit(uint64_t value);

/* Wait for t to end; its value in *value (may be NULL). E_INVAL: t is the caller or joined. */
must_check int thread_join(struct thread *t, uint64_t *value);

/* Let the policy run another thread (the caller stays runnable). */
void thread_yield(void);

/* Block for at least ns nanoseconds (other threads run; none: the slice goes back). */
void thread_sleep_ns(uint64_t ns);

/* Block until the cycle counter reaches `cycles` (libos_cycles()). */
void thread_sleep_until(uint64_t cycles);

/*
 * Block the calling thread until ready(arg) is true. ready is asked at once,
 * then whenever the framework schedules (a slice start, a thread blocking
 * or yielding; with every thread blocked, after each yield of the slice),
 * inside the framework's critical section: it must not block, and may make
 * only non-blocking system calls. Without threads on, the environment
 * yields its slice until ready. (The IPC runtime waits this way.)
 */
void thread_wait_until(bool (*ready)(void *), void *arg);

/* The calling thread (turning threads on, as thread_create does; NULL if the
 * program runs its own slice handler), its id (1 is main), its attributes. */
struct thread *thread_self(void);
unsigned thread_id(const struct thread *t);
const struct thread_attr *thread_attr_of(const struct thread *t);

/* Cycles t has run so far (its accumulated usage). */
uint64_t thread_cycles(const struct thread *t);

/* Change t's attributes (all but stack_pages); the policy sees the change at once. E_INVAL as create. */
must_check int thread_set_attr(struct thread *t, const struct thread_attr *attr);

/* A periodic thread's current job: when it was released (cycle counter). */
uint64_t thread_job_release(const struct thread *t);

/* The EDF deadline misses counted for t so far. */
uint64_t thread_misses(const struct thread *t);

/*
 * A periodic thread (attr.period_us) ends its job: the next one is released
 * one period after this one was, and the thread sleeps until then. A job
 * that ends after its deadline counts as a miss. Returns the misses so far.
 */
uint64_t thread_job_done(void);

/* Mutex with priority inheritance (the owner runs at its highest waiter's priority). */
struct mutex {
	struct thread *owner;
	struct thread *waiters; /* FIFO, linked through the threads */
};
#define MUTEX_INIT                                                                                 \
	{                                                                                          \
		0                                                                                  \
	}
void mutex_lock(struct mutex *m);
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m); /* by the owner only: else the program ends */

struct cond {
	struct thread *waiters;
};
#define COND_INIT                                                                                  \
	{                                                                                          \
		0                                                                                  \
	}
void cond_wait(struct cond *c, struct mutex *m);
void cond_signal(struct cond *c);
void cond_broadcast(struct cond *c);

struct sem {
	uint64_t count;
	struct thread *waiters;
};
#define SEM_INIT(n)                                                                                \
	{                                                                                          \
		.count = (n)                                                                       \
	}
void sem_wait(struct sem *s);
void sem_post(struct sem *s);
