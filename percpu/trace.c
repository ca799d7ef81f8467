/* Per-core event rings (see trace.h). */
#include <arch/cpu.h>
#include <exo/kprintf.h>
#include <percpu.h>
#include <trace.h>

_Static_assert((TRACE_EVENTS & (TRACE_EVENTS - 1)) == 0, "TRACE_EVENTS is a power of two");

struct trace_ring trace_rings[MAX_CPUS];

void trace_reset(void)
{
	for (unsigned c = 0; c < MAX_CPUS; c++)
		__atomic_store_n(&trace_rings[c].head, 0, __ATOMIC_RELEASE);
}

void trace_dump(void)
{
	kprintf("TRACE hz %llu cores %u events %u\n", (unsigned long long)arch_cycles_per_sec(),
		percpu_ncpus, TRACE_EVENTS);
	for (unsigned c = 0; c < percpu_ncpus; c++) {
		struct trace_ring *r = &trace_rings[c];
		uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		uint64_t from = head > TRACE_EVENTS ? head - TRACE_EVENTS : 0;
		if (from)
			kprintf("TRACE lost %u %llu\n", c, (unsigned long long)from);
		for (uint64_t i = from; i < head; i++) {
			const struct trace_ev *e = &r->ev[i % TRACE_EVENTS];
			kprintf("TRACE %u %llx %u %u %llx\n", c, (unsigned long long)e->tsc, e->type,
				e->a, (unsigned long long)e->b);
		}
	}
}
