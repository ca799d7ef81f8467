/*
 * exo/arch/ipi.h — inter-processor interrupts. Core code names the kind;
 * the arch maps kinds to vectors (x86_64: the local APIC; host: one pending
 * bit per kind and core, see arch/sim.h) and calls ipi_receive()
 * (percpu/ipi.c) on the target core, with interrupts disabled, once per
 * delivered IPI. A kind sent twice before the target takes it may be
 * delivered once, as the local APIC does for a vector. Declared once here;
 * each arch's <arch/ipi.h> includes this file.
 */
#pragma once

#include <exo/ipi_kind.h>

/*
 * Send an IPI of the given kind to one core (by core id, < percpu_ncpus).
 * IPI_STOP goes as an NMI on x86_64, so it reaches a core spinning with
 * interrupts off. The host drops an IPI to a core with no live fiber, and
 * takes a self-IPI with interrupts enabled before this returns.
 */
void arch_ipi_send(unsigned core, enum ipi_kind kind);

/* Send to every online core but this one. */
void arch_ipi_send_others(enum ipi_kind kind);
