/*
 * AP trampoline. smp.c copies this page to TRAMP_PHYS (0x8000) and sends
 * SIPI vector 0x08, so an AP starts here in real mode at CS:IP = 0800:0000.
 * It goes 16 -> 32 -> 64 bit with the boot page tables, takes its stack and
 * struct percpu from the mailbox, acknowledges (so the boot core can start
 * the next AP), and calls ap_entry(percpu) at the kernel's link address.
 *
 * Addresses are computed as TRAMP_PHYS + (label - tramp_start): constants,
 * because both labels are in this section.
 */
#define TRAMP_PHYS 0x8000
#define T(x) (TRAMP_PHYS + ((x) - tramp_start))

	.section .trampoline, "ax"
	.code16
	.globl tramp_start
tramp_start:
	cli
	cld
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	T(tramp_gdt_ptr)
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x18, $T(tramp32)

	.code32
tramp32:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	%cr4, %eax
	orl	$((1 << 5) | (1 << 9) | (1 << 10)), %eax	/* PAE, OSFXSR, OSXMMEXCPT */
	movl	%eax, %cr4
	movl	T(tramp_cr3), %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$((1 << 8) | (1 << 11)), %eax	/* LME, NXE */
	wrmsr
	movl	%cr0, %eax
	orl	$((1 << 31) | (1 << 16) | (1 << 1)), %eax	/* PG, WP, MP */
	andl	$~((1 << 2) | (1 << 3)), %eax		/* EM, TS off: FPU state saved per env */
	movl	%eax, %cr0
	ljmpl	$0x08, $T(tramp64)

	.code64
tramp64:
	movq	T(tramp_stack), %rsp
	movq	T(tramp_percpu), %rdi
	movq	T(tramp_entry), %rax
	movl	$1, T(tramp_ack)		/* mailbox read: the next AP may use it */
	xorl	%ebp, %ebp
	pushq	$0				/* a null return address ends backtraces */
	jmp	*%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00cf9a000000ffff	/* 0x18: 32-bit code */
tramp_gdt_end:
tramp_gdt_ptr:
	.word tramp_gdt_end - tramp_gdt - 1
	.long T(tramp_gdt)

	.balign 8
	.globl tramp_mailbox
tramp_mailbox:			/* struct tramp_mailbox in smp.c */
tramp_cr3:	.quad 0
tramp_stack:	.quad 0
tramp_percpu:	.quad 0
tramp_entry:	.quad 0
tramp_ack:	.quad 0
	.globl tramp_end
tramp_end:
