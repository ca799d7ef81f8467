/*
 * arch/context.h — user register state, and entering and leaving user mode.
 * Same interface as core/arch/x86_64/include/arch/context.h.
 *
 * Host: there is no user mode. struct arch_uctx is the same plain record of
 * x86_64 registers (so code that saves, inspects or edits a context builds
 * and behaves the same), and arch_uctx_init fills it as x86_64 does. The
 * calls that would cross into user mode — arch_user_enter, arch_user_exit,
 * arch_user_regs, arch_syscall_init — panic, naming themselves: host tests
 * drive the kernel through its C entry points instead.
 */
#pragma once

#include <exo/types.h>

struct arch_uctx {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rsp, rflags;
};

/* Host: no user code runs, so there is no FPU state to keep (see x86_64's). */
struct arch_fpu {
	uint8_t unused;
};
static inline void arch_fpu_init(struct arch_fpu *f) { f->unused = 0; }
static inline void arch_fpu_save(struct arch_fpu *f) { (void)f; }
static inline void arch_fpu_restore(const struct arch_fpu *f) { (void)f; }

/* Fresh user context: start at entry with stack top sp and arg in the first argument register. */
void arch_uctx_init(struct arch_uctx *u, uint64_t entry, uint64_t sp, uint64_t arg);

/* Run user code from u until arch_user_exit(). Host: panics (no user mode). */
void arch_user_enter(struct arch_uctx *u);

/* Leave user mode for good on this entry. Host: panics (no user mode). */
noreturn_fn void arch_user_exit(void);

/* The user registers of the syscall being handled. Host: panics (no user mode). */
struct arch_uctx *arch_user_regs(void);

/* Set up syscall/sysret on this core. Host: panics (no user mode). */
void arch_syscall_init(void);
