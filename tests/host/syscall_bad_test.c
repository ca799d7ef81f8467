/*
 * Bad inputs of the calls syscall_test.c does not cover, each with the
 * whole-machine snapshot around it (support.h's FAILS_CLEANLY): upcall
 * registration, time slots, CPU accounting, endpoints, revocation
 * requests, the repossession read, guarantees and notifications. Every row
 * is an error docs/syscalls.md lists for the call, and the call must
 * change nothing. (YIELD_TO and PCT leave the kernel for user mode, which
 * the host does not have: tests/user/syscalls_bad.c covers them.)
 */
#include <arch/sim.h>
#include <exo/abi.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/slice.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include "support.h"

#define KERNEL_VA 0xffffffff80000000ULL

/*
 * The fixtures: e (the caller) holds ch, a root capability to a child on
 * its own core; weak, a copy of it with GRANT only (no CTRL, no WRITE);
 * dead, the root capability of a child since destroyed; f, a frame of its
 * own mapped at OUT_VA; and a read-only page at RO_VA.
 */
struct fx {
	struct env *envs[3]; /* e, o (another environment), the child */
	int64_t ch, weak, dead, f;
};

static bool fixtures(struct test_ctx *t, struct fx *x)
{
	if (!setup(t))
		return false;
	struct env *e = mkenv(t, 0), *o = mkenv(t, 1);
	if (!e || !o)
		return false;
	x->f = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	int64_t ro = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	x->ch = SYS(e, SYS_ENV_CREATE, e->home);
	x->dead = SYS(e, SYS_ENV_CREATE, e->home);
	if (!EXPECT(t, x->f >= 0 && ro >= 0 && x->ch >= 0 && x->dead >= 0) ||
	    !EXPECT_EQ(t, SYS(e, SYS_MAP, x->f, OUT_VA, PROT_R | PROT_W), 0) ||
	    !EXPECT_EQ(t, SYS(e, SYS_MAP, ro, RO_VA, PROT_R), 0) ||
	    !EXPECT_EQ(t, SYS(e, SYS_ENV_DESTROY, x->dead), 0))
		return false;
	x->weak = SYS(e, SYS_CAP_MINT, x->ch, CAP_R_GRANT, 0);
	*x = (struct fx){
		{ e, o, env_lookup((uint32_t)obj_of(e, x->ch)) }, x->ch, x->weak, x->dead, x->f
	};
	return EXPECT(t, x->weak >= 0);
}

TEST(syscall, upcall_set_bad_inputs)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	const uint64_t entry = VA(3), stack = VA(4);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, UPCALL_KINDS, entry, stack, 4096), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, ~0ULL, entry, stack, 4096), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, UPCALL_FAULT, KERNEL_VA, stack, 4096),
		      E_FAULT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, UPCALL_FAULT, entry, KERNEL_VA, 4096),
		      E_FAULT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, UPCALL_FAULT, entry, stack, ~0ULL - 15),
		      E_FAULT); /* runs past user space */
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, UPCALL_FAULT, entry, stack + 8, 4096),
		      E_ALIGN);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, UPCALL_FAULT, entry, stack, 4100), E_ALIGN);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, UPCALL_SCHED, entry, stack, 16), E_RANGE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_UPCALL_SET, UPCALL_REVOKE, entry, stack, 0), E_RANGE);
	teardown(t, x.envs, 3);
}

TEST(syscall, time_slot_bad_inputs)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	uint64_t other_core = (e->home + 1) % percpu_ncpus;
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, percpu_ncpus, SLOT_ANY, ENV_SELF), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, ~0ULL, SLOT_ANY, ENV_SELF), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, other_core, SLOT_ANY, ENV_SELF), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, e->home, slice_nslots, ENV_SELF), E_RANGE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, e->home, 1ULL << 40, ENV_SELF), E_RANGE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, e->home, SLOT_ANY, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, e->home, SLOT_ANY, x.f), E_TYPE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, e->home, SLOT_ANY, x.weak), E_PERM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, e->home, SLOT_ANY, x.dead), E_STALE);
	/* A slot taken is E_BUSY; its derived caps keep it from being freed. */
	int64_t s = SYS(e, SYS_SLOT_ALLOC, e->home, 3, ENV_SELF);
	ASSERT(t, s >= 0);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_ALLOC, e->home, 3, ENV_SELF), E_BUSY);
	int64_t child = SYS(e, SYS_CAP_MINT, s, CAP_R_ALL, 0);
	int64_t noctrl = SYS(e, SYS_CAP_MINT, s, CAP_R_GRANT, 0);
	ASSERT(t, child >= 0 && noctrl >= 0);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_FREE, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_FREE, x.f), E_TYPE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_FREE, child), E_PERM);	 /* not the root */
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_FREE, noctrl), E_PERM); /* no CTRL */
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_SLOT_FREE, s), E_BUSY);
	EXPECT_EQ(t, SYS(e, SYS_CAP_REVOKE, s), 0);
	EXPECT_EQ(t, SYS(e, SYS_SLOT_FREE, s), 0);
	teardown(t, x.envs, 3);
}

TEST(syscall, env_cpu_and_endpoint_bad_inputs)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_ENV_CPU, ENV_SELF, MAX_CPUS), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_ENV_CPU, ENV_SELF, ~0ULL), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_ENV_CPU, CAP_SLOTS, 0), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_ENV_CPU, x.f, 0), E_TYPE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_ENV_CPU, x.dead, 0), E_STALE);

	const uint64_t entry = VA(3), stack = VA(4);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, ENV_SELF, KERNEL_VA, stack, 4096), E_FAULT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, ENV_SELF, entry, KERNEL_VA, 4096), E_FAULT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, ENV_SELF, entry, stack, 0), E_FAULT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, ENV_SELF, entry, stack + 8, 4096), E_ALIGN);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, ENV_SELF, entry, stack, 4100), E_ALIGN);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, CAP_SLOTS, entry, stack, 4096), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, x.f, entry, stack, 4096), E_TYPE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, x.weak, entry, stack, 4096), E_PERM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, x.dead, entry, stack, 4096), E_STALE);
	teardown(t, x.envs, 3);
}

TEST(syscall, revocation_request_guarantee_and_reposs_bad_inputs)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0], *c = x.envs[2];
	/* The child holds two frames it allocated itself: revocable. */
	int64_t c0 = SYS(c, SYS_FRAME_ALLOC, FRAME_ANY), c1 = SYS(c, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, c0 >= 0 && c1 >= 0);
	uint64_t cf = obj_of(c, c0), mine = obj_of(e, x.f);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.ch, FRAME_ANY, 0), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.ch, cf, 2), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.ch, MEM_FRAMES, 1), E_RANGE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.ch, mine, 1),
		      E_PERM);						      /* not the child's */
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.ch, 0, 1), E_PERM); /* the kernel's */
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, CAP_SLOTS, FRAME_ANY, 1), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.f, FRAME_ANY, 1), E_TYPE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.weak, FRAME_ANY, 1), E_PERM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.dead, FRAME_ANY, 1), E_STALE);

	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_GUARANTEE, x.ch, MEM_FRAMES + 1), E_RANGE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_GUARANTEE, ENV_SELF, 1), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_GUARANTEE, x.f, 1), E_TYPE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_GUARANTEE, x.weak, 1), E_PERM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_GUARANTEE, x.dead, 1), E_STALE);
	/* The sum of the guarantees stays within the frames environments can hold. */
	int64_t c2 = SYS(e, SYS_ENV_CREATE, e->home);
	ASSERT(t, c2 >= 0);
	uint64_t room = pot_usable_frames();
	EXPECT_EQ(t, SYS(e, SYS_GUARANTEE, x.ch, room - 1), 0);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_GUARANTEE, c2, 2), E_RANGE);
	EXPECT_EQ(t, SYS(e, SYS_GUARANTEE, c2, 1), 0);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_GUARANTEE, x.ch, room), E_RANGE);
	EXPECT_EQ(t, SYS(e, SYS_ENV_DESTROY, c2), 0); /* its guarantee goes with it */
	EXPECT_EQ(t, SYS(e, SYS_GUARANTEE, x.ch, room), 0);
	/* Within its guarantee, nothing can be asked for. */
	EXPECT_EQ(t, SYS(e, SYS_GUARANTEE, x.ch, 2), 0);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.ch, FRAME_ANY, 1), E_PERM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REVOKE_ASK, x.ch, cf, 1), E_PERM);

	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REPOSS_READ, KERNEL_VA), E_FAULT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REPOSS_READ, RO_VA), E_FAULT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REPOSS_READ, HOLE_VA), E_FAULT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_REPOSS_READ, OUT_VA + PAGE_SIZE - 8), E_FAULT);
	teardown(t, x.envs, 3);
}

TEST(syscall, notify_bad_inputs)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	int64_t ro = SYS(e, SYS_CAP_MINT, x.ch, CAP_R_READ, 0); /* no WRITE */
	ASSERT(t, ro >= 0);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_NOTIFY, x.ch, 0), E_INVAL);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_NOTIFY, CAP_SLOTS, 1), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_NOTIFY, x.f, 1), E_TYPE);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_NOTIFY, ro, 1), E_PERM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_NOTIFY, x.weak, 1), E_PERM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_NOTIFY, x.dead, 1), E_STALE);
	teardown(t, x.envs, 3);
}

/*
 * Quotas (exo/env.h): a child's environments, endpoints and page-table
 * frames are charged to it and to its parent; at a limit (its own or an
 * ancestor's) the call is E_NOMEM and changes nothing; a destroy gives the
 * parent its counts back. Limits are set here directly (ENV_START sets them
 * in the guest; the host has no program images).
 */
TEST(syscall, quota_limits_bad_inputs)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0], *c = x.envs[2];
	uint64_t e_envs = e->quota_used[QUOTA_ENVS], e_pt = e->quota_used[QUOTA_PT_FRAMES];
	EXPECT_EQ(t, e_envs, 1); /* the child (the destroyed one gave its count back) */
	EXPECT(t, e_pt >= c->quota_used[QUOTA_PT_FRAMES] + 1);
	/* The child's own limit: one environment. */
	c->quota_limit[QUOTA_ENVS] = 1;
	int64_t g = SYS(c, SYS_ENV_CREATE, c->home);
	ASSERT(t, g >= 0);
	EXPECT_EQ(t, e->quota_used[QUOTA_ENVS], 2);
	FAILS_CLEANLY(t, x.envs, SYS(c, SYS_ENV_CREATE, c->home), E_NOMEM);
	/* An ancestor's limit binds too. */
	c->quota_limit[QUOTA_ENVS] = 10;
	e->quota_limit[QUOTA_ENVS] = e->quota_used[QUOTA_ENVS];
	FAILS_CLEANLY(t, x.envs, SYS(c, SYS_ENV_CREATE, c->home), E_NOMEM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_ENV_CREATE, e->home), E_NOMEM);
	/* Endpoints: none allowed. */
	c->quota_limit[QUOTA_ENDPOINTS] = 0;
	FAILS_CLEANLY(t, x.envs, SYS(c, SYS_EP_CREATE, ENV_SELF, VA(3), VA(4), 4096), E_NOMEM);
	FAILS_CLEANLY(t, x.envs, SYS(e, SYS_EP_CREATE, x.ch, VA(3), VA(4), 4096), E_NOMEM);
	/* Page tables: not one more, so a map that needs a table fails. */
	int64_t f = SYS(c, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, f >= 0);
	c->quota_limit[QUOTA_PT_FRAMES] = c->quota_used[QUOTA_PT_FRAMES];
	/* (The frame's mapped-on bit may stay set: a harmless over-approximation, as for any E_NOMEM.) */
	uint64_t owned = c->frames_owned, e_pt2 = e->quota_used[QUOTA_PT_FRAMES];
	EXPECT_EQ(t, SYS(c, SYS_MAP, f, 0x10000000000ULL, PROT_R), E_NOMEM);
	EXPECT_EQ(t, c->frames_owned, owned);
	EXPECT_EQ(t, e->quota_used[QUOTA_PT_FRAMES], e_pt2);
	c->quota_limit[QUOTA_PT_FRAMES] = ~0ULL;
	EXPECT_EQ(t, SYS(c, SYS_MAP, f, 0x10000000000ULL, PROT_R), 0);
	/* Its new tables count at the parent too. */
	EXPECT_EQ(t, e->quota_used[QUOTA_PT_FRAMES] - e_pt2, c->frames_owned - owned);
	/* Destroying the grandchild gives both their counts back. */
	EXPECT_EQ(t, SYS(c, SYS_ENV_DESTROY, g), 0);
	EXPECT_EQ(t, e->quota_used[QUOTA_ENVS], 1);
	EXPECT_EQ(t, c->quota_used[QUOTA_ENVS], 0);
	e->quota_limit[QUOTA_ENVS] = ~0ULL;
	INV(t);
	teardown(t, x.envs, 3);
	EXPECT_EQ(t, e->quota_used[QUOTA_PT_FRAMES], 0);
}
