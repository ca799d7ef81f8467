/*
 * The boot core's first C code: take what the PVH loader handed over
 * (struct hvm_start_info: command line, memory map, RSDP), set up this
 * core's percpu, descriptor tables, TSC and APIC, then enter kernel_main.
 */
#include <arch/console.h>
#include <arch/context.h>
#include <arch/cpu.h>
#include <arch/phys.h>
#include <arch/power.h>
#include <arch/x86.h>
#include <exo/boot.h>
#include <exo/kprintf.h>
#include <exo/panic.h>
#include <exo/shutdown.h>
#include <exo/string.h>
#include <percpu.h>

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};
#define HVM_MEMMAP_RAM 1

uint64_t rsdp_hint; /* for acpi.c, via smp.c */
static struct boot_info boot_info;

/* Copy what we need out of start_info: the loader's pages are reused later. */
static void read_start_info(uint32_t pa)
{
	const struct hvm_start_info *si = arch_phys_to_virt(pa_make(pa));
	if (si->magic != HVM_START_MAGIC)
		panic("boot: no PVH start info at 0x%x (magic 0x%x): boot with QEMU -kernel", pa,
		      si->magic);
	rsdp_hint = si->rsdp_paddr;
	if (si->cmdline_paddr) {
		const char *cl = arch_phys_to_virt(pa_make(si->cmdline_paddr));
		size_t n = 0;
		while (cl[n] && n < BOOT_CMDLINE_MAX - 1)
			n++;
		if (cl[n])
			kprintf("boot: command line longer than %u bytes; cut\n", BOOT_CMDLINE_MAX - 1);
		memcpy(boot_info.cmdline, cl, n);
		boot_info.cmdline[n] = '\0';
	}
	if (si->version < 1 || !si->memmap_paddr)
		panic("boot: the loader gave no memory map (PVH start info version %u)", si->version);
	const struct hvm_memmap_entry *e = arch_phys_to_virt(pa_make(si->memmap_paddr));
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		if (boot_info.nmem == BOOT_MAX_MEM) {
			kprintf("boot: memory map has %u entries; using the first %u\n",
				si->memmap_entries, BOOT_MAX_MEM);
			break;
		}
		boot_info.mem[boot_info.nmem++] = (struct boot_mem){
			.base = e[i].addr,
			.len = e[i].size,
			.usable = e[i].type == HVM_MEMMAP_RAM,
		};
	}
}

/* Early output: decimal, without kprintf (whose state is in .bss). */
static void early_write_u64(uint64_t v)
{
	char buf[20];
	unsigned n = 0;
	do
		buf[sizeof(buf) - ++n] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(buf));
	arch_console_write(buf + sizeof(buf) - n, n);
}

static void early_write(const char *s)
{
	arch_console_write(s, strlen(s));
}

/*
 * boot.S calls this before it clears .bss: is there RAM under the whole
 * kernel image? .bss holds the per-core tables for 64 cores and ends near
 * 13 MiB; with less RAM, clearing it and using it fails without a word (a
 * triple fault). Nothing here may touch .data or .bss: the boot stack,
 * port I/O and the loader's pages only. A start info without a memory map
 * is left to read_start_info, which says so.
 */
void arch_boot_check_ram(uint32_t start_info_pa);
void arch_boot_check_ram(uint32_t start_info_pa)
{
	const struct hvm_start_info *si = arch_phys_to_virt(pa_make(start_info_pa));
	if (si->magic != HVM_START_MAGIC || si->version < 1 || !si->memmap_paddr)
		return;
	uint64_t lo, hi, ram = 0;
	arch_kernel_phys_range(&lo, &hi);
	const struct hvm_memmap_entry *e = arch_phys_to_virt(pa_make(si->memmap_paddr));
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		if (e[i].type != HVM_MEMMAP_RAM)
			continue;
		if (e[i].addr <= lo && e[i].addr + e[i].size >= hi)
			return;
		ram += e[i].size;
	}
	serial_init();
	early_write("\n[cpu0] PANIC: exocore needs at least ");
	early_write_u64(MIN_RAM_MB);
	early_write(" MiB of RAM; this machine has ");
	early_write_u64(ram >> 20);
	early_write(" MiB, and the kernel image alone ends at ");
	early_write_u64((hi + (1 << 20) - 1) >> 20);
	early_write(" MiB (run QEMU with -m ");
	early_write_u64(MIN_RAM_MB);
	early_write("M or more)\n");
	early_write("[cpu0] exit: panic\n");
	arch_power_off(EXIT_PANIC);
}

/*
 * The legacy 8259 PICs: remap them off the exception vectors (the BIOS
 * leaves IRQ0 on vector 8, which would look like a double fault) and mask
 * every line. exocore takes interrupts only through the local APIC.
 */
static void pic_disable(void)
{
	static const uint8_t init[][2] = {
		{ 0x20, 0x11 }, { 0xa0, 0x11 }, /* ICW1: init, ICW4 follows */
		{ 0x21, 0x20 }, { 0xa1, 0x28 }, /* ICW2: vectors 0x20.., 0x28.. */
		{ 0x21, 0x04 }, { 0xa1, 0x02 }, /* ICW3: cascade on IRQ2 */
		{ 0x21, 0x01 }, { 0xa1, 0x01 }, /* ICW4: 8086 mode */
		{ 0x21, 0xff }, { 0xa1, 0xff }, /* mask all */
	};
	for (size_t i = 0; i < ARRAY_SIZE(init); i++)
		outb(init[i][0], init[i][1]);
}

noreturn_fn void arch_boot_main(uint32_t start_info_pa);
void arch_boot_main(uint32_t start_info_pa)
{
	stack_guard_init();
	uint64_t entry = arch_cycles();
	struct percpu *p = percpu_of(0);
	percpu_init(0);
	arch_set_this_cpu(p);
	serial_init();
	arch_console_write("\n", 1); /* off the firmware's last line */
	pic_disable();
	gdt_init_cpu(p);
	idt_init();
	idt_load();
	kernel_wx_init();
	read_start_info(start_info_pa);
	tsc_calibrate();
	lapic_init_cpu();
	arch_syscall_init();
	cpu_protect_init();
	p->arch.apic_id = lapic_id();
	boot_info.entry_cycles = entry;
	/* Off the boot stack onto core 0's kernel stack, which has a guard page below it. */
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "call kernel_main"
			 :
			 : "r"(p->arch.stack_top), "D"(&boot_info)
			 : "memory");
	__builtin_unreachable();
}
