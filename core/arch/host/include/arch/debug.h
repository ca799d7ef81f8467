/* arch/debug.h — what panic() prints about the machine. */
#pragma once

#include <exo/types.h>

/*
 * Print what is meaningful on the host through kprintf: which simulated
 * core (or none) is running, its interrupt flag, cycle counter, pending
 * IPIs, the machine's step count, and the host stack and frame pointers.
 */
void arch_dump_registers(void);

/*
 * Print a backtrace with symbol names, starting at frame pointer fp
 * (0: the caller's frame), one line per frame: "#N 0xADDR symbol+0xOFF".
 * Names come from the executable's own symbol table, so static functions
 * are named too; frames outside it print "?".
 */
void arch_dump_backtrace(uintptr_t fp);
