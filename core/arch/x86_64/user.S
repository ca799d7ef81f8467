/*
 * Entering and leaving user mode, and the syscall entry.
 *
 * arch_user_enter(u) saves the kernel's callee-saved registers and stack
 * pointer in this core's percpu (arch.kctx_rsp), makes that stack the one
 * traps and syscalls from user mode land on (TSS.rsp0 and arch.kstack), and
 * irets to the user context. arch_user_exit() unwinds back to it: the
 * syscall or trap frame below is simply abandoned.
 *
 * syscall entry: swapgs, switch to arch.kstack, build a struct arch_uctx on
 * the stack (arch/context.h order), call syscall_dispatch(regs) whose return
 * value goes to the user's rax, restore, sysretq. rcx/r11 hold the user's
 * rip/rflags as the instruction defines. Calls that never leave through
 * another context (syscall_fast_set) take a shorter path below: a partial
 * context, the handler called straight from syscall_table, and only the
 * caller-saved registers loaded back.
 */
#include "asm-offsets.h"

	.text
	.globl arch_user_enter
arch_user_enter:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp			/* keep the syscall stack 16-byte aligned */
	movq	%rsp, %gs:PERCPU_KCTX_RSP
	movq	%rsp, %gs:PERCPU_KSTACK
	movq	%gs:PERCPU_TSS, %rax
	movq	%rsp, 4(%rax)			/* TSS.rsp0 */
	/* iret frame: ss, rsp, rflags, cs, rip */
	pushq	$0x23				/* user data | RPL 3 */
	pushq	UCTX_RSP(%rdi)
	pushq	UCTX_RFLAGS(%rdi)
	pushq	$0x2b				/* user code 64 | RPL 3 */
	pushq	UCTX_RIP(%rdi)
	movq	UCTX_RAX(%rdi), %rax
	movq	UCTX_RBX(%rdi), %rbx
	movq	UCTX_RCX(%rdi), %rcx
	movq	UCTX_RDX(%rdi), %rdx
	movq	UCTX_RSI(%rdi), %rsi
	movq	UCTX_RBP(%rdi), %rbp
	movq	UCTX_R8(%rdi), %r8
	movq	UCTX_R9(%rdi), %r9
	movq	UCTX_R10(%rdi), %r10
	movq	UCTX_R11(%rdi), %r11
	movq	UCTX_R12(%rdi), %r12
	movq	UCTX_R13(%rdi), %r13
	movq	UCTX_R14(%rdi), %r14
	movq	UCTX_R15(%rdi), %r15
	movq	UCTX_RDI(%rdi), %rdi
	swapgs
	iretq

	.globl arch_user_exit
arch_user_exit:
	movq	%gs:PERCPU_KCTX_RSP, %rsp
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret

	.globl syscall_entry
syscall_entry:
	/*
	 * SYSCALL_RAW_NR returns at once: the bare cost of syscall + sysret, for
	 * benchmarks. rcx and r11 still hold the user's rip and rflags.
	 */
	cmpq	$0x7fffffff, %rax
	jne	1f
	sysretq
1:	swapgs
	movq	%rsp, %gs:PERCPU_USER_RSP
	movq	%gs:PERCPU_KSTACK, %rsp
	/* A call in syscall_fast_set never leaves through another context. */
	cmpq	$64, %rax
	jae	.Lslow
	btq	%rax, syscall_fast_set(%rip)
	jnc	.Lslow_or_alloc
.Lfast:
	/*
	 * The fast path: the same struct arch_uctx, but only the arguments, rip,
	 * rflags and rbp in it. The C code keeps rbx and r12-r15 (the ABI), so
	 * only the caller-saved registers are loaded back: the arguments from
	 * the frame, rcx/r11 from rip/rflags, rax the result. No register
	 * returns anything of the kernel's. arch_user_regs() is NULL meanwhile.
	 */
	pushq	%r11				/* rflags */
	subq	$8, %rsp			/* rsp: written only if the call must leave */
	pushq	%rcx				/* rip */
	subq	$56, %rsp			/* r15 r14 r13 r11 rbp rcx rbx */
	pushq	%r12
	pushq	%r9
	pushq	%r8
	pushq	%r10
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rax
	movq	%rbp, UCTX_RBP(%rsp)
	movq	$0, %gs:PERCPU_UREGS
	movq	%gs:PERCPU_CURRENT, %rdi	/* handler(current, arguments) */
	leaq	UCTX_RDI(%rsp), %rsi
	xorl	%ebp, %ebp			/* ends the kernel's frame-pointer chain */
	sti
	call	*syscall_table(,%rax,8)
	cli
	/* syscall_dispatch's test: the slice is over, or another core waits. */
	cmpb	$0, %gs:PERCPU_PREEMPT
	jne	.Lfast_leave
	movl	%gs:PERCPU_ID, %ecx
	cmpq	$0, xcall_queued(,%rcx,8)
	jne	.Lfast_leave
	movq	UCTX_RBP(%rsp), %rbp
	movq	UCTX_RDI(%rsp), %rdi
	movq	UCTX_RSI(%rsp), %rsi
	movq	UCTX_RDX(%rsp), %rdx
	movq	UCTX_R10(%rsp), %r10
	movq	UCTX_R8(%rsp), %r8
	movq	UCTX_R9(%rsp), %r9
	movq	UCTX_RIP(%rsp), %rcx
	movq	UCTX_RFLAGS(%rsp), %r11
	movq	%gs:PERCPU_USER_RSP, %rsp
	swapgs
	sysretq

	/*
	 * The call is done but this core must leave user mode: complete the
	 * context as the slow path would have it (rbx, r12-r15 still the
	 * user's) and go through sched_preempt_point, which saves it.
	 */
.Lfast_leave:
	movq	%rax, UCTX_RAX(%rsp)		/* the result */
	movq	%rbx, UCTX_RBX(%rsp)
	movq	UCTX_RIP(%rsp), %rcx
	movq	%rcx, UCTX_RCX(%rsp)
	movq	UCTX_RFLAGS(%rsp), %r11
	movq	%r11, UCTX_R11(%rsp)
	movq	%r13, UCTX_R13(%rsp)
	movq	%r14, UCTX_R14(%rsp)
	movq	%r15, UCTX_R15(%rsp)
	movq	%gs:PERCPU_USER_RSP, %rcx
	movq	%rcx, UCTX_RSP(%rsp)
	movq	%rsp, %gs:PERCPU_UREGS
	movq	%rsp, %rdi
	sti
	call	sched_preempt_point		/* returns only if there was nothing to do */
	cli
	jmp	.Lslow_return

.Lslow_or_alloc:
	/* FRAME_ALLOC leaves only to wait (FRAME_WAIT, in its second argument). */
	cmpq	$SYS_FRAME_ALLOC_NR, %rax
	jne	.Lslow
	testq	$FRAME_WAIT_FLAG, %rsi
	jz	.Lfast
.Lslow:
	/* struct arch_uctx (arch/context.h), built downwards from rflags to rax */
	pushq	%r11				/* rflags */
	pushq	%gs:PERCPU_USER_RSP		/* rsp */
	pushq	%rcx				/* rip */
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r11
	pushq	%rbp
	pushq	%rcx
	pushq	%rbx
	pushq	%r12
	pushq	%r9
	pushq	%r8
	pushq	%r10
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rax
	movq	%rsp, %gs:PERCPU_UREGS
	movq	%rsp, %rdi
	xorl	%ebp, %ebp
	sti					/* kernel runs with interrupts on */
	call	syscall_dispatch
	cli
	movq	%rax, UCTX_RAX(%rsp)		/* the result */
.Lslow_return:
	popq	%rax
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%r10
	popq	%r8
	popq	%r9
	popq	%r12
	popq	%rbx
	popq	%rcx
	popq	%rbp
	popq	%r11
	popq	%r13
	popq	%r14
	popq	%r15
	popq	%rcx				/* rip */
	popq	%r11				/* rsp: into r11 for now */
	movq	%r11, %gs:PERCPU_USER_RSP
	popq	%r11				/* rflags */
	movq	%gs:PERCPU_USER_RSP, %rsp
	swapgs
	sysretq
