/*
 * exo/arch/context.h — the arch interface for user register state, and for
 * entering and leaving user mode. Declared here once, with its contract;
 * each arch implements it in its own <arch/context.h>, which includes this
 * file and adds struct arch_uctx and the bodies of the inline accessors.
 * Core code includes <arch/context.h>, never this file alone.
 *
 * struct arch_uctx is the arch's own record of a user context. Core code
 * never reads its fields: it copies whole contexts and goes through the
 * accessors below, which are static inline in every arch so that the
 * syscall path costs what a field access would.
 *
 * The kernel runs an environment by calling arch_user_enter(u), which
 * returns only when kernel code on this core calls arch_user_exit() — from a
 * syscall or a trap taken while that environment ran (yield, exit, a fatal
 * fault). Before that, the syscall path has saved the user registers into u.
 * A syscall that returns to the same environment does not go through
 * arch_user_enter again (it returns straight to user mode).
 */
#pragma once

#include <exo/abi.h>
#include <exo/types.h>

struct arch_uctx;

/*
 * The values a context carries across a syscall or a protected control
 * transfer, by position: 0..5 are the syscall's arguments (exo/abi.h says
 * which registers), 6 the one more value a PCT call and reply pass (x86_64:
 * r12). ARCH_UCTX_NARGS bounds i in arch_uctx_arg and arch_uctx_set_arg.
 */
#define ARCH_UCTX_NARGS 7

/*
 * Fresh user context: start at entry with stack pointer sp, arg as the
 * first argument of the function at entry (the C calling convention), every
 * other register zero, interrupts enabled.
 */
static inline void arch_uctx_init(struct arch_uctx *u, uint64_t entry, uint64_t sp, uint64_t arg);

/*
 * Fresh user context for a protected control transfer: as arch_uctx_init,
 * but with result ret and the values v[0..ARCH_UCTX_NARGS-1] where
 * arch_uctx_arg finds them (one initializer, so the call path writes each
 * register once).
 */
static inline void arch_uctx_init_call(struct arch_uctx *u, uint64_t entry, uint64_t sp,
				       uint64_t ret, const uint64_t v[ARCH_UCTX_NARGS]);

/* Set the i-th C argument (1 <= i <= 5) of the function a fresh context starts at. */
static inline void arch_uctx_set_entry_arg(struct arch_uctx *u, unsigned i, uint64_t v);

/* The syscall number of the syscall u made. */
static inline uint64_t arch_uctx_syscall_nr(const struct arch_uctx *u);

/* Its ARCH_UCTX_NARGS arguments as one array (inside u: valid while u is). */
static inline const uint64_t *arch_uctx_args(const struct arch_uctx *u);

/* Argument i (i < ARCH_UCTX_NARGS) of the syscall u made, or the value passed at i. */
static inline uint64_t arch_uctx_arg(const struct arch_uctx *u, unsigned i);
static inline void arch_uctx_set_arg(struct arch_uctx *u, unsigned i, uint64_t v);

/* The syscall result u will see when it resumes (x86_64: rax). */
static inline uint64_t arch_uctx_ret(const struct arch_uctx *u);
static inline void arch_uctx_set_ret(struct arch_uctx *u, uint64_t v);

/*
 * Make u, saved during a syscall, make the same syscall again when resumed
 * (x86_64: rip back over the 2-byte syscall instruction). Its number and
 * arguments must be as they were when it was made.
 */
static inline void arch_uctx_restart_syscall(struct arch_uctx *u);

/* The user stack pointer of u. */
static inline uint64_t arch_uctx_sp(const struct arch_uctx *u);

/* u in the ABI's layout (struct user_regs, exo/abi.h), as upcalls hand it to the libOS. */
static inline void arch_uctx_to_user(const struct arch_uctx *u, struct user_regs *out);

/*
 * struct arch_fpu, the arch's record of a user context's floating-point and
 * vector registers, is kept beside struct arch_uctx (switched eagerly).
 */
struct arch_fpu;

/* The state a new environment's FPU registers start in. */
static inline void arch_fpu_init(struct arch_fpu *f);

/* Save this core's FPU registers into f, or load them from f. */
static inline void arch_fpu_save(struct arch_fpu *f);
static inline void arch_fpu_restore(const struct arch_fpu *f);

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

/* Set up the syscall entry on this core (x86_64: the syscall/sysret MSRs). */
void arch_syscall_init(void);
