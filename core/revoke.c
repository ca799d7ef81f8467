/* Visible revocation and the abort protocol (see exo/revoke.h). */
#include <arch/cpu.h>
#include <arch/ipi.h>
#include <exo/abi.h>
#include <exo/bpf_hooks.h>
#include <exo/cap.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/kprintf.h>
#include <exo/pct.h>
#include <exo/pot.h>
#include <exo/revoke.h>
#include <exo/uaccess.h>
#include <ipi.h>
#include <percpu.h>
#include <trace.h>

uint64_t revoke_deadline_ns = 1000000000;

/*
 * Does e hold revocable frames beyond its guarantee? Revocable: frames it
 * allocated itself (SYS_FRAME_ALLOC); its program, stack and page tables
 * never are.
 */
static bool above_guarantee(struct env *e)
{
	return cap_revocable_more_than(e, __atomic_load_n(&e->guarantee, __ATOMIC_RELAXED));
}

/*
 * Is frame (owned by e at gen) one of e's revocable frames? The root's slot
 * from the table's hint when it is right, else a scan of e's table.
 */
static bool frame_revocable(struct env *e, uint64_t frame, uint64_t gen)
{
	bool revocable;
	if (cap_is_root_of(e, pot_root_hint(frame), frame, gen, &revocable) && revocable)
		return true;
	int slot;
	(void)cap_revocable_find(e, frame, &slot);
	return slot >= 0;
}

_Static_assert(MAX_ENVS <= 64 * ARRAY_SIZE(((struct percpu *)0)->revoke_envs), "revoke_envs");

/* Which env's request revoke_poll is to look at (before revoke_check is set). */
static void mark_pending(struct percpu *c, uint32_t id)
{
	__atomic_fetch_or(&c->revoke_envs[id / 64], 1ULL << (id % 64), __ATOMIC_SEQ_CST);
}

int revoke_ask(struct env *e, uint64_t frame, uint64_t count)
{
	if (count == 0 || (frame != FRAME_ANY && count != 1))
		return E_INVAL;
	if (frame != FRAME_ANY) {
		if (frame >= pot_nframes())
			return E_RANGE;
		struct pot_view v = pot_get(frame);
		if (v.state != POT_OWNED || v.owner != e->id)
			return E_PERM;
		if (!frame_revocable(e, frame, v.gen))
			return E_PERM; /* its program, stack or tables */
	}
	/* Within its guarantee nothing is revocable (one revocable frame is above a guarantee of 0). */
	if ((frame == FRAME_ANY || __atomic_load_n(&e->guarantee, __ATOMIC_RELAXED) != 0) &&
	    !above_guarantee(e))
		return E_PERM;
	int err = revoke_claim(e);
	if (err)
		return err;
	revoke_publish(e, frame, count);
	return E_OK;
}

int revoke_claim(struct env *e)
{
	uint32_t none = REV_NONE;
	if (!__atomic_compare_exchange_n(&e->revoke_state, &none, REV_FILLING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return E_BUSY;
	return E_OK;
}

void revoke_publish(struct env *e, uint64_t frame, uint64_t count)
{
	/*
	 * The fields are ours while the request is REV_FILLING: the home core
	 * ignores it (revoke_slice, revoke_poll, revoke_note_free). Published
	 * with release, so the home core that sees REV_ASKED sees every field —
	 * a deadline left from the last request (or 0, before the first) made
	 * it take the frames by force at once, from an owner never asked.
	 */
	e->revoke_frame = frame;
	e->revoke_count = count;
	e->revoke_deadline =
	    arch_cycles() + revoke_deadline_ns / 1000 * (arch_cycles_per_sec() / 1000000);
	__atomic_store_n(&e->revoke_state, REV_ASKED, __ATOMIC_RELEASE);
	/* Marked after it is REV_ASKED: a revoke_poll that took the bit earlier would skip it. */
	mark_pending(percpu_of(e->home), e->id);
	__atomic_store_n(&percpu_of(e->home)->revoke_check, true, __ATOMIC_SEQ_CST);
	/* Wake the home core: an idle core acts at once (the owner cannot answer). */
	trace(TR_REVOKE, e->id, TRV_ASKED);
	if (e->home != cpu_id())
		ipi_send(e->home, IPI_WAKE);
}

/* The slot of frame's root capability in e, at the frame's current generation; -1 if none. */
static int root_slot(struct env *e, uint64_t frame, uint64_t gen)
{
	bool revocable;
	uint64_t hint = pot_root_hint(frame);
	if (cap_is_root_of(e, hint, frame, gen, &revocable))
		return (int)hint;
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		struct cap_info ci;
		if (cap_inspect(e, s, &ci) == E_OK && ci.type == OBJ_FRAME && ci.object == frame &&
		    ci.parent_env == CAP_NO_SLOT && ci.gen == gen)
			return (int)s;
	}
	return -1;
}

/* Steps 1 of the abort protocol for one frame: it leaves OWNED, every capability and binding goes. */
static int take_begin(struct env *e, uint64_t frame, uint64_t *gen, uint64_t *mapped_on)
{
	struct pot_view v = pot_get(frame);
	if (v.owner != e->id || (v.state != POT_OWNED && v.state != POT_REVOKING))
		return E_PERM;
	int slot = root_slot(e, frame, v.gen);
	int err = pot_mark_revoking(frame, e->id, v.gen);
	if (err)
		return err;
	/* 1. Every capability derived from the root goes, with its binding (flushed on its core). */
	if (slot >= 0) {
		while (cap_revoke(e, (uint32_t)slot) == E_AGAIN)
			;
		(void)cap_unbind(e, (uint32_t)slot); /* E_NOENT: it was not bound */
	}
	*gen = v.gen;
	*mapped_on = pot_get(frame).mapped_on;
	return E_OK;
}

/* Step 3, after the shootdown that covered it: the frame is free, the owner told. */
static int take_end(struct env *e, uint64_t frame, uint64_t gen)
{
	/* No disk request may still move data into it (it left OWNED above: no new one can start). */
	disk_quiesce_frame(frame);
	/* 3. Only now is it free: the generation moves on and the root capability is stale. */
	int err = pot_release(frame, e->id, gen);
	if (err)
		return err;
	__atomic_fetch_sub(&e->frames_owned, 1, __ATOMIC_RELAXED);
	if (e->nreposs < ENV_REPOSS_MAX)
		e->reposs[e->nreposs++] = frame;
	e->reposs_total++;
	e->reposs_untold = true;
	return E_OK;
}

/* Frames taken by force between two shootdowns, at most. */
#define TAKE_BATCH 64

/*
 * Take up to want of frames[0..n) (from the end, as the kernel picks) by
 * force: step 1 for each, then one shootdown of every core any of them may
 * be cached on (2), then step 3 for each. Returns how many were taken.
 */
static unsigned take_batch(struct env *e, const uint64_t *frames, unsigned n, unsigned want)
{
	unsigned taken = 0;
	while (n && taken < want) {
		uint64_t batch[TAKE_BATCH], gens[TAKE_BATCH], cores = 0;
		unsigned k = 0;
		for (; n && k < TAKE_BATCH && taken + k < want; n--) {
			uint64_t mapped_on;
			if (take_begin(e, frames[n - 1], &gens[k], &mapped_on) == E_OK) {
				batch[k++] = frames[n - 1];
				cores |= mapped_on;
			}
		}
		/* 2. Shootdown: every core the frames may be cached on flushes and acknowledges, once. */
		if (k)
			tlb_shootdown(cores);
		for (unsigned i = 0; i < k; i++)
			taken += take_end(e, batch[i], gens[i]) == E_OK;
	}
	return taken;
}

int revoke_take(struct env *e, uint64_t frame)
{
	uint64_t gen, mapped_on;
	int err = take_begin(e, frame, &gen, &mapped_on);
	if (err)
		return err;
	/* 2. Shootdown: every core the frame may be cached on flushes and acknowledges. */
	tlb_shootdown(mapped_on);
	return take_end(e, frame, gen);
}

/* A request is open (the home core may act on it): asked, or its upcall delivered. */
static bool open_request(uint32_t st)
{
	return st == REV_ASKED || st == REV_TOLD;
}

void revoke_note_free(struct env *e, uint64_t frame)
{
	if (!open_request(__atomic_load_n(&e->revoke_state, __ATOMIC_ACQUIRE)))
		return;
	if (e->revoke_frame == frame || e->revoke_frame == FRAME_ANY) {
		if (e->revoke_count && --e->revoke_count == 0)
			__atomic_store_n(&e->revoke_state, REV_NONE, __ATOMIC_RELEASE);
	}
}

/* Past the deadline: take what is still owed. */
static void abort_request(struct env *e)
{
	trace(TR_REVOKE, e->id, TRV_ABORT);
	if (e->revoke_frame != FRAME_ANY) {
		if (revoke_take(e, e->revoke_frame) != E_OK)
			kprintf("revoke: env %u: frame %llu was already gone\n", e->id,
				(unsigned long long)e->revoke_frame);
	} else {
		/*
		 * The kernel picks among the revocable frames, never below the
		 * guarantee: the first in its table, listed a batch at a time.
		 */
		uint64_t g = __atomic_load_n(&e->guarantee, __ATOMIC_RELAXED);
		/*
		 * More than g + count (short of the table's size; the count is the
		 * asker's, any value): count of them, without counting them all.
		 */
		uint64_t enough =
		    e->revoke_count < CAP_SLOTS && g < CAP_SLOTS ? g + e->revoke_count : CAP_SLOTS;
		/* No guarantee: no count needed, the listing below stops where they end. */
		unsigned n = !g || (enough < CAP_SLOTS && cap_revocable_more_than(e, enough))
				 ? (unsigned)enough
				 : cap_revocable_frames(e, NULL, 0);
		unsigned want = (unsigned)MIN(e->revoke_count, n > g ? n - g : 0), taken = 0, k;
		uint64_t mine[TAKE_BATCH];
		uint32_t from = 0;
		while (taken < want &&
		       (k = cap_revocable_list(e, &from, mine, MIN(want - taken, TAKE_BATCH))))
			taken += take_batch(e, mine, k, k);
		e->revoke_count -= MIN(e->revoke_count, taken);
	}
	e->revoke_count = 0;
	__atomic_store_n(&e->revoke_state, REV_NONE, __ATOMIC_RELEASE);
}

/* Enter e's revocation handler with kind, on its stack; false if it has none or it is unusable. */
static bool upcall(struct env *e, uint64_t kind)
{
	if (!e->revoke_entry || e->serving || e->calling)
		return false;
	struct arch_uctx *ctx = pct_ctx(e);
	/*
	 * Interrupted inside the handler itself, or in its fault handler while
	 * on the exception stack: let it finish, or leave that stack, first. (A
	 * fault taken in the revocation handler — a copy through a page just
	 * taken by force — is delivered at the top of the exception stack, over
	 * the interrupted handler's own frame.)
	 */
	uint64_t sp = arch_uctx_sp(ctx);
	if (sp > e->revoke_stack && sp <= e->revoke_stack + e->revoke_stack_size)
		return false;
	/*
	 * Or inside its scheduler or fault handler: later too. Delivered on top
	 * of one, this handler could be preempted, and the next scheduler upcall
	 * (or this one again, for REVOKE_TAKEN) would be written over the
	 * interrupted handler's frames at the top of its own stack.
	 */
	if ((sp > e->sched_stack && sp <= e->sched_stack + e->sched_stack_size) ||
	    (sp > e->fault_stack && sp <= e->fault_stack + e->fault_stack_size))
		return false;
	struct upcall_revoke ur = { .kind = kind,
				    .frame = e->revoke_frame,
				    .count = kind == REVOKE_TAKEN ? e->nreposs : e->revoke_count,
				    .deadline = e->revoke_deadline };
	arch_uctx_to_user(ctx, &ur.regs);
	uint64_t frame = ALIGN_DOWN(e->revoke_stack + e->revoke_stack_size - sizeof(ur), 16);
	if (copy_to_user(e, frame, &ur, sizeof(ur)) != E_OK)
		return false;
	arch_uctx_init(ctx, e->revoke_entry, frame - 8, frame);
	return true;
}

bool revoke_slice(struct env *e)
{
	uint32_t st = __atomic_load_n(&e->revoke_state, __ATOMIC_ACQUIRE);
	if (open_request(st) && arch_cycles() >= e->revoke_deadline) {
		abort_request(e);
		st = REV_NONE;
	}
	if (st == REV_ASKED && upcall(e, REVOKE_ASKED)) {
		trace(TR_UPCALL, e->id, UPCALL_REVOKE);
		trace(TR_REVOKE, e->id, TRV_TOLD);
		__atomic_store_n(&e->revoke_state, REV_TOLD, __ATOMIC_RELEASE);
		return true;
	}
	if (st == REV_NONE && e->reposs_untold && upcall(e, REVOKE_TAKEN)) {
		e->reposs_untold = false;
		return true;
	}
	return false;
}

void revoke_poll(void)
{
	unsigned me = cpu_id();
	struct percpu *c = this_cpu();
	/* The run loop's hot path: nothing to do unless a request came since the last look. */
	if (!__atomic_exchange_n(&c->revoke_check, false, __ATOMIC_SEQ_CST))
		return;
	/* Only the envs asked of since the last look (their bits), not the whole table. */
	bool pending = false;
	for (unsigned w = 0; w < ARRAY_SIZE(c->revoke_envs); w++) {
		uint64_t bits = __atomic_exchange_n(&c->revoke_envs[w], 0, __ATOMIC_SEQ_CST);
		for (; bits; bits &= bits - 1) {
			uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(bits);
			struct env *e = env_lookup(id);
			if (!e || e->home != me || !env_alive(e) ||
			    !open_request(__atomic_load_n(&e->revoke_state, __ATOMIC_ACQUIRE)) ||
			    bpf_hook_revoke(
				e)) /* its downloaded handler answered, with no upcall */
				continue;
			/* An owner that cannot answer (no handler, not running) loses the frames now. */
			bool can_answer =
			    e->revoke_entry &&
			    __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == ENV_RUNNABLE;
			if (!can_answer || arch_cycles() >= e->revoke_deadline) {
				abort_request(e);
			} else {
				mark_pending(c,
					     id); /* look again next time: its deadline is ahead */
				pending = true;
			}
		}
	}
	if (pending)
		__atomic_store_n(&c->revoke_check, true, __ATOMIC_SEQ_CST);
}
