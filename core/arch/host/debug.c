/*
 * What panic() prints on the host: the simulated core's state (the host
 * has no trap frame or control registers worth showing) and a
 * frame-pointer backtrace named from the executable's own ELF symbol
 * table. dladdr() or backtrace_symbols() would name only exported symbols
 * unless the binary were linked with -rdynamic; reading .symtab from
 * /proc/self/exe names static functions too, with no link flag.
 */
#include "sim_impl.h"

#include <arch/debug.h>
#include <elf.h>
#include <exo/kprintf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FRAMES 32

void arch_dump_registers(void)
{
	struct sim *m = sim_top();
	struct sim_cpu *c = sim_cur(m);
	if (m->running == SIM_NO_CORE)
		kprintf("  sim: machine %u, outside any fiber (acting as core 0)\n", sim_depth);
	else
		kprintf("  sim: machine %u, core %u of %u\n", sim_depth, m->running, m->ncores);
	kprintf("  irq %s  pending 0x%x  cycles %llu  core steps %llu  machine steps %llu\n",
	        c->irq ? "on" : "off", c->pending, (unsigned long long)c->cycles,
	        (unsigned long long)c->steps, (unsigned long long)m->steps);
	uintptr_t rsp;
	__asm__ volatile("movq %%rsp, %0" : "=r"(rsp));
	kprintf("  rsp %016llx  rbp %016llx (host stack)\n", (unsigned long long)rsp,
	        (unsigned long long)(uintptr_t)__builtin_frame_address(0));
}

/* The executable's symbol table, mapped once; NULL if it cannot be read. */
static const Elf64_Sym *symtab;
static size_t nsyms;
static const char *strtab;
static uintptr_t load_bias;
static bool syms_tried;

static int first_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uintptr_t *)data = info->dlpi_addr; /* the main program comes first */
	return 1;
}

static void syms_load(void)
{
	syms_tried = true;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	void *p = MAP_FAILED;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(Elf64_Ehdr))
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return;
	/* Kept mapped for the life of the process: a panic may come any time. */
	const uint8_t *img = p;
	size_t len = (size_t)st.st_size;
	const Elf64_Ehdr *eh = p;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > len || eh->e_shnum > (len - eh->e_shoff) / sizeof(Elf64_Shdr))
		return;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		if (sh[i].sh_offset > len || sh[i].sh_size > len - sh[i].sh_offset ||
		    str->sh_offset > len || str->sh_size > len - str->sh_offset)
			return;
		symtab = (const Elf64_Sym *)(img + sh[i].sh_offset);
		nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
		strtab = (const char *)(img + str->sh_offset);
		dl_iterate_phdr(first_object, &load_bias);
		return;
	}
}

/* The function containing addr and addr's offset in it; NULL if unknown. */
static const char *sym_lookup(uintptr_t addr, uintptr_t *off)
{
	if (!syms_tried)
		syms_load();
	for (size_t i = 0; symtab && i < nsyms; i++) {
		const Elf64_Sym *s = &symtab[i];
		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF)
			continue;
		uintptr_t lo = load_bias + s->st_value;
		/* addr is a return address: look up addr - 1, in case the call was last. */
		if (addr - 1 >= lo && addr - 1 < lo + s->st_size) {
			*off = addr - lo;
			return strtab + s->st_name;
		}
	}
	return NULL;
}

static void print_frame(unsigned n, uintptr_t addr)
{
	uintptr_t off;
	const char *name = sym_lookup(addr, &off);
	if (name)
		kprintf("  #%u 0x%llx %s+0x%llx\n", n, (unsigned long long)addr, name,
		        (unsigned long long)off);
	else
		kprintf("  #%u 0x%llx ?\n", n, (unsigned long long)addr);
}

/* Bounds of the stack holding fp: a fiber's, else the host thread's own. */
static bool stack_bounds(uintptr_t fp, uintptr_t *lo, uintptr_t *hi)
{
	if (sim_fiber_stack(fp, lo, hi))
		return true;
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return false;
	bool ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
	pthread_attr_destroy(&attr);
	*lo = (uintptr_t)addr;
	*hi = (uintptr_t)addr + size;
	return ok && fp >= *lo && fp < *hi;
}

void arch_dump_backtrace(uintptr_t fp)
{
	if (!fp)
		fp = (uintptr_t)__builtin_frame_address(0);
	kprintf("backtrace:\n");
	uintptr_t lo, hi;
	if (!stack_bounds(fp, &lo, &hi))
		return;
	/*
	 * Walk saved %rbp links while they stay on this stack and go up:
	 * fibers start with %rbp = 0, and code built without frame pointers
	 * (libc) leaves values that fail these checks before we read them.
	 */
	for (unsigned n = 0; n < MAX_FRAMES; n++) {
		if (fp & 7 || fp < lo || fp + 16 > hi)
			break;
		const uintptr_t *frame = (const uintptr_t *)fp;
		if (!frame[1])
			break;
		print_frame(n, frame[1]);
		if (frame[0] <= fp)
			break;
		fp = frame[0];
	}
}
