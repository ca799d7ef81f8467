/* arch/smp.h — starting the other cores (kernel-only). */
#pragma once

#include <exo/types.h>

/*
 * Find the cores (ACPI MADT), start every one up to MAX_CPUS, and wait for
 * each to report in. Sets percpu_ncpus. Returns the number online. Each AP
 * ends in kernel_ap_main() (core/kmain.c).
 */
unsigned arch_smp_start(void);
