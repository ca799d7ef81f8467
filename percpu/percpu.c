/* The table of per-core kernel instances and their online bookkeeping. */
#include <arch/cpu.h>
#include <exo/boot.h>
#include <percpu.h>

struct percpu percpu_table[MAX_CPUS];
unsigned percpu_ncpus = 1;

void percpu_init(unsigned core)
{
	struct percpu *p = percpu_of(core);
	p->self = p;
	p->id = core;
	p->expect_vector = -1;
	p->fault_vector = -1;
}

void percpu_report_in(void)
{
	struct percpu *p = this_cpu();
	p->online_cycles = arch_cycles();
	__atomic_store_n(&p->online, true, __ATOMIC_RELEASE);
}

unsigned percpu_online_count(void)
{
	unsigned n = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++)
		n += __atomic_load_n(&percpu_of(c)->online, __ATOMIC_ACQUIRE);
	return n;
}

void percpu_timer_expired(void)
{
	struct percpu *p = this_cpu();
	__atomic_fetch_add(&p->timer_fired, 1, __ATOMIC_RELAXED);
	p->preempt = true; /* the slice is over (sched.c acts at the next return to user mode) */
}
