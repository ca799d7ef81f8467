/* How a run ends: the status the host reads (docs/protocol.md, "Exit"). */
#pragma once

#include <exo/types.h>

enum exit_status {
	EXIT_PASS = 0,	/* boot done, every selected test passed */
	EXIT_FAIL = 1,	/* a test failed */
	EXIT_PANIC = 2, /* the kernel panicked */
};

/* Stop every other core, flush the console and end the machine. */
noreturn_fn void kernel_shutdown(enum exit_status status);
