/*
 * Revocation's short paths (core/revoke.c, issue 16): the root capability
 * found through the page-ownership table's hint is only a hint (a wrong one
 * still finds the root, by a scan), and a FRAME_ANY request taken by force
 * takes the frames in one batch, never below the guarantee, each exactly once.
 */
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/pot.h>
#include <exo/revoke.h>
#include <exo/test.h>
#include <percpu.h>
#include "support.h"

/* An environment homed on this core (revoke_take and revoke_poll run on the owner's home). */
static struct env *local_env(struct test_ctx *t)
{
	struct env *e = mkenv(t, percpu_ncpus - 1);
	if (e && !EXPECT_EQ(t, e->home, cpu_id()))
		return NULL;
	return e;
}

static int64_t mapped_frame(struct test_ctx *t, struct env *e, uint64_t va)
{
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	if (!EXPECT(t, s >= 0) || !EXPECT_EQ(t, SYS(e, SYS_MAP, s, va, PROT_R | PROT_W), 0))
		return -1;
	return s;
}

TEST(revoke, a_wrong_root_hint_still_finds_the_root)
{
	if (!setup(t))
		return;
	struct env *e = local_env(t);
	ASSERT(t, e != NULL);
	int64_t a = mapped_frame(t, e, VA(1)), b = mapped_frame(t, e, VA(2));
	ASSERT(t, a >= 0 && b >= 0);
	uint64_t fa = obj_of(e, a), fb = obj_of(e, b);
	EXPECT_EQ(t, pot_root_hint(fa), (uint64_t)a);

	/* The hint names another frame's root, then no slot at all: the answers do not change. */
	pot_set_root_hint(fa, (uint64_t)b);
	EXPECT_EQ(t, revoke_ask(e, fa, 1), E_OK);
	e->revoke_state = REV_NONE; /* the request is not the point here */
	pot_set_root_hint(fb, POT_NO_HINT - 1);
	EXPECT_EQ(t, revoke_take(e, fb), E_OK);
	EXPECT_EQ(t, pot_get(fb).state, POT_FREE);
	EXPECT_EQ(t, mapped(e, VA(2)), ~0ULL);
	EXPECT_EQ(t, info(e, (uint32_t)b).gen + 1, pot_get(fb).gen); /* its root is stale */
	pot_set_root_hint(fa, (uint64_t)b);
	EXPECT_EQ(t, revoke_take(e, fa), E_OK);
	EXPECT_EQ(t, mapped(e, VA(1)), ~0ULL);
	EXPECT_EQ(t, e->nreposs, 2);
	/* A frame e does not own is refused whatever the hint says. */
	EXPECT_EQ(t, revoke_take(e, fa), E_PERM);
	INV(t);
	EXPECT_EQ(t, env_destroy(e), E_OK);
}

TEST(revoke, a_forced_batch_takes_each_frame_once_down_to_the_guarantee)
{
	if (!setup(t))
		return;
	struct env *e = local_env(t);
	ASSERT(t, e != NULL);
	enum { N = 80, KEEP = 7 }; /* more than one batch of 64 */
	for (unsigned i = 0; i < N; i++)
		ASSERT(t, mapped_frame(t, e, VA(1 + i)) >= 0);
	uint64_t before = pot_count(POT_FREE);
	e->guarantee = KEEP;
	/* No revocation handler: the home core takes them at its next look. */
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, N), E_OK);
	revoke_poll();
	EXPECT_EQ(t, e->revoke_state, REV_NONE);
	EXPECT_EQ(t, pot_count(POT_FREE), before + N - KEEP);
	EXPECT_EQ(t, cap_revocable_frames(e, NULL, 0), KEEP);
	EXPECT_EQ(t, e->reposs_total, N - KEEP);
	unsigned still = 0;
	for (unsigned i = 0; i < N; i++)
		still += mapped(e, VA(1 + i)) != ~0ULL;
	EXPECT_EQ(t, still, KEEP);
	/* Within the guarantee now: nothing more is revocable. */
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 1), E_PERM);
	INV(t);
	EXPECT_EQ(t, env_destroy(e), E_OK);
}
