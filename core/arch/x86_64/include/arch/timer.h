/*
 * arch/timer.h — one one-shot timer per core (x86_64: the local APIC timer,
 * in TSC-deadline mode where the CPU has it). On expiry the arch layer calls
 * percpu_timer_expired() on that core with interrupts off.
 */
#pragma once

#include <exo/types.h>

/* Fire once, ns nanoseconds from now (at least one timer tick). */
void arch_timer_oneshot(uint64_t ns);

/* Cancel a pending expiry, if any (one already latched is still delivered). */
void arch_timer_cancel(void);

/* "tsc-deadline" or "lapic-oneshot": how the timer is driven here. */
const char *arch_timer_mode(void);
