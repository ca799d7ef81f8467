/*
 * IPI handling shared by every architecture: ping-pong round trips and
 * cross-calls. The arch layer turns each delivered vector into one
 * ipi_receive(kind) call with interrupts off.
 */
#include <arch/cpu.h>
#include <arch/ipi.h>
#include <arch/mm.h>
#include <arch/timer.h>
#include <chan.h>
#include <hooks.h>
#include <exo/errors.h>
#include <ipi.h>
#include <percpu.h>
#include <trace.h>

/*
 * How often a core waiting for a condition looks again when nothing
 * interrupts it (percpu_idle_until): 1 ms, a tenth of a default slice.
 */
#define WAIT_RECHECK_NS 1000000ULL

/* call_fn while a caller is still filling in call_arg. */
#define CALL_CLAIMED ((void (*)(void *))1)

void ipi_send(unsigned core, enum ipi_kind kind)
{
	trace(TR_IPI_SEND, core, kind);
	arch_ipi_send(core, kind);
}

void ipi_receive(enum ipi_kind kind)
{
	struct percpu *me = this_cpu();
	trace(TR_IPI_RECV, 0, kind);
	if ((unsigned)kind < ARRAY_SIZE(me->ipi_count))
		__atomic_fetch_add(&me->ipi_count[kind], 1, __ATOMIC_RELAXED);

	switch (kind) {
	case IPI_WAKE:
		chan_poll(); /* the doorbell: messages are handled at once, even in user mode */
		break;
	case IPI_CALL:
		/* The work happens in the idle loop; the IPI only ends its hlt. */
		break;
	case IPI_PING: {
		/*
		 * Several cores may ping us at once, and x86 coalesces a vector
		 * sent twice before it is taken: answer every waiting sender.
		 */
		uint64_t waiting = __atomic_exchange_n(&me->ping_pending, 0, __ATOMIC_ACQ_REL);
		while (waiting) {
			unsigned c = (unsigned)__builtin_ctzll(waiting);
			waiting &= waiting - 1;
			__atomic_fetch_add(&me->pings, 1, __ATOMIC_RELAXED);
			ipi_send(c, IPI_PONG);
		}
		break;
	}
	case IPI_PONG:
		__atomic_fetch_add(&me->pongs, 1, __ATOMIC_RELEASE);
		break;
	case IPI_TLB: {
		uint64_t req = __atomic_load_n(&me->tlb_req, __ATOMIC_ACQUIRE);
		arch_tlb_flush_all();
		__atomic_store_n(&me->tlb_done, req, __ATOMIC_RELEASE);
		break;
	}
	case IPI_STOP:
		arch_cpu_stop();
	case IPI_KINDS:
		break;
	}
}

static bool core_valid_other(unsigned core)
{
	return core < percpu_ncpus && core != cpu_id() &&
	       __atomic_load_n(&percpu_of(core)->online, __ATOMIC_ACQUIRE);
}

int ipi_ping(unsigned core, uint64_t timeout_cycles, uint64_t *cycles)
{
	if (!core_valid_other(core))
		return E_INVAL;
	struct percpu *me = this_cpu();
	uint64_t before = __atomic_load_n(&me->pongs, __ATOMIC_ACQUIRE);
	uint64_t t0 = arch_cycles();
	__atomic_fetch_or(&percpu_of(core)->ping_pending, 1ULL << me->id, __ATOMIC_RELEASE);
	ipi_send(core, IPI_PING);
	while (__atomic_load_n(&me->pongs, __ATOMIC_ACQUIRE) == before) {
		if (arch_cycles() - t0 > timeout_cycles) {
			__atomic_fetch_and(&percpu_of(core)->ping_pending, ~(1ULL << me->id),
					   __ATOMIC_RELEASE);
			return E_TIMEOUT;
		}
		arch_cpu_relax();
	}
	*cycles = arch_cycles() - t0;
	return E_OK;
}

/* Serve a flush asked of this core while it waits for others (two cores may shoot each other). */
static void serve_own_flush(struct percpu *me)
{
	uint64_t req = __atomic_load_n(&me->tlb_req, __ATOMIC_ACQUIRE);
	if (req > __atomic_load_n(&me->tlb_done, __ATOMIC_ACQUIRE)) {
		arch_tlb_flush_all();
		__atomic_store_n(&me->tlb_done, req, __ATOMIC_RELEASE);
	}
}

void tlb_flush_core(unsigned core)
{
	if (core == cpu_id() || !__atomic_load_n(&percpu_of(core)->online, __ATOMIC_ACQUIRE)) {
		if (core == cpu_id())
			arch_tlb_flush_all();
		return;
	}
	struct percpu *p = percpu_of(core);
	uint64_t req = __atomic_add_fetch(&p->tlb_req, 1, __ATOMIC_ACQ_REL);
	ipi_send(core, IPI_TLB);
	/* One flush covers every request made before it started: wait for ours. */
	while (__atomic_load_n(&p->tlb_done, __ATOMIC_ACQUIRE) < req)
		percpu_wait_step(false); /* held: the address space being changed */
}

void tlb_shootdown(uint64_t cores)
{
	uint64_t req[MAX_CPUS];
	unsigned me = cpu_id();
	for (uint64_t m = cores; m; m &= m - 1) {
		unsigned c = (unsigned)__builtin_ctzll(m);
		if (c == me || !__atomic_load_n(&percpu_of(c)->online, __ATOMIC_ACQUIRE))
			continue;
		req[c] = __atomic_add_fetch(&percpu_of(c)->tlb_req, 1, __ATOMIC_ACQ_REL);
		ipi_send(c, IPI_TLB);
	}
	if (cores & (1ULL << me))
		arch_tlb_flush_all();
	for (uint64_t m = cores; m; m &= m - 1) {
		unsigned c = (unsigned)__builtin_ctzll(m);
		if (c == me || !__atomic_load_n(&percpu_of(c)->online, __ATOMIC_ACQUIRE))
			continue;
		while (__atomic_load_n(&percpu_of(c)->tlb_done, __ATOMIC_ACQUIRE) < req[c])
			percpu_wait_step(false); /* held: the frame being revoked */
	}
}

int smp_call_start(unsigned core, void (*fn)(void *), void *arg)
{
	if (!core_valid_other(core) || !fn)
		return E_INVAL;
	struct percpu *p = percpu_of(core);
	void (*expect)(void *) = NULL;
	/* Claim the slot first so a concurrent caller cannot overwrite call_arg. */
	if (!__atomic_compare_exchange_n(&p->call_fn, &expect, CALL_CLAIMED, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return E_BUSY;
	p->call_arg = arg;
	__atomic_store_n(&p->call_fn, fn, __ATOMIC_RELEASE);
	ipi_send(core, IPI_CALL);
	return E_OK;
}

int smp_call_wait(unsigned core, uint64_t timeout_cycles)
{
	if (core >= percpu_ncpus)
		return E_INVAL;
	struct percpu *p = percpu_of(core);
	uint64_t t0 = arch_cycles();
	while (__atomic_load_n(&p->call_fn, __ATOMIC_ACQUIRE) != NULL) {
		if (arch_cycles() - t0 > timeout_cycles)
			return E_TIMEOUT;
		percpu_wait_step(true); /* the call may wait on an operation of ours */
	}
	return E_OK;
}

void percpu_wait_step(bool serve)
{
	serve_own_flush(this_cpu());
	unsigned long flags = arch_irq_save();
	chan_poll();
	arch_irq_restore(flags);
	if (serve)
		percpu_hook.serve(); /* no-op when this wait is inside xcall_serve itself */
	arch_cpu_relax();
}

void percpu_idle_until(bool (*done)(void *arg), void *arg)
{
	struct percpu *me = this_cpu();
	for (;;) {
		percpu_hook.run(); /* environments homed here, until none is runnable */
		if (done && done(arg))
			return;
		/* Check with interrupts off, then sti;hlt: a wake-up IPI cannot be lost. */
		arch_irq_disable();
		chan_poll();
		if (__atomic_load_n(&me->inbox, __ATOMIC_ACQUIRE) || percpu_hook.pending()) {
			arch_irq_enable();
			continue;
		}
		void (*fn)(void *) = __atomic_load_n(&me->call_fn, __ATOMIC_ACQUIRE);
		if (fn && fn != CALL_CLAIMED) {
			arch_irq_enable();
			fn(me->call_arg);
			__atomic_store_n(&me->call_fn, NULL, __ATOMIC_RELEASE);
			continue;
		}
		/* Nothing else to do: background work, a piece at a time, then look again. */
		if (percpu_hook.idle_work()) {
			arch_irq_enable();
			continue;
		}
		if (done)
			arch_timer_oneshot(WAIT_RECHECK_NS);
		__atomic_fetch_add(&me->halts, 1, __ATOMIC_RELAXED);
		arch_cpu_idle(); /* sti; hlt: until the next interrupt */
	}
}

void percpu_idle_loop(void)
{
	percpu_idle_until(NULL, NULL);
	__builtin_unreachable();
}
