/*
 * A hostile libOS against the kernel (issue 17, item 2). As a parent (arg:
 * a test number, bits 8..15 the core for the children) it starts copies of
 * itself in one hostile child mode each, ends them, and checks after each
 * that the kernel's invariant checker is clean and every frame came back
 * (SYS_DEBUG_CHECK, SYS_FRAME_COUNT before and after). Exit status: 0, or
 * the number of the first check that failed (a `hostile:` line says which).
 *
 * Child modes (arg CHILD | mode):
 *   SPIN          spins in user mode, never enters the kernel
 *   REVOKE_FAULT  holds frames; its revocation handler faults (#PF)
 *   SCHED_FAULT   its scheduler handler faults (#PF)
 *   SCHED_NOSTACK / SCHED_ROSTACK  a scheduler stack not mapped / read-only
 *   FAULT_ROSTACK an exception stack that is read-only (its text), then ud2
 *   REVOKE_NOSTACK holds frames, a revocation stack not mapped: the kernel
 *                 takes them at the deadline; exits 0 once it sees that
 *   NEST          a scheduler handler that runs across slices and a
 *                 revocation handler that does too: neither is entered
 *                 while it runs, and neither is written over by the other
 *                 (a revocation upcall waits while the scheduler runs);
 *                 exits 0, 1 if one was re-entered, 2 if never answered
 *                 nor taken
 *   HOG, LEAF     memory exhaustion: HOG starts LEAF children on its core
 *                 until the kernel says no; each LEAF takes frames and maps
 *                 each 2 MiB apart (a page table each) until refused
 *   LIMITED       started with ENV_LIMITS(3, 2, 24): creates environments,
 *                 endpoints and page tables until refused, tries to give a
 *                 child more than it has, and starts an ENV_EATER child
 *                 within its own limits; exits with what it got, packed
 *   ENV_EATER     creates environments until refused; exits with the count
 *   TABLE_EATER   started with a kernel-frame limit: mints capabilities until
 *                 refused, its table growing page by page; exits 0 if the
 *                 refusal was E_NOMEM at a page boundary, every slot number
 *                 past its table and past CAP_SLOTS empty (E_BADSLOT), and
 *                 nothing changed by the refused call
 *   TREE          a node of a tree (depth in bits 20..23): maps frames 2 MiB
 *                 apart (a page table each), mints a copy of each, starts
 *                 TREE_WIDTH children one level down on its core, yields
 *   DESTROYER     destroys the environment its capability (the slot in bits
 *                 32..47) names: exits 0 if it did, 1 if it was gone (E_STALE)
 *   GRANTER       grants a frame into that environment until E_STALE; exits 0
 *   PT_BUILDER    (started with a page-table quota) maps one frame 2 MiB apart,
 *                 unmapping it each time, until the quota refuses a table;
 *                 then tries a new place now and then: that works only once
 *                 the kernel reclaimed empty tables (under another's memory
 *                 pressure); exits 0 then, 2 if it never did
 *   SCHED_FAULT_NEST  its scheduler handler faults (a page not mapped) and
 *                 its fault handler runs across slices before it maps the
 *                 page: no scheduler upcall may come on top (on the stack
 *                 the interrupted scheduler still uses); exits 0, 1 if the
 *                 scheduler was re-entered, 2 if too few faults were seen
 */
#include <libos/libos.h>

#define CHILD (1ULL << 16)
enum {
	SPIN = 1,
	REVOKE_FAULT,
	SCHED_FAULT,
	SCHED_NOSTACK,
	SCHED_ROSTACK,
	FAULT_ROSTACK,
	REVOKE_NOSTACK,
	NEST,
	HOG,
	LEAF,
	LIMITED,
	ENV_EATER,
	TABLE_EATER,
	TREE,
	DESTROYER,
	GRANTER,
	SCHED_FAULT_NEST,
	PT_BUILDER
};
#define TREE_WIDTH 2
#define TREE_DEPTH(arg) (((arg) >> 20) & 0xf)
#define HELPER_SLOT(arg) (((arg) >> 32) & 0xffff)

static int eat_table(void);

#define HOLD 4		      /* frames a child holds for a revocation */
#define BASE 0x70000000ULL    /* where it maps them */
#define NOWHERE 0x60000000ULL /* nothing is mapped here */
#define SPREAD 0x100000000ULL /* LEAF maps from here, 2 MiB apart */
#define MAX_LEAVES 24	      /* in 64 MiB (the [hostile] run) memory ends first, at about 20 */

static int64_t wait_status(int64_t env, uint64_t ms);
static volatile int64_t held[HOLD] = { -1, -1, -1, -1 };

/* After the handlers are set: the parent asks as soon as we hold frames. */
static void hold_frames(void)
{
	for (int i = 0; i < HOLD; i++) {
		int64_t s = sys_frame_alloc(FRAME_ANY);
		if (s < 0 || sys_map((uint64_t)s, BASE + (uint64_t)i * 4096, PROT_R | PROT_W))
			sys_exit(100);
		held[i] = s;
	}
}

static bool robbed(void)
{
	for (int i = 0; i < HOLD; i++)
		if (sys_map((uint64_t)held[i], BASE + (uint64_t)i * 4096, PROT_R) == E_STALE)
			return true;
	return false;
}

static uint64_t now_ms(void)
{
	struct sys_time t = { 0, 1000 };
	(void)sys_time(&t);
	return t.cycles / (t.cycles_hz / 1000 ? t.cycles_hz / 1000 : 1);
}

static void spin_ms(uint64_t ms)
{
	for (uint64_t end = now_ms() + ms; now_ms() < end;)
		__asm__ volatile("pause");
}

static void fault_now(void)
{
	(void)*(volatile uint64_t *)8;
}

static void on_revoke_fault(struct upcall_revoke *ur)
{
	fault_now();
}
static void on_sched_fault(struct upcall_sched *us)
{
	fault_now();
}

static volatile unsigned depth_sched, depth_revoke, nested, sched_calls, revoke_calls;

static void on_sched_nest(struct upcall_sched *us)
{
	if (__atomic_add_fetch(&depth_sched, 1, __ATOMIC_SEQ_CST) > 1)
		nested = 1;
	sched_calls++;
	spin_ms(3); /* past the end of the slice: preempted inside the handler */
	__atomic_sub_fetch(&depth_sched, 1, __ATOMIC_SEQ_CST);
}

static void on_revoke_nest(struct upcall_revoke *ur)
{
	if (__atomic_add_fetch(&depth_revoke, 1, __ATOMIC_SEQ_CST) > 1)
		nested = 1;
	revoke_calls++;
	spin_ms(5); /* several slices; scheduler upcalls come on top of this */
	for (int i = 0; i < HOLD && ur->kind == REVOKE_ASKED; i++)
		if (held[i] >= 0 && sys_frame_free((uint64_t)held[i]) == 0)
			held[i] = -1;
	__atomic_sub_fetch(&depth_revoke, 1, __ATOMIC_SEQ_CST);
}

/* SCHED_FAULT_NEST: each scheduler upcall touches a page its fault handler maps, slowly. */
#define FNEST_PAGE (NOWHERE + 0x100000ULL)
static volatile unsigned fnest_faults;
static volatile int64_t fnest_frame = -1;

static void on_sched_fnest(struct upcall_sched *us)
{
	if (__atomic_add_fetch(&depth_sched, 1, __ATOMIC_SEQ_CST) > 1)
		nested = 1;
	sched_calls++;
	if (fnest_faults < 8) {
		(void)*(volatile uint64_t *)FNEST_PAGE; /* faults: the handler maps it */
		/* Mapped now: give it back, so the next upcall faults again. */
		if (fnest_frame >= 0 && sys_frame_free((uint64_t)fnest_frame) == 0)
			fnest_frame = -1;
	}
	__atomic_sub_fetch(&depth_sched, 1, __ATOMIC_SEQ_CST);
}

static bool on_fault_fnest(struct upcall_fault *uf)
{
	if (uf->vector != 14 || ALIGN_DOWN(uf->addr, 4096) != FNEST_PAGE || fnest_frame >= 0)
		return false;
	fnest_faults++;
	spin_ms(5); /* several slices: preempted inside the fault handler */
	int64_t f = sys_frame_alloc(FRAME_ANY);
	if (f < 0 || sys_map((uint64_t)f, FNEST_PAGE, PROT_R) != 0)
		return false;
	fnest_frame = f;
	return true;
}

/* A LEAF: frames until refused, each mapped in a page table of its own. Exits with the count. */
static int leaf(void)
{
	int n = 0, again = 0;
	for (uint64_t va = SPREAD; n < CAP_SLOTS;) {
		int64_t s = sys_frame_alloc(FRAME_ANY);
		if (s == E_AGAIN && ++again < 64) {
			sys_yield(); /* memory pressure: a revocation was started */
			continue;
		}
		if (s < 0)
			break;
		if (sys_map((uint64_t)s, va, PROT_R | PROT_W) != 0)
			break;
		va += 2ULL << 20;
		n++;
	}
	return n;
}

/* How many environments it could create (never started), kept in keep. */
static int eat_envs(int64_t *keep, int max)
{
	int n = 0;
	for (int64_t env; n < max && (env = sys_env_create(sys_core_id())) >= 0; n++)
		keep[n] = env;
	return n;
}

static uint8_t ep_stack[4096] __attribute__((aligned(16)));

/*
 * LIMITED: each exhaustion until its error. Exit status 0 if each stopped at
 * its limit (3 environments, 2 endpoints, page tables: E_NOMEM before 24
 * maps), a child given more than it has was refused, and one given its
 * limits got only what was left of ours (1); else which of these failed.
 */
static int limited(void)
{
	int64_t envs[16] = { 0 };
	int ne = eat_envs(envs, 16);
	int64_t last = sys_env_create(sys_core_id());
	if (last != E_NOMEM || ne < 2)
		return 1000;
	int eps = 0;
	while (eps < 16 && pct_ep_create(ENV_SELF, ep_stack, sizeof(ep_stack)) >= 0)
		eps++;
	/* A child's limits come out of ours: more than we have is refused... */
	int got = ne;
	(void)sys_env_destroy((uint64_t)envs[--ne]);
	(void)sys_env_destroy((uint64_t)envs[--ne]);
	int64_t child = sys_env_create(sys_core_id());
	bool refused = sys_call6(SYS_ENV_START, (uint64_t)child, libos_self_prog, CHILD | ENV_EATER,
				 0, 0, ENV_LIMITS(4, 0, 24)) == E_RANGE;
	/* ...and within them it gets what is left of ours (one more), not its own 3. */
	int eaten = -1;
	if (sys_call6(SYS_ENV_START, (uint64_t)child, libos_self_prog, CHILD | ENV_EATER, 0, 0,
		      ENV_LIMITS(3, 0, 24)) == 0)
		eaten = (int)wait_status(child, 20000);
	/* Page tables: frames mapped 2 MiB apart until a map is refused. */
	int maps = 0;
	int64_t err = 0;
	for (uint64_t va = SPREAD; maps < 64; va += 2ULL << 20, maps++) {
		int64_t f = sys_frame_alloc(FRAME_ANY);
		if (f < 0 || (err = sys_map((uint64_t)f, va, PROT_R))) {
			if (f >= 0)
				sys_frame_free((uint64_t)f);
			break;
		}
	}
	printf("hostile: limited: %d environments, %d endpoints, %d maps (then %lld), "
	       "eater %d, over-delegation %s\n",
	       got, eps, maps, (long long)err, eaten, refused ? "refused" : "ACCEPTED");
	return got != 3			 ? 1
	       : eps != 2		 ? 2
	       : !refused		 ? 3
	       : eaten != 1		 ? 4
	       : err != E_NOMEM		 ? 5
	       : maps == 0 || maps >= 24 ? 6
					 : 0;
}

/* HOG: LEAF children until creating or starting one fails, or the frames are nearly all gone. */
static int hog(uint64_t core)
{
	int leaves = 0;
	int64_t err = 0;
	while (leaves < MAX_LEAVES) {
		int64_t env = sys_env_create(core);
		if ((err = env) < 0)
			break;
		if ((err = sys_env_start(env, libos_self_prog, CHILD | LEAF)) != 0)
			break;
		while (sys_env_status(env) == E_AGAIN)
			sys_yield();
		leaves++;
		if (sys_frame_count() < 64)
			break;
	}
	printf("hostile: hog: %d leaves, then %lld; %lld frames left, checker %lld\n", leaves,
	       (long long)err, (long long)sys_frame_count(), (long long)sys_debug_check());
	return sys_debug_check() == 0 ? 0 : 1;
}

static int tree_node(unsigned depth, uint64_t core)
{
	for (uint64_t i = 0; i < HOLD; i++) {
		int64_t f = sys_frame_alloc(FRAME_ANY);
		if (f < 0 || sys_map((uint64_t)f, SPREAD + i * (2ULL << 20), PROT_R | PROT_W) ||
		    sys_cap_mint((uint64_t)f, CAP_R_ALL, 0) < 0)
			return 101;
	}
	for (unsigned w = 0; depth && w < TREE_WIDTH; w++) {
		/* Refused once its destroy has begun: then it is ended anyway. */
		int64_t env = sys_env_create(core);
		if (env >= 0)
			(void)sys_env_start((uint64_t)env, libos_self_prog,
					    CHILD | TREE | (uint64_t)(depth - 1) << 20);
	}
	for (;;)
		sys_yield();
}

static int pt_builder(void)
{
	int64_t f = sys_frame_alloc(FRAME_ANY), err;
	uint64_t i = 0;
	if (f < 0)
		return 101;
	while ((err = sys_map((uint64_t)f, SPREAD + i * (2ULL << 20), PROT_R)) == 0) {
		i++;
		if (sys_unmap((uint64_t)f))
			return 102;
	}
	if (err != E_NOMEM)
		return 103;
	printf("hostile: builder: %llu maps, then its page-table quota\n", (unsigned long long)i);
	/* At its limit a new place needs a new table: it works once empty ones were reclaimed. */
	for (uint64_t end = now_ms() + 60000; now_ms() < end;) {
		sys_yield();
		err = sys_map((uint64_t)f, SPREAD + ++i * (2ULL << 20), PROT_R);
		if (err == E_STALE && (f = sys_frame_alloc(FRAME_ANY)) < 0)
			return 104; /* its frame was taken by force: another (memory is back then) */
		if (err == 0) {
			printf("hostile: builder: mapped again, its tables reclaimed\n");
			return 0;
		}
	}
	return 2;
}

/* Grant a frame into the environment slot names until it is gone. */
static int granter(uint64_t slot)
{
	int64_t f = sys_frame_alloc(FRAME_ANY), err = 0, in = 0;
	if (f < 0)
		return 101;
	for (uint64_t end = now_ms() + 30000; now_ms() < end;) {
		err = sys_cap_grant((uint64_t)f, slot, GRANT_COPY);
		if (err == E_STALE)
			break;
		in += err >= 0;
		sys_yield(); /* E_NOMEM (its table full) too: it is destroyed soon */
	}
	while (sys_cap_revoke((uint64_t)f) == E_AGAIN)
		;
	printf("hostile: granter: %lld grants in, then %lld\n", (long long)in, (long long)err);
	return err == E_STALE && sys_frame_free((uint64_t)f) == 0 ? 0 : 102;
}

static int child(unsigned mode, uint64_t core, uint64_t arg)
{
	switch (mode) {
	case SPIN:
		for (;;)
			__asm__ volatile("pause");
	case REVOKE_FAULT:
		libos_set_revoke_handler(on_revoke_fault);
		hold_frames();
		for (;;)
			sys_yield();
	case SCHED_FAULT:
		libos_set_sched_handler(on_sched_fault);
		for (;;)
			sys_yield();
	case SCHED_NOSTACK:
		if (sys_call6(SYS_UPCALL_SET, UPCALL_SCHED, (uint64_t)main, NOWHERE, 8192, 0, 0))
			return 101;
		for (;;)
			sys_yield();
	case SCHED_ROSTACK:
		/* Its own text: mapped, readable, not writable. */
		if (sys_call6(SYS_UPCALL_SET, UPCALL_SCHED, (uint64_t)main, USER_BASE, 4096, 0, 0))
			return 101;
		for (;;)
			sys_yield();
	case FAULT_ROSTACK:
		if (sys_call6(SYS_UPCALL_SET, UPCALL_FAULT, (uint64_t)main, USER_BASE, 4096, 0, 0))
			return 101;
		__asm__ volatile("ud2");
		return 102;
	case REVOKE_NOSTACK:
		if (sys_call6(SYS_UPCALL_SET, UPCALL_REVOKE, (uint64_t)main, NOWHERE, 8192, 0, 0))
			return 101;
		hold_frames();
		for (uint64_t end = now_ms() + 20000; now_ms() < end;) {
			sys_yield();
			if (robbed())
				return 0;
		}
		return 103;
	case NEST:
		libos_set_sched_handler(on_sched_nest);
		libos_set_revoke_handler(on_revoke_nest);
		hold_frames();
		/* Answered, or (the request found us in the scheduler every time) taken at the deadline. */
		for (uint64_t end = now_ms() + 20000; now_ms() < end && held[0] >= 0 && !robbed();)
			spin_ms(1);
		spin_ms(20);
		printf("hostile: nest: %u scheduler upcalls, %u revocation upcalls\n", sched_calls,
		       revoke_calls);
		return nested ? 1 : held[0] >= 0 && !robbed() ? 2 : 0;
	case HOG:
		return hog(core);
	case LEAF:
		return leaf();
	case LIMITED:
		return limited();
	case ENV_EATER: {
		int64_t envs[16];
		return eat_envs(envs, 16);
	}
	case TABLE_EATER:
		return eat_table();
	case TREE:
		return tree_node(TREE_DEPTH(arg), core);
	case PT_BUILDER:
		return pt_builder();
	case SCHED_FAULT_NEST:
		if (libos_set_fault_handler(on_fault_fnest) != 0)
			return 101;
		libos_set_sched_handler(on_sched_fnest);
		for (uint64_t end = now_ms() + 20000; now_ms() < end && fnest_faults < 8;)
			spin_ms(1);
		printf("hostile: fault-nest: %u faults, %u scheduler upcalls\n", fnest_faults,
		       sched_calls);
		return nested ? 1 : fnest_faults < 8 ? 2 : 0;
	case DESTROYER: {
		spin_ms(arg & 0x100 ? 1 : 0); /* now and then a moment later than the parent */
		int64_t err = sys_env_destroy(HELPER_SLOT(arg));
		return err == 0 ? 0 : err == E_STALE ? 1 : 100 + (int)-err;
	}
	case GRANTER:
		return granter(HELPER_SLOT(arg));
	}
	return 99;
}

/* TABLE_EATER (above): its exit status says which check failed. */
static int eat_table(void)
{
	int64_t f = sys_frame_alloc(FRAME_ANY), s = 0, last = -1;
	if (f < 0)
		return 1;
	while ((s = sys_cap_mint((uint64_t)f, CAP_R_READ, 0)) >= 0)
		last = s;
	struct cap_info ci;
	int64_t free0 = sys_frame_count();
	uint64_t past[] = { (uint64_t)last + 1,
			    (uint64_t)last + CAP_PAGE_SLOTS,
			    CAP_SLOTS - 1,
			    CAP_SLOTS,
			    CAP_SLOTS + 1,
			    (1ULL << 32) + 1,
			    ~0ULL };
	int bad = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(past); i++)
		bad += sys_cap_inspect(past[i], &ci) != E_BADSLOT ||
		       sys_cap_delete(past[i]) != E_BADSLOT;
	printf("hostile: table eater: slots up to %lld, then %lld; %d slot numbers not refused\n",
	       (long long)last, (long long)s, bad);
	return s != E_NOMEM				   ? 2
	       : (last + 1) % CAP_PAGE_SLOTS != 0	   ? 3
	       : last < 2LL * CAP_PAGE_SLOTS		   ? 4 /* grown past one page at least */
	       : sys_cap_inspect((uint64_t)last, &ci) != 0 ? 5
	       : bad					   ? 6
	       : sys_cap_mint((uint64_t)f, CAP_R_READ, 0) != E_NOMEM ? 7
	       : sys_frame_count() != free0			     ? 8
								     : 0;
}

/* ---- the parent ---- */

static uint64_t kids_core;
static int failed;
static bool
    loose; /* another environment changes the free-frame count meanwhile: skip those checks */

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond) && !failed) {                                                          \
			printf("hostile: check %d failed: ", __LINE__);                            \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failed = __LINE__;                                                         \
		}                                                                                  \
	} while (0)

static int64_t spawn(unsigned mode)
{
	int64_t env = sys_env_create(kids_core);
	CHECK(env >= 0, "env_create: %lld", (long long)env);
	int64_t err = sys_env_start(env, libos_self_prog, CHILD | mode);
	CHECK(err == 0, "env_start: %lld", (long long)err);
	return env;
}

/* Its exit status, waiting up to ms; E_AGAIN if it is still running then. */
static int64_t wait_status(int64_t env, uint64_t ms)
{
	int64_t st;
	for (uint64_t end = now_ms() + ms;
	     (st = sys_env_status((uint64_t)env)) == E_AGAIN && now_ms() < end;)
		sys_yield();
	return st;
}

/* Run a child in mode to its end (asking it for frames if ask); its status must be want. */
static void expect_end(unsigned mode, bool ask, int64_t want)
{
	int64_t free0 = sys_frame_count();
	int64_t env = spawn(mode);
	if (ask) {
		/* E_PERM until it holds frames above its guarantee. */
		int64_t err;
		for (uint64_t end = now_ms() + 10000;
		     (err = sys_call6(SYS_REVOKE_ASK, (uint64_t)env, FRAME_ANY, 2, 0, 0, 0)) ==
			 E_PERM &&
		     now_ms() < end;)
			sys_yield();
		CHECK(err == 0, "mode %u: revoke_ask: %lld", mode, (long long)err);
	}
	/* 8 vCPUs on a loaded 2-CPU host: a hog has taken over 30 s there. */
	int64_t st = wait_status(env, 120000);
	CHECK(st == want, "mode %u: exit status %lld, want %lld", mode, (long long)st,
	      (long long)want);
	int64_t err = sys_env_destroy((uint64_t)env);
	CHECK(err == 0, "mode %u: destroy: %lld", mode, (long long)err);
	CHECK(sys_debug_check() == 0, "mode %u: the invariant checker", mode);
	CHECK(loose || sys_frame_count() == free0, "mode %u: %lld frames free, %lld before", mode,
	      (long long)sys_frame_count(), (long long)free0);
}

/* A spinning child ended from outside: by ENV_DESTROY, or by deleting its root capability. */
static void end_spinner(bool by_delete)
{
	int64_t free0 = sys_frame_count();
	int64_t env = spawn(SPIN);
	spin_ms(20); /* let it run (on another core) or be queued (on ours) */
	CHECK(sys_env_status((uint64_t)env) == E_AGAIN, "the spinner is not running");
	int64_t err = by_delete ? sys_cap_delete((uint64_t)env) : sys_env_destroy((uint64_t)env);
	CHECK(err == 0, "%s: %lld", by_delete ? "cap_delete" : "env_destroy", (long long)err);
	/* Gone at its next kernel entry: its frames come back. */
	for (uint64_t end = now_ms() + 10000; sys_frame_count() != free0 && now_ms() < end;)
		sys_yield();
	if (!by_delete)
		CHECK(sys_env_status((uint64_t)env) == E_STALE, "status after destroy: %lld",
		      (long long)sys_env_status((uint64_t)env));
	CHECK(sys_debug_check() == 0, "the invariant checker");
	CHECK(loose || sys_frame_count() == free0, "%lld frames free, %lld before",
	      (long long)sys_frame_count(), (long long)free0);
}

/* Guarantees beyond what exists: the largest one accepted, then no room for another. */
static void overcommit_guarantees(void)
{
	int64_t a = sys_env_create(kids_core), b = sys_env_create(kids_core);
	CHECK(a >= 0 && b >= 0, "env_create");
	uint64_t lo = 0, hi = 1ULL << 40; /* lo accepted, hi refused */
	CHECK(sys_call6(SYS_GUARANTEE, (uint64_t)a, hi, 0, 0, 0, 0) == E_RANGE, "2^40 frames");
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (sys_call6(SYS_GUARANTEE, (uint64_t)a, mid, 0, 0, 0, 0) == 0)
			lo = mid;
		else
			hi = mid;
	}
	CHECK(sys_call6(SYS_GUARANTEE, (uint64_t)a, lo, 0, 0, 0, 0) == 0, "the largest again");
	int64_t err = sys_call6(SYS_GUARANTEE, (uint64_t)b, 1, 0, 0, 0, 0);
	CHECK(err == E_RANGE, "a second guarantee past the sum: %lld", (long long)err);
	CHECK(sys_call6(SYS_GUARANTEE, (uint64_t)a, 0, 0, 0, 0, 0) == 0, "give it back");
	CHECK(sys_call6(SYS_GUARANTEE, (uint64_t)b, lo, 0, 0, 0, 0) == 0, "the other takes it");
	printf("hostile: guarantees: the sum stopped at %llu frames (%lld free now)\n",
	       (unsigned long long)lo, (long long)sys_frame_count());
	CHECK(sys_env_destroy((uint64_t)a) == 0 && sys_env_destroy((uint64_t)b) == 0, "destroy");
}

/* A helper child with a copy of the capability to env (*slot: where it is), not started. */
static int64_t helper(int64_t env, int64_t *slot)
{
	int64_t h = sys_env_create(kids_core);
	CHECK(h >= 0, "helper env_create: %lld", (long long)h);
	*slot = sys_cap_grant((uint64_t)env, (uint64_t)h, GRANT_COPY);
	CHECK(*slot >= 0, "helper grant: %lld", (long long)*slot);
	return h;
}

static void helper_start(int64_t h, unsigned mode, int64_t slot, uint64_t extra)
{
	int64_t err = sys_env_start((uint64_t)h, libos_self_prog,
				    CHILD | mode | extra | (uint64_t)slot << 32);
	CHECK(err == 0, "helper env_start: %lld", (long long)err);
}

/*
 * A tree of running environments (TREE, depth 3) destroyed at once: by
 * ENV_DESTROY, raced by a second ENV_DESTROY of the same top from another
 * core and by grants into it; exactly one destroy wins, every grant after
 * the destroy began is refused, and every frame comes back.
 */
static void destroy_tree(unsigned round)
{
	int64_t free0 = sys_frame_count(), low = free0;
	int64_t top = spawn(TREE | 3ULL << 20);
	/* Built when the free count has stood still for a while (1 + 2 + 4 + 8 nodes). */
	for (uint64_t end = now_ms() + 20000, still = now_ms(); now_ms() < end;) {
		sys_yield();
		int64_t n = sys_frame_count();
		if (n != low)
			still = now_ms();
		low = n;
		if (now_ms() - still > 300)
			break;
	}
	int64_t ds, gs, d = helper(top, &ds), g = helper(top, &gs);
	helper_start(g, GRANTER, gs, 0);
	helper_start(d, DESTROYER, ds, round % 2 ? 0x100 : 0);
	/* The helpers start (on our core: in these yields; on the other: now) around our call. */
	for (uint64_t end = now_ms() + round % 3; now_ms() <= end;)
		sys_yield();
	uint64_t t0 = now_ms();
	int64_t err = sys_env_destroy((uint64_t)top);
	uint64_t ms = now_ms() - t0;
	int64_t dst = wait_status(d, 30000), gst = wait_status(g, 30000);
	CHECK((err == 0 && dst == 1) || (err == E_STALE && dst == 0),
	      "tree: one destroy wins: ours %lld, the other's exit %lld", (long long)err,
	      (long long)dst);
	CHECK(gst == 0, "tree: the granter: %lld", (long long)gst);
	CHECK(sys_env_destroy((uint64_t)d) == 0 && sys_env_destroy((uint64_t)g) == 0, "helpers");
	CHECK(sys_cap_delete((uint64_t)top) == 0, "the stale capability");
	for (uint64_t end = now_ms() + 10000; sys_frame_count() != free0 && now_ms() < end;)
		sys_yield();
	printf("hostile: tree: %lld frames, destroyed in %llu ms by %s\n", (long long)(free0 - low),
	       (unsigned long long)ms, err == 0 ? "us" : "the other");
	CHECK(sys_debug_check() == 0, "the invariant checker");
	CHECK(loose || sys_frame_count() == free0, "%lld frames free, %lld before",
	      (long long)sys_frame_count(), (long long)free0);
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg & CHILD)
		return child((unsigned)(arg & 0xff), core, arg);
	kids_core = (arg >> 8) & 0xff;
	loose = (arg >> 24) & 1;
	switch (arg & 0xff) {
	case 1: /* faults inside the revocation and the scheduler upcalls */
		expect_end(REVOKE_FAULT, true, 128 + 14);
		expect_end(SCHED_FAULT, false, 128 + 14);
		break;
	case 2: /* upcall stacks not mapped, or not writable */
		expect_end(SCHED_NOSTACK, false, 128);
		expect_end(SCHED_ROSTACK, false, 128);
		expect_end(FAULT_ROSTACK, false, 128 + 6);
		expect_end(REVOKE_NOSTACK, true, 0);
		break;
	case 3: /* upcalls interrupted by slice ends: never re-entered */
		for (int i = 0; i < 6 && !failed; i++) /* the interleavings vary: several tries */
			expect_end(NEST, true, 0);
		break;
	case 4: /* a spinning environment ended by ENV_DESTROY, then by deleting its root */
		end_spinner(false);
		end_spinner(true);
		break;
	case 5: /* memory exhaustion driven from user mode */
		expect_end(HOG, false, 0);
		break;
	case 7: { /* quotas: a child started with limits meets each at its limit */
		int64_t free0 = sys_frame_count();
		int64_t env = sys_env_create(kids_core);
		CHECK(sys_call6(SYS_ENV_START, (uint64_t)env, libos_self_prog, CHILD | LIMITED, 0,
				0, ENV_LIMITS(3, 2, 24)) == 0,
		      "start with limits");
		int64_t st = wait_status(env, 30000);
		CHECK(st == 0,
		      "the limited child: %lld (1 envs, 2 endpoints, 3 over-delegation, "
		      "4 the eater, 5 6 page tables)",
		      (long long)st);
		CHECK(sys_env_destroy((uint64_t)env) == 0, "destroy");
		CHECK(sys_debug_check() == 0, "the invariant checker");
		CHECK(loose || sys_frame_count() == free0, "%lld frames free, %lld before",
		      (long long)sys_frame_count(), (long long)free0);
		break;
	}
	case 8: { /* the hog again, started with limits: stopped at them, memory left for others */
		int64_t free0 = sys_frame_count();
		int64_t env = sys_env_create(kids_core);
		CHECK(sys_call6(SYS_ENV_START, (uint64_t)env, libos_self_prog, CHILD | HOG, 0, 0,
				ENV_LIMITS(8, 4, 1024)) == 0,
		      "start with limits");
		CHECK(wait_status(env, 60000) == 0, "the hog");
		CHECK(sys_env_destroy((uint64_t)env) == 0, "destroy");
		CHECK(sys_debug_check() == 0, "the invariant checker");
		CHECK(loose || sys_frame_count() == free0, "%lld frames free, %lld before",
		      (long long)sys_frame_count(), (long long)free0);
		break;
	}
	case 12: { /* capability tables grow page by page, each page charged, up to the limit */
		int64_t free0 = sys_frame_count();
		int64_t env = sys_env_create(kids_core);
		CHECK(sys_call6(SYS_ENV_START, (uint64_t)env, libos_self_prog, CHILD | TABLE_EATER,
				0, 0, ENV_LIMITS(1, 0, 24)) == 0,
		      "start with limits");
		int64_t st = wait_status(env, 30000);
		CHECK(st == 0,
		      "the table eater: %lld (2 not E_NOMEM, 3 not at a page boundary, 4 one page, "
		      "5 its last slot, 6 a slot past its table, 7 refused once only, 8 frames "
		      "moved)",
		      (long long)st);
		CHECK(sys_env_destroy((uint64_t)env) == 0, "destroy");
		CHECK(sys_debug_check() == 0, "the invariant checker");
		CHECK(loose || sys_frame_count() == free0, "%lld frames free, %lld before",
		      (long long)sys_frame_count(), (long long)free0);
		break;
	}
	case 10: /* a fault in the scheduler handler, its fault handler preempted */
		for (int i = 0; i < 3 && !failed; i++)
			expect_end(SCHED_FAULT_NEST, false, 0);
		break;
	case 11: { /* page tables built to a quota, left empty, reclaimed under a hog's pressure */
		int64_t free0 = sys_frame_count(), low = free0;
		int64_t b = sys_env_create(kids_core);
		CHECK(sys_call6(SYS_ENV_START, (uint64_t)b, libos_self_prog, CHILD | PT_BUILDER, 0,
				0, ENV_LIMITS(1, 1, 48)) == 0,
		      "start the builder");
		for (uint64_t end = now_ms() + 20000, still = now_ms(); now_ms() < end;) {
			sys_yield();
			int64_t n = sys_frame_count();
			if (n != low)
				still = now_ms();
			low = n;
			if (now_ms() - still > 300)
				break; /* built */
		}
		int64_t hog_env = spawn(HOG);
		CHECK(wait_status(hog_env, 60000) == 0, "the hog");
		CHECK(sys_env_destroy((uint64_t)hog_env) == 0, "destroy the hog");
		int64_t st = wait_status(b, 60000);
		CHECK(st == 0, "the builder: %lld (2: its tables were never reclaimed)",
		      (long long)st);
		CHECK(sys_env_destroy((uint64_t)b) == 0, "destroy the builder");
		CHECK(sys_debug_check() == 0, "the invariant checker");
		CHECK(loose || sys_frame_count() == free0, "%lld frames free, %lld before",
		      (long long)sys_frame_count(), (long long)free0);
		break;
	}
	case 9: /* a tree of running environments destroyed, raced by a destroy and grants */
		for (unsigned round = 0; round < 3 && !failed; round++)
			destroy_tree(round);
		break;
	case 6: /* guarantees past what exists */
		overcommit_guarantees();
		break;
	default:
		return 98;
	}
	return failed;
}
