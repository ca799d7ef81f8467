/*
 * arch/context.h — the host's user context and the inline half of the
 * interface declared, with its contracts, in exo/arch/context.h.
 *
 * There is no user mode on the host, so struct arch_uctx is the host's own
 * record, deliberately unlike x86_64's (it proves core code needs no
 * register names): a program counter, a stack pointer, flags, eight
 * argument registers and a separate result, in the manner of a load/store
 * machine — syscall number in a[7], arguments in a[0..6], result in rv.
 * A syscall is taken to be a 4-byte instruction. The calls that would cross
 * into user mode — arch_user_enter, arch_user_exit, arch_user_regs,
 * arch_syscall_init — panic, naming themselves: host tests drive the kernel
 * through its C entry points instead (syscall_invoke).
 */
#pragma once

#include <exo/arch/context.h>

struct arch_uctx {
	uint64_t pc, sp, flags;
	uint64_t a[8]; /* a[0..6]: arguments (ARCH_UCTX_NARGS); a[7]: the syscall number */
	uint64_t rv;   /* the syscall's result */
	uint64_t s[8]; /* what a real machine would keep: callee-saved registers */
};

#define SIM_UCTX_FLAGS_IE 1ULL /* interrupts enabled in user mode */
#define SIM_SYSCALL_LEN 4      /* bytes of the (imagined) syscall instruction */

/* No user code runs, so there is no FPU state to keep. */
struct arch_fpu {
	uint8_t unused;
};
static inline void arch_fpu_init(struct arch_fpu *f)
{
	f->unused = 0;
}
static inline void arch_fpu_save(struct arch_fpu *f)
{
	(void)f;
}
static inline void arch_fpu_restore(const struct arch_fpu *f)
{
	(void)f;
}

static inline void arch_uctx_init(struct arch_uctx *u, uint64_t entry, uint64_t sp, uint64_t arg)
{
	*u = (struct arch_uctx){ .pc = entry, .sp = sp, .a = { arg }, .flags = SIM_UCTX_FLAGS_IE };
}

static inline void arch_uctx_init_call(struct arch_uctx *u, uint64_t entry, uint64_t sp,
				       uint64_t ret, const uint64_t v[ARCH_UCTX_NARGS])
{
	arch_uctx_init(u, entry, sp, 0);
	u->rv = ret;
	for (unsigned i = 0; i < ARCH_UCTX_NARGS; i++)
		u->a[i] = v[i];
}

static inline void arch_uctx_set_entry_arg(struct arch_uctx *u, unsigned i, uint64_t v)
{
	u->a[i % 7] = v; /* the C arguments: a[0..5] */
}

static inline uint64_t arch_uctx_syscall_nr(const struct arch_uctx *u)
{
	return u->a[7];
}
/* The ARCH_UCTX_NARGS arguments, contiguous, in order. */
static inline const uint64_t *arch_uctx_args(const struct arch_uctx *u)
{
	return u->a;
}

static inline uint64_t arch_uctx_arg(const struct arch_uctx *u, unsigned i)
{
	return u->a[i % 7];
}
static inline void arch_uctx_set_arg(struct arch_uctx *u, unsigned i, uint64_t v)
{
	u->a[i % 7] = v;
}
static inline uint64_t arch_uctx_ret(const struct arch_uctx *u)
{
	return u->rv;
}
static inline void arch_uctx_set_ret(struct arch_uctx *u, uint64_t v)
{
	u->rv = v;
}
static inline void arch_uctx_restart_syscall(struct arch_uctx *u)
{
	u->pc -= SIM_SYSCALL_LEN;
}
static inline uint64_t arch_uctx_sp(const struct arch_uctx *u)
{
	return u->sp;
}

/* The ABI's record is x86_64's; the host maps its registers onto it by role. */
static inline void arch_uctx_to_user(const struct arch_uctx *u, struct user_regs *out)
{
	*out = (struct user_regs){
		.rip = u->pc,
		.rsp = u->sp,
		.rflags = u->flags ? 1ULL << 9 : 0,
		.rax = u->rv,
		.rdi = u->a[0],
		.rsi = u->a[1],
		.rdx = u->a[2],
		.r10 = u->a[3],
		.r8 = u->a[4],
		.r9 = u->a[5],
		.r12 = u->a[6],
		.rcx = u->a[7],
		.rbx = u->s[0],
		.rbp = u->s[1],
		.r13 = u->s[2],
		.r14 = u->s[3],
		.r15 = u->s[4],
	};
}
