/*
 * exo/arch/phys.h — reaching physical memory from the kernel. Declared once
 * here; each arch's <arch/phys.h> includes this file, defines the inline
 * functions and ARCH_PHYS_LIMIT. x86_64: every physical byte is mapped at
 * PHYSMAP_BASE (the direct map). Host: simulated physical memory is one
 * host mapping, and every translation is bounds-checked (an address outside
 * it panics, naming the address).
 *
 * ARCH_PHYS_LIMIT: the most physical memory the kernel can reach (4 GiB on
 * both: x86_64's boot maps 0..4 GiB; the host refuses more, so core code
 * sizes its tables the same way).
 */
#pragma once

#include <exo/types.h>

/* The kernel's pointer to physical address p (p == the end of memory translates too). */
static inline void *arch_phys_to_virt(paddr_t p);

/* The physical address of a kernel pointer into physical memory or the kernel image. */
static inline paddr_t arch_virt_to_phys(const void *v);

/*
 * Physical range of the kernel image, [lo, hi): load address to the end of
 * .bss and symbols. Empty on the host (the kernel is a host program).
 */
static inline void arch_kernel_phys_range(uint64_t *lo, uint64_t *hi);
