/*
 * arch/phys.h — reaching physical memory from the kernel. x86_64: every
 * physical byte is mapped at PHYSMAP_BASE (the direct map). Host: simulated
 * physical memory is one host allocation.
 */
#pragma once

#include <exo/types.h>

#define PHYSMAP_BASE 0xffff800000000000UL

static inline void *arch_phys_to_virt(paddr_t p) { return (void *)(pa_raw(p) + PHYSMAP_BASE); }

static inline paddr_t arch_virt_to_phys(const void *v)
{
	uint64_t va = (uint64_t)v;
	extern char __kernel_vbase[];
	if (va >= (uint64_t)__kernel_vbase)
		return pa_make(va - (uint64_t)__kernel_vbase);
	return pa_make(va - PHYSMAP_BASE);
}

/* Physical range of the kernel image, [lo, hi), load address to end of .bss and symbols. */
static inline void arch_kernel_phys_range(uint64_t *lo, uint64_t *hi)
{
	extern char __kernel_start[], __kernel_end[];
	*lo = pa_raw(arch_virt_to_phys(__kernel_start));
	*hi = pa_raw(arch_virt_to_phys(__kernel_end));
}

/* The most physical memory the direct map reaches (boot.S maps 0..4 GiB). */
#define ARCH_PHYS_LIMIT (4ULL << 30)
