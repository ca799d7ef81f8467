/*
 * The local APIC: xAPIC through MMIO (via the direct map), or x2APIC through
 * MSRs where the CPU has it; IPIs; the per-core timer.
 */
#include <arch/cpu.h>
#include <arch/ipi.h>
#include <arch/phys.h>
#include <arch/timer.h>
#include <arch/x86.h>
#include <exo/boot.h>
#include <percpu.h>

enum {
	LAPIC_ID = 0x20,
	LAPIC_TPR = 0x80,
	LAPIC_EOI = 0xb0,
	LAPIC_SVR = 0xf0,
	LAPIC_ESR = 0x280,
	LAPIC_ICR_LO = 0x300,
	LAPIC_ICR_HI = 0x310,
	LAPIC_LVT_TIMER = 0x320,
	LAPIC_LVT_LINT0 = 0x350,
	LAPIC_LVT_LINT1 = 0x360,
	LAPIC_LVT_ERROR = 0x370,
	LAPIC_TIMER_INIT = 0x380,
	LAPIC_TIMER_CUR = 0x390,
	LAPIC_TIMER_DIV = 0x3e0,
};

#define LVT_MASKED (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_NMI (4u << 8)

static bool x2apic;		/* decided on the boot core, same on all */
static bool tsc_deadline;
static uint64_t lapic_timer_hz; /* with divide-by-16 */
static volatile uint32_t *xapic_mmio;

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return xapic_mmio[reg / 4];
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		xapic_mmio[reg / 4] = v;
}

uint32_t lapic_id(void) { return x2apic ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24; }

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

/* Calibrate the APIC timer against the (already calibrated) TSC. */
static void lapic_timer_calibrate(void)
{
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	delay_us(10000);
	uint32_t left = lapic_read(LAPIC_TIMER_CUR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_timer_hz = (uint64_t)(0xffffffffu - left) * 100;
	if (lapic_timer_hz == 0)
		lapic_timer_hz = 1000000; /* never divide by zero below */
}

void lapic_init_cpu(void)
{
	struct cpuid id = cpuid(1, 0);
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (cpu_id() == 0) {
		x2apic = id.ecx & CPUID1_ECX_X2APIC;
		tsc_deadline = id.ecx & CPUID1_ECX_TSC_DEADLINE;
		xapic_mmio = arch_phys_to_virt(pa_make(base & ~0xfffULL));
	}
	base |= 1u << 11; /* global enable */
	if (x2apic)
		base |= 1u << 10;
	wrmsr(MSR_APIC_BASE, base);

	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	if (cpu_id() != 0) {
		lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
		lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	}
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS); /* software enable */
	if (!x2apic)
		lapic_write(LAPIC_ESR, 0);
	if (cpu_id() == 0)
		lapic_timer_calibrate();
}

static void icr_send(uint32_t dest, uint32_t low)
{
	unsigned long flags = arch_irq_save(); /* an IPI handler may send too */
	if (x2apic) {
		wrmsr(0x830, ((uint64_t)dest << 32) | low);
	} else {
		while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
			arch_cpu_relax();
		lapic_write(LAPIC_ICR_HI, dest << 24);
		lapic_write(LAPIC_ICR_LO, low);
	}
	arch_irq_restore(flags);
}

void lapic_send_init(uint32_t apic_id) { icr_send(apic_id, ICR_INIT | ICR_ASSERT); }

void lapic_send_sipi(uint32_t apic_id, uint8_t page) { icr_send(apic_id, ICR_STARTUP | page); }

void arch_ipi_send(unsigned core, enum ipi_kind kind)
{
	uint32_t dest = percpu_of(core)->arch.apic_id;
	/* STOP goes as an NMI: it must reach a core spinning with interrupts off. */
	uint32_t low = kind == IPI_STOP ? (ICR_NMI | ICR_ASSERT)
					: (ICR_ASSERT | (IPI_VECTOR_BASE + (uint32_t)kind));
	icr_send(dest, low);
}

void arch_ipi_send_others(enum ipi_kind kind)
{
	unsigned me = cpu_id();
	for (unsigned c = 0; c < percpu_ncpus; c++)
		if (c != me && __atomic_load_n(&percpu_of(c)->online, __ATOMIC_ACQUIRE))
			arch_ipi_send(c, kind);
}

void arch_timer_oneshot(uint64_t ns)
{
	if (tsc_deadline) {
		uint64_t cycles = ns * (arch_cycles_per_sec() / 1000) / 1000000;
		lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_TSC_DEADLINE);
		wrmsr(MSR_TSC_DEADLINE, arch_cycles() + (cycles ? cycles : 1));
		return;
	}
	uint64_t ticks = ns * (lapic_timer_hz / 1000) / 1000000;
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0xffffffffu)
		ticks = 0xffffffffu;
	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
}

void arch_timer_cancel(void)
{
	if (tsc_deadline)
		wrmsr(MSR_TSC_DEADLINE, 0);
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
}

const char *arch_timer_mode(void) { return tsc_deadline ? "tsc-deadline" : "lapic-oneshot"; }

void apic_timer_interrupt(void) { percpu_timer_expired(); }
