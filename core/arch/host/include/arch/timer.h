/*
 * arch/timer.h on the host: the simulator has no timer interrupt, so a
 * one-shot timer never fires (no preemption on the host; the run loop's
 * slices end only by yield or exit). Same names as core/arch/x86_64.
 */
#pragma once

#include <exo/types.h>

void arch_timer_oneshot(uint64_t ns);
void arch_timer_cancel(void);
const char *arch_timer_mode(void);
