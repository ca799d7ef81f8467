/*
 * arch/context.h — user register state, and entering and leaving user mode.
 *
 * The kernel runs an environment by calling arch_user_enter(u), which
 * returns only when kernel code on this core calls arch_user_exit() — from a
 * syscall or a trap taken while that environment ran (yield, exit, a fatal
 * fault). Before that, the syscall path has saved the user registers into u.
 * A syscall that returns to the same environment does not go through
 * arch_user_enter again (sysret straight back).
 */
#pragma once

#include <exo/types.h>

struct arch_uctx {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rsp, rflags;
};

/*
 * An environment's FPU/SSE registers (the FXSAVE image). Saved eagerly at
 * every switch away from an environment and restored at every switch to
 * one: two instructions, against a lazy scheme's #NM trap and its
 * per-core owner tracking (docs/kernel.md says why).
 */
struct arch_fpu {
	uint8_t area[512];
} __attribute__((aligned(16)));

/* The state a new environment starts with: x87 control word 0x37f, MXCSR 0x1f80, all else 0. */
static inline void arch_fpu_init(struct arch_fpu *f)
{
	for (unsigned i = 0; i < sizeof(f->area); i++)
		f->area[i] = 0;
	f->area[0] = 0x7f; /* FCW */
	f->area[1] = 0x03;
	f->area[24] = 0x80; /* MXCSR */
	f->area[25] = 0x1f;
}

static inline void arch_fpu_save(struct arch_fpu *f) { __asm__ volatile("fxsave64 %0" : "=m"(*f)); }
static inline void arch_fpu_restore(const struct arch_fpu *f)
{
	__asm__ volatile("fxrstor64 %0" : : "m"(*f));
}

/* Fresh user context: start at entry with stack top sp and arg in the first argument register. */
void arch_uctx_init(struct arch_uctx *u, uint64_t entry, uint64_t sp, uint64_t arg);

/* Run user code from u until arch_user_exit() (see above). Interrupts are on in user mode. */
void arch_user_enter(struct arch_uctx *u);

/* Leave user mode for good on this entry: return from arch_user_enter. */
noreturn_fn void arch_user_exit(void);

/*
 * The user registers of the syscall or trap being handled on this core
 * (valid only inside syscall_dispatch or a user trap): save them to keep
 * the environment's state across arch_user_exit.
 */
struct arch_uctx *arch_user_regs(void);

/* Set up syscall/sysret on this core (MSRs). */
void arch_syscall_init(void);
