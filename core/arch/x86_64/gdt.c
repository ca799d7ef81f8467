/*
 * Per-core GDT and TSS. Each core has its own TSS (its interrupt stacks)
 * and so its own GDT. Selector layout, fixed for syscall/sysret:
 *   0x08 kernel code, 0x10 kernel data, 0x18 user code (32-bit, unused),
 *   0x20 user data, 0x28 user code (64-bit), 0x30 TSS (two slots).
 * IST1 is the NMI stack, IST2 the double-fault stack.
 */
#include <arch/percpu.h>
#include <arch/x86.h>
#include <percpu.h>

#define KSTACK_SIZE 16384
#define IST_SIZE 4096
#define KSTACK_GUARD 4096

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

static struct tss tss_table[MAX_CPUS];
/* Each kernel stack with a guard page below it, left unmapped (protect.c). */
static uint8_t kstacks[MAX_CPUS][KSTACK_GUARD + KSTACK_SIZE] __attribute__((aligned(4096)));
static uint8_t nmi_stacks[MAX_CPUS][IST_SIZE] __attribute__((aligned(4096)));
static uint8_t df_stacks[MAX_CPUS][IST_SIZE] __attribute__((aligned(4096)));

/* A code or data descriptor: base 0, limit ignored in long mode. */
static uint64_t seg(bool code, unsigned dpl, bool long_mode)
{
	uint64_t d = 0xffffULL | (0xfULL << 48);	/* limit */
	d |= 1ULL << 47;				/* present */
	d |= (uint64_t)dpl << 45;
	d |= 1ULL << 44;				/* code/data, not system */
	d |= code ? (0xaULL << 40) : (0x2ULL << 40);	/* exec/read or read/write */
	d |= 1ULL << 55;				/* 4 KiB granularity */
	if (code && long_mode)
		d |= 1ULL << 53;			/* L */
	else
		d |= 1ULL << 54;			/* D/B: 32-bit */
	return d;
}

void gdt_init_stacks(struct percpu *p)
{
	unsigned c = p->id;
	struct tss *tss = &tss_table[c];
	struct arch_percpu *a = &p->arch;

	a->stack_top = kstacks[c] + KSTACK_GUARD + KSTACK_SIZE;
	a->ist_nmi = nmi_stacks[c] + IST_SIZE;
	a->ist_df = df_stacks[c] + IST_SIZE;
	a->tss = tss;
	tss->rsp[0] = (uint64_t)a->stack_top;
	tss->ist[0] = (uint64_t)a->ist_nmi;
	tss->ist[1] = (uint64_t)a->ist_df;
	tss->iomap_base = sizeof(*tss); /* no I/O bitmap */
}

void gdt_init_cpu(struct percpu *p)
{
	struct arch_percpu *a = &p->arch;
	gdt_init_stacks(p);
	struct tss *tss = a->tss;
	uint64_t base = (uint64_t)tss, limit = sizeof(*tss) - 1;
	a->gdt[0] = 0;
	a->gdt[1] = seg(true, 0, true);
	a->gdt[2] = seg(false, 0, false);
	a->gdt[3] = seg(true, 3, false);
	a->gdt[4] = seg(false, 3, false);
	a->gdt[5] = seg(true, 3, true);
	a->gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x9ULL << 40) /* avail TSS */
		    | (1ULL << 47) | (((base >> 24) & 0xff) << 56);
	a->gdt[7] = base >> 32;

	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr = { sizeof(a->gdt) - 1, (uint64_t)a->gdt };
	__asm__ volatile("lgdt %0" ::"m"(gdtr));
	/* Reload CS through a far return, then the data segments and TR. */
	__asm__ volatile("pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %[ds], %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "ltr %w[tss]"
			 :
			 : [cs] "i"(SEL_KCODE), [ds] "i"(SEL_KDATA), [tss] "r"(SEL_TSS)
			 : "rax", "memory");
}

void arch_set_this_cpu(struct percpu *p)
{
	/* Loading %gs zeroes the base on some CPUs: set the MSR after. */
	__asm__ volatile("movw %w0, %%gs" ::"r"(0));
	wrmsr(MSR_GS_BASE, (uint64_t)p);
}

/* user.S reaches these fields by fixed offsets (asm-offsets.h). */
#include <arch/context.h>
#include "asm-offsets.h"
_Static_assert(offsetof(struct percpu, arch.kctx_rsp) == PERCPU_KCTX_RSP, "asm offset");
_Static_assert(offsetof(struct percpu, arch.kstack) == PERCPU_KSTACK, "asm offset");
_Static_assert(offsetof(struct percpu, arch.user_rsp) == PERCPU_USER_RSP, "asm offset");
_Static_assert(offsetof(struct percpu, arch.uregs) == PERCPU_UREGS, "asm offset");
_Static_assert(offsetof(struct percpu, arch.tss) == PERCPU_TSS, "asm offset");
_Static_assert(offsetof(struct percpu, id) == PERCPU_ID, "asm offset");
_Static_assert(offsetof(struct percpu, current) == PERCPU_CURRENT, "asm offset");
_Static_assert(offsetof(struct percpu, preempt) == PERCPU_PREEMPT, "asm offset");
_Static_assert(sizeof(((struct percpu *)0)->preempt) == 1, "user.S tests it as a byte");
_Static_assert(sizeof(((struct percpu *)0)->id) == 4, "user.S loads it as a long");
_Static_assert(offsetof(struct arch_uctx, rax) == UCTX_RAX, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rdi) == UCTX_RDI, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rsi) == UCTX_RSI, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rdx) == UCTX_RDX, "asm offset");
_Static_assert(offsetof(struct arch_uctx, r10) == UCTX_R10, "asm offset");
_Static_assert(offsetof(struct arch_uctx, r8) == UCTX_R8, "asm offset");
_Static_assert(offsetof(struct arch_uctx, r9) == UCTX_R9, "asm offset");
_Static_assert(offsetof(struct arch_uctx, r12) == UCTX_R12, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rbx) == UCTX_RBX, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rcx) == UCTX_RCX, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rbp) == UCTX_RBP, "asm offset");
_Static_assert(offsetof(struct arch_uctx, r11) == UCTX_R11, "asm offset");
_Static_assert(offsetof(struct arch_uctx, r13) == UCTX_R13, "asm offset");
_Static_assert(offsetof(struct arch_uctx, r14) == UCTX_R14, "asm offset");
_Static_assert(offsetof(struct arch_uctx, r15) == UCTX_R15, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rip) == UCTX_RIP, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rsp) == UCTX_RSP, "asm offset");
_Static_assert(offsetof(struct arch_uctx, rflags) == UCTX_RFLAGS, "asm offset");
_Static_assert(sizeof(struct arch_uctx) == UCTX_RFLAGS + 8, "asm offset");

uintptr_t gdt_stack_guard(unsigned cpu)
{
	return (uintptr_t)kstacks[cpu];
}

int gdt_guard_cpu(uintptr_t addr)
{
	for (unsigned c = 0; c < MAX_CPUS; c++)
		if (addr >= (uintptr_t)kstacks[c] && addr < (uintptr_t)kstacks[c] + KSTACK_GUARD)
			return (int)c;
	return -1;
}
