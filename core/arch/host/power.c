/* The console is standard output; powering off ends the process. */
#include "sim_impl.h"

#include <arch/console.h>
#include <arch/power.h>
#include <errno.h>
#include <exo/shutdown.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Present only in coverage builds: flushes the profile _exit would lose. */
extern int __llvm_profile_write_file(void) __attribute__((weak));

void arch_console_write(const char *s, size_t n)
{
	/* write(2) directly: no stdio buffer to lose when a run ends in _exit. */
	while (n) {
		ssize_t w = write(STDOUT_FILENO, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere to report a broken console */
		s += w;
		n -= (size_t)w;
	}
}

void arch_power_off(int status)
{
	fflush(NULL);
	if (__llvm_profile_write_file)
		__llvm_profile_write_file();
	if (status == EXIT_PANIC && sim_panic_aborts())
		abort();
	/*
	 * _exit, not exit: the other simulated cores are frozen mid-flight, and
	 * atexit handlers (LeakSanitizer's among them) would only report the
	 * state they were caught in.
	 */
	_exit(status);
}
