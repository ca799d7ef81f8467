/*
 * exo/arch/percpu.h — how a core finds its own struct percpu. Declared once
 * here; each arch's <arch/percpu.h> includes this file and adds struct
 * arch_percpu (the arch's part of struct percpu) and the body of
 * arch_this_cpu (x86_64: one %gs-relative load; host: the simulator's
 * pointer to the running core's struct, swapped at every switch).
 */
#pragma once

#include <exo/types.h>

struct percpu;

/*
 * This core's percpu struct. Host, outside any simulated core: core 0's,
 * so plain unit tests can use this_cpu() and kprintf without a machine.
 */
static inline struct percpu *arch_this_cpu(void);

/* Make p this core's percpu struct, from now until the core (or machine) stops. */
void arch_set_this_cpu(struct percpu *p);
