/*
 * Stride (Waldspurger and Weihl, MIT-LCS-TM-528, 1995): the deterministic
 * twin of lottery. A thread's stride is STRIDE1 / tickets; its pass is the
 * virtual time at which its next quantum ends, and each quantum it runs
 * moves it on by one stride (charge scales by the cycles actually run).
 * The global pass is the virtual time itself: it moves by STRIDE1 / (the
 * runnable threads' tickets) per quantum run, whoever runs.
 *
 * Pick takes the smallest pass among the threads that are eligible: whose
 * quantum would start (pass - stride) no later than the global pass. Basic
 * stride picks the smallest pass outright, and its lag behind the ideal
 * share grows with the number of threads (one ticket-heavy thread among
 * many light ones runs many quanta in a row); the eligibility rule, as in
 * EEVDF and WF2Q, keeps every thread's lag under one quantum.
 */
#include <libos/sched_impl.h>

#define STRIDE1 (1ULL << 24)   /* the stride of one ticket */
#define TICKETS_MAX (1u << 16) /* more would round strides coarsely: clamped */
#define QUANTUM_US_MAX 1000000 /* keeps the products in scale() below 2^64 */

static struct sched_list queue; /* by pass, FIFO among equals */
static uint64_t queued_tickets; /* of the queued threads */
static uint64_t global_pass;	/* the virtual time */
static uint64_t global_rem;	/* what its last advance left over, carried */
static uint64_t quantum;	/* cycles of one quantum */

/* pv[0]: pass; pv[1]: tickets as enqueued (so dequeue takes back what enqueue added). */
static uint64_t tickets_of(const struct thread *t)
{
	return MIN(MAX((uint64_t)t->attr.tickets, 1), TICKETS_MAX);
}

/* v * cycles / quantum, without overflow (v <= STRIDE1, cycles % quantum < quantum). */
static uint64_t scale(uint64_t v, uint64_t cycles)
{
	return cycles / quantum * v + cycles % quantum * v / quantum;
}

static int stride_init(const uint64_t *params)
{
	if (!params[0] || params[0] > QUANTUM_US_MAX)
		return E_INVAL;
	quantum = params[0] * libos_cycles_hz() / 1000000;
	queue = (struct sched_list){ 0 };
	queued_tickets = global_pass = global_rem = 0;
	return quantum ? 0 : E_INVAL;
}

static void stride_enqueue(struct thread *t, uint64_t now)
{
	t->pv[1] = tickets_of(t);
	/*
	 * A new thread (pv zeroed) starts its first quantum now. A woken one
	 * keeps at most one quantum of credit (pass >= global pass), the most
	 * a thread that never slept can be owed: sleeping banks nothing, so a
	 * sleeper cannot take the CPU for long when it wakes. A preempted
	 * thread is never moved: its pass is past the global pass already.
	 */
	if (!t->pv[0])
		t->pv[0] = global_pass + STRIDE1 / t->pv[1];
	t->pv[0] = MAX(t->pv[0], global_pass);
	struct thread *at = queue.head;
	while (at && at->pv[0] <= t->pv[0])
		at = at->pnext;
	sched_list_insert(&queue, t, at);
	queued_tickets += t->pv[1];
}

static void stride_dequeue(struct thread *t)
{
	queued_tickets -= t->pv[1];
	sched_list_remove(&queue, t);
}

static struct thread *stride_pick(uint64_t now)
{
	struct thread *t = queue.head;
	while (t && t->pv[0] > global_pass + STRIDE1 / t->pv[1])
		t = t->pnext;
	/* None eligible only by rounding: the smallest pass then. */
	if (!t)
		t = queue.head;
	if (t)
		stride_dequeue(t);
	return t;
}

/*
 * Tickets from attr, not pv: after a swap the running thread was never
 * enqueued here. The global pass advances with every runnable thread's
 * tickets, t's included (it was runnable while it ran).
 */
static void stride_charge(struct thread *t, uint64_t cycles)
{
	uint64_t tickets = tickets_of(t), all = queued_tickets + tickets;
	t->pv[0] += scale(STRIDE1 / tickets, cycles);
	uint64_t v = scale(STRIDE1, cycles) + global_rem;
	global_pass += v / all;
	global_rem = v % all;
}

static const struct sched_ops stride = {
	.info = { .kind = POLICY_SCHED,
		  .name = "stride",
		  .description = "stride: deterministic proportional share by attr.tickets, "
				 "lag under one quantum",
		  .params = { { "quantum_us", 1000,
				"the quantum a stride is charged for, in "
				"microseconds (1..1000000; the kernel's slice)" } } },
	.init = stride_init,
	.enqueue = stride_enqueue,
	.dequeue = stride_dequeue,
	.pick = stride_pick,
	.charge = stride_charge,
};
POLICY_REGISTER(stride);
