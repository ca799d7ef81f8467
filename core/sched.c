/*
 * Each core's run loop: slices of slice_ns, one per slot of the core's slice
 * vector, round robin (core/slice.c). A slot's slice goes to its owner when
 * the owner can run; a free slot's slice (or one whose owner cannot) goes to
 * the next of the core's other runnable environments. At a slice start the
 * environment is upcalled at its scheduler entry, if it registered one,
 * with the context it would have resumed. The slice ends at the timer
 * (preemption), or earlier by yield, exit or a fatal fault; a directed
 * yield gives the rest of it to a named environment.
 *
 * Every environment homed here and runnable is on the core's run list;
 * other cores hand one over through the home core's inbox (a lock-free
 * stack) and wake it with IPI_WAKE.
 */
#include <arch/context.h>
#include <arch/cpu.h>
#include <arch/ipi.h>
#include <arch/timer.h>
#include <exo/bpf_hooks.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/kprintf.h>
#include <exo/pct.h>
#include <exo/revoke.h>
#include <exo/slice.h>
#include <exo/uaccess.h>
#include <exo/xcall.h>
#include <ipi.h>
#include <percpu.h>
#include <trace.h>

void sched_enqueue(struct env *e)
{
	struct percpu *home = percpu_of(e->home);
	struct env *head = __atomic_load_n(&home->inbox, __ATOMIC_RELAXED);
	do
		e->run_next = head;
	while (!__atomic_compare_exchange_n(&home->inbox, &head, e, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
	if (e->home != cpu_id())
		ipi_send(e->home, IPI_WAKE);
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

static void remove(struct percpu *c, struct env *gone)
{
	for (struct env *prev = NULL, *e = c->run_head; e; prev = e, e = e->run_next) {
		if (e != gone)
			continue;
		if (prev)
			prev->run_next = e->run_next;
		else
			c->run_head = e->run_next;
		if (c->run_tail == e)
			c->run_tail = prev;
		e->run_next = NULL;
		return;
	}
}

/* Move the inbox to the run list's tail (the inbox is LIFO; keep arrival order). */
static void drain_inbox(struct percpu *c)
{
	struct env *list = __atomic_exchange_n(&c->inbox, NULL, __ATOMIC_ACQUIRE), *rev = NULL;
	while (list) {
		struct env *next = list->run_next;
		list->run_next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct env *next = rev->run_next;
		push(c, rev);
		rev = next;
	}
}

static bool can_run(const struct env *e, unsigned core)
{
	return e && e->home == core && __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == ENV_RUNNABLE;
}

/* The next environment of the run list, rotated to the back. */
static struct env *next_in_list(struct percpu *c)
{
	struct env *e = pop(c);
	if (e)
		push(c, e);
	return e;
}

/*
 * Upcall e's scheduler at the start of its slice: the context it would
 * resume goes to the top of its scheduler stack, and it starts at the
 * entry with its first argument pointing there. False if that stack is not writable.
 * (Pre-empted inside the scheduler itself, it just resumes there.)
 */
static bool sched_upcall(struct env *e, unsigned core, uint64_t slot)
{
	/*
	 * Preempted inside its scheduler: resume that, do not nest a second
	 * upcall on its stack. Inside its fault handler too: the fault may have
	 * come in the scheduler, which then still uses its stack below the
	 * handler's frame (and a fault handler's interrupted context is the
	 * handler's to resume, not the scheduler's to switch away from).
	 */
	uint64_t sp = arch_uctx_sp(&e->uctx);
	if ((sp > e->sched_stack && sp <= e->sched_stack + e->sched_stack_size) ||
	    (sp > e->fault_stack && sp <= e->fault_stack + e->fault_stack_size))
		return true;
	struct upcall_sched us = { .core = core, .slot = slot, .slice_ns = slice_ns };
	arch_uctx_to_user(&e->uctx, &us.regs);
	uint64_t frame = ALIGN_DOWN(e->sched_stack + e->sched_stack_size - sizeof(us), 16);
	if (copy_to_user(e, frame, &us, sizeof(us)) != 0)
		return false;
	arch_uctx_init(&e->uctx, e->sched_entry, frame - 8, frame);
	return true;
}

void sched_run(void) { (void)sched_run_slices(0); }

uint64_t sched_run_slices(uint64_t max)
{
	struct percpu *c = this_cpu();
	unsigned me = c->id;
	uint64_t slices = 0;
	for (;;) {
		xcall_serve(); /* operations other cores asked of this one */
		drain_inbox(c);
		(void)env_reap();
		/* A step of a destroy of something homed here: bounded, between slices. */
		bool dying = env_dying_poll();
		revoke_poll(); /* deadlines, and owners that cannot answer */
		disk_poll();   /* finished disk requests: their notifications */
		struct env *e = NULL;
		uint64_t slot = ~0ULL;
		bool new_slice = true;
		if (c->donate && c->preempt)
			c->donate = NULL; /* the slice ended meanwhile: nothing left to give */
		if (c->donate) {
			/* Directed yield: the same slice goes on in another environment. */
			e = can_run(c->donate, me) ? c->donate : NULL;
			c->donate = NULL;
			new_slice = e == NULL;
		}
		if (!e) {
			slot = c->slot_next;
			c->slot_next = (c->slot_next + 1) % slice_nslots;
			struct env *owner = __atomic_load_n(&c->slot_owner[slot], __ATOMIC_ACQUIRE);
			if (can_run(owner, me) && bpf_hook_wakeup(owner, slot)) {
				e = owner;
			} else {
				slot = ~0ULL;
				/* The free time goes round the run list; skip what cannot run. */
				for (struct env *first = NULL, *cand; (cand = next_in_list(c)) != first;) {
					if (!first)
						first = cand;
					if (can_run(cand, me) && bpf_hook_wakeup(cand, ~0ULL)) {
						e = cand;
						break;
					}
				}
			}
		}
		/* Its root capability was deleted while it ran: destroy it now, off the CPU. */
		if (e && __atomic_load_n(&e->doomed, __ATOMIC_ACQUIRE) && !e->calling && !e->serving &&
		    sched_stop(e, 128 + 9) == E_OK) {
			env_doom(e, e->gen); /* destroyed by env_reap at the next loop */
			continue;
		}
		/* Blocked in a call: its time runs the innermost callee (slice donation). */
		while (e && e->calling)
			e = e->calling->owner;
		if (!e && dying)
			continue; /* nothing to run: idle time finishes the destroy */
		if (!e || (max && new_slice && slices == max)) {
			/* A wakeup predicate said no: idle a slice at most, then ask it again. */
			if (bpf_hook_wakeup_recheck())
				arch_timer_oneshot(slice_ns);
			else
				arch_timer_cancel();
			return slices;
		}
		if (new_slice) {
			slices++;
			e->slices++;
		}
		/* A revocation upcall takes the slice start first; else the scheduler upcall. */
		bool revoking = new_slice && revoke_slice(e);
		bool upcall = new_slice && !revoking && e->sched_entry && !e->serving;
		if (upcall && !sched_upcall(e, me, slot)) {
			kprintf("env %u: its scheduler stack is not writable: ended\n", e->id);
			e->exit_status = 128;
			c->exiting = true;
			goto exited;
		}
		c->current = e;
		c->exiting = false;
		uint64_t t0 = arch_cycles();
		arch_aspace_activate(&e->as);
		/*
		 * Arm the slice with interrupts off until user mode: an expiry can
		 * then only be taken in user mode, where it preempts. (Armed any
		 * earlier, a slow host could let it fire in the kernel, and the
		 * environment would run on with no timer left.)
		 */
		arch_irq_disable();
		if (new_slice) {
			c->slice_start = t0;
			c->preempt = false;
			arch_timer_oneshot(slice_ns);
		} else if (c->preempt) {
			/*
			 * A donated slice whose timer fired in the kernel after the
			 * donate check above: no expiry is pending any more, so end
			 * the slice at once in user mode rather than never.
			 */
			arch_timer_oneshot(1);
		}
		if (new_slice)
			trace(TR_SLICE_START, e->id | (upcall ? TR_WITH_UPCALL : 0), slot);
		arch_fpu_restore(&e->fpu);
		arch_user_enter(pct_ctx(e));
		/* Back: preempted, yielded, exited, or ended by a fault. */
		arch_irq_enable();
		arch_aspace_activate_kernel();
		/* Calls and replies switch environments inside a slice: charge the last one. */
		e = c->current;
		arch_fpu_save(&e->fpu);
		e->cpu_cycles[me] += arch_cycles() - t0;
		trace(TR_SLICE_END, e->id, arch_cycles() - t0);
		c->current = NULL;
		if (!c->exiting)
			continue;
	exited:
		pct_abandon(e);
		remove(c, e);
		e->exit_cycles = arch_cycles();
		trace(TR_ENV_EXIT, e->id, (uint64_t)(int64_t)e->exit_status);
		/* Only now, off its page tables and lists, may another core destroy it. */
		__atomic_store_n(&e->state, ENV_EXITED, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&e->doomed, __ATOMIC_SEQ_CST))
			env_doom(e, e->gen); /* its root capability went while it ran */
	}
}

int sched_stop(struct env *e, int status)
{
	struct percpu *c = this_cpu();
	if (e->home != c->id || e == c->current ||
	    __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != ENV_RUNNABLE)
		return E_BUSY;
	drain_inbox(c); /* it may still be in the inbox */
	remove(c, e);
	e->exit_status = status;
	e->exit_cycles = arch_cycles();
	__atomic_store_n(&e->state, ENV_EXITED, __ATOMIC_RELEASE);
	return E_OK;
}

void sched_preempt_point(struct arch_uctx *regs)
{
	struct percpu *c = this_cpu();
	if (!c->current)
		return;
	if (!c->preempt) {
		if (!xcall_pending())
			return;
		/* Another core waits on an operation: serve it, then go on in this slice. */
		c->donate = c->current;
		c->xcall_kicks++;
	}
	*pct_ctx(c->current) = *regs;
	arch_user_exit();
}
