/*
 * Register dumps and symbolized backtraces for panic(). Symbols come from
 * the table tools/mksyms.py builds at the second link (weak here: the first
 * link has none, and a backtrace then prints bare addresses).
 */
#include <arch/debug.h>
#include <arch/x86.h>
#include <exo/kprintf.h>
#include <percpu.h>

struct ksym {
	uint64_t addr;
	uint32_t name; /* offset into ksyms_names */
	uint32_t size;
};
extern const struct ksym ksyms_table[] __attribute__((weak));
extern const char ksyms_names[] __attribute__((weak));
extern const uint64_t ksyms_count __attribute__((weak));

struct trap_frame *panic_frame[MAX_CPUS];

/* The function containing addr: its name and addr's offset; NULL if none. */
static const char *ksym_lookup(uint64_t addr, uint64_t *off)
{
	if (!&ksyms_count || ksyms_count == 0 || addr < ksyms_table[0].addr)
		return NULL;
	uint64_t lo = 0, hi = ksyms_count; /* last entry with .addr <= addr */
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		if (ksyms_table[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	const struct ksym *s = &ksyms_table[lo];
	if (s->size && addr >= s->addr + s->size)
		return NULL;
	*off = addr - s->addr;
	return ksyms_names + s->name;
}

/* A return address is symbolized by the call before it (a noreturn call may end a function). */
static void print_frame(unsigned n, uint64_t addr, bool is_return)
{
	uint64_t off;
	const char *name = ksym_lookup(addr - is_return, &off);
	off += is_return;
	if (name)
		kprintf("  #%u 0x%llx %s+0x%llx\n", n, (unsigned long long)addr, name,
			(unsigned long long)off);
	else
		kprintf("  #%u 0x%llx ?\n", n, (unsigned long long)addr);
}

static bool kernel_text(uint64_t a)
{
	extern char __kernel_start[], __trampoline_start[];
	return a >= (uint64_t)__kernel_start && a < (uint64_t)__trampoline_start;
}

void arch_dump_registers(void)
{
	struct trap_frame *f = panic_frame[cpu_id()];
	if (f) {
		kprintf("  rip %016llx  rsp %016llx  rflags %016llx  cs %llx ss %llx\n",
			(unsigned long long)f->rip, (unsigned long long)f->rsp,
			(unsigned long long)f->rflags, (unsigned long long)f->cs,
			(unsigned long long)f->ss);
		kprintf("  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n",
			(unsigned long long)f->rax, (unsigned long long)f->rbx,
			(unsigned long long)f->rcx, (unsigned long long)f->rdx);
		kprintf("  rsi %016llx  rdi %016llx  rbp %016llx  r8  %016llx\n",
			(unsigned long long)f->rsi, (unsigned long long)f->rdi,
			(unsigned long long)f->rbp, (unsigned long long)f->r8);
		kprintf("  r9  %016llx  r10 %016llx  r11 %016llx  r12 %016llx\n",
			(unsigned long long)f->r9, (unsigned long long)f->r10,
			(unsigned long long)f->r11, (unsigned long long)f->r12);
		kprintf("  r13 %016llx  r14 %016llx  r15 %016llx\n", (unsigned long long)f->r13,
			(unsigned long long)f->r14, (unsigned long long)f->r15);
	} else {
		/*
		 * A panic() call, not a trap: the registers as they are here, in
		 * the order of the trap frame's dump. rip is this function's; the
		 * backtrace below names the caller of panic().
		 */
		static const char *const name[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
						     "r8 ", "r9 ", "r10", "r11", "r12", "r13", "r14",
						     "r15", "rsp", "rip", "rflags" };
		uint64_t r[ARRAY_SIZE(name)];
		__asm__ volatile("movq %%rax, 0(%0); movq %%rbx, 8(%0); movq %%rcx, 16(%0);"
				 "movq %%rdx, 24(%0); movq %%rsi, 32(%0); movq %%rdi, 40(%0);"
				 "movq %%rbp, 48(%0); movq %%r8, 56(%0); movq %%r9, 64(%0);"
				 "movq %%r10, 72(%0); movq %%r11, 80(%0); movq %%r12, 88(%0);"
				 "movq %%r13, 96(%0); movq %%r14, 104(%0); movq %%r15, 112(%0);"
				 "movq %%rsp, 120(%0); leaq 0(%%rip), %%rax; movq %%rax, 128(%0);"
				 "pushfq; popq 136(%0)"
				 :
				 : "r"(r)
				 : "rax", "memory");
		for (size_t i = 0; i < ARRAY_SIZE(name); i++)
			kprintf("  %s %016llx%s", name[i], (unsigned long long)r[i],
				i % 4 == 3 || i + 1 == ARRAY_SIZE(name) ? "\n" : "");
	}
	kprintf("  cr0 %016llx  cr2 %016llx  cr3 %016llx  cr4 %016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
}

void arch_dump_backtrace(uintptr_t fp)
{
	struct trap_frame *f = panic_frame[cpu_id()];
	unsigned n = 0;
	kprintf("backtrace:\n");
	if (!fp && f) {
		print_frame(n++, f->rip, false); /* the faulting instruction itself */
		fp = f->rbp;
	} else if (!fp) {
		fp = (uintptr_t)__builtin_frame_address(0);
	}
	/* Walk saved %rbp links; stop at 0 (boot and trap entry clear it) or junk. */
	for (; fp && n < 32; n++) {
		if (fp & 7 || fp < 0xffff800000000000ULL)
			break;
		uint64_t ret = ((uint64_t *)fp)[1];
		if (!kernel_text(ret))
			break;
		print_frame(n, ret, true);
		fp = ((uint64_t *)fp)[0];
	}
}
