/*
 * A system call with every general register chosen by the test and every
 * one read back after it: what the kernel kept, and what it left in the
 * registers it may change (tests/user/pct.c).
 */
#pragma once

#include <exo/types.h>

/* The 15 general registers besides rsp, and rflags just before the call. */
struct gpr {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rflags;
};

/* Load every register from *in, `syscall`, store every register into *out. */
void gpr_syscall(const struct gpr *in, struct gpr *out);

/* The instruction after gpr_syscall's `syscall`: rcx must hold it after the call. */
extern char gpr_syscall_ret[];

__asm__(".text\n"
	".globl gpr_syscall\n"
	"gpr_syscall:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	pushq %rsi\n" /* out */
	"	pushfq\n"
	"	popq %rax\n"
	"	movq %rax, 120(%rsi)\n" /* out->rflags */
	"	movq 0(%rdi), %rax\n"
	"	movq 8(%rdi), %rbx\n"
	"	movq 16(%rdi), %rcx\n"
	"	movq 24(%rdi), %rdx\n"
	"	movq 32(%rdi), %rsi\n"
	"	movq 48(%rdi), %rbp\n"
	"	movq 56(%rdi), %r8\n"
	"	movq 64(%rdi), %r9\n"
	"	movq 72(%rdi), %r10\n"
	"	movq 80(%rdi), %r11\n"
	"	movq 88(%rdi), %r12\n"
	"	movq 96(%rdi), %r13\n"
	"	movq 104(%rdi), %r14\n"
	"	movq 112(%rdi), %r15\n"
	"	movq 40(%rdi), %rdi\n"
	"	syscall\n"
	".globl gpr_syscall_ret\n"
	"gpr_syscall_ret:\n"
	"	pushq %rdi\n"
	"	movq 8(%rsp), %rdi\n" /* out */
	"	movq %rax, 0(%rdi)\n"
	"	movq %rbx, 8(%rdi)\n"
	"	movq %rcx, 16(%rdi)\n"
	"	movq %rdx, 24(%rdi)\n"
	"	movq %rsi, 32(%rdi)\n"
	"	movq %rbp, 48(%rdi)\n"
	"	movq %r8, 56(%rdi)\n"
	"	movq %r9, 64(%rdi)\n"
	"	movq %r10, 72(%rdi)\n"
	"	movq %r11, 80(%rdi)\n"
	"	movq %r12, 88(%rdi)\n"
	"	movq %r13, 96(%rdi)\n"
	"	movq %r14, 104(%rdi)\n"
	"	movq %r15, 112(%rdi)\n"
	"	popq %rax\n"
	"	movq %rax, 40(%rdi)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n");
