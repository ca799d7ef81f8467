/*
 * A revocation request on the host (core/revoke.c): the home core must act
 * on a request only once it is whole. The asker wins the request
 * (revoke_claim) and then writes what it asks and the deadline
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
#include <exo/revoke.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>

#include "support.h"

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
	EXPECT_EQ(t, o->revoke_deadline, 0); /* no request yet: a stale deadline long past */

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
