/*
 * x86_64 four-level page tables for user address spaces (arch/mm.h).
 *
 * Each address space has its own PML4. Its kernel half (entries 256..511)
 * is copied from the boot PML4 (boot.S) when the address space is made, so
 * every address space reaches the kernel image and the direct map through
 * the boot PDPTs; the kernel half may therefore change only below the PML4.
 * The user half (entries 0..255) leads to tables made on demand by
 * arch_map, 4 KiB pages only.
 *
 * Intermediate entries are present|write|user: the CPU grants the
 * intersection of the rights along the walk, so the leaf alone says what an
 * access may do. Tables live until arch_aspace_destroy (arch_unmap has no
 * allocator to give them back to, and a remap is then cheap).
 *
 * Table pages are reached through the direct map, which covers physical
 * 0..ARCH_PHYS_LIMIT (4 GiB, boot.S). The frame allocator hands out only
 * frames below that for now; pt_take holds every table page to it.
 */
#include <arch/mm.h>
#include <arch/phys.h>
#include <arch/x86.h>
#include <exo/panic.h>

#define PTE_P     (1ULL << 0)
#define PTE_W     (1ULL << 1)
#define PTE_U     (1ULL << 2)
#define PTE_A     (1ULL << 5)
#define PTE_D     (1ULL << 6)
#define PTE_NX    (1ULL << 63) /* honoured: EFER.NXE is set on every core (boot.S, trampoline.S) */
#define PTE_ADDR  0x000ffffffffff000ULL /* bits 12..51: the frame */
#define PTE_TABLE (PTE_P | PTE_W | PTE_U)

#define LEVELS       4 /* level 3: PML4, 2: PDPT, 1: page directory, 0: page table */
#define ENTRIES      512
#define KERNEL_HALF  256 /* first PML4 entry of the kernel half */
#define MMU_PROT_ALL (MMU_READ | MMU_WRITE | MMU_EXEC | MMU_USER)

_Static_assert(ENTRIES * sizeof(uint64_t) == PAGE_SIZE, "a table fills a page");
_Static_assert(ARCH_USER_END <= (uint64_t)KERNEL_HALF << 39, "user space is the lower half");

extern uint64_t boot_pml4[ENTRIES];

static void load_cr3(uint64_t root)
{
	__asm__ volatile("mov %0, %%cr3" ::"r"(root) : "memory");
}

static void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}

/* Index of va in its table at level. */
static unsigned pt_index(uint64_t va, unsigned level)
{
	return (unsigned)(va >> (PAGE_SHIFT + 9 * level)) & (ENTRIES - 1);
}

static uint64_t *pt_table(uint64_t pa)
{
	return arch_phys_to_virt(pa_make(pa));
}

static bool va_ok(uint64_t va)
{
	return IS_ALIGNED(va, PAGE_SIZE) && va >= ARCH_USER_BASE && va < ARCH_USER_END;
}

/*
 * One past the highest physical address this CPU decodes (MAXPHYADDR): a
 * frame above it would set reserved PTE bits, and every access through the
 * mapping would fault. Asked once; cores that race compute the same value.
 */
static uint64_t phys_end(void)
{
	static uint64_t end;
	uint64_t e = __atomic_load_n(&end, __ATOMIC_RELAXED);
	if (!e) {
		/* 36 bits when CPUID lacks the leaf (Intel SDM, "MAXPHYADDR"). */
		unsigned bits = 36;
		if (cpuid(0x80000000, 0).eax >= 0x80000008)
			bits = cpuid(0x80000008, 0).eax & 0xff;
		e = 1ULL << bits;
		__atomic_store_n(&end, e, __ATOMIC_RELAXED);
	}
	return e;
}

/* Is as's PML4 the one this core walks now? (No PCIDs: CR3's low bits are flags.) */
static bool active_here(const struct arch_aspace *as)
{
	return (read_cr3() & PTE_ADDR) == pa_raw(as->root);
}

/*
 * Take a table page from the caller. A page that is misaligned, beyond the
 * direct map or not zeroed is an allocator bug, and a dirty table would map
 * whatever its stale entries name: stop there.
 */
static int pt_take(const struct arch_pt_alloc *a, uint64_t *out)
{
	paddr_t p;
	if (a->alloc(a->ctx, &p) != E_OK)
		return E_NOMEM;
	uint64_t pa = pa_raw(p);
	if (!IS_ALIGNED(pa, PAGE_SIZE) || pa >= ARCH_PHYS_LIMIT)
		panic("mm: table page 0x%llx is misaligned or beyond the direct map",
		      (unsigned long long)pa);
	const uint64_t *t = pt_table(pa);
	for (unsigned i = 0; i < ENTRIES; i++)
		if (t[i])
			panic("mm: table page 0x%llx is not zeroed", (unsigned long long)pa);
	*out = pa;
	return E_OK;
}

/*
 * Walk from the PML4 towards va. Returns the lowest table reached and its
 * level in *level: 0 when every table down to va's page table exists,
 * else the level whose entry for va is not present.
 */
static uint64_t *pt_descend(paddr_t root, uint64_t va, unsigned *level)
{
	uint64_t *t = pt_table(pa_raw(root));
	unsigned l = LEVELS - 1;
	for (; l > 0; l--) {
		uint64_t e = t[pt_index(va, l)];
		if (!(e & PTE_P))
			break;
		t = pt_table(e & PTE_ADDR);
	}
	*level = l;
	return t;
}

/* va's present leaf entry, or NULL with *err: E_INVAL for a bad va, E_NOENT if unmapped. */
static uint64_t *pt_leaf(paddr_t root, uint64_t va, int *err)
{
	if (!va_ok(va)) {
		*err = E_INVAL;
		return NULL;
	}
	unsigned level;
	uint64_t *t = pt_descend(root, va, &level);
	uint64_t *e = &t[pt_index(va, 0)];
	if (level != 0 || !(__atomic_load_n(e, __ATOMIC_RELAXED) & PTE_P)) {
		*err = E_NOENT;
		return NULL;
	}
	return e;
}

int arch_aspace_init(struct arch_aspace *as, const struct arch_pt_alloc *a)
{
	uint64_t root;
	if (pt_take(a, &root) != E_OK)
		return E_NOMEM;
	/* The user half stays zero (pt_take checked); the kernel half is shared. */
	uint64_t *t = pt_table(root);
	for (unsigned i = KERNEL_HALF; i < ENTRIES; i++)
		t[i] = boot_pml4[i];
	as->root = pa_make(root);
	return E_OK;
}

/* Give back the table at pa (at level) and every table below it; va is its base. */
static void pt_free_tree(const struct arch_pt_alloc *a, uint64_t pa, unsigned level, uint64_t va)
{
	const uint64_t *t = pt_table(pa);
	/* The PML4's kernel half points at the boot tables: never ours to free. */
	unsigned n = level == LEVELS - 1 ? KERNEL_HALF : ENTRIES;
	for (unsigned i = 0; i < n; i++) {
		if (!(t[i] & PTE_P))
			continue;
		uint64_t sub = va | (uint64_t)i << (PAGE_SHIFT + 9 * level);
		if (level == 0)
			panic("mm: address space destroyed with 0x%llx still mapped",
			      (unsigned long long)sub);
		pt_free_tree(a, t[i] & PTE_ADDR, level - 1, sub);
	}
	a->free(a->ctx, pa_make(pa));
}

void arch_aspace_destroy(struct arch_aspace *as, const struct arch_pt_alloc *a)
{
	/* The CPU would go on walking freed pages; other cores cannot be checked from here. */
	if (active_here(as))
		panic("mm: address space 0x%llx destroyed while active",
		      (unsigned long long)pa_raw(as->root));
	pt_free_tree(a, pa_raw(as->root), LEVELS - 1, 0);
}

/*
 * Unlink empty tables below the table at pa (level > 0) into pages, while
 * fewer than max are taken. True if the table maps nothing afterwards.
 */
static bool pt_trim(uint64_t pa, unsigned level, paddr_t *pages, unsigned max, unsigned *n)
{
	uint64_t *t = pt_table(pa);
	unsigned lim = level == LEVELS - 1 ? KERNEL_HALF : ENTRIES;
	bool empty = true;
	for (unsigned i = 0; i < lim; i++) {
		uint64_t e = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
		if (!(e & PTE_P))
			continue;
		if (level == 0)
			return false; /* a leaf table that maps something: nothing below to take */
		/* Past the budget a table is only looked at, not descended into. */
		if (level > 0 && *n < max && pt_trim(e & PTE_ADDR, level - 1, pages, max, n) &&
		    *n < max) {
			/* A walker that still caches the old entry is the caller's shootdown. */
			__atomic_store_n(&t[i], 0, __ATOMIC_RELAXED);
			pages[(*n)++] = pa_make(e & PTE_ADDR);
			continue;
		}
		empty = false;
	}
	return empty;
}

unsigned arch_aspace_trim(struct arch_aspace *as, paddr_t *pages, unsigned max)
{
	unsigned n = 0;
	(void)pt_trim(pa_raw(as->root), LEVELS - 1, pages, max, &n);
	return n;
}

int arch_map(struct arch_aspace *as, const struct arch_pt_alloc *a, vaddr_t va, paddr_t pa,
             unsigned prot)
{
	uint64_t v = va_raw(va), p = pa_raw(pa);
	/* Decode: every check before anything is taken or written. */
	if (!va_ok(v) || !IS_ALIGNED(p, PAGE_SIZE) || p >= phys_end() || prot & ~MMU_PROT_ALL)
		return E_INVAL;
	unsigned level;
	uint64_t *t = pt_descend(as->root, v, &level);
	if (level == 0 && t[pt_index(v, 0)] & PTE_P)
		return E_EXIST;

	/*
	 * The tables for levels level-1 .. 0 are missing. Take them all before
	 * linking any, so that running out leaves the tree as it was.
	 */
	uint64_t fresh[LEVELS - 1];
	for (unsigned i = 0; i < level; i++) {
		if (pt_take(a, &fresh[i]) != E_OK) {
			while (i--)
				a->free(a->ctx, pa_make(fresh[i]));
			return E_NOMEM;
		}
	}
	/*
	 * Link top-down. A walker on another core may see a new table before it
	 * is filled in; it finds only not-present entries there, as before.
	 */
	for (unsigned i = 0; level > 0; level--, i++) {
		t[pt_index(v, level)] = fresh[i] | PTE_TABLE;
		t = pt_table(fresh[i]);
	}
	/* Not-present entries are never cached in a TLB: nothing to flush. */
	__atomic_store_n(&t[pt_index(v, 0)],
	                 p | PTE_P | (prot & MMU_WRITE ? PTE_W : 0) |
	                     (prot & MMU_USER ? PTE_U : 0) | (prot & MMU_EXEC ? 0 : PTE_NX),
	                 __ATOMIC_RELAXED);
	return E_OK;
}

int arch_unmap(struct arch_aspace *as, vaddr_t va, paddr_t *old)
{
	int err = E_NOENT; /* the walk sets it; the analyzer cannot tell */
	uint64_t *e = pt_leaf(as->root, va_raw(va), &err);
	if (!e)
		return err;
	/* One exchange, so the frame returned is the one the entry held. */
	uint64_t was = __atomic_exchange_n(e, 0, __ATOMIC_RELAXED);
	if (active_here(as))
		invlpg(va_raw(va));
	*old = pa_make(was & PTE_ADDR);
	return E_OK;
}

int arch_query(const struct arch_aspace *as, vaddr_t va, paddr_t *pa, unsigned *prot)
{
	int err = E_NOENT; /* the walk sets it; the analyzer cannot tell */
	const uint64_t *e = pt_leaf(as->root, va_raw(va), &err);
	if (!e)
		return err;
	uint64_t v = __atomic_load_n(e, __ATOMIC_RELAXED);
	*pa = pa_make(v & PTE_ADDR);
	/* x86_64 cannot make a present page unreadable. */
	*prot = MMU_READ | (v & PTE_W ? MMU_WRITE : 0) | (v & PTE_U ? MMU_USER : 0) |
	        (v & PTE_NX ? 0 : MMU_EXEC);
	return E_OK;
}

int arch_read_clear_ad(struct arch_aspace *as, vaddr_t va, unsigned *ad)
{
	int err = E_NOENT; /* the walk sets it; the analyzer cannot tell */
	uint64_t *e = pt_leaf(as->root, va_raw(va), &err);
	if (!e)
		return err;
	/* Locked, like the walker's own A/D updates from cores running as. */
	uint64_t was = __atomic_fetch_and(e, ~(PTE_A | PTE_D), __ATOMIC_RELAXED);
	/* A TLB entry that already has D set would let writes go unrecorded. */
	if (active_here(as))
		invlpg(va_raw(va));
	*ad = (was & PTE_A ? MMU_ACCESSED : 0) | (was & PTE_D ? MMU_DIRTY : 0);
	return E_OK;
}

void arch_aspace_activate(const struct arch_aspace *as)
{
	load_cr3(pa_raw(as->root));
}

void arch_aspace_activate_kernel(void)
{
	load_cr3(pa_raw(arch_virt_to_phys(boot_pml4)));
}

void arch_tlb_flush_page(vaddr_t va)
{
	invlpg(va_raw(va));
}

/* No entry sets the global bit (nor is CR4.PGE on), so a reload drops them all. */
void arch_tlb_flush_all(void)
{
	load_cr3(read_cr3());
}
