/*
 * arch/phys.h — x86_64's half of exo/arch/phys.h: every physical byte is
 * mapped at PHYSMAP_BASE (the direct map); the image is linked at
 * __kernel_vbase.
 */
#pragma once

#include <exo/arch/phys.h>

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

static inline void arch_kernel_phys_range(uint64_t *lo, uint64_t *hi)
{
	extern char __kernel_start[], __kernel_end[];
	*lo = pa_raw(arch_virt_to_phys(__kernel_start));
	*hi = pa_raw(arch_virt_to_phys(__kernel_end));
}

/* boot.S maps 0..4 GiB. */
#define ARCH_PHYS_LIMIT (4ULL << 30)
