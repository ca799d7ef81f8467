/*
 * What the host arch files share inside core/arch/host (never included from
 * outside it): fibers (fiber.c) and the simulator's machine state (sim.c),
 * which debug.c and power.c read.
 */
#pragma once

#include <arch/sim.h>
#include <exo/types.h>

/*
 * One execution context with its own stack. The scheduler's context (the
 * caller of sim_run) is a fiber too, with no stack of its own to manage:
 * its stack bounds are learned on the first switch away from it, because
 * ASan needs them to switch back.
 */
struct fiber {
	void *sp;     /* saved stack pointer while switched out */
	uint8_t *map; /* whole mapping: guard page, then the stack; NULL if none */
	size_t map_len;
	const void *stack_lo; /* lowest usable byte of the stack */
	size_t stack_len;
	void (*entry)(void *); /* what a fresh fiber runs; must not return */
	void *arg;
	void *asan_fake; /* ASan's fake stack while switched out */
};

/*
 * Mappings freed, kept for the next request of the same length (a fuzzer
 * makes a machine per input: reusing beats mapping anew and faulting the
 * pages in). The caller zeroes what it takes. Up to 8 kept, each of at
 * most max_bytes.
 */
struct spare_pool {
	size_t max_bytes;
	struct {
		void *map;
		size_t len; /* 0: empty slot */
	} slot[8];
};

/* A kept mapping of exactly len bytes, or NULL. */
void *spare_take(struct spare_pool *pool, size_t len);

/* Keep map for later; false if it is too big or the pool is full (unmap it then). */
bool spare_keep(struct spare_pool *pool, void *map, size_t len);

/* Map a stack of stack_bytes (plus a guard page below it). Panics on failure. */
void fiber_alloc(struct fiber *f, size_t stack_bytes);

/* Unmap f's stack (if any). f must not be running. */
void fiber_free(struct fiber *f);

/* Make f start entry(arg) on its stack at the next switch to it. */
void fiber_prepare(struct fiber *f, void (*entry)(void *), void *arg);

/* Save the running context in from, resume to; returns when someone resumes from. */
void fiber_switch(struct fiber *from, struct fiber *to);

/* As fiber_switch, but from is finished for good: it is never resumed. */
noreturn_fn void fiber_exit(struct fiber *from, struct fiber *to);

/* What a core's fiber is doing. */
enum sim_cpu_state {
	CPU_OFF,      /* never had a fiber */
	CPU_RUNNABLE, /* live: running, or ready to run at the next choice */
	CPU_IDLE,     /* live: blocked in arch_cpu_idle until an IPI is pending */
	CPU_ENDED,    /* its fiber returned or called arch_cpu_stop */
};

struct sim;

/* One simulated core; also the stand-in context used outside any fiber. */
struct sim_cpu {
	struct fiber fiber;
	struct sim *m;
	unsigned id;
	enum sim_cpu_state state;
	bool daemon;          /* sim_run does not wait for it */
	bool irq;             /* interrupt-enable flag (RFLAGS.IF) */
	unsigned pending;     /* bit k: an IPI of kind k waits (one bit per vector) */
	uint64_t cycles;      /* virtual cycle counter */
	uint64_t wake_cycles; /* latest sender clock among pending IPIs */
	uint64_t steps;       /* scheduling points passed */
	uint64_t received;    /* IPIs delivered */
	uint64_t passed_over; /* decisions in a row it was runnable and not chosen */
	uint64_t tlb_flushes; /* arch_tlb_flush_all calls (there is no TLB) */
	uint64_t aspace_root; /* active address space's root, SIM_KERNEL_ASPACE for none */
	struct percpu *percpu;
	void (*fn)(void *);
	void *arg;
};

struct sim {
	unsigned ncores;
	uint64_t cycles_per_step;
	uint64_t starve_limit;
	size_t stack_bytes;
	bool panic_aborts;
	uint64_t rng;   /* splitmix64 state */
	uint64_t steps; /* scheduling decisions so far */
	sim_chooser_fn *chooser;
	void *chooser_ctx;
	unsigned running;    /* core whose fiber runs, or SIM_NO_CORE */
	unsigned prev;       /* core chosen last, or SIM_NO_CORE */
	struct fiber sched;  /* the context of the sim_run caller */
	struct sim_cpu host; /* arch calls made outside any fiber act on this */
	struct sim_cpu cpu[MAX_CPUS];

	uint8_t *phys_map; /* guard page, memory, guard page */
	size_t phys_map_len;
	uint8_t *phys;
	size_t phys_bytes;

	/* The disk stand-in (disk.c): blocks of BLOCK_SIZE, requests pending until polled. */
	uint64_t disk_blocks;
	uint8_t *disk;
	struct sim_disk_req {
		unsigned tag;
		bool write;
		uint64_t block, pa;
	} disk_pending[64];
	unsigned disk_npending;
	uint64_t disk_fail_block; /* a request to this block fails (E_IO); ~0: none */

	struct percpu *saved_percpu; /* percpu_table as it was before sim_init */
	unsigned saved_ncpus;
};

/* Machines, innermost last; machine 0 is the bare host (no sim_init yet). */
extern struct sim sim_machines[SIM_MAX_DEPTH + 1];
extern unsigned sim_depth;

static inline struct sim *sim_top(void)
{
	return &sim_machines[sim_depth];
}

/* The context arch calls act on: the running core, or the outside stand-in. */
static inline struct sim_cpu *sim_cur(struct sim *m)
{
	return m->running == SIM_NO_CORE ? &m->host : &m->cpu[m->running];
}

/* Does any live machine want panics to abort()? */
bool sim_panic_aborts(void);

/* The fiber stack holding addr, if it is one: its bounds in *lo, *hi. */
bool sim_fiber_stack(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
