/* The host's timer: never fires (see include/arch/timer.h). */
#include <arch/timer.h>

void arch_timer_oneshot(uint64_t ns) { (void)ns; }
void arch_timer_cancel(void) {}
const char *arch_timer_mode(void) { return "none (host)"; }
