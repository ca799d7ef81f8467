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
#include <arch/phys.h>
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

/*
 * W^X for the kernel. The boot tables map the image with 2 MiB pages, all
 * writable and executable. kernel_wx_init maps it again with 4 KiB pages:
 * text read-only and executable; the trampoline, boot tables, constants,
 * user images and symbols never executable, and only the boot tables, data
 * and bss writable; the page below each kernel stack not at all (a stack
 * overflow faults there, and the double fault names it). The direct map
 * loses execute everywhere but its first 2 MiB, which the identity map
 * shares and the AP trampoline runs from.
 */
#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_PS (1ULL << 7)
#define PTE_NX (1ULL << 63)
#define WX_PTS 32 /* page tables for the image: 64 MiB */

static uint64_t wx_pd[512] __attribute__((aligned(4096)));
static uint64_t wx_pt[WX_PTS][512] __attribute__((aligned(4096)));

void kernel_wx_init(void)
{
	extern char __kernel_start[], __kernel_end[], __text_end[], __rodata_start[],
	    __data_start[], __bss_end[], __kernel_vbase[];
	extern uint64_t boot_pml4[512];
	uintptr_t base = (uintptr_t)__kernel_vbase,
		  end = ALIGN_UP((uintptr_t)__kernel_end, PAGE_SIZE);
	if ((end - base) > (uint64_t)WX_PTS << 21)
		panic("protect: the kernel image (%llu KiB) is larger than its W^X tables",
		      (unsigned long long)((end - base) >> 10));
	/* The image is the first GiB above -2 GiB: one directory, one table per 2 MiB. */
	for (uintptr_t va = base; va < end; va += PAGE_SIZE) {
		uint64_t off = va - base, f = PTE_P | PTE_NX;
		if (va < (uintptr_t)__kernel_start)
			continue; /* below the load address: nothing of ours */
		if (va < (uintptr_t)__text_end)
			f = PTE_P; /* code */
		else if (va < (uintptr_t)__rodata_start)
			f |= PTE_W; /* trampoline, boot tables, boot stack */
		else if (va >= (uintptr_t)__data_start && va < (uintptr_t)__bss_end)
			f |= PTE_W;
		if (gdt_guard_cpu(va) >= 0)
			f = 0; /* a stack's guard page */
		wx_pt[off >> 21][(off >> 12) & 511] = f ? (off | f) : 0;
	}
	for (unsigned i = 0; i < WX_PTS; i++)
		wx_pd[i] = pa_raw(arch_virt_to_phys(wx_pt[i])) | PTE_P | PTE_W;
	/* The direct map (and identity map) directories: no execute past the first 2 MiB. */
	uint64_t *pdpt_low = arch_phys_to_virt(pa_make(boot_pml4[256] & ~0xfffULL & ~PTE_NX));
	for (unsigned d = 0; d < 4; d++) {
		uint64_t *pd = arch_phys_to_virt(pa_make(pdpt_low[d] & ~0xfffULL & ~PTE_NX));
		for (unsigned i = d == 0 ? 1 : 0; i < 512; i++)
			if (pd[i] & PTE_PS)
				pd[i] |= PTE_NX;
	}
	/* The kernel's PDPT (shared by every address space's PML4): entry 510 is -2 GiB. */
	uint64_t *pdpt_high = arch_phys_to_virt(pa_make(boot_pml4[511] & ~0xfffULL & ~PTE_NX));
	pdpt_high[510] = pa_raw(arch_virt_to_phys(wx_pd)) | PTE_P | PTE_W;
	write_cr4(read_cr4()); /* (no PGE: a CR3 reload flushes everything) */
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
	kprintf("protect: kernel text read-only, data and the direct map not executable, "
		"stack guard pages\n");
}
