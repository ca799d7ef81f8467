/*
 * The eBPF verifier and interpreter (core/bpf.c) and the ELF reader
 * (core/bpf_elf.c) on the host: programs the verifier accepts run with the
 * expected results; one refused program (at least) for every rule of
 * enum bpf_rule, with the instruction it names; the budget; division by a
 * register that is zero; a real `clang -target bpf` object (built by
 * configure.py from tests/host/bpf/) and malformed images.
 */
#include <exo/bpf.h>
#include <exo/bpf_asm.h>
#include <exo/errors.h>
#include <exo/stats.h>
#include <exo/test.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTX_SIZE 64
#define REGION_SIZE 256

struct bpf_run_env {
	unsigned calls;
};

static uint64_t h_add(struct bpf_run_env *env, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
		      uint64_t e)
{
	env->calls++;
	return a + b;
}

static uint64_t h_sum(struct bpf_run_env *env, uint64_t p, uint64_t n, uint64_t c, uint64_t d,
		      uint64_t e)
{
	uint64_t s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += ((const uint8_t *)(uintptr_t)p)[i];
	env->calls++;
	return s;
}

static uint64_t h_fill(struct bpf_run_env *env, uint64_t p, uint64_t n, uint64_t c, uint64_t d,
		       uint64_t e)
{
	memset((void *)(uintptr_t)p, 0xab, n);
	env->calls++;
	return n;
}

static uint64_t h_ctx(struct bpf_run_env *env, uint64_t ctx, uint64_t b, uint64_t c, uint64_t d,
		      uint64_t e)
{
	env->calls++;
	return ((const uint8_t *)(uintptr_t)ctx)[0];
}

#define HELPERS                                                                                    \
	.helpers = {                                                                               \
		[1] = { "add", { BPF_ARG_SCALAR, BPF_ARG_SCALAR }, h_add },                        \
		[2] = { "sum", { BPF_ARG_MEM_RD, BPF_ARG_SIZE }, h_sum },                          \
		[3] = { "fill", { BPF_ARG_MEM_WR, BPF_ARG_SIZE }, h_fill },                        \
		[4] = { "ctx", { BPF_ARG_CTX }, h_ctx },                                           \
	}

/* ctx: 64 bytes, [32, 48) writable; a writable region of 256 bytes. */
static const struct bpf_hook_desc hook_rw = {
	.name = "test-rw",
	.ctx_size = CTX_SIZE,
	.ctx_wr_off = 32,
	.ctx_wr_end = 48,
	.region = true,
	.region_size = REGION_SIZE,
	.region_writable = true,
	.budget = 1000,
	HELPERS,
};

/* The same with a read-only region. */
static const struct bpf_hook_desc hook_ro = {
	.name = "test-ro",
	.ctx_size = CTX_SIZE,
	.ctx_wr_off = 32,
	.ctx_wr_end = 48,
	.region = true,
	.region_size = REGION_SIZE,
	.budget = 1000,
	HELPERS,
};

/* No region, read-only context, no helpers, a small budget. */
static const struct bpf_hook_desc hook_bare = {
	.name = "test-bare",
	.ctx_size = 16,
	.budget = 10,
};

static uint8_t ctx[CTX_SIZE], region[REGION_SIZE];

static void reset_mem(void)
{
	for (int i = 0; i < CTX_SIZE; i++)
		ctx[i] = (uint8_t)(i + 40);
	for (int i = 0; i < REGION_SIZE; i++)
		region[i] = (uint8_t)i;
}

#define N(p) ((uint32_t)ARRAY_SIZE(p))

/* Verifies and runs; the result, or ~0 after recording a failure. */
static uint64_t run(struct test_ctx *t, const struct bpf_insn *p, uint32_t n,
		    const struct bpf_hook_desc *h, int line)
{
	struct bpf_verdict v;
	struct bpf_run_env env = { 0 };
	uint64_t r = ~0ULL;
	int err = bpf_verify(p, n, h, &v);
	if (err) {
		test_fail(t, __FILE__, line, "refused: insn %u rule %s", v.insn,
			  bpf_rule_name(v.rule));
		return r;
	}
	err = bpf_run(p, n, h, ctx, region, &env, &r);
	if (err)
		test_fail(t, __FILE__, line, "run: %s", err_name(err));
	return r;
}
#define RUN(p, h) run(t, p, N(p), h, __LINE__)

TEST(bpf, accepts_and_runs)
{
	reset_mem();
	/* ctx[0] + 1 */
	const struct bpf_insn p1[] = {
		A_LDX(BPF_B, 0, 1, 0),
		A_ALU64_IMM(BPF_ADD, 0, 1),
		A_EXIT(),
	};
	EXPECT_EQ(t, RUN(p1, &hook_rw), 41);

	/* A bounded index into the region: if (i > 31) return 0; return region64[i]. */
	const struct bpf_insn p2[] = {
		A_LDX(BPF_B, 3, 1, 5),	      /* r3 = ctx[5] = 45 */
		A_ALU64_IMM(BPF_AND, 3, 7),   /* r3 = 5 */
		A_JMP_IMM(BPF_JGT, 3, 31, 4), /* if r3 > 31 goto out */
		A_ALU64_IMM(BPF_LSH, 3, 3),   /* r3 *= 8 */
		A_ALU64_REG(BPF_ADD, 2, 3),   /* r2 = region + r3 */
		A_LDX(BPF_B, 0, 2, 0),	      /* r0 = region[40] */
		A_EXIT(),
		A_MOV64_IMM(0, 0), /* out */
		A_EXIT(),
	};
	EXPECT_EQ(t, RUN(p2, &hook_rw), 40);

	/* The stack, and a pointer spilled and restored. */
	const struct bpf_insn p3[] = {
		A_ST(BPF_DW, 10, -8, 7),  A_STX(BPF_DW, 10, 1, -16),  A_LDX(BPF_DW, 4, 10, -16),
		A_LDX(BPF_B, 0, 4, 2), /* ctx[2] = 42 */
		A_LDX(BPF_DW, 5, 10, -8), A_ALU64_REG(BPF_ADD, 0, 5), A_EXIT(),
	};
	EXPECT_EQ(t, RUN(p3, &hook_rw), 49);

	/* Helpers: add(3, 4) + sum(stack[-4..0)) + fill(region, 8) + ctx(ctx). */
	const struct bpf_insn p5[] = {
		A_MOV64_REG(9, 1),
		A_MOV64_REG(8, 2),
		A_MOV64_IMM(1, 3),
		A_MOV64_IMM(2, 4),
		A_CALL(1),
		A_MOV64_REG(6, 0), /* r6 = 7 */
		A_ST(BPF_W, 10, -4, 0x01010101),
		A_MOV64_REG(1, 10),
		A_ALU64_IMM(BPF_ADD, 1, -4),
		A_MOV64_IMM(2, 4),
		A_CALL(2),
		A_ALU64_REG(BPF_ADD, 6, 0), /* + 4 */
		A_MOV64_REG(1, 8),
		A_MOV64_IMM(2, 8),
		A_CALL(3),
		A_ALU64_REG(BPF_ADD, 6, 0), /* + 8 */
		A_MOV64_REG(1, 9),
		A_CALL(4),
		A_ALU64_REG(BPF_ADD, 6, 0), /* + ctx[0] = 40 */
		A_ST(BPF_W, 9, 32, 5),	    /* the writable window */
		A_LDX(BPF_W, 0, 9, 32),
		A_ALU64_REG(BPF_ADD, 0, 6), /* + 5 */
		A_EXIT(),
	};
	EXPECT_EQ(t, RUN(p5, &hook_rw), 7 + 4 + 8 + 40 + 5);
	EXPECT_EQ(t, region[0], 0xab);
	EXPECT_EQ(t, region[7], 0xab);
	EXPECT_EQ(t, region[8], 8);
	EXPECT_EQ(t, ctx[32], 5);

	/* Joined paths: r0 = ctx[0] & 1 ? 10 : 20, then + 1. */
	const struct bpf_insn p6[] = {
		A_LDX(BPF_B, 3, 1, 1), /* 41 */
		A_JMP_IMM(BPF_JSET, 3, 1, 2), A_MOV64_IMM(0, 20),	  A_JA(1),
		A_MOV64_IMM(0, 10),	      A_ALU64_IMM(BPF_ADD, 0, 1), A_EXIT(),
	};
	EXPECT_EQ(t, RUN(p6, &hook_rw), 11);

	/* A signed 32-bit bound check on a small value, as clang emits for an int. */
	const struct bpf_insn p7[] = {
		A_LDX(BPF_W, 3, 1, 8),	       /* ctx[8..12): 48 | 49<<8 | ... */
		A_ALU32_IMM(BPF_AND, 3, 0xff), /* 48 */
		A_JMP32_IMM(BPF_JSGT, 3, 255, 3),
		A_ALU64_REG(BPF_ADD, 2, 3),
		A_LDX(BPF_B, 0, 2, 0),
		A_EXIT(),
		A_MOV64_IMM(0, 0),
		A_EXIT(),
	};
	EXPECT_EQ(t, RUN(p7, &hook_rw), 48);
}

TEST(bpf, alu)
{
	reset_mem();
	struct {
		struct bpf_insn op[2]; /* applied to r0; a second slot for lddw */
		uint64_t start, want;
	} cases[] = {
		{ { A_ALU64_IMM(BPF_ARSH, 0, 2) }, (uint64_t)-16, (uint64_t)-4 },
		{ { A_ALU32_IMM(BPF_ARSH, 0, 2) }, 0xfffffff0, 0xfffffffc },
		{ { A_ALU64_IMM(BPF_RSH, 0, 60) }, ~0ULL, 15 },
		{ { A_ALU32_IMM(BPF_ADD, 0, 1) }, 0xffffffff, 0 },
		{ { A_ALU64_IMM(BPF_ADD, 0, -1) }, 0, ~0ULL },
		{ { A_ALU32_IMM(BPF_MOV, 0, -1) }, 5, 0xffffffff },
		{ { A_ALU64_IMM(BPF_MUL, 0, 3) }, 7, 21 },
		{ { A_ALU64_IMM(BPF_DIV, 0, 3) }, 22, 7 },
		{ { A_ALU64_IMM(BPF_MOD, 0, 5) }, 22, 2 },
		{ { A_ALU64_IMM(BPF_XOR, 0, 0xff) }, 0x0f, 0xf0 },
		{ { A_ALU64_IMM(BPF_OR, 0, 0x100) }, 1, 0x101 },
		{ { A_ALU64_IMM(BPF_LSH, 0, 63) }, 1, 1ULL << 63 },
		{ { A_NEG64(0) }, 1, ~0ULL },
		{ { A_TO_BE(0, 16) }, 0x1234, 0x3412 },
		{ { A_TO_BE(0, 64) }, 0x0102030405060708, 0x0807060504030201 },
		{ { A_TO_LE(0, 32) }, 0x1122334455667788, 0x55667788 },
		{ { A_LDDW(0, 0x123456789abcdef0) }, 0, 0x123456789abcdef0 },
	};
	for (unsigned c = 0; c < ARRAY_SIZE(cases); c++) {
		struct bpf_insn p[5] = { A_LDDW(0, cases[c].start), cases[c].op[0] };
		uint32_t n = 3;
		if (cases[c].op[0].code == (BPF_LD | BPF_IMM | BPF_DW))
			p[n++] = cases[c].op[1];
		p[n++] = A_EXIT();
		uint64_t r = run(t, p, n, &hook_rw, __LINE__);
		if (r != cases[c].want)
			test_fail(t, __FILE__, __LINE__, "case %u: %#llx, want %#llx", c,
				  (unsigned long long)r, (unsigned long long)cases[c].want);
	}
}

TEST(bpf, division_by_a_zero_register)
{
	reset_mem();
	ctx[3] = 0;
	for (int mod = 0; mod < 2; mod++) {
		for (int is64 = 0; is64 < 2; is64++) {
			uint8_t op = mod ? BPF_MOD : BPF_DIV;
			struct bpf_insn p[] = {
				A_MOV64_IMM(0, 100),
				A_LDX(BPF_B, 3, 1, 3),
				BPF_INSN((is64 ? BPF_ALU64 : BPF_ALU) | op | BPF_X, 0, 3, 0, 0),
				A_EXIT(),
			};
			EXPECT_EQ(t, RUN(p, &hook_rw), mod ? 100 : 0);
		}
	}
}

TEST(bpf, budget)
{
	struct bpf_insn p[21];
	for (int i = 0; i < 20; i++)
		p[i] = A_MOV64_IMM(0, i);
	p[20] = A_EXIT();
	struct bpf_verdict v;
	struct bpf_run_env env;
	uint64_t r = 0, steps = 0;
	ASSERT_EQ(t, bpf_verify(p, 21, &hook_bare, &v), E_OK);
	EXPECT_EQ(t, bpf_run_steps(p, 21, &hook_bare, ctx, NULL, &env, &r, &steps), E_TIMEOUT);
	EXPECT_EQ(t, steps, hook_bare.budget);
	/* Exactly the budget is enough. */
	EXPECT_EQ(t, bpf_run_steps(p + 11, 10, &hook_bare, ctx, NULL, &env, &r, &steps), E_OK);
	EXPECT_EQ(t, steps, 10);
	EXPECT_EQ(t, r, 19);
}

struct refusal {
	const char *what;
	const struct bpf_insn *prog;
	uint32_t n;
	const struct bpf_hook_desc *hook;
	enum bpf_rule rule;
	uint32_t insn;
};

#define R(w, h, rl, at, ...)                                                                       \
	{                                                                                          \
		.what = (w), .prog = (const struct bpf_insn[]){ __VA_ARGS__ },                     \
		.n = sizeof((const struct bpf_insn[]){ __VA_ARGS__ }) / sizeof(struct bpf_insn),   \
		.hook = (h), .rule = (rl), .insn = (at)                                            \
	}

static const struct bpf_hook_desc hook_bad = {
	.name = "bad",
	.ctx_size = 8,
	.ctx_wr_off = 0,
	.ctx_wr_end = 16,
	.budget = 1,
};

static const struct refusal refusals[] = {
	R("atomic add", &hook_rw, BPF_R_OPCODE, 1, A_ST(BPF_DW, 10, -8, 0),
	  BPF_INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 1, -8, 0), A_MOV64_IMM(0, 0), A_EXIT()),
	R("LD_ABS", &hook_rw, BPF_R_OPCODE, 0, BPF_INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0),
	  A_EXIT()),
	R("bpf-to-bpf call", &hook_rw, BPF_R_OPCODE, 0, BPF_INSN(BPF_JMP | BPF_CALL, 0, 1, 0, 1),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("map fd lddw", &hook_rw, BPF_R_OPCODE, 0, BPF_INSN(BPF_LD | BPF_IMM | BPF_DW, 1, 1, 0, 3),
	  BPF_INSN(0, 0, 0, 0, 0), A_MOV64_IMM(0, 0), A_EXIT()),
	R("unknown alu op", &hook_rw, BPF_R_OPCODE, 0, BPF_INSN(BPF_ALU64 | 0xe0, 0, 0, 0, 0),
	  A_EXIT()),
	R("reserved field set", &hook_rw, BPF_R_OPCODE, 0,
	  BPF_INSN(BPF_ALU64 | BPF_MOV, 0, 1, 0, 5), A_EXIT()),
	R("r11", &hook_rw, BPF_R_REG, 0, A_MOV64_IMM(11, 0), A_EXIT()),
	R("write r10", &hook_rw, BPF_R_REG, 1, A_MOV64_IMM(0, 0), A_MOV64_IMM(10, 0), A_EXIT()),
	R("uninit r3", &hook_rw, BPF_R_UNINIT, 0, A_MOV64_REG(0, 3), A_EXIT()),
	R("uninit after call", &hook_rw, BPF_R_UNINIT, 3, A_MOV64_IMM(1, 1), A_MOV64_IMM(2, 1),
	  A_CALL(1), A_MOV64_REG(0, 1), A_EXIT()),
	R("uninit stack", &hook_rw, BPF_R_UNINIT, 0, A_LDX(BPF_W, 0, 10, -4), A_EXIT()),
	R("uninit on one path", &hook_rw, BPF_R_UNINIT, 4, A_LDX(BPF_B, 3, 1, 0),
	  A_JMP_IMM(BPF_JEQ, 3, 0, 1), A_MOV64_IMM(4, 1), A_MOV64_IMM(0, 0),
	  A_ALU64_REG(BPF_ADD, 0, 4), A_EXIT()),
	R("jump past the end", &hook_rw, BPF_R_JUMP_RANGE, 1, A_MOV64_IMM(0, 0), A_JA(1), A_EXIT()),
	R("jump back", &hook_rw, BPF_R_JUMP_BACK, 1, A_MOV64_IMM(0, 0),
	  A_JMP_IMM(BPF_JEQ, 0, 0, -2), A_EXIT()),
	R("jump to itself", &hook_rw, BPF_R_JUMP_BACK, 0, A_JA(-1), A_EXIT()),
	R("falls off the end", &hook_rw, BPF_R_FALLTHROUGH, 1, A_MOV64_IMM(0, 0),
	  A_MOV64_IMM(0, 0)),
	R("ctx load past the end", &hook_rw, BPF_R_MEM_BOUNDS, 0, A_LDX(BPF_DW, 0, 1, 60),
	  A_EXIT()),
	R("unbounded region index", &hook_rw, BPF_R_MEM_BOUNDS, 2, A_LDX(BPF_B, 3, 1, 0),
	  A_ALU64_REG(BPF_ADD, 2, 3), A_LDX(BPF_DW, 0, 2, 250), A_EXIT()),
	R("region store one past", &hook_rw, BPF_R_MEM_BOUNDS, 0, A_ST(BPF_W, 2, 253, 0),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("stack below 512", &hook_rw, BPF_R_MEM_BOUNDS, 0, A_ST(BPF_B, 10, -513, 0),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("stack above r10", &hook_rw, BPF_R_MEM_BOUNDS, 0, A_ST(BPF_B, 10, 0, 0),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("load through a scalar", &hook_rw, BPF_R_MEM_TYPE, 1, A_MOV64_IMM(3, 4096),
	  A_LDX(BPF_B, 0, 3, 0), A_EXIT()),
	R("no region", &hook_bare, BPF_R_MEM_TYPE, 0, A_LDX(BPF_B, 0, 2, 0), A_EXIT()),
	R("store outside the window", &hook_rw, BPF_R_MEM_RDONLY, 0, A_ST(BPF_W, 1, 30, 0),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("store into a read-only region", &hook_ro, BPF_R_MEM_RDONLY, 0, A_ST(BPF_B, 2, 0, 0),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("fill a read-only region", &hook_ro, BPF_R_MEM_RDONLY, 2, A_MOV64_REG(1, 2),
	  A_MOV64_IMM(2, 8), A_CALL(3), A_EXIT()),
	R("return a pointer", &hook_rw, BPF_R_PTR_LEAK, 1, A_MOV64_REG(0, 1), A_EXIT()),
	R("store a pointer into the region", &hook_rw, BPF_R_PTR_LEAK, 0, A_STX(BPF_DW, 2, 1, 0),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("store a pointer into the ctx window", &hook_rw, BPF_R_PTR_LEAK, 0,
	  A_STX(BPF_DW, 1, 2, 32), A_MOV64_IMM(0, 0), A_EXIT()),
	R("half a spilled pointer", &hook_rw, BPF_R_PTR_LEAK, 1, A_STX(BPF_DW, 10, 1, -8),
	  A_LDX(BPF_W, 0, 10, -8), A_EXIT()),
	R("pointer as a scalar helper argument", &hook_rw, BPF_R_PTR_LEAK, 1, A_MOV64_IMM(2, 0),
	  A_CALL(1), A_EXIT()),
	R("compare a pointer with a number", &hook_rw, BPF_R_PTR_LEAK, 0,
	  A_JMP_IMM(BPF_JGT, 1, 0x1000, 0), A_MOV64_IMM(0, 0), A_EXIT()),
	R("test bits of a pointer", &hook_rw, BPF_R_PTR_LEAK, 1, A_MOV64_REG(3, 1),
	  A_JMP_REG(BPF_JSET, 3, 1, 0), A_MOV64_IMM(0, 0), A_EXIT()),
	R("32-bit copy of a pointer", &hook_rw, BPF_R_PTR_LEAK, 0, A_ALU32_REG(BPF_MOV, 0, 1),
	  A_EXIT()),
	R("multiply a pointer", &hook_rw, BPF_R_PTR_ARITH, 0, A_ALU64_IMM(BPF_MUL, 1, 2),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("add two pointers", &hook_rw, BPF_R_PTR_ARITH, 0, A_ALU64_REG(BPF_ADD, 1, 2),
	  A_MOV64_IMM(0, 0), A_EXIT()),
	R("add an unbounded scalar", &hook_rw, BPF_R_PTR_ARITH, 1, A_LDX(BPF_DW, 3, 1, 0),
	  A_ALU64_REG(BPF_ADD, 1, 3), A_MOV64_IMM(0, 0), A_EXIT()),
	R("helper not allowed", &hook_rw, BPF_R_HELPER, 0, A_CALL(9), A_EXIT()),
	R("helper 0", &hook_rw, BPF_R_HELPER, 0, A_CALL(0), A_EXIT()),
	R("helper on a hook without helpers", &hook_bare, BPF_R_HELPER, 0, A_CALL(1), A_EXIT()),
	R("ctx helper given ctx + 8", &hook_rw, BPF_R_HELPER_ARG, 1, A_ALU64_IMM(BPF_ADD, 1, 8),
	  A_CALL(4), A_EXIT()),
	R("sum past the region", &hook_rw, BPF_R_HELPER_ARG, 2, A_MOV64_REG(1, 2),
	  A_MOV64_IMM(2, 257), A_CALL(2), A_EXIT()),
	R("sum of unwritten stack", &hook_rw, BPF_R_HELPER_ARG, 3, A_MOV64_REG(1, 10),
	  A_ALU64_IMM(BPF_ADD, 1, -8), A_MOV64_IMM(2, 8), A_CALL(2), A_EXIT()),
	R("divide by the constant 0", &hook_rw, BPF_R_DIV_ZERO, 1, A_MOV64_IMM(0, 1),
	  A_ALU64_IMM(BPF_DIV, 0, 0), A_EXIT()),
	R("modulo by the constant 0 (32-bit)", &hook_rw, BPF_R_DIV_ZERO, 1, A_MOV64_IMM(0, 1),
	  A_ALU32_IMM(BPF_MOD, 0, 0), A_EXIT()),
	R("lddw in the last slot", &hook_rw, BPF_R_LDDW, 1, A_MOV64_IMM(0, 0),
	  BPF_INSN(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1)),
	R("lddw with a bad second half", &hook_rw, BPF_R_LDDW, 0,
	  BPF_INSN(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1), A_MOV64_IMM(0, 0), A_EXIT()),
	R("jump into a lddw", &hook_rw, BPF_R_LDDW, 0, A_JA(1), A_LDDW(0, 5), A_EXIT()),
	R("r0 unset at exit", &hook_rw, BPF_R_RESULT, 0, A_EXIT()),
	R("window past the ctx", &hook_bad, BPF_R_HOOK, 0, A_MOV64_IMM(0, 0), A_EXIT()),
	R("no hook", NULL, BPF_R_HOOK, 0, A_MOV64_IMM(0, 0), A_EXIT()),
};

/* Nine branches to nine different places, all open at once. */
static struct bpf_insn complex_prog[32];

static uint32_t make_complex(void)
{
	uint32_t n = 0;
	complex_prog[n++] = A_LDX(BPF_B, 0, 1, 0);
	for (int k = 0; k <= BPF_MAX_OPEN; k++) /* insn 1 + k jumps to 11 + k */
		complex_prog[n++] = A_JMP_IMM(BPF_JEQ, 0, 100 + k, BPF_MAX_OPEN + 1);
	for (int k = 0; k <= BPF_MAX_OPEN + 1; k++)
		complex_prog[n++] = A_ALU64_IMM(BPF_ADD, 0, 1);
	complex_prog[n++] = A_EXIT();
	return n;
}

TEST(bpf, every_rule_refused)
{
	bool seen[BPF_R_COUNT] = { false };
	struct bpf_verdict v;
	for (unsigned i = 0; i < ARRAY_SIZE(refusals); i++) {
		const struct refusal *r = &refusals[i];
		int err = bpf_verify(r->prog, r->n, r->hook, &v);
		if (err != E_INVAL || v.rule != r->rule || v.insn != r->insn)
			test_fail(t, __FILE__, __LINE__,
				  "%s: %s, insn %u rule %s; want insn %u rule %s", r->what,
				  err_name(err), v.insn, bpf_rule_name(v.rule), r->insn,
				  bpf_rule_name(r->rule));
		seen[r->rule] = true;
	}
	/* Size: none, and one too many. */
	static struct bpf_insn big[BPF_MAX_INSNS + 1];
	EXPECT_EQ(t, bpf_verify(big, 0, &hook_rw, &v), E_INVAL);
	EXPECT_EQ(t, v.rule, BPF_R_SIZE);
	EXPECT_EQ(t, bpf_verify(big, BPF_MAX_INSNS + 1, &hook_rw, &v), E_INVAL);
	EXPECT_EQ(t, v.rule, BPF_R_SIZE);
	seen[BPF_R_SIZE] = true;

	uint32_t n = make_complex();
	EXPECT_EQ(t, bpf_verify(complex_prog, n, &hook_rw, &v), E_INVAL);
	EXPECT_EQ(t, v.rule, BPF_R_COMPLEX);
	EXPECT_EQ(t, v.insn, 1 + BPF_MAX_OPEN);
	seen[BPF_R_COMPLEX] = true;
	/* One branch fewer fits. */
	complex_prog[1] = A_MOV64_IMM(3, 0);
	EXPECT_EQ(t, bpf_verify(complex_prog, n, &hook_rw, &v), E_OK);

	seen[BPF_R_ELF] = true; /* bpf.elf_round_trip, bpf.elf_malformed */
	for (int r = 1; r < BPF_R_COUNT; r++)
		if (!seen[r])
			test_fail(t, __FILE__, __LINE__, "rule %s has no refused program",
				  bpf_rule_name(r));
	for (int r = 0; r < BPF_R_COUNT; r++)
		EXPECT(t, strcmp(bpf_rule_name(r), "?") != 0);
}

TEST(bpf, refusal_leaves_no_state_and_verdict_ok)
{
	const struct bpf_insn p[] = { A_MOV64_IMM(0, 3), A_EXIT() };
	struct bpf_verdict v = { .rule = BPF_R_HOOK, .insn = 9 };
	EXPECT_EQ(t, bpf_verify(p, 2, &hook_rw, &v), E_OK);
	EXPECT_EQ(t, v.rule, BPF_OK);
	EXPECT_EQ(t, v.insn, 0);
}

/* ---- the ELF reader, on tests/host/bpf/sample.c as clang compiled it ---- */

extern const uint8_t bpf_obj_sample[];
extern const uint64_t bpf_obj_sample_size;

TEST(bpf, elf_round_trip)
{
	const struct bpf_insn *p;
	uint32_t n;
	struct bpf_verdict v;
	uint64_t r = 0;
	struct bpf_run_env env = { 0 };

	ASSERT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, "test", &p, &n, &v), E_OK);
	EXPECT(t, n > 4);
	ASSERT_EQ(t, bpf_verify(p, n, &hook_rw, &v), E_OK);
	reset_mem();
	ASSERT_EQ(t, bpf_run(p, n, &hook_rw, ctx, region, &env, &r), E_OK);
	/* idx = 45 & 31 = 13: region[104] = 104, + ctx[1] = 41; ctx[32] = 105. */
	EXPECT_EQ(t, r, 104 + 41);
	EXPECT_EQ(t, ctx[32], 105);
	ctx[0] = 200;
	ASSERT_EQ(t, bpf_run(p, n, &hook_rw, ctx, region, &env, &r), E_OK);
	EXPECT_EQ(t, r, 0);
	/* The read-only region hook accepts it too; the bare one (no region) does not. */
	EXPECT_EQ(t, bpf_verify(p, n, &hook_ro, &v), E_OK);
	EXPECT_EQ(t, bpf_verify(p, n, &hook_bare, &v), E_INVAL);

	ASSERT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, "helper", &p, &n, &v), E_OK);
	ASSERT_EQ(t, bpf_verify(p, n, &hook_rw, &v), E_OK);
	reset_mem();
	ASSERT_EQ(t, bpf_run(p, n, &hook_rw, ctx, region, &env, &r), E_OK);
	EXPECT_EQ(t, r, 42);
	EXPECT_EQ(t, env.calls, 1);

	/* A signed index: in range, negative, too big. */
	ASSERT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, "signed", &p, &n, &v), E_OK);
	ASSERT_EQ(t, bpf_verify(p, n, &hook_rw, &v), E_OK);
	static const int32_t idx[] = { 7, -5, 201, 200 };
	static const uint64_t want[] = { 7, (uint64_t)-1, (uint64_t)-1, 200 };
	for (unsigned i = 0; i < ARRAY_SIZE(idx); i++) {
		reset_mem();
		memcpy(ctx + 8, &idx[i], 4);
		ASSERT_EQ(t, bpf_run(p, n, &hook_rw, ctx, region, &env, &r), E_OK);
		EXPECT_EQ(t, r, want[i]);
	}

	/* An unrolled loop writing ctx[16..48): needs that window. */
	static const struct bpf_hook_desc wide = {
		.name = "wide",
		.ctx_size = CTX_SIZE,
		.ctx_wr_off = 16,
		.ctx_wr_end = 48,
		.region = true,
		.region_size = REGION_SIZE,
		.budget = 100,
	};
	ASSERT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, "unrolled", &p, &n, &v),
		  E_OK);
	EXPECT_EQ(t, bpf_verify(p, n, &hook_rw, &v), E_INVAL);
	EXPECT_EQ(t, v.rule, BPF_R_MEM_RDONLY);
	ASSERT_EQ(t, bpf_verify(p, n, &wide, &v), E_OK);
	reset_mem();
	uint32_t three = 3;
	memcpy(ctx, &three, 4);
	ASSERT_EQ(t, bpf_run(p, n, &wide, ctx, region, &env, &r), E_OK);
	EXPECT_EQ(t, r, 3);
	EXPECT_EQ(t, ctx[16 + 8], 8);	/* region word 1's low byte */
	EXPECT_EQ(t, ctx[40], 40 + 40); /* word 3 not copied */

	/* A switch. */
	ASSERT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, "switch", &p, &n, &v), E_OK);
	ASSERT_EQ(t, bpf_verify(p, n, &hook_rw, &v), E_OK);
	static const uint32_t key[] = { 0, 1, 2, 3, 5, 9, 100 };
	static const uint64_t val[] = { 10, 20, 33, 0, 7, 1, 0 };
	for (unsigned i = 0; i < ARRAY_SIZE(key); i++) {
		memcpy(ctx, &key[i], 4);
		ASSERT_EQ(t, bpf_run(p, n, &hook_rw, ctx, region, &env, &r), E_OK);
		EXPECT_EQ(t, r, val[i]);
	}

	/* The first nonempty executable section when none is named. */
	ASSERT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, NULL, &p, &n, &v), E_OK);
	EXPECT_EQ(t, bpf_verify(p, n, &hook_rw, &v), E_OK);

	/* A global variable is a relocation against the program: refused, with a reason. */
	EXPECT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, "global", &p, &n, &v),
		  E_INVAL);
	EXPECT_EQ(t, v.rule, BPF_R_ELF);
	EXPECT(t, v.why != NULL);
	EXPECT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, "nosuch", &p, &n, &v),
		  E_INVAL);
	EXPECT_EQ(t, v.rule, BPF_R_ELF);
	EXPECT_EQ(t, bpf_elf_find(bpf_obj_sample, bpf_obj_sample_size, ".strtab", &p, &n, &v),
		  E_INVAL);
}

/* A private, 8-byte aligned copy the test may corrupt. */
static uint64_t img_words[4096];
#define IMG ((uint8_t *)img_words)

static int find_in_copy(uint64_t size, const char *section)
{
	const struct bpf_insn *p;
	uint32_t n;
	struct bpf_verdict v;
	int err = bpf_elf_find(IMG, size, section, &p, &n, &v);
	if (err == E_OK) {
		/* Whatever it returns lies inside the image. */
		if ((const uint8_t *)p < IMG || (const uint8_t *)(p + n) > IMG + size)
			return 1;
	} else if (v.rule != BPF_R_ELF || !v.why) {
		return 2;
	}
	return err;
}

static void img_reset(void)
{
	memcpy(IMG, bpf_obj_sample, bpf_obj_sample_size);
}

/* Field offsets in the ELF64 header and a section header. */
#define EH_SHOFF 40
#define EH_SHENTSIZE 58
#define EH_SHNUM 60
#define EH_SHSTRNDX 62
#define SH_NAME 0
#define SH_OFFSET 24
#define SH_SIZE 32

static void put16(uint64_t at, uint16_t v)
{
	memcpy(IMG + at, &v, 2);
}
static void put32(uint64_t at, uint32_t v)
{
	memcpy(IMG + at, &v, 4);
}
static void put64(uint64_t at, uint64_t v)
{
	memcpy(IMG + at, &v, 8);
}
static uint64_t get64(uint64_t at)
{
	uint64_t v;
	memcpy(&v, IMG + at, 8);
	return v;
}

TEST(bpf, elf_malformed)
{
	uint64_t size = bpf_obj_sample_size;
	ASSERT(t, size <= sizeof(img_words));
	img_reset();
	ASSERT_EQ(t, find_in_copy(size, "test"), E_OK);
	uint64_t shoff = get64(EH_SHOFF);

	/* Every truncation: refused (the section headers are at the end). */
	for (uint64_t len = 0; len < size; len++)
		if (find_in_copy(len, "test") != E_INVAL)
			test_fail(t, __FILE__, __LINE__, "truncated to %llu: accepted",
				  (unsigned long long)len);

	struct {
		const char *what;
		uint64_t at;
		int width;
		uint64_t value;
	} bad[] = {
		{ "magic", 0, 8, 0 },
		{ "32-bit class", 4, 1, 1 },
		{ "big endian", 5, 1, 2 },
		{ "not relocatable", 16, 2, 2 },
		{ "x86 machine", 18, 2, 62 },
		{ "shoff past the end", EH_SHOFF, 8, 1ULL << 40 },
		{ "shoff wraps", EH_SHOFF, 8, ~0ULL - 63 },
		{ "shentsize", EH_SHENTSIZE, 2, 40 },
		{ "shnum huge", EH_SHNUM, 2, 0xffff },
		{ "shnum 0", EH_SHNUM, 2, 0 },
		{ "shstrndx out of range", EH_SHSTRNDX, 2, 0xfff0 },
		{ "shstrndx not a string table", EH_SHSTRNDX, 2, 3 },
		/* Section 3 is "test", the program. */
		{ "program offset past the end", shoff + 3ULL * 64 + SH_OFFSET, 8, 1ULL << 32 },
		{ "program size wraps", shoff + 3ULL * 64 + SH_SIZE, 8, ~0ULL - 7 },
		{ "program size huge", shoff + 3ULL * 64 + SH_SIZE, 8, 1ULL << 40 },
		{ "program size not whole", shoff + 3ULL * 64 + SH_SIZE, 8, 12 },
		{ "program name past the table", shoff + 3ULL * 64 + SH_NAME, 4, 0xffffff },
		/* Section 1 is .strtab. */
		{ "name table past the end", shoff + 64 + SH_SIZE, 8, 1ULL << 20 },
		{ "name table size wraps", shoff + 64 + SH_OFFSET, 8, ~0ULL },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		img_reset();
		switch (bad[i].width) {
		case 1:
			IMG[bad[i].at] = (uint8_t)bad[i].value;
			break;
		case 2:
			put16(bad[i].at, (uint16_t)bad[i].value);
			break;
		case 4:
			put32(bad[i].at, (uint32_t)bad[i].value);
			break;
		default:
			put64(bad[i].at, bad[i].value);
			break;
		}
		int err = find_in_copy(size, "test");
		if (err != E_INVAL)
			test_fail(t, __FILE__, __LINE__, "%s: %d", bad[i].what, err);
	}

	/* A name table whose last name runs off its end: never read past it. */
	img_reset();
	uint64_t stroff = get64(shoff + 64 + SH_OFFSET), strsize = get64(shoff + 64 + SH_SIZE);
	memset(IMG + stroff, 'x', strsize);
	EXPECT_EQ(t, find_in_copy(size, "test"), E_INVAL);

	/* Random corruption never makes it read outside or return garbage. */
	uint64_t seed = 12345;
	for (int round = 0; round < 20000; round++) {
		img_reset();
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			uint64_t at = (seed >> 33) % size;
			IMG[at] = (uint8_t)(seed >> 13);
		}
		int err = find_in_copy(size, round % 2 ? "test" : NULL);
		if (err != E_OK && err != E_INVAL) {
			test_fail(t, __FILE__, __LINE__, "round %d: %d", round, err);
			break;
		}
	}
}

/* ---- the verifier's cost per instruction (a figure, never a failure) ---- */

/*
 * A program of n instructions shaped like compiled code: blocks of a ctx
 * load, a bound check that branches forward, a region load through the
 * checked index, a stack store; filler arithmetic; exit.
 */
static uint32_t make_bench_prog(struct bpf_insn *p, uint32_t n)
{
	uint32_t i = 0;
	p[i++] = A_MOV64_IMM(0, 0);
	for (int k = 0; i + 8 < n; k++) {
		p[i++] = A_LDX(BPF_B, 3, 1, (int16_t)(k % 32));
		p[i++] = A_ALU64_IMM(BPF_AND, 3, 15);
		p[i++] = A_JMP_IMM(BPF_JGT, 3, 7, 3);
		p[i++] = A_MOV64_REG(4, 2);
		p[i++] = A_ALU64_REG(BPF_ADD, 4, 3);
		p[i++] = A_LDX(BPF_B, 0, 4, 0);
		p[i++] = A_STX(BPF_DW, 10, 3, (int16_t)(-8 * (k % 8 + 1)));
		p[i++] = A_ALU64_IMM(BPF_ADD, 0, 1);
	}
	for (; i + 1 < n; i++)
		p[i] = A_ALU64_IMM(BPF_XOR, 0, (int32_t)i);
	p[i++] = A_EXIT();
	return i;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Prints the verifier's time per instruction verified and the
 * interpreter's per instruction executed, for a program of n instructions
 * verified and run rounds times (EXOJSON lines: median, min, max, n, in
 * picoseconds so that small figures keep their digits). For the figure,
 * run them alone in the release build:
 *   build/release/host-tests 'bpf.verify_cost_*'
 * and for instructions per instruction verified, callgrind (valgrind 3.19
 * cannot read clang 14's DWARF 5, hence the copy without it):
 *   llvm-objcopy --strip-debug build/release/host-tests /tmp/ht
 *   valgrind --tool=callgrind --toggle-collect=bpf_verify /tmp/ht 'bpf.verify_cost_4096'
 * then divide the instructions collected by rounds * n.
 */
static void verify_cost(struct test_ctx *t, uint32_t size, unsigned rounds)
{
	static struct bpf_insn p[BPF_MAX_INSNS];
	static uint64_t vt[200], rt[200];
	static const struct bpf_hook_desc big_budget = {
		.name = "bench",
		.ctx_size = CTX_SIZE,
		.region = true,
		.region_size = REGION_SIZE,
		.budget = 1 << 20,
	};
	struct bpf_verdict v;
	reset_mem();
	uint32_t n = make_bench_prog(p, size);
	ASSERT_EQ(t, n, size);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();
		int err = bpf_verify(p, n, &hook_rw, &v);
		uint64_t t1 = now_ns();
		if (err) {
			test_fail(t, __FILE__, __LINE__, "refused: insn %u rule %s", v.insn,
				  bpf_rule_name(v.rule));
			return;
		}
		uint64_t res, steps = 0;
		struct bpf_run_env env;
		uint64_t t2 = now_ns();
		EXPECT_EQ(t, bpf_run_steps(p, n, &big_budget, ctx, region, &env, &res, &steps),
			  E_OK);
		uint64_t t3 = now_ns();
		vt[r] = (t1 - t0) * 1000 / n;
		rt[r] = (t3 - t2) * 1000 / (steps ? steps : 1);
	}
	struct stats a = stats_u64(vt, rounds), b = stats_u64(rt, rounds);
	printf("EXOJSON {\"figure\":\"bpf_verify_per_insn\",\"unit\":\"ps\",\"insns\":%u,"
	       "\"median\":%llu,\"min\":%llu,\"max\":%llu,\"n\":%zu}\n",
	       n, (unsigned long long)a.median, (unsigned long long)a.min,
	       (unsigned long long)a.max, a.n);
	printf("EXOJSON {\"figure\":\"bpf_run_per_insn\",\"unit\":\"ps\",\"insns\":%u,"
	       "\"median\":%llu,\"min\":%llu,\"max\":%llu,\"n\":%zu}\n",
	       n, (unsigned long long)b.median, (unsigned long long)b.min,
	       (unsigned long long)b.max, b.n);
	(void)fflush(stdout);
}

TEST(bpf, verify_cost_64)
{
	verify_cost(t, 64, 200);
}
TEST(bpf, verify_cost_512)
{
	verify_cost(t, 512, 200);
}
TEST(bpf, verify_cost_4096)
{
	verify_cost(t, 4096, 50);
}
