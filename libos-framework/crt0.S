/*
 * Program entry: the kernel starts here with rdi = arg, rsi = env id,
 * rdx = core, rcx = this program's id (kept in libos_self_prog).
 */
	.text
	.globl _start
_start:
	movq	%rcx, libos_self_prog(%rip)
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	call	main
	movq	%rax, %rdi
	movl	$4, %eax		/* SYS_EXIT */
	syscall
	ud2

	.data
	.balign 8
	.globl libos_self_prog
libos_self_prog:
	.quad 0
