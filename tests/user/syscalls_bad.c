/*
 * Every (system call, documented error) pair of docs/syscalls.md that a
 * user program can bring about, one bad call at a time: each must return
 * exactly its documented error and change nothing. "Nothing" is read back
 * around every call (struct snapshot): the free-frame count, every slot of
 * the capability table (CAP_INSPECT), which pages of a window are mapped
 * and what the mapped one holds, a watched environment's status, and the
 * kernel's invariant checker (SYS_DEBUG_CHECK) after the call.
 *
 * The bad calls are tables, one per class of bad input: a row is the call,
 * its arguments — literals, or fixtures (enum fx: slots, numbers, addresses
 * set up before the tests) plus an offset — and the error it must get.
 *
 * Left to other programs: FRAME_ALLOC's E_AGAIN (pressure.c), PCT_CALL's
 * busy, abandoned and cross-core calls (pct.c), YIELD_TO across cores
 * (slices.c). Left out, as a test cannot bring them about on purpose:
 * E_NOMEM from a machine out of frames (FRAME_ALLOC with nothing free or
 * revocable, MAP's page tables) or from full env and endpoint tables (the
 * full capability table, which gives the same error, is here); NOTIFY's
 * E_AGAIN (a full channel between cores) and CAP_GRANT's E_STALE for a
 * target that is being destroyed (races with another core); FRAME_FREE's
 * E_PERM for a root capability of a frame someone else owns (a root only
 * ever names its holder's frame, or is stale).
 *
 * arg 0: the tests (exit status: failed tests). Copies of this program run
 * as helpers, arg = mode << MODE_SHIFT | ...:
 *   MODE_WAITER  yields until notified, then exits 0: an environment that runs;
 *   MODE_SELF    holds a capability to itself (slot << SLOT_SHIFT) and knows a
 *                frame its parent owns (the low bits); it tries what only the
 *                target itself can: destroy or yield to itself, ask itself for
 *                frames, use a frame the kernel took back. Exit: failed checks.
 */
#include <exo/string.h>
#include <exo/test.h>
#include <libos/libos.h>

#define FX_VA 0x40000000ULL /* the watched window: FX_VA - 1 page .. FX_VA + 4 pages */
#define FX_PAGES 5
#define PATTERN 0x5a5a0000c0ffeeULL /* what the fixture frame at FX_VA holds */
#define KERNEL_VA 0xffffffff80100000ULL /* the kernel image */
#define DIRECT_MAP_VA 0xffff800000200000ULL /* the direct map (physical 2 MiB) */
#define NONCANON 0x0000800000000000ULL	/* the first non-canonical address */
#define STACK_SIZE 4096

#define MODE_SHIFT 56
#define SLOT_SHIFT 40
#define MODE_WAITER 1ULL
#define MODE_SELF 2ULL

/* What an argument stands for. Slots first (set to CAP_SLOTS while absent). */
enum fx {
	LIT,	     /* nothing: the argument is the row's offset itself */
	FRAME,	     /* root frame cap, mapped read-write at FX_VA */
	FRAME2,	     /* root frame cap, not mapped, with derived caps */
	MID,	     /* FRAME2's child, every right, with a child of its own */
	NOGRANT,     /* MID's child: READ | MAP only */
	BOUND,	     /* FRAME2's child (READ | MAP | GRANT), mapped at FX_VA + 2 pages */
	DEEP,	     /* the end of a chain of 32 mints from FRAME2: depth 32 */
	FREED,	     /* an empty slot: its frame was freed (any use is a double free) */
	FILL,	     /* root frame cap whose copies fill capability tables */
	ENV,	     /* root env cap: a child on this core, never started */
	ENV_WEAK,    /* ENV minted with GRANT only: no CTRL, no WRITE */
	ENV_STALE,   /* root env cap of an environment since destroyed */
	WAITER,	     /* root env cap: a child that runs (MODE_WAITER) */
	FAR,	     /* root env cap: a child on another core (2+ cores) */
	TSLOT,	     /* root time-slot cap (the slot is ENV's), with a child */
	TSLOT_CHILD, /* that child */
	TSLOT_STALE, /* a time slot of the destroyed environment */
	EP,	     /* endpoint cap: calls would run in ENV */
	EP_STALE,    /* endpoint of the destroyed environment */
	SELF,	     /* MODE_SELF: an env cap to itself */
	STALE,	     /* MODE_SELF: root cap of a frame the kernel took back */
	SLOT_FIXTURES,
	FRAME_NO = SLOT_FIXTURES, /* FRAME's frame number */
	OTHERS_FRAME, /* MODE_SELF: a frame its parent owns */
	PROG_FRAME,   /* MODE_SELF: a frame of its own program (owned, never revocable) */
	NFRAMES,      /* frames in the machine: the first number past the end */
	CORE,	      /* this core */
	NCORES,	      /* cores: the first number past the end */
	OTHER_CORE,   /* another core (2+ cores) */
	TSLOT_INDEX,  /* TSLOT's index on this core */
	PROG,	      /* this program's id */
	MAPPED,	      /* FX_VA: mapped, writable */
	HOLE,	      /* FX_VA + 1 page: unmapped, between two mappings */
	TEXT,	      /* this program's code: mapped, read-only */
	BUF,	      /* a writable page */
	ENTRY,	      /* a user code address */
	STACK,	      /* a 16-aligned user stack of STACK_SIZE bytes */
	FX_COUNT
};

struct arg {
	enum fx fx;
	uint64_t off; /* added to the fixture's value; for LIT, the value */
};

/* One bad call and the error it must get. */
struct bad_call {
	uint64_t nr;
	struct arg a[6];
	int64_t want;
	const char *what; /* the bad input, for the failure message */
};

/* A literal argument; a fixture; a fixture plus an offset. */
#define L(v) { .off = (uint64_t)(v) }
#define F(f) { .fx = (f) }
#define FP(f, v) { .fx = (f), .off = (uint64_t)(v) }

static uint64_t fx[FX_COUNT];
static uint64_t my_core, watched; /* watched: the env slot whose status a snapshot reads */
static uint8_t buf[4096] __attribute__((aligned(4096)));
static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));

static const char *const call_name[SYS_COUNT] = {
	[SYS_CONSOLE_WRITE] = "CONSOLE_WRITE", [SYS_CORE_ID] = "CORE_ID",
	[SYS_TIME] = "TIME",		       [SYS_YIELD] = "YIELD",
	[SYS_EXIT] = "EXIT",		       [SYS_FRAME_ALLOC] = "FRAME_ALLOC",
	[SYS_FRAME_FREE] = "FRAME_FREE",       [SYS_MAP] = "MAP",
	[SYS_UNMAP] = "UNMAP",		       [SYS_READ_AD] = "READ_AD",
	[SYS_CAP_MINT] = "CAP_MINT",	       [SYS_CAP_GRANT] = "CAP_GRANT",
	[SYS_CAP_REVOKE] = "CAP_REVOKE",       [SYS_CAP_DELETE] = "CAP_DELETE",
	[SYS_CAP_INSPECT] = "CAP_INSPECT",     [SYS_ENV_CREATE] = "ENV_CREATE",
	[SYS_ENV_START] = "ENV_START",	       [SYS_ENV_DESTROY] = "ENV_DESTROY",
	[SYS_ENV_STATUS] = "ENV_STATUS",       [SYS_DEBUG_CHECK] = "DEBUG_CHECK",
	[SYS_FRAME_COUNT] = "FRAME_COUNT",     [SYS_UPCALL_SET] = "UPCALL_SET",
	[SYS_SLOT_ALLOC] = "SLOT_ALLOC",       [SYS_SLOT_FREE] = "SLOT_FREE",
	[SYS_YIELD_TO] = "YIELD_TO",	       [SYS_ENV_CPU] = "ENV_CPU",
	[SYS_EP_CREATE] = "EP_CREATE",	       [SYS_PCT_CALL] = "PCT_CALL",
	[SYS_PCT_REPLY] = "PCT_REPLY",	       [SYS_REVOKE_ASK] = "REVOKE_ASK",
	[SYS_REPOSS_READ] = "REPOSS_READ",     [SYS_GUARANTEE] = "GUARANTEE",
	[SYS_NOTIFY] = "NOTIFY",	       [SYS_NOTIFY_TAKE] = "NOTIFY_TAKE",
};

/* ---- Reading the state back ---------------------------------------------------------------- */

/* Slots a snapshot compares: the tables here stay below (the full-table tests fill past). */
#define SNAP_SLOTS 512

struct snapshot {
	int64_t free_frames;
	int64_t status;		     /* ENV_STATUS of the watched environment */
	uint8_t mapped[FX_PAGES];    /* AD_MAPPED of each page of the window */
	uint64_t word;		     /* what FX_VA holds, if mapped */
	int64_t inspected[SNAP_SLOTS]; /* CAP_INSPECT's result for each slot */
	struct cap_info caps[SNAP_SLOTS];
};

static struct snapshot before, after; /* static: 28 KiB, the stack has 16 */

static void snapshot_take(struct snapshot *s)
{
	uint8_t ad[FX_PAGES] = { 0 };
	s->free_frames = sys_frame_count();
	s->status = sys_env_status(watched);
	(void)sys_read_ad(FX_VA - PAGE_SIZE, FX_PAGES, ad);
	for (unsigned i = 0; i < FX_PAGES; i++)
		s->mapped[i] = ad[i] & AD_MAPPED;
	/* (A bad call that unmapped it must be reported, not fault this program.) */
	s->word = s->mapped[1] ? *(volatile uint64_t *)FX_VA : 0;
	for (unsigned slot = 0; slot < SNAP_SLOTS; slot++) {
		memset(&s->caps[slot], 0, sizeof(s->caps[slot]));
		s->inspected[slot] = sys_cap_inspect(slot, &s->caps[slot]);
	}
}

/* Report every difference between a and b (what: the call in between). */
static void expect_same(struct test_ctx *t, const char *what, const struct snapshot *a,
			const struct snapshot *b)
{
	if (a->free_frames != b->free_frames)
		test_fail(t, __FILE__, __LINE__, "%s: free frames %lld -> %lld", what,
			  (long long)a->free_frames, (long long)b->free_frames);
	if (a->status != b->status)
		test_fail(t, __FILE__, __LINE__, "%s: ENV_STATUS(slot %llu) %lld -> %lld", what,
			  (unsigned long long)watched, (long long)a->status, (long long)b->status);
	for (unsigned i = 0; i < FX_PAGES; i++)
		if (a->mapped[i] != b->mapped[i])
			test_fail(t, __FILE__, __LINE__, "%s: page 0x%llx mapped %u -> %u", what,
				  (unsigned long long)(FX_VA + (i - 1ULL) * PAGE_SIZE), a->mapped[i],
				  b->mapped[i]);
	if (a->word != b->word)
		test_fail(t, __FILE__, __LINE__, "%s: 0x%llx held 0x%llx, now 0x%llx", what, FX_VA,
			  (unsigned long long)a->word, (unsigned long long)b->word);
	for (unsigned slot = 0; slot < SNAP_SLOTS; slot++)
		if (a->inspected[slot] != b->inspected[slot] ||
		    memcmp(&a->caps[slot], &b->caps[slot], sizeof(a->caps[slot])) != 0)
			test_fail(t, __FILE__, __LINE__,
				  "%s: slot %u changed: type %u rights 0x%x children %u bound 0x%llx -> "
				  "type %u rights 0x%x children %u bound 0x%llx",
				  what, slot, a->caps[slot].type, a->caps[slot].rights,
				  a->caps[slot].children, (unsigned long long)a->caps[slot].bound_va,
				  b->caps[slot].type, b->caps[slot].rights, b->caps[slot].children,
				  (unsigned long long)b->caps[slot].bound_va);
}

static void expect_checker_clean(struct test_ctx *t, const char *what)
{
	int64_t problems = sys_debug_check();
	if (problems != 0)
		test_fail(t, __FILE__, __LINE__, "%s: the invariant checker found %lld problems", what,
			  (long long)problems);
}

/* ---- Running the tables ------------------------------------------------------------------- */

static uint64_t arg_value(struct arg a) { return fx[a.fx] + a.off; }

static int64_t call(const struct bad_call *c)
{
	return sys_call6(c->nr, arg_value(c->a[0]), arg_value(c->a[1]), arg_value(c->a[2]),
			 arg_value(c->a[3]), arg_value(c->a[4]), arg_value(c->a[5]));
}

/* Make the bad call c: its exact error, and nothing changed. */
static void expect_refused(struct test_ctx *t, const struct bad_call *c)
{
	char what[112];
	ksnprintf(what, sizeof(what), "%s(%s)", call_name[c->nr], c->what);
	snapshot_take(&before);
	int64_t got = call(c);
	snapshot_take(&after);
	if (got != c->want)
		test_fail(t, __FILE__, __LINE__, "%s: got %lld (%s), want %s", what, (long long)got,
			  got < 0 ? err_name((int)got) : "success", err_name((int)c->want));
	expect_same(t, what, &before, &after);
	expect_checker_clean(t, what);
}

static void expect_all_refused(struct test_ctx *t, const struct bad_call *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_refused(t, &rows[i]);
}

#define EXPECT_ALL_REFUSED(t, rows) expect_all_refused((t), (rows), ARRAY_SIZE(rows))

/* ---- The classes of bad input ------------------------------------------------------------- */

/* Past the table (of any size: a valid slot + 2^32 too), or empty: E_BADSLOT. */
static const struct bad_call bad_slots[] = {
	{ SYS_FRAME_FREE, { F(FREED) }, E_BADSLOT, "freed: a double free" },
	{ SYS_FRAME_FREE, { FP(FRAME, 1ULL << 32) }, E_BADSLOT, "FRAME + 2^32" },
	{ SYS_MAP, { F(FREED), F(HOLE), L(PROT_R) }, E_BADSLOT, "freed" },
	{ SYS_MAP, { FP(FRAME2, 1ULL << 32), F(HOLE), L(PROT_R) }, E_BADSLOT, "FRAME2 + 2^32" },
	{ SYS_UNMAP, { F(FREED) }, E_BADSLOT, "freed" },
	{ SYS_UNMAP, { L(CAP_SLOTS) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_UNMAP, { FP(BOUND, 1ULL << 32) }, E_BADSLOT, "BOUND + 2^32" },
	{ SYS_CAP_MINT, { F(FREED), L(CAP_R_READ) }, E_BADSLOT, "freed" },
	{ SYS_CAP_MINT, { L(~0ULL), L(CAP_R_READ) }, E_BADSLOT, "~0" },
	{ SYS_CAP_GRANT, { L(CAP_SLOTS), F(ENV), L(GRANT_COPY) }, E_BADSLOT, "source CAP_SLOTS" },
	{ SYS_CAP_GRANT, { F(FREED), F(ENV), L(GRANT_COPY) }, E_BADSLOT, "source freed" },
	{ SYS_CAP_GRANT, { FP(FRAME, 1ULL << 32), F(ENV) }, E_BADSLOT, "source FRAME + 2^32" },
	{ SYS_CAP_GRANT, { F(FRAME), L(CAP_SLOTS), L(GRANT_COPY) }, E_BADSLOT, "env CAP_SLOTS" },
	{ SYS_CAP_GRANT, { F(FRAME), F(FREED), L(GRANT_COPY) }, E_BADSLOT, "env freed" },
	{ SYS_CAP_GRANT, { F(FRAME), FP(ENV, 1ULL << 32) }, E_BADSLOT, "env ENV + 2^32" },
	{ SYS_CAP_GRANT, { F(FRAME), L(ENV_SELF) }, E_BADSLOT, "env ENV_SELF (not accepted)" },
	{ SYS_CAP_REVOKE, { F(FREED) }, E_BADSLOT, "freed" },
	{ SYS_CAP_REVOKE, { L(CAP_SLOTS) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_CAP_REVOKE, { FP(FRAME2, 1ULL << 32) }, E_BADSLOT, "FRAME2 + 2^32" },
	{ SYS_CAP_DELETE, { F(FREED) }, E_BADSLOT, "freed: a double delete" },
	{ SYS_CAP_DELETE, { L(CAP_SLOTS) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_CAP_DELETE, { FP(FRAME, 1ULL << 32) }, E_BADSLOT, "FRAME + 2^32" },
	{ SYS_CAP_INSPECT, { F(FREED), F(BUF) }, E_BADSLOT, "freed" },
	{ SYS_CAP_INSPECT, { L(CAP_SLOTS), F(BUF) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_CAP_INSPECT, { FP(FRAME, 1ULL << 32), F(BUF) }, E_BADSLOT, "FRAME + 2^32" },
	{ SYS_ENV_START, { F(FREED), F(PROG) }, E_BADSLOT, "freed" },
	{ SYS_ENV_START, { L(CAP_SLOTS), F(PROG) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_ENV_START, { FP(ENV, 1ULL << 32), F(PROG) }, E_BADSLOT, "ENV + 2^32" },
	{ SYS_ENV_DESTROY, { F(FREED) }, E_BADSLOT, "freed" },
	{ SYS_ENV_DESTROY, { L(CAP_SLOTS) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_ENV_DESTROY, { FP(ENV, 1ULL << 32) }, E_BADSLOT, "ENV + 2^32" },
	{ SYS_ENV_DESTROY, { L(ENV_SELF) }, E_BADSLOT, "ENV_SELF (not accepted)" },
	{ SYS_ENV_STATUS, { F(FREED) }, E_BADSLOT, "freed" },
	{ SYS_ENV_STATUS, { L(CAP_SLOTS) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_ENV_STATUS, { FP(ENV, 1ULL << 32) }, E_BADSLOT, "ENV + 2^32" },
	{ SYS_SLOT_ALLOC, { F(CORE), L(SLOT_ANY), F(FREED) }, E_BADSLOT, "env freed" },
	{ SYS_SLOT_ALLOC, { F(CORE), L(SLOT_ANY), FP(ENV, 1ULL << 32) }, E_BADSLOT, "env ENV + 2^32" },
	{ SYS_SLOT_FREE, { F(FREED) }, E_BADSLOT, "freed" },
	{ SYS_SLOT_FREE, { L(CAP_SLOTS) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_SLOT_FREE, { FP(TSLOT_CHILD, 1ULL << 32) }, E_BADSLOT, "TSLOT_CHILD + 2^32" },
	{ SYS_YIELD_TO, { F(FREED) }, E_BADSLOT, "freed" },
	{ SYS_YIELD_TO, { L(ENV_SELF) }, E_BADSLOT, "ENV_SELF (not accepted)" },
	{ SYS_ENV_CPU, { F(FREED), F(CORE) }, E_BADSLOT, "freed" },
	{ SYS_ENV_CPU, { L(CAP_SLOTS), F(CORE) }, E_BADSLOT, "CAP_SLOTS" },
	{ SYS_EP_CREATE, { F(FREED), F(ENTRY), F(STACK), L(STACK_SIZE) }, E_BADSLOT, "env freed" },
	{ SYS_EP_CREATE, { L(CAP_SLOTS), F(ENTRY), F(STACK), L(STACK_SIZE) }, E_BADSLOT, "env CAP_SLOTS" },
	{ SYS_PCT_CALL, { F(FREED) }, E_BADSLOT, "freed" },
	{ SYS_PCT_CALL, { FP(EP, 1ULL << 32) }, E_BADSLOT, "EP + 2^32" },
	{ SYS_REVOKE_ASK, { F(FREED), L(FRAME_ANY), L(1) }, E_BADSLOT, "env freed" },
	{ SYS_REVOKE_ASK, { L(CAP_SLOTS), L(FRAME_ANY), L(1) }, E_BADSLOT, "env CAP_SLOTS" },
	{ SYS_REVOKE_ASK, { L(ENV_SELF), L(FRAME_ANY), L(1) }, E_BADSLOT, "env ENV_SELF (not accepted)" },
	{ SYS_GUARANTEE, { F(FREED), L(0) }, E_BADSLOT, "env freed" },
	{ SYS_GUARANTEE, { L(ENV_SELF), L(0) }, E_BADSLOT, "env ENV_SELF (not accepted)" },
	{ SYS_NOTIFY, { F(FREED), L(1) }, E_BADSLOT, "env freed" },
	{ SYS_NOTIFY, { FP(ENV, 1ULL << 32), L(1) }, E_BADSLOT, "env ENV + 2^32" },
};

/* A capability to another type of object than the call takes: E_TYPE. */
static const struct bad_call wrong_types[] = {
	{ SYS_FRAME_FREE, { F(ENV) }, E_TYPE, "an env cap" },
	{ SYS_FRAME_FREE, { F(TSLOT) }, E_TYPE, "a time-slot cap" },
	{ SYS_FRAME_FREE, { F(EP) }, E_TYPE, "an endpoint cap" },
	{ SYS_MAP, { F(TSLOT), F(HOLE), L(PROT_R) }, E_TYPE, "a time-slot cap" },
	{ SYS_MAP, { F(EP), F(HOLE), L(PROT_R) }, E_TYPE, "an endpoint cap" },
	{ SYS_UNMAP, { F(ENV) }, E_TYPE, "an env cap" },
	{ SYS_UNMAP, { F(TSLOT) }, E_TYPE, "a time-slot cap" },
	{ SYS_UNMAP, { F(EP) }, E_TYPE, "an endpoint cap" },
	{ SYS_CAP_GRANT, { F(FRAME), F(FRAME), L(GRANT_COPY) }, E_TYPE, "target a frame" },
	{ SYS_CAP_GRANT, { F(FRAME), F(TSLOT), L(GRANT_COPY) }, E_TYPE, "target a time slot" },
	{ SYS_CAP_GRANT, { F(FRAME), F(EP), L(GRANT_COPY) }, E_TYPE, "target an endpoint" },
	{ SYS_ENV_START, { F(TSLOT), F(PROG) }, E_TYPE, "a time-slot cap" },
	{ SYS_ENV_START, { F(EP), F(PROG) }, E_TYPE, "an endpoint cap" },
	{ SYS_ENV_DESTROY, { F(FRAME) }, E_TYPE, "a frame cap" },
	{ SYS_ENV_DESTROY, { F(TSLOT) }, E_TYPE, "a time-slot cap" },
	{ SYS_ENV_DESTROY, { F(EP) }, E_TYPE, "an endpoint cap" },
	{ SYS_ENV_STATUS, { F(FRAME) }, E_TYPE, "a frame cap" },
	{ SYS_ENV_STATUS, { F(TSLOT) }, E_TYPE, "a time-slot cap" },
	{ SYS_ENV_STATUS, { F(EP) }, E_TYPE, "an endpoint cap" },
	{ SYS_SLOT_ALLOC, { F(CORE), L(SLOT_ANY), F(EP) }, E_TYPE, "env an endpoint cap" },
	{ SYS_SLOT_FREE, { F(ENV) }, E_TYPE, "an env cap" },
	{ SYS_SLOT_FREE, { F(EP) }, E_TYPE, "an endpoint cap" },
	{ SYS_YIELD_TO, { F(FRAME) }, E_TYPE, "a frame cap" },
	{ SYS_YIELD_TO, { F(EP) }, E_TYPE, "an endpoint cap" },
	{ SYS_ENV_CPU, { F(FRAME), F(CORE) }, E_TYPE, "a frame cap" },
	{ SYS_ENV_CPU, { F(TSLOT), F(CORE) }, E_TYPE, "a time-slot cap" },
	{ SYS_EP_CREATE, { F(FRAME), F(ENTRY), F(STACK), L(STACK_SIZE) }, E_TYPE, "env a frame cap" },
	{ SYS_EP_CREATE, { F(EP), F(ENTRY), F(STACK), L(STACK_SIZE) }, E_TYPE, "env an endpoint cap" },
	{ SYS_PCT_CALL, { F(ENV) }, E_TYPE, "an env cap" },
	{ SYS_PCT_CALL, { F(TSLOT) }, E_TYPE, "a time-slot cap" },
	{ SYS_REVOKE_ASK, { F(FRAME), L(FRAME_ANY), L(1) }, E_TYPE, "env a frame cap" },
	{ SYS_REVOKE_ASK, { F(EP), L(FRAME_ANY), L(1) }, E_TYPE, "env an endpoint cap" },
	{ SYS_GUARANTEE, { F(FRAME), L(0) }, E_TYPE, "env a frame cap" },
	{ SYS_GUARANTEE, { F(TSLOT), L(0) }, E_TYPE, "env a time-slot cap" },
	{ SYS_NOTIFY, { F(FRAME), L(1) }, E_TYPE, "env a frame cap" },
	{ SYS_NOTIFY, { F(EP), L(1) }, E_TYPE, "env an endpoint cap" },
};

/* A right the call needs is missing, or the cap is not the root that owns: E_PERM. */
static const struct bad_call missing_rights[] = {
	{ SYS_FRAME_FREE, { F(NOGRANT) }, E_PERM, "no CTRL" },
	{ SYS_FRAME_FREE, { F(MID) }, E_PERM, "every right, but not the root" },
	{ SYS_MAP, { F(NOGRANT), F(HOLE), L(PROT_R | PROT_W) }, E_PERM, "W without WRITE" },
	{ SYS_MAP, { F(NOGRANT), F(HOLE), L(PROT_R | PROT_X) }, E_PERM, "X without EXEC" },
	{ SYS_CAP_MINT, { F(NOGRANT), L(CAP_R_READ) }, E_PERM, "no GRANT" },
	{ SYS_CAP_GRANT, { F(NOGRANT), F(ENV), L(GRANT_COPY) }, E_PERM, "no GRANT on the slot" },
	{ SYS_CAP_GRANT, { F(FRAME), F(ENV_WEAK), L(GRANT_COPY) }, E_PERM, "no CTRL on the env" },
	{ SYS_ENV_START, { F(ENV_WEAK), F(PROG) }, E_PERM, "no CTRL" },
	{ SYS_ENV_DESTROY, { F(ENV_WEAK) }, E_PERM, "no CTRL" },
	{ SYS_SLOT_ALLOC, { F(CORE), L(SLOT_ANY), F(ENV_WEAK) }, E_PERM, "no CTRL on the env" },
	{ SYS_SLOT_FREE, { F(TSLOT_CHILD) }, E_PERM, "every right, but not the root" },
	{ SYS_EP_CREATE, { F(ENV_WEAK), F(ENTRY), F(STACK), L(STACK_SIZE) }, E_PERM, "no CTRL" },
	{ SYS_REVOKE_ASK, { F(ENV_WEAK), L(FRAME_ANY), L(1) }, E_PERM, "no CTRL" },
	{ SYS_GUARANTEE, { F(ENV_WEAK), L(0) }, E_PERM, "no CTRL" },
	{ SYS_NOTIFY, { F(ENV_WEAK), L(1) }, E_PERM, "no WRITE" },
};

/* The capability's object is gone (destroyed, freed): E_STALE. */
static const struct bad_call stale_caps[] = {
	{ SYS_CAP_MINT, { F(ENV_STALE), L(CAP_R_READ) }, E_STALE, "a destroyed env" },
	{ SYS_CAP_MINT, { F(TSLOT_STALE), L(CAP_R_READ) }, E_STALE, "a released time slot" },
	{ SYS_CAP_MINT, { F(EP_STALE), L(CAP_R_READ) }, E_STALE, "a released endpoint" },
	{ SYS_CAP_GRANT, { F(FRAME), F(ENV_STALE), L(GRANT_COPY) }, E_STALE, "target destroyed" },
	{ SYS_CAP_GRANT, { F(ENV_STALE), F(ENV), L(GRANT_COPY) }, E_STALE, "source destroyed" },
	{ SYS_CAP_GRANT, { F(EP_STALE), F(ENV), L(GRANT_COPY) }, E_STALE, "source released" },
	{ SYS_ENV_START, { F(ENV_STALE), F(PROG) }, E_STALE, "destroyed" },
	{ SYS_ENV_DESTROY, { F(ENV_STALE) }, E_STALE, "destroyed already" },
	{ SYS_ENV_STATUS, { F(ENV_STALE) }, E_STALE, "destroyed" },
	{ SYS_SLOT_ALLOC, { F(CORE), L(SLOT_ANY), F(ENV_STALE) }, E_STALE, "env destroyed" },
	{ SYS_SLOT_FREE, { F(TSLOT_STALE) }, E_STALE, "released with its env" },
	{ SYS_YIELD_TO, { F(ENV_STALE) }, E_STALE, "destroyed" },
	{ SYS_ENV_CPU, { F(ENV_STALE), F(CORE) }, E_STALE, "destroyed" },
	{ SYS_EP_CREATE, { F(ENV_STALE), F(ENTRY), F(STACK), L(STACK_SIZE) }, E_STALE, "env destroyed" },
	{ SYS_PCT_CALL, { F(EP_STALE) }, E_STALE, "released with its env" },
	{ SYS_REVOKE_ASK, { F(ENV_STALE), L(FRAME_ANY), L(1) }, E_STALE, "env destroyed" },
	{ SYS_GUARANTEE, { F(ENV_STALE), L(0) }, E_STALE, "env destroyed" },
	{ SYS_NOTIFY, { F(ENV_STALE), L(1) }, E_STALE, "env destroyed" },
};

/*
 * User addresses that are not: the kernel's, non-canonical, below
 * USER_BASE, at or running past USER_END, unmapped (wholly or in part),
 * read-only for an out-parameter: E_FAULT. (UPCALL_SET registers the
 * revocation upcall, which nothing here would ever enter.)
 */
static const struct bad_call bad_addresses[] = {
	{ SYS_CONSOLE_WRITE, { L(NONCANON), L(8) }, E_FAULT, "non-canonical" },
	{ SYS_CONSOLE_WRITE, { L(KERNEL_VA), L(8) }, E_FAULT, "the kernel image" },
	{ SYS_CONSOLE_WRITE, { L(DIRECT_MAP_VA), L(8) }, E_FAULT, "the direct map" },
	{ SYS_CONSOLE_WRITE, { F(HOLE), L(8) }, E_FAULT, "unmapped" },
	{ SYS_ENV_START,
	  { F(ENV), F(PROG), L(0), L(NONCANON), L(8) },
	  E_FAULT,
	  "args non-canonical" },
	{ SYS_ENV_START, { F(ENV), F(PROG), L(0), F(HOLE), L(8) }, E_FAULT, "args unmapped" },
	{ SYS_ENV_START,
	  { F(ENV), F(PROG), L(0), FP(MAPPED, 4088), L(16) },
	  E_FAULT,
	  "args run into an unmapped page" },
	{ SYS_CONSOLE_WRITE, { FP(MAPPED, 4088), L(16) }, E_FAULT, "runs into an unmapped page" },
	{ SYS_CONSOLE_WRITE, { L(USER_END - 8), L(16) }, E_FAULT, "runs past USER_END" },
	{ SYS_TIME, { L(0) }, E_FAULT, "null" },
	{ SYS_TIME, { L(NONCANON) }, E_FAULT, "non-canonical" },
	{ SYS_TIME, { L(KERNEL_VA) }, E_FAULT, "the kernel image" },
	{ SYS_TIME, { L(DIRECT_MAP_VA) }, E_FAULT, "the direct map" },
	{ SYS_TIME, { F(HOLE) }, E_FAULT, "unmapped" },
	{ SYS_TIME, { FP(MAPPED, 4088) }, E_FAULT, "runs into an unmapped page" },
	{ SYS_TIME, { L(USER_END - 8) }, E_FAULT, "runs past USER_END" },
	{ SYS_MAP, { F(FRAME2), L(NONCANON), L(PROT_R) }, E_FAULT, "non-canonical" },
	{ SYS_MAP, { F(FRAME2), L(KERNEL_VA), L(PROT_R) }, E_FAULT, "the kernel image" },
	{ SYS_MAP, { F(FRAME2), L(DIRECT_MAP_VA), L(PROT_R) }, E_FAULT, "the direct map" },
	{ SYS_MAP, { F(FRAME2), L(USER_BASE - PAGE_SIZE), L(PROT_R) }, E_FAULT, "below USER_BASE" },
	{ SYS_READ_AD, { L(NONCANON), L(1), F(BUF) }, E_FAULT, "non-canonical range" },
	{ SYS_READ_AD, { L(KERNEL_VA & ~0xfffULL), L(1), F(BUF) }, E_FAULT, "kernel range" },
	{ SYS_READ_AD,
	  { L(USER_BASE - PAGE_SIZE), L(1), F(BUF) },
	  E_FAULT,
	  "range below USER_BASE" },
	{ SYS_READ_AD,
	  { L(USER_END - PAGE_SIZE), L(2), F(BUF) },
	  E_FAULT,
	  "range runs past USER_END" },
	{ SYS_READ_AD, { F(MAPPED), L(1), L(NONCANON) }, E_FAULT, "out non-canonical" },
	{ SYS_READ_AD, { F(MAPPED), L(1), F(TEXT) }, E_FAULT, "out read-only" },
	{ SYS_READ_AD, { F(MAPPED), L(1), F(HOLE) }, E_FAULT, "out unmapped" },
	{ SYS_READ_AD,
	  { F(MAPPED), L(2), FP(MAPPED, 4095) },
	  E_FAULT,
	  "out runs into an unmapped page" },
	{ SYS_READ_AD, { F(MAPPED), L(1), L(USER_END) }, E_FAULT, "out at USER_END" },
	{ SYS_CAP_INSPECT, { F(FRAME), L(0) }, E_FAULT, "out null" },
	{ SYS_CAP_INSPECT, { F(FRAME), L(KERNEL_VA) }, E_FAULT, "out in the kernel" },
	{ SYS_CAP_INSPECT, { F(FRAME), L(NONCANON) }, E_FAULT, "out non-canonical" },
	{ SYS_CAP_INSPECT, { F(FRAME), L(~0ULL - 7) }, E_FAULT, "out at the top of memory" },
	{ SYS_CAP_INSPECT, { F(FRAME), F(TEXT) }, E_FAULT, "out read-only" },
	{ SYS_CAP_INSPECT, { F(FRAME), F(HOLE) }, E_FAULT, "out unmapped" },
	{ SYS_CAP_INSPECT,
	  { F(FRAME), FP(MAPPED, 4088) },
	  E_FAULT,
	  "out runs into an unmapped page" },
	{ SYS_CAP_INSPECT, { F(FRAME), L(USER_END - 8) }, E_FAULT, "out runs past USER_END" },
	{ SYS_UPCALL_SET,
	  { L(UPCALL_REVOKE), L(NONCANON), F(STACK), L(STACK_SIZE) },
	  E_FAULT,
	  "entry non-canonical" },
	{ SYS_UPCALL_SET,
	  { L(UPCALL_REVOKE), F(ENTRY), L(NONCANON), L(STACK_SIZE) },
	  E_FAULT,
	  "stack non-canonical" },
	{ SYS_UPCALL_SET,
	  { L(UPCALL_REVOKE), F(ENTRY), L(KERNEL_VA), L(STACK_SIZE) },
	  E_FAULT,
	  "stack in the kernel" },
	{ SYS_UPCALL_SET,
	  { L(UPCALL_REVOKE), F(ENTRY), L(USER_BASE - PAGE_SIZE), L(STACK_SIZE) },
	  E_FAULT,
	  "stack below USER_BASE" },
	{ SYS_EP_CREATE, { L(ENV_SELF), L(0), F(STACK), L(STACK_SIZE) }, E_FAULT, "entry null" },
	{ SYS_EP_CREATE,
	  { L(ENV_SELF), L(NONCANON), F(STACK), L(STACK_SIZE) },
	  E_FAULT,
	  "entry non-canonical" },
	{ SYS_EP_CREATE,
	  { L(ENV_SELF), F(ENTRY), L(NONCANON), L(STACK_SIZE) },
	  E_FAULT,
	  "stack non-canonical" },
	{ SYS_EP_CREATE,
	  { L(ENV_SELF), F(ENTRY), L(KERNEL_VA), L(STACK_SIZE) },
	  E_FAULT,
	  "stack in the kernel" },
	{ SYS_EP_CREATE,
	  { L(ENV_SELF), F(ENTRY), L(USER_END - PAGE_SIZE), L(2 * PAGE_SIZE) },
	  E_FAULT,
	  "stack runs past USER_END" },
	{ SYS_EP_CREATE, { L(ENV_SELF), F(ENTRY), F(STACK), L(0) }, E_FAULT, "stack of size 0" },
	{ SYS_REPOSS_READ, { L(0) }, E_FAULT, "null" },
	{ SYS_REPOSS_READ, { L(KERNEL_VA) }, E_FAULT, "in the kernel" },
	{ SYS_REPOSS_READ, { L(NONCANON) }, E_FAULT, "non-canonical" },
	{ SYS_REPOSS_READ, { F(TEXT) }, E_FAULT, "read-only" },
	{ SYS_REPOSS_READ, { F(HOLE) }, E_FAULT, "unmapped" },
	{ SYS_REPOSS_READ, { FP(MAPPED, 4096 - 256) }, E_FAULT, "runs into an unmapped page" },
	{ SYS_REPOSS_READ, { L(USER_END - 256) }, E_FAULT, "runs past USER_END" },
};

/* An address that must be page- (MAP, READ_AD) or 16-aligned (stacks) is not: E_ALIGN. */
static const struct bad_call unaligned[] = {
	{ SYS_MAP, { F(FRAME2), FP(HOLE, 2048), L(PROT_R) }, E_ALIGN, "va mid-page" },
	{ SYS_MAP, { F(FRAME2), FP(HOLE, 1), L(PROT_R) }, E_ALIGN, "va + 1" },
	{ SYS_READ_AD, { FP(MAPPED, 2048), L(1), F(BUF) }, E_ALIGN, "va mid-page" },
	{ SYS_UPCALL_SET, { L(UPCALL_REVOKE), F(ENTRY), FP(STACK, 8), L(STACK_SIZE - 16) }, E_ALIGN, "stack base + 8" },
	{ SYS_UPCALL_SET, { L(UPCALL_REVOKE), F(ENTRY), F(STACK), L(STACK_SIZE - 8) }, E_ALIGN, "stack size - 8" },
	{ SYS_EP_CREATE, { L(ENV_SELF), F(ENTRY), FP(STACK, 8), L(STACK_SIZE - 16) }, E_ALIGN, "stack base + 8" },
	{ SYS_EP_CREATE, { L(ENV_SELF), F(ENTRY), F(STACK), L(STACK_SIZE - 8) }, E_ALIGN, "stack size - 8" },
};

/*
 * Numbers past the end of what they name (frames past memory, counts,
 * cores, indices, depth) or malformed (flags, kinds, rights, programs):
 * E_RANGE, E_INVAL.
 */
static const struct bad_call bad_numbers[] = {
	{ SYS_CONSOLE_WRITE, { F(BUF), L(~0ULL) }, E_RANGE, "length ~0" },
	{ SYS_FRAME_ALLOC, { F(NFRAMES) }, E_RANGE, "the first frame past memory" },
	{ SYS_FRAME_ALLOC, { L(FRAME_ANY - 1) }, E_RANGE, "frame ~0 - 1" },
	{ SYS_FRAME_ALLOC, { L(FRAME_ANY), L(2) }, E_INVAL, "unknown flag" },
	{ SYS_FRAME_ALLOC, { L(FRAME_ANY), L(~0ULL) }, E_INVAL, "every flag" },
	{ SYS_MAP, { F(FRAME2), F(HOLE), L(0) }, E_INVAL, "prot 0" },
	{ SYS_MAP, { F(FRAME2), F(HOLE), L(~0ULL) }, E_INVAL, "every prot bit" },
	{ SYS_MAP, { F(FRAME2), F(HOLE), L(PROT_R | PROT_W | PROT_X) }, E_INVAL, "W and X (W^X)" },
	{ SYS_MAP, { F(FRAME2), F(HOLE), L(PROT_W | PROT_X) }, E_INVAL, "W and X alone" },
	{ SYS_READ_AD, { F(MAPPED), L(~0ULL), F(BUF) }, E_RANGE, "~0 pages" },
	{ SYS_CAP_MINT, { F(DEEP), L(CAP_R_ALL) }, E_RANGE, "depth 33" },
	{ SYS_CAP_MINT, { F(FRAME), L(~0ULL) }, E_INVAL, "every rights bit" },
	{ SYS_CAP_MINT, { F(FRAME), L(CAP_R_READ), L(~0ULL) }, E_RANGE, "badge ~0" },
	/* docs/syscalls.md gives E_RANGE for depth under CAP_MINT only; the limit is the same. */
	{ SYS_CAP_GRANT,
	  { F(DEEP), F(ENV), L(GRANT_COPY) },
	  E_RANGE,
	  "copy at depth 33 (docs: MINT's limit)" },
	{ SYS_CAP_GRANT, { F(FRAME), F(ENV), L(2) }, E_INVAL, "flags 2" },
	{ SYS_CAP_GRANT, { F(FRAME), F(ENV), L(~0ULL) }, E_INVAL, "flags ~0" },
	{ SYS_ENV_CREATE, { F(NCORES) }, E_INVAL, "the first core past the end" },
	{ SYS_ENV_START, { F(ENV), L(~0ULL) }, E_INVAL, "program ~0" },
	{ SYS_ENV_START,
	  { F(ENV), F(PROG), L(0), F(MAPPED), L(ENV_ARGS_MAX + 1) },
	  E_RANGE,
	  "args one byte past ENV_ARGS_MAX" },
	{ SYS_ENV_START,
	  { F(ENV), F(PROG), L(0), F(MAPPED), L(~0ULL) },
	  E_RANGE,
	  "args length ~0" },
	{ SYS_ENV_START,
	  { F(ENV), F(PROG), L(0), F(TEXT), L(1) },
	  E_INVAL,
	  "args whose last word does not end (code bytes)" },
	{ SYS_UPCALL_SET, { L(~0ULL) }, E_INVAL, "kind ~0" },
	{ SYS_UPCALL_SET,
	  { L(UPCALL_REVOKE), F(ENTRY), F(STACK), L(16) },
	  E_RANGE,
	  "stack of 16 bytes" },
	{ SYS_SLOT_ALLOC,
	  { F(NCORES), L(SLOT_ANY), L(ENV_SELF) },
	  E_INVAL,
	  "the first core past the end" },
	{ SYS_SLOT_ALLOC, { F(CORE), L(SLOT_ANY - 1), L(ENV_SELF) }, E_RANGE, "index ~0 - 1" },
	{ SYS_ENV_CPU, { F(ENV), F(NCORES) }, E_INVAL, "the first core past the end" },
	{ SYS_ENV_CPU, { L(ENV_SELF), L(~0ULL) }, E_INVAL, "core ~0" },
	{ SYS_REVOKE_ASK, { F(ENV), L(FRAME_ANY), L(0) }, E_INVAL, "count 0" },
	{ SYS_REVOKE_ASK, { F(ENV), F(FRAME_NO), L(2) }, E_INVAL, "a named frame, count 2" },
	{ SYS_REVOKE_ASK, { F(ENV), F(NFRAMES), L(1) }, E_RANGE, "the first frame past memory" },
	{ SYS_REVOKE_ASK, { F(ENV), L(1ULL << 40), L(1) }, E_RANGE, "frame 2^40" },
	{ SYS_GUARANTEE, { F(ENV), FP(NFRAMES, 1) }, E_RANGE, "more frames than the machine has" },
	{ SYS_GUARANTEE, { F(ENV), L(~0ULL) }, E_RANGE, "~0 frames" },
	{ SYS_NOTIFY, { F(ENV), L(0) }, E_INVAL, "no bits" },
};

/*
 * In use or not there: owned frames, bound caps, derived caps, occupied
 * addresses, started and running environments, a slot that is taken:
 * E_PERM, E_BUSY, E_EXIST, E_NOENT, E_AGAIN.
 */
static const struct bad_call in_use[] = {
	{ SYS_FRAME_ALLOC, { F(FRAME_NO) }, E_BUSY, "a frame we own" },
	{ SYS_FRAME_ALLOC, { L(0) }, E_PERM, "the kernel's frame 0" },
	{ SYS_FRAME_FREE, { F(FRAME2) }, E_BUSY, "derived caps exist" },
	{ SYS_MAP, { F(FRAME), F(HOLE), L(PROT_R) }, E_BUSY, "a cap already bound" },
	{ SYS_MAP, { F(FRAME2), F(MAPPED), L(PROT_R) }, E_EXIST, "over our own mapping" },
	{ SYS_MAP, { F(FRAME2), L(USER_BASE), L(PROT_R) }, E_EXIST, "over the program's code" },
	{ SYS_UNMAP, { F(FRAME2) }, E_NOENT, "not bound" },
	{ SYS_CAP_GRANT, { F(MID), F(ENV), L(GRANT_MOVE) }, E_BUSY, "move of a cap with children" },
	{ SYS_CAP_GRANT, { F(BOUND), F(ENV), L(GRANT_MOVE) }, E_BUSY, "move of a bound cap" },
	{ SYS_CAP_GRANT, { F(FRAME), F(ENV), L(GRANT_MOVE) }, E_PERM, "move of a root" },
	{ SYS_CAP_DELETE, { F(FRAME2) }, E_BUSY, "derived caps exist" },
	{ SYS_CAP_DELETE, { F(TSLOT) }, E_BUSY, "derived caps exist" },
	{ SYS_ENV_START, { F(WAITER), F(PROG) }, E_BUSY, "started already" },
	{ SYS_ENV_STATUS, { F(WAITER) }, E_AGAIN, "running" },
	{ SYS_ENV_STATUS, { F(ENV) }, E_AGAIN, "never started" },
	{ SYS_SLOT_ALLOC, { F(CORE), F(TSLOT_INDEX), F(ENV) }, E_BUSY, "a taken slot" },
	{ SYS_SLOT_FREE, { F(TSLOT) }, E_BUSY, "derived caps exist" },
	{ SYS_YIELD_TO, { F(ENV) }, E_AGAIN, "never started" },
	{ SYS_PCT_CALL, { F(EP) }, E_AGAIN, "callee never started" },
	{ SYS_PCT_REPLY, { L(0) }, E_NOENT, "not serving a call" },
	{ SYS_REVOKE_ASK, { F(ENV), L(FRAME_ANY), L(1) }, E_PERM, "nothing revocable" },
	{ SYS_REVOKE_ASK, { F(ENV), F(FRAME_NO), L(1) }, E_PERM, "a frame the env does not own" },
	{ SYS_REVOKE_ASK, { F(ENV), L(0), L(1) }, E_PERM, "the kernel's frame 0" },
};

/* With another core: an environment or a slot of one core used from, or for, the other: E_INVAL. */
static const struct bad_call across_cores[] = {
	{ SYS_SLOT_ALLOC, { F(OTHER_CORE), L(SLOT_ANY), L(ENV_SELF) }, E_INVAL, "not the caller's home core" },
	{ SYS_SLOT_ALLOC, { F(CORE), L(SLOT_ANY), F(FAR) }, E_INVAL, "not the owner's home core" },
	{ SYS_YIELD_TO, { F(FAR) }, E_INVAL, "another core" },
};

/* Our capability table is full (the fixtures and FILL's copies): E_NOMEM. */
static const struct bad_call own_table_full[] = {
	{ SYS_FRAME_ALLOC, { L(FRAME_ANY) }, E_NOMEM, "no slot for the cap" },
	{ SYS_CAP_MINT, { F(FRAME), L(CAP_R_READ) }, E_NOMEM, "no slot for the copy" },
	{ SYS_ENV_CREATE, { F(CORE) }, E_NOMEM, "no slot for the cap" },
	{ SYS_SLOT_ALLOC, { F(CORE), L(SLOT_ANY), L(ENV_SELF) }, E_NOMEM, "no slot for the cap" },
	{ SYS_EP_CREATE, { L(ENV_SELF), F(ENTRY), F(STACK), L(STACK_SIZE) }, E_NOMEM, "no slot for the cap" },
};

/* ENV's table is full (of FILL's copies): E_NOMEM. */
static const struct bad_call target_table_full[] = {
	{ SYS_CAP_GRANT, { F(FRAME), F(ENV), L(GRANT_COPY) }, E_NOMEM, "the target's table is full" },
	{ SYS_ENV_START, { F(ENV), F(PROG) }, E_NOMEM, "no slot for the program's frames" },
};

TEST(bad, slots_out_of_range_or_empty) { EXPECT_ALL_REFUSED(t, bad_slots); }
TEST(bad, capabilities_of_the_wrong_type) { EXPECT_ALL_REFUSED(t, wrong_types); }
TEST(bad, missing_rights) { EXPECT_ALL_REFUSED(t, missing_rights); }
TEST(bad, stale_generations) { EXPECT_ALL_REFUSED(t, stale_caps); }
TEST(bad, addresses_outside_user_space_unmapped_or_read_only) { EXPECT_ALL_REFUSED(t, bad_addresses); }
TEST(bad, unaligned_addresses) { EXPECT_ALL_REFUSED(t, unaligned); }
TEST(bad, numbers_past_the_end_or_malformed) { EXPECT_ALL_REFUSED(t, bad_numbers); }
TEST(bad, objects_in_use) { EXPECT_ALL_REFUSED(t, in_use); }

TEST(bad, across_cores)
{
	if (fx[NCORES] < 2) {
		printf("bad.across_cores: one core only; nothing to check\n");
		return;
	}
	EXPECT_ALL_REFUSED(t, across_cores);
}

/* Copies of FILL into env's table (ENV_SELF: ours) until it is full; how many went in. */
static unsigned fill_table(uint64_t env)
{
	unsigned n = 0;
	while (n <= CAP_SLOTS && (env == ENV_SELF ? sys_cap_mint(fx[FILL], CAP_R_READ, 0)
						   : sys_cap_grant(fx[FILL], env, GRANT_COPY)) >= 0)
		n++;
	return n;
}

static int64_t revoke_all(uint64_t slot)
{
	int64_t r;
	while ((r = sys_cap_revoke(slot)) == E_AGAIN)
		;
	return r;
}

TEST(bad, full_capability_tables)
{
	EXPECT_EQ(t, fill_table(fx[ENV]), CAP_SLOTS); /* never started: it held nothing */
	EXPECT_ALL_REFUSED(t, target_table_full);
	EXPECT_EQ(t, revoke_all(fx[FILL]), 0);
	EXPECT(t, fill_table(ENV_SELF) > 0);
	EXPECT_ALL_REFUSED(t, own_table_full);
	EXPECT_EQ(t, revoke_all(fx[FILL]), 0);
	EXPECT_EQ(t, sys_cap_inspect(fx[FREED], (struct cap_info *)buf), E_BADSLOT); /* empty again */
}

static int64_t wait_exit(uint64_t env)
{
	int64_t st = E_AGAIN;
	for (unsigned i = 0; i < 1000000 && (st = sys_env_status(env)) == E_AGAIN; i++)
		sys_yield();
	return st;
}

/*
 * What only an environment itself, or one holding a capability to itself,
 * can try (MODE_SELF, below): it exits with the checks that failed. Its
 * whole life changes nothing here either.
 */
TEST(bad, from_an_environment_with_a_capability_to_itself)
{
	snapshot_take(&before);
	int64_t h = sys_env_create(my_core);
	ASSERT(t, h >= 0);
	int64_t self = sys_cap_grant((uint64_t)h, (uint64_t)h, GRANT_COPY);
	EXPECT(t, self >= 0);
	uint64_t arg = MODE_SELF << MODE_SHIFT | (uint64_t)self << SLOT_SHIFT | fx[FRAME_NO];
	if (self >= 0 && sys_env_start((uint64_t)h, fx[PROG], arg) == 0)
		EXPECT_EQ(t, wait_exit((uint64_t)h), 0);
	else
		test_fail(t, __FILE__, __LINE__, "could not start the helper");
	EXPECT_EQ(t, sys_env_destroy((uint64_t)h), 0);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)h), 0);
	snapshot_take(&after);
	expect_same(t, "the helper's life", &before, &after);
	expect_checker_clean(t, "the helper's life");
}

/* ---- Fixtures ----------------------------------------------------------------------------- */

static struct cap_info inspect(uint64_t slot)
{
	struct cap_info ci = { 0 };
	(void)sys_cap_inspect(slot, &ci);
	return ci;
}

/* Keep r as fixture f if it is a slot or number; false (and say so) if it is an error. */
static bool set(enum fx f, int64_t r, const char *how)
{
	if (r < 0) {
		printf("fixture %u (%s): %s\n", f, how, err_name((int)r));
		return false;
	}
	fx[f] = (uint64_t)r;
	return true;
}

/* r is 0 (a call that returns nothing but errors); false, and say so, if not. */
static bool ok(int64_t r, const char *how)
{
	if (r != 0)
		printf("fixture setup (%s): %s\n", how, err_name((int)r));
	return r == 0;
}

/* What parent and helpers share: addresses, this core and program, FRAME mapped at FX_VA. */
static bool common_fixtures(uint64_t core)
{
	for (unsigned f = LIT + 1; f < SLOT_FIXTURES; f++)
		fx[f] = CAP_SLOTS; /* absent: any use is E_BADSLOT */
	my_core = fx[CORE] = core;
	fx[PROG] = libos_self_prog;
	fx[MAPPED] = FX_VA;
	fx[HOLE] = FX_VA + PAGE_SIZE;
	fx[TEXT] = (uint64_t)(uintptr_t)main;
	fx[BUF] = (uint64_t)(uintptr_t)buf;
	fx[ENTRY] = (uint64_t)(uintptr_t)main;
	fx[STACK] = (uint64_t)(uintptr_t)stack;
	/* Cores: ENV_CPU refuses the first one past the end, and changes nothing. */
	for (fx[NCORES] = core + 1; fx[NCORES] < MAX_CPUS; fx[NCORES]++)
		if (sys_call6(SYS_ENV_CPU, ENV_SELF, fx[NCORES], 0, 0, 0, 0) == E_INVAL)
			break;
	if (!set(FRAME, sys_frame_alloc(FRAME_ANY), "alloc") ||
	    !ok(sys_map(fx[FRAME], FX_VA, PROT_R | PROT_W), "map FRAME"))
		return false;
	*(volatile uint64_t *)FX_VA = PATTERN;
	fx[FRAME_NO] = inspect(fx[FRAME]).object;
	return true;
}

/*
 * Frames in the machine: the first number REVOKE_ASK refuses with E_RANGE
 * when it names a frame of ENV (which owns none: below that, E_PERM; it is
 * never asked for anything).
 */
static uint64_t count_frames(void)
{
	uint64_t lo = 1, hi = 1ULL << 40; /* lo is a frame, hi is past the end */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (sys_call6(SYS_REVOKE_ASK, fx[ENV], mid, 1, 0, 0, 0) == E_RANGE)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

static int64_t slot_alloc(uint64_t env) { return sys_call6(SYS_SLOT_ALLOC, my_core, SLOT_ANY, env, 0, 0, 0); }

static int64_t ep_create(uint64_t env)
{
	return sys_call6(SYS_EP_CREATE, env, fx[ENTRY], fx[STACK], STACK_SIZE, 0, 0);
}

static bool parent_fixtures(uint64_t core)
{
	if (!common_fixtures(core) || !set(FRAME2, sys_frame_alloc(FRAME_ANY), "alloc") ||
	    !set(MID, sys_cap_mint(fx[FRAME2], CAP_R_ALL, 0), "mint") ||
	    !set(NOGRANT, sys_cap_mint(fx[MID], CAP_R_READ | CAP_R_MAP, 0), "mint") ||
	    !set(BOUND, sys_cap_mint(fx[FRAME2], CAP_R_READ | CAP_R_MAP | CAP_R_GRANT, 0), "mint") ||
	    !ok(sys_map(fx[BOUND], FX_VA + 2 * PAGE_SIZE, PROT_R), "map BOUND") ||
	    !set(FILL, sys_frame_alloc(FRAME_ANY), "alloc"))
		return false;
	fx[DEEP] = fx[FRAME2];
	for (unsigned depth = 1; depth <= 32; depth++)
		if (!set(DEEP, sys_cap_mint(fx[DEEP], CAP_R_ALL, 0), "mint a chain"))
			return false;
	if (!set(ENV, sys_env_create(core), "create") ||
	    !set(ENV_WEAK, sys_cap_mint(fx[ENV], CAP_R_GRANT, 0), "mint") ||
	    !set(TSLOT, slot_alloc(fx[ENV]), "slot alloc") ||
	    !set(TSLOT_CHILD, sys_cap_mint(fx[TSLOT], CAP_R_ALL, 0), "mint") ||
	    !set(EP, ep_create(fx[ENV]), "endpoint"))
		return false;
	fx[TSLOT_INDEX] = inspect(fx[TSLOT]).object % 64;
	/* A time slot and an endpoint of an environment, then the environment goes. */
	if (!set(ENV_STALE, sys_env_create(core), "create") ||
	    !set(TSLOT_STALE, slot_alloc(fx[ENV_STALE]), "slot alloc") ||
	    !set(EP_STALE, ep_create(fx[ENV_STALE]), "endpoint") ||
	    !ok(sys_env_destroy(fx[ENV_STALE]), "destroy"))
		return false;
	if (!set(WAITER, sys_env_create(core), "create") ||
	    !ok(sys_env_start(fx[WAITER], fx[PROG], MODE_WAITER << MODE_SHIFT), "start the waiter"))
		return false;
	if (fx[NCORES] > 1) {
		fx[OTHER_CORE] = (core + 1) % fx[NCORES];
		if (!set(FAR, sys_env_create(fx[OTHER_CORE]), "create on another core"))
			return false;
	}
	fx[NFRAMES] = count_frames();
	/* Last: the slot a freed frame leaves is the lowest free one, and stays free. */
	if (!set(FREED, sys_frame_alloc(FRAME_ANY), "alloc") || !ok(sys_frame_free(fx[FREED]), "free"))
		return false;
	watched = fx[ENV];
	return true;
}

/* Every fixture capability goes (the roots with their objects; the waiter is told to end first). */
static void parent_teardown(void)
{
	static const enum fx roots[] = { WAITER, FAR, EP, EP_STALE, TSLOT, TSLOT_STALE, ENV,
					 ENV_STALE, FRAME2, FRAME, FILL };
	if (fx[WAITER] < CAP_SLOTS) {
		(void)sys_call6(SYS_NOTIFY, fx[WAITER], 1, 0, 0, 0, 0);
		if (wait_exit(fx[WAITER]) != 0)
			printf("the waiter did not end with 0\n");
	}
	for (unsigned i = 0; i < ARRAY_SIZE(roots); i++) {
		(void)revoke_all(fx[roots[i]]);
		(void)sys_cap_delete(fx[roots[i]]);
	}
}

/* ---- The helpers -------------------------------------------------------------------------- */

/* MODE_SELF: what it tries with its capability to itself and its parent's frame. */
static const struct bad_call self_rows[] = {
	{ SYS_FRAME_ALLOC, { F(OTHERS_FRAME) }, E_BUSY, "a frame another environment owns" },
	{ SYS_ENV_DESTROY, { F(SELF) }, E_BUSY, "itself" },
	{ SYS_ENV_START, { F(SELF), F(PROG) }, E_BUSY, "itself, running" },
	{ SYS_YIELD_TO, { F(SELF) }, E_AGAIN, "itself" },
	{ SYS_REVOKE_ASK, { F(SELF), F(OTHERS_FRAME), L(1) }, E_PERM, "a frame another environment owns" },
	{ SYS_REVOKE_ASK, { F(SELF), F(PROG_FRAME), L(1) }, E_PERM, "its program's frame: not revocable" },
};

/* MODE_SELF, with a guarantee of 1 frame and 1 revocable frame (FRAME). */
static const struct bad_call guaranteed_rows[] = {
	{ SYS_REVOKE_ASK, { F(SELF), L(FRAME_ANY), L(1) }, E_PERM, "any frame, within its guarantee" },
	{ SYS_REVOKE_ASK, { F(SELF), F(FRAME_NO), L(1) }, E_PERM, "a named frame, within its guarantee" },
};

/* MODE_SELF: STALE's frame was taken by force; the root capability stays, stale. */
static const struct bad_call stale_frame_rows[] = {
	{ SYS_FRAME_FREE, { F(STALE) }, E_STALE, "a frame taken back" },
	{ SYS_MAP, { F(STALE), F(HOLE), L(PROT_R) }, E_STALE, "a frame taken back" },
	{ SYS_CAP_MINT, { F(STALE), L(CAP_R_READ) }, E_STALE, "a frame taken back" },
	{ SYS_CAP_GRANT, { F(STALE), F(SELF), L(GRANT_COPY) }, E_STALE, "a frame taken back" },
	{ SYS_UNMAP, { F(STALE) }, E_NOENT, "a frame taken back: its binding went too" },
};

static int64_t revoke_ask(uint64_t frame) { return sys_call6(SYS_REVOKE_ASK, fx[SELF], frame, 1, 0, 0, 0); }

/*
 * While a request is pending, another is refused (E_BUSY) and takes
 * nothing: without a revocation handler, the kernel takes the frame asked
 * for at our next yield, and only that one. The second request names
 * FRAME, under a guarantee of 1: if our slice ended between the two asks,
 * the first was served already, FRAME is all we have left, and the second
 * gets E_PERM (nothing taken either) — then try again. On success
 * fx[STALE] is the taken frame's root capability.
 */
static void expect_busy_while_asked(struct test_ctx *t)
{
	ASSERT_EQ(t, sys_call6(SYS_GUARANTEE, fx[SELF], 1, 0, 0, 0, 0), 0);
	for (unsigned attempt = 0; attempt < 5 && fx[STALE] == CAP_SLOTS; attempt++) {
		int64_t v = sys_frame_alloc(FRAME_ANY);
		ASSERT(t, v >= 0);
		uint64_t frame = inspect((uint64_t)v).object;
		int64_t free_before = sys_frame_count();
		ASSERT_EQ(t, revoke_ask(frame), 0);
		int64_t again = revoke_ask(fx[FRAME_NO]);
		uint64_t taken[64] = { 0 };
		int64_t n = 0;
		for (unsigned i = 0; i < 100000 && n == 0; i++) {
			sys_yield();
			n = sys_call6(SYS_REPOSS_READ, (uint64_t)(uintptr_t)taken, 0, 0, 0, 0, 0);
		}
		EXPECT_EQ(t, n, 1);
		EXPECT_EQ(t, taken[0], frame);
		EXPECT_EQ(t, sys_frame_count(), free_before + 1);
		EXPECT_EQ(t, *(volatile uint64_t *)FX_VA, PATTERN); /* FRAME: still ours, still mapped */
		expect_checker_clean(t, "REVOKE_ASK(pending)");
		if (again == E_BUSY) {
			fx[STALE] = (uint64_t)v;
			break;
		}
		EXPECT_EQ(t, again, E_PERM); /* the first had been served */
		EXPECT_EQ(t, sys_cap_delete((uint64_t)v), 0);
	}
	EXPECT(t, fx[STALE] != CAP_SLOTS); /* saw E_BUSY */
	EXPECT_EQ(t, sys_call6(SYS_GUARANTEE, fx[SELF], 0, 0, 0, 0, 0), 0);
}

/* The frame of our program's first page (the loader's root capability bound at USER_BASE), or 0. */
static uint64_t program_frame(void)
{
	for (unsigned slot = 0; slot < CAP_SLOTS; slot++) {
		/* the kernel fills it on 0 (the analyzer cannot see that) */
		struct cap_info ci = { 0 };
		if (sys_cap_inspect(slot, &ci) == 0 && ci.type == OBJ_FRAME && ci.depth == 0 &&
		    ci.bound_va == USER_BASE)
			return ci.object;
	}
	return 0;
}

static int run_self_helper(uint64_t arg, uint64_t core)
{
	static const struct test_case tc = { .suite = "helper", .name = "with_a_capability_to_itself" };
	struct test_ctx ctx = { .tc = &tc }, *t = &ctx;
	if (!common_fixtures(core))
		return 100;
	fx[SELF] = watched = (arg >> SLOT_SHIFT) & 0xffff;
	fx[OTHERS_FRAME] = arg & ((1ULL << SLOT_SHIFT) - 1);
	fx[PROG_FRAME] = program_frame();
	EXPECT(t, fx[PROG_FRAME] != 0);
	EXPECT_ALL_REFUSED(t, self_rows);
	EXPECT_EQ(t, sys_call6(SYS_GUARANTEE, fx[SELF], 1, 0, 0, 0, 0), 0);
	EXPECT_ALL_REFUSED(t, guaranteed_rows);
	expect_busy_while_asked(t);
	EXPECT_ALL_REFUSED(t, stale_frame_rows);
	/* A stale capability can still be deleted; the frame is not ours to free. */
	int64_t free_before = sys_frame_count();
	EXPECT_EQ(t, sys_cap_delete(fx[STALE]), 0);
	EXPECT_EQ(t, sys_frame_count(), free_before);
	EXPECT_EQ(t, sys_frame_free(fx[FRAME]), 0);
	expect_checker_clean(t, "the end");
	printf("utest: %s helper.with_a_capability_to_itself\n", ctx.failures ? "FAIL" : "PASS");
	return (int)MIN(ctx.failures, 99u);
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg >> MODE_SHIFT == MODE_WAITER) {
		while (sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0) == 0)
			sys_yield();
		return 0;
	}
	if (arg >> MODE_SHIFT == MODE_SELF)
		return run_self_helper(arg, core);
	/* The page tables over the window stay once made: make them before counting. */
	int64_t warm = sys_frame_alloc(FRAME_ANY);
	if (warm < 0 || sys_map((uint64_t)warm, FX_VA, PROT_R) != 0 || sys_frame_free((uint64_t)warm) != 0)
		return 100;
	/* So do our capability table's pages (until we exit): grow it to the full first. */
	int64_t grow = sys_frame_alloc(FRAME_ANY);
	while (grow >= 0 && sys_cap_mint((uint64_t)grow, CAP_R_READ, 0) >= 0)
		;
	if (grow < 0 || revoke_all((uint64_t)grow) != 0 || sys_frame_free((uint64_t)grow) != 0)
		return 100;
	int64_t free_before = sys_frame_count();
	unsigned failed = 0;
	if (parent_fixtures(core))
		failed = test_run("all");
	else
		failed = 100;
	parent_teardown();
	/*
	 * Deleting an environment's root begins its destroy; the home core's
	 * run loop finishes it between slices (docs/kernel.md, "Destroying in
	 * steps"): yield until the frames are back, a bounded number of times.
	 */
	for (unsigned i = 0; i < 100000 && sys_frame_count() != free_before; i++)
		sys_yield();
	if (sys_frame_count() != free_before || sys_debug_check() != 0) {
		printf("after the teardown: %lld free frames (%lld before), checker: %lld\n",
		       (long long)sys_frame_count(), (long long)free_before, (long long)sys_debug_check());
		failed++;
	}
	return (int)MIN(failed, 255u);
}
