/*
 * arch/percpu.h — the architecture's part of struct percpu, and how a core
 * finds its own struct (host: the simulator keeps a pointer to the running
 * core's struct and swaps it at every switch between fibers).
 */
#pragma once

#include <exo/types.h>

struct percpu;

/*
 * The simulator keeps its per-core state in its own tables (sim.c), not
 * here, so that saving and restoring percpu_table around a nested machine
 * never touches it. C wants a struct to have a member.
 */
struct arch_percpu {
	uint8_t unused;
};

/* The running core's struct (sim.c). Written only by the simulator. */
extern struct percpu *sim_this_cpu_ptr;

/*
 * This core's percpu struct. Outside any fiber: core 0's, so plain unit
 * tests can use this_cpu() and kprintf without starting the simulator.
 */
static inline struct percpu *arch_this_cpu(void)
{
	return sim_this_cpu_ptr;
}

/* Make p this core's percpu struct (from now until the machine ends). */
void arch_set_this_cpu(struct percpu *p);
