/*
 * Environments (core/env.c) on the host: creation errors, destruction
 * returning every frame and revoking what other environments derived,
 * stale env caps, grants racing a destroy. The syscalls are
 * syscall_test.c's.
 *
 * Each test makes its own page-ownership table over the first 16 MiB of
 * simulated memory and destroys every environment it made.
 */
#include <arch/cpu.h>
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
#include <ipi.h>
#include <percpu.h>
#include <string.h>
#include "support.h"

/* ---- env_create ---- */

TEST(env, create_refuses_offline_and_missing_cores)
{
	if (!setup(t))
		return;
	/* The host-tests machine: every core is online. Past the end: E_INVAL. */
	struct env *e = (struct env *)1;
	uint64_t free0 = frame_free_count();
	EXPECT_EQ(t, env_create(percpu_ncpus, &e), E_INVAL);
	EXPECT_EQ(t, env_create(MAX_CPUS, &e), E_INVAL);
	EXPECT_EQ(t, env_create(~0u, &e), E_INVAL);
	EXPECT(t, e == (struct env *)1);
	EXPECT_EQ(t, env_count(), 0);
	EXPECT_EQ(t, frame_free_count(), free0);

	/* A nested machine where only core 0 has reported in: cores 1..3 exist but are off. */
	sim_init(&(struct sim_config){ .ncores = 4, .seed = 3, .phys_bytes = MEM_BYTES,
				       .stack_bytes = 256 << 10 });
	percpu_report_in(); /* outside any fiber: core 0's stand-in */
	pot_setup();
	uint64_t nfree = frame_free_count();
	int e1 = env_create(1, &e), e3 = env_create(3, &e), e4 = env_create(4, &e);
	unsigned count = env_count();
	uint64_t nfree1 = frame_free_count();
	int e0 = env_create(0, &e);
	uint64_t owned = e0 == E_OK ? e->frames_owned : 0;
	int d0 = e0 == E_OK ? env_destroy(e) : E_OK;
	uint64_t nfree2 = frame_free_count();
	sim_fini();
	EXPECT_EQ(t, e1, E_INVAL);
	EXPECT_EQ(t, e3, E_INVAL);
	EXPECT_EQ(t, e4, E_INVAL);
	EXPECT_EQ(t, count, 0);
	EXPECT_EQ(t, nfree1, nfree);
	EXPECT_EQ(t, e0, E_OK);
	EXPECT_EQ(t, owned, 1); /* its top-level table */
	EXPECT_EQ(t, d0, E_OK);
	EXPECT_EQ(t, nfree2, nfree);
	EXPECT_EQ(t, env_count(), 0);
	machine_setup(); /* the outer machine's table and rings again */
	INV(t);
}

static struct env *many[MAX_ENVS];

TEST(env, create_until_the_table_is_full)
{
	if (!setup(t))
		return;
	uint64_t free0 = frame_free_count();
	unsigned n = 0;
	int err;
	struct env *e;
	while ((err = env_create(home_of(n), &e)) == E_OK) {
		ASSERT(t, n < MAX_ENVS);
		many[n++] = e;
	}
	EXPECT_EQ(t, err, E_NOMEM);
	EXPECT_EQ(t, n, MAX_ENVS);
	EXPECT_EQ(t, env_count(), MAX_ENVS);
	EXPECT_EQ(t, frame_free_count(), free0 - MAX_ENVS); /* one table page each */
	INV(t);
	/* Full: the syscall says so too, and changes nothing. */
	uint32_t slot;
	ASSERT_EQ(t, cap_insert_root(many[0], OBJ_ENV, many[1]->id, many[1]->gen, CAP_R_CTRL, &slot),
		  E_OK);
	struct env *envs[1] = { many[0] };
	FAILS_CLEANLY(t, envs, SYS(many[0], SYS_ENV_CREATE, 0), E_NOMEM);
	/* Ids are distinct, table entries fixed. */
	for (unsigned i = 0; i < n; i++)
		EXPECT_EQ(t, many[i]->id, i);
	/* Destroying many[0] deletes its root cap for many[1], which destroys many[1] too. */
	for (unsigned i = 0; i < n; i++)
		if (env_alive(many[i]))
			EXPECT_EQ(t, env_destroy(many[i]), E_OK);
	EXPECT_EQ(t, env_count(), 0);
	EXPECT_EQ(t, frame_free_count(), free0);
	INV(t);
}

/* ---- env_destroy ---- */

/* Far apart: each needs its own tables below the top level. */
static const uint64_t far_vas[] = {
	USER_BASE,			/* PML4 0, PDPT 0, PD 2 */
	0x0000000040000000ULL,		/* PDPT 1 */
	0x0000008000000000ULL,		/* PML4 1 */
	USER_END - PAGE_SIZE,		/* PML4 255, the last page */
};
#define FAR_TABLES 11 /* below the root: 3 + 2 + 3 + 3 */

TEST(env, destroy_returns_every_frame)
{
	if (!setup(t))
		return;
	uint64_t free0 = frame_free_count(), kernel0 = pot_count(POT_KERNEL);
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *e = envs[0], *b = envs[1];
	ASSERT(t, e && b);
	uint64_t free1 = frame_free_count();
	EXPECT_EQ(t, free1, free0 - 2);
	EXPECT_EQ(t, e->frames_owned, 1);

	int64_t slots[ARRAY_SIZE(far_vas)];
	for (unsigned i = 0; i < ARRAY_SIZE(far_vas); i++) {
		slots[i] = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
		ASSERT(t, slots[i] >= 0);
		ASSERT_EQ(t, SYS(e, SYS_MAP, slots[i], far_vas[i], PROT_R | PROT_W), 0);
		EXPECT_EQ(t, mapped(e, far_vas[i]), obj_of(e, slots[i]));
	}
	INV(t);
	/* ... and its capability table's first page (one kernel frame). */
	EXPECT_EQ(t, e->frames_owned, 1 + FAR_TABLES + 1 + ARRAY_SIZE(far_vas));
	EXPECT_EQ(t, e->caps.npages, 1);
	EXPECT_EQ(t, e->mappings, ARRAY_SIZE(far_vas));
	EXPECT_EQ(t, pot_count(POT_KERNEL) - kernel0, 2 + FAR_TABLES + 1);
	EXPECT_EQ(t, frame_free_count(), free1 - FAR_TABLES - 1 - ARRAY_SIZE(far_vas));
	/* A frame of e granted to b and mapped there: b's tables are b's. */
	uint32_t gb;
	ASSERT_EQ(t, cap_grant(e, (uint32_t)slots[0], b, false, &gb), E_OK);
	ASSERT_EQ(t, cap_bind(b, gb, VA(5), PROT_R), E_OK);
	uint64_t b_owned = b->frames_owned;
	EXPECT_EQ(t, b_owned, 5); /* its root, 3 tables for VA(5), its table's page */
	INV(t);

	/* Every frame charged to e, data or table, with its generation. */
	static uint64_t gen_of[MEM_FRAMES];
	static bool was_e[MEM_FRAMES];
	unsigned charged = 0;
	for (uint64_t f = 0; f < MEM_FRAMES; f++) {
		struct pot_view v = pot_get(f);
		was_e[f] = v.state != POT_FREE && v.owner == e->id;
		gen_of[f] = v.gen;
		charged += was_e[f];
	}
	EXPECT_EQ(t, charged, e->frames_owned);

	uint64_t b_flushes = tlb_flushes(b->home);
	uint32_t eid = e->id;
	uint64_t egen = e->gen;
	ASSERT_EQ(t, env_destroy(e), E_OK);
	INV(t);
	EXPECT_EQ(t, e->state, ENV_FREE);
	EXPECT_EQ(t, e->gen, egen + 1);
	EXPECT_EQ(t, env_count(), 1);
	/* Every frame came back, under a new generation; only b's remain. */
	unsigned back = 0;
	for (uint64_t f = 0; f < MEM_FRAMES; f++) {
		struct pot_view v = pot_get(f);
		EXPECT(t, v.state == POT_FREE || v.owner != eid);
		if (was_e[f])
			back += v.state == POT_FREE && v.gen == gen_of[f] + 1 && v.mapped_on == 0;
	}
	EXPECT_EQ(t, back, charged);
	EXPECT_EQ(t, frame_free_count(), free0 - b_owned);
	EXPECT_EQ(t, pot_count(POT_KERNEL) - kernel0, 1 + 3 + 1); /* b's: as above */
	/* b's copy was revoked with it, and unmapped on b's home core. */
	EXPECT(t, empty(b, gb));
	EXPECT_EQ(t, mapped(b, VA(5)), ~0ULL);
	EXPECT_EQ(t, b->mappings, 0);
	EXPECT(t, tlb_flushes(b->home) > b_flushes);
	/* A destroyed environment is not destroyed again. */
	EXPECT_EQ(t, env_destroy(e), E_STALE);
	envs[0] = NULL;
	teardown(t, envs, 2);
}

TEST(env, destroy_revokes_what_others_derived)
{
	if (!setup(t))
		return;
	struct env *envs[3] = { mkenv(t, 0), mkenv(t, 1), mkenv(t, 2) };
	struct env *a = envs[0], *b = envs[1], *c = envs[2];
	ASSERT(t, a && b && c);
	/* a's frame: mapped in a, copied to b (mapped, and minted there), on to c (mapped). */
	int64_t fa = SYS(a, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, fa >= 0);
	uint64_t frame_a = obj_of(a, fa);
	ASSERT_EQ(t, SYS(a, SYS_MAP, fa, VA(0), PROT_R | PROT_W), 0);
	uint32_t b1, b2, c1;
	ASSERT_EQ(t, cap_grant(a, (uint32_t)fa, b, false, &b1), E_OK);
	ASSERT_EQ(t, SYS(b, SYS_MAP, b1, VA(1), PROT_R), 0);
	ASSERT_EQ(t, cap_mint(b, b1, CAP_R_MAP | CAP_R_READ, 0, &b2), E_OK);
	ASSERT_EQ(t, SYS(b, SYS_MAP, b2, VA(3), PROT_R), 0);
	ASSERT_EQ(t, cap_grant(b, b1, c, false, &c1), E_OK);
	ASSERT_EQ(t, SYS(c, SYS_MAP, c1, VA(2), PROT_R), 0);
	/* b's own frame: mapped in b, a copy mapped in a. */
	int64_t fb = SYS(b, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, fb >= 0);
	uint64_t frame_b = obj_of(b, fb);
	ASSERT_EQ(t, SYS(b, SYS_MAP, fb, VA(4), PROT_R | PROT_W), 0);
	uint32_t ab;
	ASSERT_EQ(t, cap_grant(b, (uint32_t)fb, a, false, &ab), E_OK);
	ASSERT_EQ(t, SYS(a, SYS_MAP, ab, VA(5), PROT_R), 0);
	/* And an environment a created: its root cap is in a. */
	int64_t xs = SYS(a, SYS_ENV_CREATE, 0);
	ASSERT(t, xs >= 0);
	struct env *x = env_lookup((uint32_t)obj_of(a, xs));
	ASSERT(t, x && env_alive(x));
	int64_t fx = SYS(x, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, fx >= 0);
	ASSERT_EQ(t, SYS(x, SYS_MAP, fx, VA(0), PROT_R), 0);
	INV(t);
	EXPECT_EQ(t, env_count(), 4);

	uint64_t fl_b = tlb_flushes(b->home), fl_c = tlb_flushes(c->home);
	uint64_t free_b = b->frames_owned, free_c = c->frames_owned;
	uint64_t free_before = frame_free_count();
	uint64_t a_owned = a->frames_owned, x_owned = x->frames_owned;
	ASSERT_EQ(t, env_destroy(a), E_OK);
	envs[0] = NULL;
	INV(t);
	/* What b and c had of a's frame is gone, bindings too; their TLBs were flushed. */
	EXPECT(t, empty(b, b1));
	EXPECT(t, empty(b, b2));
	EXPECT(t, empty(c, c1));
	EXPECT_EQ(t, mapped(b, VA(1)), ~0ULL);
	EXPECT_EQ(t, mapped(b, VA(3)), ~0ULL);
	EXPECT_EQ(t, mapped(c, VA(2)), ~0ULL);
	EXPECT_EQ(t, c->mappings, 0);
	EXPECT(t, tlb_flushes(b->home) > fl_b);
	EXPECT(t, tlb_flushes(c->home) > fl_c);
	EXPECT_EQ(t, pot_get(frame_a).state, POT_FREE);
	/* b's own frame stays b's, mapped, its copy in a deleted. */
	EXPECT_EQ(t, pot_get(frame_b).owner, b->id);
	EXPECT_EQ(t, mapped(b, VA(4)), frame_b);
	EXPECT_EQ(t, b->mappings, 1);
	EXPECT_EQ(t, info(b, (uint32_t)fb).children, 0);
	EXPECT_EQ(t, b->frames_owned, free_b);
	EXPECT_EQ(t, c->frames_owned, free_c);
	/* The environment a created went with it (docs/syscalls.md: deleting a root env cap destroys it). */
	EXPECT(t, !env_alive(x));
	EXPECT_EQ(t, env_count(), 2);
	EXPECT_EQ(t, frame_free_count(), free_before + a_owned + x_owned);
	teardown(t, envs, 3);
}

TEST(env, env_caps_go_stale_after_destroy)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *p = envs[0], *q = envs[1];
	ASSERT(t, p && q);
	ASSERT(t, user_page(t, p, OUT_VA, PROT_R | PROT_W));
	int64_t xs = SYS(p, SYS_ENV_CREATE, 1 % percpu_ncpus);
	ASSERT(t, xs >= 0);
	struct cap_info xi = info(p, (uint32_t)xs);
	EXPECT_EQ(t, xi.type, OBJ_ENV);
	EXPECT_EQ(t, xi.rights, CAP_R_ALL);
	EXPECT_EQ(t, xi.depth, 0);
	struct env *x = env_lookup((uint32_t)xi.object);
	ASSERT(t, x && env_alive(x));
	EXPECT_EQ(t, xi.gen, x->gen);
	EXPECT_EQ(t, x->home, 1 % percpu_ncpus);
	uint32_t qs;
	ASSERT_EQ(t, cap_grant(p, (uint32_t)xs, q, false, &qs), E_OK);
	int64_t fp = SYS(p, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, fp >= 0);
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, xs), E_AGAIN);
	EXPECT_EQ(t, SYS(q, SYS_ENV_STATUS, qs), E_AGAIN);
	INV(t);

	uint32_t xid = x->id;
	EXPECT_EQ(t, SYS(p, SYS_ENV_DESTROY, xs), 0);
	INV(t);
	EXPECT(t, !env_alive(x));
	/* Every cap to it, root or copy, in any environment, is stale. */
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, xs), E_STALE);
	EXPECT_EQ(t, SYS(q, SYS_ENV_STATUS, qs), E_STALE);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_DESTROY, xs), E_STALE);
	FAILS_CLEANLY(t, envs, SYS(q, SYS_ENV_DESTROY, qs), E_STALE);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, fp, xs, GRANT_COPY), E_STALE);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_MINT, xs, CAP_R_ALL, 0), E_STALE);
	/* Inspect still works, and shows the old generation. */
	EXPECT_EQ(t, SYS(p, SYS_CAP_INSPECT, xs, OUT_VA), 0);
	EXPECT_EQ(t, info(p, (uint32_t)xs).gen, xi.gen);

	/* The id is reused by the next environment; the old caps do not reach it. */
	int64_t ys = SYS(p, SYS_ENV_CREATE, 0);
	ASSERT(t, ys >= 0);
	struct env *y = env_lookup((uint32_t)obj_of(p, ys));
	EXPECT_EQ(t, y->id, xid);
	EXPECT(t, y->gen != xi.gen);
	FAILS_CLEANLY(t, envs, SYS(q, SYS_ENV_DESTROY, qs), E_STALE);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_STATUS, xs), E_STALE);
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, ys), E_AGAIN);
	/* Deleting the stale root destroys nothing (it names the old incarnation). */
	EXPECT_EQ(t, SYS(q, SYS_CAP_DELETE, qs), 0);
	EXPECT_EQ(t, SYS(p, SYS_CAP_DELETE, xs), 0);
	EXPECT(t, env_alive(y));
	EXPECT_EQ(t, env_count(), 3);
	INV(t);
	/* Deleting the live root does destroy it. */
	EXPECT_EQ(t, SYS(p, SYS_CAP_DELETE, ys), 0);
	EXPECT(t, !env_alive(y));
	EXPECT_EQ(t, env_count(), 2);
	INV(t);
	teardown(t, envs, 2);
}

/* ---- grants into a dying environment ---- */

TEST(env, grant_into_a_dying_env_fails)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *a = envs[0], *v = envs[1];
	ASSERT(t, a && v);
	int64_t r = SYS(a, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, r >= 0);
	uint32_t leaf, x = 99;
	ASSERT_EQ(t, cap_mint(a, (uint32_t)r, CAP_R_ALL, 0, &leaf), E_OK);
	/*
	 * v as env_destroy leaves it while it deletes v's caps. (The invariant
	 * checker would rightly complain meanwhile: v's frames are charged to
	 * an environment that is not alive. So no INV until it is back.)
	 */
	__atomic_store_n(&v->state, ENV_DYING, __ATOMIC_RELEASE);
	snap_take(&snap_before, envs, 2);
	EXPECT_EQ(t, cap_grant(a, (uint32_t)r, v, false, &x), E_STALE);
	EXPECT_EQ(t, cap_grant(a, leaf, v, true, &x), E_STALE);
	EXPECT(t, snap_same(&snap_before, envs));
	EXPECT_EQ(t, caps_in(v), 0);
	EXPECT_EQ(t, x, 99);
	__atomic_store_n(&v->state, ENV_CREATED, __ATOMIC_RELEASE);
	EXPECT_EQ(t, cap_grant(a, (uint32_t)r, v, false, &x), E_OK);
	INV(t);
	teardown(t, envs, 2);
}

/*
 * The same as a race on a nested machine. Core 0 sets up a and v (v homed
 * on core 1, with mapped frames, so that destroying it waits for TLB
 * flushes on core 1: scheduling points while v is dying) and destroys v;
 * core 2 meanwhile grants a's caps into v, copy and move, yielding between
 * grants. A grant may succeed only while v is alive (then destroy deletes
 * what it made); into a dying or destroyed v it is E_STALE.
 */
struct race {
	struct env *a, *v;
	uint32_t root;
	bool ready, destroyed;
	int destroy_err;
	unsigned ok, stale, ok_while_dying, other, into_dead;
};

static void race_idle(void *arg)
{
	percpu_report_in();
	percpu_idle_loop();
}

static void race_destroyer(void *arg)
{
	struct race *r = arg;
	arch_irq_enable();
	percpu_report_in();
	while (percpu_online_count() < 3)
		arch_cpu_relax();
	if (env_create(0, &r->a) != E_OK || env_create(1, &r->v) != E_OK)
		return;
	int64_t s = SYS(r->a, SYS_FRAME_ALLOC, FRAME_ANY);
	if (s < 0)
		return;
	r->root = (uint32_t)s;
	/* v's own frames, mapped: each unmap at destroy waits for core 1's flush. */
	for (unsigned i = 0; i < 6; i++) {
		int64_t f = SYS(r->v, SYS_FRAME_ALLOC, FRAME_ANY);
		if (f < 0 || SYS(r->v, SYS_MAP, f, VA(i), PROT_R) != 0)
			return;
	}
	r->ready = true;
	for (unsigned i = 0; i < 4; i++)
		sim_yield();
	r->destroy_err = env_destroy(r->v);
	r->destroyed = true;
}

static void race_granter(void *arg)
{
	struct race *r = arg;
	arch_irq_enable();
	percpu_report_in();
	while (!r->ready) {
		if (r->destroyed)
			return;
		arch_cpu_relax();
	}
	for (unsigned i = 0; !r->destroyed || i % 8; i++) {
		uint32_t state = __atomic_load_n(&r->v->state, __ATOMIC_ACQUIRE), s, src = r->root;
		bool move = i % 3 == 2;
		if (move && cap_mint(r->a, r->root, CAP_R_ALL, 0, &src) != E_OK) {
			r->other++;
			break;
		}
		int err = cap_grant(r->a, src, r->v, move, &s);
		if (err == E_OK) {
			r->ok++;
			r->ok_while_dying += state != ENV_CREATED;
		} else if (err == E_STALE) {
			r->stale++;
			r->into_dead += state == ENV_FREE;
		} else {
			r->other++;
		}
		if (move && err != E_OK)
			(void)cap_delete(r->a, src);
		sim_yield();
	}
}

static struct race race;

TEST(env, grant_racing_destroy)
{
	if (!setup(t))
		return;
	static const uint64_t seeds[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	unsigned stale = 0, ok = 0;
	for (unsigned si = 0; si < ARRAY_SIZE(seeds); si++) {
		memset(&race, 0, sizeof(race));
		race.destroy_err = 1;
		sim_init(&(struct sim_config){ .ncores = 3, .seed = seeds[si],
					       .phys_bytes = MEM_BYTES, .stack_bytes = 256 << 10 });
		pot_setup();
		uint64_t free0 = frame_free_count();
		sim_start(0, race_destroyer, &race);
		sim_start_daemon(1, race_idle, NULL);
		sim_start(2, race_granter, &race);
		int err = sim_run(5ULL * 1000 * 1000);
		unsigned bad = invariant_check();
		unsigned left_in_v = race.v ? caps_in(race.v) : ~0u;
		unsigned children = race.a ? info(race.a, race.root).children : ~0u;
		bool v_alive = race.v && env_alive(race.v);
		int destroy_a = race.a ? env_destroy(race.a) : E_INVAL;
		uint64_t free1 = frame_free_count();
		unsigned envs_left = env_count();
		sim_fini();

		EXPECT_EQ(t, err, E_OK);
		EXPECT(t, race.ready);
		EXPECT_EQ(t, race.destroy_err, E_OK);
		EXPECT_EQ(t, bad, 0);
		EXPECT(t, !v_alive);
		EXPECT_EQ(t, left_in_v, 0);     /* grants that got in were deleted */
		EXPECT_EQ(t, children, 0);      /* and unlinked from a's tree */
		EXPECT_EQ(t, race.ok_while_dying, 0);
		EXPECT_EQ(t, race.other, 0);
		EXPECT_EQ(t, destroy_a, E_OK);
		EXPECT_EQ(t, free1, free0);
		EXPECT_EQ(t, envs_left, 0);
		if (t->failures) {
			kprintf("env.grant_racing_destroy: seed %llu\n", (unsigned long long)seeds[si]);
			break;
		}
		ok += race.ok;
		stale += race.stale - race.into_dead; /* refused while dying, not after */
	}
	machine_setup(); /* the outer machine again */
	kprintf("env.grant_racing_destroy: %u grants in, %u refused while v was dying\n", ok, stale);
	EXPECT(t, ok > 0);
	EXPECT(t, stale > 0); /* the window was hit */
}
