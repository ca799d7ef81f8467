/*
 * arch/ipi.h — inter-processor interrupts. Core code names the kind; the
 * architecture maps kinds to vectors and calls ipi_receive() (percpu/ipi.c)
 * on the target core, with interrupts disabled, once per delivered IPI.
 */
#pragma once

#include <exo/ipi_kind.h>

/* Send an IPI of the given kind to one core (by core id). */
void arch_ipi_send(unsigned core, enum ipi_kind kind);

/* Send to every online core but this one. */
void arch_ipi_send_others(enum ipi_kind kind);
