/*
 * arch/mm.h — one address space's page tables, kept by the kernel.
 *
 * 4 KiB pages only. Page-table pages come from the caller through
 * struct arch_pt_alloc, so the kernel can charge them to the environment
 * that owns the address space. All functions are called with the address
 * space's owner serialized by the caller (one environment's tables are
 * changed by one core at a time).
 *
 * Host: the same interface over simulated physical memory (arch/phys.h).
 * The tables are x86_64's: four levels of 512 eight-byte entries with the
 * hardware's present, write, user, accessed, dirty and NX bits, kept in the
 * frames the allocator hands out. Nothing walks them but this file and
 * sim_mmu_touch (arch/sim.h), which plays the hardware's part in setting
 * accessed and dirty. There is no TLB. Where x86_64 cannot say something
 * the host cannot either: a present page is always readable, so
 * arch_query reports MMU_READ for every mapping.
 *
 * The host is stricter than the contract needs, to catch callers early:
 * every function returns E_INVAL for an unaligned or non-user va, arch_map
 * also for prot bits outside enum mmu_prot and for a pa too wide for a
 * page-table entry (52 bits); it panics if the allocator hands out a page
 * that is not zeroed, not aligned or outside simulated memory, and if
 * arch_aspace_destroy finds a mapping left.
 */
#pragma once

#include <exo/errors.h>
#include <exo/mmu.h>
#include <exo/types.h>

struct arch_pt_alloc {
	/* Return a zeroed page-table page, or E_NOMEM. */
	int (*alloc)(void *ctx, paddr_t *out);
	/* Give back a page-table page freed by arch_aspace_destroy. */
	void (*free)(void *ctx, paddr_t page);
	void *ctx;
};

struct arch_aspace {
	paddr_t root; /* top-level table (PML4 on x86_64) */
};

/* Lowest and one-past-highest user virtual address. */
#define ARCH_USER_BASE 0x0000000000400000UL
#define ARCH_USER_END  0x00007ffffffff000UL /* see USER_END in exo/abi.h */

/* Create an empty address space. E_NOMEM if no table page. */
must_check int arch_aspace_init(struct arch_aspace *as, const struct arch_pt_alloc *a);

/* Free every table page (not the mapped frames). Mappings must be gone. */
void arch_aspace_destroy(struct arch_aspace *as, const struct arch_pt_alloc *a);

/*
 * Map the 4 KiB page at va to frame pa with prot (enum mmu_prot).
 * E_INVAL: va or pa unaligned, va outside user space; E_EXIST: va already
 * mapped; E_NOMEM: no page for an intermediate table (nothing changed:
 * table pages taken during the call are given back through a->free).
 */
must_check int arch_map(struct arch_aspace *as, const struct arch_pt_alloc *a, vaddr_t va,
                        paddr_t pa, unsigned prot);

/* Remove the mapping at va; the old frame in *old. E_NOENT if none. */
must_check int arch_unmap(struct arch_aspace *as, vaddr_t va, paddr_t *old);

/* Look up va: frame and prot. E_NOENT if unmapped. */
must_check int arch_query(const struct arch_aspace *as, vaddr_t va, paddr_t *pa, unsigned *prot);

/* Read and clear the accessed/dirty bits (enum mmu_ad) of va's mapping. E_NOENT if none. */
must_check int arch_read_clear_ad(struct arch_aspace *as, vaddr_t va, unsigned *ad);

/*
 * Run this core with as's tables (x86_64: load CR3), or with the kernel's
 * alone. Host: recorded per core (sim_core_state.aspace_root); nothing else
 * changes, since no user code runs.
 */
void arch_aspace_activate(const struct arch_aspace *as);
void arch_aspace_activate_kernel(void);

/*
 * Flush this core's TLB (every cached translation). Host: there is no TLB
 * to flush; the call is counted per core (sim_core_state.tlb_flushes), so
 * tests can check that a shootdown reached every core it had to.
 */
void arch_tlb_flush_all(void);

/* Flush one page from this core's TLB (no TLB is modelled: counted only). */
void arch_tlb_flush_page(vaddr_t va);
