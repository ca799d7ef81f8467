/*
 * arch/percpu.h — the architecture's part of struct percpu, and how a core
 * finds its own struct (x86_64: the GS base points at it; the struct's first
 * word points at itself, so one %gs-relative load yields the pointer).
 */
#pragma once

#include <exo/types.h>

struct percpu;

struct arch_percpu {
	uint32_t apic_id;	 /* local APIC id (x2APIC id when enabled) */
	void *tss;		 /* this core's TSS (struct tss, in gdt.c) */
	uint64_t gdt[8];	 /* null, kcode, kdata, ucode32, udata, ucode, tss (2 words) */
	uint8_t *ist_nmi;	 /* top of the NMI stack */
	uint8_t *ist_df;	 /* top of the double-fault stack */
	uint8_t *stack_top;	 /* top of the boot/kernel stack */
};

static inline struct percpu *arch_this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* Make p this core's percpu struct (writes the GS base). */
void arch_set_this_cpu(struct percpu *p);
