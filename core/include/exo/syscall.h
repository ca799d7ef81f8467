/* The syscall dispatcher (core/syscall.c) and the invariant checker (core/check.c). */
#pragma once

#include <arch/context.h>
#include <exo/pct.h>
#include <exo/types.h>

struct env;

/*
 * Handle the syscall in regs (its number and arguments through the
 * arch_uctx accessors) for this core's current environment; stores the
 * result in regs and returns it. Yield and exit do not return
 * (arch_user_exit).
 */
int64_t syscall_dispatch(struct arch_uctx *regs);

/* A call's handler: e the caller, a[0..ARCH_UCTX_NARGS-1] its arguments. */
typedef int64_t (*syscall_fn)(struct env *e, const uint64_t *a);

/* Every call's handler by number (NULL: none); the entry's fast path calls it directly. */
extern const syscall_fn syscall_table[SYS_COUNT];

/*
 * Bit nr set: call nr has a handler and never leaves through another
 * context, so the entry takes its fast path (user.S). The others are the
 * only ones that may use arch_user_regs().
 */
extern const uint64_t syscall_fast_set;

/* Leave the call, nothing changed, to run again when the caller is resumed. */
static inline __attribute__((always_inline)) noreturn_fn void syscall_restart(struct env *e)
{
	struct arch_uctx *ctx = pct_ctx(e);
	*ctx = *arch_user_regs();
	arch_uctx_restart_syscall(ctx);
	arch_user_exit();
}

/* Leave the call, done, to return 0 when the caller is resumed (its slice goes on). */
static inline __attribute__((always_inline)) noreturn_fn void syscall_yield(struct env *e)
{
	struct arch_uctx *ctx = pct_ctx(e);
	*ctx = *arch_user_regs();
	arch_uctx_set_ret(ctx, 0);
	arch_user_exit();
}

/* Run syscall nr for e with arguments a[0..5] (the dispatcher's core; tests and fuzzers call it). */
int64_t syscall_invoke(struct env *e, uint64_t nr, const uint64_t a[6]);

/*
 * Check the kernel's invariants (docs/design.md: the page-ownership table and
 * capability tables) over the whole machine. Prints each problem; returns
 * how many there were. Callers make sure nothing changes meanwhile.
 */
unsigned invariant_check(void);

/*
 * The same checks for one environment only: its capabilities and their
 * links, the frames charged to it, its mappings. Consistent while only e's
 * own core changes e (what SYS_DEBUG_CHECK runs for its caller).
 */
unsigned invariant_check_env(struct env *e);
