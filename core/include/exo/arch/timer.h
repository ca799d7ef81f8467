/*
 * exo/arch/timer.h — one one-shot timer per core. On expiry the arch calls
 * percpu_timer_expired() on that core with interrupts off. x86_64: the
 * local APIC timer, in TSC-deadline mode where the CPU has it. Host: no
 * timer interrupt, so the timer never fires (no preemption; slices end
 * only by yield or exit). Declared once here; each arch's <arch/timer.h>
 * includes this file.
 */
#pragma once

#include <exo/types.h>

/* Fire once, ns nanoseconds from now (at least one timer tick). */
void arch_timer_oneshot(uint64_t ns);

/* Cancel a pending expiry, if any (one already latched is still delivered). */
void arch_timer_cancel(void);

/* How the timer is driven here: "tsc-deadline", "lapic-oneshot" (x86_64), "none (host)". */
const char *arch_timer_mode(void);
