/*
 * The per-core run loop (until slice vectors arrive): environments homed on
 * a core run there round robin, each until it yields, exits or faults.
 * Other cores hand an environment over through the home core's inbox (a
 * lock-free stack) and wake it with IPI_WAKE.
 */
#include <arch/context.h>
#include <arch/cpu.h>
#include <arch/ipi.h>
#include <exo/env.h>
#include <exo/kprintf.h>
#include <percpu.h>

void sched_enqueue(struct env *e)
{
	struct percpu *home = percpu_of(e->home);
	struct env *head = __atomic_load_n(&home->inbox, __ATOMIC_RELAXED);
	do
		e->run_next = head;
	while (!__atomic_compare_exchange_n(&home->inbox, &head, e, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
	if (e->home != cpu_id())
		arch_ipi_send(e->home, IPI_WAKE);
}

/* Move the inbox to the tail of the run list (inbox order is LIFO; keep arrival order). */
static void drain_inbox(struct percpu *c)
{
	struct env *list = __atomic_exchange_n(&c->inbox, NULL, __ATOMIC_ACQUIRE), *rev = NULL;
	while (list) {
		struct env *next = list->run_next;
		list->run_next = rev;
		rev = list;
		list = next;
	}
	for (struct env *e = rev; e;) {
		struct env *next = e->run_next;
		e->run_next = NULL;
		if (c->run_tail)
			c->run_tail->run_next = e;
		else
			c->run_head = e;
		c->run_tail = e;
		e = next;
	}
}

static struct env *pop(struct percpu *c)
{
	struct env *e = c->run_head;
	if (e) {
		c->run_head = e->run_next;
		if (!c->run_head)
			c->run_tail = NULL;
		e->run_next = NULL;
	}
	return e;
}

static void push(struct percpu *c, struct env *e)
{
	e->run_next = NULL;
	if (c->run_tail)
		c->run_tail->run_next = e;
	else
		c->run_head = e;
	c->run_tail = e;
}

void sched_run(void)
{
	struct percpu *c = this_cpu();
	for (;;) {
		drain_inbox(c);
		struct env *e = pop(c);
		if (!e)
			return;
		c->current = e;
		c->exiting = false;
		arch_aspace_activate(&e->as);
		arch_user_enter(&e->uctx);
		/* Back from user mode: a yield, an exit or a fatal fault. */
		arch_aspace_activate_kernel();
		c->current = NULL;
		if (c->exiting)
			/* Only now, off its page tables, may another core destroy it. */
			__atomic_store_n(&e->state, ENV_EXITED, __ATOMIC_RELEASE);
		else
			push(c, e);
	}
}
