/*
 * Architecture-neutral names for mapping permissions and page-table bits,
 * used with the arch/mm.h interface.
 */
#pragma once

enum mmu_prot {
	MMU_READ = 1u << 0,
	MMU_WRITE = 1u << 1,
	MMU_EXEC = 1u << 2,
	MMU_USER = 1u << 3,
};

/* Hardware-maintained bits a libOS may read back (docs/design.md, "Show the page tables"). */
enum mmu_ad {
	MMU_ACCESSED = 1u << 0,
	MMU_DIRTY = 1u << 1,
};
