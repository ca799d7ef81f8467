/* Program entry: the kernel starts here with rdi = arg, rsi = env id, rdx = core. */
	.text
	.globl _start
_start:
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	call	main
	movq	%rax, %rdi
	movl	$4, %eax		/* SYS_EXIT */
	syscall
	ud2
