/*
 * struct percpu — all of one kernel instance's state (docs/design.md: one kernel
 * instance per core). Each field says who may touch it: "own" fields are
 * touched only by the owning core, so need no lock; "atomic" fields are read
 * by other cores and changed with atomics only.
 *
 * Reached only through this_cpu() and percpu_of(core).
 */
#pragma once

#include <arch/percpu.h>
#include <exo/types.h>

struct env;

struct percpu {
	struct percpu *self;	/* own: first word, read through the GS base */
	struct arch_percpu arch; /* own: registers, stacks, descriptor tables (second: asm offsets) */
	unsigned id;		/* own, set before the core starts: core id 0..MAX_CPUS-1 */
	bool online;	/* atomic: set by the core itself when it reports in */
	uint64_t online_cycles; /* own: cycle counter when it reported in */

	/* IPI ping-pong (percpu/ipi.c) */
	uint64_t pongs;	     /* atomic: IPI_PONGs received */
	uint64_t pings;	     /* atomic: IPI_PINGs answered */
	uint64_t ping_pending; /* atomic: bit c set: core c awaits a pong from us */
	uint64_t ipi_count[8]; /* atomic: IPIs received, by kind */

	uint64_t timer_fired; /* atomic: timer expiries on this core */
	uint64_t halts;	      /* atomic: times the idle loop halted, nothing to do */
	uint64_t chan_pongs;  /* atomic: CHAN_PONG messages received */
	uint64_t tlb_req;     /* atomic: TLB flushes asked of this core */
	uint64_t tlb_done;    /* atomic: the last request it completed */

	/* cross-call: run a function on this core (percpu/ipi.c) */
	void (*call_fn)(void *arg); /* atomic: set by the caller, cleared when done */
	void *call_arg;			     /* written by the caller before call_fn */

	/* environments homed here (core/sched.c) */
	struct env *run_head, *run_tail; /* own: runnable, round robin */
	struct env *inbox;		  /* atomic: started elsewhere, not yet queued */
	struct env *current;		  /* own: running in user mode now, or NULL */
	bool exiting;			  /* own: current has exited (sched.c publishes it) */
	struct env *reap;		  /* own: doomed environments to destroy (env.c) */
	bool revoke_check;		  /* atomic: a revocation for an env homed here may be pending */
	uint64_t revoke_envs[4]; /* atomic: bit id: env id's request may be pending (MAX_ENVS) */

	/* time: the slice vector (core/slice.c) and its use (core/sched.c) */
	struct env *slot_owner[64]; /* atomic: who owns each slot; NULL: free */
	uint64_t slot_gen[64];	    /* atomic: bumped whenever a slot is freed */
	unsigned slot_next;	    /* own: the slot whose slice starts next */
	bool preempt;		    /* own: the slice is over: leave user mode when possible */
	struct env *donate;	    /* own: directed yield: run this one next, same slice */
	uint64_t xcall_kicks;	    /* own: user mode left to serve another core's request */
	uint64_t slice_start;	    /* own: cycle count when the running slice began */

	/* free-frame hints (core/frame.c) */
	uint64_t frame_pool[64]; /* own: frames that were free when last seen */
	unsigned frame_pool_n;	 /* own */

	/* console line buffer (core/kprintf.c) */
	char line[1024];   /* own: long enough for a program's figure line (docs/protocol.md) */
	unsigned line_len; /* own */

	/* exception recovery for tests (arch traps): expected vector, or -1 */
	int expect_vector;     /* own */
	uintptr_t expect_resume; /* own: where to resume after the expected fault */
	uint64_t fault_error;	 /* own: error code of the caught fault */
	uint64_t fault_addr;	 /* own: CR2 (or 0) of the caught fault */
	int fault_vector;	 /* own: vector of the caught fault, -1 none */

} __attribute__((aligned(CACHE_LINE)));

_Static_assert(sizeof(struct percpu) <= 4096, "struct percpu must fit a page");

extern struct percpu percpu_table[MAX_CPUS];

/* This core's percpu struct. */
static inline struct percpu *this_cpu(void) { return arch_this_cpu(); }

/* Core id of the running core. */
static inline unsigned cpu_id(void) { return this_cpu()->id; }

/* A core's percpu struct; core < MAX_CPUS. */
static inline struct percpu *percpu_of(unsigned core) { return &percpu_table[core]; }

/* Number of cores that have reported in, and the number the kernel will use. */
unsigned percpu_online_count(void);
extern unsigned percpu_ncpus; /* set once by the boot core before APs start */

/* Set up core's struct (id, self pointer) before it runs. */
void percpu_init(unsigned core);

/* Called by a core when it is ready: marks it online. */
void percpu_report_in(void);
