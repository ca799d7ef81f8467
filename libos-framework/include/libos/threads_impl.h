/* Inside the framework: what its files (start.c, sched.c, thread.c) share. */
#pragma once

#include <exo/abi.h>
#include <libos/policy.h>

/* The policies chosen per kind by the arguments (NULL info: none; sched then SCHED_DEFAULT). */
extern struct policy_choice libos_choice[POLICY_KINDS];

/* sched.c: whether the program installed its own slice handler; turn the upcall on. */
bool libos_sched_handler_installed(void);
int libos_sched_upcall_on(void);

/* fault.c: take exceptions at user level even without a program handler (to name a faulting policy). */
int libos_fault_upcall_on(void);

/* thread.c: the scheduler upcall once threads are on; does not return. */
noreturn_fn void libos_threads_preempt(struct upcall_sched *us);
bool libos_threads_on(void);

/* thread.c: swap the sched policy (libos_policy_swap for POLICY_SCHED). */
int libos_sched_swap(const char *spec);
const char *libos_sched_current(void);
uint64_t libos_sched_swaps(void);
uint64_t libos_sched_misbehaved(void);
/* Slice starts that found the framework inside a critical section (each resumed it). */
uint64_t libos_sched_busy_preempts(void);

/* thread.c: the sched policy hook running now (NULL: none) and the policy's name. */
extern const char *libos_sched_hook;
const char *libos_sched_policy_name(void);

/*
 * start.c: the next entry of the swap= schedule that is due at cycle count
 * now (its policy spec, its kind in *kind), or NULL. Each is given once.
 */
const char *libos_swap_due(uint64_t now, enum policy_kind *kind);

/* ipc.c: the runtime's hooks (fault.c: a revoked channel page; pct.c: calls to
 * endpoints ipc made; start.c: swap and name the ipc policy). */
bool libos_ipc_fault(struct upcall_fault *uf);
bool libos_ipc_active(void);
bool libos_ipc_pct(uint64_t badge, const uint64_t a[6], uint64_t r[6]);
int libos_ipc_swap(const char *spec);
const char *libos_ipc_current(void);
/* The program ends (returned, or a fatal fault): mark every channel closed, so peers see it. */
void libos_ipc_exit(void);

/* upcall.S */
void libos_sched_entry(void);
noreturn_fn void libos_resume(const struct user_regs *regs);
