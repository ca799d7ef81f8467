/* What the architecture hands the arch-neutral kernel at boot (kernel-only). */
#pragma once

#include <exo/types.h>

#define BOOT_MAX_MEM 64
#define BOOT_CMDLINE_MAX 1024
#define MIN_RAM_MB 32 /* below this, boot stops with a panic that says so */

struct boot_mem {
	uint64_t base, len;
	bool usable; /* RAM the kernel may use (not reserved, ACPI, device) */
};

struct boot_info {
	char cmdline[BOOT_CMDLINE_MAX]; /* copied: the loader's copy may be overwritten */
	struct boot_mem mem[BOOT_MAX_MEM];
	unsigned nmem;
	uint64_t entry_cycles; /* cycle counter at the kernel's first instruction of C */
};

/* The boot core's arch-neutral start, with this_cpu() and traps working. */
noreturn_fn void kernel_main(struct boot_info *bi);

/* Every other core's arch-neutral start, after its arch init. */
noreturn_fn void kernel_ap_main(void);

/* Called by the arch layer when this core's timer expires (interrupts off). */
void percpu_timer_expired(void);
