/*
 * Capability tables that grow (core/cap.c, struct cap_table): pages of
 * CAP_PAGE_SLOTS slots allocated when a claim first needs one, charged to
 * the environment and its ancestors as kernel frames (QUOTA_PT_FRAMES),
 * freed at destroy; the free-slot index that keeps "the lowest free slot";
 * slot numbers at and past every page boundary and the maximum; the
 * invariant checker's view of the index.
 */
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/pot.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include "support.h"

/* A fresh frame owned by e with a root cap in e, accounted as SYS_FRAME_ALLOC does. */
static uint32_t root_frame(struct test_ctx *t, struct env *e)
{
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY, 0);
	EXPECT(t, s >= 0);
	return s >= 0 ? (uint32_t)s : CAP_NO_SLOT;
}

/* Mint copies of slot r into e until it holds n capabilities; true if all went in. */
static bool fill_to(struct test_ctx *t, struct env *e, uint32_t r, unsigned n)
{
	uint32_t x;
	while (caps_in(e) < n)
		if (!EXPECT_EQ(t, cap_mint(e, r, CAP_R_READ, 0, &x), E_OK))
			return false;
	return true;
}

/*
 * Every call that names a slot refuses s as empty, changing nothing
 * (checked when clean). Syscalls take 64 bits; the kernel's functions 32.
 */
static void refused_everywhere(struct test_ctx *t, struct env **envs, uint64_t s, bool clean)
{
	struct env *e = envs[0], *one[1] = { e };
	struct cap c;
	struct cap_info i;
	uint32_t x;
	if (clean) {
		FAILS_CLEANLY(t, one, SYS(e, SYS_CAP_MINT, s, CAP_R_READ, 0), E_BADSLOT);
		FAILS_CLEANLY(t, one, SYS(e, SYS_CAP_DELETE, s), E_BADSLOT);
		FAILS_CLEANLY(t, one, SYS(e, SYS_MAP, s, VA(7), PROT_R), E_BADSLOT);
	}
	EXPECT_EQ(t, SYS(e, SYS_CAP_REVOKE, s), E_BADSLOT);
	EXPECT_EQ(t, SYS(e, SYS_UNMAP, s), E_BADSLOT);
	if (s > UINT32_MAX)
		return;
	EXPECT_EQ(t, cap_mint(e, (uint32_t)s, CAP_R_READ, 0, &x), E_BADSLOT);
	EXPECT_EQ(t, cap_get(e, (uint32_t)s, OBJ_NONE, 0, &c), E_BADSLOT);
	EXPECT_EQ(t, cap_inspect(e, (uint32_t)s, &i), E_BADSLOT);
	EXPECT_EQ(t, cap_revoke(e, (uint32_t)s), E_BADSLOT);
	EXPECT_EQ(t, cap_delete(e, (uint32_t)s), E_BADSLOT);
}

TEST(cap_table, slot_numbers_at_and_past_every_page_boundary)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *a = envs[0];
	ASSERT(t, a);
	EXPECT_EQ(t, a->caps.npages, 0);
	uint32_t r = root_frame(t, a);
	ASSERT_EQ(t, r, 0);
	EXPECT_EQ(t, a->caps.npages, 1);
	INV(t);
	/* One page: every slot of every other page, and past the maximum, is empty. */
	for (uint64_t b = CAP_PAGE_SLOTS; b <= CAP_SLOTS; b += CAP_PAGE_SLOTS) {
		bool clean = b == CAP_PAGE_SLOTS || b == 2ULL * CAP_PAGE_SLOTS ||
			     b >= CAP_SLOTS - CAP_PAGE_SLOTS;
		refused_everywhere(t, envs, b - 1, clean);
		refused_everywhere(t, envs, b, clean);
		refused_everywhere(t, envs, b + 1, clean);
	}
	/* A slot number is never taken modulo anything: 2^32 + 1 is not slot 1. */
	ASSERT(t, fill_to(t, a, r, 2));
	refused_everywhere(t, envs, (1ULL << 32) + 1, true);
	refused_everywhere(t, envs, ~0ULL, true);
	refused_everywhere(t, envs, UINT32_MAX, true);
	/* The 65th capability is the first of page 1: one more kernel frame, charged to a. */
	uint64_t owned = a->frames_owned, free0 = frame_free_count();
	ASSERT(t, fill_to(t, a, r, CAP_PAGE_SLOTS));
	EXPECT_EQ(t, a->caps.npages, 1);
	uint32_t x;
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_READ, 0, &x), E_OK);
	EXPECT_EQ(t, x, CAP_PAGE_SLOTS);
	EXPECT_EQ(t, a->caps.npages, 2);
	EXPECT_EQ(t, a->frames_owned, owned + 1);
	EXPECT_EQ(t, frame_free_count(), free0 - 1);
	EXPECT_EQ(t, info(a, x).type, OBJ_FRAME);
	refused_everywhere(t, envs, CAP_PAGE_SLOTS + 1, true);
	INV(t);
	/* The whole table: the last slot holds one, the maximum is still past the end. */
	unsigned n = caps_in(a);
	while (cap_mint(a, r, CAP_R_READ, 0, &x) == E_OK)
		n++;
	EXPECT_EQ(t, n, CAP_SLOTS);
	EXPECT_EQ(t, a->caps.npages, CAP_PAGES);
	EXPECT_EQ(t, info(a, CAP_SLOTS - 1).type, OBJ_FRAME);
	refused_everywhere(t, envs, CAP_SLOTS, true);
	FAILS_CLEANLY(t, envs, cap_mint(a, r, CAP_R_READ, 0, &x), E_NOMEM);
	FAILS_CLEANLY(t, envs, SYS(a, SYS_FRAME_ALLOC, FRAME_ANY, 0), E_NOMEM);
	while (cap_revoke(a, r) == E_AGAIN)
		;
	/* Emptied, the pages stay (until a is destroyed): the next claim takes slot 1 again. */
	EXPECT_EQ(t, a->caps.npages, CAP_PAGES);
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_READ, 0, &x), E_OK);
	EXPECT_EQ(t, x, 1);
	INV(t);
	teardown(t, envs, 1);
}

TEST(cap_table, the_lowest_free_slot_across_pages)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *a = envs[0];
	ASSERT(t, a);
	uint32_t r = root_frame(t, a), x;
	ASSERT(t, fill_to(t, a, r, 130)); /* slots 0..129: three pages */
	EXPECT_EQ(t, a->caps.npages, 3);
	static const uint32_t holes[] = { 129, 5, 70, 63, 64 };
	for (unsigned i = 0; i < ARRAY_SIZE(holes); i++)
		ASSERT_EQ(t, cap_delete(a, holes[i]), E_OK);
	INV(t);
	static const uint32_t refill[] = { 5, 63, 64, 70, 129, 130 };
	for (unsigned i = 0; i < ARRAY_SIZE(refill); i++) {
		ASSERT_EQ(t, cap_mint(a, r, CAP_R_READ, 0, &x), E_OK);
		EXPECT_EQ(t, x, refill[i]);
		INV(t);
	}
	/* Page 1 emptied stays allocated, and its first slot is the lowest free again. */
	for (uint32_t s = CAP_PAGE_SLOTS; s < 2 * CAP_PAGE_SLOTS; s++)
		ASSERT_EQ(t, cap_delete(a, s), E_OK);
	EXPECT_EQ(t, a->caps.npages, 3);
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_READ, 0, &x), E_OK);
	EXPECT_EQ(t, x, CAP_PAGE_SLOTS);
	INV(t);
	teardown(t, envs, 1);
}

TEST(cap_table, pages_are_charged_to_the_env_and_its_ancestors_up_to_their_limits)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), NULL };
	struct env *p = envs[0];
	ASSERT(t, p);
	uint64_t p_used0 = p->quota_used[QUOTA_PT_FRAMES];
	ASSERT_EQ(t, quota_reserve_env(p), E_OK);
	struct env *c = envs[1] = mkenv(t, 1);
	ASSERT(t, c);
	quota_adopt(p, c);
	/* c's first page: a kernel frame charged to c and to p. */
	uint64_t c_used = c->quota_used[QUOTA_PT_FRAMES], p_used = p->quota_used[QUOTA_PT_FRAMES];
	uint32_t r = root_frame(t, c), x;
	ASSERT(t, r != CAP_NO_SLOT);
	EXPECT_EQ(t, c->quota_used[QUOTA_PT_FRAMES], c_used + 1);
	EXPECT_EQ(t, p->quota_used[QUOTA_PT_FRAMES], p_used + 1);
	ASSERT(t, fill_to(t, c, r, CAP_PAGE_SLOTS));
	uint32_t pf = root_frame(t, p); /* p's own first page */
	ASSERT(t, pf != CAP_NO_SLOT);
	INV(t);
	/* The parent's limit reached: c's table cannot grow; nothing anywhere changes. */
	p->quota_limit[QUOTA_PT_FRAMES] = p->quota_used[QUOTA_PT_FRAMES];
	FAILS_CLEANLY(t, envs, cap_mint(c, r, CAP_R_READ, 0, &x), E_NOMEM);
	FAILS_CLEANLY(t, envs, SYS(c, SYS_FRAME_ALLOC, FRAME_ANY, 0), E_NOMEM);
	FAILS_CLEANLY(t, envs, cap_insert_root(c, OBJ_FRAME, 5, 0, CAP_R_ALL, &x), E_NOMEM);
	FAILS_CLEANLY(t, envs, cap_grant(p, pf, c, false, &x), E_NOMEM);
	/* One more frame allowed: the page is had, and charged once more to both. */
	p->quota_limit[QUOTA_PT_FRAMES]++;
	c_used = c->quota_used[QUOTA_PT_FRAMES];
	ASSERT_EQ(t, cap_grant(p, pf, c, false, &x), E_OK);
	EXPECT_EQ(t, x, CAP_PAGE_SLOTS);
	EXPECT_EQ(t, c->quota_used[QUOTA_PT_FRAMES], c_used + 1);
	EXPECT_EQ(t, p->quota_used[QUOTA_PT_FRAMES], p->quota_limit[QUOTA_PT_FRAMES]);
	/* c's own limit binds the same way. */
	p->quota_limit[QUOTA_PT_FRAMES] = ~0ULL;
	ASSERT(t, fill_to(t, c, r, 2 * CAP_PAGE_SLOTS));
	c->quota_limit[QUOTA_PT_FRAMES] = c->quota_used[QUOTA_PT_FRAMES];
	FAILS_CLEANLY(t, envs, cap_mint(c, r, CAP_R_READ, 0, &x), E_NOMEM);
	INV(t);
	/* Destroyed, c gives its pages back, and p's count is its own again. */
	ASSERT_EQ(t, env_destroy(c), E_OK);
	EXPECT_EQ(t, p->quota_used[QUOTA_PT_FRAMES], p_used0 + 1); /* p's one page */
	INV(t);
	teardown(t, envs, 2);
}

TEST(cap_table, a_failed_claim_gives_back_the_page_it_grew)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *a = envs[0];
	ASSERT(t, a);
	uint64_t busy;
	uint32_t r = root_frame(t, a);
	ASSERT(t, r != CAP_NO_SLOT);
	busy = obj_of(a, r);
	ASSERT(t, fill_to(t, a, r, CAP_PAGE_SLOTS));
	uint64_t owned = a->frames_owned, free0 = frame_free_count();
	uint64_t used = a->quota_used[QUOTA_PT_FRAMES];
	/* The slot (page 1, grown) first, then the frame, which is ours already: E_BUSY. */
	EXPECT_EQ(t, SYS(a, SYS_FRAME_ALLOC, busy, 0), E_BUSY);
	EXPECT_EQ(t, a->caps.npages, 1);
	EXPECT_EQ(t, a->frames_owned, owned);
	EXPECT_EQ(t, a->quota_used[QUOTA_PT_FRAMES], used);
	EXPECT_EQ(t, frame_free_count(), free0);
	EXPECT(t, empty(a, CAP_PAGE_SLOTS));
	INV(t);
	teardown(t, envs, 1);
}

TEST(cap_table, destroy_frees_every_page)
{
	if (!setup(t))
		return;
	uint64_t free0 = frame_free_count();
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *a = envs[0];
	ASSERT(t, a);
	uint32_t r = root_frame(t, a);
	ASSERT(t, r != CAP_NO_SLOT);
	ASSERT(t, fill_to(t, a, r, 4 * CAP_PAGE_SLOTS + 1));
	EXPECT_EQ(t, a->caps.npages, 5);
	EXPECT_EQ(t, frame_free_count(), free0 - 1 /* top-level table */ - 1 - 5);
	ASSERT_EQ(t, env_destroy(a), E_OK);
	EXPECT_EQ(t, frame_free_count(), free0);
	EXPECT_EQ(t, a->caps.npages, 0);
	INV(t);
	teardown(t, envs, 1);
}

TEST(cap_table, the_checker_finds_a_wrong_index)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *a = envs[0];
	ASSERT(t, a);
	uint32_t r = root_frame(t, a);
	ASSERT(t, r != CAP_NO_SLOT);
	ASSERT(t, fill_to(t, a, r, CAP_PAGE_SLOTS + 3));
	INV(t);
	a->caps.used[0] &= ~(1ULL << 9); /* slot 9 holds a capability the index calls free */
	EXPECT(t, invariant_check() > 0);
	a->caps.used[0] |= 1ULL << 9;
	a->caps.used[1] |= 1ULL << 20; /* slot 84 is empty, the index says claimed */
	EXPECT(t, invariant_check() > 0);
	a->caps.used[1] &= ~(1ULL << 20);
	a->caps.nonfull[0] &= ~2ULL; /* page 1 has free slots, the summary says full */
	EXPECT(t, invariant_check() > 0);
	a->caps.nonfull[0] |= 2ULL;
	a->caps.nonfull[0] &= ~(1ULL << 5); /* page 5, not allocated, said full */
	EXPECT(t, invariant_check() > 0);
	a->caps.nonfull[0] |= 1ULL << 5;
	a->caps.npages++;
	EXPECT(t, invariant_check() > 0);
	a->caps.npages--;
	a->caps.revocable[0] ^= 1; /* slot 0, a frame of its own, no longer marked revocable */
	EXPECT(t, invariant_check() > 0);
	a->caps.revocable[0] ^= 1 | 2; /* slot 1, a derived copy, marked */
	EXPECT(t, invariant_check() > 0);
	a->caps.revocable[0] ^= 2;
	INV(t);
	teardown(t, envs, 1);
}
