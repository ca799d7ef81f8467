/*
 * PVH entry: QEMU (or any PVH loader) enters pvh_start in 32-bit protected
 * mode, paging off, at the physical address in the XEN_ELFNOTE_PHYS32_ENTRY
 * note, with %ebx = physical address of struct hvm_start_info.
 *
 * We build the boot page tables, enter long mode, jump to the kernel's
 * -2 GiB link address and call arch_boot_main(start_info). The boot tables
 * map, with 2 MiB pages:
 *   0 .. 4 GiB  at 0                    (identity: this code, AP trampoline)
 *   0 .. 4 GiB  at PHYSMAP_BASE         (the direct map)
 *   0 .. 1 GiB  at KERNEL_VBASE (-2 GiB) (the kernel image)
 */
#define KERNEL_VBASE 0xffffffff80000000
#define PHYS(x) ((x) - KERNEL_VBASE)
#define BOOT_STACK_SIZE 16384

	.section .note.pvh, "a", @note
	.balign 4
	.long 4		/* name size: "Xen\0" */
	.long 4		/* desc size */
	.long 18	/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long PHYS(pvh_start)

	.section .boot.bss, "aw", @nobits
	.balign 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt_low:	.skip 4096
boot_pdpt_high:	.skip 4096
boot_pd:	.skip 4 * 4096	/* four page directories: 0..4 GiB */
boot_stack:	.skip BOOT_STACK_SIZE
boot_stack_top:

	.section .boot.text, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	movl	%ebx, %esi		/* keep start_info; esi survives to 64-bit */
	movl	$PHYS(boot_stack_top), %esp

	/* boot_pd[i] = i * 2 MiB | PS | RW | P, for i in 0..2047 */
	movl	$PHYS(boot_pd), %edi
	xorl	%ecx, %ecx
1:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$0x83, %eax
	movl	%eax, (%edi,%ecx,8)
	movl	%ecx, %eax
	shrl	$11, %eax		/* high dword: (i * 2 MiB) >> 32 */
	movl	%eax, 4(%edi,%ecx,8)
	incl	%ecx
	cmpl	$2048, %ecx
	jne	1b

	/* boot_pdpt_low[0..3] -> the four directories */
	movl	$PHYS(boot_pdpt_low), %edi
	movl	$PHYS(boot_pd) + 3, %eax
	xorl	%ecx, %ecx
2:	movl	%eax, (%edi,%ecx,8)
	addl	$4096, %eax
	incl	%ecx
	cmpl	$4, %ecx
	jne	2b

	/* boot_pdpt_high[510] -> first directory (first GiB at -2 GiB) */
	movl	$PHYS(boot_pd) + 3, PHYS(boot_pdpt_high) + 510 * 8

	/* pml4[0] and pml4[256] share the low PDPT; pml4[511] is the kernel's */
	movl	$PHYS(boot_pdpt_low) + 3, PHYS(boot_pml4)
	movl	$PHYS(boot_pdpt_low) + 3, PHYS(boot_pml4) + 256 * 8
	movl	$PHYS(boot_pdpt_high) + 3, PHYS(boot_pml4) + 511 * 8

	/* PAE and FXSAVE/SSE (OSFXSR, OSXMMEXCPT) on, CR3, EFER.LME|NXE, then paging + write protect */
	movl	%cr4, %eax
	orl	$((1 << 5) | (1 << 9) | (1 << 10)), %eax
	movl	%eax, %cr4
	movl	$PHYS(boot_pml4), %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$((1 << 8) | (1 << 11)), %eax
	wrmsr
	movl	%cr0, %eax
	orl	$((1 << 31) | (1 << 16) | (1 << 1) | 1), %eax	/* PG, WP, MP, PE */
	andl	$~((1 << 2) | (1 << 3)), %eax	/* EM, TS off: user FPU/SSE state is saved per environment */
	movl	%eax, %cr0

	lgdt	PHYS(boot_gdt_ptr)
	ljmp	$0x08, $PHYS(long_entry)

	.code64
long_entry:
	movabsq	$higher_half, %rax
	jmp	*%rax

higher_half:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	movabsq	$boot_stack_top, %rsp

	/* Enough RAM under .bss and the symbols? If not, say so and exit. */
	movl	%esi, %ebx		/* callee-saved across the call */
	movl	%esi, %edi
	xorl	%ebp, %ebp
	call	arch_boot_check_ram
	movl	%ebx, %esi

	/* Clear .bss (the loader zeroes it too; we do not rely on that). */
	movabsq	$__bss_start, %rdi
	movabsq	$__bss_end, %rcx
	subq	%rdi, %rcx
	xorl	%eax, %eax
	rep stosb

	movl	%esi, %edi		/* zero-extends: start_info paddr */
	xorl	%ebp, %ebp		/* ends the backtrace */
	call	arch_boot_main
3:	cli
	hlt
	jmp	3b

	.section .rodata
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long PHYS(boot_gdt)
