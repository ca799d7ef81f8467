/*
 * The cap_fuzz input format: a program of system calls, one fixed-size
 * record per operation, so that a mutation that keeps record boundaries
 * always yields a well-formed program (fuzz/README.md).
 *
 *	byte 0      environment: index into the run's list of environments
 *	byte 1      call: index into prog_calls[] (modulo its length)
 *	bytes 2..55 six arguments, 9 bytes each: a kind byte, then a
 *	            little-endian 64-bit value whose meaning depends on the kind
 *
 * A trailing partial record is ignored; records past PROG_MAX_OPS too.
 * Argument kinds (kind byte modulo ARG_KINDS):
 *
 *	ARG_SLOT   a live slot of the calling environment: value bits 0..7 a
 *	           type filter (enum obj_type, 0: any); bit 8 set: the k-th
 *	           most recent slot a call gave this environment (k = bits
 *	           9..), else the k-th of its matching slots in slot order;
 *	           any slot if none match, an empty one if it holds none
 *	ARG_RAW    the value itself
 *	ARG_CONST  prog_consts[value % PROG_NCONSTS]: the interesting numbers
 *	ARG_OUT    the environment's out-parameter page plus (value & 0xfff)
 *	ARG_FRAME  the number of an owned frame (by anyone): the value-th in
 *	           frame order; a free one if none is owned
 *
 * Only plain C: shared by the harness (decode, print) and the custom
 * mutator (generate, encode).
 */
#pragma once

#include <exo/abi.h>
#include <stddef.h>
#include <stdint.h>

#define PROG_ARGS      6
#define PROG_ARG_BYTES 9
#define PROG_OP_BYTES  (2 + PROG_ARGS * PROG_ARG_BYTES)
#define PROG_MAX_OPS   48

/* The machine every program runs on (cap_fuzz.c); constants refer to it. */
#define PROG_NFRAMES 64 /* frames of simulated memory: see cap_fuzz.c for why 64 */
#define PROG_KFRAMES 32 /* the first frames are the kernel's: the rest run out quickly */
#define PROG_NCORES  2
#define PROG_DISK_BLOCKS 64			   /* the machine's in-memory disk */
#define PROG_OUT_VA  (USER_BASE + 0x100 * 4096ULL) /* each environment's out-parameter page */
#define PROG_BPF_IMG_VA (PROG_OUT_VA + 2048)	   /* a BPF_LOAD image the set-up writes there */
#define PROG_BPF_IMG_LEN (64ULL + 2ULL * 8 + 24 + 3ULL * 64) /* libos/bpf.h BPF_IMAGE_BYTES(2) */

enum arg_kind { ARG_SLOT, ARG_RAW, ARG_CONST, ARG_OUT, ARG_FRAME, ARG_KINDS };
#define ARG_SLOT_RECENT 0x100 /* ARG_SLOT value bit: count back from the newest slot */

struct prog_arg {
	uint8_t kind;
	uint64_t val;
};

struct prog_op {
	uint8_t env, call;
	struct prog_arg arg[PROG_ARGS];
};

struct prog {
	unsigned n;
	struct prog_op op[PROG_MAX_OPS];
};

/* What an argument is for: steers the mutator's choice of kind and value. */
enum arg_type {
	T_NONE,	   /* unused: always 0 */
	T_SLOT,	   /* any capability */
	T_FSLOT,   /* a frame capability */
	T_ESLOT,   /* an environment capability */
	T_ESELF,   /* an environment capability or ENV_SELF */
	T_TSLOT,   /* a time-slot capability */
	T_FRAME,   /* frame number or FRAME_ANY, to allocate */
	T_OWNED,   /* frame number or FRAME_ANY, of an owned frame */
	T_FFLAGS,  /* FRAME_ALLOC flags */
	T_COUNT,   /* a number of frames */
	T_BITS,	   /* notification bits */
	T_VA,	   /* a page-aligned user address */
	T_IN,	   /* a user buffer to read */
	T_OUT,	   /* an out-parameter */
	T_LEN,	   /* a byte count */
	T_NPAGES,  /* a page count (1..512) */
	T_PROT,	   /* PROT_* bits */
	T_RIGHTS,  /* CAP_R_* bits */
	T_BADGE,   /* a 32-bit badge, 0: keep */
	T_FLAGS,   /* GRANT_COPY or GRANT_MOVE */
	T_CORE,	   /* a core id */
	T_INDEX,   /* a time-slot index or SLOT_ANY */
	T_PROGID,  /* a program id */
	T_KIND,	   /* an upcall kind */
	T_ENTRY,   /* a user code address, 0: none */
	T_STACK,   /* a stack base */
	T_SIZE,	   /* a stack size */
	T_RAWNUM,  /* anything */
	T_BSLOT,   /* a block-range capability */
	T_BLOCK,   /* first block or BLOCK_ANY */
	T_NBLOCKS, /* a number of blocks */
	T_BLKIDX,  /* a block within a range */
	T_OP,	   /* BLOCK_READ or BLOCK_WRITE */
	T_REQID,   /* a disk request id */
	T_WFLAGS,  /* BLOCK_WAIT flags */
	T_HOOK,	   /* a downloaded-code hook (1..3), or not */
	T_BPFIMG,  /* a BPF_LOAD image: the canned one, or another address */
	T_BPFLEN,  /* its length */
	T_REGION,  /* a frame capability or BPF_NO_REGION */
	T_TARGET,  /* an environment capability, or 0 */
};

struct prog_call {
	uint64_t nr; /* syscall number; PROG_NR_BAD: an unknown one (the first argument, at least
	                SYS_COUNT) */
	const char *name;
	uint8_t type[PROG_ARGS];
};
#define PROG_NR_BAD (~0ULL)
/*
 * Not a syscall: from here on the simulator's chooser (which core runs at
 * each scheduling point: the order of IPIs, acknowledgements and channel
 * messages between the cores) follows a PRNG seeded by the argument; 0:
 * the harness's fixed seed again.
 */
#define PROG_NR_SCHEDULE (~1ULL)
/*
 * Not a syscall either: user code of the environment reads (flags 0) or
 * writes (1) the byte at va, as the MMU would (sim_mmu_touch: accessed
 * and dirty bits), so READ_AD has something to report.
 */
#define PROG_NR_TOUCH (~2ULL)
/*
 * Not a syscall: the environment fills a table to its limit — makes one
 * kind of object (kind = first argument modulo PROG_FILL_KINDS) again and
 * again until the kernel refuses, so the calls after it meet full tables.
 * The second argument is a core (time slots, environments).
 */
#define PROG_NR_FILL (~3ULL)
enum prog_fill {
	PROG_FILL_CAPS,	  /* CAP_MINT of its first capability: the capability table */
	PROG_FILL_TSLOTS, /* SLOT_ALLOC(core, SLOT_ANY, ENV_SELF): a core's time slots */
	PROG_FILL_EPS,	  /* EP_CREATE(ENV_SELF, ...): endpoints (or the capability table) */
	PROG_FILL_ENVS,	  /* ENV_CREATE(core): environments (or frames, or slots) */
	PROG_FILL_FRAMES, /* FRAME_ALLOC(FRAME_ANY, 0): memory (E_NOMEM or E_AGAIN) */
	PROG_FILL_DISK,	  /* BLOCK_ALLOC, FRAME_ALLOC, then BLOCK_IO reads: outstanding requests */
	PROG_FILL_KINDS
};

extern const struct prog_call prog_calls[];
extern const unsigned prog_ncalls;

struct prog_const {
	uint64_t val;
	const char *name;
};
extern const struct prog_const prog_consts[];
extern const unsigned prog_nconsts;

/* Parse bytes into a program (never fails: every byte string is a program). */
void prog_decode(const uint8_t *data, size_t size, struct prog *p);

/* Write p as bytes into out (room for max bytes); returns the length. */
size_t prog_encode(const struct prog *p, uint8_t *out, size_t max);

/* The call an operation names. */
const struct prog_call *prog_call_of(const struct prog_op *op);

/* The name of an interesting constant equal to v, or NULL. */
const char *prog_const_name(uint64_t v);

/* splitmix64: the next number from the generator whose state is *s. */
uint64_t prog_rand(uint64_t *s);

/* Is an argument of this type a capability slot? */
int prog_is_slot_type(unsigned t);

/*
 * What an ARG_SLOT argument asks for: the object type (OBJ_NONE: any),
 * which of the matching slots (k, counted modulo their number), and
 * whether to count back from the slots made most recently.
 */
void prog_slot_wanted(const struct prog_arg *a, unsigned *type, uint64_t *k, int *recent);

/*
 * The value of an argument whose kind needs no environment's state:
 * ARG_CONST, ARG_OUT, ARG_RAW (and unknown kinds, taken raw). ARG_SLOT
 * and ARG_FRAME are the harness's to resolve.
 */
uint64_t prog_arg_plain(const struct prog_arg *a);

/*
 * The custom mutator (LLVMFuzzerCustomMutator): mutate whole operations
 * — insert, delete, swap, duplicate, change one argument — so the result
 * is always a program. fallback mutates raw bytes (libFuzzer's own
 * mutator), for the CMP-guided value changes only it can make.
 */
size_t prog_mutate(uint8_t *data, size_t size, size_t max, unsigned seed,
                   size_t (*fallback)(uint8_t *data, size_t size, size_t max));

/* Splice: the first part of a, the rest of b (LLVMFuzzerCustomCrossOver). */
size_t prog_crossover(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, uint8_t *out,
                      size_t max, unsigned seed);
