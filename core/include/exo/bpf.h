/*
 * Downloaded code (docs/downloaded-code.md): eBPF programs, in Linux's
 * instruction encoding, that an environment hands the kernel to run at one
 * of the kernel's own events (a hook), so that no upcall and no switch is
 * needed. This header is the contract between the verifier and interpreter
 * (core/bpf.c, core/bpf_elf.c: pure code, built for the host too) and the
 * hooks (core/bpf_hooks.c: the syscall, the object, the call sites).
 *
 * A hook is described by a table (struct bpf_hook_desc) that the hook code
 * owns: how big the context is and which of its bytes the program may read
 * or write, whether a data region is given, which helper calls it may make
 * and with what argument types, and the instruction budget of one run. The
 * verifier checks a program against that table once, at load; the
 * interpreter then runs it without re-checking what the verifier proved,
 * except the budget (counted at run time) and division by zero (defined as
 * Linux defines it: x / 0 = 0, x % 0 = x).
 *
 * Registers on entry: r1 = the context, r2 = the data region (a scalar 0
 * when the hook gives none), r10 = the top of a 512-byte stack; r0 is the
 * result. Every other register starts uninitialized and may not be read.
 */
#pragma once

#include <exo/types.h>

/* One instruction, exactly Linux's struct bpf_insn (8 bytes). */
struct bpf_insn {
	uint8_t code;
	uint8_t regs; /* dst in bits 0..3, src in bits 4..7 */
	int16_t off;
	int32_t imm;
};
_Static_assert(sizeof(struct bpf_insn) == 8, "bpf_insn is Linux's 8 bytes");

static inline unsigned bpf_dst(const struct bpf_insn *i)
{
	return i->regs & 0xf;
}
static inline unsigned bpf_src(const struct bpf_insn *i)
{
	return i->regs >> 4;
}

/*
 * The encoding (Linux's include/uapi/linux/bpf_common.h and bpf.h): the
 * low three bits of code are the class; for ALU and JMP classes bit 3 says
 * whether the source is src (BPF_X) or imm (BPF_K) and bits 4..7 the
 * operation; for loads and stores bits 3..4 the size, bits 5..7 the mode.
 */
#define BPF_CLASS(code) ((code)&0x07)
#define BPF_LD 0x00
#define BPF_LDX 0x01
#define BPF_ST 0x02
#define BPF_STX 0x03
#define BPF_ALU 0x04
#define BPF_JMP 0x05
#define BPF_JMP32 0x06
#define BPF_ALU64 0x07

#define BPF_SIZE(code) ((code)&0x18)
#define BPF_W 0x00
#define BPF_H 0x08
#define BPF_B 0x10
#define BPF_DW 0x18
#define BPF_MODE(code) ((code)&0xe0)
#define BPF_IMM 0x00
#define BPF_ABS 0x20
#define BPF_IND 0x40
#define BPF_MEM 0x60
#define BPF_ATOMIC 0xc0

#define BPF_OP(code) ((code)&0xf0)
#define BPF_SRC(code) ((code)&0x08)
#define BPF_K 0x00
#define BPF_X 0x08
#define BPF_ADD 0x00
#define BPF_SUB 0x10
#define BPF_MUL 0x20
#define BPF_DIV 0x30
#define BPF_OR 0x40
#define BPF_AND 0x50
#define BPF_LSH 0x60
#define BPF_RSH 0x70
#define BPF_NEG 0x80
#define BPF_MOD 0x90
#define BPF_XOR 0xa0
#define BPF_MOV 0xb0
#define BPF_ARSH 0xc0
#define BPF_END 0xd0 /* BPF_K: to little endian, BPF_X: to big endian; imm 16/32/64 */

#define BPF_JA 0x00
#define BPF_JEQ 0x10
#define BPF_JGT 0x20
#define BPF_JGE 0x30
#define BPF_JSET 0x40
#define BPF_JNE 0x50
#define BPF_JSGT 0x60
#define BPF_JSGE 0x70
#define BPF_CALL 0x80
#define BPF_EXIT 0x90
#define BPF_JLT 0xa0
#define BPF_JLE 0xb0
#define BPF_JSLT 0xc0
#define BPF_JSLE 0xd0

/* An instruction, for tables of programs: BPF_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7). */
#define BPF_INSN(c, d, s, o, i)                                                                    \
	((struct bpf_insn){                                                                        \
	    .code = (c), .regs = (uint8_t)(((s) << 4) | (d)), .off = (o), .imm = (i) })

#define BPF_MAX_INSNS 4096 /* the most instructions one program may have */
#define BPF_STACK_SIZE 512
#define BPF_MAX_HELPERS 16 /* helper ids a hook may allow: 1..BPF_MAX_HELPERS-1 */
/*
 * The verifier walks the program once, in order (jumps go forward only), and
 * keeps one merged state per branch target not reached yet; at most this many
 * at once (each is about 700 bytes: bpf_verify needs
 * about 7 KiB of stack).
 */
#define BPF_MAX_OPEN 8

/* The hooks (ABI: SYS_BPF_LOAD's hook argument). */
enum bpf_hook {
	BPF_HOOK_WAKEUP = 1,  /* slice start: run the env? r0 != 0 = yes */
	BPF_HOOK_REVOKE = 2,  /* revocation request: name victim frames */
	BPF_HOOK_MESSAGE = 3, /* channel message arrived: consume / reply */
	BPF_HOOK_COUNT
};

/* What a helper argument or the result must be, for the verifier. */
enum bpf_arg {
	BPF_ARG_NONE = 0, /* unused: the register is not read */
	BPF_ARG_SCALAR,	  /* any initialized scalar */
	BPF_ARG_CTX,	  /* the context pointer, unmodified */
	BPF_ARG_MEM_RD,	  /* pointer to readable memory; next arg is its size */
	BPF_ARG_MEM_WR,	  /* pointer to writable memory; next arg is its size */
	BPF_ARG_SIZE,	  /* a scalar whose bounds are known, the preceding size */
};

struct bpf_run_env; /* what the hook passes through bpf_run to its helpers */

struct bpf_helper {
	const char *name;     /* for errors and docs: "chan_reply" */
	enum bpf_arg args[5]; /* r1..r5 */
	/* The helper itself. Its arguments were checked as args says. */
	uint64_t (*fn)(struct bpf_run_env *env, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		       uint64_t a5);
};

struct bpf_hook_desc {
	const char *name;     /* "wakeup" */
	uint32_t ctx_size;    /* bytes of the context r1 points to */
	uint32_t ctx_wr_off;  /* the program may write [ctx_wr_off, ctx_wr_end) */
	uint32_t ctx_wr_end;  /*   of the context (both 0: read-only) */
	bool region;	      /* r2 points to the data region */
	uint32_t region_size; /* its size in bytes when region */
	bool region_writable; /* the program may store into the region */
	uint64_t budget;      /* instructions one run may execute */
	struct bpf_helper helpers[BPF_MAX_HELPERS]; /* by id; name NULL = not allowed */
};

/* Why a program was refused: the rule broken (ABI: the load's error report). */
enum bpf_rule {
	BPF_OK = 0,
	BPF_R_ELF,	   /* the ELF image is malformed or has no program section */
	BPF_R_SIZE,	   /* no instructions, or more than BPF_MAX_INSNS */
	BPF_R_OPCODE,	   /* unknown or unsupported opcode */
	BPF_R_REG,	   /* a register number above r10, or a write to r10 */
	BPF_R_UNINIT,	   /* a register read before it was written */
	BPF_R_JUMP_RANGE,  /* a jump target outside the program */
	BPF_R_JUMP_BACK,   /* a backward jump (a loop) */
	BPF_R_FALLTHROUGH, /* the last instruction is not exit or a jump */
	BPF_R_MEM_BOUNDS,  /* a load or store outside its object */
	BPF_R_MEM_TYPE,	   /* a load or store through a non-pointer */
	BPF_R_MEM_RDONLY,  /* a store into read-only memory */
	BPF_R_PTR_LEAK,	   /* a pointer stored, returned or passed where a scalar must be */
	BPF_R_PTR_ARITH,   /* arithmetic a pointer may not take part in */
	BPF_R_HELPER,	   /* a helper id the hook does not allow */
	BPF_R_HELPER_ARG,  /* a helper argument of the wrong type or size */
	BPF_R_DIV_ZERO,	   /* division or modulo by the constant 0 */
	BPF_R_LDDW,	   /* a 64-bit immediate load split or malformed */
	BPF_R_RESULT,	   /* r0 not a scalar at exit */
	BPF_R_HOOK,	   /* no such hook, or the program does not fit it */
	BPF_R_COMPLEX,	   /* more than BPF_MAX_OPEN branch targets pending at once */
	BPF_R_COUNT
};

struct bpf_verdict {
	enum bpf_rule rule; /* BPF_OK: accepted */
	uint32_t insn;	    /* index of the offending instruction */
	const char *why;    /* BPF_R_ELF: what is wrong with the image (static); else NULL */
};

/* The rule's name ("jump-back"), for messages. */
const char *bpf_rule_name(enum bpf_rule rule);

/*
 * Checks prog[0..n) against hook. Returns E_OK, or E_INVAL with *v saying
 * which instruction broke which rule. Reads only prog and hook.
 */
must_check int bpf_verify(const struct bpf_insn *prog, uint32_t n, const struct bpf_hook_desc *hook,
			  struct bpf_verdict *v);

/*
 * Finds the program in a `clang -target bpf` ELF object (the first
 * executable PROGBITS section, or the one named section when section is
 * not NULL) and points *insns, *n at it inside image. E_INVAL with
 * v->rule = BPF_R_ELF on a malformed image; never reads past size.
 */
must_check int bpf_elf_find(const void *image, uint64_t size, const char *section,
			    const struct bpf_insn **insns, uint32_t *n, struct bpf_verdict *v);

/*
 * Runs a verified program. ctx and region are what the hook described;
 * env is passed to helpers. *result = r0. Returns E_OK, or E_TIMEOUT when
 * the budget ran out (the hook then treats the run as "no"). Never fails
 * otherwise on a program bpf_verify accepted for hook.
 */
must_check int bpf_run(const struct bpf_insn *prog, uint32_t n, const struct bpf_hook_desc *hook,
		       void *ctx, void *region, struct bpf_run_env *env, uint64_t *result);

/*
 * What the registers a program may not read hold on entry, and the bytes of
 * its stack (0). Not secret: the fuzzer changes it between two runs of one
 * program to show that no result depends on it.
 */
extern uint64_t bpf_uninit_fill;

/* As bpf_run, and *steps = the instructions executed (never above the budget). */
must_check int bpf_run_steps(const struct bpf_insn *prog, uint32_t n,
			     const struct bpf_hook_desc *hook, void *ctx, void *region,
			     struct bpf_run_env *env, uint64_t *result, uint64_t *steps);
