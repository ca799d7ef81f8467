/*
 * exo/arch/power.h — ending a run. Declared once here; each arch's
 * <arch/power.h> includes this file.
 */
#pragma once

#include <exo/types.h>

/*
 * End the machine with a status (enum exit_status in exo/shutdown.h).
 * x86_64: isa-debug-exit (QEMU exits with (status << 1) | 1), then halt.
 * Host: stdio and coverage counters are flushed, then _exit(status), so no
 * other simulated core runs after it; with sim_config.panic_aborts set,
 * EXIT_PANIC calls abort() instead, so libFuzzer keeps the input.
 */
noreturn_fn void arch_power_off(int status);
