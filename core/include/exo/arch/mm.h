/*
 * exo/arch/mm.h — one address space's page tables, kept by the kernel.
 * Declared once here, with the contract; each arch's <arch/mm.h> includes
 * this file and adds struct arch_aspace, ARCH_USER_BASE and ARCH_USER_END
 * (the lowest and one-past-highest user virtual address).
 *
 * 4 KiB pages only. Page-table pages come from the caller through
 * struct arch_pt_alloc, so the kernel can charge them to the environment
 * that owns the address space. All functions are called with the address
 * space's owner serialized by the caller (one environment's tables are
 * changed by one core at a time).
 *
 * x86_64: every address space maps the kernel (the boot tables' upper
 * half); the user half holds only what arch_map put there. TLB upkeep here
 * is for this core only: other cores that may hold a translation are the
 * caller's shootdown.
 *
 * Host: the same tables (x86_64's four-level format, with the present,
 * write, user, accessed, dirty and NX bits) over simulated physical memory;
 * nothing walks them but the host's mm.c and sim_mmu_touch (arch/sim.h),
 * which plays the hardware's part in setting accessed and dirty. There is
 * no TLB: flushes are counted per core (sim_core_state.tlb_flushes), so
 * tests can check that a shootdown reached every core it had to. The host
 * is stricter than the contract, to catch callers early: it panics if the
 * allocator hands out a page that is not zeroed, not aligned or outside
 * simulated memory, and if arch_aspace_destroy finds a mapping left.
 */
#pragma once

#include <exo/errors.h>
#include <exo/mmu.h>
#include <exo/types.h>

struct arch_aspace;

struct arch_pt_alloc {
	/* Return a zeroed page-table page, or E_NOMEM. x86_64: below ARCH_PHYS_LIMIT. */
	int (*alloc)(void *ctx, paddr_t *out);
	/* Give back a page-table page (on a failed arch_map, or by arch_aspace_destroy). */
	void (*free)(void *ctx, paddr_t page);
	void *ctx;
};

/* Create an empty address space (kernel mapped, user half empty). E_NOMEM if no table page. */
must_check int arch_aspace_init(struct arch_aspace *as, const struct arch_pt_alloc *a);

/*
 * Free every table page (not the mapped frames). Mappings must be gone and
 * as active on no core (a panic if a mapping is left or as is this core's).
 */
void arch_aspace_destroy(struct arch_aspace *as, const struct arch_pt_alloc *a);

/*
 * Unlink up to max table pages of the user half that map nothing (no
 * present entry; deepest first, so a table emptied by unlinking its last
 * child goes too; never the root), and put their addresses in pages.
 * Returns how many. The pages stay allocated: the caller shoots down every
 * core on which as may be active, then gives them back (a->free or its
 * own). Reads at most (max + LEVELS) tables, so its cost is bounded by max.
 */
unsigned arch_aspace_trim(struct arch_aspace *as, paddr_t *pages, unsigned max);

/*
 * Map the 4 KiB page at va to frame pa with prot (enum mmu_prot): user
 * access only with MMU_USER, writes only with MMU_WRITE, instruction fetch
 * only with MMU_EXEC; reads are always allowed (a present page is always
 * readable, so arch_query reports MMU_READ for every mapping). E_INVAL: va
 * or pa unaligned, va outside user space, pa past the machine's physical
 * address width, an unknown prot bit; E_EXIST: va already mapped; E_NOMEM:
 * no page for an intermediate table (nothing changed: table pages taken
 * during the call are given back through a->free).
 */
must_check int arch_map(struct arch_aspace *as, const struct arch_pt_alloc *a, vaddr_t va,
			paddr_t pa, unsigned prot);

/*
 * Remove the mapping at va; the old frame in *old. Flushes va from this
 * core's TLB if as is active here. Table pages stay until
 * arch_aspace_destroy. E_INVAL: va as for arch_map; E_NOENT if unmapped.
 */
must_check int arch_unmap(struct arch_aspace *as, vaddr_t va, paddr_t *old);

/* Look up va: frame and prot. E_INVAL: va as for arch_map; E_NOENT if unmapped. */
must_check int arch_query(const struct arch_aspace *as, vaddr_t va, paddr_t *pa, unsigned *prot);

/*
 * Read and clear the accessed/dirty bits (enum mmu_ad) of va's mapping,
 * flushing va from this core's TLB if as is active here, so the next
 * access sets them again. E_INVAL: va as for arch_map; E_NOENT if unmapped.
 */
must_check int arch_read_clear_ad(struct arch_aspace *as, vaddr_t va, unsigned *ad);

/*
 * Run this core with as's tables, or with the kernel's alone (the boot
 * tables). x86_64: loads CR3, which flushes this core's TLB. Host: recorded
 * per core (sim_core_state.aspace_root); nothing else changes.
 */
void arch_aspace_activate(const struct arch_aspace *as);
void arch_aspace_activate_kernel(void);

/* Drop this core's cached translation of va (invlpg), or every one (reload CR3). */
void arch_tlb_flush_page(vaddr_t va);
void arch_tlb_flush_all(void);
