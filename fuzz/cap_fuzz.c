/*
 * libFuzzer target: the capability syscall surface of the real kernel
 * (core/ and percpu/ on the host arch), driven through syscall_invoke.
 *
 * Per input: a fresh simulated machine of two cores (core 0 runs this
 * driver, core 1 idles in percpu_idle_loop and answers IPIs and channel
 * messages), a fresh page-ownership table and message rings, three
 * environments each with an out-parameter page mapped read-write, then the
 * program the input encodes (fuzz/prog.h). An environment's calls run on
 * its home core (core 1's through smp_call), as on the machine, and after
 * each call the machine settles (what the call started on another core
 * has happened). Oracles after every call: ASan and UBSan, the kernel's
 * own invariant_check(), and the reference model (fuzz/model.c), which
 * judges the return code and compares the abstract state. At the end every
 * environment is destroyed and every frame, time slot and endpoint must be
 * back. A broken oracle prints the program with each call's result and
 * aborts, which libFuzzer keeps as a crash.
 *
 * FUZZ_DECODE=1 in the environment prints every call, its result and the
 * frames that changed hands as it runs (tools/fuzz-decode does that for a
 * file). FUZZ_MODEL_ONLY=1 leaves out invariant_check(), to measure what
 * the reference model catches alone. FUZZ_RESULTS=1 prints, per input, a
 * digest of every call's environment and result on stderr, which must not
 * depend on the inputs run before it (tools/fuzz-smoke replays in two
 * orders and compares). FUZZ_CORRUPT=N damages the kernel's state where
 * nothing is in use, after the set-up (see corrupt()): the oracles must
 * fail the input (tools/fuzz-smoke checks they do).
 *
 * Pure: the kernel's state is rebuilt per input (sim_init: the per-core
 * state, zeroed memory and stacks; pot_init: the ownership table;
 * chan_reset and chan_init: the rings) or left as it was found (every
 * environment and endpoint is gone again at the end, checked at the start
 * too); generations of environments and endpoints carry over, which the
 * model takes as it finds them. The one global nothing resets, frame.c's
 * refill cursor, is made harmless by the memory size (NFRAMES). Nothing is
 * read but the input.
 */
#include "model.h"
#include "prog.h"

#include <arch/cpu.h>
#include <arch/disk.h>
#include <arch/mm.h>
#include <arch/phys.h>
#include <arch/sim.h>
#include <chan.h>
#include <exo/boot.h>
#include <exo/cap.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hooks.h>
#include <exo/obj.h>
#include <exo/uaccess.h>
#include <libos/bpf.h>
#include <exo/pct.h>
#include <exo/pot.h>
#include <exo/slice.h>
#include <exo/syscall.h>
#include <ipi.h>
#include <percpu.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * 64 frames, not more: frame.c's refill cursor is a global that survives
 * between inputs (nothing resets it), and with a table of exactly 64
 * frames every refill scans the whole table from frame 0 — so the frame
 * FRAME_ANY returns depends on this input alone. Half of them are the
 * kernel's, so that a program of a few dozen calls can run out of frames
 * (the set-up takes 15 of the 32 left) and reach the E_NOMEM paths.
 */
#define NFRAMES      PROG_NFRAMES
#define NCORES       PROG_NCORES
#define NENVS        3 /* made by the set-up */
#define MAX_LIST     8 /* environments a program can act as (set-up's, then ENV_CREATE's) */
#define MAX_STEPS    20000000ULL
#define CALL_TIMEOUT (1ULL << 32) /* cycles core 1 may take for one call */
#define SETUP_OPS    16
#define FILL_MAX (2 * MODEL_SLOTS + 16) /* calls one FILL makes at most */
#define FILL_BUDGET (4 * FILL_MAX)	/* and all of a program's FILLs */
#define TRACE_MAX (SETUP_OPS + PROG_MAX_OPS + FILL_BUDGET)

static struct pot_entry pot_table[NFRAMES];

/* One call as it ran, for the report. */
struct trace {
	int op;       /* index in the program; -1: set-up */
	unsigned who; /* index in the run's list of environments */
	uint32_t env; /* its id */
	const struct prog_call *call;
	const struct prog_op *src; /* the encoded operation (NULL: set-up) */
	uint64_t nr, a[6];
	int64_t ret;
	bool skipped; /* not made: the environment was gone, or */
	bool blocks;  /* the call would wait for user mode */
};

#define RECENT 8 /* slots remembered per environment, for ARG_SLOT_RECENT */

struct run {
	const struct prog *p;
	uint32_t env[MAX_LIST];
	unsigned nenv;
	uint32_t recent[MAX_LIST][RECENT]; /* newest last, a ring */
	unsigned nrecent[MAX_LIST];
	struct trace trace[TRACE_MAX];
	unsigned ntrace;
	uint64_t kernel_frames; /* the image and the message rings */
	unsigned filled;	/* calls FILL has made (FILL_BUDGET at most) */
	bool filling;		/* in a FILL: the state is compared after its last call */
	bool done;
};

static struct run the_run;
static struct prog the_prog;
static bool verbose;
static bool results; /* FUZZ_RESULTS=1: a digest of every call's result, per input (purity) */
static bool
    model_only; /* FUZZ_MODEL_ONLY=1: no invariant_check(), to see what the model alone catches */
static unsigned corruption; /* FUZZ_CORRUPT=N: damage an unused entry after the set-up */
#define m model_instance

/* ---- printing a program ---- */

static void print_arg(FILE *f, const struct trace *t, unsigned i)
{
	uint64_t v = t->a[i];
	if (t->src) {
		const struct prog_arg *a = &t->src->arg[i];
		switch (a->kind % ARG_KINDS) {
		case ARG_SLOT:
			(void)fprintf(f, "s%llu", (unsigned long long)v);
			return;
		case ARG_CONST:
			(void)fprintf(f, "%s", prog_consts[a->val % prog_nconsts].name);
			return;
		case ARG_FRAME:
			(void)fprintf(f, "frame %llu", (unsigned long long)v);
			return;
		case ARG_OUT:
			if (v == PROG_OUT_VA)
				(void)fprintf(f, "OUT");
			else
				(void)fprintf(f, "OUT+0x%llx",
					      (unsigned long long)(v - PROG_OUT_VA));
			return;
		}
	}
	if (v < 4096)
		(void)fprintf(f, "%llu", (unsigned long long)v);
	else if (prog_const_name(v))
		(void)fprintf(f, "%s", prog_const_name(v));
	else
		(void)fprintf(f, "0x%llx", (unsigned long long)v);
}

static void print_trace(FILE *f, const struct trace *t)
{
	if (t->op < 0)
		(void)fprintf(f, "setup  ");
	else
		(void)fprintf(f, "op %-3d ", t->op);
	(void)fprintf(f, "env%u: ", t->who);
	if (t->call->nr == PROG_NR_BAD) {
		(void)fprintf(f, "SYSCALL_%llu()", (unsigned long long)t->nr);
	} else {
		(void)fprintf(f, "%s(", t->call->name);
		for (unsigned i = 0; i < PROG_ARGS && t->call->type[i] != T_NONE; i++) {
			(void)fprintf(f, i ? ", " : "");
			print_arg(f, t, i);
		}
		(void)fprintf(f, ")");
	}
	if (t->blocks)
		(void)fprintf(f, " skipped: it would wait (the host has no user mode)\n");
	else if (t->skipped)
		(void)fprintf(f, " skipped: env %u is gone\n", t->env);
	else if (t->ret < 0)
		(void)fprintf(f, " -> %s\n", err_name((int)t->ret));
	else
		(void)fprintf(f, " -> %lld\n", (long long)t->ret);
}

/* FUZZ_DECODE: which frames changed hands in a call (page tables and all). */
static void print_frames(const struct pot_view *before)
{
	static const char *const state[] = {"free", "env", "revoking", "kernel"};
	bool any = false;
	for (uint64_t f = 0; f < NFRAMES; f++) {
		struct pot_view now = pot_get(f);
		if (now.state == before[f].state && now.owner == before[f].owner &&
		    now.gen == before[f].gen)
			continue;
		printf("%s frame %llu %s", any ? "," : "       frames:", (unsigned long long)f,
		       state[before[f].state]);
		if (before[f].state != POT_FREE)
			printf(" %u", before[f].owner);
		printf(" -> %s", state[now.state]);
		if (now.state != POT_FREE)
			printf(" %u", now.owner);
		any = true;
	}
	if (any)
		printf("\n");
}

/* A broken oracle: the program so far, why, and a crash for libFuzzer to keep. */
static noreturn_fn void fail(const char *fmt, ...)
{
	struct run *r = &the_run;
	(void)fprintf(stderr,
		      "\ncap_fuzz: the program (env0 = id %u, env1 = id %u, env2 = id %u):\n",
		      r->env[0], r->env[1], r->env[2]);
	for (unsigned i = 0; i < r->ntrace; i++)
		print_trace(stderr, &r->trace[i]);
	va_list ap;
	va_start(ap, fmt);
	(void)fprintf(stderr, "cap_fuzz: FAIL: ");
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive, llvm-project#40656 */
	(void)vfprintf(stderr, fmt, ap);
	(void)fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

/* ---- the kernel's side, for the model ---- */

static int k_inspect(void *ctx, uint32_t env, uint32_t slot, struct cap_info *out)
{
	return cap_inspect(env_lookup(env), slot, out);
}

static void k_slots_used(void *ctx, uint32_t env, uint8_t used[MODEL_SLOTS])
{
	for (uint32_t p = 0; p < MODEL_SLOTS / CAP_PAGE_SLOTS; p++) {
		const struct cap *page = cap_slot(env_lookup(env), p * CAP_PAGE_SLOTS);
		for (uint32_t i = 0; i < CAP_PAGE_SLOTS; i++) /* no page: all empty */
			used[p * CAP_PAGE_SLOTS + i] =
			    page && __atomic_load_n(&page[i].type, __ATOMIC_ACQUIRE) != OBJ_NONE;
	}
}

static bool k_env(void *ctx, uint32_t id, uint64_t *gen, unsigned *home)
{
	struct env *e = env_lookup(id);
	*gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE);
	*home = e->home;
	return env_alive(e);
}

static unsigned k_env_count(void *ctx)
{
	return env_count();
}

static enum model_frame k_frame(void *ctx, uint64_t f, uint32_t *owner, uint64_t *gen)
{
	struct pot_view v = pot_get(f);
	*gen = v.gen;
	*owner = v.owner == POT_NO_OWNER ? MODEL_NONE : v.owner;
	switch (v.state) {
	case POT_FREE:
		*owner = MODEL_NONE;
		return MF_FREE;
	case POT_OWNED:
		return MF_OWNED;
	case POT_KERNEL:
		return MF_KERNEL;
	default:
		return MF_REVOKING;
	}
}

static uint32_t k_tslot(void *ctx, unsigned core, unsigned index, uint64_t *gen)
{
	struct percpu *p = percpu_of(core);
	struct env *owner = __atomic_load_n(&p->slot_owner[index], __ATOMIC_ACQUIRE);
	*gen = __atomic_load_n(&p->slot_gen[index], __ATOMIC_ACQUIRE);
	return owner ? owner->id : MODEL_NONE;
}

/* An endpoint's word: generation << 2 | state (exo/pct.h). */
static unsigned ep_state(uint32_t id)
{
	return (unsigned)(__atomic_load_n(&ep_lookup(id)->sg, __ATOMIC_ACQUIRE) & 3);
}

static bool k_ep(void *ctx, uint32_t id, uint32_t *owner, uint64_t *gen)
{
	struct endpoint *ep = ep_lookup(id);
	*gen = ep_gen(id);
	*owner = ep->owner ? ep->owner->id : MODEL_NONE;
	return ep_state(id) == EP_LIVE;
}

static int k_query(void *ctx, uint32_t env, uint64_t va, uint64_t *frame, unsigned *prot)
{
	paddr_t pa;
	int err = arch_query(&env_lookup(env)->as, va_make(va), &pa, prot);
	*frame = pa_raw(pa) / PAGE_SIZE;
	return err;
}

static uint64_t k_mappings(void *ctx, uint32_t env)
{
	return env_lookup(env)->mappings;
}

static void k_read_user(void *ctx, uint32_t env, uint64_t va, void *buf, size_t n)
{
	uint8_t *out = buf;
	for (size_t i = 0; i < n; i++) {
		uint64_t frame;
		unsigned prot;
		uint64_t at = va + i;
		if (k_query(ctx, env, at & ~(PAGE_SIZE - 1), &frame, &prot) != E_OK)
			fail("read_user: 0x%llx of env %u is not mapped", (unsigned long long)at,
			     env);
		out[i] = *(uint8_t *)arch_phys_to_virt(pa_make(frame * PAGE_SIZE + at % PAGE_SIZE));
	}
}

static void k_env_extra(void *ctx, uint32_t id, struct model_env_extra *out)
{
	struct env *e = env_lookup(id);
	out->guarantee = __atomic_load_n(&e->guarantee, __ATOMIC_ACQUIRE);
	out->notify = __atomic_load_n(&e->notify_bits, __ATOMIC_ACQUIRE);
	out->nreposs = MIN(e->nreposs, (uint32_t)MODEL_REPOSS);
	memcpy(out->reposs, e->reposs, out->nreposs * sizeof(out->reposs[0]));
}

static uint64_t k_bpf_gen(void *ctx, uint64_t obj)
{
	return obj_ops(OBJ_BPF)->gen(obj);
}

static const struct model_kernel kview = {
	.inspect = k_inspect,
	.slots_used = k_slots_used,
	.env = k_env,
	.env_count = k_env_count,
	.frame = k_frame,
	.tslot = k_tslot,
	.ep = k_ep,
	.query = k_query,
	.mappings = k_mappings,
	.read_user = k_read_user,
	.env_extra = k_env_extra,
	.bpf_gen = k_bpf_gen,
};

/*
 * libFuzzer's 8-bit edge counters (the fuzz build's inline-8bit-counters;
 * absent, so NULL, in the coverage build). The set-up is the same for
 * every input: its edges (about 800 counters) tell inputs apart no more
 * than the empty program does, yet libFuzzer looks each one up as a
 * feature after every run (its frequency table for entropic scheduling:
 * the largest cost outside the harness). forget_setup_coverage() drops
 * them once the set-up is done, leaving about 700 per input instead of
 * 1,100; what the program and the teardown do is counted as before, the
 * set-up's code included when they run it again.
 */
extern uint8_t __start___sancov_cntrs[] __attribute__((weak));
extern uint8_t __stop___sancov_cntrs[] __attribute__((weak));

static void forget_setup_coverage(void)
{
	if (__start___sancov_cntrs && __stop___sancov_cntrs > __start___sancov_cntrs)
		memset(__start___sancov_cntrs, 0,
		       (size_t)(__stop___sancov_cntrs - __start___sancov_cntrs));
}

/* ---- running one call ---- */

struct xcall {
	struct env *e;
	uint64_t nr;
	const uint64_t *a;
	int64_t ret;
};

static void xcall_run(void *arg)
{
	struct xcall *x = arg;
	x->ret = syscall_invoke(x->e, x->nr, x->a);
}

/* The call on the caller's home core: the kernel runs an environment only there. */
static int64_t invoke(uint32_t id, uint64_t nr, const uint64_t a[6])
{
	struct xcall x = {.e = env_lookup(id), .nr = nr, .a = a};
	unsigned home = model_env_home(m, id);
	if (home == cpu_id()) {
		xcall_run(&x);
		return x.ret;
	}
	int err = smp_call_start(home, xcall_run, &x);
	if (err)
		fail("smp_call_start(%u): %s", home, err_name(err));
	if ((err = smp_call_wait(home, CALL_TIMEOUT)))
		fail("the call on core %u did not finish: %s (a hang)", home, err_name(err));
	return x.ret;
}

/* Remember a slot a call gave environment id, if it is one a program acts as. */
static void note_slot(struct run *r, uint32_t id, uint32_t slot)
{
	for (unsigned i = 0; i < r->nenv; i++)
		if (r->env[i] == id)
			r->recent[i][r->nrecent[i]++ % RECENT] = slot;
}

/*
 * The kernel's own invariants, and one it does not check: an environment
 * that is gone has given back every frame charged to it and every mapping
 * (destroy only prints a line when it has not).
 */
static void check_kernel(void)
{
	unsigned bad = model_only ? 0 : invariant_check();
	if (bad)
		fail("invariant_check() found %u problems (printed on stdout)", bad);
	for (uint32_t id = 0; id < MAX_ENVS; id++) {
		struct env *e = env_lookup(id);
		if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == ENV_FREE &&
		    (e->frames_owned || e->mappings))
			fail("env %u is gone but still has %llu frames charged and %llu mappings",
			     id, (unsigned long long)e->frames_owned,
			     (unsigned long long)e->mappings);
	}
}

/* Each core's count of TLB flushes (the host has no TLB: the simulator counts them). */
static void tlb_flushes(uint64_t out[NCORES])
{
	for (unsigned c = 0; c < NCORES; c++) {
		struct sim_core_state s;
		sim_core_state(c, &s);
		out[c] = s.tlb_flushes;
	}
}

/* Every core the model says lost a mapping has flushed its TLB since before. */
static void check_flushed(const uint64_t before[NCORES])
{
	uint64_t now[NCORES], need = model_flushes(m);
	tlb_flushes(now);
	for (unsigned c = 0; c < NCORES; c++)
		if ((need >> c & 1) && now[c] == before[c])
			fail("a binding of an environment homed on core %u went, but that core's "
			     "TLB "
			     "was not flushed",
			     c);
}

/*
 * Let the machine finish what the call started before judging it: core 0
 * (this driver) does what its idle loop would — the run loop's work
 * (environments to reap, revocation requests whose owner cannot answer)
 * and its channel messages — and core 1 goes back to idle with nothing
 * pending. Then the state is a function of the calls made so far alone.
 */
static void settle(void)
{
	unsigned quiet = 0;
	for (unsigned round = 0; quiet < 2; round++) {
		if (round == 100000)
			fail("the machine does not settle after the call (a livelock)");
		arch_cpu_relax(); /* a scheduling point: core 1 runs, our IPIs are taken */
		sched_run();
		arch_irq_disable();
		chan_poll();
		arch_irq_enable();
		struct sim_core_state c1;
		sim_core_state(1, &c1);
		quiet = c1.idle && !c1.pending ? quiet + 1 : 0;
	}
}

/* Run one call, with every oracle after it. */
static int64_t exec(struct run *r, int op, const struct prog_op *src, unsigned who,
                    const struct prog_call *call, uint64_t nr, const uint64_t a[6])
{
	if (r->ntrace == TRACE_MAX)
		fail("trace full (harness bug)");
	struct trace *t = &r->trace[r->ntrace++];
	*t = (struct trace){
	    .op = op, .who = who, .env = r->env[who], .call = call, .src = src, .nr = nr};
	memcpy(t->a, a, sizeof(t->a));
	if (!model_env_live(m, t->env)) {
		t->skipped = true;
		if (verbose)
			print_trace(stdout, t);
		return E_STALE;
	}
	model_observe(m); /* the page tables as they are now: they decide memory pressure */
	if (model_would_block(m, t->env, nr, a)) {
		t->skipped = t->blocks = true;
		if (verbose)
			print_trace(stdout, t);
		return E_AGAIN;
	}
	const bool show = verbose; /* one value for both: before[] is filled only when shown */
	struct pot_view before[NFRAMES];
	for (uint64_t f = 0; show && f < NFRAMES; f++)
		before[f] = pot_get(f);
	uint64_t flushes[NCORES];
	tlb_flushes(flushes);
	t->ret = invoke(t->env, nr, a);
	settle();
	if (show) {
		print_trace(stdout, t);
		print_frames(before);
	}
	static char why[512];
	if (!model_call(m, t->env, nr, a, t->ret, why, sizeof(why)))
		fail("return value: %s", why);
	check_flushed(flushes);
	/* "Frames are zeroed when allocated; no data passes between owners." */
	if (nr == SYS_FRAME_ALLOC && t->ret >= 0) {
		struct cap_info i;
		if (cap_inspect(env_lookup(t->env), (uint32_t)t->ret, &i) == E_OK &&
		    i.type == OBJ_FRAME) {
			static const uint8_t zero[PAGE_SIZE];
			const uint8_t *p = arch_phys_to_virt(pa_make(i.object * PAGE_SIZE));
			if (memcmp(p, zero, PAGE_SIZE) != 0) /* one call, not a loop under ASan */
				for (unsigned k = 0; k < PAGE_SIZE; k++)
					if (p[k])
						fail("frame %llu came with data: byte %u is 0x%02x",
						     (unsigned long long)i.object, k, p[k]);
		}
	}
	/* Calls that return a new slot: in the caller, or (grant) in the target. */
	static const uint64_t makers[] = {SYS_FRAME_ALLOC, SYS_CAP_MINT, SYS_ENV_CREATE,
	                                  SYS_SLOT_ALLOC, SYS_EP_CREATE};
	for (unsigned i = 0; i < ARRAY_SIZE(makers) && t->ret >= 0; i++)
		if (nr == makers[i])
			note_slot(r, t->env, (uint32_t)t->ret);
	if (nr == SYS_CAP_GRANT && t->ret >= 0) {
		struct cap_info i;
		if (cap_inspect(env_lookup(t->env), (uint32_t)a[1], &i) == E_OK)
			note_slot(r, (uint32_t)i.object, (uint32_t)t->ret);
	}
	if (nr == SYS_ENV_CREATE && t->ret >= 0 && r->nenv < MAX_LIST) {
		struct cap_info i;
		if (cap_inspect(env_lookup(t->env), (uint32_t)t->ret, &i) == E_OK)
			r->env[r->nenv++] = (uint32_t)i.object;
	}
	/* The set-up is the same every time: its state is compared once, after it; so is a FILL's. */
	if (op < 0 || r->filling)
		return t->ret;
	check_kernel();
	if (!model_check(m, false, why, sizeof(why)))
		fail("state: %s", why);
	return t->ret;
}

/* The k-th most recent remembered slot of list entry who that holds type (0: any). */
static bool recent_slot(struct run *r, unsigned who, unsigned type, uint64_t k, uint64_t *out)
{
	static uint32_t held[MODEL_SLOTS];
	unsigned n = r->nrecent[who] < RECENT ? r->nrecent[who] : RECENT;
	for (unsigned pass = 0; pass < 2; pass++, type = OBJ_NONE)
		for (unsigned i = 0, seen = 0; i < n; i++) {
			uint32_t s = r->recent[who][(r->nrecent[who] - 1 - i) % RECENT];
			unsigned nt =
			    model_slots(m, r->env[who], type, held); /* is s held, of type? */
			bool ok = false;
			for (unsigned j = 0; j < nt && !ok; j++)
				ok = held[j] == s;
			if (ok && seen++ == k % n) {
				*out = s;
				return true;
			}
		}
	return false;
}

/* An argument's value, from its kind (prog.h). */
static uint64_t resolve(struct run *r, unsigned who, const struct prog_arg *a)
{
	uint32_t env = r->env[who];
	switch (a->kind % ARG_KINDS) {
	case ARG_SLOT: {
		static uint32_t slots[MODEL_SLOTS];
		unsigned type, n;
		uint64_t k, s;
		int recent;
		prog_slot_wanted(a, &type, &k, &recent);
		if (recent && recent_slot(r, who, type, k, &s))
			return s;
		n = model_slots(m, env, type, slots);
		if (n == 0)
			n = model_slots(m, env, OBJ_NONE, slots);
		return n ? slots[k % n] : k % CAP_SLOTS;
	}
	case ARG_FRAME: {
		/* The val-th owned frame, counting round the table; frame val if none is owned. */
		uint64_t owned[NFRAMES], n = 0;
		for (uint64_t f = 0; f < NFRAMES; f++)
			if (pot_get(f).state == POT_OWNED)
				owned[n++] = f;
		return n ? owned[a->val % n] : a->val % NFRAMES;
	}
	default:
		return prog_arg_plain(a);
	}
}

/* The TOUCH pseudo-call: user code of env reads or writes the byte at va. */
static void touch(struct run *r, int i, const struct prog_op *op, unsigned who,
                  const struct prog_call *c, uint64_t va, bool write)
{
	struct trace *t = &r->trace[r->ntrace++];
	*t = (struct trace){.op = i,
	                    .who = who,
	                    .env = r->env[who],
	                    .call = c,
	                    .src = op,
	                    .nr = c->nr,
	                    .a = {va, write}};
	if (!model_env_live(m, t->env)) {
		t->skipped = true;
	} else {
		static char why[512];
		t->ret = sim_mmu_touch(&env_lookup(t->env)->as, va_make(va), write);
		if (!model_touch(m, t->env, va, write, (int)t->ret, why, sizeof(why)))
			fail("%s", why);
	}
	if (verbose)
		print_trace(stdout, t);
}

/* The SCHEDULE pseudo-call's chooser: splitmix64 from the program's seed. */
static unsigned choose(void *ctx, const struct sim_choice *c)
{
	return (unsigned)prog_rand(ctx);
}

static const struct prog_call *call_named(uint64_t nr);

/*
 * The FILL pseudo-call (prog.h): who makes one kind of object until the
 * kernel refuses — the table's limit — or FILL_MAX calls. Each call is
 * judged by the model (its return code, and the call performed in the
 * model), like the set-up's; the whole state is compared, and the kernel
 * checked, after the last, the refusal. The program then runs on full
 * tables.
 */
static void fill(struct run *r, int i, const struct prog_op *op, unsigned who,
		 const struct prog_call *c, const uint64_t arg[6])
{
	struct trace *t = &r->trace[r->ntrace++];
	*t = (struct trace){ .op = i,
			     .who = who,
			     .env = r->env[who],
			     .call = c,
			     .src = op,
			     .nr = c->nr,
			     .a = { arg[0], arg[1] } };
	if (verbose)
		print_trace(stdout, t);
	unsigned kind = (unsigned)(arg[0] % PROG_FILL_KINDS);
	uint64_t core = arg[1] % NCORES;
	r->filling = true;
	int64_t made[2] = { 0 }; /* PROG_FILL_DISK: the block range's slot and the frame's */
	for (unsigned n = 0; n < FILL_MAX && r->filled < FILL_BUDGET; n++, r->filled++) {
		uint64_t nr, a[6] = { 0 };
		/*
		 * The model follows MODEL_SLOTS slots of each table (the kernel's
		 * grows to CAP_SLOTS): a fill stops where the program's other
		 * calls, a slot each at most, cannot take the caller's table past
		 * them (a new capability takes the lowest free slot).
		 */
		static uint32_t held[MODEL_SLOTS];
		bool live = model_env_live(m, r->env[who]);
		unsigned nheld = live ? model_slots(m, r->env[who], OBJ_NONE, held) : 0;
		if (nheld >= MODEL_SLOTS - SETUP_OPS - PROG_MAX_OPS)
			goto done;
		switch (kind) {
		case PROG_FILL_CAPS: {
			/*
			 * A tree of fan-out 8 rather than 250 siblings: the checks
			 * walk a parent's child list for each child.
			 */
			if (!live || nheld == 0)
				goto done;
			nr = SYS_CAP_MINT;
			a[0] = held[(nheld - 1) / 8];
			a[1] = CAP_R_ALL;
			break;
		}
		case PROG_FILL_TSLOTS:
			nr = SYS_SLOT_ALLOC;
			a[0] = core;
			a[1] = SLOT_ANY;
			a[2] = ENV_SELF;
			break;
		case PROG_FILL_EPS:
			nr = SYS_EP_CREATE;
			a[0] = ENV_SELF;
			a[1] = PROG_OUT_VA;
			a[2] = PROG_OUT_VA;
			a[3] = PAGE_SIZE;
			break;
		case PROG_FILL_ENVS:
			nr = SYS_ENV_CREATE;
			a[0] = core;
			break;
		case PROG_FILL_DISK:
			if (n == 0) {
				nr = SYS_BLOCK_ALLOC;
				a[0] = BLOCK_ANY;
				a[1] = 1;
			} else if (n == 1) {
				nr = SYS_FRAME_ALLOC;
				a[0] = FRAME_ANY;
			} else {
				nr = SYS_BLOCK_IO;
				a[0] = (uint64_t)made[0];
				a[2] = (uint64_t)made[1];
				a[3] = BLOCK_READ;
			}
			break;
		default:
			nr = SYS_FRAME_ALLOC;
			a[0] = FRAME_ANY;
			break;
		}
		int64_t ret = exec(r, i, NULL, who, call_named(nr), nr, a);
		if (ret < 0)
			break;
		if (n < 2)
			made[n] = ret;
	}
done:
	r->filling = false;
	static char why[512];
	check_kernel();
	if (!model_check(m, false, why, sizeof(why)))
		fail("state after FILL: %s", why);
}

static void run_op(struct run *r, int i, const struct prog_op *op)
{
	unsigned who = op->env % r->nenv;
	const struct prog_call *c = prog_call_of(op);
	uint64_t a[6];
	for (unsigned k = 0; k < PROG_ARGS; k++)
		a[k] = resolve(r, who, &op->arg[k]);
	if (c->nr == PROG_NR_TOUCH) {
		touch(r, i, op, who, c, a[0], a[1] & 1);
		return;
	}
	if (c->nr == PROG_NR_FILL) {
		fill(r, i, op, who, c, a);
		return;
	}
	if (c->nr == PROG_NR_SCHEDULE) {
		static uint64_t state;
		state = a[0];
		sim_set_chooser(a[0] ? choose : NULL, &state);
		struct trace *t = &r->trace[r->ntrace++];
		*t = (struct trace){.op = i,
		                    .who = who,
		                    .env = r->env[who],
		                    .call = c,
		                    .src = op,
		                    .nr = c->nr,
		                    .a = {a[0]}};
		if (verbose)
			print_trace(stdout, t);
		return;
	}
	uint64_t nr = c->nr;
	if (nr == PROG_NR_BAD)
		nr = a[0] < SYS_COUNT ? SYS_COUNT : a[0];
	(void)exec(r, i, op, who, c, nr, a);
}

static const struct prog_call *call_named(uint64_t nr)
{
	for (unsigned i = 0; i < prog_ncalls; i++)
		if (prog_calls[i].nr == nr)
			return &prog_calls[i];
	return NULL;
}

/* A set-up call: checked like any other, and it must succeed. */
static int64_t setup(struct run *r, unsigned who, uint64_t nr, uint64_t a0, uint64_t a1,
                     uint64_t a2)
{
	const uint64_t a[6] = {a0, a1, a2};
	int64_t ret = exec(r, -1, NULL, who, call_named(nr), nr, a);
	if (ret < 0)
		fail("set-up call failed: %s", err_name((int)ret));
	return ret;
}

static uint64_t object_in(uint32_t env, int64_t slot)
{
	struct cap_info i;
	if (cap_inspect(env_lookup(env), (uint32_t)slot, &i) != E_OK)
		fail("set-up: slot %lld of env %u is empty", (long long)slot, env);
	return i.object;
}

/* Everything is back: frames, environments, time slots, endpoints. */
static void check_all_back(struct run *r)
{
	if (env_count() != 0)
		fail("%u environments left after destroying them all", env_count());
	if (frame_free_count() != NFRAMES - r->kernel_frames || pot_count(POT_OWNED) != 0 ||
	    pot_count(POT_KERNEL) != r->kernel_frames)
		fail("frames not all back: %llu free, %llu owned, %llu kernel",
		     (unsigned long long)frame_free_count(),
		     (unsigned long long)pot_count(POT_OWNED),
		     (unsigned long long)pot_count(POT_KERNEL));
	for (unsigned c = 0; c < NCORES; c++)
		if (slice_owned(c))
			fail("core %u still has %u time slots owned", c, slice_owned(c));
	for (uint32_t i = 0; i < MAX_ENDPOINTS; i++)
		if (ep_state(i) != EP_FREE)
			fail("endpoint %u is still in use", i);
}

/*
 * FUZZ_CORRUPT: the oracles skip what nothing uses (the model's slots past
 * the highest it filled, environments and endpoints no call touched), so
 * show they still see damage there. 1: a capability appears in env0's slot
 * 63 (the last of its first table page); 2: an environment id never used
 * gets a frame charged; 3: an endpoint never used becomes live; 4: a
 * capability appears in env2's slot 63. Each must fail the input, by the next check at the latest.
 */
static void corrupt(struct run *r)
{
	switch (corruption) {
	case 1: /* the last slot of its first table page, which the set-up grew */
		cap_slot(env_lookup(r->env[0]), CAP_PAGE_SLOTS - 1)->type = OBJ_ENDPOINT;
		break;
	case 2:
		env_lookup(MAX_ENVS - 1)->frames_owned = 1;
		break;
	case 3:
		ep_lookup(MAX_ENDPOINTS - 1)->sg |= EP_LIVE;
		break;
	case 4:
		cap_slot(env_lookup(r->env[2]), CAP_PAGE_SLOTS - 1)->type = OBJ_FRAME;
		break;
	}
}

static void driver(void *arg)
{
	struct run *r = arg;
	static char why[512];
	int err;
	arch_irq_enable(); /* TLB shootdowns wait for core 1's acknowledgement */
	percpu_report_in();
	while (percpu_online_count() < NCORES)
		arch_cpu_relax();
	if (env_count() != 0)
		fail("%u environments left by an earlier input", env_count());
	/* RAM, then a hole the firmware reports as reserved (as past RAM on a PC). */
	static const struct boot_mem mem[] = {
	    {.base = 0, .len = NFRAMES * PAGE_SIZE, .usable = true},
	    {.base = NFRAMES * PAGE_SIZE, .len = 16 * PAGE_SIZE, .usable = false}};
	pot_init(pot_table, NFRAMES, mem, ARRAY_SIZE(mem), 0, PROG_KFRAMES * PAGE_SIZE);
	/* The message rings between the cores, as at boot: two more frames of the kernel's. */
	if ((err = chan_init()))
		fail("chan_init: %s", err_name(err));
	r->kernel_frames = pot_count(POT_KERNEL);
	disk_init(); /* a blank in-memory disk of PROG_DISK_BLOCKS blocks */
	if (disk_blocks() != PROG_DISK_BLOCKS)
		fail("disk_init: %llu blocks", (unsigned long long)disk_blocks());
	model_init(m,
		   &(struct model_config){ .ncores = NCORES,
					   .nslots = slice_nslots,
					   .nframes = NFRAMES,
					   .kernel_frames = PROG_KFRAMES,
					   .nprogs = 0,
					   .disk_blocks = PROG_DISK_BLOCKS,
					   .disk_depth = arch_disk_depth() },
		   &kview);
	check_all_back(r);

	/* env0, made directly; it makes env1 (homed on core 1) and env2. */
	struct env *e0;
	err = env_create(0, &e0);
	if (err)
		fail("env_create: %s", err_name(err));
	model_env_adopt(m, e0->id, 0);
	r->env[0] = e0->id;
	r->nenv = 1;
	if (!model_check(m, true, why, sizeof(why)))
		fail("after env_create: %s", why);
	int64_t s1 = setup(r, 0, SYS_ENV_CREATE, 1, 0, 0);
	int64_t s2 = setup(r, 0, SYS_ENV_CREATE, 0, 0, 0);
	if (r->nenv != NENVS || object_in(r->env[0], s1) != r->env[1] ||
	    object_in(r->env[0], s2) != r->env[2])
		fail("set-up: environments not where expected");
	for (unsigned i = 0; i < NENVS; i++) {
		int64_t f = setup(r, i, SYS_FRAME_ALLOC, FRAME_ANY, 0, 0);
		setup(r, i, SYS_MAP, (uint64_t)f, PROG_OUT_VA, PROT_R | PROT_W);
		/* A program BPF_LOAD accepts at every hook, in the out page's second half. */
		static const struct bpf_insn yes[] = { { .code = BPF_ALU64 | BPF_MOV | BPF_K,
							 .imm = 1 },
						       { .code = BPF_JMP | BPF_EXIT } };
		uint8_t img[PROG_BPF_IMG_LEN] __attribute__((aligned(8)));
		if (bpf_image_wrap(yes, 2, img, sizeof(img)) != PROG_BPF_IMG_LEN ||
		    copy_to_user(env_lookup(r->env[i]), PROG_BPF_IMG_VA, img, sizeof(img)) != E_OK)
			fail("set-up: the canned BPF image");
	}
	/* env1 and env2 may grant to each other: each holds a copy of the other's env cap. */
	setup(r, 0, SYS_CAP_GRANT, (uint64_t)s2, (uint64_t)s1, GRANT_COPY);
	setup(r, 0, SYS_CAP_GRANT, (uint64_t)s1, (uint64_t)s2, GRANT_COPY);
	check_kernel();
	if (!model_check(m, true, why, sizeof(why)))
		fail("after the set-up: %s", why);
	forget_setup_coverage();

	corrupt(r);
	for (unsigned i = 0; i < r->p->n; i++)
		run_op(r, (int)i, &r->p->op[i]);

	/* Destroying env0 takes everything it made with it; the rest, one by one. */
	for (unsigned i = 0; i < r->nenv; i++) {
		uint32_t id = r->env[i];
		if (!model_env_live(m, id))
			continue;
		uint64_t flushes[NCORES];
		tlb_flushes(flushes);
		if ((err = env_destroy(env_lookup(id))))
			fail("env_destroy(%u): %s", id, err_name(err));
		settle();
		model_env_destroy(m, id);
		check_flushed(flushes);
		check_kernel();
		/* Every id and endpoint once, at the end: what lived in this run after each. */
		if (!model_check(m, false, why, sizeof(why)))
			fail("after destroying env %u: %s", id, why);
	}
	if (!model_check(m, true, why, sizeof(why)))
		fail("after destroying everything: %s", why);
	check_all_back(r);
	r->done = true;
}

/*
 * FNV-1a over what each call of the run (set-up included) returned: the
 * caller's id, the number, whether it ran, the result. Generations are
 * left out on purpose: they carry over between inputs (see above), and no
 * result may depend on their values, only on whether they match.
 */
static uint64_t results_digest(const struct run *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (unsigned i = 0; i < r->ntrace; i++) {
		const struct trace *t = &r->trace[i];
		const uint64_t w[] = {(uint64_t)t->op, t->env, t->nr,
		                      (uint64_t)t->skipped << 1 | t->blocks, (uint64_t)t->ret};
		for (unsigned k = 0; k < ARRAY_SIZE(w); k++)
			for (unsigned b = 0; b < 8; b++)
				h = (h ^ (uint8_t)(w[k] >> (8 * b))) * 0x100000001b3ULL;
	}
	return h;
}

static void ap_main(void *arg)
{
	percpu_report_in();
	percpu_idle_loop();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *d = getenv("FUZZ_DECODE"), *o = getenv("FUZZ_MODEL_ONLY"),
	           *res = getenv("FUZZ_RESULTS");
	verbose = d && *d && strcmp(d, "0") != 0;
	results = res && *res && strcmp(res, "0") != 0;
	model_only = o && *o && strcmp(o, "0") != 0;
	const char *c = getenv("FUZZ_CORRUPT");
	corruption = c ? (unsigned)strtoul(c, NULL, 10) : 0;
	/* Line by line, in order with the kernel's console (write(2) straight to stdout). */
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run *r = &the_run;
	memset(r, 0, sizeof(*r));
	prog_decode(data, size, &the_prog);
	r->p = &the_prog;
	sim_init(&(struct sim_config){ .ncores = NCORES,
				       .seed = 1,
				       .phys_bytes = NFRAMES * PAGE_SIZE,
				       .stack_bytes = 64 << 10,
				       .panic_aborts = true,
				       .disk_blocks = PROG_DISK_BLOCKS });
	/* No rings yet (an earlier input's were in its machine's memory): before core 1 polls. */
	core_hooks_register();
	chan_reset();
	sim_start(0, driver, r);
	sim_start_daemon(1, ap_main, NULL);
	int err = sim_run(MAX_STEPS);
	if (err)
		fail("the machine stopped: %s (%s)", err_name(err),
		     err == E_TIMEOUT ? "step limit: a hang" : "deadlock");
	if (!r->done)
		fail("the driver ended early");
	sim_fini();
	if (verbose)
		printf("ok: %u operations, every oracle held\n", the_prog.n);
	if (results)
		(void)fprintf(stderr, "cap_fuzz: results %016llx of %u calls\n",
			      (unsigned long long)results_digest(r), r->ntrace);
	return 0;
}

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
	return prog_mutate(data, size, max, seed, LLVMFuzzerMutate);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                                 uint8_t *out, size_t max, unsigned seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                                 uint8_t *out, size_t max, unsigned seed)
{
	return prog_crossover(a, na, b, nb, out, max, seed);
}
