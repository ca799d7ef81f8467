/*
 * exo/arch/debug.h — what panic() prints about the machine. Declared once
 * here; each arch's <arch/debug.h> includes this file.
 */
#pragma once

#include <exo/types.h>

/*
 * Print the calling core's registers, as they are now, through kprintf.
 * The host prints what is meaningful there: which simulated core (or none)
 * is running, its interrupt flag, cycle counter, pending IPIs, the
 * machine's step count, and the host stack and frame pointers.
 */
void arch_dump_registers(void);

/*
 * Print a backtrace with symbol names, starting at frame pointer fp
 * (0: the caller's frame), one line per frame: "#N 0xADDR symbol+0xOFF".
 * Static functions are named too; a frame outside the image prints "?".
 */
void arch_dump_backtrace(uintptr_t fp);
