/*
 * libFuzzer target: every registered sched policy (policies/sched/) driven
 * through its ops table by arbitrary bytes, as the framework would drive it:
 * threads with arbitrary attributes are enqueued, dequeued, picked, charged
 * and re-prioritised, the clock jumps, the policy is re-initialised.
 *
 * Oracles: ASan/UBSan, plus the contract the framework checks at run time
 * (libos/sched_impl.h): pick returns a queued thread or NULL, and NULL only
 * when nothing is queued; every queued thread comes back exactly once when
 * the queue is drained; nothing but a queued thread is ever returned.
 *
 * Input: byte 0 picks the policy, bytes 1..8 its first parameter (clamped
 * as a user could give it), then one operation per byte pair.
 */
#include <libos/sched_impl.h>
#include <stdlib.h>
#include <string.h>

#define NT 12

extern uint64_t libos_host_now; /* libos-framework/host/shim.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct thread th[NT];

static unsigned sched_policies(const struct policy_info **out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < policy_count(); i++)
		if (policy_at(i)->kind == POLICY_SCHED)
			out[n++] = policy_at(i);
	return n;
}

/* Drain the queue: each queued thread exactly once, then NULL. */
static void drain(const struct sched_ops *o)
{
	bool seen[NT] = { false };
	for (struct thread *t; (t = o->pick(libos_host_now));) {
		if (t < th || t >= th + NT || !t->queued || seen[t - th])
			abort(); /* a stranger, an unqueued thread, or one twice */
		seen[t - th] = true;
		t->queued = false;
	}
	for (unsigned i = 0; i < NT; i++)
		if (th[i].queued)
			abort(); /* lost: queued but never picked */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct policy_info *pols[64];
	unsigned npols = sched_policies(pols);
	if (size < 9 || !npols)
		return 0;
	const struct sched_ops *o = (const struct sched_ops *)pols[data[0] % npols];
	uint64_t params[POLICY_PARAMS_MAX];
	for (unsigned i = 0; i < POLICY_PARAMS_MAX; i++)
		params[i] = o->info.params[i].name ? o->info.params[i].def : 0;
	if (o->info.params[0].name)
		memcpy(&params[0], data + 1, sizeof(uint64_t));
	libos_host_now = 1000000;
	memset(th, 0, sizeof(th));
	for (unsigned i = 0; i < NT; i++) {
		th[i].id = i + 1;
		th[i].state = THREAD_RUNNABLE;
		th[i].attr.tickets = 100;
	}
	if (o->init(params) != 0)
		return 0; /* refused: the framework keeps the old policy */
	for (size_t k = 9; k + 1 < size; k += 2) {
		uint8_t op = data[k] >> 4, arg = data[k + 1];
		struct thread *t = &th[(data[k] & 0x0f) % NT];
		switch (op % 8) {
		case 0: /* enqueue a runnable thread that is not queued */
			if (!t->queued) {
				t->queued = true;
				t->ready_since = libos_host_now;
				o->enqueue(t, libos_host_now);
			}
			break;
		case 1: /* dequeue a queued one */
			if (t->queued) {
				o->dequeue(t);
				t->queued = false;
			}
			break;
		case 2: { /* pick */
			bool any = false;
			for (unsigned i = 0; i < NT; i++)
				any |= th[i].queued;
			struct thread *p = o->pick(libos_host_now);
			if (!p) {
				if (any)
					abort(); /* NULL with threads queued */
				break;
			}
			if (p < th || p >= th + NT || !p->queued)
				abort();
			p->queued = false;
			if (o->charge) /* it runs a while */
				o->charge(p, (uint64_t)arg * 10000);
			p->ran += (uint64_t)arg * 10000;
			break;
		}
		case 3: /* the clock moves */
			libos_host_now += (uint64_t)arg << (arg & 0x1f);
			break;
		case 4: /* attributes change off the queue, as inheritance and set_attr do */
		case 5: {
			bool q = t->queued;
			if (q)
				o->dequeue(t);
			if (op % 8 == 4) {
				t->eff_prio = arg;
				t->attr.prio = arg / 2;
			} else {
				t->attr.tickets = arg ? arg * 37u : 0; /* 0: the policy must cope */
				t->attr.period_us = arg & 1 ? arg * 100u : 0;
				t->deadline = t->attr.period_us ? libos_host_now + arg * 100000u : 0;
				t->release = libos_host_now;
			}
			if (q)
				o->enqueue(t, t->ready_since);
			break;
		}
		case 6: /* a swap out and back: fini, init, everything enqueued again */
			drain(o);
			if (o->fini)
				o->fini();
			if (o->init(params) != 0)
				abort(); /* it accepted these parameters once */
			for (unsigned i = 0; i < NT; i++) {
				th[i].pnext = th[i].pprev = NULL;
				memset(th[i].pv, 0, sizeof(th[i].pv));
			}
			break;
		case 7: /* charge a thread that was never queued here (the running one after a swap) */
			if (!t->queued && o->charge)
				o->charge(t, (uint64_t)arg * 1000);
			break;
		}
	}
	drain(o);
	if (o->fini)
		o->fini();
	return 0;
}
