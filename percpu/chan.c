/* Kernel message channels (see chan.h). */
#include <arch/cpu.h>
#include <arch/ipi.h>
#include <arch/phys.h>
#include <chan.h>
#include <hooks.h>
#include <exo/errors.h>
#include <ipi.h>
#include <percpu.h>
#include <trace.h>

/*
 * One ring per ordered pair (src, dst). The producer (src) owns head, the
 * consumer (dst) owns tail, each on its own cache line; doorbell is the
 * flag that says "dst has been woken and not yet looked": set by src with
 * an exchange, cleared by dst before it drains.
 */
struct chan_ring {
	uint64_t head __attribute__((aligned(64)));
	uint64_t doorbell __attribute__((aligned(64)));
	uint64_t tail __attribute__((aligned(64)));
	struct chan_msg slot[CHAN_SLOTS];
};
_Static_assert(sizeof(struct chan_ring) <= PAGE_SIZE, "a ring fits a frame");
_Static_assert((CHAN_SLOTS & (CHAN_SLOTS - 1)) == 0, "CHAN_SLOTS is a power of two");

static struct chan_ring *rings[MAX_CPUS][MAX_CPUS]; /* [src][dst], set once at init */
static struct chan_stats stats[MAX_CPUS];	     /* each core writes its own */
static bool polling[MAX_CPUS];			     /* each core writes its own */

int chan_init(void)
{
	for (unsigned s = 0; s < percpu_ncpus; s++) {
		for (unsigned d = 0; d < percpu_ncpus; d++) {
			if (s == d || rings[s][d])
				continue;
			uint64_t frame;
			int err = percpu_hook.ring_frame(&frame); /* zeroed */
			if (err)
				return err;
			/* Other cores may be polling already: publish the zeroed ring whole. */
			__atomic_store_n(&rings[s][d], arch_phys_to_virt(pa_make(frame * PAGE_SIZE)),
					 __ATOMIC_RELEASE);
		}
	}
	return E_OK;
}

int chan_send(unsigned dst, const struct chan_msg *m)
{
	unsigned me = cpu_id();
	if (dst >= percpu_ncpus || dst == me ||
	    !__atomic_load_n(&percpu_of(dst)->online, __ATOMIC_ACQUIRE))
		return E_INVAL;
	struct chan_ring *r = __atomic_load_n(&rings[me][dst], __ATOMIC_ACQUIRE);
	if (!r)
		return E_NOTSUP;
	/* Single producer: interrupts off, as an IPI handler on this core may send too. */
	unsigned long flags = arch_irq_save();
	uint64_t head = r->head;
	if (head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == CHAN_SLOTS) {
		arch_irq_restore(flags);
		return E_AGAIN;
	}
	struct chan_msg *slot = &r->slot[head % CHAN_SLOTS];
	*slot = *m;
	slot->from = me;
	trace(TR_CHAN_SEND, dst, head << 8 | (m->type & 0xff));
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	stats[me].sent++;
	/* Only the first message the receiver has not looked at rings the bell. */
	if (__atomic_exchange_n(&r->doorbell, 1, __ATOMIC_SEQ_CST) == 0) {
		stats[me].doorbells++;
		ipi_send(dst, IPI_WAKE);
	}
	arch_irq_restore(flags);
	return E_OK;
}

static void handle(const struct chan_msg *m)
{
	struct percpu *me = this_cpu();
	switch (m->type) {
	case CHAN_PING: {
		struct chan_msg pong = { .type = CHAN_PONG, .w = { m->w[0] } };
		/* The sender waits for this answer, so its ring to us has room. */
		(void)chan_send(m->from, &pong);
		break;
	}
	case CHAN_PONG:
		__atomic_fetch_add(&me->chan_pongs, 1, __ATOMIC_RELEASE);
		break;
	case CHAN_CALL:
		((void (*)(const uint64_t *))m->w[0])(&m->w[1]);
		break;
	case CHAN_NOTIFY: /* an environment's: core/ delivers it */
	case CHAN_REQ:	  /* a request is only queued: served at a safe point */
	case CHAN_REPLY:
		percpu_hook.message(m);
		break;
	default:
		break; /* unknown: dropped (a kernel bug; the count shows it) */
	}
}

unsigned chan_poll(void)
{
	unsigned me = cpu_id(), n = 0;
	for (unsigned s = 0; s < percpu_ncpus; s++) {
		struct chan_ring *r = __atomic_load_n(&rings[s][me], __ATOMIC_ACQUIRE);
		if (!r)
			continue;
		/*
		 * Clear the bell before looking: a message sent after this rings
		 * it again. A polling core leaves it set: nobody needs to ring.
		 */
		__atomic_store_n(&r->doorbell, polling[me], __ATOMIC_SEQ_CST);
		uint64_t tail = r->tail;
		while (tail != __atomic_load_n(&r->head, __ATOMIC_ACQUIRE)) {
			struct chan_msg m = r->slot[tail % CHAN_SLOTS];
			trace(TR_CHAN_RECV, s, tail << 8 | (m.type & 0xff));
			__atomic_store_n(&r->tail, ++tail, __ATOMIC_RELEASE); /* the slot is free again */
			handle(&m);
			n++;
		}
	}
	stats[me].received += n;
	return n;
}

void chan_set_polling(bool on)
{
	polling[cpu_id()] = on;
	chan_poll(); /* sets every bell to the new state, and drains */
}

struct chan_stats chan_stats(unsigned core) { return stats[core]; }

void chan_reset(void)
{
	for (unsigned s = 0; s < MAX_CPUS; s++) {
		for (unsigned d = 0; d < MAX_CPUS; d++)
			rings[s][d] = NULL;
		stats[s] = (struct chan_stats){ 0 };
		polling[s] = false;
	}
	percpu_hook.reset(); /* requests queued and waited on were in those rings */
}
