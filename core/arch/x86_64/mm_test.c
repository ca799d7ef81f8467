/*
 * x86_64 page tables (mm.c) in the guest: the arch/mm.h contract on real
 * tables, then the hardware's view of them — activate an address space,
 * touch its user addresses from the kernel, and watch the accessed/dirty
 * bits, the TLB and the page faults.
 *
 * Table pages come from a counting allocator over static pools, so a test
 * sees every page taken and given back, and can make the allocator refuse
 * after K pages. Each-cpu tests give every core its own pool and address
 * space, all built and switched to at once.
 */
#include <arch/mm.h>
#include <arch/phys.h>
#include <arch/x86.h>
#include <exo/string.h>
#include <exo/test.h>
#include <percpu.h>

/* The entry bits the tests look at directly (mm.c keeps its own). */
#define PTE_P    (1ULL << 0)
#define PTE_W    (1ULL << 1)
#define PTE_U    (1ULL << 2)
#define PTE_NX   (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

/* #PF error code bits. */
#define PF_P  (1u << 0)
#define PF_W  (1u << 1)
#define PF_U  (1u << 2)
#define PF_ID (1u << 4)

#define VEC_PF     14
#define BIG_PAGES  64
#define CORE_PAGES 8
#define NEVER      (~0u)

extern uint64_t boot_pml4[512];

static uint8_t big_pages[BIG_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t core_pages[MAX_CPUS][CORE_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* A page allocator over n static pages (n <= 64: one bit each). */
struct pool {
	uint8_t (*pages)[PAGE_SIZE];
	unsigned n;
	uint64_t used;       /* bit i: pages[i] is handed out */
	unsigned allocs;     /* pages handed out so far */
	unsigned frees;      /* pages given back so far */
	unsigned bad_frees;  /* gives of a page that is not out, or not ours */
	unsigned fail_after; /* allocations that succeed; every later one fails */
};

static int pool_alloc(void *ctx, paddr_t *out)
{
	struct pool *p = ctx;
	if (p->allocs >= p->fail_after || p->used == (p->n == 64 ? ~0ULL : (1ULL << p->n) - 1))
		return E_NOMEM;
	unsigned i = (unsigned)__builtin_ctzll(~p->used);
	p->used |= 1ULL << i;
	p->allocs++;
	/* Zeroed, as the contract says; a test may have left data in it. */
	memset(p->pages[i], 0, PAGE_SIZE);
	*out = arch_virt_to_phys(p->pages[i]);
	return E_OK;
}

static void pool_free(void *ctx, paddr_t page)
{
	struct pool *p = ctx;
	uint64_t off = pa_raw(page) - pa_raw(arch_virt_to_phys(p->pages));
	unsigned i = (unsigned)(off / PAGE_SIZE);
	if (!IS_ALIGNED(off, PAGE_SIZE) || off >= (uint64_t)p->n * PAGE_SIZE ||
	    !(p->used & (1ULL << i))) {
		p->bad_frees++;
		return;
	}
	p->used &= ~(1ULL << i);
	p->frees++;
}

static struct pool pool_make(uint8_t (*pages)[PAGE_SIZE], unsigned n)
{
	return (struct pool){.pages = pages, .n = n, .fail_after = NEVER};
}

static struct arch_pt_alloc pool_allocator(struct pool *p)
{
	return (struct arch_pt_alloc){.alloc = pool_alloc, .free = pool_free, .ctx = p};
}

static unsigned pool_in_use(const struct pool *p)
{
	return (unsigned)__builtin_popcountll(p->used);
}

/* Take a page for test data (a mapped frame) from the pool: its address both ways. */
static uint8_t *pool_data(struct pool *p, paddr_t *pa)
{
	if (pool_alloc(p, pa) != E_OK)
		return NULL;
	return arch_phys_to_virt(*pa);
}

/* The entry for va in its table at level (3: PML4 .. 0: PT); 0 if a table above is missing. */
static uint64_t pte_at(const struct arch_aspace *as, uint64_t va, unsigned level)
{
	uint64_t e = pa_raw(as->root) | PTE_P;
	for (unsigned l = 3;; l--) {
		if (!(e & PTE_P))
			return 0;
		const uint64_t *t = arch_phys_to_virt(pa_make(e & PTE_ADDR));
		e = t[(va >> (PAGE_SHIFT + 9 * l)) & 511];
		if (l == level)
			return e;
	}
}

/* A frame number the logic tests map but never touch (the tables are never activated). */
static paddr_t frame(unsigned i)
{
	return pa_make(0x10000000ULL + (uint64_t)i * PAGE_SIZE);
}

static vaddr_t user_va(uint64_t off)
{
	return va_make(ARCH_USER_BASE + off);
}

TEST(mm, init_shares_kernel_half_only)
{
	struct pool p = pool_make(big_pages, BIG_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	EXPECT_EQ(t, p.allocs, 1);
	const uint64_t *pml4 = arch_phys_to_virt(as.root);
	unsigned user = 0, differ = 0;
	for (unsigned i = 0; i < 256; i++)
		user += pml4[i] != 0;
	for (unsigned i = 256; i < 512; i++)
		differ += pml4[i] != boot_pml4[i];
	EXPECT_EQ(t, user, 0);
	EXPECT_EQ(t, differ, 0);
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, pool_in_use(&p), 0);
	EXPECT_EQ(t, p.bad_frees, 0);

	/* No page for the PML4: refused, nothing taken. */
	p.fail_after = p.allocs;
	EXPECT_EQ(t, arch_aspace_init(&as, &a), E_NOMEM);
	EXPECT_EQ(t, pool_in_use(&p), 0);
}

TEST_EACH_CPU(mm, map_query_unmap, 1)
{
	/* Every core at once, each in its own address space from its own pool. */
	struct pool p = pool_make(core_pages[cpu_id()], CORE_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	static const unsigned prots[] = {
	    MMU_READ | MMU_WRITE | MMU_USER,
	    MMU_READ | MMU_EXEC | MMU_USER,
	    MMU_READ | MMU_WRITE | MMU_EXEC | MMU_USER,
	    MMU_READ | MMU_USER,
	    MMU_READ | MMU_WRITE, /* a kernel-only page: no U bit */
	};
	unsigned core = cpu_id();
	for (unsigned i = 0; i < ARRAY_SIZE(prots); i++)
		ASSERT_EQ(t,
		          arch_map(&as, &a, user_va(i * PAGE_SIZE), frame(core * 8 + i), prots[i]),
		          E_OK);
	/* One PML4, PDPT, PD and PT: every mapping shares the last three. */
	EXPECT_EQ(t, pool_in_use(&p), 4);
	for (unsigned i = 0; i < ARRAY_SIZE(prots); i++) {
		paddr_t pa;
		unsigned prot;
		ASSERT_EQ(t, arch_query(&as, user_va(i * PAGE_SIZE), &pa, &prot), E_OK);
		EXPECT_EQ(t, pa_raw(pa), pa_raw(frame(core * 8 + i)));
		EXPECT_EQ(t, prot, prots[i]);
	}
	/* The bits themselves: U only with MMU_USER, RW with MMU_WRITE, NX without MMU_EXEC. */
	EXPECT_EQ(t, pte_at(&as, va_raw(user_va(0)), 0),
	          pa_raw(frame(core * 8)) | PTE_P | PTE_W | PTE_U | PTE_NX);
	EXPECT_EQ(t, pte_at(&as, va_raw(user_va(4 * PAGE_SIZE)), 0),
	          pa_raw(frame(core * 8 + 4)) | PTE_P | PTE_W | PTE_NX);
	/* Intermediate entries allow everything; the leaf decides. */
	for (unsigned level = 1; level <= 3; level++)
		EXPECT_EQ(t, pte_at(&as, va_raw(user_va(0)), level) & ~PTE_ADDR,
		          PTE_P | PTE_W | PTE_U);

	for (unsigned i = 0; i < ARRAY_SIZE(prots); i++) {
		paddr_t old;
		unsigned prot;
		ASSERT_EQ(t, arch_unmap(&as, user_va(i * PAGE_SIZE), &old), E_OK);
		EXPECT_EQ(t, pa_raw(old), pa_raw(frame(core * 8 + i)));
		EXPECT_EQ(t, arch_query(&as, user_va(i * PAGE_SIZE), &old, &prot), E_NOENT);
		EXPECT_EQ(t, pte_at(&as, va_raw(user_va(i * PAGE_SIZE)), 0), 0);
	}
	/* Unmap keeps the tables (mm.c); mapping again takes no page. */
	EXPECT_EQ(t, pool_in_use(&p), 4);
	EXPECT_EQ(t, arch_map(&as, &a, user_va(0), frame(core * 8 + 7), MMU_READ), E_OK);
	EXPECT_EQ(t, p.allocs, 4);
	paddr_t old;
	EXPECT_EQ(t, arch_unmap(&as, user_va(0), &old), E_OK);
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, pool_in_use(&p), 0);
	EXPECT_EQ(t, p.frees, p.allocs);
	EXPECT_EQ(t, p.bad_frees, 0);
}

/* Addresses no function may accept: misaligned, below or past user space, kernel, non-canonical. */
static const uint64_t bad_vas[] = {
    ARCH_USER_BASE + 1,
    ARCH_USER_BASE + 8,
    ARCH_USER_BASE + PAGE_SIZE / 2,
    0,
    ARCH_USER_BASE - PAGE_SIZE,
    ARCH_USER_END,
    0x0000800000000000ULL, /* the first non-canonical address */
    0x00f0000000000000ULL,
    0x7ffffffffffff000ULL,
    0xffff000000000000ULL,
    0xffff800000000000ULL, /* the direct map */
    0xffffffff80000000ULL, /* the kernel image */
    0xfffffffffffff000ULL,
};

TEST(mm, map_rejects_bad_arguments)
{
	struct pool p = pool_make(big_pages, BIG_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	unsigned rw = MMU_READ | MMU_WRITE | MMU_USER;
	for (unsigned i = 0; i < ARRAY_SIZE(bad_vas); i++)
		if (!EXPECT_EQ(t, arch_map(&as, &a, va_make(bad_vas[i]), frame(0), rw), E_INVAL))
			kprintf("mm: va 0x%llx accepted\n", (unsigned long long)bad_vas[i]);

	/* Physical addresses: misaligned, or past what this CPU decodes. */
	unsigned maxphys = cpuid(0x80000008, 0).eax & 0xff;
	EXPECT_EQ(t, arch_map(&as, &a, user_va(0), pa_make(pa_raw(frame(0)) + 8), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &a, user_va(0), pa_make(pa_raw(frame(0)) + 0x800), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &a, user_va(0), pa_make(1ULL << maxphys), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &a, user_va(0), pa_make(1ULL << 52), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &a, user_va(0), pa_make(~0ULL << PAGE_SHIFT), rw), E_INVAL);
	/* Unknown prot bits. */
	EXPECT_EQ(t, arch_map(&as, &a, user_va(0), frame(0), MMU_READ | (1u << 4)), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &a, user_va(0), frame(0), ~0u), E_INVAL);
	/* Refused before anything was taken. */
	EXPECT_EQ(t, p.allocs, 1);

	/* The edges of user space, and the highest frame the CPU decodes, are fine. */
	paddr_t top = pa_make((1ULL << maxphys) - PAGE_SIZE);
	EXPECT_EQ(t, arch_map(&as, &a, va_make(ARCH_USER_BASE), frame(1), rw), E_OK);
	EXPECT_EQ(t, arch_map(&as, &a, va_make(ARCH_USER_END - PAGE_SIZE), top, rw), E_OK);

	/* E_EXIST, with any frame or prot; the first mapping stands. */
	EXPECT_EQ(t, arch_map(&as, &a, va_make(ARCH_USER_BASE), frame(1), rw), E_EXIST);
	EXPECT_EQ(t, arch_map(&as, &a, va_make(ARCH_USER_BASE), frame(2), MMU_READ), E_EXIST);
	paddr_t pa;
	unsigned prot;
	EXPECT_EQ(t, arch_query(&as, va_make(ARCH_USER_BASE), &pa, &prot), E_OK);
	EXPECT_EQ(t, pa_raw(pa), pa_raw(frame(1)));
	EXPECT_EQ(t, prot, rw);
	EXPECT_EQ(t, arch_query(&as, va_make(ARCH_USER_END - PAGE_SIZE), &pa, &prot), E_OK);
	EXPECT_EQ(t, pa_raw(pa), pa_raw(top));

	EXPECT_EQ(t, arch_unmap(&as, va_make(ARCH_USER_BASE), &pa), E_OK);
	EXPECT_EQ(t, arch_unmap(&as, va_make(ARCH_USER_END - PAGE_SIZE), &pa), E_OK);
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, pool_in_use(&p), 0);
	EXPECT_EQ(t, p.bad_frees, 0);
}

TEST(mm, lookups_reject_bad_addresses)
{
	struct pool p = pool_make(big_pages, BIG_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	paddr_t pa;
	unsigned prot, ad;
	for (unsigned i = 0; i < ARRAY_SIZE(bad_vas); i++) {
		vaddr_t v = va_make(bad_vas[i]);
		EXPECT_EQ(t, arch_query(&as, v, &pa, &prot), E_INVAL);
		EXPECT_EQ(t, arch_unmap(&as, v, &pa), E_INVAL);
		EXPECT_EQ(t, arch_read_clear_ad(&as, v, &ad), E_INVAL);
	}
	/* Unmapped with no tables under it, and next to a mapping (tables present). */
	vaddr_t none = user_va(0), near = user_va(PAGE_SIZE);
	EXPECT_EQ(t, arch_query(&as, none, &pa, &prot), E_NOENT);
	EXPECT_EQ(t, arch_unmap(&as, none, &pa), E_NOENT);
	EXPECT_EQ(t, arch_read_clear_ad(&as, none, &ad), E_NOENT);
	ASSERT_EQ(t, arch_map(&as, &a, user_va(0), frame(0), MMU_READ | MMU_USER), E_OK);
	EXPECT_EQ(t, arch_query(&as, near, &pa, &prot), E_NOENT);
	EXPECT_EQ(t, arch_unmap(&as, near, &pa), E_NOENT);
	EXPECT_EQ(t, arch_read_clear_ad(&as, near, &ad), E_NOENT);
	/* A misaligned address inside a mapped page is still malformed. */
	EXPECT_EQ(t, arch_query(&as, user_va(8), &pa, &prot), E_INVAL);
	EXPECT_EQ(t, arch_unmap(&as, user_va(8), &pa), E_INVAL);
	EXPECT_EQ(t, arch_read_clear_ad(&as, user_va(8), &ad), E_INVAL);
	/* Gone after unmap, and a second unmap says so. */
	EXPECT_EQ(t, arch_unmap(&as, user_va(0), &pa), E_OK);
	EXPECT_EQ(t, arch_unmap(&as, user_va(0), &pa), E_NOENT);
	EXPECT_EQ(t, arch_query(&as, user_va(0), &pa, &prot), E_NOENT);
	EXPECT_EQ(t, arch_read_clear_ad(&as, user_va(0), &ad), E_NOENT);
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, pool_in_use(&p), 0);
}

/*
 * Map va when `missing` tables are absent on its path, with the allocator
 * refusing the first, second, ... such table: each time E_NOMEM, every
 * page taken given back, the entry that would have linked the first new
 * table still empty, va unmapped. Then with no limit: mapped.
 */
static void map_fails_at_each_depth(struct test_ctx *t, struct pool *p, struct arch_aspace *as,
                                    uint64_t va, unsigned missing, paddr_t pa)
{
	struct arch_pt_alloc a = pool_allocator(p);
	unsigned in_use = pool_in_use(p), link_level = missing; /* 3 missing: the PML4 entry */
	for (unsigned k = 0; k < missing; k++) {
		p->fail_after = p->allocs + k;
		paddr_t got;
		unsigned prot;
		EXPECT_EQ(t, arch_map(as, &a, va_make(va), pa, MMU_READ | MMU_USER), E_NOMEM);
		EXPECT_EQ(t, pool_in_use(p), in_use);
		EXPECT_EQ(t, pte_at(as, va, link_level), 0);
		EXPECT_EQ(t, arch_query(as, va_make(va), &got, &prot), E_NOENT);
	}
	p->fail_after = NEVER;
	unsigned before = p->allocs;
	EXPECT_EQ(t, arch_map(as, &a, va_make(va), pa, MMU_READ | MMU_USER), E_OK);
	EXPECT_EQ(t, p->allocs - before, missing);
}

TEST(mm, nomem_at_every_depth_changes_nothing)
{
	struct pool p = pool_make(big_pages, BIG_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	uint64_t base = ARCH_USER_BASE;
	/* PDPT, PD and PT missing; then PD and PT (next GiB); then PT (next 2 MiB). */
	map_fails_at_each_depth(t, &p, &as, base, 3, frame(0));
	map_fails_at_each_depth(t, &p, &as, base + (1ULL << 30), 2, frame(1));
	map_fails_at_each_depth(t, &p, &as, base + (2ULL << 20), 1, frame(2));
	/* Every table present: no page needed, so a refusing allocator does not matter. */
	p.fail_after = p.allocs;
	EXPECT_EQ(t, arch_map(&as, &a, va_make(base + PAGE_SIZE), frame(3), MMU_READ), E_OK);
	p.fail_after = NEVER;

	/* The earlier mappings came through untouched. */
	uint64_t vas[] = {base, base + (1ULL << 30), base + (2ULL << 20), base + PAGE_SIZE};
	for (unsigned i = 0; i < ARRAY_SIZE(vas); i++) {
		paddr_t pa;
		unsigned prot;
		EXPECT_EQ(t, arch_query(&as, va_make(vas[i]), &pa, &prot), E_OK);
		EXPECT_EQ(t, pa_raw(pa), pa_raw(frame(i)));
		EXPECT_EQ(t, arch_unmap(&as, va_make(vas[i]), &pa), E_OK);
	}
	/* PML4 + 3 + 2 + 1 tables. */
	EXPECT_EQ(t, pool_in_use(&p), 7);
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, pool_in_use(&p), 0);
	EXPECT_EQ(t, p.frees, p.allocs);
	EXPECT_EQ(t, p.bad_frees, 0);
}

TEST(mm, destroy_frees_every_table)
{
	struct pool p = pool_make(big_pages, BIG_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	/* Spread over PML4, PDPT, PD and PT entries; each with the tables it adds. */
	static const struct {
		uint64_t va;
		unsigned tables;
	} maps[] = {
	    {ARCH_USER_BASE, 3},
	    {ARCH_USER_BASE + PAGE_SIZE, 0},
	    {ARCH_USER_BASE + (2ULL << 20), 1},
	    {ARCH_USER_BASE + (1ULL << 30), 2},
	    {1ULL << 39, 3},
	    {(1ULL << 39) + (511ULL << 30), 2},
	    {ARCH_USER_END - PAGE_SIZE, 3},
	};
	unsigned tables = 1;
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++) {
		unsigned before = p.allocs;
		EXPECT_EQ(t, arch_map(&as, &a, va_make(maps[i].va), frame(i), MMU_READ | MMU_USER),
		          E_OK);
		EXPECT_EQ(t, p.allocs - before, maps[i].tables);
		tables += maps[i].tables;
	}
	EXPECT_EQ(t, pool_in_use(&p), tables);
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++) {
		paddr_t old;
		EXPECT_EQ(t, arch_unmap(&as, va_make(maps[i].va), &old), E_OK);
	}
	/* Unmap frees no table; destroy frees them all, each once, and not the kernel's. */
	EXPECT_EQ(t, pool_in_use(&p), tables);
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, pool_in_use(&p), 0);
	EXPECT_EQ(t, p.frees, tables);
	EXPECT_EQ(t, p.bad_frees, 0);
}

/*
 * Provoke #PF by an access of addr (a write if write); returns after the
 * trap handler resumed us. p->fault_vector says whether it faulted.
 */
static void touch_expecting_fault(struct percpu *p, uintptr_t addr, bool write)
{
	p->fault_vector = -1;
	p->expect_vector = VEC_PF;
	if (write)
		__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
		                 "movq %%rax, %0\n\t"
		                 "movq $0x5a, (%1)\n"
		                 "1:"
		                 : "=m"(p->expect_resume)
		                 : "r"(addr)
		                 : "rax", "memory");
	else
		__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
		                 "movq %%rax, %0\n\t"
		                 "movq (%1), %%rax\n"
		                 "1:"
		                 : "=m"(p->expect_resume)
		                 : "r"(addr)
		                 : "rax", "memory");
	p->expect_vector = -1; /* had it not faulted */
}

/*
 * Jump to addr, where the code page holds "jmp *%rcx" back to us: with a
 * fetch fault the handler resumes us at the same place, so either way we
 * return here, and p->fault_vector says which.
 */
static void fetch_expecting_fault(struct percpu *p, uintptr_t addr)
{
	p->fault_vector = -1;
	p->expect_vector = VEC_PF;
	__asm__ volatile("leaq 1f(%%rip), %%rcx\n\t"
	                 "movq %%rcx, %0\n\t"
	                 "jmp *%1\n"
	                 "1:"
	                 : "=m"(p->expect_resume)
	                 : "r"(addr)
	                 : "rcx", "memory");
	p->expect_vector = -1;
}

static const uint8_t jmp_rcx[] = {0xff, 0xe1};

/* A user address no boot mapping covers (the kernel tables map only 0..4 GiB below the half). */
#define HW_VA 0x00007e0000000000ULL

TEST_EACH_CPU(mm, hardware_sees_the_tables, 1)
{
	struct percpu *me = this_cpu();
	struct pool p = pool_make(core_pages[cpu_id()], CORE_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	paddr_t rw_pa, ro_pa, code_pa;
	uint8_t *rw = pool_data(&p, &rw_pa), *ro = pool_data(&p, &ro_pa);
	uint8_t *code = pool_data(&p, &code_pa);
	ASSERT(t, rw && ro && code);
	memcpy(code, jmp_rcx, sizeof(jmp_rcx));
	ro[0] = 0x77;

	/* The same user addresses on every core, each to its own frames. */
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	vaddr_t v_rw = va_make(HW_VA), v_ro = va_make(HW_VA + PAGE_SIZE);
	vaddr_t v_x = va_make(HW_VA + 2 * PAGE_SIZE), v_nx = va_make(HW_VA + 3 * PAGE_SIZE);
	ASSERT_EQ(t, arch_map(&as, &a, v_rw, rw_pa, MMU_READ | MMU_WRITE | MMU_USER), E_OK);
	ASSERT_EQ(t, arch_map(&as, &a, v_ro, ro_pa, MMU_READ | MMU_USER), E_OK);
	ASSERT_EQ(t, arch_map(&as, &a, v_x, code_pa, MMU_READ | MMU_EXEC | MMU_USER), E_OK);
	ASSERT_EQ(t, arch_map(&as, &a, v_nx, code_pa, MMU_READ | MMU_USER), E_OK);

	arch_aspace_activate(&as);
	EXPECT_EQ(t, read_cr3() & PTE_ADDR, pa_raw(as.root));
	user_access_begin(); /* SMAP: this test touches user addresses on purpose */

	/* Write through the user address; it lands in this core's frame. */
	volatile uint64_t *u = (volatile uint64_t *)va_raw(v_rw);
	uint64_t mine = 0xc0de000000000000ULL | cpu_id();
	*u = mine;
	EXPECT_EQ(t, *(volatile uint64_t *)rw, mine);
	unsigned ad = ~0u;
	EXPECT_EQ(t, arch_read_clear_ad(&as, v_rw, &ad), E_OK);
	EXPECT_EQ(t, ad, MMU_ACCESSED | MMU_DIRTY);
	EXPECT_EQ(t, arch_read_clear_ad(&as, v_rw, &ad), E_OK);
	EXPECT_EQ(t, ad, 0);
	/* Cleared and flushed: a read sets accessed alone, then a write dirty again. */
	EXPECT_EQ(t, *u, mine);
	EXPECT_EQ(t, arch_read_clear_ad(&as, v_rw, &ad), E_OK);
	EXPECT_EQ(t, ad, MMU_ACCESSED);
	*u = mine + 1;
	EXPECT_EQ(t, arch_read_clear_ad(&as, v_rw, &ad), E_OK);
	EXPECT_EQ(t, ad, MMU_ACCESSED | MMU_DIRTY);

	/* Read-only: readable, and a write faults even from the kernel (CR0.WP). */
	EXPECT_EQ(t, *(volatile uint8_t *)va_raw(v_ro), 0x77);
	touch_expecting_fault(me, va_raw(v_ro), true);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_addr, va_raw(v_ro));
	EXPECT_EQ(t, me->fault_error & (PF_P | PF_W | PF_U | PF_ID), PF_P | PF_W);
	EXPECT_EQ(t, ro[0], 0x77);
	EXPECT_EQ(t, arch_read_clear_ad(&as, v_ro, &ad), E_OK);
	EXPECT(t, !(ad & MMU_DIRTY));

	/* Fetch: the MMU_EXEC alias runs, the other (NX) faults; with SMEP both fault. */
	if (read_cr4() & CR4_SMEP) {
		fetch_expecting_fault(me, va_raw(v_x));
		EXPECT_EQ(t, me->fault_vector, VEC_PF);
		EXPECT_EQ(t, me->fault_error & (PF_P | PF_W | PF_U | PF_ID), PF_P | PF_ID);
		fetch_expecting_fault(me, va_raw(v_nx));
		EXPECT_EQ(t, me->fault_vector, VEC_PF);
	} else {
		fetch_expecting_fault(me, va_raw(v_x));
		EXPECT_EQ(t, me->fault_vector, -1);
		fetch_expecting_fault(me, va_raw(v_nx));
		EXPECT_EQ(t, me->fault_vector, VEC_PF);
		EXPECT_EQ(t, me->fault_addr, va_raw(v_nx));
		EXPECT_EQ(t, me->fault_error & (PF_P | PF_W | PF_U | PF_ID), PF_P | PF_ID);
	}

	/* Unmapped while active: the TLB entry this read leaves must go too. */
	EXPECT_EQ(t, *u, mine + 1);
	paddr_t old;
	EXPECT_EQ(t, arch_unmap(&as, v_rw, &old), E_OK);
	EXPECT_EQ(t, pa_raw(old), pa_raw(rw_pa));
	touch_expecting_fault(me, va_raw(v_rw), false);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_addr, va_raw(v_rw));
	EXPECT_EQ(t, me->fault_error & (PF_P | PF_W | PF_U), 0); /* not present, read, kernel */

	/* Back on the kernel's tables, the user half is gone. */
	arch_aspace_activate_kernel();
	user_access_end();
	EXPECT_EQ(t, read_cr3() & PTE_ADDR, pa_raw(arch_virt_to_phys(boot_pml4)));
	touch_expecting_fault(me, va_raw(v_ro), false);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_addr, va_raw(v_ro));

	EXPECT_EQ(t, arch_unmap(&as, v_ro, &old), E_OK);
	EXPECT_EQ(t, arch_unmap(&as, v_x, &old), E_OK);
	EXPECT_EQ(t, arch_unmap(&as, v_nx, &old), E_OK);
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, pool_in_use(&p), 3); /* the data pages alone */
	EXPECT_EQ(t, p.bad_frees, 0);
}

TEST_EACH_CPU(mm, tlb_flushes_take_new_entries, 1)
{
	struct pool p = pool_make(core_pages[cpu_id()], CORE_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	paddr_t pa0, pa1;
	uint8_t *f0 = pool_data(&p, &pa0), *f1 = pool_data(&p, &pa1);
	ASSERT(t, f0 && f1);
	f0[0] = 0xa0;
	f1[0] = 0xa1;
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	vaddr_t v = va_make(HW_VA);
	ASSERT_EQ(t, arch_map(&as, &a, v, pa0, MMU_READ | MMU_USER), E_OK);
	arch_aspace_activate(&as);
	user_access_begin(); /* SMAP: the test reads the user address itself */
	volatile uint8_t *u = (volatile uint8_t *)va_raw(v);
	EXPECT_EQ(t, *u, 0xa0);

	/*
	 * Retarget the entry behind mm.c's back. The CPU may go on using the
	 * old translation (whether it does is not architectural) until told:
	 * after each flush it must read the new frame.
	 */
	uint64_t *pt = arch_phys_to_virt(pa_make(pte_at(&as, va_raw(v), 1) & PTE_ADDR));
	uint64_t *e = &pt[(va_raw(v) >> PAGE_SHIFT) & 511];
	*e = (*e & ~PTE_ADDR) | pa_raw(pa1);
	arch_tlb_flush_page(v);
	EXPECT_EQ(t, *u, 0xa1);
	*e = (*e & ~PTE_ADDR) | pa_raw(pa0);
	arch_tlb_flush_all();
	EXPECT_EQ(t, *u, 0xa0);
	user_access_end();

	arch_aspace_activate_kernel();
	paddr_t old;
	EXPECT_EQ(t, arch_unmap(&as, v, &old), E_OK);
	EXPECT_EQ(t, pa_raw(old), pa_raw(pa0));
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, pool_in_use(&p), 2);
	EXPECT_EQ(t, p.bad_frees, 0);
}

/*
 * The CPU's protections are on (protect.c): with SMAP the kernel touching a
 * user page through its user address faults, as a protection violation,
 * unless inside an explicit window; with SMEP it cannot run a user page.
 */
TEST_EACH_CPU(mm, smap_and_smep_stop_the_kernel_at_user_pages, 1)
{
	if (!(read_cr4() & CR4_SMAP) || !(read_cr4() & CR4_SMEP)) {
		kprintf("mm: cpu%u: this CPU has no SMAP or SMEP: check skipped\n", cpu_id());
		return;
	}
	struct percpu *me = this_cpu();
	struct pool p = pool_make(core_pages[cpu_id()], CORE_PAGES);
	struct arch_pt_alloc a = pool_allocator(&p);
	paddr_t pa;
	uint8_t *data = pool_data(&p, &pa);
	ASSERT(t, data);
	memcpy(data, jmp_rcx, sizeof(jmp_rcx));
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &a), E_OK);
	vaddr_t v = va_make(HW_VA);
	ASSERT_EQ(t, arch_map(&as, &a, v, pa, MMU_READ | MMU_WRITE | MMU_EXEC | MMU_USER), E_OK);
	arch_aspace_activate(&as);
	/* Outside a window: a read and a write fault on a present page. */
	touch_expecting_fault(me, va_raw(v), false);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_error & (PF_P | PF_W | PF_U), PF_P);
	touch_expecting_fault(me, va_raw(v), true);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_error & (PF_P | PF_W | PF_U), PF_P | PF_W);
	EXPECT_EQ(t, data[0], jmp_rcx[0]); /* the write did not land */
	/* Inside one: the same read works. */
	user_access_begin();
	touch_expecting_fault(me, va_raw(v), false);
	EXPECT_EQ(t, me->fault_vector, -1);
	user_access_end();
	/* A fetch faults even inside a window: SMEP knows no window. */
	fetch_expecting_fault(me, va_raw(v));
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_error & PF_ID, PF_ID);
	arch_aspace_activate_kernel();
	paddr_t old;
	EXPECT_EQ(t, arch_unmap(&as, v, &old), E_OK);
	arch_aspace_destroy(&as, &a);
	EXPECT_EQ(t, p.bad_frees, 0);
}

/* Code bytes in a data page ("jmp *%rcx"): never executable, through any mapping. */
static uint8_t data_code[4096] __attribute__((aligned(4096))) = { 0xff, 0xe1 };

/*
 * The kernel image is W^X (protect.c): its text cannot be written, its data
 * and the direct map cannot be run, and the page below a kernel stack is
 * not mapped at all.
 */
TEST(mm, kernel_image_is_w_xor_x)
{
	struct percpu *me = this_cpu();
	uintptr_t text = (uintptr_t)kernel_wx_init;
	EXPECT_EQ(t, *(volatile uint8_t *)text, *(volatile uint8_t *)text); /* readable */
	touch_expecting_fault(me, text, true);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_error & (PF_P | PF_W | PF_U), PF_P | PF_W);
	fetch_expecting_fault(me, (uintptr_t)data_code);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_error & (PF_P | PF_ID), PF_P | PF_ID);
	uintptr_t alias = (uintptr_t)arch_phys_to_virt(arch_virt_to_phys(data_code));
	EXPECT_EQ(t, *(volatile uint8_t *)alias, 0xff); /* the direct map reads it */
	fetch_expecting_fault(me, alias);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_error & (PF_P | PF_ID), PF_P | PF_ID);
	touch_expecting_fault(me, gdt_stack_guard(cpu_id()), false);
	EXPECT_EQ(t, me->fault_vector, VEC_PF);
	EXPECT_EQ(t, me->fault_error & PF_P, 0); /* not present */
}
