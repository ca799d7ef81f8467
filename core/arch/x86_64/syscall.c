/* syscall/sysret set-up, and the C side of entering user mode. */
#include <arch/context.h>
#include <arch/x86.h>
#include <exo/panic.h>
#include <percpu.h>

#define EFER_SCE (1u << 0)
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084

#include "asm-offsets.h"

_Static_assert(SYS_FRAME_ALLOC_NR == SYS_FRAME_ALLOC && FRAME_WAIT_FLAG == FRAME_WAIT,
	       "user.S's FRAME_ALLOC test");

extern char syscall_entry[];

void arch_syscall_init(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* syscall: CS 0x08, SS 0x10. sysret: CS 0x18 + 16 = 0x28, SS 0x18 + 8 = 0x20 (RPL 3). */
	wrmsr(MSR_STAR, (0x18ULL << 48) | (0x08ULL << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	/* Entry runs with IF, TF, DF, AC clear until it is on the kernel stack. */
	wrmsr(MSR_FMASK, 0x40700);
	wrmsr(MSR_KERNEL_GS_BASE, 0); /* the user's GS base, swapped in at user entry */
}

struct arch_uctx *arch_user_regs(void)
{
	struct arch_uctx *r = this_cpu()->arch.uregs;
	/* NULL: a call on the entry's fast path, which saved no whole context (syscall_fast_set). */
	if (!r)
		panic("arch_user_regs: call on the fast path needs its context");
	return r;
}
