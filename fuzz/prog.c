/* The cap_fuzz program format and its custom mutator (see prog.h). */
#include "prog.h"

#include <string.h>

#define PAGE 4096ULL

/*
 * The calls a host program can make, and the two pseudo-calls (prog.h).
 * Left out: EXIT, YIELD, YIELD_TO, PCT_CALL and PCT_REPLY leave the kernel
 * for user mode (the host has none: arch_user_exit panics). ENV_START can
 * only fail on the host (no program images) but stays in, for its argument
 * checks.
 */
const struct prog_call prog_calls[] = {
	{ SYS_CONSOLE_WRITE, "CONSOLE_WRITE", { T_IN, T_LEN } },
	{ SYS_CORE_ID, "CORE_ID", { 0 } },
	{ SYS_TIME, "TIME", { T_OUT } },
	{ SYS_FRAME_ALLOC, "FRAME_ALLOC", { T_FRAME, T_FFLAGS } },
	{ SYS_FRAME_FREE, "FRAME_FREE", { T_FSLOT } },
	{ SYS_MAP, "MAP", { T_FSLOT, T_VA, T_PROT } },
	{ SYS_UNMAP, "UNMAP", { T_FSLOT } },
	{ SYS_READ_AD, "READ_AD", { T_VA, T_NPAGES, T_OUT } },
	{ SYS_CAP_MINT, "CAP_MINT", { T_SLOT, T_RIGHTS, T_BADGE } },
	{ SYS_CAP_GRANT, "CAP_GRANT", { T_SLOT, T_ESLOT, T_FLAGS } },
	{ SYS_CAP_REVOKE, "CAP_REVOKE", { T_SLOT } },
	{ SYS_CAP_DELETE, "CAP_DELETE", { T_SLOT } },
	{ SYS_CAP_INSPECT, "CAP_INSPECT", { T_SLOT, T_OUT } },
	{ SYS_ENV_CREATE, "ENV_CREATE", { T_CORE } },
	{ SYS_ENV_START, "ENV_START", { T_ESLOT, T_PROGID, T_RAWNUM } },
	{ SYS_ENV_DESTROY, "ENV_DESTROY", { T_ESLOT } },
	{ SYS_ENV_STATUS, "ENV_STATUS", { T_ESLOT } },
	{ SYS_DEBUG_CHECK, "DEBUG_CHECK", { 0 } },
	{ SYS_FRAME_COUNT, "FRAME_COUNT", { 0 } },
	{ SYS_UPCALL_SET, "UPCALL_SET", { T_KIND, T_ENTRY, T_STACK, T_SIZE } },
	{ SYS_SLOT_ALLOC, "SLOT_ALLOC", { T_CORE, T_INDEX, T_ESELF } },
	{ SYS_SLOT_FREE, "SLOT_FREE", { T_TSLOT } },
	{ SYS_ENV_CPU, "ENV_CPU", { T_ESELF, T_CORE } },
	{ SYS_EP_CREATE, "EP_CREATE", { T_ESELF, T_ENTRY, T_STACK, T_SIZE } },
	{ PROG_NR_BAD, "BAD_NR", { T_RAWNUM } },
	/* Appended, never inserted: a call's index is its name in the corpus. */
	{ SYS_REVOKE_ASK, "REVOKE_ASK", { T_ESLOT, T_OWNED, T_COUNT } },
	{ SYS_REPOSS_READ, "REPOSS_READ", { T_OUT } },
	{ SYS_GUARANTEE, "GUARANTEE", { T_ESLOT, T_COUNT } },
	{ SYS_NOTIFY, "NOTIFY", { T_ESLOT, T_BITS } },
	{ SYS_NOTIFY_TAKE, "NOTIFY_TAKE", { 0 } },
	{ PROG_NR_SCHEDULE, "SCHEDULE", { T_RAWNUM } },
	{ PROG_NR_TOUCH, "TOUCH", { T_VA, T_FLAGS } },
	{ SYS_ENV_START, "ENV_START_ARGS", { T_ESLOT, T_PROGID, T_RAWNUM, T_IN, T_LEN } },
	{ SYS_DISK_INFO, "DISK_INFO", { T_OUT } },
	{ SYS_BLOCK_ALLOC, "BLOCK_ALLOC", { T_BLOCK, T_NBLOCKS } },
	{ SYS_BLOCK_FREE, "BLOCK_FREE", { T_BSLOT } },
	{ SYS_BLOCK_IO, "BLOCK_IO", { T_BSLOT, T_BLKIDX, T_FSLOT, T_OP, T_BITS } },
	{ SYS_BLOCK_WAIT, "BLOCK_WAIT", { T_REQID, T_WFLAGS } },
	{ SYS_BPF_LOAD, "BPF_LOAD", { T_HOOK, T_BPFIMG, T_BPFLEN, T_REGION, T_OUT, T_TARGET } },
	{ PROG_NR_FILL, "FILL", { T_RAWNUM, T_CORE } },
};
const unsigned prog_ncalls = sizeof(prog_calls) / sizeof(prog_calls[0]);

/* Numbers at the edges of what the calls accept (docs/syscalls.md). */
const struct prog_const prog_consts[] = {
	{ ~0ULL, "ANY" }, /* FRAME_ANY = ENV_SELF = SLOT_ANY */
	{ 0, "0" },
	{ CAP_SLOTS - 1, "CAP_SLOTS-1" },
	{ CAP_SLOTS, "CAP_SLOTS" },
	{ 1ULL << 32, "2^32" },
	{ (1ULL << 32) | 1, "2^32+1" },
	{ 0xffffffffULL, "0xffffffff" },
	{ 1ULL << 63, "2^63" },
	{ USER_BASE, "USER_BASE" },
	{ USER_BASE + 1, "USER_BASE+1" },
	{ USER_BASE - PAGE, "USER_BASE-PAGE" },
	{ USER_END - PAGE, "USER_END-PAGE" },
	{ USER_END, "USER_END" },
	{ USER_END - 16, "USER_END-16" },
	{ PROG_OUT_VA, "OUT_VA" },
	{ 0xffff800000000000ULL, "KERNEL_HALF" },
	{ 0xffffffff80000000ULL, "KERNEL_IMAGE" },
	{ 0x0000800000000000ULL, "NONCANON_LO" },
	{ 0x8000000000000000ULL, "NONCANON_HI" },
	{ ~0ULL - 15, "WRAP" },
	{ PROG_NFRAMES - 1, "NFRAMES-1" },
	{ PROG_NFRAMES, "NFRAMES" },
	{ PROG_NFRAMES + 1, "NFRAMES+1" },
	{ PROG_KFRAMES - 1, "KERNEL_FRAME" },
	{ CAP_R_ALL, "R_ALL" },
	{ CAP_R_ALL + 1, "R_ALL+1" },
	{ PAGE, "4096" },
	{ PAGE + 1, "4097" },
	{ 512, "512" },
	{ 513, "513" },
	{ 16, "16" },
	{ PROG_NCORES, "NCORES" },
	{ 64, "64" },
};
const unsigned prog_nconsts = sizeof(prog_consts) / sizeof(prog_consts[0]);

const char *prog_const_name(uint64_t v)
{
	for (unsigned i = 0; i < prog_nconsts; i++)
		if (prog_consts[i].val == v)
			return prog_consts[i].name;
	return NULL;
}

void prog_slot_wanted(const struct prog_arg *a, unsigned *type, uint64_t *k, int *recent)
{
	*type = (unsigned)(a->val & 0xff);
	if (*type >= OBJ_TYPES)
		*type = OBJ_NONE;
	*k = a->val >> 9;
	*recent = (a->val & ARG_SLOT_RECENT) != 0;
}

uint64_t prog_arg_plain(const struct prog_arg *a)
{
	switch (a->kind % ARG_KINDS) {
	case ARG_CONST:
		return prog_consts[a->val % prog_nconsts].val;
	case ARG_OUT:
		return PROG_OUT_VA + (a->val & 0xfff);
	default:
		return a->val;
	}
}

const struct prog_call *prog_call_of(const struct prog_op *op)
{
	return &prog_calls[op->call % prog_ncalls];
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void op_decode(const uint8_t *b, struct prog_op *op)
{
	op->env = b[0];
	op->call = b[1];
	for (int i = 0; i < PROG_ARGS; i++) {
		const uint8_t *a = b + 2 + (size_t)i * PROG_ARG_BYTES;
		op->arg[i].kind = a[0];
		op->arg[i].val = get64(a + 1);
	}
}

static void op_encode(const struct prog_op *op, uint8_t *b)
{
	b[0] = op->env;
	b[1] = op->call;
	for (int i = 0; i < PROG_ARGS; i++) {
		uint8_t *a = b + 2 + (size_t)i * PROG_ARG_BYTES;
		a[0] = op->arg[i].kind;
		put64(a + 1, op->arg[i].val);
	}
}

void prog_decode(const uint8_t *data, size_t size, struct prog *p)
{
	p->n = 0;
	for (size_t off = 0; off + PROG_OP_BYTES <= size && p->n < PROG_MAX_OPS;
	     off += PROG_OP_BYTES)
		op_decode(data + off, &p->op[p->n++]);
}

size_t prog_encode(const struct prog *p, uint8_t *out, size_t max)
{
	size_t n = 0;
	for (unsigned i = 0; i < p->n && n + PROG_OP_BYTES <= max; i++, n += PROG_OP_BYTES)
		op_encode(&p->op[i], out + n);
	return n;
}

/* ---- generating operations (the mutator) ---- */

/* splitmix64: the mutator's randomness comes from libFuzzer's seed only. */
struct rng {
	uint64_t s;
};

uint64_t prog_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct rng *r)
{
	return prog_rand(&r->s);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

/* True with probability pct %. */
static int chance(struct rng *r, unsigned pct)
{
	return below(r, 100) < pct;
}

static struct prog_arg raw(uint64_t v)
{
	return (struct prog_arg){ ARG_RAW, v };
}

static struct prog_arg konst(uint64_t v)
{
	for (unsigned i = 0; i < prog_nconsts; i++)
		if (prog_consts[i].val == v)
			return (struct prog_arg){ ARG_CONST, i };
	return raw(v);
}

static struct prog_arg any_const(struct rng *r)
{
	return (struct prog_arg){ ARG_CONST, below(r, prog_nconsts) };
}

/*
 * A live slot of type t (0: any): often one a recent call made (create,
 * then use), else the k-th such. Small k: programs hold few.
 */
static struct prog_arg slot(struct rng *r, unsigned t)
{
	if (chance(r, 50))
		return (struct prog_arg){ ARG_SLOT, t | ARG_SLOT_RECENT | below(r, 3) << 9 };
	return (struct prog_arg){ ARG_SLOT, t | below(r, 8) << 9 };
}

/* A page of the low user region the programs play in, or one of the odd addresses. */
static struct prog_arg user_va(struct rng *r)
{
	static const uint64_t odd[] = { USER_BASE + 1,
					USER_END - PAGE,
					USER_END - 16, /* a buffer here runs past the end */
					USER_END,
					0xffff800000000000ULL,
					0x0000800000000000ULL,
					0,
					USER_BASE - PAGE,
					~0ULL - 15 };
	if (chance(r, 10))
		return (struct prog_arg){ ARG_OUT, 0 };
	if (chance(r, 15))
		return konst(odd[below(r, sizeof(odd) / sizeof(odd[0]))]);
	return raw(USER_BASE + below(r, 8) * PAGE);
}

static struct prog_arg gen_arg(struct rng *r, unsigned type)
{
	if (type != T_NONE && chance(r, 4))
		return chance(r, 50) ? any_const(r) : raw(rnd(r) >> below(r, 64));
	switch (type) {
	case T_NONE:
		return raw(0);
	case T_SLOT:
		return chance(r, 8) ? konst(chance(r, 50) ? CAP_SLOTS : (1ULL << 32)) : slot(r, 0);
	case T_FSLOT:
		return slot(r, chance(r, 85) ? OBJ_FRAME : 0);
	case T_ESLOT:
		return slot(r, chance(r, 85) ? OBJ_ENV : 0);
	case T_ESELF:
		return chance(r, 40) ? konst(ENV_SELF) : slot(r, chance(r, 85) ? OBJ_ENV : 0);
	case T_TSLOT:
		return slot(r, chance(r, 85) ? OBJ_SLOT : 0);
	case T_FRAME:
		if (chance(r, 70))
			return konst(FRAME_ANY);
		return chance(r, 30) ? konst(chance(r, 50) ? PROG_NFRAMES : PROG_KFRAMES - 1)
				     : raw(below(r, PROG_NFRAMES + 2));
	case T_OWNED:
		return chance(r, 30) ? konst(FRAME_ANY)
				     : (struct prog_arg){ ARG_FRAME, below(r, 8) };
	case T_FFLAGS:
		return raw(chance(r, 85) ? 0 : chance(r, 50) ? FRAME_WAIT : 2 + below(r, 4));
	case T_COUNT:
		return raw(chance(r, 85) ? below(r, 6) : below(r, 40));
	case T_BITS:
		return chance(r, 90) ? raw(1ULL << below(r, 64)) : raw(rnd(r) >> below(r, 64));
	case T_VA:
		return user_va(r);
	case T_IN:
		return chance(r, 60)
			   ? (struct prog_arg){ ARG_OUT, chance(r, 80) ? 0 : below(r, PAGE) }
			   : user_va(r);
	case T_OUT:
		if (chance(r, 85))
			return (struct prog_arg){ ARG_OUT, chance(r, 85) ? 0 : below(r, PAGE) };
		return user_va(r);
	case T_LEN:
		return chance(r, 80) ? raw(1 + below(r, 64))
				     : konst(chance(r, 50) ? PAGE + 1 : PAGE);
	case T_NPAGES:
		return chance(r, 80) ? raw(1 + below(r, 8))
				     : raw(chance(r, 50) ? 0 : 512 + below(r, 2));
	case T_PROT:
		return raw(chance(r, 90) ? 1 + below(r, 7) : below(r, 16));
	case T_RIGHTS:
		/* One right short of all, or one alone: the edges of every rights check. */
		if (chance(r, 35))
			return raw(CAP_R_ALL & ~(1u << below(r, 6)));
		if (chance(r, 25))
			return raw(1u << below(r, 6));
		return chance(r, 90) ? raw(below(r, CAP_R_ALL + 1)) : konst(CAP_R_ALL + 1);
	case T_BADGE:
		return chance(r, 60)   ? raw(0)
		       : chance(r, 80) ? raw(1 + below(r, 9))
				       : konst(1ULL << 32);
	case T_FLAGS:
		return raw(chance(r, 95) ? below(r, 2) : 2);
	case T_BSLOT:
		return slot(r, chance(r, 85) ? OBJ_BLOCKS : 0);
	case T_BLOCK:
		return chance(r, 50)   ? konst(BLOCK_ANY)
		       : chance(r, 20) ? raw(PROG_DISK_BLOCKS - below(r, 2))
				       : raw(below(r, PROG_DISK_BLOCKS));
	case T_NBLOCKS:
		return raw(chance(r, 85) ? 1 + below(r, 8) : below(r, PROG_DISK_BLOCKS + 2));
	case T_BLKIDX:
		return raw(chance(r, 90) ? below(r, 4) : below(r, 16));
	case T_OP:
		return raw(chance(r, 95) ? below(r, 2) : 2);
	case T_REQID:
		/* Request ids the host's disk hands out first: tag | sequence << 8. */
		return raw(chance(r, 90) ? (1 + below(r, 3)) << 8 | below(r, 6) : below(r, 1024));
	case T_WFLAGS:
		return raw(chance(r, 95) ? below(r, 2) : 2);
	case T_HOOK:
		return raw(chance(r, 90) ? 1 + below(r, 3) : below(r, 6));
	case T_BPFIMG:
		if (chance(r, 80))
			return (struct prog_arg){ ARG_OUT, PROG_BPF_IMG_VA - PROG_OUT_VA };
		return chance(r, 50) ? (struct prog_arg){ ARG_OUT, below(r, PAGE) } : user_va(r);
	case T_BPFLEN:
		if (chance(r, 80))
			return raw(PROG_BPF_IMG_LEN);
		return chance(r, 50) ? raw(below(r, 2 * PROG_BPF_IMG_LEN))
				     : konst(chance(r, 50) ? 0 : BPF_IMAGE_MAX + 1);
	case T_REGION:
		return chance(r, 30) ? konst(BPF_NO_REGION)
				     : slot(r, chance(r, 85) ? OBJ_FRAME : 0);
	case T_TARGET:
		return chance(r, 30) ? raw(0) : slot(r, chance(r, 85) ? OBJ_ENV : 0);
	case T_CORE:
		return raw(chance(r, 90) ? below(r, PROG_NCORES) : below(r, 70));
	case T_INDEX:
		return chance(r, 40) ? konst(SLOT_ANY) : raw(below(r, 18));
	case T_PROGID:
		return raw(below(r, 4));
	case T_KIND:
		return raw(below(r, 3));
	case T_ENTRY:
		return chance(r, 20) ? raw(0) : user_va(r);
	case T_STACK:
		return chance(r, 80) ? raw(USER_BASE + below(r, 8) * PAGE + (chance(r, 90) ? 0 : 8))
				     : user_va(r);
	case T_SIZE:
		return raw(chance(r, 70) ? PAGE * (1 + below(r, 4))
					 : below(r, 3) * 16 + below(r, 2) * 8);
	default:
		return raw(rnd(r));
	}
}

/* Calls to favour: the capability and ownership ones. */
static unsigned pick_call(struct rng *r)
{
	static const uint64_t favour[] = { SYS_FRAME_ALLOC, SYS_MAP,	    SYS_UNMAP,
					   SYS_CAP_MINT,    SYS_CAP_GRANT,  SYS_CAP_REVOKE,
					   SYS_CAP_DELETE,  SYS_ENV_CREATE, SYS_ENV_DESTROY,
					   SYS_FRAME_FREE,  SYS_SLOT_ALLOC, SYS_EP_CREATE,
					   SYS_CAP_INSPECT, SYS_REVOKE_ASK, SYS_GUARANTEE };
	if (chance(r, 60)) {
		uint64_t nr = favour[below(r, sizeof(favour) / sizeof(favour[0]))];
		for (unsigned i = 0; i < prog_ncalls; i++)
			if (prog_calls[i].nr == nr)
				return i;
	}
	/*
	 * FILL makes hundreds of calls (a table's worth): about one pick in
	 * sixteen that lands on it keeps it, so that full tables are
	 * explored without most inputs paying for them.
	 */
	unsigned i = (unsigned)below(r, prog_ncalls);
	while (prog_calls[i].nr == PROG_NR_FILL && !chance(r, 6))
		i = (unsigned)below(r, prog_ncalls);
	return i;
}

int prog_is_slot_type(unsigned t)
{
	return t == T_SLOT || t == T_FSLOT || t == T_ESLOT || t == T_ESELF || t == T_TSLOT ||
	       t == T_BSLOT || t == T_REGION || t == T_TARGET;
}

static unsigned call_index(uint64_t nr)
{
	for (unsigned i = 0; i < prog_ncalls; i++)
		if (prog_calls[i].nr == nr)
			return i;
	return 0;
}

static void gen_op(struct rng *r, struct prog_op *op);

/*
 * Make, then use: a call that returns a new capability, and right after it
 * a call whose slot argument is that capability. Most capability bugs need
 * a freshly derived capability used at once; two independent insertions
 * rarely line up.
 */
static void gen_pair(struct rng *r, struct prog_op *make, struct prog_op *use)
{
	static const uint64_t makers[] = { SYS_FRAME_ALLOC, SYS_CAP_MINT,   SYS_CAP_MINT,
					   SYS_ENV_CREATE,  SYS_SLOT_ALLOC, SYS_EP_CREATE };
	gen_op(r, make);
	make->call = (uint8_t)call_index(makers[below(r, sizeof(makers) / sizeof(makers[0]))]);
	const struct prog_call *mc = &prog_calls[make->call];
	for (int i = 0; i < PROG_ARGS; i++)
		make->arg[i] = gen_arg(r, mc->type[i]);
	gen_op(r, use);
	use->env = make->env;
	const struct prog_call *uc = prog_call_of(use);
	for (int i = 0; i < PROG_ARGS; i++)
		if (prog_is_slot_type(uc->type[i])) {
			use->arg[i] =
			    (struct prog_arg){ ARG_SLOT,
					       ARG_SLOT_RECENT }; /* the newest, any type */
			break;
		}
}

static void gen_op(struct rng *r, struct prog_op *op)
{
	op->env = (uint8_t)(chance(r, 70) ? below(r, 3) : below(r, 8));
	op->call = (uint8_t)pick_call(r);
	const struct prog_call *c = &prog_calls[op->call];
	for (int i = 0; i < PROG_ARGS; i++)
		op->arg[i] = gen_arg(r, c->type[i]);
}

/* Nudge one argument: a new value of its type, a neighbour, or another kind. */
static void mutate_arg(struct rng *r, struct prog_op *op)
{
	const struct prog_call *c = prog_call_of(op);
	unsigned used = 0;
	while (used < PROG_ARGS && c->type[used] != T_NONE)
		used++;
	if (!used)
		return;
	unsigned i = (unsigned)below(r, used);
	struct prog_arg *a = &op->arg[i];
	switch (below(r, 4)) {
	case 0:
		a->val += chance(r, 50) ? 1 : -1ULL;
		break;
	case 1:
		a->val ^= 1ULL << below(r, 64);
		break;
	default:
		*a = gen_arg(r, c->type[i]);
	}
}

size_t prog_mutate(uint8_t *data, size_t size, size_t max, unsigned seed,
		   size_t (*fallback)(uint8_t *data, size_t size, size_t max))
{
	static struct prog p; /* big: not on the stack (the mutator has no other state) */
	struct rng r = { seed };
	prog_decode(data, size, &p);
	unsigned cap = (unsigned)(max / PROG_OP_BYTES);
	if (cap > PROG_MAX_OPS)
		cap = PROG_MAX_OPS;
	if (cap == 0)
		return fallback(data, size, max);
	unsigned what = (unsigned)below(&r, 100);
	if (p.n == 0 || (what < 30 && p.n < cap)) {
		/* Insert a fresh operation. */
		unsigned at = (unsigned)below(&r, p.n + 1);
		memmove(&p.op[at + 1], &p.op[at], (p.n - at) * sizeof(p.op[0]));
		gen_op(&r, &p.op[at]);
		p.n++;
	} else if (what < 40 && p.n + 1 < cap) {
		unsigned at = (unsigned)below(&r, p.n + 1);
		memmove(&p.op[at + 2], &p.op[at], (p.n - at) * sizeof(p.op[0]));
		gen_pair(&r, &p.op[at], &p.op[at + 1]);
		p.n += 2;
	} else if (what < 50 && p.n > 1) {
		unsigned at = (unsigned)below(&r, p.n);
		memmove(&p.op[at], &p.op[at + 1], (p.n - at - 1) * sizeof(p.op[0]));
		p.n--;
	} else if (what < 56 && p.n > 1) {
		unsigned i = (unsigned)below(&r, p.n), j = (unsigned)below(&r, p.n);
		struct prog_op t = p.op[i];
		p.op[i] = p.op[j];
		p.op[j] = t;
	} else if (what < 62 && p.n < cap) {
		/* Repeat an operation a few times: deep mints, full tables, long revokes. */
		unsigned at = (unsigned)below(&r, p.n), k = 1 + (unsigned)below(&r, 8);
		while (k-- && p.n < cap) {
			memmove(&p.op[at + 1], &p.op[at], (p.n - at) * sizeof(p.op[0]));
			p.n++;
		}
	} else if (what < 85) {
		mutate_arg(&r, &p.op[below(&r, p.n)]);
	} else if (what < 92) {
		struct prog_op *op = &p.op[below(&r, p.n)];
		op->env = (uint8_t)(chance(&r, 70) ? below(&r, 3) : below(&r, 8));
	} else if (what < 96) {
		/* Another call on the same arguments. */
		p.op[below(&r, p.n)].call = (uint8_t)pick_call(&r);
	} else {
		/* Raw bytes of one operation, then back to a whole program. */
		uint8_t b[PROG_OP_BYTES];
		unsigned at = (unsigned)below(&r, p.n);
		op_encode(&p.op[at], b);
		size_t n = fallback(b, sizeof(b), sizeof(b));
		if (n == sizeof(b))
			op_decode(b, &p.op[at]);
	}
	return prog_encode(&p, data, max);
}

size_t prog_crossover(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, uint8_t *out,
		      size_t max, unsigned seed)
{
	struct rng r = { seed };
	size_t ka = na / PROG_OP_BYTES, kb = nb / PROG_OP_BYTES;
	size_t cut_a = below(&r, ka + 1) * PROG_OP_BYTES,
	       from_b = below(&r, kb + 1) * PROG_OP_BYTES;
	size_t n = 0;
	size_t take = cut_a < max ? cut_a : max - max % PROG_OP_BYTES;
	memcpy(out, a, take);
	n = take;
	size_t rest = nb - from_b;
	if (n + rest > max)
		rest = (max - n) / PROG_OP_BYTES * PROG_OP_BYTES;
	memcpy(out + n, b + from_b, rest);
	return n + rest;
}
