/* arch/power.h — ending a run. */
#pragma once

#include <exo/types.h>

/*
 * End the process with status (enum exit_status in exo/shutdown.h): stdio
 * and coverage counters are flushed, then _exit(status), so no other
 * simulated core runs after it. With sim_config.panic_aborts set, EXIT_PANIC
 * calls abort() instead, so libFuzzer sees a crash and keeps the input.
 */
noreturn_fn void arch_power_off(int status);
