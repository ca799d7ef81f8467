/*
 * Program entry: the kernel starts here with rdi = arg, rsi = env id,
 * rdx = core, rcx = this program's id (kept in libos_self_prog), r8 and r9
 * = the address and length of the argument words (exo/abi.h, ENV_ARGS_MAX).
 * libos_start (start.c) takes the arguments, then calls main.
 */
	.text
	.globl _start
_start:
	movq	%rcx, libos_self_prog(%rip)
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	movq	%r8, %rcx
	movq	%r9, %r8
	call	libos_start
	ud2

	.data
	.balign 8
	.globl libos_self_prog
libos_self_prog:
	.quad 0
