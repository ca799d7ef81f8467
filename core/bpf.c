/*
 * The eBPF verifier and interpreter (exo/bpf.h, docs/downloaded-code.md).
 *
 * The verifier makes two passes. The first decodes every instruction on its
 * own: known opcode, reserved fields zero, registers in range, jumps in
 * range and forward, 64-bit immediates whole, no division by the constant
 * 0. The second walks the program once in index order, which is a
 * topological order since every jump goes forward: it carries the state of
 * the path it is on (each register's type and bounds, which stack bytes are
 * written, which stack slots hold a spilled pointer) and, for every branch
 * target not reached yet, the join of the states of the branches that jump
 * there. Reaching a target joins the fall-through state with the waiting
 * one. So each instruction is checked once, against a state that covers
 * every path reaching it; the join keeps what all paths agree on (the union
 * of bounds, the intersection of written bytes), which is sound and is
 * precise enough for what clang emits: a bound check followed by the
 * access it guards, in one block.
 *
 * The interpreter trusts the verifier for types and bounds; it counts
 * instructions against the budget and defines division by zero.
 */
#include <exo/bpf.h>
#include <exo/errors.h>
#include <exo/plant.h>
#include <exo/string.h>

#define U32_MAX 0xffffffffULL
#define U64_MAX 0xffffffffffffffffULL
#define S64_MAX 0x7fffffffffffffffULL
/* Pointer offsets and the scalars added to pointers stay within this. */
#define OFF_LIMIT (1LL << 29)

const char *bpf_rule_name(enum bpf_rule rule)
{
	static const char *const names[BPF_R_COUNT] = {
		[BPF_OK] = "ok",
		[BPF_R_ELF] = "elf",
		[BPF_R_SIZE] = "size",
		[BPF_R_OPCODE] = "opcode",
		[BPF_R_REG] = "register",
		[BPF_R_UNINIT] = "uninit",
		[BPF_R_JUMP_RANGE] = "jump-range",
		[BPF_R_JUMP_BACK] = "jump-back",
		[BPF_R_FALLTHROUGH] = "fallthrough",
		[BPF_R_MEM_BOUNDS] = "mem-bounds",
		[BPF_R_MEM_TYPE] = "mem-type",
		[BPF_R_MEM_RDONLY] = "mem-readonly",
		[BPF_R_PTR_LEAK] = "pointer-leak",
		[BPF_R_PTR_ARITH] = "pointer-arith",
		[BPF_R_HELPER] = "helper",
		[BPF_R_HELPER_ARG] = "helper-arg",
		[BPF_R_DIV_ZERO] = "div-zero",
		[BPF_R_LDDW] = "lddw",
		[BPF_R_RESULT] = "result",
		[BPF_R_HOOK] = "hook",
		[BPF_R_COMPLEX] = "complex",
	};
	if ((unsigned)rule >= BPF_R_COUNT || !names[rule])
		return "?";
	return names[rule];
}

/* ---- arithmetic: one definition for the interpreter and for constants ---- */

static uint64_t bswap(uint64_t v, int bits)
{
	uint64_t r = 0;
	for (int i = 0; i < bits / 8; i++)
		r = (r << 8) | ((v >> (8 * i)) & 0xff);
	return r;
}

/* dst op src for ALU (32-bit) or ALU64, Linux's semantics. */
static uint64_t alu_eval(uint8_t op, bool is64, uint64_t a, uint64_t b, int32_t imm, bool to_be)
{
	if (op == BPF_END) {
		/* Little-endian machine: to-le truncates, to-be swaps (and truncates). */
		if (to_be)
			return bswap(a, imm);
		return imm == 64 ? a : a & ((1ULL << imm) - 1);
	}
	if (!is64) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	unsigned sh = (unsigned)(b & (is64 ? 63 : 31));
	uint64_t r;
	switch (op) {
	case BPF_ADD:
		r = a + b;
		break;
	case BPF_SUB:
		r = a - b;
		break;
	case BPF_MUL:
		r = a * b;
		break;
	case BPF_DIV:
		r = b ? a / b : 0;
		break;
	case BPF_MOD:
		r = b ? a % b : a;
		break;
	case BPF_OR:
		r = a | b;
		break;
	case BPF_AND:
		r = a & b;
		break;
	case BPF_XOR:
		r = a ^ b;
		break;
	case BPF_LSH:
		r = a << sh;
		break;
	case BPF_RSH:
		r = a >> sh;
		break;
	case BPF_ARSH:
		/* Arithmetic shift without relying on signed >> of negatives. */
		if (is64)
			r = (a >> sh) | ((a >> 63) && sh ? ~(U64_MAX >> sh) : 0);
		else
			r = ((a >> sh) | ((a >> 31) && sh ? ~(U32_MAX >> sh) : 0)) & U32_MAX;
		break;
	case BPF_NEG:
		r = 0 - a;
		break;
	case BPF_MOV:
		r = b;
		break;
	default:
		r = 0;
		break;
	}
	return is64 ? r : (uint32_t)r;
}

/* ---- the verifier's state ---- */

enum vtype {
	V_UNINIT = 0, /* never written, or written differently on two joined paths */
	V_SCALAR,     /* a number in [lo, hi] (unsigned) */
	V_CTX,	      /* the context + an offset in [lo, hi] (signed) */
	V_REGION,     /* the data region + offset */
	V_STACK,      /* r10 + offset (offsets are negative) */
};

struct vreg {
	uint64_t lo, hi;  /* scalar: unsigned bounds; pointer: int64_t offset bounds */
	int64_t slo, shi; /* scalar: signed bounds (both kinds hold at once) */
	uint8_t type;
};

#define SLOTS (BPF_STACK_SIZE / 8)

struct vstate {
	struct vreg r[11];
	uint8_t init[BPF_STACK_SIZE / 8]; /* bit per stack byte: written on this path */
	uint8_t spill[SLOTS];		  /* 8-byte slot holds a pointer of this type */
	int16_t spill_off[SLOTS];	  /*   at this constant offset */
};

struct pending {
	uint32_t at; /* instruction index; the slot is free when valid is false */
	bool valid;
	struct vstate st;
};

struct verifier {
	const struct bpf_insn *prog;
	uint32_t n;
	const struct bpf_hook_desc *hook;
	struct bpf_verdict *v;
	uint32_t pc;
	struct pending open[BPF_MAX_OPEN];
};

static bool is_ptr(const struct vreg *r)
{
	return r->type >= V_CTX;
}
static bool is_const(const struct vreg *r)
{
	return r->type == V_SCALAR && r->lo == r->hi;
}
/* A scalar in [lo, hi] unsigned; its signed bounds follow when the range does not wrap. */
static struct vreg scalar(uint64_t lo, uint64_t hi)
{
	struct vreg r = {
		.type = V_SCALAR, .lo = lo, .hi = hi, .slo = INT64_MIN, .shi = INT64_MAX
	};
	if (hi <= S64_MAX || lo > S64_MAX) {
		r.slo = (int64_t)lo;
		r.shi = (int64_t)hi;
	}
	return r;
}

/*
 * Tightens each kind of bounds by the other: a signed range of non-negative
 * values is an unsigned one, and so is one of negative values (the top half
 * of the unsigned numbers), and the reverse. False if no value is left.
 */
static bool sync(struct vreg *r)
{
	for (int round = 0; round < 2; round++) {
		if (r->hi <= S64_MAX || r->lo > S64_MAX) {
			r->slo = MAX(r->slo, (int64_t)r->lo);
			r->shi = MIN(r->shi, (int64_t)r->hi);
		}
		if (r->slo >= 0 || r->shi < 0) {
			r->lo = MAX(r->lo, (uint64_t)r->slo);
			r->hi = MIN(r->hi, (uint64_t)r->shi);
		}
		if (r->lo > r->hi || r->slo > r->shi)
			return false;
	}
	return true;
}
static int64_t off_lo(const struct vreg *r)
{
	return (int64_t)r->lo;
}
static int64_t off_hi(const struct vreg *r)
{
	return (int64_t)r->hi;
}

static int refuse(struct verifier *vf, enum bpf_rule rule, uint32_t at)
{
	vf->v->rule = rule;
	vf->v->insn = at;
	return E_INVAL;
}

/* ---- pass 1: each instruction on its own ---- */

static void tail_set(uint8_t *bits, uint32_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}
static bool tail_get(const uint8_t *bits, uint32_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static bool is_lddw(const struct bpf_insn *i)
{
	return i->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static bool alu_op_known(uint8_t op)
{
	return op <= BPF_END;
}

static bool jmp_op_known(uint8_t op)
{
	return op <= BPF_JSLE;
}

/* Checks the instruction at i alone; lddw_tail marks the second halves. */
static int decode_one(struct verifier *vf, uint32_t i, uint8_t *lddw_tail)
{
	const struct bpf_insn *in = &vf->prog[i];
	uint8_t code = in->code, cls = BPF_CLASS(code), op = BPF_OP(code);
	unsigned dst = bpf_dst(in), src = bpf_src(in);

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (!alu_op_known(op) || in->off != 0)
			return refuse(vf, BPF_R_OPCODE, i);
		if (op == BPF_END) {
			/* ALU64 | END is v4's unconditional byte swap: not supported. */
			if (cls == BPF_ALU64 || src != 0 ||
			    (in->imm != 16 && in->imm != 32 && in->imm != 64))
				return refuse(vf, BPF_R_OPCODE, i);
		} else if (op == BPF_NEG) {
			if (BPF_SRC(code) == BPF_X || src != 0 || in->imm != 0)
				return refuse(vf, BPF_R_OPCODE, i);
		} else if (BPF_SRC(code) == BPF_X ? in->imm != 0 : src != 0) {
			return refuse(vf, BPF_R_OPCODE, i);
		}
		if (dst > 10 || src > 10)
			return refuse(vf, BPF_R_REG, i);
		if (dst == 10)
			return refuse(vf, BPF_R_REG, i);
		if ((op == BPF_DIV || op == BPF_MOD) && BPF_SRC(code) == BPF_K && in->imm == 0)
			return refuse(vf, BPF_R_DIV_ZERO, i);
		return E_OK;
	case BPF_LD:
		if (!is_lddw(in))
			return refuse(vf, BPF_R_OPCODE, i); /* LD_ABS, LD_IND, or junk */
		if (src != 0 || in->off != 0)
			return refuse(vf, BPF_R_OPCODE, i); /* map fds and other pseudo loads */
		if (i + 1 >= vf->n)
			return refuse(vf, BPF_R_LDDW, i);
		const struct bpf_insn *t = in + 1;
		if (t->code != 0 || t->regs != 0 || t->off != 0)
			return refuse(vf, BPF_R_LDDW, i);
		if (dst > 10)
			return refuse(vf, BPF_R_REG, i);
		if (dst == 10)
			return refuse(vf, BPF_R_REG, i);
		tail_set(lddw_tail, i + 1);
		return E_OK;
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		if (BPF_MODE(code) != BPF_MEM)
			return refuse(vf, BPF_R_OPCODE, i); /* atomics, LD_ABS/IND forms */
		if (cls == BPF_LDX && in->imm != 0)
			return refuse(vf, BPF_R_OPCODE, i);
		if (cls == BPF_ST && src != 0)
			return refuse(vf, BPF_R_OPCODE, i);
		if (cls == BPF_STX && in->imm != 0)
			return refuse(vf, BPF_R_OPCODE, i);
		if (cls != BPF_ST && src > 10)
			return refuse(vf, BPF_R_REG, i);
		if (dst > 10 || (cls == BPF_LDX && dst == 10))
			return refuse(vf, BPF_R_REG, i);
		return E_OK;
	case BPF_JMP:
	case BPF_JMP32:
		if (!jmp_op_known(op))
			return refuse(vf, BPF_R_OPCODE, i);
		if (op == BPF_EXIT) {
			if (cls != BPF_JMP || BPF_SRC(code) || in->regs || in->off || in->imm)
				return refuse(vf, BPF_R_OPCODE, i);
			return E_OK;
		}
		if (op == BPF_CALL) {
			/* src 1 is a bpf-to-bpf call, src 2 a kfunc: refused. */
			if (cls != BPF_JMP || BPF_SRC(code) || in->regs || in->off)
				return refuse(vf, BPF_R_OPCODE, i);
			return E_OK;
		}
		if (op == BPF_JA) {
			if (cls != BPF_JMP || BPF_SRC(code) || in->regs || in->imm)
				return refuse(vf, BPF_R_OPCODE, i);
		} else {
			if (BPF_SRC(code) == BPF_X ? in->imm != 0 : src != 0)
				return refuse(vf, BPF_R_OPCODE, i);
			if (dst > 10 || src > 10)
				return refuse(vf, BPF_R_REG, i);
		}
		int64_t target = (int64_t)i + 1 + in->off;
		if (in->off < 0)
			return refuse(vf, BPF_R_JUMP_BACK, i);
		if (PLANTED(PLANT_BPF_JUMP_END) ? target > vf->n : target >= vf->n)
			return refuse(vf, BPF_R_JUMP_RANGE, i);
		return E_OK;
	}
	return refuse(vf, BPF_R_OPCODE, i);
}

static int decode(struct verifier *vf, uint8_t *lddw_tail)
{
	for (uint32_t i = 0; i < vf->n; i++) {
		if (tail_get(lddw_tail, i))
			continue;
		int err = decode_one(vf, i, lddw_tail);
		if (err)
			return err;
	}
	/* No jump into the middle of a 64-bit immediate load. */
	for (uint32_t i = 0; i < vf->n; i++) {
		const struct bpf_insn *in = &vf->prog[i];
		uint8_t op = BPF_OP(in->code);
		if (tail_get(lddw_tail, i) ||
		    (BPF_CLASS(in->code) != BPF_JMP && BPF_CLASS(in->code) != BPF_JMP32) ||
		    op == BPF_CALL || op == BPF_EXIT)
			continue;
		uint32_t target = i + 1 + (uint32_t)in->off;
		if (target < vf->n && tail_get(lddw_tail, target))
			return refuse(vf, BPF_R_LDDW, i);
	}
	/* The last instruction must not fall off the end. */
	uint32_t last = vf->n - 1;
	const struct bpf_insn *l = &vf->prog[last];
	if (tail_get(lddw_tail, last) ||
	    (l->code != (BPF_JMP | BPF_EXIT) && l->code != (BPF_JMP | BPF_JA)))
		return refuse(vf, BPF_R_FALLTHROUGH, last);
	return E_OK;
}

/* ---- joining states ---- */

static void join_reg(struct vreg *a, const struct vreg *b)
{
	if (a->type != b->type) {
		*a = (struct vreg){ .type = V_UNINIT };
		return;
	}
	if (a->type == V_SCALAR) {
		a->lo = MIN(a->lo, b->lo);
		a->hi = MAX(a->hi, b->hi);
		a->slo = MIN(a->slo, b->slo);
		a->shi = MAX(a->shi, b->shi);
	} else if (is_ptr(a)) {
		a->lo = (uint64_t)MIN(off_lo(a), off_lo(b));
		a->hi = (uint64_t)MAX(off_hi(a), off_hi(b));
	}
}

static void join(struct vstate *a, const struct vstate *b)
{
	for (int r = 0; r < 11; r++)
		join_reg(&a->r[r], &b->r[r]);
	for (int s = 0; s < SLOTS; s++) {
		if (a->spill[s] != b->spill[s] ||
		    (a->spill[s] && a->spill_off[s] != b->spill_off[s])) {
			/* A pointer on one path only: the slot is unreadable. */
			a->spill[s] = 0;
			a->init[s] = 0;
		} else {
			a->init[s] &= b->init[s];
		}
	}
}

static int add_pending(struct verifier *vf, uint32_t at, const struct vstate *st)
{
	struct pending *freeslot = NULL;
	for (int k = 0; k < BPF_MAX_OPEN; k++) {
		struct pending *p = &vf->open[k];
		if (p->valid && p->at == at) {
			join(&p->st, st);
			return E_OK;
		}
		if (!p->valid && !freeslot)
			freeslot = p;
	}
	if (!freeslot)
		return refuse(vf, BPF_R_COMPLEX, vf->pc);
	freeslot->valid = true;
	freeslot->at = at;
	freeslot->st = *st;
	return E_OK;
}

/* ---- scalar bounds ---- */

static uint64_t mask_above(uint64_t x)
{
	/* The smallest 2^k - 1 >= x. */
	x |= x >> 1;
	x |= x >> 2;
	x |= x >> 4;
	x |= x >> 8;
	x |= x >> 16;
	x |= x >> 32;
	return x;
}

/* Bounds of a op b over every pair of values in the bounds (64-bit op). */
static struct vreg range64(uint8_t op, struct vreg a, struct vreg b, bool is64)
{
	struct vreg full = scalar(0, U64_MAX);
	uint64_t hi;
	switch (op) {
	case BPF_ADD:
		if (__builtin_add_overflow(a.hi, b.hi, &hi))
			return full;
		return scalar(a.lo + b.lo, hi);
	case BPF_SUB:
		if (a.lo < b.hi)
			return full;
		return scalar(a.lo - b.hi, a.hi - b.lo);
	case BPF_MUL:
		if (__builtin_mul_overflow(a.hi, b.hi, &hi))
			return full;
		return scalar(a.lo * b.lo, hi);
	case BPF_DIV:
		if (b.lo == 0)
			return scalar(0, a.hi); /* x / 0 = 0 */
		return scalar(a.lo / b.hi, a.hi / b.lo);
	case BPF_MOD:
		if (b.lo == 0)
			return scalar(0, a.hi); /* x % 0 = x */
		return scalar(0, MIN(a.hi, b.hi - 1));
	case BPF_AND:
		return scalar(0, MIN(a.hi, b.hi));
	case BPF_OR:
		return scalar(MAX(a.lo, b.lo), mask_above(MAX(a.hi, b.hi)));
	case BPF_XOR:
		return scalar(0, mask_above(MAX(a.hi, b.hi)));
	case BPF_LSH: {
		if (b.lo != b.hi)
			return full;
		unsigned s = (unsigned)(b.lo & (is64 ? 63 : 31));
		if (a.hi > (U64_MAX >> s))
			return full;
		return scalar(a.lo << s, a.hi << s);
	}
	case BPF_RSH:
	case BPF_ARSH: {
		/* An arithmetic shift is a logical one while the sign bit is clear. */
		if (op == BPF_ARSH && a.hi > (is64 ? S64_MAX : U32_MAX >> 1))
			return full;
		if (b.lo != b.hi)
			return scalar(0, a.hi);
		unsigned s = (unsigned)(b.lo & (is64 ? 63 : 31));
		return scalar(a.lo >> s, a.hi >> s);
	}
	case BPF_MOV:
		return b;
	default:
		return full; /* NEG, END of a non-constant */
	}
}

static struct vreg trunc32(struct vreg a)
{
	if (a.lo == a.hi)
		return scalar((uint32_t)a.lo, (uint32_t)a.lo);
	return a.hi > U32_MAX ? scalar(0, U32_MAX) : a;
}

static struct vreg range_alu(uint8_t op, bool is64, struct vreg a, struct vreg b, int32_t imm,
			     bool to_be)
{
	if (op == BPF_END) {
		if (is_const(&a)) {
			uint64_t r = alu_eval(op, is64, a.lo, 0, imm, to_be);
			return scalar(r, r);
		}
		uint64_t m = imm == 64 ? U64_MAX : (1ULL << imm) - 1;
		if (!to_be && a.hi <= m)
			return a;
		return scalar(0, m);
	}
	if (!is64) {
		a = trunc32(a);
		b = trunc32(b);
	}
	if (is_const(&a) && is_const(&b)) {
		uint64_t r = alu_eval(op, is64, a.lo, b.lo, imm, to_be);
		return scalar(r, r);
	}
	if (op == BPF_MOV)
		return b;
	struct vreg r = range64(op, a, b, is64);
	if (!is64)
		return trunc32(r);
	/* What the signed bounds say, where they say more (sums that wrap as unsigned). */
	int64_t lo = INT64_MIN, hi = INT64_MAX;
	if (op == BPF_ADD) {
		if (__builtin_add_overflow(a.slo, b.slo, &lo) ||
		    __builtin_add_overflow(a.shi, b.shi, &hi)) {
			lo = INT64_MIN;
			hi = INT64_MAX;
		}
	} else if (op == BPF_SUB) {
		if (__builtin_sub_overflow(a.slo, b.shi, &lo) ||
		    __builtin_sub_overflow(a.shi, b.slo, &hi)) {
			lo = INT64_MIN;
			hi = INT64_MAX;
		}
	} else if (op == BPF_ARSH && is_const(&b)) {
		lo = (int64_t)alu_eval(BPF_ARSH, true, (uint64_t)a.slo, b.lo, 0, false);
		hi = (int64_t)alu_eval(BPF_ARSH, true, (uint64_t)a.shi, b.lo, 0, false);
	}
	struct vreg t = r;
	t.slo = MAX(t.slo, lo);
	t.shi = MIN(t.shi, hi);
	return sync(&t) ? t : r; /* both hold, so they meet; r if that went wrong */
}

/* ---- checks on one path ---- */

static int read_reg(struct verifier *vf, const struct vstate *st, unsigned r)
{
	if (st->r[r].type == V_UNINIT)
		return refuse(vf, BPF_R_UNINIT, vf->pc);
	return E_OK;
}

/* The object a pointer points into: [lo, hi) of valid offsets. */
static void object_span(const struct verifier *vf, uint8_t type, int64_t *lo, int64_t *hi)
{
	switch (type) {
	case V_CTX:
		*lo = 0;
		*hi = vf->hook->ctx_size;
		break;
	case V_REGION:
		*lo = 0;
		*hi = vf->hook->region_size;
		break;
	default:
		*lo = -BPF_STACK_SIZE;
		*hi = 0;
		break;
	}
}

static bool stack_bytes_init(const struct vstate *st, int64_t from, int64_t to)
{
	for (int64_t b = from; b < to; b++) {
		int64_t k = b + BPF_STACK_SIZE;
		if (!(st->init[k / 8] & (1u << (k % 8))))
			return false;
	}
	return true;
}

/*
 * Bytes [from, to) may have been overwritten; written: they were, for sure.
 * A spilled pointer any of whose bytes is overwritten is gone, and the rest
 * of its slot may not be read (it would be part of the pointer).
 */
static void stack_mark(struct vstate *st, int64_t from, int64_t to, bool written)
{
	for (int64_t b = from; b < to; b++) {
		int64_t k = b + BPF_STACK_SIZE;
		if (st->spill[k / 8]) {
			st->spill[k / 8] = 0;
			st->init[k / 8] = 0;
		}
	}
	for (int64_t b = from; written && b < to; b++) {
		int64_t k = b + BPF_STACK_SIZE;
		st->init[k / 8] |= (uint8_t)(1u << (k % 8));
	}
}

static bool stack_has_spill(const struct vstate *st, int64_t from, int64_t to)
{
	for (int64_t b = from; b < to; b++)
		if (st->spill[(b + BPF_STACK_SIZE) / 8])
			return true;
	return false;
}

/*
 * A memory access of size bytes at ptr + off (+ [0, extra] for helper
 * buffers whose size is a bounded register). Checks bounds and
 * writability; for the stack, that a read sees only written bytes.
 */
static int check_access(struct verifier *vf, const struct vreg *ptr, int32_t off, uint64_t size,
			bool write, int64_t *lo_out, int64_t *hi_out)
{
	if (!is_ptr(ptr))
		return refuse(vf, ptr->type == V_UNINIT ? BPF_R_UNINIT : BPF_R_MEM_TYPE, vf->pc);
	int64_t olo, ohi;
	object_span(vf, ptr->type, &olo, &ohi);
	int64_t lo = off_lo(ptr) + off, hi = off_hi(ptr) + off + (int64_t)size; /* [lo, hi) */
	int64_t lim = hi;
	if (PLANTED(PLANT_BPF_REGION_STORE) && write && ptr->type == V_REGION)
		lim = off_hi(ptr) + off + 1; /* forgets all but the first byte */
	if (lo < olo || lim > ohi)
		return refuse(vf, BPF_R_MEM_BOUNDS, vf->pc);
	if (write) {
		const struct bpf_hook_desc *h = vf->hook;
		if (ptr->type == V_CTX && (lo < h->ctx_wr_off || hi > h->ctx_wr_end))
			return refuse(vf, BPF_R_MEM_RDONLY, vf->pc);
		if (ptr->type == V_REGION && !h->region_writable)
			return refuse(vf, BPF_R_MEM_RDONLY, vf->pc);
	}
	*lo_out = lo;
	*hi_out = hi;
	return E_OK;
}

static uint64_t size_bytes(uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B:
		return 1;
	case BPF_H:
		return 2;
	case BPF_W:
		return 4;
	default:
		return 8;
	}
}

static int check_load(struct verifier *vf, struct vstate *st, const struct bpf_insn *in)
{
	unsigned dst = bpf_dst(in), src = bpf_src(in);
	uint64_t size = size_bytes(in->code);
	int64_t lo, hi;
	int err = read_reg(vf, st, src);
	if (err)
		return err;
	const struct vreg p = st->r[src];
	err = check_access(vf, &p, in->off, size, false, &lo, &hi);
	if (err)
		return err;
	if (p.type == V_STACK) {
		int64_t k = lo + BPF_STACK_SIZE;
		/* A whole spilled pointer comes back as the pointer. */
		if (size == 8 && lo + 8 == hi && k % 8 == 0 && st->spill[k / 8]) {
			st->r[dst] = (struct vreg){ .type = st->spill[k / 8],
						    .lo = (uint64_t)(int64_t)st->spill_off[k / 8],
						    .hi = (uint64_t)(int64_t)st->spill_off[k / 8] };
			return E_OK;
		}
		if (stack_has_spill(st, lo, hi))
			return refuse(vf, BPF_R_PTR_LEAK, vf->pc);
		if (!stack_bytes_init(st, lo, hi))
			return refuse(vf, BPF_R_UNINIT, vf->pc);
	}
	st->r[dst] = scalar(0, size == 8 ? U64_MAX : (1ULL << (8 * size)) - 1);
	return E_OK;
}

static int check_store(struct verifier *vf, struct vstate *st, const struct bpf_insn *in)
{
	unsigned dst = bpf_dst(in), src = bpf_src(in);
	uint64_t size = size_bytes(in->code);
	int64_t lo, hi;
	int err = read_reg(vf, st, dst);
	if (err)
		return err;
	const struct vreg *val = NULL;
	if (BPF_CLASS(in->code) == BPF_STX) {
		err = read_reg(vf, st, src);
		if (err)
			return err;
		val = &st->r[src];
	}
	const struct vreg p = st->r[dst];
	err = check_access(vf, &p, in->off, size, true, &lo, &hi);
	if (err)
		return err;
	if (val && is_ptr(val)) {
		/* A pointer may only be spilled, whole, to an aligned stack slot. */
		int64_t k = lo + BPF_STACK_SIZE;
		if (p.type != V_STACK || size != 8 || lo + 8 != hi || k % 8 != 0 ||
		    val->lo != val->hi || off_lo(val) < INT16_MIN || off_lo(val) > INT16_MAX)
			return refuse(vf, BPF_R_PTR_LEAK, vf->pc);
		stack_mark(st, lo, hi, true);
		st->spill[k / 8] = val->type;
		st->spill_off[k / 8] = (int16_t)off_lo(val);
		return E_OK;
	}
	if (p.type == V_STACK) {
		/* Only a store at a known offset marks bytes written. */
		stack_mark(st, lo, hi, p.lo == p.hi);
	}
	return E_OK;
}

/* ptr (+|-) scalar, or scalar + ptr. */
static int ptr_arith(struct verifier *vf, struct vreg *d, uint8_t op, struct vreg p, struct vreg s)
{
	if (op != BPF_ADD && op != BPF_SUB)
		return refuse(vf, BPF_R_PTR_ARITH, vf->pc);
	/* The number's bounds, unsigned or else signed, must be small. */
	int64_t slo, shi;
	if (s.hi <= (uint64_t)OFF_LIMIT) {
		slo = (int64_t)s.lo;
		shi = (int64_t)s.hi;
	} else if (s.slo >= -OFF_LIMIT && s.shi <= OFF_LIMIT) {
		slo = s.slo;
		shi = s.shi;
	} else {
		return refuse(vf, BPF_R_PTR_ARITH, vf->pc);
	}
	int64_t lo, hi;
	if (op == BPF_ADD) {
		lo = off_lo(&p) + slo;
		hi = off_hi(&p) + shi;
	} else {
		lo = off_lo(&p) - shi;
		hi = off_hi(&p) - slo;
	}
	if (lo < -OFF_LIMIT || hi > OFF_LIMIT)
		return refuse(vf, BPF_R_PTR_ARITH, vf->pc);
	*d = (struct vreg){ .type = p.type, .lo = (uint64_t)lo, .hi = (uint64_t)hi };
	return E_OK;
}

static int check_alu(struct verifier *vf, struct vstate *st, const struct bpf_insn *in)
{
	uint8_t op = BPF_OP(in->code);
	bool is64 = BPF_CLASS(in->code) == BPF_ALU64;
	unsigned dst = bpf_dst(in), src = bpf_src(in);
	struct vreg b;
	int err;

	if (op == BPF_END || op == BPF_NEG) {
		b = scalar(0, 0);
	} else if (BPF_SRC(in->code) == BPF_X) {
		if (PLANTED(PLANT_BPF_UNINIT_SRC) && st->r[src].type == V_UNINIT)
			st->r[src] = scalar(0, U64_MAX);
		err = read_reg(vf, st, src);
		if (err)
			return err;
		b = st->r[src];
	} else {
		uint64_t k = is64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm;
		b = scalar(k, k);
	}

	if (op == BPF_MOV) {
		if (is_ptr(&b) && !is64)
			return refuse(vf, BPF_R_PTR_LEAK, vf->pc); /* half a pointer */
		st->r[dst] = is64 || is_ptr(&b) ? b : trunc32(b);
		return E_OK;
	}
	err = read_reg(vf, st, dst);
	if (err)
		return err;
	struct vreg a = st->r[dst];
	if (is_ptr(&a) || is_ptr(&b)) {
		if (!is64)
			return refuse(vf, BPF_R_PTR_ARITH, vf->pc);
		if (is_ptr(&a) && is_ptr(&b))
			return refuse(vf, BPF_R_PTR_ARITH, vf->pc);
		if (is_ptr(&a))
			return ptr_arith(vf, &st->r[dst], op, a, b);
		if (op != BPF_ADD) /* scalar - ptr, scalar * ptr, ... */
			return refuse(vf, BPF_R_PTR_ARITH, vf->pc);
		return ptr_arith(vf, &st->r[dst], op, b, a);
	}
	st->r[dst] = range_alu(op, is64, a, b, in->imm, BPF_SRC(in->code) == BPF_X);
	return E_OK;
}

/* Narrows a and b to "a > b" (strict) or "a >= b", signed; false if it cannot hold. */
static bool refine_sgt(struct vreg *a, struct vreg *b, bool strict)
{
	if (strict && (b->slo == INT64_MAX || a->shi == INT64_MIN))
		return false;
	a->slo = MAX(a->slo, b->slo + (strict ? 1 : 0));
	b->shi = MIN(b->shi, a->shi - (strict ? 1 : 0));
	return sync(a) && sync(b);
}

/* Narrows scalars a (dst) and b (src) to "a op b" holding; false if it cannot. */
static bool refine(uint8_t op, struct vreg *a, struct vreg *b, bool is32)
{
	if (is32) {
		/*
		 * A 32-bit compare says something about the whole registers
		 * only when both are below 2^32, and a signed one only when
		 * both are below 2^31 (then it is the unsigned compare).
		 */
		if (a->hi > U32_MAX || b->hi > U32_MAX)
			return true;
		bool small = a->hi <= U32_MAX >> 1 && b->hi <= U32_MAX >> 1;
		uint8_t u = op == BPF_JSGT   ? BPF_JGT
			    : op == BPF_JSGE ? BPF_JGE
			    : op == BPF_JSLT ? BPF_JLT
			    : op == BPF_JSLE ? BPF_JLE
					     : op;
		if (u != op && !small)
			return true;
		op = u;
	}
	switch (op) {
	case BPF_JEQ:
		a->lo = b->lo = MAX(a->lo, b->lo);
		a->hi = b->hi = MIN(a->hi, b->hi);
		a->slo = b->slo = MAX(a->slo, b->slo);
		a->shi = b->shi = MIN(a->shi, b->shi);
		return sync(a) && sync(b);
	case BPF_JNE:
		if (is_const(a) && is_const(b))
			return a->lo != b->lo;
		if (is_const(b)) {
			if (a->lo == b->lo)
				a->lo++;
			else if (a->hi == b->lo)
				a->hi--;
		}
		return sync(a);
	case BPF_JGT: /* a > b */
		if (b->lo == U64_MAX || a->hi == 0)
			return false;
		a->lo = MAX(a->lo, b->lo + 1);
		b->hi = MIN(b->hi, a->hi - 1);
		return sync(a) && sync(b);
	case BPF_JGE: /* a >= b */
		a->lo = MAX(a->lo, b->lo);
		b->hi = MIN(b->hi, a->hi);
		return sync(a) && sync(b);
	case BPF_JLT:
		return refine(BPF_JGT, b, a, false);
	case BPF_JLE:
		return refine(BPF_JGE, b, a, false);
	case BPF_JSGT:
		return refine_sgt(a, b, true);
	case BPF_JSGE:
		return refine_sgt(a, b, false);
	case BPF_JSLT:
		return refine_sgt(b, a, true);
	case BPF_JSLE:
		return refine_sgt(b, a, false);
	}
	return true; /* JSET: nothing learnt */
}

/* The condition that holds when a branch with op is not taken. */
static uint8_t negate(uint8_t op)
{
	switch (op) {
	case BPF_JEQ:
		return BPF_JNE;
	case BPF_JNE:
		return BPF_JEQ;
	case BPF_JGT:
		return BPF_JLE;
	case BPF_JLE:
		return BPF_JGT;
	case BPF_JGE:
		return BPF_JLT;
	case BPF_JLT:
		return BPF_JGE;
	case BPF_JSGT:
		return BPF_JSLE;
	case BPF_JSLE:
		return BPF_JSGT;
	case BPF_JSGE:
		return BPF_JSLT;
	case BPF_JSLT:
		return BPF_JSGE;
	}
	return BPF_JSET; /* not JSET: nothing learnt */
}

/* A conditional jump: *fall stays the fall-through path's state, or dies. */
static int check_cond(struct verifier *vf, struct vstate *st, const struct bpf_insn *in,
		      bool *fall_alive)
{
	uint8_t op = BPF_OP(in->code);
	bool is32 = BPF_CLASS(in->code) == BPF_JMP32, x = BPF_SRC(in->code) == BPF_X;
	unsigned dst = bpf_dst(in), src = bpf_src(in);
	int err = read_reg(vf, st, dst);
	if (err)
		return err;
	struct vreg b;
	if (x) {
		err = read_reg(vf, st, src);
		if (err)
			return err;
		b = st->r[src];
	} else {
		uint64_t k = is32 ? (uint32_t)in->imm : (uint64_t)(int64_t)in->imm;
		b = scalar(k, k);
	}
	struct vreg a = st->r[dst];
	uint32_t target = vf->pc + 1 + (uint32_t)in->off;
	*fall_alive = true;
	if (is_ptr(&a) || is_ptr(&b)) {
		/*
		 * Only pointers into the same object compare, and only by
		 * order (their difference is an offset); nothing is learnt.
		 * JSET and signed compares would test bits of the address.
		 */
		bool order = op == BPF_JEQ || op == BPF_JNE || op == BPF_JGT || op == BPF_JGE ||
			     op == BPF_JLT || op == BPF_JLE;
		if (a.type != b.type || is32 || !order)
			return refuse(vf, BPF_R_PTR_LEAK, vf->pc);
		return add_pending(vf, target, st);
	}
	struct vreg ta = a, tb = b, fa = a, fb = b;
	bool taken = refine(op, &ta, &tb, is32);
	bool fall = refine(negate(op), &fa, &fb, is32);
	if (taken) {
		/* The taken side's state is this one narrowed (no copy: stack space). */
		st->r[dst] = ta;
		if (x)
			st->r[src] = tb;
		err = add_pending(vf, target, st);
		if (err)
			return err;
	}
	st->r[dst] = fa;
	if (x)
		st->r[src] = fb;
	*fall_alive = fall;
	return E_OK;
}

static int check_call(struct verifier *vf, struct vstate *st, const struct bpf_insn *in)
{
	int32_t id = in->imm;
	if (id <= 0 || id >= BPF_MAX_HELPERS || !vf->hook->helpers[id].name)
		return refuse(vf, BPF_R_HELPER, vf->pc);
	const struct bpf_helper *h = &vf->hook->helpers[id];
	for (int a = 0; a < 5; a++) {
		const struct vreg *r = &st->r[1 + a];
		enum bpf_arg kind = h->args[a];
		if (kind == BPF_ARG_NONE)
			continue;
		int err = read_reg(vf, st, 1 + a);
		if (err)
			return err;
		switch (kind) {
		case BPF_ARG_SCALAR:
		case BPF_ARG_SIZE:
			if (is_ptr(r))
				return refuse(vf, BPF_R_PTR_LEAK, vf->pc);
			if (kind == BPF_ARG_SIZE && r->hi > (uint64_t)OFF_LIMIT)
				return refuse(vf, BPF_R_HELPER_ARG, vf->pc);
			break;
		case BPF_ARG_CTX:
			if (r->type != V_CTX || r->lo != 0 || r->hi != 0)
				return refuse(vf, BPF_R_HELPER_ARG, vf->pc);
			break;
		case BPF_ARG_MEM_RD:
		case BPF_ARG_MEM_WR: {
			bool wr = kind == BPF_ARG_MEM_WR;
			if (!is_ptr(r) || a == 4 || h->args[a + 1] != BPF_ARG_SIZE)
				return refuse(vf, BPF_R_HELPER_ARG, vf->pc);
			err = read_reg(vf, st, 2 + a);
			if (err)
				return err;
			const struct vreg *sz = &st->r[2 + a];
			if (sz->type != V_SCALAR || sz->hi > (uint64_t)OFF_LIMIT)
				return refuse(vf, BPF_R_HELPER_ARG, vf->pc);
			int64_t lo, hi;
			if (check_access(vf, r, 0, sz->hi, wr, &lo, &hi))
				return refuse(vf,
					      wr && vf->v->rule == BPF_R_MEM_RDONLY
						  ? BPF_R_MEM_RDONLY
						  : BPF_R_HELPER_ARG,
					      vf->pc);
			if (r->type == V_STACK) {
				if (!wr &&
				    (stack_has_spill(st, lo, hi) || !stack_bytes_init(st, lo, hi)))
					return refuse(vf, BPF_R_HELPER_ARG, vf->pc);
				if (wr) {
					/* At least sz->lo bytes written at a known offset. */
					stack_mark(st, lo, hi, false);
					if (r->lo == r->hi)
						stack_mark(st, lo, lo + (int64_t)sz->lo, true);
				}
			}
			break;
		}
		default:
			return refuse(vf, BPF_R_HELPER_ARG, vf->pc);
		}
	}
	st->r[0] = scalar(0, U64_MAX);
	for (int r = 1; r <= 5; r++)
		st->r[r] = (struct vreg){ .type = V_UNINIT };
	return E_OK;
}

static int check_hook(const struct bpf_hook_desc *h)
{
	if (!h || h->ctx_size > OFF_LIMIT || h->ctx_wr_off > h->ctx_wr_end ||
	    h->ctx_wr_end > h->ctx_size || h->budget == 0)
		return E_INVAL;
	if (h->region ? h->region_size > OFF_LIMIT : h->region_size || h->region_writable)
		return E_INVAL;
	if (h->helpers[0].name)
		return E_INVAL; /* id 0 is never a helper */
	return E_OK;
}

/* Walks every path in index order; see the top of the file. */
static int walk(struct verifier *vf)
{
	struct vstate st;
	memset(&st, 0, sizeof(st));
	st.r[1] = (struct vreg){ .type = V_CTX };
	st.r[2] = vf->hook->region ? (struct vreg){ .type = V_REGION } : scalar(0, 0);
	st.r[10] = (struct vreg){ .type = V_STACK };
	bool alive = true;
	int err;

	for (uint32_t i = 0; i < vf->n; i++) {
		vf->pc = i;
		for (int k = 0; k < BPF_MAX_OPEN; k++) {
			struct pending *p = &vf->open[k];
			if (p->valid && p->at == i) {
				if (alive)
					join(&st, &p->st);
				else
					st = p->st;
				alive = true;
				p->valid = false;
			}
		}
		if (!alive)
			continue; /* dead code (or the tail of a 64-bit load) */
		const struct bpf_insn *in = &vf->prog[i];
		uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
		switch (cls) {
		case BPF_ALU:
		case BPF_ALU64:
			err = check_alu(vf, &st, in);
			break;
		case BPF_LD: {
			uint64_t k = (uint32_t)in[0].imm | ((uint64_t)(uint32_t)in[1].imm << 32);
			st.r[bpf_dst(in)] = scalar(k, k);
			err = E_OK;
			i++; /* the second half: no jump lands there */
			break;
		}
		case BPF_LDX:
			err = check_load(vf, &st, in);
			break;
		case BPF_ST:
		case BPF_STX:
			err = check_store(vf, &st, in);
			break;
		default: /* JMP, JMP32 */
			if (op == BPF_EXIT) {
				const struct vreg *r0 = &st.r[0];
				if (r0->type == V_UNINIT)
					return refuse(vf, BPF_R_RESULT, i);
				if (is_ptr(r0))
					return refuse(vf, BPF_R_PTR_LEAK, i);
				alive = false;
				err = E_OK;
			} else if (op == BPF_CALL) {
				err = check_call(vf, &st, in);
			} else if (op == BPF_JA) {
				err = add_pending(vf, i + 1 + (uint32_t)in->off, &st);
				alive = false;
			} else {
				err = check_cond(vf, &st, in, &alive);
			}
			break;
		}
		if (err)
			return err;
	}
	return E_OK;
}

int bpf_verify(const struct bpf_insn *prog, uint32_t n, const struct bpf_hook_desc *hook,
	       struct bpf_verdict *v)
{
	struct verifier vf = { .prog = prog, .n = n, .hook = hook, .v = v };
	uint8_t lddw_tail[BPF_MAX_INSNS / 8]; /* bit per instruction: 2nd half of a lddw */

	v->rule = BPF_OK;
	v->insn = 0;
	v->why = NULL;
	if (check_hook(hook))
		return refuse(&vf, BPF_R_HOOK, 0);
	if (!prog || n == 0 || n > BPF_MAX_INSNS)
		return refuse(&vf, BPF_R_SIZE, n > BPF_MAX_INSNS ? BPF_MAX_INSNS : 0);
	memset(lddw_tail, 0, sizeof(lddw_tail));
	int err = decode(&vf, lddw_tail);
	if (err)
		return err;
	return walk(&vf);
}

/* ---- the interpreter ---- */

uint64_t bpf_uninit_fill = 0;

static uint64_t load(uint64_t addr, uint64_t size)
{
	const void *p = (const void *)(uintptr_t)addr;
	switch (size) {
	case 1:
		return *(const uint8_t *)p;
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

static void store(uint64_t addr, uint64_t size, uint64_t v)
{
	void *p = (void *)(uintptr_t)addr;
	switch (size) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case 2: {
		uint16_t w = (uint16_t)v;
		memcpy(p, &w, 2);
		break;
	}
	case 4: {
		uint32_t w = (uint32_t)v;
		memcpy(p, &w, 4);
		break;
	}
	default:
		memcpy(p, &v, 8);
		break;
	}
}

static bool cond_eval(uint8_t op, bool is32, uint64_t a, uint64_t b)
{
	if (is32) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	int64_t sa = is32 ? (int32_t)a : (int64_t)a, sb = is32 ? (int32_t)b : (int64_t)b;
	switch (op) {
	case BPF_JEQ:
		return a == b;
	case BPF_JNE:
		return a != b;
	case BPF_JGT:
		return a > b;
	case BPF_JGE:
		return a >= b;
	case BPF_JLT:
		return a < b;
	case BPF_JLE:
		return a <= b;
	case BPF_JSET:
		return (a & b) != 0;
	case BPF_JSGT:
		return sa > sb;
	case BPF_JSGE:
		return sa >= sb;
	case BPF_JSLT:
		return sa < sb;
	case BPF_JSLE:
		return sa <= sb;
	}
	return false;
}

int bpf_run_steps(const struct bpf_insn *prog, uint32_t n, const struct bpf_hook_desc *hook,
		  void *ctx, void *region, struct bpf_run_env *env, uint64_t *result,
		  uint64_t *steps)
{
	uint64_t reg[11];
	uint64_t stack[BPF_STACK_SIZE / 8];
	uint64_t budget = hook->budget, count = 0;

	for (int r = 0; r < 11; r++)
		reg[r] = bpf_uninit_fill;
	for (int s = 0; s < BPF_STACK_SIZE / 8; s++)
		stack[s] = bpf_uninit_fill;
	reg[1] = (uint64_t)(uintptr_t)ctx;
	reg[2] = hook->region ? (uint64_t)(uintptr_t)region : 0;
	reg[10] = (uint64_t)(uintptr_t)stack + BPF_STACK_SIZE;

	for (uint32_t pc = 0;;) {
		if (count == budget) {
			if (steps)
				*steps = count;
			return E_TIMEOUT;
		}
		count++;
		const struct bpf_insn *in = &prog[pc];
		uint8_t code = in->code, cls = BPF_CLASS(code), op = BPF_OP(code);
		unsigned d = bpf_dst(in), s = bpf_src(in);
		pc++;
		switch (cls) {
		case BPF_ALU:
		case BPF_ALU64: {
			bool is64 = cls == BPF_ALU64, x = BPF_SRC(code) == BPF_X;
			uint64_t b = x	    ? reg[s]
				     : is64 ? (uint64_t)(int64_t)in->imm
					    : (uint32_t)in->imm;
			reg[d] = alu_eval(op, is64, reg[d], b, in->imm, x);
			break;
		}
		case BPF_LD:
			reg[d] = (uint32_t)in[0].imm | ((uint64_t)(uint32_t)in[1].imm << 32);
			pc++;
			break;
		case BPF_LDX:
			reg[d] = load(reg[s] + (uint64_t)(int64_t)in->off, size_bytes(code));
			break;
		case BPF_ST:
			store(reg[d] + (uint64_t)(int64_t)in->off, size_bytes(code),
			      (uint64_t)(int64_t)in->imm);
			break;
		case BPF_STX:
			store(reg[d] + (uint64_t)(int64_t)in->off, size_bytes(code), reg[s]);
			break;
		default: /* JMP, JMP32 */
			if (op == BPF_EXIT) {
				*result = reg[0];
				if (steps)
					*steps = count;
				return E_OK;
			}
			if (op == BPF_CALL) {
				const struct bpf_helper *h = &hook->helpers[in->imm];
				reg[0] = h->fn(env, reg[1], reg[2], reg[3], reg[4], reg[5]);
				break;
			}
			if (op == BPF_JA) {
				pc += (uint32_t)in->off;
				break;
			}
			uint64_t b = BPF_SRC(code) == BPF_X ? reg[s]
				     : cls == BPF_JMP32	    ? (uint32_t)in->imm
							    : (uint64_t)(int64_t)in->imm;
			if (cond_eval(op, cls == BPF_JMP32, reg[d], b))
				pc += (uint32_t)in->off;
			break;
		}
	}
}

int bpf_run(const struct bpf_insn *prog, uint32_t n, const struct bpf_hook_desc *hook, void *ctx,
	    void *region, struct bpf_run_env *env, uint64_t *result)
{
	return bpf_run_steps(prog, n, hook, ctx, region, env, result, NULL);
}
