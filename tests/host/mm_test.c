/*
 * arch/mm.h on the host: mappings, every documented error, E_NOMEM leaving
 * nothing behind, accessed/dirty bits, and table pages accounted for.
 * Table pages come from a counting pool over a small simulated machine's
 * memory, which can be told to run dry after a number of pages.
 */
#include <arch/mm.h>
#include <arch/phys.h>
#include <arch/sim.h>
#include <exo/errors.h>
#include <exo/test.h>
#include <stdlib.h>
#include <string.h>

#define POOL_FRAMES 64

struct pool {
	bool used[POOL_FRAMES];
	unsigned allocs, frees, live;
	unsigned bad_frees; /* frees of a page not handed out */
	int fail_after;     /* successful allocations left; -1: unlimited */
};

static int pool_alloc(void *ctx, paddr_t *out)
{
	struct pool *p = ctx;
	if (p->fail_after == 0)
		return E_NOMEM;
	for (unsigned i = 0; i < POOL_FRAMES; i++) {
		if (p->used[i])
			continue;
		p->used[i] = true;
		*out = pa_make(i * PAGE_SIZE);
		memset(arch_phys_to_virt(*out), 0, PAGE_SIZE); /* the contract: zeroed */
		p->allocs++;
		p->live++;
		if (p->fail_after > 0)
			p->fail_after--;
		return E_OK;
	}
	return E_NOMEM;
}

static void pool_free(void *ctx, paddr_t page)
{
	struct pool *p = ctx;
	uint64_t i = pa_raw(page) / PAGE_SIZE;
	if (pa_raw(page) % PAGE_SIZE || i >= POOL_FRAMES || !p->used[i]) {
		p->bad_frees++;
		return;
	}
	p->used[i] = false;
	p->frees++;
	p->live--;
}

static struct pool pool;
static const struct arch_pt_alloc alloc = {.alloc = pool_alloc, .free = pool_free, .ctx = &pool};

/* Frames for mappings are never touched, so any aligned number will do. */
#define FRAME(n) pa_make(0x100000000ULL + (uint64_t)(n)*PAGE_SIZE)
#define VA(off)  va_make(ARCH_USER_BASE + (off))

static void setup(void)
{
	pool = (struct pool){.fail_after = -1};
	sim_init(&(struct sim_config){.ncores = 1, .phys_bytes = POOL_FRAMES * PAGE_SIZE});
}

TEST(mm, map_query_unmap)
{
	setup();
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &alloc), E_OK);
	EXPECT_EQ(t, pool.live, 1);

	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), FRAME(1), MMU_READ | MMU_WRITE | MMU_USER), E_OK);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(PAGE_SIZE), FRAME(2), MMU_READ | MMU_EXEC | MMU_USER),
	          E_OK);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(2 * PAGE_SIZE), FRAME(3), MMU_WRITE), E_OK);

	paddr_t pa;
	unsigned prot;
	EXPECT_EQ(t, arch_query(&as, VA(0), &pa, &prot), E_OK);
	EXPECT_EQ(t, pa_raw(pa), pa_raw(FRAME(1)));
	EXPECT_EQ(t, prot, MMU_READ | MMU_WRITE | MMU_USER);
	EXPECT_EQ(t, arch_query(&as, VA(PAGE_SIZE), &pa, &prot), E_OK);
	EXPECT_EQ(t, pa_raw(pa), pa_raw(FRAME(2)));
	EXPECT_EQ(t, prot, MMU_READ | MMU_EXEC | MMU_USER);
	/* As on x86_64: a present page is readable, whatever was asked. */
	EXPECT_EQ(t, arch_query(&as, VA(2 * PAGE_SIZE), &pa, &prot), E_OK);
	EXPECT_EQ(t, prot, MMU_READ | MMU_WRITE);

	paddr_t old;
	EXPECT_EQ(t, arch_unmap(&as, VA(0), &old), E_OK);
	EXPECT_EQ(t, pa_raw(old), pa_raw(FRAME(1)));
	EXPECT_EQ(t, arch_query(&as, VA(0), &pa, &prot), E_NOENT);
	EXPECT_EQ(t, arch_unmap(&as, VA(0), &old), E_NOENT);
	/* Its neighbours are untouched; the va can be mapped again. */
	EXPECT_EQ(t, arch_query(&as, VA(PAGE_SIZE), &pa, &prot), E_OK);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), FRAME(4), MMU_READ), E_OK);
	EXPECT_EQ(t, arch_query(&as, VA(0), &pa, &prot), E_OK);
	EXPECT_EQ(t, pa_raw(pa), pa_raw(FRAME(4)));

	for (unsigned i = 0; i < 3; i++)
		EXPECT_EQ(t, arch_unmap(&as, VA(i * PAGE_SIZE), &old), E_OK);
	arch_aspace_destroy(&as, &alloc);
	EXPECT_EQ(t, pool.live, 0);
	EXPECT_EQ(t, pool.bad_frees, 0);
	sim_fini();
}

TEST(mm, map_errors_change_nothing)
{
	setup();
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &alloc), E_OK);
	unsigned rw = MMU_READ | MMU_WRITE | MMU_USER;
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(1), FRAME(0), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &alloc, va_make(0), FRAME(0), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &alloc, va_make(ARCH_USER_BASE - PAGE_SIZE), FRAME(0), rw),
	          E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &alloc, va_make(ARCH_USER_END), FRAME(0), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &alloc, va_make(0xffff800000000000ULL), FRAME(0), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), pa_make(pa_raw(FRAME(0)) + 8), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), pa_make(1ULL << 52), rw), E_INVAL);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), FRAME(0), 1u << 4), E_INVAL);
	/* None of that took a table page. */
	EXPECT_EQ(t, pool.allocs, 1);

	/* The highest user page maps (its tables are the last of each level). */
	EXPECT_EQ(t, arch_map(&as, &alloc, va_make(ARCH_USER_END - PAGE_SIZE), FRAME(9), rw), E_OK);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), FRAME(1), rw), E_OK);
	unsigned before = pool.allocs;
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), FRAME(2), MMU_READ), E_EXIST);
	EXPECT_EQ(t, pool.allocs, before);
	paddr_t pa, old;
	unsigned prot;
	EXPECT_EQ(t, arch_query(&as, VA(0), &pa, &prot), E_OK);
	EXPECT_EQ(t, pa_raw(pa), pa_raw(FRAME(1))); /* the first mapping stands */
	EXPECT_EQ(t, prot, rw);

	EXPECT_EQ(t, arch_unmap(&as, VA(0), &old), E_OK);
	EXPECT_EQ(t, arch_unmap(&as, va_make(ARCH_USER_END - PAGE_SIZE), &old), E_OK);
	arch_aspace_destroy(&as, &alloc);
	EXPECT_EQ(t, pool.live, 0);
	sim_fini();
}

TEST(mm, lookup_errors)
{
	setup();
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &alloc), E_OK);
	paddr_t pa;
	unsigned prot, ad;
	/* No tables at all below the root. */
	EXPECT_EQ(t, arch_query(&as, VA(0), &pa, &prot), E_NOENT);
	EXPECT_EQ(t, arch_unmap(&as, VA(0), &pa), E_NOENT);
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(0), &ad), E_NOENT);
	/* Tables there, the entry empty. */
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), FRAME(1), MMU_READ), E_OK);
	EXPECT_EQ(t, arch_query(&as, VA(PAGE_SIZE), &pa, &prot), E_NOENT);
	EXPECT_EQ(t, arch_unmap(&as, VA(PAGE_SIZE), &pa), E_NOENT);
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(PAGE_SIZE), &ad), E_NOENT);
	/* Malformed addresses. */
	EXPECT_EQ(t, arch_query(&as, VA(8), &pa, &prot), E_INVAL);
	EXPECT_EQ(t, arch_unmap(&as, VA(8), &pa), E_INVAL);
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(8), &ad), E_INVAL);
	EXPECT_EQ(t, arch_query(&as, va_make(ARCH_USER_END), &pa, &prot), E_INVAL);
	EXPECT_EQ(t, arch_unmap(&as, va_make(0), &pa), E_INVAL);
	/* The mapping survived all of it. */
	EXPECT_EQ(t, arch_unmap(&as, VA(0), &pa), E_OK);
	EXPECT_EQ(t, pa_raw(pa), pa_raw(FRAME(1)));
	arch_aspace_destroy(&as, &alloc);
	EXPECT_EQ(t, pool.live, 0);
	sim_fini();
}

TEST(mm, init_nomem)
{
	setup();
	pool.fail_after = 0;
	struct arch_aspace as;
	EXPECT_EQ(t, arch_aspace_init(&as, &alloc), E_NOMEM);
	EXPECT_EQ(t, pool.live, 0);
	sim_fini();
}

/* E_NOMEM after k pages must leave table memory byte for byte as it was. */
static void expect_nomem_clean(struct test_ctx *t, struct arch_aspace *as, vaddr_t va, int k)
{
	static uint8_t before[POOL_FRAMES * PAGE_SIZE];
	uint8_t *mem = arch_phys_to_virt(pa_make(0));
	memcpy(before, mem, sizeof(before));
	unsigned live = pool.live;
	pool.fail_after = k;
	EXPECT_EQ(t, arch_map(as, &alloc, va, FRAME(5), MMU_READ), E_NOMEM);
	pool.fail_after = -1;
	EXPECT_EQ(t, pool.live, live);
	EXPECT_EQ(t, pool.bad_frees, 0);
	EXPECT(t, memcmp(before, mem, sizeof(before)) == 0);
	paddr_t pa;
	unsigned prot;
	EXPECT_EQ(t, arch_query(as, va, &pa, &prot), E_NOENT);
}

TEST(mm, nomem_leaves_nothing_behind)
{
	setup();
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &alloc), E_OK);
	/* A fresh va needs three tables; fail at each of them. */
	for (int k = 0; k < 3; k++)
		expect_nomem_clean(t, &as, VA(0), k);
	unsigned before = pool.allocs;
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), FRAME(5), MMU_READ), E_OK);
	EXPECT_EQ(t, pool.allocs - before, 3);
	/* 1 GiB on, the top-level table is shared: two tables needed, fail at each. */
	vaddr_t far = VA(1ULL << 30);
	for (int k = 0; k < 2; k++)
		expect_nomem_clean(t, &as, far, k);
	before = pool.allocs;
	EXPECT_EQ(t, arch_map(&as, &alloc, far, FRAME(6), MMU_READ), E_OK);
	EXPECT_EQ(t, pool.allocs - before, 2);
	/* A va whose tables exist needs no page at all, so cannot fail. */
	pool.fail_after = 0;
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(PAGE_SIZE), FRAME(7), MMU_READ), E_OK);
	pool.fail_after = -1;

	paddr_t old;
	EXPECT_EQ(t, arch_unmap(&as, VA(0), &old), E_OK);
	EXPECT_EQ(t, arch_unmap(&as, VA(PAGE_SIZE), &old), E_OK);
	EXPECT_EQ(t, arch_unmap(&as, far, &old), E_OK);
	arch_aspace_destroy(&as, &alloc);
	EXPECT_EQ(t, pool.live, 0);
	EXPECT_EQ(t, pool.allocs, pool.frees);
	sim_fini();
}

TEST(mm, tables_are_shared_and_all_freed)
{
	setup();
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &alloc), E_OK);
	/* How many table pages each new mapping needs, by distance from VA(0). */
	static const struct {
		uint64_t off;
		unsigned tables;
	} maps[] = {
	    {0, 3},
	    {PAGE_SIZE, 0},
	    {511 * PAGE_SIZE, 0},
	    {2ULL << 20, 1}, /* next 2 MiB: a page table */
	    {(2ULL << 20) + PAGE_SIZE, 0},
	    {1ULL << 30, 2}, /* next 1 GiB: + directory */
	    {1ULL << 39, 3},
	    {(1ULL << 39) + (1ULL << 30), 2},
	    {255ULL << 39, 3}, /* the last user slot of the top level */
	};
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++) {
		unsigned before = pool.allocs;
		EXPECT_EQ(t, arch_map(&as, &alloc, VA(maps[i].off), FRAME(i), MMU_READ | MMU_USER),
		          E_OK);
		EXPECT_EQ(t, pool.allocs - before, maps[i].tables);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++) {
		paddr_t old;
		EXPECT_EQ(t, arch_unmap(&as, VA(maps[i].off), &old), E_OK);
		EXPECT_EQ(t, pa_raw(old), pa_raw(FRAME(i)));
	}
	EXPECT_EQ(t, pool.live, 1 + 3 + 1 + 2 + 3 + 2 + 3);
	arch_aspace_destroy(&as, &alloc);
	EXPECT_EQ(t, pool.live, 0);
	EXPECT_EQ(t, pool.frees, pool.allocs);
	EXPECT_EQ(t, pool.bad_frees, 0);
	sim_fini();
}

TEST(mm, accessed_and_dirty)
{
	setup();
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &alloc), E_OK);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(0), FRAME(1), MMU_READ | MMU_WRITE | MMU_USER), E_OK);
	EXPECT_EQ(t, arch_map(&as, &alloc, VA(PAGE_SIZE), FRAME(2), MMU_READ | MMU_USER), E_OK);
	unsigned ad = 99;
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(0), &ad), E_OK);
	EXPECT_EQ(t, ad, 0);

	EXPECT_EQ(t, sim_mmu_touch(&as, VA(123), false), E_OK); /* any byte of the page */
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(0), &ad), E_OK);
	EXPECT_EQ(t, ad, MMU_ACCESSED);
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(0), &ad), E_OK);
	EXPECT_EQ(t, ad, 0); /* cleared by the read */

	EXPECT_EQ(t, sim_mmu_touch(&as, VA(0), true), E_OK);
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(0), &ad), E_OK);
	EXPECT_EQ(t, ad, MMU_ACCESSED | MMU_DIRTY);

	/* Faults set nothing: a write to a read-only page, an unmapped page. */
	EXPECT_EQ(t, sim_mmu_touch(&as, VA(PAGE_SIZE), true), E_INVAL);
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(PAGE_SIZE), &ad), E_OK);
	EXPECT_EQ(t, ad, 0);
	EXPECT_EQ(t, sim_mmu_touch(&as, VA(2 * PAGE_SIZE), false), E_NOENT);
	EXPECT_EQ(t, sim_mmu_touch(&as, va_make(0), false), E_NOENT);
	/* Only the touched page's bits moved. */
	EXPECT_EQ(t, sim_mmu_touch(&as, VA(PAGE_SIZE), false), E_OK);
	EXPECT_EQ(t, arch_read_clear_ad(&as, VA(0), &ad), E_OK);
	EXPECT_EQ(t, ad, 0);
	/* Clearing keeps the mapping and its rights. */
	paddr_t pa;
	unsigned prot;
	EXPECT_EQ(t, arch_query(&as, VA(0), &pa, &prot), E_OK);
	EXPECT_EQ(t, prot, MMU_READ | MMU_WRITE | MMU_USER);

	EXPECT_EQ(t, arch_unmap(&as, VA(0), &pa), E_OK);
	EXPECT_EQ(t, arch_unmap(&as, VA(PAGE_SIZE), &pa), E_OK);
	arch_aspace_destroy(&as, &alloc);
	EXPECT_EQ(t, pool.live, 0);
	sim_fini();
}

/* The tables are real x86_64 tables in the allocator's frames: walk one by hand. */
TEST(mm, entries_are_x86_64_format)
{
	setup();
	struct arch_aspace as;
	ASSERT_EQ(t, arch_aspace_init(&as, &alloc), E_OK);
	uint64_t va = ARCH_USER_BASE + (5ULL << 39) + (6ULL << 30) + (7ULL << 21) + (8ULL << 12);
	EXPECT_EQ(t, arch_map(&as, &alloc, va_make(va), FRAME(3), MMU_READ | MMU_WRITE | MMU_USER),
	          E_OK);
	uint64_t e = 0, table = pa_raw(as.root);
	for (int level = 3; level >= 0; level--) {
		ASSERT(t, table + PAGE_SIZE <= sim_phys_bytes());
		const uint64_t *tbl = arch_phys_to_virt(pa_make(table));
		e = tbl[(va >> (12 + 9 * level)) & 511];
		ASSERT(t, e & 1); /* present */
		table = e & 0x000ffffffffff000ULL;
	}
	EXPECT_EQ(t, table, pa_raw(FRAME(3)));
	EXPECT(t, e & (1ULL << 1));    /* write */
	EXPECT(t, e & (1ULL << 2));    /* user */
	EXPECT(t, e & (1ULL << 63));   /* no exec */
	EXPECT(t, !(e & (3ULL << 5))); /* neither accessed nor dirty yet */
	paddr_t old;
	EXPECT_EQ(t, arch_unmap(&as, va_make(va), &old), E_OK);
	arch_aspace_destroy(&as, &alloc);
	sim_fini();
}
