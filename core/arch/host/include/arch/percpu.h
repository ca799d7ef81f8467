/*
 * arch/percpu.h — the host's part of struct percpu, and arch_this_cpu
 * (exo/arch/percpu.h): the simulator keeps a pointer to the running core's
 * struct and swaps it at every switch between fibers.
 */
#pragma once

#include <exo/arch/percpu.h>

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

static inline struct percpu *arch_this_cpu(void)
{
	return sim_this_cpu_ptr;
}
