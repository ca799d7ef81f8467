/*
 * The system call ABI: shared by the kernel and every user program (the
 * libOS includes this header and nothing else of the kernel's).
 *
 * `syscall` with the number in rax and arguments in rdi, rsi, rdx, r10, r8,
 * r9; the result in rax: >= 0 on success, or a negative enum err
 * (exo/errors.h). docs/syscalls.md gives each call's rights and errors.
 * Numbers are ABI: append, never renumber.
 */
#pragma once

#include <exo/errors.h>
#include <exo/types.h>

enum sys_nr {
	SYS_CONSOLE_WRITE = 0, /* (va, len) -> len */
	SYS_CORE_ID = 1,       /* () -> this core's id */
	SYS_TIME = 2,	       /* (out va: struct sys_time) -> 0 */
	SYS_YIELD = 3,	       /* () -> 0, after the other runnable environments ran */
	SYS_EXIT = 4,	       /* (status) -> does not return */
	SYS_FRAME_ALLOC =
	    5, /* (frame number or FRAME_ANY, flags FRAME_WAIT) -> root frame cap slot */
	SYS_FRAME_FREE = 6,   /* (slot) -> 0: frees the frame (root cap, no derived caps) */
	SYS_MAP = 7,	      /* (slot, va, prot) -> 0: binds the frame cap at va */
	SYS_UNMAP = 8,	      /* (slot) -> 0: removes the cap's binding */
	SYS_READ_AD = 9,      /* (va, npages, out va: uint8_t[npages]) -> 0 */
	SYS_CAP_MINT = 10,    /* (slot, rights, badge) -> new slot */
	SYS_CAP_GRANT = 11,   /* (slot, env slot, flags) -> slot in the target env */
	SYS_CAP_REVOKE = 12,  /* (slot) -> 0 done, E_AGAIN: call again to go on */
	SYS_CAP_DELETE = 13,  /* (slot) -> 0 */
	SYS_CAP_INSPECT = 14, /* (slot, out va: struct cap_info) -> 0 */
	SYS_ENV_CREATE = 15,  /* (core) -> slot of a new env cap */
	SYS_ENV_START = 16,   /* (env slot, program id, arg, args va, args len) -> 0 */
	SYS_ENV_DESTROY = 17, /* (env slot) -> 0 */
	SYS_ENV_STATUS = 18,  /* (env slot) -> exit status, E_AGAIN while running */
	SYS_DEBUG_CHECK = 19, /* () -> problems the invariant checker finds in the caller (0) */
	SYS_FRAME_COUNT = 20, /* () -> free frames in the machine */
	SYS_UPCALL_SET = 21,  /* (kind, entry, stack base, stack size) -> 0 */
	SYS_SLOT_ALLOC = 22,  /* (core, slot or SLOT_ANY, env slot or ENV_SELF) -> slot cap */
	SYS_SLOT_FREE = 23,   /* (slot cap) -> 0 */
	SYS_YIELD_TO = 24,    /* (env slot) -> 0: the rest of this slice goes to that env */
	SYS_ENV_CPU = 25,     /* (env slot or ENV_SELF, core) -> cycles it ran on core */
	SYS_EP_CREATE = 26,   /* (env slot or ENV_SELF, entry, stack base, size) -> endpoint cap */
	SYS_PCT_CALL = 27, /* (ep slot, a0..a4; a5 in r12) -> 0, results in rsi rdx r10 r8 r9 r12 */
	SYS_PCT_REPLY = 28,  /* (r0..r5: rdi rsi rdx r10 r8 r9) -> the caller resumes */
	SYS_REVOKE_ASK = 29, /* (env slot, frame or FRAME_ANY, count) -> 0: asked */
	SYS_REPOSS_READ =
	    30, /* (out va: uint64_t[64]) -> frames taken by force, since the last read */
	SYS_GUARANTEE = 31,   /* (env slot, frames) -> 0: frames never revoked */
	SYS_NOTIFY = 32,      /* (env slot, bits) -> 0: OR bits into its notifications */
	SYS_NOTIFY_TAKE = 33, /* () -> this environment's notification bits, cleared */
	SYS_DISK_INFO = 34,   /* (out va: struct disk_info) -> 0; E_NOTSUP: no disk */
	SYS_BLOCK_ALLOC = 35, /* (first block or BLOCK_ANY, count) -> block-range cap slot */
	SYS_BLOCK_FREE = 36,  /* (slot) -> 0: frees the range (root cap, none derived) */
	SYS_BLOCK_IO = 37,    /* (blocks slot, block, frame slot, op, notify bits) -> request id */
	SYS_BLOCK_WAIT = 38,  /* (request id, flags) -> 0 done, E_AGAIN in flight, or its error */
	SYS_BPF_LOAD = 39,    /* (hook, image, len, region, verdict va, target) -> prog cap */
	SYS_COUNT
};

/*
 * Not a call: the entry stub returns it at once (rax unchanged), so a
 * benchmark can time the bare syscall + sysret.
 */
#define SYSCALL_RAW_NR 0x7fffffffULL

/* Object types a capability can name. */
enum obj_type {
	OBJ_NONE = 0, /* empty slot */
	OBJ_FRAME = 1,
	OBJ_ENV = 2,
	OBJ_SLOT = 3,	  /* a time slot: object id core * 64 + index */
	OBJ_ENDPOINT = 4, /* a protected control transfer target */
	OBJ_BLOCKS = 5,	  /* a range of disk blocks: object id first | count << 32 */
	OBJ_BPF = 6,	  /* a loaded, attached eBPF program (docs/downloaded-code.md) */
	OBJ_TYPES
};

/* Rights. Mint can only remove them. */
enum cap_rights {
	CAP_R_READ = 1u << 0,  /* frame: map readable; blocks: read them into a frame */
	CAP_R_WRITE = 1u << 1, /* frame: map writable; endpoint: call; blocks: write them */
	CAP_R_EXEC = 1u << 2,  /* frame: map executable */
	CAP_R_MAP = 1u << 3,   /* frame: may be mapped at all */
	CAP_R_GRANT = 1u << 4, /* may be minted from and granted onward */
	CAP_R_CTRL = 1u << 5,  /* env: start, destroy, grant into; frame, slot: free */
	CAP_R_ALL = (1u << 6) - 1,
};

/* SYS_MAP prot bits (the cap must hold the matching rights). */
enum map_prot {
	PROT_R = 1u << 0,
	PROT_W = 1u << 1,
	PROT_X = 1u << 2,
};

/* SYS_READ_AD result bits, one byte per page. */
enum ad_bits {
	AD_MAPPED = 1u << 0,
	AD_ACCESSED = 1u << 1,
	AD_DIRTY = 1u << 2,
};

/* SYS_CAP_GRANT flags. */
enum grant_flags {
	GRANT_COPY = 0, /* the target gets a child of the cap */
	GRANT_MOVE = 1, /* the cap itself moves; the source slot becomes empty */
};

#define FRAME_ANY (~0ULL)
#define FRAME_WAIT 1ULL /* SYS_FRAME_ALLOC: under memory pressure, wait instead of E_AGAIN */
#define ENV_SELF (~0ULL) /* "the caller" where an env slot is expected */
/*
 * ENV_START's limits word (its sixth argument; 0: none, the parent's bound
 * alone): environments it and its descendants may create, endpoints and
 * kernel frames they may hold (page tables and capability-table pages).
 * Each at most the parent's own (E_RANGE).
 */
#define ENV_LIMITS(envs, endpoints, pt_frames)                                                     \
	((uint64_t)(envs) | (uint64_t)(endpoints) << 16 | (uint64_t)(pt_frames) << 32)
#define ENV_LIMIT_ENVS(w) ((w)&0xffff)
#define ENV_LIMIT_ENDPOINTS(w) (((w) >> 16) & 0xffff)
#define ENV_LIMIT_PT_FRAMES(w) ((w) >> 32)
#define SLOT_ANY (~0ULL) /* "any free slot" for SYS_SLOT_ALLOC */
/*
 * Capability slots an environment may hold, at most: its table grows on
 * demand by pages of CAP_PAGE_SLOTS slots, each a kernel frame charged to
 * it and its ancestors under ENV_LIMITS' third limit (docs/kernel.md).
 */
#define CAP_SLOTS 8192
#define CAP_PAGE_SLOTS 64
/*
 * SYS_ENV_START's arguments: words, each ending in a NUL (key=value by
 * convention), at most ENV_ARGS_MAX bytes in all. The program finds them at
 * the top of its stack (crt0: r8 = their address, r9 = their length).
 */
#define ENV_ARGS_MAX 1024

/* User address space: [USER_BASE, USER_END). */
#define USER_BASE 0x0000000000400000ULL
#define USER_END 0x00007ffffffff000ULL /* one page short: sysret must never return to a non-canonical rip */

struct cap_info {
	uint32_t type;	 /* enum obj_type */
	uint32_t rights; /* enum cap_rights */
	uint64_t badge;
	uint64_t object; /* frame number, or env id */
	uint64_t gen;	 /* the object's generation the cap was minted for */
	uint32_t parent_env;  /* env id holding the parent cap, or CAP_NO_SLOT for a root */
	uint32_t parent_slot; /* its slot there, or CAP_NO_SLOT */
	uint32_t depth;	      /* 0 for a root (from alloc or create) */
	uint32_t children;    /* caps derived directly from this one */
	uint64_t bound_va; /* frame: where it is mapped, 0 if not */
};
#define CAP_NO_SLOT 0xffffffffu

/* Upcalls: where the kernel enters an environment's libOS (SYS_UPCALL_SET). */
enum upcall_kind {
	UPCALL_FAULT = 0, /* an exception in user mode: entry(struct upcall_fault *) */
	UPCALL_SCHED = 1, /* a slice starts: entry(struct upcall_sched *) */
	UPCALL_REVOKE = 2, /* give frames back, or they were taken: entry(struct upcall_revoke *) */
	UPCALL_KINDS
};

/* The registers of an interrupted user context (x86_64). */
struct user_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rsp, rflags;
};

/*
 * What a fault upcall finds at the top of its exception stack (rdi points
 * at it): the exception, and the interrupted context to resume.
 */
struct upcall_fault {
	uint64_t vector; /* x86 exception vector: 0 #DE, 3 #BP, 6 #UD, 13 #GP, 14 #PF, ... */
	uint64_t error;	 /* the CPU's error code, 0 if it has none */
	uint64_t addr;	 /* #PF: the faulting address (CR2); else 0 */
	struct user_regs regs;
};

/*
 * What a scheduler upcall finds at the top of its stack at a slice start:
 * the context the environment would otherwise resume (it may resume it,
 * or another thread's: libos_resume).
 */
struct upcall_sched {
	uint64_t core;	   /* this core */
	uint64_t slot;	   /* the slot whose slice this is; ~0: a slice of the free time */
	uint64_t slice_ns; /* its length */
	struct user_regs regs;
};

/*
 * A revocation upcall: the kernel asks for `count` frames back (frame ==
 * FRAME_ANY: the libOS chooses which) or for one named frame, to be returned
 * with SYS_FRAME_FREE before `deadline` (cycle counter of the home core);
 * past it, the kernel takes them by force (the abort protocol) and the next
 * upcall says so (kind REVOKE_TAKEN; SYS_REPOSS_READ lists the frames).
 */
enum revoke_kind { REVOKE_ASKED = 0, REVOKE_TAKEN = 1 };

struct upcall_revoke {
	uint64_t kind;	   /* enum revoke_kind */
	uint64_t frame;	   /* the frame asked for, or FRAME_ANY */
	uint64_t count;	   /* how many frames are still asked for / were taken */
	uint64_t deadline; /* home core's cycle counter */
	struct user_regs regs; /* the context to resume */
};

/*
 * The exported disk (docs/paging.md). Blocks are BLOCK_SIZE bytes, named by
 * number; a block-range capability (OBJ_BLOCKS) names [first, first + count).
 * SYS_BLOCK_IO moves one block between the disk and a whole frame the
 * caller holds a capability for: BLOCK_READ (disk -> frame) needs READ on
 * the blocks and WRITE on the frame; BLOCK_WRITE (frame -> disk) needs
 * WRITE on the blocks and READ on the frame. It returns a request id at
 * once; the request completes later, ORing `notify bits` (if any) into the
 * caller's notifications, and SYS_BLOCK_WAIT(id) collects its result.
 */
#define BLOCK_SIZE 4096ULL
#define BLOCK_ANY (~0ULL) /* SYS_BLOCK_ALLOC: any free run of count blocks */
enum block_op { BLOCK_READ = 0, BLOCK_WRITE = 1 };
enum block_wait_flags {
	BLOCK_POLL = 0,	     /* E_AGAIN while the request is in flight */
	BLOCK_WAIT_DONE = 1, /* wait in the kernel until it completes */
};

struct disk_info {
	uint64_t blocks;	  /* on the disk */
	uint64_t free_blocks;	  /* not in any block range */
	uint32_t block_size;	  /* BLOCK_SIZE */
	uint32_t inflight_max;	  /* requests in flight per environment */
	uint32_t inflight_device; /* requests in flight on the device, all cores */
	uint32_t reserved;
};

struct sys_time {
	uint64_t cycles;     /* the core's cycle counter */
	uint64_t cycles_hz;  /* its calibrated rate */
};

/*
 * Downloaded code (docs/downloaded-code.md). SYS_BPF_LOAD(hook, image va,
 * image len, region, verdict va, target) verifies the program in a
 * `clang -target bpf` ELF object and attaches it to the caller at hook
 * (enum bpf_hook in exo/bpf.h: 1 wakeup, 2 revoke, 3 message). region: the
 * slot of a frame capability the caller owns (its data region, one page,
 * read by the program through r2), or BPF_NO_REGION. target: for the
 * message hook, the slot of an env capability with WRITE (whom its reply
 * helper notifies), else 0. The verdict {rule, insn} is written to verdict
 * va (0: not wanted) whether the program is accepted or refused (E_INVAL).
 * The result is the slot of an OBJ_BPF capability: deleting it detaches.
 */
#define BPF_NO_REGION (~0ULL)
/* Instructions one run of each hook may execute; past it, the run counts as "no". */
#define BPF_BUDGET_WAKEUP 1024
#define BPF_BUDGET_REVOKE 2048
#define BPF_BUDGET_MESSAGE 2048
#define BPF_IMAGE_MAX (32768ULL + 4096ULL) /* bytes of ELF image SYS_BPF_LOAD takes */

struct bpf_load_verdict {
	uint32_t rule; /* enum bpf_rule (exo/bpf.h): 0 accepted */
	uint32_t insn; /* the offending instruction's index */
};

/* The wakeup predicate's context (read-only): r0 != 0 runs the slice. */
struct bpf_wakeup_ctx {
	uint64_t core;	      /* this core */
	uint64_t slot;	      /* the slot whose slice starts, ~0: free time */
	uint64_t now;	      /* cycle counter */
	uint64_t notify_bits; /* notifications not yet taken */
};

/* The revocation handler's context (read-only); helper 1 gives a frame back. */
struct bpf_revoke_ctx {
	uint64_t frame;	   /* the frame asked for, or FRAME_ANY */
	uint64_t count;	   /* frames still asked for */
	uint64_t deadline; /* cycle counter */
	uint64_t now;
};
#define BPF_HELPER_REVOKE_GIVE 1 /* (frame) -> 0, or the error SYS_FRAME_FREE would give */

/*
 * The message handler's context (read-only): run when notification bits
 * arrive for the environment. r0 != 0: consumed, the bits are not
 * delivered and the environment not woken; 0: delivered as usual.
 */
struct bpf_msg_ctx {
	uint64_t bits; /* the notification bits that arrived */
	uint64_t now;  /* cycle counter */
};
#define BPF_HELPER_MSG_NOTIFY 1 /* (bits) -> 0 or error: notify the load's target */
