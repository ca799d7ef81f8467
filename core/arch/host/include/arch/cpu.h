/*
 * arch/cpu.h — the processor as core code sees it (host: a simulated core).
 * Same names and meaning as core/arch/x86_64/include/arch/cpu.h; here they
 * are calls into the simulator (sim.c) instead of instructions, because each
 * one is a point where the simulator may switch to another core.
 *
 * "Outside any fiber" (the host main thread, or a test body between its own
 * sim_init and sim_run) these act on a stand-in context that plays core 0:
 * no scheduling happens there and no IPI is ever delivered there.
 */
#pragma once

#include <exo/types.h>

/*
 * Spin-wait hint. On the host this is a scheduling point: the simulator
 * charges this core one step of cycles and lets its chooser pick the next
 * core to run (possibly this one again). Pending IPIs are taken on return
 * if interrupts are enabled.
 */
void arch_cpu_relax(void);

/*
 * This core's virtual cycle counter: advances by the machine's
 * cycles_per_step at every scheduling point and by one on every read (so
 * two reads never return the same value, as with rdtsc). Deterministic.
 */
uint64_t arch_cycles(void);

/* The nominal rate of arch_cycles: a fixed 1 GHz on the host. */
uint64_t arch_cycles_per_sec(void);

/*
 * Disable interrupts, returning the previous state for arch_irq_restore.
 * The value mirrors x86's RFLAGS.IF (bit 9) so code behaves the same on
 * both, but callers must treat it as opaque.
 */
unsigned long arch_irq_save(void);

/* Restore the state from arch_irq_save; re-enabling takes pending IPIs now. */
void arch_irq_restore(unsigned long flags);

/* Enable interrupts; pending IPIs are taken at once, as after x86's sti. */
void arch_irq_enable(void);
void arch_irq_disable(void);

/*
 * Enable interrupts and wait for one (atomically: no wake-up is lost).
 * Returns after at least one IPI was taken. The core is not scheduled while
 * it waits; if every live core waits so, sim_run reports a deadlock.
 */
void arch_cpu_idle(void);

/* Stop this core for good: its fiber ends here and never runs again. */
noreturn_fn void arch_cpu_stop(void);
