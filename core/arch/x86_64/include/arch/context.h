/*
 * arch/context.h — x86_64's user context and the inline half of the
 * interface declared, with its contracts, in exo/arch/context.h.
 *
 * The syscall ABI (exo/abi.h): number in rax, arguments in rdi, rsi, rdx,
 * r10, r8, r9 (PCT's seventh value in r12), result in rax. Program entry
 * follows the C calling convention: rdi, rsi, rdx, rcx.
 */
#pragma once

#include <exo/arch/context.h>

/*
 * The layout is used from assembly (user.S: asm-offsets.h, checked in gdt.c).
 * The syscall arguments rdi, rsi, rdx, r10, r8, r9 and r12 (ARCH_UCTX_NARGS)
 * come first after rax, in the ABI's order: the dispatcher hands the handler
 * a pointer to them where the entry saved them (arch_uctx_args), no copy.
 */
struct arch_uctx {
	uint64_t rax;
	uint64_t rdi, rsi, rdx, r10, r8, r9, r12;
	uint64_t rbx, rcx, rbp, r11, r13, r14, r15;
	uint64_t rip, rsp, rflags;
};

#define ARCH_RFLAGS_RESERVED1 (1ULL << 1) /* always reads as 1 */
#define ARCH_RFLAGS_IF (1ULL << 9)

/*
 * An environment's FPU/SSE registers (the FXSAVE image). Saved eagerly at
 * every switch away from an environment and restored at every switch to
 * one: two instructions, against a lazy scheme's #NM trap and its
 * per-core owner tracking (docs/kernel.md says why).
 */
struct arch_fpu {
	uint8_t area[512];
} __attribute__((aligned(16)));

/* x87 control word 0x37f, MXCSR 0x1f80, all else 0. */
static inline void arch_fpu_init(struct arch_fpu *f)
{
	for (unsigned i = 0; i < sizeof(f->area); i++)
		f->area[i] = 0;
	f->area[0] = 0x7f; /* FCW */
	f->area[1] = 0x03;
	f->area[24] = 0x80; /* MXCSR */
	f->area[25] = 0x1f;
}

static inline void arch_fpu_save(struct arch_fpu *f)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*f));
}
static inline void arch_fpu_restore(const struct arch_fpu *f)
{
	__asm__ volatile("fxrstor64 %0" : : "m"(*f));
}

static inline void arch_uctx_init(struct arch_uctx *u, uint64_t entry, uint64_t sp, uint64_t arg)
{
	*u = (struct arch_uctx){ .rip = entry,
				 .rsp = sp,
				 .rdi = arg,
				 .rflags = ARCH_RFLAGS_IF | ARCH_RFLAGS_RESERVED1 };
}

static inline void arch_uctx_init_call(struct arch_uctx *u, uint64_t entry, uint64_t sp,
				       uint64_t ret, const uint64_t v[ARCH_UCTX_NARGS])
{
	*u = (struct arch_uctx){ .rip = entry,
				 .rsp = sp,
				 .rflags = ARCH_RFLAGS_IF | ARCH_RFLAGS_RESERVED1,
				 .rax = ret,
				 .rdi = v[0],
				 .rsi = v[1],
				 .rdx = v[2],
				 .r10 = v[3],
				 .r8 = v[4],
				 .r9 = v[5],
				 .r12 = v[6] };
}

static inline void arch_uctx_set_entry_arg(struct arch_uctx *u, unsigned i, uint64_t v)
{
	switch (i) {
	case 1:
		u->rsi = v;
		break;
	case 2:
		u->rdx = v;
		break;
	case 3:
		u->rcx = v;
		break;
	case 4:
		u->r8 = v;
		break;
	default:
		u->r9 = v;
		break;
	}
}

static inline uint64_t arch_uctx_syscall_nr(const struct arch_uctx *u)
{
	return u->rax;
}

/* Constant i folds to one field access. */
static inline uint64_t *arch_uctx_argp_(struct arch_uctx *u, unsigned i)
{
	switch (i) {
	case 0:
		return &u->rdi;
	case 1:
		return &u->rsi;
	case 2:
		return &u->rdx;
	case 3:
		return &u->r10;
	case 4:
		return &u->r8;
	case 5:
		return &u->r9;
	default:
		return &u->r12;
	}
}

/* The ARCH_UCTX_NARGS arguments, contiguous, in order. */
static inline const uint64_t *arch_uctx_args(const struct arch_uctx *u)
{
	return &u->rdi;
}

static inline uint64_t arch_uctx_arg(const struct arch_uctx *u, unsigned i)
{
	return *arch_uctx_argp_((struct arch_uctx *)u, i);
}

static inline void arch_uctx_set_arg(struct arch_uctx *u, unsigned i, uint64_t v)
{
	*arch_uctx_argp_(u, i) = v;
}

static inline uint64_t arch_uctx_ret(const struct arch_uctx *u)
{
	return u->rax;
}
static inline void arch_uctx_set_ret(struct arch_uctx *u, uint64_t v)
{
	u->rax = v;
}

/* rax still holds the number: the syscall path saved it and wrote no result yet. */
static inline void arch_uctx_restart_syscall(struct arch_uctx *u)
{
	u->rip -= 2;
}

static inline uint64_t arch_uctx_sp(const struct arch_uctx *u)
{
	return u->rsp;
}

static inline void arch_uctx_to_user(const struct arch_uctx *u, struct user_regs *out)
{
	/* Field by field: user_regs keeps the ABI's order, arch_uctx the syscall path's. */
	*out = (struct user_regs){
		.rax = u->rax,
		.rbx = u->rbx,
		.rcx = u->rcx,
		.rdx = u->rdx,
		.rsi = u->rsi,
		.rdi = u->rdi,
		.rbp = u->rbp,
		.r8 = u->r8,
		.r9 = u->r9,
		.r10 = u->r10,
		.r11 = u->r11,
		.r12 = u->r12,
		.r13 = u->r13,
		.r14 = u->r14,
		.r15 = u->r15,
		.rip = u->rip,
		.rsp = u->rsp,
		.rflags = u->rflags,
	};
}
