/*
 * arch/cpu.h — x86_64: the inline half of exo/arch/cpu.h, one instruction
 * or two each.
 */
#pragma once

#include <exo/arch/cpu.h>

static inline void arch_cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

static inline uint64_t arch_cycles(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The flags are RFLAGS: IF is bit 9. */
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

/* sti's one-instruction shadow makes sti; hlt atomic. */
static inline void arch_cpu_idle(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}
