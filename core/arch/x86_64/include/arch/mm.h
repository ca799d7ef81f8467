/*
 * arch/mm.h — one address space's page tables, kept by the kernel.
 *
 * 4 KiB pages only. Page-table pages come from the caller through
 * struct arch_pt_alloc, so the kernel can charge them to the environment
 * that owns the address space. All functions are called with the address
 * space's owner serialized by the caller (one environment's tables are
 * changed by one core at a time).
 *
 * Same interface in core/arch/host (in-memory tables over simulated
 * physical memory).
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
#define ARCH_USER_END 0x0000800000000000UL

/* Create an empty address space. E_NOMEM if no table page. */
must_check int arch_aspace_init(struct arch_aspace *as, const struct arch_pt_alloc *a);

/* Free every table page (not the mapped frames). Mappings must be gone. */
void arch_aspace_destroy(struct arch_aspace *as, const struct arch_pt_alloc *a);

/*
 * Map the 4 KiB page at va to frame pa with prot (enum mmu_prot).
 * E_INVAL: va or pa unaligned, va outside user space; E_EXIST: va already
 * mapped; E_NOMEM: no page for an intermediate table (nothing changed).
 */
must_check int arch_map(struct arch_aspace *as, const struct arch_pt_alloc *a, vaddr_t va,
			paddr_t pa, unsigned prot);

/* Remove the mapping at va; the old frame in *old. E_NOENT if none. */
must_check int arch_unmap(struct arch_aspace *as, vaddr_t va, paddr_t *old);

/* Look up va: frame and prot. E_NOENT if unmapped. */
must_check int arch_query(const struct arch_aspace *as, vaddr_t va, paddr_t *pa, unsigned *prot);

/* Read and clear the accessed/dirty bits (enum mmu_ad) of va's mapping. E_NOENT if none. */
must_check int arch_read_clear_ad(struct arch_aspace *as, vaddr_t va, unsigned *ad);
