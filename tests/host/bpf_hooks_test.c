/*
 * SYS_BPF_LOAD, the OBJ_BPF object and the three hooks (core/bpf_hooks.c)
 * on the hosted kernel: every bad input refused with its error and the
 * whole-machine snapshot unchanged (support.h's FAILS_CLEANLY), rejected
 * programs with their rule and instruction, and each hook run directly at
 * its call: the predicate's yes and no, a revocation answered in the kernel,
 * a message consumed and answered; the detach rules (delete, region freed,
 * environment destroyed). The verifier's own rules: bpf_test.c.
 */
#include <arch/sim.h>
#include <exo/abi.h>
#include <exo/bpf.h>
#include <exo/bpf_asm.h>
#include <exo/bpf_hooks.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/pot.h>
#include <exo/revoke.h>
#include <exo/syscall.h>
#include <exo/string.h>
#include <exo/test.h>
#include <libos/bpf.h>
#include <percpu.h>
#include "support.h"

#define KERNEL_VA 0xffffffff80000000ULL
#define IMG_VA VA(0x110) /* images are written here (IMG_PAGES pages, writable) */
#define NONE_REGION 1	 /* in a row: load without a region */
#define IMG_PAGES 9
#define VERDICT_VA VA(0x120) /* not in the snapshot: a refusal writes its verdict here */

/* Predicate: run iff the region's first word is not 0. */
static const struct bpf_insn p_region[] = { A_LDX(BPF_DW, 0, 2, 0), A_EXIT() };
static const struct bpf_insn p_yes[] = { A_MOV64_IMM(0, 1), A_EXIT() };
/* Revocation handler: give back the frame the region's first word names. */
static const struct bpf_insn p_give[] = { A_LDX(BPF_DW, 1, 2, 0), A_CALL(BPF_HELPER_REVOKE_GIVE),
					  A_MOV64_IMM(0, 0), A_EXIT() };
/* Message handler: word 0 holds a request: reply word0 + 1 in word 1, clear it, notify 1. */
static const struct bpf_insn p_ping[] = {
	A_MOV64_REG(6, 2),
	A_MOV64_IMM(0, 0),
	A_LDX(BPF_DW, 3, 6, 0),
	BPF_INSN(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 6, 0), /* no request: not ours */
	BPF_INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, 1),
	A_STX(BPF_DW, 6, 3, 8),
	BPF_INSN(BPF_ST | BPF_MEM | BPF_DW, 6, 0, 0, 0),
	A_MOV64_IMM(1, 1),
	A_CALL(BPF_HELPER_MSG_NOTIFY),
	A_MOV64_IMM(0, 1),
	A_EXIT(),
};

/*
 * The fixtures: e with a frame f (its own, mapped at OUT_VA), a second
 * frame g, four image pages at IMG_VA, a verdict page, a child ch on its
 * core, and o's frame granted to e (not e's own) in slot foreign.
 */
struct fx {
	struct env *envs[2];
	int64_t f, g, ch, foreign;
	uint8_t *img; /* IMG_VA, as the kernel sees it */
};

static bool fixtures(struct test_ctx *t, struct fx *x)
{
	if (!setup(t))
		return false;
	/* e on this core (home_of(ncpus - 1) == 0): the message hook runs on its home core. */
	struct env *e = mkenv(t, percpu_ncpus - 1), *o = mkenv(t, 0);
	if (!e || !o)
		return false;
	x->envs[0] = e;
	x->envs[1] = o;
	x->f = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	x->g = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	x->ch = SYS(e, SYS_ENV_CREATE, e->home);
	if (!EXPECT(t, x->f >= 0 && x->g >= 0 && x->ch >= 0) ||
	    !EXPECT_EQ(t, SYS(e, SYS_MAP, x->f, OUT_VA, PROT_R | PROT_W), 0) ||
	    !user_page(t, e, VERDICT_VA, PROT_R | PROT_W))
		return false;
	for (unsigned i = 0; i < IMG_PAGES; i++)
		if (!user_page(t, e, IMG_VA + i * PAGE_SIZE, PROT_R | PROT_W))
			return false;
	x->img = frame_mem(mapped(e, IMG_VA));
	/* o's frame, granted to e: a capability e holds to a frame it does not own. */
	int64_t of = SYS(o, SYS_FRAME_ALLOC, FRAME_ANY);
	uint32_t in_e;
	if (!EXPECT(t, of >= 0) || !EXPECT_EQ(t, cap_grant(o, (uint32_t)of, e, false, &in_e), E_OK))
		return false;
	x->foreign = in_e;
	return true;
}

/* Wrap prog at IMG_VA (it must fit one page: the images here are small). Its length. */
static uint64_t image(struct fx *x, const struct bpf_insn *prog, uint32_t n)
{
	uint8_t buf[PAGE_SIZE] __attribute__((aligned(8)));
	uint64_t len = bpf_image_wrap(prog, n, buf, sizeof(buf));
	memcpy(x->img, buf, len);
	return len;
}

static int64_t load(struct env *e, unsigned hook, uint64_t len, uint64_t region, uint64_t target)
{
	return SYS(e, SYS_BPF_LOAD, hook, IMG_VA, len, region, VERDICT_VA, target);
}

static struct bpf_load_verdict verdict(struct env *e)
{
	struct bpf_load_verdict v;
	memcpy(&v, frame_mem(mapped(e, VERDICT_VA)), sizeof(v));
	return v;
}

TEST(bpf_hooks, load_bad_inputs_change_nothing)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	uint64_t len = image(&x, p_region, ARRAY_SIZE(p_region));
	const uint64_t W = BPF_HOOK_WAKEUP, NR = BPF_NO_REGION;
#define LOAD(...) SYS(e, SYS_BPF_LOAD, __VA_ARGS__)
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, x.f, KERNEL_VA, 0), E_FAULT);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, x.f, RO_VA, 0), E_FAULT);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, 0, x.f, 0, 0), E_RANGE);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, BPF_IMAGE_MAX + 1, x.f, 0, 0), E_RANGE);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, ~0ULL, x.f, 0, 0), E_RANGE);
	FAILS_CLEANLY(t, x.envs, LOAD(0, IMG_VA, len, x.f, 0, 0), E_INVAL);
	FAILS_CLEANLY(t, x.envs, LOAD(BPF_HOOK_COUNT, IMG_VA, len, x.f, 0, 0), E_INVAL);
	FAILS_CLEANLY(t, x.envs, LOAD(~0ULL, IMG_VA, len, x.f, 0, 0), E_INVAL);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, CAP_SLOTS, 0, 0), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, NR - 1, 0, 0), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, x.ch, 0, 0), E_TYPE);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, x.foreign, 0, 0), E_PERM);
	int64_t ro = SYS(e, SYS_CAP_MINT, x.f, CAP_R_READ, 0),
		none = SYS(e, SYS_CAP_MINT, x.f, 0, 0);
	EXPECT(t, ro >= 0 && none >= 0);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, none, 0, 0), E_PERM);
	FAILS_CLEANLY(t, x.envs, LOAD(BPF_HOOK_MESSAGE, IMG_VA, len, ro, 0, x.ch), E_PERM);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, x.f, 0, x.ch), E_INVAL); /* a target */
	FAILS_CLEANLY(t, x.envs, LOAD(BPF_HOOK_MESSAGE, IMG_VA, len, x.f, 0, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, x.envs, LOAD(BPF_HOOK_MESSAGE, IMG_VA, len, x.f, 0, x.g), E_TYPE);
	FAILS_CLEANLY(t, x.envs, LOAD(W, HOLE_VA, len, x.f, 0, 0), E_FAULT);
	FAILS_CLEANLY(t, x.envs, LOAD(W, KERNEL_VA, len, x.f, 0, 0), E_FAULT);
	FAILS_CLEANLY(t, x.envs,
		      LOAD(W, IMG_VA + (IMG_PAGES - 1) * PAGE_SIZE, 2 * PAGE_SIZE, x.f, 0, 0),
		      E_FAULT); /* runs past the mapped pages */
	/* A malformed image: its header broken. */
	x.img[1] = 'X';
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, x.f, 0, 0), E_INVAL);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, 16, x.f, 0, 0), E_INVAL); /* truncated */
	/* One program per hook. */
	len = image(&x, p_region, ARRAY_SIZE(p_region));
	int64_t p = LOAD(W, IMG_VA, len, x.f, 0, 0);
	EXPECT(t, p >= 0);
	FAILS_CLEANLY(t, x.envs, LOAD(W, IMG_VA, len, x.g, 0, 0), E_BUSY);
	EXPECT_EQ(t, SYS(e, SYS_CAP_DELETE, p), 0);
	EXPECT_EQ(t, SYS(e, SYS_CAP_DELETE, ro), 0);
	EXPECT_EQ(t, SYS(e, SYS_CAP_DELETE, none), 0);
#undef LOAD
	teardown(t, x.envs, 2);
}

/* Each refusal comes with the rule and the instruction, and changes nothing else. */
TEST(bpf_hooks, refused_programs_name_rule_and_instruction)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	static const struct bpf_insn back[] = { A_MOV64_IMM(0, 0),
						BPF_INSN(BPF_JMP | BPF_JA, 0, 0, -2, 0), A_EXIT() };
	static const struct bpf_insn uninit[] = { A_MOV64_REG(0, 5), A_EXIT() };
	static const struct bpf_insn oob[] = { A_LDX(BPF_DW, 0, 2, PAGE_SIZE - 4), A_EXIT() };
	static const struct bpf_insn ctx_wr[] = { A_MOV64_IMM(3, 1), A_STX(BPF_DW, 1, 3, 0),
						  A_MOV64_IMM(0, 0), A_EXIT() };
	static const struct bpf_insn helper[] = { A_MOV64_IMM(1, 0), A_CALL(7), A_MOV64_IMM(0, 0),
						  A_EXIT() };
	static const struct bpf_insn div0[] = { A_MOV64_IMM(0, 5),
						BPF_INSN(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 0, 0),
						A_EXIT() };
	static const struct bpf_insn leak[] = { A_MOV64_REG(0, 1), A_EXIT() };
	static const struct bpf_insn bad_op[] = { A_MOV64_IMM(0, 0), BPF_INSN(0xff, 0, 0, 0, 0),
						  A_EXIT() };
	static const struct bpf_insn rdonly[] = { A_MOV64_IMM(3, 1), A_STX(BPF_DW, 2, 3, 0),
						  A_MOV64_IMM(0, 0), A_EXIT() };
	const struct {
		const struct bpf_insn *p;
		uint32_t n;
		unsigned hook;
		uint64_t region;
		enum bpf_rule rule;
		uint32_t insn;
	} rows[] = {
		{ back, ARRAY_SIZE(back), BPF_HOOK_WAKEUP, 0, BPF_R_JUMP_BACK, 1 },
		{ uninit, ARRAY_SIZE(uninit), BPF_HOOK_WAKEUP, 0, BPF_R_UNINIT, 0 },
		{ oob, ARRAY_SIZE(oob), BPF_HOOK_WAKEUP, 0, BPF_R_MEM_BOUNDS, 0 },
		{ oob, ARRAY_SIZE(oob), BPF_HOOK_WAKEUP, NONE_REGION, BPF_R_MEM_TYPE, 0 },
		{ ctx_wr, ARRAY_SIZE(ctx_wr), BPF_HOOK_WAKEUP, 0, BPF_R_MEM_RDONLY, 1 },
		{ rdonly, ARRAY_SIZE(rdonly), BPF_HOOK_WAKEUP, 0, BPF_R_MEM_RDONLY, 1 },
		{ helper, ARRAY_SIZE(helper), BPF_HOOK_REVOKE, 0, BPF_R_HELPER, 1 },
		/* A hook the program does not fit: the revoke helper at the wakeup hook. */
		{ p_give, ARRAY_SIZE(p_give), BPF_HOOK_WAKEUP, 0, BPF_R_HELPER, 1 },
		{ div0, ARRAY_SIZE(div0), BPF_HOOK_WAKEUP, 0, BPF_R_DIV_ZERO, 1 },
		{ leak, ARRAY_SIZE(leak), BPF_HOOK_WAKEUP, 0, BPF_R_PTR_LEAK, 1 },
		{ bad_op, ARRAY_SIZE(bad_op), BPF_HOOK_WAKEUP, 0, BPF_R_OPCODE, 1 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(rows); i++) {
		uint64_t len = image(&x, rows[i].p, rows[i].n);
		uint64_t region = rows[i].region == NONE_REGION ? BPF_NO_REGION : (uint64_t)x.f;
		FAILS_CLEANLY(t, x.envs, load(e, rows[i].hook, len, region, 0), E_INVAL);
		struct bpf_load_verdict v = verdict(e);
		if (!EXPECT_EQ(t, v.rule, rows[i].rule) || !EXPECT_EQ(t, v.insn, rows[i].insn))
			kprintf("  row %u: got %s at %u\n", i, bpf_rule_name(v.rule), v.insn);
	}
	/* Too many instructions. */
	static struct bpf_insn big[BPF_MAX_INSNS + 1];
	for (unsigned i = 0; i < ARRAY_SIZE(big); i++)
		big[i] = A_MOV64_IMM(0, 1);
	big[BPF_MAX_INSNS] = A_EXIT();
	static uint8_t buf[BPF_IMAGE_BYTES(BPF_MAX_INSNS + 1)] __attribute__((aligned(8)));
	uint64_t len = bpf_image_wrap(big, ARRAY_SIZE(big), buf, sizeof(buf));
	EXPECT(t, len > 0 && len <= BPF_IMAGE_MAX && len <= IMG_PAGES * PAGE_SIZE);
	for (uint64_t off = 0; off < len; off += PAGE_SIZE)
		memcpy(frame_mem(mapped(e, IMG_VA + off)), buf + off, MIN(PAGE_SIZE, len - off));
	FAILS_CLEANLY(t, x.envs, load(e, BPF_HOOK_WAKEUP, len, BPF_NO_REGION, 0), E_INVAL);
	EXPECT(t, verdict(e).rule == BPF_R_SIZE ||
		      verdict(e).rule == BPF_R_ELF); /* the ELF reader refuses it first */
	teardown(t, x.envs, 2);
}

/* The region's first word, as the kernel sees it. */
static uint64_t *region_of(struct env *e, int64_t slot)
{
	return (uint64_t *)frame_mem(obj_of(e, slot));
}

TEST(bpf_hooks, wakeup_predicate_says_yes_and_no_and_detaches)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	EXPECT(t, bpf_hook_wakeup(e, 0)); /* none: run */
	int64_t p = load(e, BPF_HOOK_WAKEUP, image(&x, p_region, ARRAY_SIZE(p_region)), x.g, 0);
	EXPECT(t, p >= 0);
	EXPECT_EQ(t, verdict(e).rule, BPF_OK);
	EXPECT_EQ(t, info(e, (uint32_t)p).type, OBJ_BPF);
	uint64_t *w = region_of(e, x.g);
	w[0] = 0;
	(void)bpf_hook_wakeup_recheck();
	EXPECT(t, !bpf_hook_wakeup(e, 0));
	EXPECT(t, bpf_hook_wakeup_recheck());
	w[0] = 7;
	EXPECT(t, bpf_hook_wakeup(e, 0));
	EXPECT(t, !bpf_hook_wakeup_recheck());
	/* Deleting the capability detaches. */
	w[0] = 0;
	EXPECT_EQ(t, SYS(e, SYS_CAP_DELETE, p), 0);
	EXPECT(t, bpf_hook_wakeup(e, 0));
	/* Freeing the region detaches, and the hook is free for another program. */
	p = load(e, BPF_HOOK_WAKEUP, image(&x, p_region, ARRAY_SIZE(p_region)), x.g, 0);
	EXPECT(t, p >= 0);
	EXPECT(t, !bpf_hook_wakeup(e, 0));
	EXPECT_EQ(t, SYS(e, SYS_FRAME_FREE, x.g), 0);
	EXPECT(t, bpf_hook_wakeup(e, 0));
	int64_t q = load(e, BPF_HOOK_WAKEUP, image(&x, p_yes, ARRAY_SIZE(p_yes)), BPF_NO_REGION, 0);
	EXPECT(t, q >= 0);
	EXPECT(t, bpf_hook_wakeup(e, 0));
	INV(t);
	/* Destroying the environment detaches (and frees) them all: teardown checks. */
	teardown(t, x.envs, 2);
	struct bpf_hook_stats st;
	bpf_hook_stats(&st);
	EXPECT(t, st.runs[BPF_HOOK_WAKEUP] >= 4);
}

/* A straight run longer than the budget counts as "no". */
TEST(bpf_hooks, wakeup_past_its_budget_is_no)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	static struct bpf_insn longp[BPF_BUDGET_WAKEUP + 2];
	for (unsigned i = 0; i < ARRAY_SIZE(longp) - 1; i++)
		longp[i] = A_MOV64_IMM(0, 1);
	longp[ARRAY_SIZE(longp) - 1] = A_EXIT();
	static uint8_t buf[BPF_IMAGE_BYTES(BPF_BUDGET_WAKEUP + 2)] __attribute__((aligned(8)));
	uint64_t len = bpf_image_wrap(longp, ARRAY_SIZE(longp), buf, sizeof(buf));
	for (uint64_t off = 0; off < len; off += PAGE_SIZE)
		memcpy(frame_mem(mapped(e, IMG_VA + off)), buf + off, MIN(PAGE_SIZE, len - off));
	int64_t p = load(e, BPF_HOOK_WAKEUP, len, BPF_NO_REGION, 0);
	EXPECT(t, p >= 0);
	struct bpf_hook_stats a, b;
	bpf_hook_stats(&a);
	EXPECT(t, !bpf_hook_wakeup(e, 0));
	bpf_hook_stats(&b);
	EXPECT_EQ(t, b.overruns[BPF_HOOK_WAKEUP], a.overruns[BPF_HOOK_WAKEUP] + 1);
	teardown(t, x.envs, 2);
}

TEST(bpf_hooks, revoke_handler_answers_a_request_in_the_kernel)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0];
	int64_t v = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY); /* the victim */
	EXPECT(t, v >= 0);
	uint64_t victim = obj_of(e, v);
	int64_t p = load(e, BPF_HOOK_REVOKE, image(&x, p_give, ARRAY_SIZE(p_give)), x.g, 0);
	EXPECT(t, p >= 0);
	uint64_t *w = region_of(e, x.g);
	/* It names the region itself, then a frame of the kernel's: refused, nothing given. */
	w[0] = obj_of(e, x.g);
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 1), E_OK);
	EXPECT(t, !bpf_hook_revoke(e));
	EXPECT_EQ(t, pot_get(obj_of(e, x.g)).owner, e->id);
	EXPECT(t, !bpf_hook_revoke(e)); /* once per request */
	e->revoke_state = REV_NONE;
	w[0] = 1; /* the kernel's */
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 1), E_OK);
	EXPECT(t, !bpf_hook_revoke(e));
	e->revoke_state = REV_NONE;
	/* Now the victim: given back, the request answered, no upcall. */
	w[0] = victim;
	uint64_t owned = e->frames_owned;
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 1), E_OK);
	EXPECT(t, bpf_hook_revoke(e));
	EXPECT_EQ(t, e->revoke_state, REV_NONE);
	EXPECT_EQ(t, pot_get(victim).state, POT_FREE);
	EXPECT_EQ(t, e->frames_owned, owned - 1);
	EXPECT(t, empty(e, (uint32_t)v));
	/* Within the guarantee nothing is given. */
	int64_t v2 = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	EXPECT(t, v2 >= 0);
	w[0] = obj_of(e, v2);
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 1), E_OK);
	e->guarantee = 1000;
	EXPECT(t, !bpf_hook_revoke(e));
	EXPECT_EQ(t, pot_get(w[0]).owner, e->id);
	e->guarantee = 0;
	e->revoke_state = REV_NONE;
	INV(t);
	teardown(t, x.envs, 2);
}

TEST(bpf_hooks, message_handler_consumes_and_replies)
{
	struct fx x;
	if (!fixtures(t, &x))
		return;
	struct env *e = x.envs[0], *ch = env_lookup((uint32_t)obj_of(e, x.ch));
	int64_t p = load(e, BPF_HOOK_MESSAGE, image(&x, p_ping, ARRAY_SIZE(p_ping)), x.g, x.ch);
	EXPECT(t, p >= 0);
	uint64_t *w = region_of(e, x.g);
	/* Not runnable: the handler does not run, the bits are delivered. */
	w[0] = 41;
	env_notify_local(e->id, e->gen, 2);
	EXPECT_EQ(t, e->notify_bits, 2);
	EXPECT_EQ(t, w[0], 41);
	e->notify_bits = 0;
	__atomic_store_n(&e->state, ENV_RUNNABLE, __ATOMIC_RELEASE);
	env_notify_local(e->id, e->gen, 2);
	EXPECT_EQ(t, e->notify_bits, 0); /* consumed */
	EXPECT_EQ(t, w[0], 0);
	EXPECT_EQ(t, w[1], 42);
	EXPECT_EQ(t, ch->notify_bits, 1); /* the reply's doorbell */
	/* No request: not consumed. */
	env_notify_local(e->id, e->gen, 4);
	EXPECT_EQ(t, e->notify_bits, 4);
	__atomic_store_n(&e->state, ENV_CREATED, __ATOMIC_RELEASE);
	e->notify_bits = 0;
	ch->notify_bits = 0;
	teardown(t, x.envs, 2);
}
