/*
 * arch/phys.h — reaching physical memory from the kernel. Host: simulated
 * physical memory is one page-aligned host mapping of sim_phys_bytes()
 * bytes, made by sim_init; physical address p is byte p of it.
 *
 * Unlike x86_64's direct map, every translation is bounds-checked: an
 * address outside simulated memory (or any translation before sim_init)
 * panics at once, naming the address, instead of scribbling on the host.
 * The end address itself (p == size) translates, for end-pointer arithmetic.
 * There is no kernel image in simulated memory: a host global has no
 * physical address.
 */
#pragma once

#include <exo/types.h>

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
