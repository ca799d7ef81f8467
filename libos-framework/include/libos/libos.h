/* The libOS runtime every user program links (libos-framework/). */
#pragma once

#include <exo/kprintf.h> /* ksnprintf, kvsnprintf: the same formatter as the kernel's */
#include <libos/sys.h>

/*
 * The program's entry, called by crt0 with what the kernel passed: the
 * argument given to SYS_ENV_START, the environment's id and home core.
 * Its return value is the exit status.
 */
int main(uint64_t arg, uint64_t env_id, uint64_t core);

/* This program's id (what SYS_ENV_START takes to start another copy of it). */
extern uint64_t libos_self_prog;

/* printf to the console (one SYS_CONSOLE_WRITE per call; lines are tagged by the kernel). */
printf_like(1, 2) int printf(const char *fmt, ...);

/*
 * A fault handler: fix the cause and return true to resume the interrupted
 * context (uf->regs, which it may change: skip an instruction by advancing
 * rip), or return false to end the program with status 128 + vector.
 * Runs on the libOS's exception stack; a fault inside it ends the program.
 */
typedef bool (*libos_fault_handler)(struct upcall_fault *uf);

/* Install h (NULL: none; faults then end the program). 0 or a negative error. */
int libos_set_fault_handler(libos_fault_handler h);

/*
 * Called at every slice start with the context about to resume (it may
 * change us->regs); the libOS resumes it afterwards. Runs on the libOS's
 * scheduler stack.
 */
typedef void (*libos_sched_handler)(struct upcall_sched *us);

/* Install h (NULL: slices resume the program directly). 0 or a negative error. */
int libos_set_sched_handler(libos_sched_handler h);

/*
 * Protected control transfer. A program that serves calls defines
 * pct_server (weak here: absent, calls get E_NOTSUP in r[0]); it runs on
 * the endpoint's stack, reads a[6] and the caller's badge, fills r[6].
 */
void pct_server(uint64_t badge, const uint64_t a[6], uint64_t r[6]) __attribute__((weak));

/* Call endpoint capability ep with a[6]; on success (0) r[6] holds the reply. */
int64_t pct_call(uint64_t ep, const uint64_t a[6], uint64_t r[6]);

/* Reply to the call being served (libos_pct_dispatch does it after pct_server). */
int64_t pct_reply(const uint64_t r[6]);

/*
 * An endpoint whose calls run in env (an env capability with CTRL, or
 * ENV_SELF) at the libOS's entry, on [stack, stack + size) of that
 * environment. Returns the endpoint capability or an error.
 */
int64_t pct_ep_create(uint64_t env, void *stack, uint64_t size);

/* Called when the kernel asks for frames back or took some (struct upcall_revoke). */
typedef void (*libos_revoke_handler)(struct upcall_revoke *ur);

/* Install h (NULL: none; asked frames are then taken at once). 0 or a negative error. */
int libos_set_revoke_handler(libos_revoke_handler h);
