/*
 * arch/context.h on the host: the register record only. Nothing here can
 * run user code; the calls that would say so loudly rather than pretend.
 */
#include <arch/context.h>
#include <exo/panic.h>

#define RFLAGS_RESERVED (1ULL << 1) /* always reads as 1 on x86_64 */
#define RFLAGS_IF       (1ULL << 9)

void arch_uctx_init(struct arch_uctx *u, uint64_t entry, uint64_t sp, uint64_t arg)
{
	/* As on x86_64: everything zero but where to start, the stack, the argument. */
	*u = (struct arch_uctx){
	    .rip = entry, .rsp = sp, .rdi = arg, .rflags = RFLAGS_IF | RFLAGS_RESERVED};
}

void arch_user_enter(struct arch_uctx *u)
{
	panic("sim: arch_user_enter(rip 0x%llx): the host has no user mode",
	      (unsigned long long)u->rip);
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
