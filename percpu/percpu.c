/* The table of per-core kernel instances and their online bookkeeping. */
#include <arch/cpu.h>
#include <exo/boot.h>
#include <exo/errors.h>
#include <hooks.h>
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

static void no_op(void) {}
static bool none_pending(void)
{
	return false;
}
static void drop_message(const struct chan_msg *m) {}
static int no_ring_frame(uint64_t *frame)
{
	return E_NOMEM;
}

static const struct percpu_hooks no_hooks = {
	.run = no_op,
	.serve = no_op,
	.pending = none_pending,
	.message = drop_message,
	.reset = no_op,
	.ring_frame = no_ring_frame,
	.idle_work = none_pending,
};

struct percpu_hooks percpu_hook = {
	.run = no_op,
	.serve = no_op,
	.pending = none_pending,
	.message = drop_message,
	.reset = no_op,
	.ring_frame = no_ring_frame,
	.idle_work = none_pending,
};

void percpu_set_hooks(const struct percpu_hooks *h)
{
	percpu_hook = h ? *h : no_hooks;
	if (!percpu_hook.idle_work)
		percpu_hook.idle_work =
		    none_pending; /* optional: nothing to do in the background */
}
