/*
 * Upcalls at slice starts.
 *
 * The scheduler upcall: at each slice start the kernel enters the libOS with
 * the context it would have resumed. The program's handler (later, the
 * sched policy) may look at it or change it; then the libOS resumes it.
 */
#include <libos/libos.h>
#include <libos/threads_impl.h>

#define SCHED_STACK_SIZE 8192

static uint8_t sched_stack[SCHED_STACK_SIZE] __attribute__((aligned(16)));
static libos_sched_handler sched_handler;

noreturn_fn void libos_sched_dispatch(struct upcall_sched *us);
noreturn_fn void libos_thread_resume(const struct user_regs *regs, const uint8_t *fx);
extern uint8_t *libos_cur_fx;

bool libos_sched_handler_installed(void)
{
	return sched_handler != NULL;
}

/* Threads (thread.c) take the upcall once on; before, the program's handler, if any. */
void libos_sched_dispatch(struct upcall_sched *us)
{
	if (libos_threads_on())
		libos_threads_preempt(us);
	if (sched_handler)
		sched_handler(us);
	libos_thread_resume(&us->regs, libos_cur_fx); /* upcall.S saved the FPU state there */
}

int libos_sched_upcall_on(void)
{
	return (int)sys_call6(SYS_UPCALL_SET, UPCALL_SCHED, (uint64_t)libos_sched_entry,
			      (uint64_t)sched_stack, sizeof(sched_stack), 0, 0);
}

int libos_set_sched_handler(libos_sched_handler h)
{
	if (libos_threads_on())
		return E_BUSY; /* threads own the slice starts */
	sched_handler = h;
	return (int)sys_call6(SYS_UPCALL_SET, UPCALL_SCHED, h ? (uint64_t)libos_sched_entry : 0,
			      (uint64_t)sched_stack, sizeof(sched_stack), 0, 0);
}

/*
 * The revocation upcall: the kernel asks for frames back (REVOKE_ASKED), or
 * says it took some (REVOKE_TAKEN). The program's handler (later, the pager
 * policy) returns frames with sys_frame_free; then the libOS resumes.
 */
#define REVOKE_STACK_SIZE 8192

static uint8_t revoke_stack[REVOKE_STACK_SIZE] __attribute__((aligned(16)));
static libos_revoke_handler revoke_handler;

void libos_revoke_entry(void);
noreturn_fn void libos_revoke_dispatch(struct upcall_revoke *ur);
extern uint8_t libos_fx_revoke[512];
void libos_fx_restore(const uint8_t *fx);

void libos_revoke_dispatch(struct upcall_revoke *ur)
{
	if (revoke_handler)
		revoke_handler(ur);
	libos_fx_restore(libos_fx_revoke);
	libos_resume(&ur->regs);
}

int libos_set_revoke_handler(libos_revoke_handler h)
{
	revoke_handler = h;
	return (int)sys_call6(SYS_UPCALL_SET, UPCALL_REVOKE, h ? (uint64_t)libos_revoke_entry : 0,
			      (uint64_t)revoke_stack, sizeof(revoke_stack), 0, 0);
}
