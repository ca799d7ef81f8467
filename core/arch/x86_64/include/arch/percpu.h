/*
 * arch/percpu.h — x86_64's part of struct percpu, and arch_this_cpu
 * (exo/arch/percpu.h): the GS base points at the struct, whose first word
 * points at itself, so one %gs-relative load yields the pointer.
 */
#pragma once

#include <exo/arch/percpu.h>

/*
 * The first fields are used from assembly (user.S) at fixed offsets from the
 * GS base: asm-offsets.h, checked by static asserts in gdt.c. struct percpu
 * puts this struct right after its self pointer.
 */
struct arch_percpu {
	uint64_t kctx_rsp;	 /* kernel stack pointer saved by arch_user_enter */
	uint64_t kstack;	 /* stack syscalls from user mode run on */
	uint64_t user_rsp;	 /* scratch: the user's rsp during syscall entry/exit */
	void *uregs;		 /* struct arch_uctx of the syscall being handled */
	void *tss;		 /* this core's TSS (struct tss, in gdt.c) */
	uint32_t apic_id;	 /* local APIC id (x2APIC id when enabled) */
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
