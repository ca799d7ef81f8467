/*
 * libFuzzer target: the eBPF verifier (core/bpf.c), and the interpreter on
 * every program it accepts.
 *
 * Input: byte 0 picks the hook (bits 0..1) and the decoding (bit 7: raw
 * Linux instructions, 8 bytes each; else "shaped": each 8-byte record
 * decoded into a likely instruction — a known opcode, registers r0..r10,
 * small offsets and immediates, or ones near the end of the hook's
 * objects — so that most programs get past the first
 * instructions); bytes 1..8 seed the context's and the region's contents;
 * then the instructions, at most 64.
 *
 * Oracles, on top of ASan and UBSan (the context, the region and the
 * program are each a heap block of exactly their size, so one byte past
 * is caught; the interpreter's stack is a local array, which ASan guards):
 *  - a refusal names an instruction inside the program and a real rule;
 *  - an accepted program runs to E_OK or E_TIMEOUT, within the budget;
 *  - it runs twice, with the context and region at other addresses, with
 *    other garbage in the registers and stack bytes it may not read
 *    (bpf_uninit_fill) and from another stack depth: the result, the
 *    instructions executed, the helper calls and every byte of the context
 *    and region afterwards must be the same (nothing may depend on an
 *    address or on what it was not given: no pointer leaks out, no
 *    uninitialized byte is read);
 *  - the bytes of the context outside the writable window, and a read-only
 *    region, are unchanged.
 * Any failure aborts with a line saying which, after printing the program.
 */
#include <exo/bpf.h>
#include <exo/errors.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PROG 64
#define LOG_MAX 64

struct bpf_run_env {
	const uint8_t *ctx, *region; /* this run's buffers */
	uint32_t ctx_size, region_size;
	uint64_t log[LOG_MAX]; /* what the helpers were given, address-free */
	unsigned nlog;
};

static void note(struct bpf_run_env *e, uint64_t v)
{
	if (e->nlog < LOG_MAX)
		e->log[e->nlog] = v;
	e->nlog++;
}

static uint64_t h_add(struct bpf_run_env *e, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
		      uint64_t f)
{
	note(e, 1);
	note(e, a);
	note(e, b);
	return a + b;
}

/* Bytes read through a pointer are logged by content: the same both runs. */
static uint64_t h_sum(struct bpf_run_env *e, uint64_t p, uint64_t n, uint64_t c, uint64_t d,
		      uint64_t f)
{
	uint64_t s = 0;
	for (uint64_t i = 0; i < n; i++)
		s = s * 31 + ((const uint8_t *)(uintptr_t)p)[i];
	note(e, 2);
	note(e, n);
	note(e, s);
	return s;
}

static uint64_t h_fill(struct bpf_run_env *e, uint64_t p, uint64_t n, uint64_t c, uint64_t d,
		       uint64_t f)
{
	memset((void *)(uintptr_t)p, 0x5a, n);
	note(e, 3);
	note(e, n);
	return n;
}

static uint64_t h_ctx(struct bpf_run_env *e, uint64_t p, uint64_t b, uint64_t c, uint64_t d,
		      uint64_t f)
{
	if ((const uint8_t *)(uintptr_t)p != e->ctx) {
		(void)fprintf(stderr, "bpf_fuzz: FAIL: the ctx helper got another pointer\n");
		abort();
	}
	note(e, 4);
	return e->ctx[0];
}

static uint64_t h_sum3(struct bpf_run_env *e, uint64_t a, uint64_t p, uint64_t n, uint64_t d,
		       uint64_t f)
{
	return a + h_sum(e, p, n, 0, 0, 0);
}

#define HELPERS                                                                                    \
	.helpers = {                                                                               \
		[1] = { "add", { BPF_ARG_SCALAR, BPF_ARG_SCALAR }, h_add },                        \
		[2] = { "sum", { BPF_ARG_MEM_RD, BPF_ARG_SIZE }, h_sum },                          \
		[3] = { "fill", { BPF_ARG_MEM_WR, BPF_ARG_SIZE }, h_fill },                        \
		[4] = { "ctx", { BPF_ARG_CTX }, h_ctx },                                           \
		[5] = { "sum3", { BPF_ARG_SCALAR, BPF_ARG_MEM_RD, BPF_ARG_SIZE }, h_sum3 },        \
	}

/* The hooks: each a different shape of context, region and budget. */
static const struct bpf_hook_desc hooks[4] = {
	{ .name = "rw",
	  .ctx_size = 64,
	  .ctx_wr_off = 32,
	  .ctx_wr_end = 48,
	  .region = true,
	  .region_size = 40,
	  .region_writable = true,
	  .budget = 64,
	  HELPERS },
	{ .name = "ro",
	  .ctx_size = 24,
	  .ctx_wr_off = 8,
	  .ctx_wr_end = 12,
	  .region = true,
	  .region_size = 128,
	  .budget = 200,
	  HELPERS },
	{ .name = "bare", .ctx_size = 16, .budget = 16 },
	{ .name = "big",
	  .ctx_size = 200,
	  .ctx_wr_off = 0,
	  .ctx_wr_end = 200,
	  .region = true,
	  .region_size = 9,
	  .region_writable = true,
	  .budget = 1000,
	  HELPERS },
};

/* Every opcode the verifier knows, for the shaped decoding. */
static uint8_t opcodes[160];
static unsigned nopcodes;

static void init_tables(void)
{
	if (nopcodes)
		return;
	static const uint8_t alu[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND,
				       BPF_LSH, BPF_RSH, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH };
	static const uint8_t jmp[] = { BPF_JEQ,	 BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
				       BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE };
	static const uint8_t sizes[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
	unsigned n = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(alu); i++)
		for (int s = 0; s < 2; s++) {
			opcodes[n++] = (uint8_t)(BPF_ALU64 | alu[i] | (s ? BPF_X : BPF_K));
			opcodes[n++] = (uint8_t)(BPF_ALU | alu[i] | (s ? BPF_X : BPF_K));
		}
	opcodes[n++] = BPF_ALU64 | BPF_NEG;
	opcodes[n++] = BPF_ALU | BPF_NEG;
	opcodes[n++] = BPF_ALU | BPF_END | BPF_K;
	opcodes[n++] = BPF_ALU | BPF_END | BPF_X;
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		opcodes[n++] = (uint8_t)(BPF_LDX | BPF_MEM | sizes[i]);
		opcodes[n++] = (uint8_t)(BPF_ST | BPF_MEM | sizes[i]);
		opcodes[n++] = (uint8_t)(BPF_STX | BPF_MEM | sizes[i]);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(jmp); i++)
		for (int s = 0; s < 2; s++) {
			opcodes[n++] = (uint8_t)(BPF_JMP | jmp[i] | (s ? BPF_X : BPF_K));
			opcodes[n++] = (uint8_t)(BPF_JMP32 | jmp[i] | (s ? BPF_X : BPF_K));
		}
	opcodes[n++] = BPF_JMP | BPF_JA;
	opcodes[n++] = BPF_JMP | BPF_CALL;
	opcodes[n++] = BPF_JMP | BPF_EXIT;
	opcodes[n++] = BPF_JMP | BPF_EXIT;
	opcodes[n++] = BPF_LD | BPF_IMM | BPF_DW;
	nopcodes = n;
}

/* One 8-byte record as a likely instruction (see the top). */
/* A size of the hook's objects, from two bits: the interesting boundaries. */
static int32_t boundary(const struct bpf_hook_desc *h, unsigned which)
{
	switch (which & 3) {
	case 0:
		return (int32_t)h->ctx_size;
	case 1:
		return (int32_t)h->region_size;
	case 2:
		return (int32_t)h->ctx_wr_end;
	default:
		return -BPF_STACK_SIZE;
	}
}

static struct bpf_insn shape(const uint8_t *b, const struct bpf_hook_desc *h)
{
	struct bpf_insn in;
	uint8_t code = b[0] < 2 * nopcodes ? opcodes[b[0] % nopcodes] : b[0];
	unsigned dst = (b[1] & 0xf) % 11, src = (b[1] >> 4) % 11;
	int16_t off;
	int32_t imm;
	if (b[3] & 0x80)
		off = (int16_t)(b[2] | (b[3] << 8));
	else if (BPF_CLASS(code) == BPF_JMP || BPF_CLASS(code) == BPF_JMP32)
		off = (int16_t)(b[2] % 16);
	else if (b[3] & 0x40) /* near the end of an object: -8..+7 */
		off = (int16_t)(boundary(h, b[2]) - 8 + ((b[2] >> 2) & 15));
	else
		/* Below r10 (-127..0) or into a small object (0..63). */
		off = (int16_t)(b[2] & 0x80 ? -(b[2] & 0x7f) : b[2] & 0x3f);
	if (b[5] & 0x80)
		memcpy(&imm, b + 4, 4);
	else if (b[5] & 0x40)
		imm = boundary(h, b[4]) - 8 + ((b[4] >> 2) & 15);
	else
		imm = b[4] - (b[4] & 0x80 ? 256 : 0);
	uint8_t cls = BPF_CLASS(code), op = BPF_OP(code);
	bool x = BPF_SRC(code) == BPF_X;
	/* Keep the reserved fields zero, mostly: the raw mode tries the rest. */
	if (cls == BPF_ALU || cls == BPF_ALU64) {
		off = 0;
		if (op == BPF_END)
			imm = (int32_t[]){ 16, 32, 64 }[b[4] % 3];
		if (x && op != BPF_END)
			imm = 0;
		if (!x || op == BPF_NEG || op == BPF_END)
			src = 0;
		if (op == BPF_NEG)
			imm = 0;
		if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) && !x)
			imm &= cls == BPF_ALU64 ? 63 : 31;
	} else if (cls == BPF_JMP || cls == BPF_JMP32) {
		if (op == BPF_CALL) {
			dst = src = 0;
			off = 0;
			imm = b[4] % 7;
		} else if (op == BPF_EXIT || op == BPF_JA) {
			dst = src = 0;
			imm = 0;
			if (op == BPF_EXIT)
				off = 0;
		} else if (x) {
			imm = 0;
		} else {
			src = 0;
		}
	} else if (cls == BPF_ST) {
		src = 0;
	} else if (cls == BPF_LDX || cls == BPF_STX) {
		imm = 0;
	} else if (cls == BPF_LD) {
		src = 0;
		off = 0;
	}
	in.code = code;
	in.regs = (uint8_t)((src << 4) | dst);
	in.off = off;
	in.imm = imm;
	return in;
}

static void fail(const char *why, const struct bpf_insn *p, uint32_t n, unsigned hook)
{
	(void)fprintf(stderr, "bpf_fuzz: program (hook %s, %u instructions):\n", hooks[hook].name,
		      n);
	for (uint32_t i = 0; i < n; i++)
		(void)fprintf(stderr, "  %3u: code %02x dst r%u src r%u off %d imm %d\n", i,
			      p[i].code, bpf_dst(&p[i]), bpf_src(&p[i]), p[i].off, p[i].imm);
	(void)fprintf(stderr, "bpf_fuzz: FAIL: %s\n", why);
	abort();
}

struct outcome {
	int err;
	uint64_t result, steps;
	struct bpf_run_env env;
	uint8_t ctx[256], region[256];
};

/* One run on fresh heap buffers holding ctx0 and region0. */
static void run_once(const struct bpf_insn *prog, uint32_t n, const struct bpf_hook_desc *h,
		     const uint8_t *ctx0, const uint8_t *region0, struct outcome *o)
{
	uint8_t *ctx = malloc(h->ctx_size), *region = h->region ? malloc(h->region_size) : NULL;
	memcpy(ctx, ctx0, h->ctx_size);
	if (region)
		memcpy(region, region0, h->region_size);
	memset(&o->env, 0, sizeof(o->env));
	o->env.ctx = ctx;
	o->env.region = region;
	o->result = o->steps = 0;
	o->err = bpf_run_steps(prog, n, h, ctx, region, &o->env, &o->result, &o->steps);
	memcpy(o->ctx, ctx, h->ctx_size);
	if (region)
		memcpy(o->region, region, h->region_size);
	free(ctx);
	free(region);
}

/* The second run from deeper in the stack, so its interpreter stack moves too. */
__attribute__((noinline)) static void run_deeper(const struct bpf_insn *prog, uint32_t n,
						 const struct bpf_hook_desc *h, const uint8_t *ctx0,
						 const uint8_t *region0, struct outcome *o)
{
	volatile uint8_t pad[1000];
	pad[0] = 1;
	pad[999] = pad[0];
	void *hold = malloc(24); /* the heap blocks move as well */
	run_once(prog, n, h, ctx0, region0, o);
	free(hold);
}

static struct outcome out_a, out_b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t head[9] = { 0 }; /* missing header bytes are zeros */
	memcpy(head, data, MIN(size, sizeof(head)));
	init_tables();
	unsigned hk = head[0] & 3;
	bool raw = head[0] & 0x80;
	const struct bpf_hook_desc *h = &hooks[hk];
	uint32_t n = size < 9 ? 0 : (uint32_t)MIN((size - 9) / 8, MAX_PROG);
	struct bpf_insn *prog = malloc(MAX(n, 1) * sizeof(*prog));
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *rec = data + 9 + (size_t)8 * i;
		if (raw)
			memcpy(&prog[i], rec, 8);
		else
			prog[i] = shape(rec, h);
	}

	struct bpf_verdict v;
	int err = bpf_verify(prog, n, h, &v);
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_VERDICT") != NULL;
	if (verbose && err)
		(void)fprintf(stderr, "bpf_fuzz: hook %s, %u instructions: refused at %u: %s\n",
			      h->name, n, v.insn, bpf_rule_name(v.rule));
	if (err) {
		if (err != E_INVAL || v.rule <= BPF_OK || v.rule >= BPF_R_COUNT ||
		    (n > 0 && v.insn >= n))
			fail("a refusal without a rule or outside the program", prog, n, hk);
		free(prog);
		return 0;
	}
	if (n == 0)
		fail("an empty program accepted", prog, n, hk);

	/* The contents, from the seed bytes. */
	uint8_t ctx0[256], region0[256];
	uint64_t s;
	memcpy(&s, head + 1, 8);
	for (unsigned i = 0; i < 256; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		ctx0[i] = (uint8_t)(s >> 56);
		region0[i] = (uint8_t)(s >> 48);
	}

	bpf_uninit_fill = 0x0123456789abcdefULL;
	run_once(prog, n, h, ctx0, region0, &out_a);
	bpf_uninit_fill = 0xfedcba9876543210ULL;
	run_deeper(prog, n, h, ctx0, region0, &out_b);
	bpf_uninit_fill = 0;
	if (verbose)
		(void)fprintf(
		    stderr,
		    "bpf_fuzz: hook %s, %u instructions: accepted, %s, r0 %#llx, %llu steps\n",
		    h->name, n, err_name(out_a.err), (unsigned long long)out_a.result,
		    (unsigned long long)out_a.steps);

	if (out_a.err != E_OK && out_a.err != E_TIMEOUT)
		fail("an accepted program failed to run", prog, n, hk);
	if (out_a.steps > h->budget || (out_a.err == E_TIMEOUT && out_a.steps != h->budget))
		fail("the budget was not kept", prog, n, hk);
	if (out_a.err != out_b.err || out_a.steps != out_b.steps)
		fail("two runs took different paths (an address or garbage steered it)", prog, n,
		     hk);
	if (out_a.err == E_OK && out_a.result != out_b.result)
		fail("two runs gave different results (a pointer or garbage leaked into r0)", prog,
		     n, hk);
	if (out_a.env.nlog != out_b.env.nlog ||
	    memcmp(out_a.env.log, out_b.env.log, sizeof(uint64_t) * MIN(out_a.env.nlog, LOG_MAX)) !=
		0)
		fail("two runs called helpers differently (a pointer or garbage leaked)", prog, n,
		     hk);
	if (memcmp(out_a.ctx, out_b.ctx, h->ctx_size) != 0 ||
	    (h->region && memcmp(out_a.region, out_b.region, h->region_size) != 0))
		fail("two runs wrote different bytes (a pointer or garbage was stored)", prog, n,
		     hk);
	for (uint32_t i = 0; i < h->ctx_size; i++)
		if ((i < h->ctx_wr_off || i >= h->ctx_wr_end) && out_a.ctx[i] != ctx0[i])
			fail("a context byte outside the writable window changed", prog, n, hk);
	if (h->region && !h->region_writable && memcmp(out_a.region, region0, h->region_size) != 0)
		fail("a read-only region changed", prog, n, hk);
	free(prog);
	return 0;
}
