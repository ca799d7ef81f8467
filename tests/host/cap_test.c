/*
 * Capabilities (core/cap.c) on the host: mint, grant, revoke, delete,
 * bind/unbind, generations, with real environments (env_create on the
 * host-tests machine's online cores, page tables in simulated memory) and
 * frames from the page-ownership table. After every operation the kernel's
 * invariant checker must find nothing, and every failed operation must
 * leave the table, the capability tables and the page tables as they were.
 * A randomized test drives a few thousand operations over three
 * environments from a seeded PRNG.
 *
 * Each test makes its own page-ownership table over the first 16 MiB of
 * simulated memory (frame 0 and a stand-in kernel range are the kernel's)
 * and destroys every environment it made.
 */
#include <arch/mm.h>
#include <arch/phys.h>
#include <arch/sim.h>
#include <exo/boot.h>
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/pot.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>
#include <string.h>
#include "support.h"

/* ---- the machine: a table over 16 MiB, and environments on it (support.h) ---- */

/* A fresh frame owned by e with a root cap in e, accounted as SYS_FRAME_ALLOC does. */
static uint32_t new_frame(struct test_ctx *t, struct env *e, uint64_t *frame)
{
	uint64_t f, g;
	uint32_t s;
	if (!EXPECT_EQ(t, frame_alloc_any(e->id, false, &f, &g), E_OK))
		return CAP_NO_SLOT;
	__atomic_fetch_add(&e->frames_owned, 1, __ATOMIC_RELAXED);
	if (!EXPECT_EQ(t, cap_insert_root(e, OBJ_FRAME, f, g, CAP_R_ALL, &s), E_OK)) {
		(void)frame_free(f, e->id, g);
		__atomic_fetch_sub(&e->frames_owned, 1, __ATOMIC_RELAXED);
		return CAP_NO_SLOT;
	}
	if (frame)
		*frame = f;
	return s;
}

/* ---- mint ---- */

TEST(cap, mint_rights_only_shrink)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *a = envs[0];
	ASSERT(t, a);
	uint64_t f;
	uint32_t r = new_frame(t, a, &f);
	ASSERT(t, r != CAP_NO_SLOT);
	INV(t);
	struct cap_info i = info(a, r);
	EXPECT_EQ(t, i.type, OBJ_FRAME);
	EXPECT_EQ(t, i.rights, CAP_R_ALL);
	EXPECT_EQ(t, i.depth, 0);
	EXPECT_EQ(t, i.parent_env, CAP_NO_SLOT);
	EXPECT_EQ(t, i.object, f);
	EXPECT_EQ(t, i.badge, 0);

	uint32_t c1, c2, c3, c4;
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_READ | CAP_R_MAP | CAP_R_GRANT, 0, &c1), E_OK);
	INV(t);
	i = info(a, c1);
	EXPECT_EQ(t, i.rights, CAP_R_READ | CAP_R_MAP | CAP_R_GRANT);
	EXPECT_EQ(t, i.depth, 1);
	EXPECT_EQ(t, i.parent_env, a->id);
	EXPECT_EQ(t, i.parent_slot, r);
	EXPECT_EQ(t, i.object, f);
	EXPECT_EQ(t, info(a, r).children, 1);
	/* Asking for more gets the intersection, never more. */
	ASSERT_EQ(t, cap_mint(a, c1, CAP_R_ALL, 0, &c2), E_OK);
	EXPECT_EQ(t, info(a, c2).rights, CAP_R_READ | CAP_R_MAP | CAP_R_GRANT);
	ASSERT_EQ(t, cap_mint(a, c1, CAP_R_WRITE | CAP_R_CTRL | CAP_R_GRANT, 0, &c3), E_OK);
	EXPECT_EQ(t, info(a, c3).rights, CAP_R_GRANT);
	ASSERT_EQ(t, cap_mint(a, c3, CAP_R_ALL, 0, &c4), E_OK);
	EXPECT_EQ(t, info(a, c4).rights, CAP_R_GRANT);
	EXPECT_EQ(t, info(a, c4).depth, 3);
	INV(t);

	/* Without GRANT nothing can be minted from it. */
	uint32_t nog, x = 12345;
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_READ | CAP_R_MAP, 0, &nog), E_OK);
	FAILS_CLEANLY(t, envs, cap_mint(a, nog, CAP_R_READ, 0, &x), E_PERM);
	FAILS_CLEANLY(t, envs, cap_mint(a, nog, 0, 0, &x), E_PERM);
	/* Rights outside the enum, bad slots. */
	FAILS_CLEANLY(t, envs, cap_mint(a, r, CAP_R_ALL + 1, 0, &x), E_INVAL);
	FAILS_CLEANLY(t, envs, cap_mint(a, r, ~0u, 0, &x), E_INVAL);
	FAILS_CLEANLY(t, envs, cap_mint(a, CAP_SLOTS, CAP_R_READ, 0, &x), E_BADSLOT);
	FAILS_CLEANLY(t, envs, cap_mint(a, ~0u, CAP_R_READ, 0, &x), E_BADSLOT);
	FAILS_CLEANLY(t, envs, cap_mint(a, CAP_SLOTS - 1, CAP_R_READ, 0, &x), E_BADSLOT);
	EXPECT_EQ(t, x, 12345);
	INV(t);

	/* cap_get checks type, then rights. */
	struct cap c;
	EXPECT_EQ(t, cap_get(a, c1, OBJ_FRAME, CAP_R_READ | CAP_R_MAP, &c), E_OK);
	EXPECT_EQ(t, c.obj, f);
	EXPECT_EQ(t, cap_get(a, c1, OBJ_ENV, 0, &c), E_TYPE);
	EXPECT_EQ(t, cap_get(a, c1, OBJ_FRAME, CAP_R_WRITE, &c), E_PERM);
	EXPECT_EQ(t, cap_get(a, c1, OBJ_NONE, CAP_R_CTRL, &c), E_PERM);
	EXPECT_EQ(t, cap_get(a, CAP_SLOTS, OBJ_NONE, 0, &c), E_BADSLOT);
	teardown(t, envs, 1);
}

TEST(cap, mint_badges)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *a = envs[0];
	ASSERT(t, a);
	uint32_t r = new_frame(t, a, NULL), b1, b2, b3, x;
	ASSERT(t, r != CAP_NO_SLOT);
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_ALL, 7, &b1), E_OK);
	EXPECT_EQ(t, info(a, b1).badge, 7);
	/* Badge 0 keeps the parent's. */
	ASSERT_EQ(t, cap_mint(a, b1, CAP_R_ALL, 0, &b2), E_OK);
	EXPECT_EQ(t, info(a, b2).badge, 7);
	/* Once set, never changed, not even to itself. */
	FAILS_CLEANLY(t, envs, cap_mint(a, b1, CAP_R_ALL, 9, &x), E_PERM);
	FAILS_CLEANLY(t, envs, cap_mint(a, b2, CAP_R_ALL, 7, &x), E_PERM);
	/* The largest badge there is. */
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_ALL, UINT32_MAX, &b3), E_OK);
	EXPECT_EQ(t, info(a, b3).badge, UINT32_MAX);
	INV(t);
	teardown(t, envs, 1);
}

TEST(cap, mint_depth_limit)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *a = envs[0], *b = envs[1];
	ASSERT(t, a && b);
	uint32_t r = new_frame(t, a, NULL), s = r, n, x = 777;
	ASSERT(t, r != CAP_NO_SLOT);
	/* Depths 1..CAP_MAX_DEPTH are allowed (cap.h, docs/syscalls.md: E_RANGE for depth > 32). */
	for (unsigned d = 1; d <= CAP_MAX_DEPTH; d++) {
		ASSERT_EQ(t, cap_mint(a, s, CAP_R_ALL, 0, &n), E_OK);
		EXPECT_EQ(t, info(a, n).depth, d);
		s = n;
	}
	INV(t);
	FAILS_CLEANLY(t, envs, cap_mint(a, s, CAP_R_ALL, 0, &x), E_RANGE);
	FAILS_CLEANLY(t, envs, cap_grant(a, s, b, false, &x), E_RANGE); /* a copy is a child too */
	EXPECT_EQ(t, x, 777);
	/* A move is not a derivation: the deepest cap moves at its depth. */
	ASSERT_EQ(t, cap_grant(a, s, b, true, &n), E_OK);
	EXPECT_EQ(t, info(b, n).depth, CAP_MAX_DEPTH);
	INV(t);
	/* 32 descendants: two revoke calls. */
	EXPECT_EQ(t, cap_revoke(a, r), E_AGAIN);
	INV(t);
	EXPECT_EQ(t, cap_revoke(a, r), E_OK);
	INV(t);
	EXPECT_EQ(t, caps_in(a), 1);
	EXPECT_EQ(t, caps_in(b), 0);
	teardown(t, envs, 2);
}

TEST(cap, mint_into_a_full_table)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *a = envs[0];
	ASSERT(t, a);
	uint32_t r = new_frame(t, a, NULL), x;
	ASSERT(t, r != CAP_NO_SLOT);
	unsigned n = 1;
	while (cap_mint(a, r, CAP_R_READ, 0, &x) == E_OK)
		n++;
	EXPECT_EQ(t, n, CAP_SLOTS);
	EXPECT_EQ(t, info(a, r).children, CAP_SLOTS - 1);
	INV(t);
	FAILS_CLEANLY(t, envs, cap_mint(a, r, CAP_R_READ, 0, &x), E_NOMEM);
	FAILS_CLEANLY(t, envs, cap_insert_root(a, OBJ_FRAME, 5, 0, CAP_R_ALL, &x), E_NOMEM);
	int err;
	unsigned calls = 0;
	while ((err = cap_revoke(a, r)) == E_AGAIN)
		calls++;
	EXPECT_EQ(t, err, E_OK);
	EXPECT_EQ(t, calls, (CAP_SLOTS - 1) / CAP_REVOKE_BATCH);
	EXPECT_EQ(t, caps_in(a), 1);
	INV(t);
	teardown(t, envs, 1);
}

/* ---- grant ---- */

TEST(cap, grant_copy_and_move)
{
	if (!setup(t))
		return;
	struct env *envs[3] = { mkenv(t, 0), mkenv(t, 1), mkenv(t, 2) };
	struct env *a = envs[0], *b = envs[1], *c = envs[2];
	ASSERT(t, a && b && c);
	uint64_t f;
	uint32_t r = new_frame(t, a, &f), cb, bad, nog, x = 4321;
	ASSERT(t, r != CAP_NO_SLOT);

	/* Copy: a child in the target, same rights and badge, one deeper. */
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_GRANT | CAP_R_READ | CAP_R_MAP, 5, &bad), E_OK);
	ASSERT_EQ(t, cap_grant(a, bad, b, false, &cb), E_OK);
	INV(t);
	struct cap_info i = info(b, cb);
	EXPECT_EQ(t, i.type, OBJ_FRAME);
	EXPECT_EQ(t, i.object, f);
	EXPECT_EQ(t, i.rights, CAP_R_GRANT | CAP_R_READ | CAP_R_MAP);
	EXPECT_EQ(t, i.badge, 5);
	EXPECT_EQ(t, i.depth, 2);
	EXPECT_EQ(t, i.parent_env, a->id);
	EXPECT_EQ(t, i.parent_slot, bad);
	EXPECT_EQ(t, info(a, bad).children, 1);

	/* GRANT is needed for both kinds. */
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_ALL & ~CAP_R_GRANT, 0, &nog), E_OK);
	FAILS_CLEANLY(t, envs, cap_grant(a, nog, b, false, &x), E_PERM);
	FAILS_CLEANLY(t, envs, cap_grant(a, nog, b, true, &x), E_PERM);
	FAILS_CLEANLY(t, envs, cap_grant(a, CAP_SLOTS, b, false, &x), E_BADSLOT);
	FAILS_CLEANLY(t, envs, cap_grant(a, CAP_SLOTS - 3, b, true, &x), E_BADSLOT);
	/* A root stands for ownership: it does not move. */
	FAILS_CLEANLY(t, envs, cap_grant(a, r, b, true, &x), E_PERM);
	/* Nor does a cap with children (bad has cb). */
	FAILS_CLEANLY(t, envs, cap_grant(a, bad, c, true, &x), E_BUSY);
	/* Nor a bound one. */
	uint32_t bound;
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_ALL, 0, &bound), E_OK);
	ASSERT_EQ(t, cap_bind(a, bound, VA(1), PROT_R), E_OK);
	FAILS_CLEANLY(t, envs, cap_grant(a, bound, b, true, &x), E_BUSY);
	EXPECT_EQ(t, x, 4321);
	INV(t);

	/* Move a leaf from b to c: the slot empties, the node keeps its place in the tree. */
	uint32_t mc;
	ASSERT_EQ(t, cap_grant(b, cb, c, true, &mc), E_OK);
	INV(t);
	EXPECT(t, empty(b, cb));
	i = info(c, mc);
	EXPECT_EQ(t, i.depth, 2);
	EXPECT_EQ(t, i.badge, 5);
	EXPECT_EQ(t, i.parent_env, a->id);
	EXPECT_EQ(t, i.parent_slot, bad);
	EXPECT_EQ(t, info(a, bad).children, 1);
	/* And within one environment. */
	uint32_t mc2;
	ASSERT_EQ(t, cap_grant(c, mc, c, true, &mc2), E_OK);
	EXPECT(t, mc2 != mc);
	EXPECT(t, empty(c, mc));
	EXPECT_EQ(t, info(c, mc2).parent_slot, bad);
	INV(t);
	/* Copying into oneself makes a child. */
	uint32_t self;
	ASSERT_EQ(t, cap_grant(c, mc2, c, false, &self), E_OK);
	EXPECT_EQ(t, info(c, self).parent_env, c->id);
	EXPECT_EQ(t, info(c, self).depth, 3);
	INV(t);

	/* Into an environment that is gone: E_STALE, and its table stays empty. */
	struct env *dead = mkenv(t, 3);
	ASSERT(t, dead);
	ASSERT_EQ(t, env_destroy(dead), E_OK);
	FAILS_CLEANLY(t, envs, cap_grant(a, r, dead, false, &x), E_STALE);
	uint32_t leaf;
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_ALL, 0, &leaf), E_OK);
	FAILS_CLEANLY(t, envs, cap_grant(a, leaf, dead, true, &x), E_STALE);
	EXPECT_EQ(t, caps_in(dead), 0);
	INV(t);

	/* Into a full table: E_NOMEM. */
	uint32_t fr = new_frame(t, c, NULL);
	ASSERT(t, fr != CAP_NO_SLOT);
	while (cap_mint(c, fr, CAP_R_READ, 0, &x) == E_OK)
		;
	FAILS_CLEANLY(t, envs, cap_grant(a, r, c, false, &x), E_NOMEM);
	FAILS_CLEANLY(t, envs, cap_grant(a, leaf, c, true, &x), E_NOMEM);
	INV(t);
	teardown(t, envs, 3);
}

/* ---- revoke ---- */

TEST(cap, revoke_deletes_exactly_the_subtree)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *a = envs[0], *b = envs[1];
	ASSERT(t, a && b);
	uint64_t f;
	uint32_t r = new_frame(t, a, &f);
	ASSERT(t, r != CAP_NO_SLOT);
	/*
	 *            r (a)
	 *      ┌─────┼──────┐
	 *    c1(b)  c2(a)  c3(b)
	 *   ┌──┴──┐    │     │
	 * g1(b) g2(a) g3(a) h(a)
	 *   │
	 * gg(a)
	 */
	uint32_t c1, c2, c3, g1, g2, g3, gg, h;
	ASSERT_EQ(t, cap_grant(a, r, b, false, &c1), E_OK);
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_ALL, 0, &c2), E_OK);
	ASSERT_EQ(t, cap_grant(a, r, b, false, &c3), E_OK);
	ASSERT_EQ(t, cap_mint(b, c1, CAP_R_ALL, 0, &g1), E_OK);
	ASSERT_EQ(t, cap_grant(b, c1, a, false, &g2), E_OK);
	ASSERT_EQ(t, cap_grant(b, g1, a, false, &gg), E_OK);
	ASSERT_EQ(t, cap_mint(a, c2, CAP_R_ALL, 0, &g3), E_OK);
	ASSERT_EQ(t, cap_grant(b, c3, a, false, &h), E_OK);
	INV(t);
	/* Bind some of each side. */
	ASSERT_EQ(t, cap_bind(a, r, VA(0), PROT_R | PROT_W), E_OK);
	ASSERT_EQ(t, cap_bind(b, c1, VA(1), PROT_R), E_OK);
	ASSERT_EQ(t, cap_bind(b, g1, VA(2), PROT_R), E_OK);
	ASSERT_EQ(t, cap_bind(a, gg, VA(3), PROT_R), E_OK);
	ASSERT_EQ(t, cap_bind(a, g3, VA(4), PROT_R), E_OK);
	ASSERT_EQ(t, cap_bind(a, h, VA(5), PROT_R), E_OK);
	INV(t);
	EXPECT_EQ(t, a->mappings, 4);
	EXPECT_EQ(t, b->mappings, 2);
	EXPECT_EQ(t, info(a, r).children, 3);
	EXPECT_EQ(t, info(b, c1).children, 2);

	uint64_t flush_a = tlb_flushes(a->home), flush_b = tlb_flushes(b->home);
	EXPECT_EQ(t, cap_revoke(b, c1), E_OK);
	INV(t);
	/* c1's subtree is gone, with its bindings in both environments... */
	EXPECT(t, empty(b, g1));
	EXPECT(t, empty(a, g2));
	EXPECT(t, empty(a, gg));
	EXPECT_EQ(t, mapped(b, VA(2)), ~0ULL);
	EXPECT_EQ(t, mapped(a, VA(3)), ~0ULL);
	/* ...the unmaps were flushed on the homes of the environments that had them... */
	EXPECT(t, tlb_flushes(a->home) > flush_a);
	EXPECT(t, tlb_flushes(b->home) > flush_b);
	/* ...c1 itself stays, bound; everything else is untouched. */
	struct cap_info i = info(b, c1);
	EXPECT_EQ(t, i.type, OBJ_FRAME);
	EXPECT_EQ(t, i.children, 0);
	EXPECT_EQ(t, i.bound_va, VA(1));
	EXPECT_EQ(t, mapped(b, VA(1)), f);
	EXPECT_EQ(t, info(a, r).children, 3);
	EXPECT_EQ(t, info(a, c2).children, 1);
	EXPECT_EQ(t, info(b, c3).children, 1);
	EXPECT_EQ(t, info(a, g3).parent_slot, c2);
	EXPECT_EQ(t, info(a, h).parent_env, b->id);
	EXPECT_EQ(t, mapped(a, VA(0)), f);
	EXPECT_EQ(t, mapped(a, VA(4)), f);
	EXPECT_EQ(t, mapped(a, VA(5)), f);
	EXPECT_EQ(t, a->mappings, 3);
	EXPECT_EQ(t, b->mappings, 1);
	EXPECT_EQ(t, caps_in(a), 4); /* r, c2, g3, h */
	EXPECT_EQ(t, caps_in(b), 2); /* c1, c3 */

	/* Revoking a leaf deletes nothing. */
	EXPECT_EQ(t, cap_revoke(a, g3), E_OK);
	EXPECT_EQ(t, caps_in(a), 4);
	uint32_t x = CAP_SLOTS - 1;
	EXPECT_EQ(t, cap_revoke(a, g2), E_BADSLOT);
	EXPECT_EQ(t, cap_revoke(a, CAP_SLOTS), E_BADSLOT);
	EXPECT_EQ(t, cap_revoke(b, x), E_BADSLOT);

	/* Revoking the root leaves only the root, still bound. */
	EXPECT_EQ(t, cap_revoke(a, r), E_OK);
	INV(t);
	EXPECT_EQ(t, caps_in(a), 1);
	EXPECT_EQ(t, caps_in(b), 0);
	EXPECT_EQ(t, a->mappings, 1);
	EXPECT_EQ(t, b->mappings, 0);
	EXPECT_EQ(t, mapped(a, VA(0)), f);
	EXPECT_EQ(t, info(a, r).children, 0);
	teardown(t, envs, 2);
}

/* Build n descendants of r: a chain of 4 in a, the rest alternately in b and a. */
static bool grow(struct test_ctx *t, struct env *a, struct env *b, uint32_t r, unsigned n)
{
	uint32_t chain = r, s;
	for (unsigned k = 0; k < n; k++) {
		if (k < 4) {
			if (!EXPECT_EQ(t, cap_mint(a, chain, CAP_R_ALL, 0, &s), E_OK))
				return false;
			chain = s;
		} else if (k % 2) {
			if (!EXPECT_EQ(t, cap_grant(a, k % 3 ? r : chain, b, false, &s), E_OK))
				return false;
			if (k % 5 == 0 && !EXPECT_EQ(t, cap_bind(b, s, VA(k), PROT_R), E_OK))
				return false;
		} else {
			if (!EXPECT_EQ(t, cap_mint(a, k % 3 ? r : chain, CAP_R_ALL, 0, &s), E_OK))
				return false;
			if (k % 5 == 0 && !EXPECT_EQ(t, cap_bind(a, s, VA(k), PROT_R), E_OK))
				return false;
		}
	}
	return true;
}

TEST(cap, revoke_is_bounded)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *a = envs[0], *b = envs[1];
	ASSERT(t, a && b);
	uint32_t r = new_frame(t, a, NULL);
	ASSERT(t, r != CAP_NO_SLOT);
	const unsigned n = 2 * CAP_REVOKE_BATCH + 8;
	ASSERT(t, grow(t, a, b, r, n));
	INV(t);
	unsigned total = caps_in(a) + caps_in(b);
	EXPECT_EQ(t, total, n + 1);
	/* Each call deletes exactly a batch, and leaves a consistent state. */
	EXPECT_EQ(t, cap_revoke(a, r), E_AGAIN);
	EXPECT_EQ(t, caps_in(a) + caps_in(b), total - CAP_REVOKE_BATCH);
	INV(t);
	EXPECT_EQ(t, cap_revoke(a, r), E_AGAIN);
	EXPECT_EQ(t, caps_in(a) + caps_in(b), total - 2 * CAP_REVOKE_BATCH);
	INV(t);
	EXPECT_EQ(t, cap_revoke(a, r), E_OK);
	EXPECT_EQ(t, caps_in(a) + caps_in(b), 1);
	EXPECT_EQ(t, a->mappings + b->mappings, 0);
	INV(t);

	/* Exactly a batch: done in one call. One more: two calls. */
	ASSERT(t, grow(t, a, b, r, CAP_REVOKE_BATCH));
	EXPECT_EQ(t, cap_revoke(a, r), E_OK);
	EXPECT_EQ(t, caps_in(a) + caps_in(b), 1);
	ASSERT(t, grow(t, a, b, r, CAP_REVOKE_BATCH + 1));
	EXPECT_EQ(t, cap_revoke(a, r), E_AGAIN);
	EXPECT_EQ(t, caps_in(a) + caps_in(b), 2);
	EXPECT_EQ(t, cap_revoke(a, r), E_OK);
	EXPECT_EQ(t, caps_in(a) + caps_in(b), 1);
	INV(t);
	teardown(t, envs, 2);
}

/* ---- delete ---- */

TEST(cap, delete)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *a = envs[0], *b = envs[1];
	ASSERT(t, a && b);
	uint64_t f;
	uint32_t r = new_frame(t, a, &f), c, d, g;
	ASSERT(t, r != CAP_NO_SLOT);
	uint64_t gen = pot_get(f).gen;
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_ALL, 0, &c), E_OK);
	ASSERT_EQ(t, cap_mint(a, c, CAP_R_ALL, 0, &d), E_OK);
	ASSERT_EQ(t, cap_grant(a, r, b, false, &g), E_OK);
	ASSERT_EQ(t, cap_bind(b, g, VA(7), PROT_R), E_OK);
	ASSERT_EQ(t, cap_bind(a, r, VA(0), PROT_R | PROT_W), E_OK);
	INV(t);
	/* Free frames now, page tables made: only the frame itself comes back below. */
	uint64_t free0 = frame_free_count() + 1;
	/* Anything with descendants: E_BUSY, nothing changes. */
	FAILS_CLEANLY(t, envs, cap_delete(a, r), E_BUSY);
	FAILS_CLEANLY(t, envs, cap_delete(a, c), E_BUSY);
	FAILS_CLEANLY(t, envs, cap_delete(a, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, cap_delete(a, ~0u), E_BADSLOT);
	/* Leaves go; a second delete of the same slot finds nothing. */
	EXPECT_EQ(t, cap_delete(a, d), E_OK);
	INV(t);
	FAILS_CLEANLY(t, envs, cap_delete(a, d), E_BADSLOT);
	EXPECT_EQ(t, cap_delete(a, c), E_OK);
	/* A derived cap in another environment: deleted with its binding, the frame stays. */
	EXPECT_EQ(t, cap_delete(b, g), E_OK);
	INV(t);
	EXPECT_EQ(t, mapped(b, VA(7)), ~0ULL);
	EXPECT_EQ(t, b->mappings, 0);
	EXPECT_EQ(t, pot_get(f).state, POT_OWNED);
	EXPECT_EQ(t, frame_free_count(), free0 - 1);
	/* The root: unbound, and the frame is free again under a new generation. */
	uint64_t owned = a->frames_owned;
	EXPECT_EQ(t, cap_delete(a, r), E_OK);
	INV(t);
	EXPECT_EQ(t, frame_free_count(), free0);
	EXPECT_EQ(t, a->frames_owned, owned - 1);
	EXPECT_EQ(t, a->mappings, 0);
	EXPECT_EQ(t, mapped(a, VA(0)), ~0ULL);
	struct pot_view v = pot_get(f);
	EXPECT_EQ(t, v.state, POT_FREE);
	EXPECT_EQ(t, v.gen, gen + 1);
	EXPECT_EQ(t, v.mapped_on, 0);
	EXPECT(t, empty(a, r));
	teardown(t, envs, 2);
}

/* ---- bind / unbind ---- */

TEST(cap, bind_needs_rights_and_a_good_address)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *a = envs[0], *b = envs[1];
	ASSERT(t, a && b);
	uint64_t f, f2;
	uint32_t r = new_frame(t, a, &f), r2 = new_frame(t, a, &f2);
	ASSERT(t, r != CAP_NO_SLOT && r2 != CAP_NO_SLOT);

	EXPECT_EQ(t, pot_get(f).mapped_on, 0);
	ASSERT_EQ(t, cap_bind(a, r, VA(0), PROT_R | PROT_W), E_OK);
	INV(t);
	EXPECT_EQ(t, mapped(a, VA(0)), f);
	EXPECT_EQ(t, prot_at(a, VA(0)), MMU_USER | MMU_READ | MMU_WRITE);
	EXPECT_EQ(t, info(a, r).bound_va, VA(0));
	EXPECT_EQ(t, a->mappings, 1);
	EXPECT_EQ(t, pot_get(f).mapped_on, 1ULL << a->home);
	/* One binding per capability. */
	FAILS_CLEANLY(t, envs, cap_bind(a, r, VA(1), PROT_R), E_BUSY);

	/* Rights: MAP and READ always, WRITE for PROT_W, EXEC for PROT_X. */
	uint32_t rd, wo, nomap, rx, ro_exec;
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_MAP | CAP_R_READ, 0, &rd), E_OK);
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_MAP | CAP_R_WRITE, 0, &wo), E_OK);
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_READ | CAP_R_WRITE | CAP_R_EXEC, 0, &nomap), E_OK);
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_MAP | CAP_R_READ | CAP_R_EXEC, 0, &rx), E_OK);
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_MAP | CAP_R_EXEC, 0, &ro_exec), E_OK);
	FAILS_CLEANLY(t, envs, cap_bind(a, rd, VA(1), PROT_R | PROT_W), E_PERM);
	FAILS_CLEANLY(t, envs, cap_bind(a, rd, VA(1), PROT_R | PROT_X), E_PERM);
	/* Write-only is refused: a present page is readable. */
	FAILS_CLEANLY(t, envs, cap_bind(a, wo, VA(1), PROT_W), E_PERM);
	FAILS_CLEANLY(t, envs, cap_bind(a, wo, VA(1), PROT_R), E_PERM);
	FAILS_CLEANLY(t, envs, cap_bind(a, nomap, VA(1), PROT_R), E_PERM);
	FAILS_CLEANLY(t, envs, cap_bind(a, ro_exec, VA(1), PROT_X), E_PERM);
	FAILS_CLEANLY(t, envs, cap_bind(a, rx, VA(1), PROT_R | PROT_W), E_PERM);
	FAILS_CLEANLY(t, envs, cap_bind(a, rx, VA(1), PROT_R | PROT_W | PROT_X), E_INVAL); /* W^X */
	INV(t);
	ASSERT_EQ(t, cap_bind(a, rd, VA(1), PROT_R), E_OK);
	EXPECT_EQ(t, prot_at(a, VA(1)), MMU_USER | MMU_READ);
	ASSERT_EQ(t, cap_bind(a, rx, VA(2), PROT_R | PROT_X), E_OK);
	EXPECT_EQ(t, prot_at(a, VA(2)), MMU_USER | MMU_READ | MMU_EXEC);
	EXPECT_EQ(t, a->mappings, 3);
	INV(t);

	/* Bad prot bits and addresses, for a cap with every right. */
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, VA(3), 8), E_INVAL);
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, VA(3) + 8, PROT_R), E_ALIGN);
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, 0, PROT_R), E_FAULT);
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, USER_BASE - PAGE_SIZE, PROT_R), E_FAULT);
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, USER_END, PROT_R), E_FAULT);
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, 0x0000800000000000ULL, PROT_R), E_FAULT);
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, 0xffff800000000000ULL, PROT_R), E_FAULT);
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, 0xfffffffffffff000ULL, PROT_R), E_FAULT);
	/* Over another cap's mapping: E_EXIST, and f2 (never mapped) is not marked as mapped. */
	FAILS_CLEANLY(t, envs, cap_bind(a, r2, VA(0), PROT_R), E_EXIST);
	EXPECT_EQ(t, pot_get(f2).mapped_on, 0);
	FAILS_CLEANLY(t, envs, cap_bind(a, CAP_SLOTS, VA(3), PROT_R), E_BADSLOT);
	FAILS_CLEANLY(t, envs, cap_bind(a, CAP_SLOTS - 1, VA(3), PROT_R), E_BADSLOT);
	/* An env cap binds nothing. (A copy, not the root: deleting a root env cap destroys it.) */
	uint32_t eroot, ecap;
	ASSERT_EQ(t, cap_insert_root(a, OBJ_ENV, b->id, b->gen, CAP_R_ALL, &eroot), E_OK);
	ASSERT_EQ(t, cap_mint(a, eroot, CAP_R_ALL, 0, &ecap), E_OK);
	FAILS_CLEANLY(t, envs, cap_bind(a, ecap, VA(3), PROT_R), E_TYPE);
	FAILS_CLEANLY(t, envs, cap_unbind(a, ecap), E_TYPE);
	INV(t);

	/* The same frame twice in another environment through a copy. */
	uint32_t gb;
	ASSERT_EQ(t, cap_grant(a, r, b, false, &gb), E_OK);
	ASSERT_EQ(t, cap_bind(b, gb, VA(0), PROT_R), E_OK);
	EXPECT_EQ(t, mapped(b, VA(0)), f);
	EXPECT_EQ(t, pot_get(f).mapped_on, (1ULL << a->home) | (1ULL << b->home));
	INV(t);

	/* Unbind: the mapping goes, the home core's TLB is flushed, the cap stays. */
	uint64_t flushes = tlb_flushes(a->home);
	EXPECT_EQ(t, cap_unbind(a, rd), E_OK);
	INV(t);
	EXPECT(t, tlb_flushes(a->home) > flushes);
	EXPECT_EQ(t, mapped(a, VA(1)), ~0ULL);
	EXPECT_EQ(t, info(a, rd).bound_va, 0);
	EXPECT_EQ(t, a->mappings, 2);
	FAILS_CLEANLY(t, envs, cap_unbind(a, rd), E_NOENT);
	FAILS_CLEANLY(t, envs, cap_unbind(a, r2), E_NOENT);
	FAILS_CLEANLY(t, envs, cap_unbind(a, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, cap_unbind(a, CAP_SLOTS - 1), E_BADSLOT);
	/* Bound again elsewhere; then the va it left is free for another cap. */
	ASSERT_EQ(t, cap_bind(a, rd, VA(9), PROT_R), E_OK);
	ASSERT_EQ(t, cap_bind(a, r2, VA(1), PROT_R | PROT_X), E_OK);
	EXPECT_EQ(t, mapped(a, VA(1)), f2);
	INV(t);
	/* Deleting a bound cap unbinds it. */
	EXPECT_EQ(t, cap_delete(a, rd), E_OK);
	EXPECT_EQ(t, mapped(a, VA(9)), ~0ULL);
	INV(t);
	/* The env copy first, so that destroying a does not destroy b through the root. */
	EXPECT_EQ(t, cap_delete(a, ecap), E_OK);
	ASSERT_EQ(t, cap_revoke(a, eroot), E_OK);
	envs[1] = NULL;
	EXPECT_EQ(t, cap_delete(a, eroot), E_OK); /* dooms b (docs/syscalls.md)... */
	env_reap();				  /* ...destroyed here, not recursively */
	EXPECT_EQ(t, b->state, ENV_FREE);
	EXPECT_EQ(t, env_count(), 1);
	INV(t);
	teardown(t, envs, 2);
}

/* ---- generations ---- */

TEST(cap, stale_after_the_object_is_gone)
{
	if (!setup(t))
		return;
	struct env *envs[3] = { mkenv(t, 0), mkenv(t, 1), mkenv(t, 2) };
	struct env *a = envs[0], *b = envs[1], *c = envs[2];
	ASSERT(t, a && b && c);
	uint64_t f;
	uint32_t r = new_frame(t, a, &f), cb, x;
	ASSERT(t, r != CAP_NO_SLOT);
	uint64_t gen = pot_get(f).gen;
	/* b's tables for VA(0), made now so that the free count below moves by frames only. */
	uint32_t pre;
	ASSERT_EQ(t, cap_mint(a, r, CAP_R_ALL, 0, &pre), E_OK);
	ASSERT_EQ(t, cap_grant(a, pre, b, true, &pre), E_OK);
	ASSERT_EQ(t, cap_bind(b, pre, VA(1), PROT_R), E_OK);
	ASSERT_EQ(t, cap_delete(b, pre), E_OK);
	uint64_t free0 = frame_free_count() + 1;
	ASSERT_EQ(t, cap_grant(a, r, b, false, &cb), E_OK);
	struct cap cap;
	EXPECT_EQ(t, cap_get(b, cb, OBJ_FRAME, CAP_R_MAP, &cap), E_OK);

	/*
	 * Take the frame back by force, as the abort protocol will: release it
	 * in the table under the caps' feet. Both caps die at once.
	 */
	ASSERT_EQ(t, frame_free(f, a->id, gen), E_OK);
	__atomic_fetch_sub(&a->frames_owned, 1, __ATOMIC_RELAXED);
	INV(t);
	EXPECT_EQ(t, cap_get(a, r, OBJ_FRAME, 0, &cap), E_STALE);
	EXPECT_EQ(t, cap_get(b, cb, OBJ_NONE, 0, &cap), E_STALE);
	/* Type and rights are checked first. */
	EXPECT_EQ(t, cap_get(b, cb, OBJ_ENV, 0, &cap), E_TYPE);
	EXPECT_EQ(t, cap_get(b, cb, OBJ_FRAME, CAP_R_ALL + 1, &cap), E_PERM);
	/* Inspect still works and names the old generation. */
	EXPECT_EQ(t, info(b, cb).gen, gen);
	EXPECT_EQ(t, info(b, cb).object, f);
	/* Nothing can be done with a stale cap but revoke, delete, inspect. */
	FAILS_CLEANLY(t, envs, cap_bind(b, cb, VA(0), PROT_R), E_STALE);
	FAILS_CLEANLY(t, envs, cap_mint(b, cb, CAP_R_READ, 0, &x), E_STALE);
	FAILS_CLEANLY(t, envs, cap_grant(b, cb, c, false, &x), E_STALE);
	INV(t);

	/* The frame goes to b under the next generation; a's stale root must not free it. */
	uint64_t gen2;
	uint32_t rb;
	ASSERT_EQ(t, frame_alloc_at(f, b->id, false, &gen2), E_OK);
	EXPECT_EQ(t, gen2, gen + 1);
	__atomic_fetch_add(&b->frames_owned, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(t, cap_insert_root(b, OBJ_FRAME, f, gen2, CAP_R_ALL, &rb), E_OK);
	ASSERT_EQ(t, cap_bind(b, rb, VA(0), PROT_R), E_OK);
	INV(t);
	FAILS_CLEANLY(t, envs, cap_bind(b, cb, VA(1), PROT_R), E_STALE);
	EXPECT_EQ(t, cap_revoke(a, r), E_OK);
	EXPECT(t, empty(b, cb));
	EXPECT_EQ(t, cap_delete(a, r), E_OK);
	INV(t);
	struct pot_view v = pot_get(f);
	EXPECT_EQ(t, v.state, POT_OWNED);
	EXPECT_EQ(t, v.owner, b->id);
	EXPECT_EQ(t, v.gen, gen2);
	EXPECT_EQ(t, mapped(b, VA(0)), f);
	EXPECT_EQ(t, frame_free_count(), free0 - 1);
	EXPECT_EQ(t, cap_get(b, rb, OBJ_FRAME, CAP_R_ALL, &cap), E_OK);

	/* Env caps: stale once the env is destroyed, and stay stale when its id is reused. */
	uint32_t ec;
	ASSERT_EQ(t, cap_insert_root(a, OBJ_ENV, c->id, c->gen, CAP_R_ALL, &ec), E_OK);
	EXPECT_EQ(t, cap_get(a, ec, OBJ_ENV, CAP_R_CTRL, &cap), E_OK);
	uint32_t cid = c->id;
	ASSERT_EQ(t, env_destroy(c), E_OK);
	envs[2] = NULL;
	EXPECT_EQ(t, cap_get(a, ec, OBJ_ENV, 0, &cap), E_STALE);
	struct env *c2 = mkenv(t, 2);
	ASSERT(t, c2);
	envs[2] = c2;
	EXPECT_EQ(t, c2->id, cid); /* the lowest free id: the test means this */
	EXPECT_EQ(t, cap_get(a, ec, OBJ_ENV, 0, &cap), E_STALE);
	INV(t);
	/* Deleting the stale root destroys nothing: not the new tenant of the id. */
	unsigned envs_now = env_count();
	EXPECT_EQ(t, cap_delete(a, ec), E_OK);
	EXPECT_EQ(t, env_count(), envs_now);
	EXPECT(t, env_alive(c2));
	INV(t);
	teardown(t, envs, 3);
}

/* ---- random operations ---- */

#define RND_ENVS 3
#define RND_OPS 2000
#define RND_VAS 12

enum rnd_op { OP_ALLOC, OP_FREE, OP_MINT, OP_GRANT, OP_REVOKE, OP_DELETE, OP_BIND, OP_UNBIND,
	      OP_RECYCLE, OP_KINDS };
static const char *const op_name[OP_KINDS] = {
	"alloc", "free", "mint", "grant", "revoke", "delete", "bind", "unbind", "recycle",
};
/* Relative frequencies. */
static const unsigned op_weight[OP_KINDS] = { 30, 15, 60, 45, 18, 30, 45, 30, 1 };

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A filled slot most of the time; now and then any slot at all (empty, out of range). */
static uint32_t pick_slot(struct env *e, uint64_t *rng)
{
	uint32_t live[CAP_SLOTS], n = 0;
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		const struct cap *c = cap_slot(e, s);
		if (c && __atomic_load_n(&c->type, __ATOMIC_ACQUIRE) != OBJ_NONE)
			live[n++] = s;
	}
	if (n == 0 || splitmix(rng) % 16 == 0)
		return (uint32_t)(splitmix(rng) % (CAP_SLOTS + 4));
	return live[splitmix(rng) % n];
}

static bool one_of(int err, const int *allowed, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (err == allowed[i])
			return true;
	return false;
}
#define ALLOWED(err, ...) one_of(err, (const int[]){ __VA_ARGS__ }, sizeof((int[]){ __VA_ARGS__ }) / sizeof(int))

static struct snap rnd_before;

/* One random operation; returns false (and says why) if it went wrong. */
static bool rnd_step(struct test_ctx *t, struct env **envs, uint64_t *rng, unsigned *hist,
		     unsigned step)
{
	unsigned total = 0, pick;
	for (unsigned k = 0; k < OP_KINDS; k++)
		total += op_weight[k];
	pick = (unsigned)(splitmix(rng) % total);
	enum rnd_op op = 0;
	while (pick >= op_weight[op])
		pick -= op_weight[op++];
	unsigned ei = (unsigned)(splitmix(rng) % RND_ENVS), ej = (unsigned)(splitmix(rng) % RND_ENVS);
	struct env *e = envs[ei], *to = envs[ej];
	uint32_t slot = pick_slot(e, rng), out;
	uint64_t va = VA(splitmix(rng) % RND_VAS);
	if (splitmix(rng) % 32 == 0)
		va += 0x10; /* unaligned now and then */
	unsigned prot = 1 + (unsigned)(splitmix(rng) % 7);
	unsigned rights = (unsigned)(splitmix(rng) % (CAP_R_ALL + 1));
	if (splitmix(rng) % 4)
		rights |= CAP_R_GRANT | CAP_R_MAP | CAP_R_READ; /* keep trees growing */
	uint32_t badge = splitmix(rng) % 4 ? 0 : (uint32_t)(1 + splitmix(rng) % 5);
	bool move = splitmix(rng) % 3 == 0;
	int err = E_OK;
	bool ok = true;

	snap_take(&rnd_before, envs, RND_ENVS);
	switch (op) {
	case OP_ALLOC: {
		uint64_t a[6] = { FRAME_ANY };
		if (splitmix(rng) % 4 == 0)
			a[0] = splitmix(rng) % (MEM_FRAMES + 8); /* by name: kernel, owned, past the end */
		int64_t r = syscall_invoke(e, SYS_FRAME_ALLOC, a);
		err = r < 0 ? (int)r : E_OK;
		ok = ALLOWED(err, E_OK, E_RANGE, E_PERM, E_BUSY, E_NOMEM);
		break;
	}
	case OP_FREE: {
		uint64_t a[6] = { slot };
		err = (int)syscall_invoke(e, SYS_FRAME_FREE, a);
		ok = ALLOWED(err, E_OK, E_BADSLOT, E_TYPE, E_PERM, E_STALE, E_BUSY);
		break;
	}
	case OP_MINT:
		err = cap_mint(e, slot, rights, badge, &out);
		ok = ALLOWED(err, E_OK, E_BADSLOT, E_PERM, E_RANGE, E_STALE, E_NOMEM);
		break;
	case OP_GRANT:
		err = cap_grant(e, slot, to, move, &out);
		ok = ALLOWED(err, E_OK, E_BADSLOT, E_PERM, E_BUSY, E_RANGE, E_STALE, E_NOMEM);
		break;
	case OP_REVOKE:
		err = cap_revoke(e, slot);
		ok = ALLOWED(err, E_OK, E_AGAIN, E_BADSLOT);
		break;
	case OP_DELETE:
		err = cap_delete(e, slot);
		ok = ALLOWED(err, E_OK, E_BADSLOT, E_BUSY);
		break;
	case OP_BIND:
		err = cap_bind(e, slot, va, prot);
		ok = ALLOWED(err, E_OK, E_BADSLOT, E_TYPE, E_PERM, E_STALE, E_BUSY, E_EXIST,
			     E_ALIGN, E_FAULT) ||
		     (err == E_INVAL && (prot & PROT_W) && (prot & PROT_X)); /* W^X */
		break;
	case OP_UNBIND:
		err = cap_unbind(e, slot);
		ok = ALLOWED(err, E_OK, E_BADSLOT, E_TYPE, E_NOENT);
		break;
	case OP_RECYCLE:
		/* Destroy one environment (revoking what others derived from its caps) and make another. */
		err = env_destroy(e);
		ok = err == E_OK;
		if (!ok)
			break;
		if (!EXPECT_EQ(t, env_create(home_of(ei), &envs[ei]), E_OK)) {
			envs[ei] = NULL;
			return false;
		}
		break;
	case OP_KINDS:
		break;
	}
	hist[op * 2 + (err == E_OK)]++;
	if (!ok) {
		kprintf("random: step %u: %s in env %u slot %u: unexpected %s\n", step, op_name[op],
			e->id, slot, err_name(err));
		return EXPECT(t, ok);
	}
	/* A failed operation changes nothing (a partial revoke, E_AGAIN, is progress). */
	if (err != E_OK && err != E_AGAIN && !snap_same(&rnd_before, envs)) {
		kprintf("random: step %u: %s in env %u slot %u failed with %s but changed state\n",
			step, op_name[op], e->id, slot, err_name(err));
		return EXPECT(t, false);
	}
	unsigned bad = invariant_check();
	if (bad) {
		kprintf("random: step %u: after %s in env %u slot %u (%s): %u problems\n", step,
			op_name[op], e->id, slot, err_name(err), bad);
		return EXPECT_EQ(t, bad, 0);
	}
	return true;
}

TEST(cap, random_operations_keep_the_invariants)
{
	static const uint64_t seeds[] = { 1, 0xc0ffee, 20240601 };
	for (unsigned si = 0; si < ARRAY_SIZE(seeds); si++) {
		if (!setup(t))
			return;
		uint64_t free0 = frame_free_count(), kernel0 = pot_count(POT_KERNEL);
		unsigned envs0 = env_count();
		struct env *envs[RND_ENVS];
		for (unsigned i = 0; i < RND_ENVS; i++)
			if (!(envs[i] = mkenv(t, i)))
				return;
		uint64_t rng = seeds[si];
		unsigned hist[OP_KINDS * 2] = { 0 };
		unsigned step = 0;
		while (step < RND_OPS && rnd_step(t, envs, &rng, hist, step))
			step++;
		unsigned live_caps = 0, maps = 0;
		for (unsigned i = 0; i < RND_ENVS; i++) {
			live_caps += caps_in(envs[i]);
			maps += (unsigned)envs[i]->mappings;
		}
		kprintf("random: seed %llu: %u steps; ends with %u caps, %u mappings; ok/failed:",
			(unsigned long long)seeds[si], step, live_caps, maps);
		for (unsigned k = 0; k < OP_KINDS; k++)
			kprintf(" %s %u/%u", op_name[k], hist[(size_t)k * 2 + 1],
				hist[(size_t)k * 2]);
		kprintf("\n");
		for (unsigned i = 0; i < RND_ENVS; i++)
			EXPECT_EQ(t, env_destroy(envs[i]), E_OK);
		EXPECT_EQ(t, env_count(), envs0);
		EXPECT_EQ(t, frame_free_count(), free0);
		EXPECT_EQ(t, pot_count(POT_KERNEL), kernel0);
		EXPECT_EQ(t, pot_count(POT_OWNED), 0);
		EXPECT_EQ(t, invariant_check(), 0);
		if (t->failures) {
			kprintf("random: failed with seed %llu\n", (unsigned long long)seeds[si]);
			return;
		}
		/* Every kind of operation succeeded at least once. */
		for (unsigned k = 0; k < OP_KINDS; k++)
			EXPECT(t, hist[k * 2 + 1] > 0);
	}
}
