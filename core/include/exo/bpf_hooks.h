/*
 * The kernel's side of downloaded code (docs/downloaded-code.md): the
 * SYS_BPF_LOAD call, the OBJ_BPF object, and the three hooks, each one
 * call from the kernel event it serves. The verifier and interpreter are
 * exo/bpf.h's.
 *
 * A program is attached to one environment at one hook (one per hook per
 * environment) and runs only on that environment's home core, while the
 * environment is runnable: so its data region (a frame the environment
 * owns) can change hands only on that core, through the environment's own
 * calls or its revocation there, never during a run. Each run first checks
 * that the region is still the environment's frame at the generation it
 * had at load; if not, the program is detached and does not run.
 * Deleting the program's capability detaches it (and frees it); an
 * environment's destruction deletes its capabilities, so detaches them all.
 */
#pragma once

#include <exo/types.h>

struct env;

/* Programs loaded at once, machine-wide (each holds BPF_MAX_INSNS instructions). */
#define BPF_PROGS_MAX 32

/* SYS_BPF_LOAD (exo/abi.h), for the syscall table. */
int64_t sys_bpf_load(struct env *e, const uint64_t *a);

/*
 * The wakeup predicate, at the start of a slice of e on its home core
 * (core/sched.c): true to enter e, false to give the slice to the next
 * slot. True when e has no predicate; false when it says 0 or overruns.
 */
bool bpf_hook_wakeup(struct env *e, uint64_t slot);

/*
 * Whether a predicate said no on this core since the last call (the run
 * loop, going idle, keeps a timer so that it asks again a slice later).
 */
bool bpf_hook_wakeup_recheck(void);

/*
 * A revocation request is pending for e (REV_ASKED), on its home core
 * (core/revoke.c): run e's handler once per request; it gives frames back
 * through a helper, each checked as SYS_FRAME_FREE would. True when the
 * request is fully answered (no upcall needed).
 */
bool bpf_hook_revoke(struct env *e);

/*
 * Notification bits for environment id (generation gen) arrive on its home
 * core (env_notify_local): run its message handler. True when the handler
 * consumed them (they are not delivered). Interrupt-safe: takes no lock;
 * a run never nests in another on the same core.
 */
bool bpf_hook_message(uint32_t id, uint64_t gen, uint64_t bits);

/* Hook runs and "no"s on all cores, for tests and figures. */
struct bpf_hook_stats {
	uint64_t runs[4], noes[4], overruns[4];
};
void bpf_hook_stats(struct bpf_hook_stats *out);

/* A digest of every program's and attachment's state, for "changed nothing" checks. */
uint64_t bpf_hooks_digest(void);

/* The invariant checker's part: attachments name live programs of their env. Problems printed. */
unsigned bpf_hooks_check(void);
