/*
 * arch/mm.h — x86_64's half of exo/arch/mm.h (the interface and its
 * contract are there): the address space's root and the user range.
 */
#pragma once

#include <exo/arch/mm.h>

struct arch_aspace {
	paddr_t root; /* the PML4 */
};

/* Lowest and one-past-highest user virtual address. */
#define ARCH_USER_BASE 0x0000000000400000UL
#define ARCH_USER_END 0x00007ffffffff000UL /* see USER_END in exo/abi.h */
