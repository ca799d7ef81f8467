/*
 * arch/phys.h — the host's half of exo/arch/phys.h: simulated physical
 * memory is one page-aligned host mapping of sim_phys_bytes() bytes, made
 * by sim_init; physical address p is byte p of it.
 *
 * Unlike x86_64's direct map, every translation is bounds-checked: an
 * address outside simulated memory (or any translation before sim_init)
 * panics at once, naming the address, instead of scribbling on the host.
 * There is no kernel image in simulated memory: a host global has no
 * physical address.
 */
#pragma once

#include <exo/arch/phys.h>

/* The running machine's memory (sim.c); written only by the simulator. */
extern uint8_t *sim_phys_base;
extern uint64_t sim_phys_size;

/* Panic about a physical address or pointer outside simulated memory. */
noreturn_fn void sim_phys_fault(const char *what, uint64_t addr);

static inline void *arch_phys_to_virt(paddr_t p)
{
	if (__builtin_expect(!sim_phys_base || pa_raw(p) > sim_phys_size, 0))
		sim_phys_fault("physical address", pa_raw(p));
	return sim_phys_base + pa_raw(p);
}

static inline paddr_t arch_virt_to_phys(const void *v)
{
	uintptr_t a = (uintptr_t)v, base = (uintptr_t)sim_phys_base;
	if (__builtin_expect(!base || a < base || a - base > sim_phys_size, 0))
		sim_phys_fault("pointer", a);
	return pa_make(a - base);
}

/* The kernel is a host program, not in simulated memory: the range is empty. */
static inline void arch_kernel_phys_range(uint64_t *lo, uint64_t *hi)
{
	*lo = 0;
	*hi = 0;
}

/* As x86_64's, so core code sizes its tables the same way; sim_init refuses more. */
#define ARCH_PHYS_LIMIT (4ULL << 30)
