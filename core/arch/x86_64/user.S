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
 * rip/rflags as the instruction defines.
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
