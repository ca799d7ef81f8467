/*
 * arch/context.h on the host: user mode is absent. Nothing here can
 * run user code; the calls that would say so loudly rather than pretend.
 */
#include <arch/context.h>
#include <exo/panic.h>

void arch_user_enter(struct arch_uctx *u)
{
	panic("sim: arch_user_enter(pc 0x%llx): the host has no user mode",
	      (unsigned long long)u->pc);
}

void arch_user_exit(void)
{
	panic("sim: arch_user_exit: the host has no user mode");
}

struct arch_uctx *arch_user_regs(void)
{
	panic("sim: arch_user_regs: the host has no user mode");
}

void arch_syscall_init(void)
{
	panic("sim: arch_syscall_init: the host has no user mode");
}
