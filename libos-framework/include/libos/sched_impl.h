/*
 * What a sched policy implements (policies/sched/<name>.c). The public
 * side is <libos/sched.h>; docs/policies.md walks through a whole policy.
 *
 * The framework owns the threads and calls the policy with its critical
 * section held, never concurrently. A runnable thread is either running
 * or queued in the policy: enqueue hands it over, pick takes one back.
 * A policy keeps its own state in its file and may use the fields of
 * struct thread marked "policy" as it likes; everything else is read-only.
 */
#pragma once

#include <exo/abi.h>
#include <libos/policy.h>
#include <libos/sched.h>

enum thread_state {
	THREAD_FREE = 0,
	THREAD_RUNNABLE, /* queued in the policy, or running (the framework's `current`) */
	THREAD_BLOCKED,	 /* on a mutex, cond, sem or join */
	THREAD_SLEEPING, /* until wake_at */
	THREAD_EXITED,	 /* until joined */
};

struct thread {
	/* Framework: read-only to policies. */
	unsigned id;
	enum thread_state state;
	struct thread_attr attr;
	uint32_t eff_prio;    /* attr.prio, raised by priority inheritance */
	uint64_t ran;	      /* cycles run in all */
	uint64_t ready_since; /* cycle counter when last queued */
	uint64_t release;     /* periodic: the current job's release (cycles) */
	uint64_t deadline;    /* periodic: the current job's deadline (cycles), else 0 */
	uint64_t misses;      /* periodic: jobs ended after their deadline */
	bool queued;	      /* handed to the policy by enqueue, not yet picked */

	/* Policy: free for the policy of the moment (zeroed at each enqueue after a swap). */
	struct thread *pnext, *pprev;
	uint64_t pv[4];

	/* Framework internals. */
	struct user_regs regs __attribute__((aligned(16)));
	uint8_t fx[512] __attribute__((aligned(16))); /* FXSAVE image */
	uint64_t wake_at, retval, stack_va, stack_slots;
	bool saved_by_switch;  /* regs hold only what libos_ctx_save keeps */
	struct thread *wnext;  /* next on a wait list */
	struct thread *joiner; /* blocked in join on this thread */
	struct mutex *blocked_on;
	bool (*wait_ready)(void *); /* thread_wait_until: blocked until it says true */
	void *wait_arg;
	void (*fn)(void *);
	void *arg;
	uint32_t stack_frames[THREAD_STACK_PAGES_MAX];
	uint32_t stack_npages;
	bool joined;
};

struct sched_ops {
	struct policy_info info; /* .kind = POLICY_SCHED */
	/*
	 * Start with the parameters (params[i] is info.params[i]'s value) and an
	 * empty queue. May refuse (a negative error): the framework keeps the
	 * policy it had. Required.
	 */
	int (*init)(const uint64_t *params);
	/* t became runnable (created, woken, preempted, yielded): queue it. Required. */
	void (*enqueue)(struct thread *t, uint64_t now);
	/* Take t off the queue (its attributes change). Required. */
	void (*dequeue)(struct thread *t);
	/*
	 * The thread to run next, taken off the queue; NULL only if none is
	 * queued. The framework checks the answer: a thread that is not queued
	 * is a misbehaving policy (swapped out for the default). Required.
	 */
	struct thread *(*pick)(uint64_t now);
	/* t ran `cycles` since it was picked; it is not queued. Optional. */
	void (*charge)(struct thread *t, uint64_t cycles);
	/* Forget every thread (the queue is empty by then: swap out). Optional. */
	void (*fini)(void);
};

/* The default sched policy's name: what a misbehaving policy is replaced with. */
#define SCHED_DEFAULT "rr"

/* A cheap seeded random stream for policies (xorshift64*); state must not be 0. */
static inline uint64_t libos_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/*
 * A queue of threads linked through their pnext/pprev, for policies that
 * keep one or several. Inserting before a given thread (NULL: at the tail)
 * lets a policy keep a queue ordered by its own key: walk to the first
 * thread that sorts after the new one.
 */
struct sched_list {
	struct thread *head, *tail;
};

static inline void sched_list_insert(struct sched_list *l, struct thread *t, struct thread *before)
{
	t->pnext = before;
	t->pprev = before ? before->pprev : l->tail;
	if (t->pprev)
		t->pprev->pnext = t;
	else
		l->head = t;
	if (before)
		before->pprev = t;
	else
		l->tail = t;
}

static inline void sched_list_remove(struct sched_list *l, struct thread *t)
{
	if (t->pprev)
		t->pprev->pnext = t->pnext;
	else
		l->head = t->pnext;
	if (t->pnext)
		t->pnext->pprev = t->pprev;
	else
		l->tail = t->pprev;
	t->pnext = t->pprev = NULL;
}

/* The head, taken off; NULL if empty. */
static inline struct thread *sched_list_pop(struct sched_list *l)
{
	struct thread *t = l->head;
	if (t)
		sched_list_remove(l, t);
	return t;
}
