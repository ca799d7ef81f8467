/*
 * arch/mm.h on the host: x86_64-format four-level page tables kept in
 * simulated physical memory, plus sim_mmu_touch, which sets accessed and
 * dirty bits the way the hardware's page walker would.
 *
 * The entry format is x86_64's so that the tables a test builds are the
 * tables the kernel would build, and a reader of one file can read the
 * other. Intermediate entries are fully permissive (present, write, user);
 * only the last level says what an access may do, as on x86_64, where the
 * effective rights are the intersection over the levels.
 */
#include "sim_impl.h"

#include <arch/mm.h>
#include <arch/phys.h>
#include <exo/panic.h>

#define PTE_P     (1ULL << 0)
#define PTE_W     (1ULL << 1)
#define PTE_U     (1ULL << 2)
#define PTE_A     (1ULL << 5)
#define PTE_D     (1ULL << 6)
#define PTE_NX    (1ULL << 63)
#define PTE_ADDR  0x000ffffffffff000ULL /* bits 12..51: the frame */
#define PTE_TABLE (PTE_P | PTE_W | PTE_U)

#define LEVELS       4
#define ENTRIES      512
#define MMU_PROT_ALL (MMU_READ | MMU_WRITE | MMU_EXEC | MMU_USER)

_Static_assert(ENTRIES * sizeof(uint64_t) == PAGE_SIZE, "a table fills a page");

/* Index of va in the table at level (3: PML4 ... 0: the page table). */
static unsigned pt_index(uint64_t va, unsigned level)
{
	return (unsigned)(va >> (PAGE_SHIFT + 9 * level)) & (ENTRIES - 1);
}

/* A table page by physical address; a misaligned one is a corrupt entry or allocator. */
static uint64_t *pt_table(uint64_t pa)
{
	if (!IS_ALIGNED(pa, PAGE_SIZE))
		panic("mm: table page 0x%llx is not page-aligned", (unsigned long long)pa);
	return arch_phys_to_virt(pa_make(pa));
}

static bool va_ok(uint64_t va)
{
	return IS_ALIGNED(va, PAGE_SIZE) && va >= ARCH_USER_BASE && va < ARCH_USER_END;
}

/* Take a table page from the caller and hold it to the contract. */
static int pt_alloc(const struct arch_pt_alloc *a, uint64_t *pa)
{
	paddr_t p;
	if (a->alloc(a->ctx, &p) != E_OK)
		return E_NOMEM;
	const uint64_t *t = pt_table(pa_raw(p));
	if (pa_raw(p) + PAGE_SIZE > sim_phys_size)
		panic("mm: table page 0x%llx runs past simulated memory",
		      (unsigned long long)pa_raw(p));
	for (unsigned i = 0; i < ENTRIES; i++)
		if (t[i])
			panic("mm: the allocator gave table page 0x%llx that is not zeroed",
			      (unsigned long long)pa_raw(p));
	*pa = pa_raw(p);
	return E_OK;
}

/*
 * Walk to va's last-level entry. With create, missing tables come from a,
 * all taken before any is linked in, so a failure leaves the tree as it
 * was and gives back what it took. NULL (with *err) if there is no entry.
 */
static uint64_t *pt_walk(paddr_t root, const struct arch_pt_alloc *a, uint64_t va, int *err)
{
	uint64_t *t = pt_table(pa_raw(root));
	unsigned level = LEVELS - 1;
	for (; level > 0; level--) {
		uint64_t e = t[pt_index(va, level)];
		if (!(e & PTE_P))
			break;
		t = pt_table(e & PTE_ADDR);
	}
	if (level == 0)
		return &t[pt_index(va, 0)];
	if (!a) {
		*err = E_NOENT;
		return NULL;
	}

	/* Tables for levels level-1 .. 0 are missing: one page each. */
	uint64_t fresh[LEVELS - 1];
	for (unsigned i = 0; i < level; i++) {
		if (pt_alloc(a, &fresh[i]) != E_OK) {
			while (i--)
				a->free(a->ctx, pa_make(fresh[i]));
			*err = E_NOMEM;
			return NULL;
		}
	}
	for (unsigned i = 0; level > 0; level--, i++) {
		t[pt_index(va, level)] = fresh[i] | PTE_TABLE;
		t = pt_table(fresh[i]);
	}
	return &t[pt_index(va, 0)];
}

int arch_aspace_init(struct arch_aspace *as, const struct arch_pt_alloc *a)
{
	uint64_t root;
	if (pt_alloc(a, &root) != E_OK)
		return E_NOMEM;
	as->root = pa_make(root);
	return E_OK;
}

/* Free the table at pa (at level) and every table below it. */
static void pt_free(const struct arch_pt_alloc *a, uint64_t pa, unsigned level, uint64_t va)
{
	uint64_t *t = pt_table(pa);
	for (unsigned i = 0; i < ENTRIES; i++) {
		if (!(t[i] & PTE_P))
			continue;
		uint64_t sub = va | ((uint64_t)i << (PAGE_SHIFT + 9 * level));
		if (level == 0)
			panic("mm: aspace destroyed with va 0x%llx still mapped",
			      (unsigned long long)sub);
		pt_free(a, t[i] & PTE_ADDR, level - 1, sub);
	}
	a->free(a->ctx, pa_make(pa));
}

void arch_aspace_destroy(struct arch_aspace *as, const struct arch_pt_alloc *a)
{
	pt_free(a, pa_raw(as->root), LEVELS - 1, 0);
}

/*
 * Unlink empty tables below the table at pa (level > 0) into pages, while
 * fewer than max are taken. True if the table maps nothing afterwards.
 */
static bool pt_trim(uint64_t pa, unsigned level, paddr_t *pages, unsigned max, unsigned *n)
{
	uint64_t *t = pt_table(pa);
	unsigned lim = ENTRIES;
	bool empty = true;
	for (unsigned i = 0; i < lim; i++) {
		uint64_t e = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
		if (!(e & PTE_P))
			continue;
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
	/* Decode: every check before anything is taken or written. */
	if (!va_ok(va_raw(va)) || !IS_ALIGNED(pa_raw(pa), PAGE_SIZE) || pa_raw(pa) & ~PTE_ADDR ||
	    prot & ~MMU_PROT_ALL)
		return E_INVAL;
	int err = E_OK;
	uint64_t *e = pt_walk(as->root, NULL, va_raw(va), &err);
	if (e && *e & PTE_P)
		return E_EXIST;
	/* A missing table means va is unmapped: only now take pages. */
	if (!e && !(e = pt_walk(as->root, a, va_raw(va), &err)))
		return err;
	*e = pa_raw(pa) | PTE_P | (prot & MMU_WRITE ? PTE_W : 0) | (prot & MMU_USER ? PTE_U : 0) |
	     (prot & MMU_EXEC ? 0 : PTE_NX);
	return E_OK;
}

/* va's present last-level entry, or NULL with *err set. */
static uint64_t *pt_lookup(paddr_t root, uint64_t va, int *err)
{
	if (!va_ok(va)) {
		*err = E_INVAL;
		return NULL;
	}
	uint64_t *e = pt_walk(root, NULL, va, err);
	if (e && !(*e & PTE_P)) {
		*err = E_NOENT;
		return NULL;
	}
	return e;
}

int arch_unmap(struct arch_aspace *as, vaddr_t va, paddr_t *old)
{
	int err = E_NOENT; /* the walk sets it; the analyzer cannot tell */
	uint64_t *e = pt_lookup(as->root, va_raw(va), &err);
	if (!e)
		return err;
	*old = pa_make(*e & PTE_ADDR);
	*e = 0; /* no TLB to shoot down on the host */
	return E_OK;
}

int arch_query(const struct arch_aspace *as, vaddr_t va, paddr_t *pa, unsigned *prot)
{
	int err = E_NOENT; /* the walk sets it; the analyzer cannot tell */
	const uint64_t *e = pt_lookup(as->root, va_raw(va), &err);
	if (!e)
		return err;
	*pa = pa_make(*e & PTE_ADDR);
	/* x86_64 cannot make a present page unreadable. */
	*prot = MMU_READ | (*e & PTE_W ? MMU_WRITE : 0) | (*e & PTE_U ? MMU_USER : 0) |
	        (*e & PTE_NX ? 0 : MMU_EXEC);
	return E_OK;
}

int arch_read_clear_ad(struct arch_aspace *as, vaddr_t va, unsigned *ad)
{
	int err = E_NOENT; /* the walk sets it; the analyzer cannot tell */
	uint64_t *e = pt_lookup(as->root, va_raw(va), &err);
	if (!e)
		return err;
	*ad = (*e & PTE_A ? MMU_ACCESSED : 0) | (*e & PTE_D ? MMU_DIRTY : 0);
	*e &= ~(PTE_A | PTE_D);
	return E_OK;
}

int sim_mmu_touch(struct arch_aspace *as, vaddr_t va, bool write)
{
	uint64_t v = ALIGN_DOWN(va_raw(va), PAGE_SIZE);
	if (v < ARCH_USER_BASE || v >= ARCH_USER_END)
		return E_NOENT;
	/* First find whether the access would fault: a fault sets no bit. */
	int err;
	uint64_t *leaf = pt_walk(as->root, NULL, v, &err);
	if (!leaf || !(*leaf & PTE_P))
		return E_NOENT;
	if (write && !(*leaf & PTE_W))
		return E_INVAL;
	/* The walker sets accessed in every entry it used, dirty in the last. */
	uint64_t *t = pt_table(pa_raw(as->root));
	for (unsigned level = LEVELS - 1; level > 0; level--) {
		uint64_t *e = &t[pt_index(v, level)];
		*e |= PTE_A;
		t = pt_table(*e & PTE_ADDR);
	}
	*leaf |= PTE_A | (write ? PTE_D : 0);
	return E_OK;
}

void arch_aspace_activate(const struct arch_aspace *as)
{
	sim_cur(sim_top())->aspace_root = pa_raw(as->root);
}

void arch_aspace_activate_kernel(void)
{
	sim_cur(sim_top())->aspace_root = SIM_KERNEL_ASPACE;
}

void arch_tlb_flush_all(void)
{
	/* No TLB is modelled: every walk reads the tables. Count for the tests. */
	sim_cur(sim_top())->tlb_flushes++;
}

void arch_tlb_flush_page(vaddr_t va)
{
	(void)va;
	sim_cur(sim_top())->tlb_flushes++; /* as arch_tlb_flush_all: counted, nothing cached */
}
