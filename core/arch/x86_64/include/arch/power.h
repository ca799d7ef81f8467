/* arch/power.h — ending a run. */
#pragma once

#include <exo/types.h>

/*
 * End the machine with a status (enum exit_status in exo/shutdown.h).
 * x86_64: isa-debug-exit (QEMU exits with (status << 1) | 1), then ACPI-less
 * fallback: halt. Host: exit(status).
 */
noreturn_fn void arch_power_off(int status);
