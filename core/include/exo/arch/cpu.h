/*
 * exo/arch/cpu.h — the processor as core code sees it. Declared here once,
 * with its contract; each arch's <arch/cpu.h> includes this file and
 * defines the static inline functions (x86_64: an instruction or two; the
 * host: a call into its simulator, where each is a point at which another
 * simulated core may run). Core code includes <arch/cpu.h>.
 */
#pragma once

#include <exo/types.h>

/* Spin-wait hint (x86_64: pause). On the host, also a scheduling point. */
static inline void arch_cpu_relax(void);

/*
 * This core's cycle counter (x86_64: the TSC): monotonic per core, at the
 * rate arch_cycles_per_sec. Two reads never return the same value on the
 * host (it advances by one per read, and by a step at each scheduling
 * point), so cycle-based timeouts work there too.
 */
static inline uint64_t arch_cycles(void);

/* The rate of arch_cycles: calibrated at boot on x86_64 (0 before), a fixed 1 GHz on the host. */
uint64_t arch_cycles_per_sec(void);

/* Disable interrupts, returning the previous state for arch_irq_restore (opaque to callers). */
static inline unsigned long arch_irq_save(void);

/* Restore the state from arch_irq_save; re-enabling takes pending interrupts now. */
static inline void arch_irq_restore(unsigned long flags);

/* Enable interrupts (pending IPIs are taken at once), or disable them. */
static inline void arch_irq_enable(void);
static inline void arch_irq_disable(void);

/*
 * Enable interrupts and wait for one, atomically: no wake-up is lost.
 * Returns after at least one was taken. On the host the core is not
 * scheduled while it waits; if every live core waits so, sim_run reports a
 * deadlock.
 */
static inline void arch_cpu_idle(void);

/* Stop this core for good (x86_64: interrupts off, halted; host: its fiber ends). */
noreturn_fn void arch_cpu_stop(void);
