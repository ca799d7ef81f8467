/*
 * arch/cpu.h — host: the inline half of exo/arch/cpu.h, each a call into
 * the simulator (sim.c), because each is a point where it may switch to
 * another core.
 *
 * "Outside any fiber" (the host main thread, or a test body between its own
 * sim_init and sim_run) these act on a stand-in context that plays core 0:
 * no scheduling happens there and no IPI is ever delivered there.
 */
#pragma once

#include <exo/arch/cpu.h>

/* A scheduling point: this core is charged one step of cycles, the chooser picks who runs next. */
void sim_cpu_relax(void);
/* Advances by cycles_per_step at every scheduling point and by one per read. Deterministic. */
uint64_t sim_cycles(void);
/* The flags mirror x86's RFLAGS.IF (bit 9), so code behaves the same on both. */
unsigned long sim_irq_save(void);
void sim_irq_restore(unsigned long flags);
void sim_irq_enable(void);
void sim_irq_disable(void);
void sim_cpu_idle(void);

static inline void arch_cpu_relax(void)
{
	sim_cpu_relax();
}
static inline uint64_t arch_cycles(void)
{
	return sim_cycles();
}
static inline unsigned long arch_irq_save(void)
{
	return sim_irq_save();
}
static inline void arch_irq_restore(unsigned long flags)
{
	sim_irq_restore(flags);
}
static inline void arch_irq_enable(void)
{
	sim_irq_enable();
}
static inline void arch_irq_disable(void)
{
	sim_irq_disable();
}
static inline void arch_cpu_idle(void)
{
	sim_cpu_idle();
}
