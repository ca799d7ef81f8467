/*
 * Starting the application processors: INIT to every AP at once, one 10 ms
 * wait, then for each AP in turn a SIPI (and a second one if it does not
 * answer) while the mailbox in the trampoline page carries its stack and
 * struct percpu. An AP acknowledges as soon as it has read the mailbox, so
 * APs finish their own initialization in parallel.
 */
#include <arch/context.h>
#include <arch/cpu.h>
#include <arch/phys.h>
#include <arch/smp.h>
#include <arch/x86.h>
#include <exo/boot.h>
#include <exo/kprintf.h>
#include <exo/string.h>
#include <percpu.h>
#include "acpi.h"

#define TRAMP_PHYS 0x8000

struct tramp_mailbox {
	uint64_t cr3, stack, percpu, entry;
	volatile uint64_t ack;
};

extern char tramp_start[], tramp_mailbox[], tramp_end[];
extern uint64_t rsdp_hint; /* pvh.c */
extern char boot_pml4[];   /* boot.S */

noreturn_fn void ap_entry(struct percpu *p);
void ap_entry(struct percpu *p)
{
	arch_set_this_cpu(p);
	gdt_init_cpu(p);
	idt_load();
	lapic_init_cpu();
	arch_syscall_init();
	cpu_protect_init();
	if (lapic_id() != p->arch.apic_id)
		kprintf("smp: cpu%u: lapic id %u, MADT said %u\n", p->id, lapic_id(),
			p->arch.apic_id);
	kernel_ap_main();
}

/* Wait up to us microseconds for the mailbox acknowledgement. */
static bool wait_ack(volatile struct tramp_mailbox *mb, uint64_t us)
{
	uint64_t end = arch_cycles() + arch_cycles_per_sec() / 1000000 * us;
	while (!mb->ack)
		if (arch_cycles() > end)
			return false;
	return true;
}

static bool wait_online(unsigned core, uint64_t us)
{
	uint64_t end = arch_cycles() + arch_cycles_per_sec() / 1000000 * us;
	while (!__atomic_load_n(&percpu_of(core)->online, __ATOMIC_ACQUIRE))
		if (arch_cycles() > end)
			return false;
	return true;
}

unsigned arch_smp_start(void)
{
	static uint32_t ids[MAX_CPUS];
	unsigned found = 0;
	int n = acpi_find_cores(rsdp_hint, ids, MAX_CPUS, &found);
	uint32_t me = lapic_id();
	if (n <= 0) {
		kprintf("smp: no ACPI MADT; running on the boot core only\n");
		return percpu_online_count();
	}
	if (found > MAX_CPUS)
		kprintf("smp: %u cores found; exocore supports %u, using the first %u\n", found,
			MAX_CPUS, MAX_CPUS);

	/* Core 0 is the boot core wherever the MADT lists it; APs follow in MADT order. */
	unsigned ncpus = 1;
	for (int i = 0; i < n && ncpus < MAX_CPUS; i++) {
		if (ids[i] == me)
			continue;
		percpu_init(ncpus);
		percpu_of(ncpus)->arch.apic_id = ids[i];
		ncpus++;
	}
	percpu_ncpus = ncpus;

	memcpy(arch_phys_to_virt(pa_make(TRAMP_PHYS)), tramp_start,
	       (size_t)(tramp_end - tramp_start));
	volatile struct tramp_mailbox *mb =
		arch_phys_to_virt(pa_make(TRAMP_PHYS + (uint64_t)(tramp_mailbox - tramp_start)));

	for (unsigned c = 1; c < ncpus; c++)
		lapic_send_init(percpu_of(c)->arch.apic_id);
	delay_us(10000);

	for (unsigned c = 1; c < ncpus; c++) {
		struct percpu *p = percpu_of(c);
		gdt_init_stacks(p);
		mb->cr3 = pa_raw(arch_virt_to_phys(boot_pml4)); /* has the identity map */
		mb->stack = (uint64_t)p->arch.stack_top;
		mb->percpu = (uint64_t)p;
		mb->entry = (uint64_t)ap_entry;
		mb->ack = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		lapic_send_sipi(p->arch.apic_id, TRAMP_PHYS >> 12);
		if (!wait_ack(mb, 1000)) {
			lapic_send_sipi(p->arch.apic_id, TRAMP_PHYS >> 12);
			if (!wait_ack(mb, 200000))
				kprintf("smp: cpu%u (apic %u) did not start\n", c, p->arch.apic_id);
		}
	}
	for (unsigned c = 1; c < ncpus; c++)
		if (!wait_online(c, 2000000))
			kprintf("smp: cpu%u (apic %u) started but did not report in\n", c,
				percpu_of(c)->arch.apic_id);
	return percpu_online_count();
}
