/* Cross-core kernel operations as messages (see exo/xcall.h). */
#include <arch/cpu.h>
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/xcall.h>
#include <ipi.h>
#include <percpu.h>

/*
 * queue[dst][src]: the request src waits on, until dst serves it; xcall_queued[dst]
 * bit src says it is there. A core has one request outstanding at a time,
 * so one entry per sender is enough.
 */
static struct chan_msg queue[MAX_CPUS][MAX_CPUS];
/* atomic: set in chan_poll, cleared by the server; the syscall fast path (user.S) reads it too */
uint64_t xcall_queued[MAX_CPUS];
static uint64_t served[MAX_CPUS];	  /* own: requests served */
static bool serving[MAX_CPUS];		  /* own: xcall_serve is running (no nesting) */

/* The one request a core waits on: its sequence number, and the reply. */
static struct waiter {
	uint64_t seq;	/* own: of the request sent last */
	bool done;	/* atomic: set by the reply */
	int64_t ret;
	uint64_t out[2];
} waiters[MAX_CPUS];

void xcall_receive(const struct chan_msg *m)
{
	unsigned me = cpu_id();
	if (m->type == CHAN_REQ) {
		queue[me][m->from] = *m;
		__atomic_fetch_or(&xcall_queued[me], 1ULL << m->from, __ATOMIC_RELEASE);
		return;
	}
	struct waiter *w = &waiters[me];
	if (m->w[0] != w->seq || __atomic_load_n(&w->done, __ATOMIC_RELAXED))
		return; /* not the reply we wait for (a kernel bug; never seen) */
	w->ret = (int64_t)m->w[1];
	w->out[0] = m->w[2];
	w->out[1] = m->w[3];
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
}

bool xcall_pending(void)
{
	return __atomic_load_n(&xcall_queued[cpu_id()], __ATOMIC_ACQUIRE) != 0;
}

uint64_t xcall_served(unsigned core) { return served[core]; }

/* An environment by id whose generation is still gen, or NULL. */
static struct env *env_at(uint64_t id, uint64_t gen)
{
	struct env *e = env_lookup((uint32_t)MIN(id, UINT32_MAX));
	return e && __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) == gen ? e : NULL;
}

/* Carry out one operation on this core. */
static int64_t perform(enum xc_op op, const uint64_t *a, uint64_t out[2])
{
	struct env *e, *to;
	uint32_t slot;
	int err;
	switch (op) {
	case XC_ENV_CREATE:
		if ((err = env_create(cpu_id(), &e)))
			return err;
		out[0] = e->id;
		out[1] = e->gen;
		return E_OK;
	case XC_ENV_START:
		if (!(e = env_lookup((uint32_t)MIN(a[0], UINT32_MAX))))
			return E_STALE;
		return env_start_at(e, a[1], (unsigned)MIN(a[2], UINT32_MAX), a[3],
				    (const struct env_args *)(uintptr_t)a[4]);
	case XC_ENV_DESTROY:
		if (!(e = env_lookup((uint32_t)MIN(a[0], UINT32_MAX))))
			return E_STALE;
		return env_end_at(e, a[1], &out[0]);
	case XC_CAP_GRANT:
		/* The source waits in its call; the target must be the one the caller named. */
		if (!(e = env_lookup((uint32_t)MIN(a[0], UINT32_MAX))) || !(to = env_at(a[2], a[3])))
			return E_STALE;
		if ((err = cap_grant(e, (uint32_t)MIN(a[1], UINT32_MAX), to, a[4] != 0, &slot)))
			return err;
		out[0] = slot;
		return E_OK;
	default:
		return E_NOTSUP;
	}
}

/* Send m to dst, waiting while its ring is full (draining our own meanwhile). */
static int send(unsigned dst, const struct chan_msg *m)
{
	int err;
	while ((err = chan_send(dst, m)) == E_AGAIN)
		percpu_wait_step(true);
	return err;
}

void xcall_serve(void)
{
	unsigned me = cpu_id();
	if (serving[me])
		return; /* a safe point reached while serving: the outer loop goes on */
	serving[me] = true;
	uint64_t q;
	while ((q = __atomic_load_n(&xcall_queued[me], __ATOMIC_ACQUIRE))) {
		unsigned src = (unsigned)__builtin_ctzll(q);
		struct chan_msg req = queue[me][src];
		__atomic_fetch_and(&xcall_queued[me], ~(1ULL << src), __ATOMIC_RELEASE);
		struct chan_msg rep = { .type = CHAN_REPLY, .w = { req.w[0] } };
		uint64_t out[2] = { 0, 0 };
		rep.w[1] = (uint64_t)perform((enum xc_op)req.w[1], &req.w[2], out);
		rep.w[2] = out[0];
		rep.w[3] = out[1];
		served[me]++;
		/* The sender waits for this and drains its rings meanwhile: it gets through. */
		(void)send(src, &rep);
	}
	serving[me] = false;
}

int64_t xcall(unsigned home, enum xc_op op, const uint64_t a[5], uint64_t out[2])
{
	unsigned me = cpu_id();
	if (home == me)
		return perform(op, a, out);
	struct waiter *w = &waiters[me];
	struct chan_msg m = { .type = CHAN_REQ, .w = { ++w->seq, op, a[0], a[1], a[2], a[3], a[4] } };
	__atomic_store_n(&w->done, false, __ATOMIC_RELEASE);
	int err = send(home, &m);
	if (err)
		return err;
	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
		percpu_wait_step(true); /* the home core may be waiting on us */
	out[0] = w->out[0];
	out[1] = w->out[1];
	return w->ret;
}

void xcall_reset(void)
{
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		xcall_queued[c] = served[c] = 0;
		serving[c] = false;
		waiters[c] = (struct waiter){ 0 };
	}
}
