/*
 * Exceptions at user level: the libOS registers one exception stack and its
 * entry with the kernel (UPCALL_FAULT), and dispatches each fault to the
 * program's handler, which fixes what it can (map a page, skip an
 * instruction) and returns true to resume the interrupted context.
 */
#include <libos/libos.h>
#include <libos/threads_impl.h>
#include <libos/vm.h>

#define EXC_STACK_SIZE 16384

static uint8_t exc_stack[EXC_STACK_SIZE] __attribute__((aligned(16)));
static libos_fault_handler handler;

void libos_fault_entry(void);
noreturn_fn void libos_resume(const struct user_regs *regs);
noreturn_fn void libos_fault_dispatch(struct upcall_fault *uf);
extern uint8_t libos_fx_fault[512];
void libos_fx_restore(const uint8_t *fx);

/* A policy's hook faulted: not the program's fault, so say whose it is, and end. */
static noreturn_fn void policy_faulted(const char *kind, const char *name, const char *hook,
				       const struct upcall_fault *uf)
{
	printf("libos: %s policy %s faulted in its %s hook (exception %llu at rip 0x%llx, "
	       "addr 0x%llx): ending the environment\n",
	       kind, name, hook, (unsigned long long)uf->vector, (unsigned long long)uf->regs.rip,
	       (unsigned long long)uf->addr);
	libos_ipc_exit();
	sys_exit((int)(128 + uf->vector));
}

void libos_fault_dispatch(struct upcall_fault *uf)
{
	/*
	 * Each hook name read once: a scheduler upcall that preempts this
	 * handler may finish its hook and clear the name meanwhile.
	 */
	const char *sched_hook = libos_sched_hook, *pager_hook = libos_pager_hook;
	if (sched_hook)
		policy_faulted("sched", libos_sched_policy_name(), sched_hook, uf);
	if (pager_hook)
		policy_faulted("pager", vm_pager_name(), pager_hook, uf);
	if (libos_ipc_fault(uf) || (handler && handler(uf))) {
		libos_fx_restore(libos_fx_fault);
		libos_resume(&uf->regs);
	}
	printf("libos: unhandled exception %llu at rip 0x%llx (addr 0x%llx)\n",
	       (unsigned long long)uf->vector, (unsigned long long)uf->regs.rip,
	       (unsigned long long)uf->addr);
	libos_ipc_exit();
	sys_exit((int)(128 + uf->vector));
}

int libos_fault_upcall_on(void)
{
	return (int)sys_call6(SYS_UPCALL_SET, UPCALL_FAULT, (uint64_t)libos_fault_entry,
			      (uint64_t)exc_stack, sizeof(exc_stack), 0, 0);
}

int libos_set_fault_handler(libos_fault_handler h)
{
	handler = h;
	return (int)sys_call6(
	    SYS_UPCALL_SET, UPCALL_FAULT,
	    h || libos_threads_on() || libos_ipc_active() ? (uint64_t)libos_fault_entry : 0,
	    (uint64_t)exc_stack, sizeof(exc_stack), 0, 0);
}
