/*
 * Inter-processor calls on top of arch/ipi.h: the handler of every IPI kind,
 * ping-pong round trips (self-test and boot figures), and smp_call, which
 * runs a function on another core from that core's idle loop.
 */
#pragma once

#include <exo/ipi_kind.h>
#include <exo/types.h>

/* Send kind to core (arch_ipi_send, with a trace record): every IPI the kernel sends. */
void ipi_send(unsigned core, enum ipi_kind kind);

/* Handle one delivered IPI; called by the arch layer with interrupts off. */
void ipi_receive(enum ipi_kind kind);

/*
 * One IPI round trip: send IPI_PING to core, wait for its IPI_PONG.
 * Interrupts must be enabled. Returns the cycles it took in *cycles;
 * E_TIMEOUT if no pong within timeout_cycles.
 */
must_check int ipi_ping(unsigned core, uint64_t timeout_cycles, uint64_t *cycles);

/*
 * Flush core's TLB (this core: at once; another: by IPI_TLB, waiting for the
 * acknowledgement). Interrupts must be enabled when core is another core.
 */
void tlb_flush_core(unsigned core);

/*
 * TLB shootdown: flush every core in the mask (this one directly), sending
 * all the IPIs first and then waiting for every acknowledgement, so the cost
 * grows with the slowest core, not the sum. Interrupts must be enabled.
 */
void tlb_shootdown(uint64_t cores);

/*
 * Ask core (not this one) to run fn(arg) from its idle loop, with interrupts
 * enabled; returns at once. E_BUSY if the core has a call pending,
 * E_INVAL if core is this core, offline or out of range.
 */
must_check int smp_call_start(unsigned core, void (*fn)(void *), void *arg);

/* Wait until core has finished its call; E_TIMEOUT after timeout_cycles. */
must_check int smp_call_wait(unsigned core, uint64_t timeout_cycles);

/*
 * One step of a kernel wait: every loop in which this core waits on another
 * core (a reply, an acknowledgement, a flush, a slot being filled) takes
 * this step, so that no core waits without answering what other cores ask
 * of it. It takes in the message rings, performs a TLB flush asked of this
 * core (two cores may be waiting on each other with interrupts off) and,
 * when serve is true, performs the cross-core operations queued for this
 * core (xcall_serve). Pass serve = false only where performing another
 * core's operation is unsafe: with a lock held or an object half changed
 * (revocation, shootdown); those waits never depend on an operation of ours.
 */
void percpu_wait_step(bool serve);

/*
 * Be this core's kernel until done(arg) holds: run its environments, serve
 * other cores and pending smp calls, and halt when there is nothing to do.
 * With a condition, a halt is bounded by a timer (WAIT_RECHECK_NS), since
 * nothing need interrupt this core when the condition comes true elsewhere.
 * The one wait of a core outside any environment: the idle loop is this
 * with no condition, and the boot core waits for its programs so.
 */
void percpu_idle_until(bool (*done)(void *arg), void *arg);

/* percpu_idle_until with no condition: never returns. */
noreturn_fn void percpu_idle_loop(void);
