/* arch/debug.h — what panic() prints about the machine. */
#pragma once

#include <exo/types.h>

/* Print the calling core's registers (as they are now) through kprintf. */
void arch_dump_registers(void);

/*
 * Print a backtrace with symbol names, starting at frame pointer fp
 * (0: the caller's frame), one line per frame: "#N 0xADDR symbol+0xOFF".
 */
void arch_dump_backtrace(uintptr_t fp);
