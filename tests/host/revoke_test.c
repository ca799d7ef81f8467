/*
 * Revocation on the host (core/revoke.c).
 *
 * The short paths (issue 16): the root capability found through the
 * page-ownership table's hint is only a hint (a wrong one still finds the
 * root, by a scan), and a FRAME_ANY request taken by force takes the frames
 * in one batch, never below the guarantee, each exactly once.
 *
 * A request is acted on only once it is whole (issue 14). The asker wins
 * the request (revoke_claim) and then writes what it asks and the deadline
 * (revoke_publish); a home core that looks in between — at the owner's
 * slice start, or in its run loop — must leave it alone. (It used to see
 * REV_ASKED before the deadline was written, take the last request's
 * deadline, or 0 before the first, for passed, and take the frames by force
 * from an owner it never asked: the 2-core balloon test's cooperating pager
 * lost 4 of 32 frames now and then.) And the deadline is revoke_us from
 * the request (it was a thousand times that).
 */
#include <arch/cpu.h>
#include <exo/abi.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/pot.h>
#include <exo/revoke.h>
#include <exo/syscall.h>
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

/* An environment homed on this core (the test plays its home core) holding n frames of its own. */
static struct env *owner_here(struct test_ctx *t, unsigned n)
{
	struct env *o = NULL;
	if (!EXPECT_EQ(t, env_create(cpu_id(), &o), E_OK))
		return NULL;
	for (unsigned i = 0; i < n; i++)
		EXPECT(t, SYS(o, SYS_FRAME_ALLOC, FRAME_ANY) >= 0);
	return o;
}

TEST(revoke, a_request_being_filled_in_is_left_alone)
{
	if (!setup(t))
		return;
	struct env *o = owner_here(t, 3);
	ASSERT(t, o != NULL);
	uint64_t owned = o->frames_owned;
	o->revoke_deadline = 0; /* a stale deadline long past (a reused env keeps its last one) */

	ASSERT_EQ(t, revoke_claim(o), E_OK);
	EXPECT_EQ(t, o->revoke_state, REV_FILLING);
	EXPECT_EQ(t, revoke_claim(o), E_BUSY); /* one request at a time, even half made */
	EXPECT_EQ(t, revoke_ask(o, FRAME_ANY, 1), E_BUSY);
	/* The asker has written part of it (what it asks, not yet the deadline)... */
	o->revoke_frame = FRAME_ANY;
	o->revoke_count = 2;
	/* ...when the home core looks: at a slice start, and in its run loop (o cannot answer). */
	EXPECT(t, !revoke_slice(o));
	__atomic_store_n(&this_cpu()->revoke_check, true, __ATOMIC_SEQ_CST);
	revoke_poll();
	EXPECT_EQ(t, o->reposs_total, 0);
	EXPECT_EQ(t, o->frames_owned, owned);
	EXPECT_EQ(t, o->revoke_state, REV_FILLING);

	uint64_t t0 = arch_cycles();
	revoke_publish(o, FRAME_ANY, 2);
	EXPECT_EQ(t, o->revoke_state, REV_ASKED);
	EXPECT_EQ(t, o->revoke_count, 2);
	EXPECT(t, o->revoke_deadline > t0);
	/* Published, it is carried out: o cannot answer (not running), so at once. */
	revoke_poll();
	EXPECT_EQ(t, o->reposs_total, 2);
	EXPECT_EQ(t, o->frames_owned, owned - 2);
	EXPECT_EQ(t, o->revoke_state, REV_NONE);
	INV(t);
	EXPECT_EQ(t, env_destroy(o), E_OK);
	EXPECT_EQ(t, frame_free_count(), FREE_FRAMES);
}

TEST(revoke, the_deadline_is_revoke_us_from_the_request)
{
	if (!setup(t))
		return;
	struct env *o = owner_here(t, 2);
	ASSERT(t, o != NULL);
	uint64_t saved = revoke_deadline_ns, hz = arch_cycles_per_sec();
	revoke_deadline_ns = 2000000; /* revoke_us=2000 */
	uint64_t t0 = arch_cycles();
	ASSERT_EQ(t, revoke_ask(o, FRAME_ANY, 1), E_OK);
	uint64_t t1 = arch_cycles();
	revoke_deadline_ns = saved;
	EXPECT(t, o->revoke_deadline >= t0 + hz / 500);
	EXPECT(t, o->revoke_deadline <= t1 + hz / 500);
	/* A slice start before it: no abort (no entry: no upcall either). */
	EXPECT(t, !revoke_slice(o));
	EXPECT_EQ(t, o->reposs_total, 0);
	EXPECT_EQ(t, o->revoke_state, REV_ASKED);
	/* Past it, the next slice start takes what is owed. */
	o->revoke_deadline = arch_cycles();
	EXPECT(t, !revoke_slice(o));
	EXPECT_EQ(t, o->reposs_total, 1);
	EXPECT_EQ(t, o->revoke_state, REV_NONE);
	INV(t);
	EXPECT_EQ(t, env_destroy(o), E_OK);
	EXPECT_EQ(t, frame_free_count(), FREE_FRAMES);
}
