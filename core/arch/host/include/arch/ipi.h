/*
 * arch/ipi.h — inter-processor interrupts (host: simulated, see arch/sim.h).
 * Each kind is one pending bit per core, coalesced as the local APIC does
 * for a vector: sending a kind twice before the target takes it delivers it
 * once. The target calls ipi_receive() (percpu/ipi.c) from its own fiber,
 * with interrupts disabled, at its next scheduling point or sti with
 * interrupts enabled; several pending kinds go highest kind first (the
 * APIC's order: higher vector first).
 */
#pragma once

#include <exo/ipi_kind.h>

/*
 * Send an IPI of the given kind to one core (by core id). Dropped, as on
 * hardware, if no such core exists or it has no live fiber. A self-IPI with
 * interrupts enabled is taken before this returns.
 */
void arch_ipi_send(unsigned core, enum ipi_kind kind);

/* Send to every online core (percpu_of(c)->online) but this one. */
void arch_ipi_send_others(enum ipi_kind kind);
