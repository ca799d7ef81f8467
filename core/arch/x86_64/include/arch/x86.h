/*
 * x86_64 instructions and register names used inside core/arch/x86_64 only.
 * Core code never includes this header.
 */
#pragma once

#include <exo/types.h>

struct percpu;

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

struct cpuid {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid cpuid(uint32_t leaf, uint32_t sub)
{
	struct cpuid r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(sub));
	return r;
}

#define READ_CR(n)                                                    \
	static inline uint64_t read_cr##n(void)                       \
	{                                                             \
		uint64_t v;                                           \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));     \
		return v;                                             \
	}
READ_CR(0)
READ_CR(2)
READ_CR(3)
READ_CR(4)
static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory");
}

/* CR4 protection bits (protect.c turns them on where the CPU has them). */
#define CR4_UMIP (1ULL << 11) /* sgdt, sidt, sldt, smsw, str fault in user mode */
#define CR4_SMEP (1ULL << 20) /* the kernel never executes a user page */
#define CR4_SMAP (1ULL << 21) /* nor reads or writes one, unless RFLAGS.AC is set */
#define RFLAGS_AC (1ULL << 18)

/* An explicit window in which the kernel may touch user pages through user addresses (SMAP). */
static inline void user_access_begin(void)
{
	if (read_cr4() & CR4_SMAP)
		__asm__ volatile("stac" ::: "memory");
}
static inline void user_access_end(void)
{
	if (read_cr4() & CR4_SMAP)
		__asm__ volatile("clac" ::: "memory");
}

/* Turn on SMEP, SMAP and UMIP on this core where the CPU has them (protect.c). */
void cpu_protect_init(void);
/* Set the stack protector's guard to a random value (boot core, before anything else). */
void stack_guard_init(void);
#undef READ_CR

#define MSR_APIC_BASE 0x1b
#define MSR_EFER 0xc0000080
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_DEADLINE 0x6e0

/* CPUID.1:ECX feature bits */
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_HYPERVISOR (1u << 31)

/* Segment selectors of the per-core GDT (gdt.c). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_TSS 0x30

/* Interrupt vectors. IPI kinds map to IPI_VECTOR_BASE + kind. */
#define VEC_TIMER 0xe0
#define IPI_VECTOR_BASE 0xf0
#define VEC_SPURIOUS 0xff

/* The registers saved on every trap (entry.S pushes them in this order). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Per-core descriptor tables and stacks (gdt.c). Stacks first: an AP needs its stack to start. */
void gdt_init_stacks(struct percpu *p);
void gdt_init_cpu(struct percpu *p);
/* The guard page below core cpu's kernel stack; which core's guard addr is in (-1: none). */
uintptr_t gdt_stack_guard(unsigned cpu);
int gdt_guard_cpu(uintptr_t addr);
/* Map the kernel image W^X with the stack guards, the direct map NX (boot core, once). */
void kernel_wx_init(void); /* The shared IDT (trap.c): build once, load on every core. */
void idt_init(void);
void idt_load(void);

/* Serial console (serial.c). */
void serial_init(void);

/* Local APIC (apic.c). */
void lapic_init_cpu(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);

/* TSC calibration against the PIT (time.c). */
void tsc_calibrate(void);
void delay_us(uint64_t us);

/* Interrupt handlers called from trap.c. */
void apic_timer_interrupt(void);
