/*
 * Upcall entry and user-level resume.
 *
 * libos_fault_entry: the kernel enters here on an exception with rdi ->
 * struct upcall_fault at the top of the exception stack; libos_sched_entry
 * at a slice start with rdi -> struct upcall_sched. Each calls its C
 * dispatcher, which does not return.
 *
 * libos_resume(regs): resume an interrupted context without entering the
 * kernel. The return address and rdi go just below the interrupted stack pointer
 * (all user code is built with -mno-red-zone, so nothing lives there), the
 * flags are restored by popfq on the current stack, the general registers
 * by loads, then the stack is switched (lea: no flags touched) and `ret`
 * pops rip. Preempted at any point of this, the context resumes correctly:
 * there is no shared resume slot to overwrite.
 */
#define R_RAX 0
#define R_RBX 8
#define R_RCX 16
#define R_RDX 24
#define R_RSI 32
#define R_RDI 40
#define R_RBP 48
#define R_R8 56
#define R_R9 64
#define R_R10 72
#define R_R11 80
#define R_R12 88
#define R_R13 96
#define R_R14 104
#define R_R15 112
#define R_RIP 120
#define R_RSP 128
#define R_RFLAGS 136

	.text
/*
 * Every upcall entry saves the FPU/SSE registers of the code it interrupts
 * before any C runs (user code is built with SSE); the dispatcher restores
 * them (libos_fx_restore) just before it resumes. rax, and r11 at the PCT
 * entry, are free here: the kernel saved the interrupted values or set them.
 */
	.globl libos_fault_entry
libos_fault_entry:
	leaq	libos_fx_fault(%rip), %rax
	fxsave	(%rax)
	xorl	%ebp, %ebp
	andq	$-16, %rsp		/* the C ABI's alignment at a call: SSE code relies on it */
	call	libos_fault_dispatch
	ud2

/*
 * The slice-start upcall: the interrupted code's FPU/SSE registers are still
 * live (the kernel restored them), so they are saved before any C runs, to
 * where libos_cur_fx points (the running thread's area). rax is free: the
 * kernel saved it in the struct rdi points at.
 */
	.globl libos_sched_entry
libos_sched_entry:
	movq	libos_cur_fx(%rip), %rax
	fxsave	(%rax)
	xorl	%ebp, %ebp
	andq	$-16, %rsp		/* the C ABI's alignment at a call: SSE code relies on it */
	call	libos_sched_dispatch
	ud2

/*
 * libos_pct_entry: a protected control transfer arrives: rax = endpoint id,
 * rdi = badge, rsi rdx r10 r8 r9 r12 = the six arguments, on the
 * endpoint's stack. Call libos_pct_dispatch(badge, a0..a5), which replies.
 */
	.globl libos_pct_entry
libos_pct_entry:
	leaq	libos_fx_pct(%rip), %r11
	fxsave	(%r11)
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	subq	$8, %rsp
	pushq	%r12			/* the seventh C argument */
	movq	%r10, %rcx
	call	libos_pct_dispatch
	ud2

	.globl libos_revoke_entry
libos_revoke_entry:
	leaq	libos_fx_revoke(%rip), %rax
	fxsave	(%rax)
	xorl	%ebp, %ebp
	andq	$-16, %rsp		/* the C ABI's alignment at a call: SSE code relies on it */
	call	libos_revoke_dispatch
	ud2

/*
 * libos_ctx_save(regs, fx): save the caller's context as a setjmp would
 * (callee-saved registers, the stack pointer and return address, flags,
 * FPU/SSE state) and return 0; resumed through it, it returns 1.
 */
	.globl libos_ctx_save
libos_ctx_save:
	movq	%rbx, R_RBX(%rdi)
	movq	%rbp, R_RBP(%rdi)
	movq	%r12, R_R12(%rdi)
	movq	%r13, R_R13(%rdi)
	movq	%r14, R_R14(%rdi)
	movq	%r15, R_R15(%rdi)
	leaq	8(%rsp), %rax
	movq	%rax, R_RSP(%rdi)
	movq	(%rsp), %rax
	movq	%rax, R_RIP(%rdi)
	pushfq
	popq	R_RFLAGS(%rdi)
	movq	$1, R_RAX(%rdi)
	fxsave	(%rsi)
	xorl	%eax, %eax
	ret

/* The body both resumes share; with clear_crit, libos_crit is cleared on the resumed stack. */
.macro RESUME clear_crit
	movq	R_RSP(%rdi), %rax
	movq	R_RIP(%rdi), %rcx
	movq	%rcx, -8(%rax)
	movq	R_RDI(%rdi), %rcx
	movq	%rcx, -16(%rax)		/* rdi too: the frame may be reused once we leave its stack */
	pushq	R_RFLAGS(%rdi)
	popfq
	movq	R_RAX(%rdi), %rax
	movq	R_RBX(%rdi), %rbx
	movq	R_RCX(%rdi), %rcx
	movq	R_RDX(%rdi), %rdx
	movq	R_RSI(%rdi), %rsi
	movq	R_RBP(%rdi), %rbp
	movq	R_R8(%rdi), %r8
	movq	R_R9(%rdi), %r9
	movq	R_R10(%rdi), %r10
	movq	R_R11(%rdi), %r11
	movq	R_R12(%rdi), %r12
	movq	R_R13(%rdi), %r13
	movq	R_R14(%rdi), %r14
	movq	R_R15(%rdi), %r15
	movq	R_RSP(%rdi), %rsp
	leaq	-16(%rsp), %rsp
	.if \clear_crit
	movl	$0, libos_crit(%rip)
	.endif
	popq	%rdi
	ret
.endm

/*
 * libos_thread_resume(regs, fx): restore the FPU/SSE state, then resume as
 * libos_resume does; its last step, on the resumed stack with every register
 * loaded, clears libos_crit (thread.c), so a slice start that comes before
 * it finds the framework busy and a slice start after it finds the thread.
 */
	.globl libos_thread_resume
libos_thread_resume:
	fxrstor	(%rsi)
	RESUME 1

/* The body both share: the saved registers, stack and FPU state back; rax = 1, target in rcx. */
.macro CTX_LOAD
	fxrstor	(%rsi)
	movq	R_RBX(%rdi), %rbx
	movq	R_RBP(%rdi), %rbp
	movq	R_R12(%rdi), %r12
	movq	R_R13(%rdi), %r13
	movq	R_R14(%rdi), %r14
	movq	R_R15(%rdi), %r15
	movq	R_RIP(%rdi), %rcx
	movq	R_RSP(%rdi), %rsp
	movl	$1, %eax
.endm

/*
 * libos_ctx_restore(regs, fx): resume a context libos_ctx_save saved (its
 * callee-saved registers, stack and return address; rax = 1). As in
 * libos_thread_resume, crit is cleared last, on the resumed stack; the
 * target is in rcx by then, so a slice start between the two resumes it.
 */
	.globl libos_ctx_restore
libos_ctx_restore:
	CTX_LOAD
	movl	$0, libos_crit(%rip)
	jmp	*%rcx

/*
 * libos_ctx_jump(regs, fx): libos_ctx_restore without touching libos_crit:
 * a jump back inside the framework (a VM copy that found its page taken,
 * libos-framework/vm_sys.c), not a switch to a thread.
 */
	.globl libos_ctx_jump
libos_ctx_jump:
	CTX_LOAD
	jmp	*%rcx

	.globl libos_resume
libos_resume:
	RESUME 0

/*
 * libos_resume_fx(regs, fx): libos_resume with the FPU/SSE state restored
 * first, and libos_crit left as it is: a slice start that found the
 * framework busy resumes it still inside its critical section.
 */
	.globl libos_resume_fx
libos_resume_fx:
	fxrstor	(%rsi)
	RESUME 0

	.globl libos_fx_restore
libos_fx_restore:
	fxrstor	(%rdi)
	ret

	.bss
	.balign 16
	.globl libos_fx_fault, libos_fx_pct, libos_fx_revoke
libos_fx_fault:
	.skip 512
libos_fx_pct:
	.skip 512
libos_fx_revoke:
	.skip 512
