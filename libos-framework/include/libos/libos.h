/* The libOS runtime every user program links (libos-framework/). */
#pragma once

#include <exo/kprintf.h> /* ksnprintf, kvsnprintf: the same formatter as the kernel's */
#include <libos/sys.h>

/*
 * The program's entry, called by crt0 with what the kernel passed: the
 * argument given to SYS_ENV_START, the environment's id and home core.
 * Its return value is the exit status.
 */
int main(uint64_t arg, uint64_t env_id, uint64_t core);

/* printf to the console (one SYS_CONSOLE_WRITE per call; lines are tagged by the kernel). */
printf_like(1, 2) int printf(const char *fmt, ...);
