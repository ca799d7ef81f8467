/*
 * arch/cpu.h — the processor as core code sees it (x86_64).
 * Same names in core/arch/host/include/arch/cpu.h.
 */
#pragma once

#include <exo/types.h>

/* Spin-wait hint; on the host this is also a scheduling point. */
static inline void arch_cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

/* The cycle counter (TSC). Monotonic per core; rates in arch_cycles_per_sec. */
static inline uint64_t arch_cycles(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Cycle counter frequency, calibrated at boot (0 before calibration). */
uint64_t arch_cycles_per_sec(void);

/* Disable interrupts, returning the previous state for arch_irq_restore. */
static inline unsigned long arch_irq_save(void)
{
	unsigned long flags;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
	return flags;
}

static inline void arch_irq_restore(unsigned long flags)
{
	if (flags & (1UL << 9))
		__asm__ volatile("sti" ::: "memory");
}

static inline void arch_irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void arch_irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }

/* Enable interrupts and wait for one (atomically: no wake-up is lost). */
static inline void arch_cpu_idle(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

/* Stop this core for good: interrupts off, halted. */
noreturn_fn void arch_cpu_stop(void);
