/* Per-core event rings (see trace.h). */
#include <arch/cpu.h>
#include <exo/kprintf.h>
#include <percpu.h>
#include <trace.h>

struct trace_ev {
	uint64_t tsc;
	uint32_t type, a;
	uint64_t b;
	uint64_t pad;
};

_Static_assert((TRACE_EVENTS & (TRACE_EVENTS - 1)) == 0, "TRACE_EVENTS is a power of two");

/* Each core writes only its own ring; an IPI handler may interleave, hence the atomic slot. */
static struct trace_ring {
	uint64_t head; /* events recorded so far */
	struct trace_ev ev[TRACE_EVENTS];
} rings[MAX_CPUS];

void trace(enum trace_type type, uint32_t a, uint64_t b)
{
	struct trace_ring *r = &rings[cpu_id()];
	uint64_t i = __atomic_fetch_add(&r->head, 1, __ATOMIC_RELAXED);
	struct trace_ev *e = &r->ev[i % TRACE_EVENTS];
	e->tsc = arch_cycles();
	e->type = type;
	e->a = a;
	e->b = b;
}

void trace_reset(void)
{
	for (unsigned c = 0; c < MAX_CPUS; c++)
		__atomic_store_n(&rings[c].head, 0, __ATOMIC_RELEASE);
}

void trace_dump(void)
{
	kprintf("TRACE hz %llu cores %u events %u\n", (unsigned long long)arch_cycles_per_sec(),
		percpu_ncpus, TRACE_EVENTS);
	for (unsigned c = 0; c < percpu_ncpus; c++) {
		struct trace_ring *r = &rings[c];
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
