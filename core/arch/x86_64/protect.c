/*
 * The CPU's own protections, on every core (kernel-only; docs/kernel.md
 * "Hardening"):
 *   SMEP  the kernel never executes code from a user page;
 *   SMAP  the kernel never reads or writes a user page through its user
 *         address. It does not need to: every copy to or from user memory
 *         (core/uaccess.c) goes through the direct map after checking the
 *         environment's own page tables, so no stac/clac window is opened
 *         anywhere but in the self-tests that touch user addresses on purpose;
 *   UMIP  user code cannot read the descriptor-table registers (sgdt, sidt,
 *         sldt, str, smsw fault), which would leak kernel addresses.
 * Each is turned on only if CPUID says the CPU has it; boot prints which.
 *
 * And the stack protector: the kernel is built with -fstack-protector-strong
 * against one global guard, which the boot core sets to a random value
 * before anything else runs; a frame whose canary changed panics.
 */
#include <arch/x86.h>
#include <exo/kprintf.h>
#include <exo/panic.h>
#include <percpu.h>

/* A fixed value until stack_guard_init (nothing that checks it returns before then). */
uintptr_t __stack_chk_guard = 0x595e9fbd94fda766ULL;

noreturn_fn void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
	panic("stack protector: a kernel stack frame was overwritten (canary changed) in %p",
	      __builtin_return_address(0));
}

__attribute__((no_stack_protector)) void stack_guard_init(void)
{
	uint64_t v = 0;
	bool have_rdrand = cpuid(1, 0).ecx & (1u << 30);
	for (unsigned i = 0; have_rdrand && i < 10 && !v; i++) {
		unsigned char ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
		if (!ok)
			v = 0;
	}
	/* Without RDRAND: the cycle counter, mixed (splitmix64's finalizer). */
	if (!v) {
		uint32_t lo, hi;
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		v = ((uint64_t)hi << 32 | lo) + 0x9e3779b97f4a7c15ULL;
		v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
		v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
		v ^= v >> 31;
	}
	v &= ~0xffULL; /* a zero low byte: a string overrun cannot copy the canary */
	__stack_chk_guard = v;
}

void cpu_protect_init(void)
{
	if (cpuid(0, 0).eax < 7)
		return;
	struct cpuid f = cpuid(7, 0);
	uint64_t cr4 = read_cr4();
	if (f.ebx & (1u << 7))
		cr4 |= CR4_SMEP;
	if (f.ebx & (1u << 20))
		cr4 |= CR4_SMAP;
	if (f.ecx & (1u << 2))
		cr4 |= CR4_UMIP;
	write_cr4(cr4);
	if (cpu_id() == 0)
		kprintf("cpu: SMEP %s, SMAP %s, UMIP %s\n", cr4 & CR4_SMEP ? "on" : "absent",
			cr4 & CR4_SMAP ? "on" : "absent", cr4 & CR4_UMIP ? "on" : "absent");
}
