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
