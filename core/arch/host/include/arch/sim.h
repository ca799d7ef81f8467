/*
 * arch/sim.h — the host simulator's own API (host-only: the kernel has no
 * such header). It stands in for the machine under the arch_* interface so
 * core/, percpu/ and the libOS run natively in unit tests and under
 * libFuzzer. README.md in core/arch/host says what it models and what not.
 *
 * A machine has ncores simulated cores. Each core runs at most one fiber
 * (a function on its own stack). Exactly one fiber runs at a time; it runs
 * until a scheduling point — arch_cpu_relax(), arch_cpu_idle(), sim_yield()
 * — where the machine's chooser picks the core that runs next. The default
 * chooser draws from a PRNG seeded by sim_config.seed, so a seed names an
 * interleaving: same seed, same program, same run, bit for bit.
 *
 *	sim_init(&(struct sim_config){ .ncores = 2, .seed = 7 });
 *	sim_start(0, producer, &q);
 *	sim_start_daemon(1, consumer_loop, &q);
 *	int e = sim_run(100000); // 0, E_TIMEOUT (step limit) or E_AGAIN (deadlock)
 *	sim_fini();
 *
 * Machines nest: sim_init while another machine exists (say, in a test
 * body that runs on a core of the host-tests machine) pushes a new machine;
 * the outer one is frozen — none of its cores runs — until the matching
 * sim_fini pops it. sim_init saves percpu_table and percpu_ncpus and
 * sim_fini restores them, so the outer machine finds its cores as it left
 * them. Every sim_* call below acts on the innermost machine.
 *
 * Misuse (a bad core id, sim_run from one of the machine's own fibers,
 * sim_start on a core with a live fiber) is a harness bug: it panics.
 */
#pragma once

#include <arch/mm.h>
#include <exo/types.h>

/* How deep machines may nest (the host-tests machine is one level). */
#define SIM_MAX_DEPTH 4

/* "No core": what sim_current() returns outside any fiber. */
#define SIM_NO_CORE (~0u)

/* sim_core_state.aspace_root of a core running on the kernel's tables alone. */
#define SIM_KERNEL_ASPACE (~0ULL)

struct sim_config {
	unsigned ncores;          /* 1..MAX_CPUS; 0 means 1 */
	uint64_t seed;            /* seeds the default chooser's PRNG */
	size_t phys_bytes;        /* simulated RAM, rounded up to pages; 0: 64 MiB; max 4 GiB */
	uint64_t cycles_per_step; /* cycles charged per scheduling point; 0: 1000 */
	size_t stack_bytes;       /* each fiber's stack; 0: 1 MiB */
	uint64_t starve_limit;    /* fairness bound, see below; 0: 1000 */
	bool panic_aborts;        /* panic() ends in abort(), not _exit(2) (fuzzers) */
	uint64_t disk_blocks;	  /* an in-memory disk of this many blocks; 0: no disk */
};

/*
 * Fairness: a runnable core passed over starve_limit decisions in a row
 * runs next, without asking the chooser. Without it a chooser fed by fuzz
 * bytes could pick a spinning core forever and starve the core it waits
 * for, so correct spin-waits would end in E_TIMEOUT. Idle cores are not
 * runnable, so they are never owed a turn. SIM_UNFAIR turns the bound off.
 */
#define SIM_UNFAIR UINT64_MAX

/*
 * Create a machine: cores 0..ncores-1 with no fiber, interrupts disabled
 * (as after reset), counters at 0, no IPI pending; zeroed simulated memory.
 * Resets percpu_table, calls percpu_init(c) for every core and sets
 * percpu_ncpus = ncores (the host's stand-in for firmware and SMP start).
 */
void sim_init(const struct sim_config *cfg);

/*
 * Tear the machine down: every fiber (finished, idle, or abandoned in the
 * middle of its work) and all simulated memory are freed, percpu_table and
 * percpu_ncpus are restored to what they were before sim_init. Not from one
 * of the machine's own fibers. A fuzzer calls sim_init/sim_fini per input.
 */
void sim_fini(void);

/*
 * Give core a fiber running fn(arg), to run from the next scheduling
 * decision on (also when called from a fiber during sim_run). The core must
 * have no live fiber; its pending IPIs are cleared (a core that was off
 * took none) and interrupts start disabled. sim_run waits for fibers
 * started with sim_start; a fiber started with sim_start_daemon (an idle
 * loop that never returns, say) is not waited for: when the last
 * non-daemon fiber ends, sim_run returns and daemons are left where they
 * are, to go on at the next sim_run or be freed by sim_fini.
 */
void sim_start(unsigned core, void (*fn)(void *arg), void *arg);
void sim_start_daemon(unsigned core, void (*fn)(void *arg), void *arg);

/*
 * Run the machine until every non-daemon fiber has returned or stopped
 * (arch_cpu_stop): 0. If instead every live fiber waits in arch_cpu_idle
 * with no IPI pending, no core can ever run again: prints a "sim: deadlock"
 * report of every core and returns E_AGAIN. After max_steps scheduling
 * decisions (0: no limit) returns E_TIMEOUT. After E_TIMEOUT or E_AGAIN
 * the machine is intact: inspect it, sim_run again, or sim_fini.
 * Called from outside the machine's fibers only.
 */
must_check int sim_run(uint64_t max_steps);

/* A scheduling point on purpose. Outside any fiber: charges cycles only. */
void sim_yield(void);

/* The core whose fiber is running, or SIM_NO_CORE outside any fiber. */
unsigned sim_current(void);

/* What a chooser is told at each scheduling decision. */
struct sim_choice {
	uint64_t step;     /* decisions made by this machine before this one */
	unsigned prev;     /* core that ran last, SIM_NO_CORE before the first */
	uint64_t runnable; /* bit c: core c can run now (never 0) */
};

/*
 * Pick the core to run next. Any value is accepted, so a fuzzer can feed
 * its input bytes straight through: it is taken modulo ncores, and if that
 * core cannot run, the first runnable core after it (cyclically) runs.
 * Not called when the fairness bound decides (c->step then skips ahead).
 */
typedef unsigned sim_chooser_fn(void *ctx, const struct sim_choice *c);

/* Use fn(ctx, ...) for every later decision; NULL: the seeded PRNG again. */
void sim_set_chooser(sim_chooser_fn *fn, void *ctx);

/*
 * The default chooser, for a chooser that records or biases decisions and
 * otherwise defers to the seed: a uniform draw among the runnable cores.
 */
unsigned sim_choose_random(void *ctx, const struct sim_choice *c);

/* Scheduling decisions this machine has made so far (over all sim_runs). */
uint64_t sim_steps(void);

/* A core as the simulator sees it, for tests and reports. */
struct sim_core_state {
	bool live;            /* has a fiber that has not ended */
	bool daemon;          /* that fiber was started with sim_start_daemon */
	bool idle;            /* waiting in arch_cpu_idle */
	bool irq;             /* interrupts enabled */
	unsigned pending;     /* bit k: an IPI of kind k is pending */
	uint64_t cycles;      /* its cycle counter */
	uint64_t steps;       /* scheduling points it has passed */
	uint64_t received;    /* IPIs delivered to it (ipi_receive calls) */
	uint64_t tlb_flushes; /* arch_tlb_flush_all calls it made */
	uint64_t aspace_root; /* root of the active address space, or SIM_KERNEL_ASPACE */
};
void sim_core_state(unsigned core, struct sim_core_state *out);

/* Size of simulated physical memory in bytes (0 with no machine). */
size_t sim_phys_bytes(void);

/*
 * Play the MMU for one access to the byte at va (any alignment) in as:
 * set accessed in every level on the way, and dirty in the last one for a
 * write, as x86_64 hardware does. E_NOENT: not mapped (a not-present page
 * fault), E_INVAL: a write to a read-only page (a protection fault); a
 * fault changes nothing. Does not check the user bit.
 */
must_check int sim_mmu_touch(struct arch_aspace *as, vaddr_t va, bool write);

/*
 * The disk stand-in (sim_config.disk_blocks): the bytes of block b (NULL if
 * b is past the end or there is no disk), for tests to fill and check; and
 * a block whose requests fail (the device's error), ~0 for none.
 */
uint8_t *sim_disk_block(uint64_t b);
void sim_disk_fail(uint64_t block);
/* The stand-in's size from the next arch_disk_init on (0: no disk). */
void sim_disk_set_blocks(uint64_t blocks);
/* Requests the stand-in holds, not yet finished (they finish when polled). */
unsigned sim_disk_pending(void);
