/*
 * The syscall table, and the decode/perform convention every call follows
 * (docs/kernel.md "Decode, then perform"; seL4's decode*Invocation ->
 * invoke*). docs/syscalls.md is the user-facing list of calls, rights and
 * errors.
 *
 * A handler sys_x(e, a) is two halves:
 *
 *   decode_x(e, a, &inv)  checks every argument and right, in the order the
 *     errors are listed, and changes nothing: it returns the first error,
 *     or E_OK with the invocation `inv` filled in — the objects named (a
 *     capability looked up is a copy: cap_get), the numbers checked, what
 *     to do. A call that takes no argument has no decode.
 *   perform_x(e, &inv)  carries the invocation out and returns the call's
 *     result. It cannot fail, with one kind of exception: a resource another
 *     core may take between decode and perform — a free slot of the table,
 *     a free or named frame, a time slot, an endpoint, a page-table frame,
 *     a target whose capability is deleted meanwhile. Perform takes those
 *     first, each by one atomic claim; if one is not to be had, the claims
 *     it made, which nobody else can see yet, are given back and the call
 *     fails with nothing changed.
 *
 * Capability operations (cap.c) re-check the capability under its tree
 * lock: there decode and perform are one lock hold, and a race with
 * another core is an error, never a half-done change. The syscall's own
 * decode checks what does not need the lock (argument bits, ranges).
 *
 * A call that must wait says so, and does not undo work to do it: with
 * nothing changed, it leaves the caller to be resumed later
 * (syscall_restart: the same call runs again then; syscall_yield: it
 * returns 0 then). Only FRAME_ALLOC with FRAME_WAIT restarts.
 *
 * New calls follow the same shape: a decode_x that changes nothing, a
 * perform_x, a sys_x joining them in sys_table.
 */
#include <arch/cpu.h>
#include <exo/abi.h>
#include <exo/bpf_hooks.h>
#include <exo/cap.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/image.h>
#include <exo/kprintf.h>
#include <exo/pct.h>
#include <exo/pot.h>
#include <exo/revoke.h>
#include <exo/plant.h>
#include <exo/slice.h>
#include <exo/syscall.h>
#include <exo/uaccess.h>
#include <exo/xcall.h>
#include <ipi.h>
#include <percpu.h>

#define CONSOLE_MAX 4096 /* bytes per SYS_CONSOLE_WRITE */
#define READ_AD_MAX 512	 /* pages per SYS_READ_AD */

/*
 * CONSOLE_WRITE. Decode copies it all (a page unmapped meanwhile by another
 * core is E_FAULT with nothing printed); perform prints, and cannot fail.
 */
static int decode_console_write(struct env *e, const uint64_t *a, char **text)
{
	uint64_t va = a[0], len = a[1];
	if (len > CONSOLE_MAX)
		return E_RANGE;
	int err = uaccess_check(e, va, len, false);
	if (err)
		return err;
	static char bufs[MAX_CPUS][CONSOLE_MAX + 1];
	char *buf = bufs[cpu_id()];
	if ((err = copy_from_user(e, buf, va, len)))
		return err;
	buf[len] = '\0';
	*text = buf;
	return E_OK;
}

/*
 * Every line a program writes starts "env N: ", so it cannot pass for a
 * kernel line (test results, figures, PANIC) on the host's side.
 */
static void perform_console_write(struct env *e, char *buf)
{
	for (char *line = buf; *line;) {
		char *nl = line;
		while (*nl && *nl != '\n')
			nl++;
		bool end = *nl == '\n';
		*nl = '\0';
		if (this_cpu()->line_len == 0)
			kprintf("env %u: ", e->id);
		/* In pieces kprintf's buffer holds; the line buffer joins them. */
		for (size_t n = (size_t)(nl - line), at = 0; at < n; at += 200)
			kprintf("%.*s", (int)MIN(n - at, (size_t)200), line + at);
		if (end)
			kprintf("\n");
		line = end ? nl + 1 : nl;
	}
}

static int64_t sys_console_write(struct env *e, const uint64_t *a)
{
	char *text;
	int err = decode_console_write(e, a, &text);
	if (err)
		return err;
	perform_console_write(e, text);
	return (int64_t)a[1];
}

static int64_t sys_core_id(struct env *e, const uint64_t *a) { return cpu_id(); }

/* TIME. The copy out checks the address (E_FAULT, nothing else changed). */
static int64_t sys_time(struct env *e, const uint64_t *a)
{
	struct sys_time t = { .cycles = arch_cycles(), .cycles_hz = arch_cycles_per_sec() };
	return copy_to_user(e, a[0], &t, sizeof(t));
}

static int64_t sys_yield(struct env *e, const uint64_t *a)
{
	syscall_yield(e);
}

static int64_t sys_exit(struct env *e, const uint64_t *a)
{
	e->exit_status = (int)(a[0] & 0xff);
	this_cpu()->exiting = true;
	arch_user_exit();
}

/*
 * Memory pressure: no frame is free. Ask the environment holding the most
 * revocable frames beyond its guarantee (not e) for one back; true if a
 * revocation is now under way, so the frame will come.
 */
static bool pressure_revoke(struct env *e)
{
	struct env *victim = NULL;
	unsigned most = 0;
	for (uint32_t id = 0; id < MAX_ENVS; id++) {
		struct env *v = env_lookup(id);
		if (v == e || !env_alive(v))
			continue;
		unsigned n = cap_revocable_frames(v, NULL, 0);
		if (n > v->guarantee && n - v->guarantee > most) {
			most = (unsigned)(n - v->guarantee);
			victim = v;
		}
	}
	if (!victim)
		return false;
	int err = revoke_ask(victim, FRAME_ANY, 1);
	return err == E_OK || err == E_BUSY; /* E_BUSY: a request is already pending */
}

/*
 * FRAME_ALLOC. Decode: the frame number and the flags. Perform: take a slot
 * of the table, then the frame (both one atomic claim each, either of which
 * another core may beat us to); then fill the slot, which cannot fail. With
 * no frame free (FRAME_ANY), nothing has changed: some environment's empty
 * page tables are reclaimed (env_pt_reclaim_any) and perform runs once
 * more; if none were, the call waits instead: frame_wait.
 */
struct frame_alloc_inv {
	uint64_t n;   /* the frame, or FRAME_ANY */
	bool wait;    /* FRAME_WAIT */
	bool no_free; /* out of perform: FRAME_ANY found no free frame */
};

static int decode_frame_alloc(struct env *e, const uint64_t *a, struct frame_alloc_inv *inv)
{
	uint64_t n = a[0], flags = a[1];
	if (n != FRAME_ANY && (PLANTED(PLANT_FRAME_BOUNDS) ? n > pot_nframes() : n >= pot_nframes()))
		return E_RANGE;
	if (flags & ~(uint64_t)FRAME_WAIT)
		return E_INVAL;
	*inv = (struct frame_alloc_inv){ .n = n, .wait = flags & FRAME_WAIT };
	return E_OK;
}

static int64_t perform_frame_alloc(struct env *e, struct frame_alloc_inv *inv)
{
	uint32_t slot;
	uint64_t frame, gen;
	bool no_frame;
	int err =
	    cap_reserve_why(e, &slot, &no_frame); /* first: a full table must not cost a frame */
	if (err) {
		/* Its table's new page found no frame: memory pressure, as for the frame itself. */
		inv->no_free = no_frame && inv->n == FRAME_ANY;
		return err;
	}
	err = inv->n == FRAME_ANY ? frame_alloc_any(e->id, false, &frame, &gen)
				  : frame_alloc_at(frame = inv->n, e->id, false, &gen);
	if (err) {
		cap_unreserve(e, slot); /* a claim nobody else could see */
		inv->no_free = err == E_NOMEM && inv->n == FRAME_ANY;
		return err;
	}
	__atomic_fetch_add(&e->frames_owned, 1, __ATOMIC_RELAXED);
	cap_fill_root(e, slot, OBJ_FRAME, frame, gen, CAP_R_ALL, CAP_F_REVOCABLE);
	pot_set_root_hint(frame, slot); /* revocation finds the root without a scan */
	return slot;
}

/*
 * Memory pressure, and nothing changed: ask for a frame back (E_NOMEM if
 * nothing anywhere is revocable); then E_AGAIN, or with FRAME_WAIT wait for
 * it — yield, and run this same call again when resumed.
 */
static int64_t frame_wait(struct env *e, bool wait)
{
	if (!pressure_revoke(e))
		return E_NOMEM;
	if (!wait)
		return E_AGAIN;
	syscall_restart(e);
}

static int64_t sys_frame_alloc(struct env *e, const uint64_t *a)
{
	struct frame_alloc_inv inv;
	int err = decode_frame_alloc(e, a, &inv);
	if (err)
		return err;
	int64_t ret = perform_frame_alloc(e, &inv);
	/* No frame free: page tables that map nothing go first, then one more try. */
	if (inv.no_free && env_pt_reclaim_any(PT_RECLAIM_MAX)) {
		inv.no_free = false;
		ret = perform_frame_alloc(e, &inv);
	}
	return inv.no_free ? frame_wait(e, inv.wait) : ret;
}

/*
 * FRAME_FREE. Decode: a frame cap with CTRL, the root, held by the frame's
 * owner. Perform: delete the root (which frees the frame; E_BUSY, nothing
 * changed, while derived caps exist — checked again under the tree lock,
 * since another core may derive one meanwhile), then count it toward a
 * revocation request.
 */
static int decode_frame_free(struct env *e, const uint64_t *a, struct cap *c)
{
	int err = cap_get(e, (uint32_t)MIN(a[0], CAP_SLOTS), OBJ_FRAME, CAP_R_CTRL, c);
	if (err)
		return err;
	/* Only the owner's root cap frees; a derived or granted cap cannot. */
	if (c->parent.env != CAP_NO_SLOT || pot_get(c->obj).owner != e->id)
		return E_PERM;
	return E_OK;
}

static int64_t sys_frame_free(struct env *e, const uint64_t *a)
{
	struct cap c;
	int err = decode_frame_free(e, a, &c);
	if (err)
		return err;
	if ((err = cap_delete(e, (uint32_t)a[0]))) /* E_BUSY while derived caps exist */
		return err;
	revoke_note_free(e, c.obj); /* it may answer a revocation request */
	return E_OK;
}

/*
 * MAP. Decode: the address and the protection; perform: cap_bind, which
 * checks the capability (slot, type, rights, generation, not yet bound)
 * and maps under its tree lock (E_EXIST: va mapped; E_NOMEM: no frame for
 * a page table — nothing changed).
 */
static int decode_map(struct env *e, const uint64_t *a)
{
	uint64_t va = a[1], prot = a[2];
	if (!IS_ALIGNED(va, PAGE_SIZE))
		return E_ALIGN;
	if (va < USER_BASE || va >= USER_END)
		return E_FAULT;
	if (prot == 0 || (prot & ~(uint64_t)(PROT_R | PROT_W | PROT_X)))
		return E_INVAL;
	if ((prot & PROT_W) && (prot & PROT_X))
		return E_INVAL; /* W^X for user pages */
	return E_OK;
}

static int64_t sys_map(struct env *e, const uint64_t *a)
{
	int err = decode_map(e, a);
	if (err)
		return err;
	return cap_bind(e, (uint32_t)MIN(a[0], CAP_SLOTS), a[1], (unsigned)a[2]);
}

/* UNMAP: cap_unbind decodes (slot, type, bound) and performs under the tree lock. */
static int64_t sys_unmap(struct env *e, const uint64_t *a)
{
	return cap_unbind(e, (uint32_t)MIN(a[0], CAP_SLOTS));
}

/*
 * READ_AD. Decode: the range and the output buffer. Perform, in one hold
 * of the environment's lock (so out cannot be unmapped between clearing
 * the bits and writing them): the buffer checked again (another core may
 * have unmapped it: E_FAULT, nothing changed), then read-and-clear and the
 * copy out, which cannot fail.
 */
static int decode_read_ad(struct env *e, const uint64_t *a)
{
	uint64_t va = a[0], n = a[1], out = a[2];
	if (!IS_ALIGNED(va, PAGE_SIZE))
		return E_ALIGN;
	if (n == 0 || n > READ_AD_MAX)
		return E_RANGE;
	if (va < USER_BASE || va > USER_END || n > (USER_END - va) / PAGE_SIZE)
		return E_FAULT;
	return uaccess_check(e, out, n, true);
}

static int64_t perform_read_ad(struct env *e, uint64_t va, uint64_t n, uint64_t out)
{
	uint8_t bits[READ_AD_MAX];
	spin_lock(&e->lock);
	int err = uaccess_check_locked(e, out, n);
	if (err) {
		spin_unlock(&e->lock);
		return err;
	}
	for (uint64_t i = 0; i < n; i++) {
		unsigned ad;
		vaddr_t v = va_make(va + i * PAGE_SIZE);
		bits[i] = 0;
		if (arch_read_clear_ad(&e->as, v, &ad) == E_OK)
			bits[i] = AD_MAPPED | (ad & MMU_ACCESSED ? AD_ACCESSED : 0) |
				  (ad & MMU_DIRTY ? AD_DIRTY : 0);
	}
	err = copy_to_user_locked(e, out, bits, n); /* checked above: cannot fail */
	spin_unlock(&e->lock);
	return err;
}

static int64_t sys_read_ad(struct env *e, const uint64_t *a)
{
	int err = decode_read_ad(e, a);
	if (err)
		return err;
	return perform_read_ad(e, a[0], a[1], a[2]);
}

/*
 * CAP_MINT. Decode: the rights bits and the badge; perform: cap_mint, which
 * checks the capability (GRANT, depth, badge) and derives under its tree
 * lock, a slot claimed first (E_NOMEM: the table is full).
 */
static int decode_cap_mint(struct env *e, const uint64_t *a)
{
	if (a[1] & ~(uint64_t)CAP_R_ALL)
		return E_INVAL;
	if (a[2] > UINT32_MAX)
		return E_RANGE;
	return E_OK;
}

static int64_t sys_cap_mint(struct env *e, const uint64_t *a)
{
	int err = decode_cap_mint(e, a);
	if (err)
		return err;
	uint32_t slot;
	err = cap_mint(e, (uint32_t)MIN(a[0], CAP_SLOTS), (unsigned)a[1], (uint32_t)a[2], &slot);
	return err ? (int64_t)err : (int64_t)slot;
}

/*
 * The environment an env cap in slot names, with the rights asked, and the
 * generation the cap was made for (*gen, if not NULL): an operation that
 * changes the environment checks it again after its state change (env.c),
 * because the entry may be reused once the lookup's lock is dropped.
 */
static int env_from_slot_gen(struct env *e, uint64_t slot, unsigned rights, struct env **out,
			     uint64_t *gen)
{
	struct cap c;
	int err = cap_get(e, (uint32_t)MIN(slot, CAP_SLOTS), OBJ_ENV, rights, &c);
	if (err)
		return err;
	*out = env_lookup((uint32_t)c.obj);
	if (gen)
		*gen = c.gen;
	return *out ? E_OK : E_STALE;
}

static int env_from_slot(struct env *e, uint64_t slot, unsigned rights, struct env **out)
{
	return env_from_slot_gen(e, slot, rights, out, NULL);
}

/*
 * CAP_GRANT. Decode: the flags, and the target (an env cap with CTRL).
 * Perform: the target's home core, which alone writes its table, grants
 * (cap_grant: the source checked under its tree lock; E_STALE if the
 * target was destroyed meanwhile).
 */
struct grant_inv {
	struct env *to;
	uint64_t gen; /* the target's, as its capability names it */
};

static int decode_cap_grant(struct env *e, const uint64_t *a, struct grant_inv *inv)
{
	if (a[2] != GRANT_COPY && a[2] != GRANT_MOVE)
		return E_INVAL;
	return env_from_slot_gen(e, a[1], CAP_R_CTRL, &inv->to, &inv->gen);
}

static int64_t sys_cap_grant(struct env *e, const uint64_t *a)
{
	struct grant_inv inv;
	int err = decode_cap_grant(e, a, &inv);
	if (err)
		return err;
	const uint64_t x[5] = { e->id, MIN(a[0], CAP_SLOTS), inv.to->id, inv.gen,
				a[2] == GRANT_MOVE };
	uint64_t out[2];
	err = (int)xcall(inv.to->home, XC_CAP_GRANT, x, out);
	return err ? (int64_t)err : (int64_t)out[0];
}

/* CAP_REVOKE, CAP_DELETE: cap.c decodes (the slot) and performs under the tree lock. */
static int64_t sys_cap_revoke(struct env *e, const uint64_t *a)
{
	return cap_revoke(e, (uint32_t)MIN(a[0], CAP_SLOTS));
}

/* Does e run this call from user mode, so that syscall_restart can resume it? */
static bool from_user(struct env *e)
{
	return this_cpu()->current == e;
}

static int64_t sys_cap_delete(struct env *e, const uint64_t *a)
{
	int err = cap_delete(e, (uint32_t)MIN(a[0], CAP_SLOTS));
	/*
	 * An environment whose root capability this was: its destroy begins
	 * and takes a first step here; its home core's run loop does the rest
	 * (a caller with no user context to resume waits for it here).
	 */
	uint64_t ticket = env_reap();
	while (!env_dying_help(ticket) && !from_user(e))
		percpu_wait_step(false); /* another core runs a step of it */
	return err;
}

/* CAP_INSPECT. Decode: the output buffer; perform: describe (E_BADSLOT) and copy out. */
static int64_t sys_cap_inspect(struct env *e, const uint64_t *a)
{
	int err = uaccess_check(e, a[1], sizeof(struct cap_info), true);
	if (err)
		return err;
	struct cap_info info;
	if ((err = cap_inspect(e, (uint32_t)MIN(a[0], CAP_SLOTS), &info)))
		return err;
	return copy_to_user(e, a[1], &info, sizeof(info));
}

/*
 * ENV_CREATE. Decode: the core. Perform: claim a slot first (E_NOMEM: the
 * table is full), then the home core's kernel instance makes the
 * environment (E_NOMEM: none free; the slot, unseen, is given back); the
 * capability comes back here into the claimed slot, which cannot fail — so
 * nothing fails after the remote side acted.
 */
static int decode_env_create(struct env *e, const uint64_t *a)
{
	return a[0] >= percpu_ncpus ? E_INVAL : E_OK;
}

static int64_t perform_env_create(struct env *e, unsigned core)
{
	uint32_t slot;
	int err = cap_reserve(e, &slot);
	if (err)
		return err;
	/* Charged first to the caller and its ancestors (exo/env.h quotas): past a limit, nothing made. */
	if ((err = quota_reserve_env(e))) {
		cap_unreserve(e, slot);
		return err;
	}
	const uint64_t none[5] = { 0 };
	uint64_t out[2];
	if ((err = (int)xcall(core, XC_ENV_CREATE, none, out))) {
		quota_unreserve_env(e);
		cap_unreserve(e, slot);
		return err;
	}
	quota_adopt(e, env_lookup((uint32_t)out[0]));
	cap_fill_root(e, slot, OBJ_ENV, out[0], out[1], CAP_R_ALL, 0);
	return slot;
}

static int64_t sys_env_create(struct env *e, const uint64_t *a)
{
	int err = decode_env_create(e, a);
	if (err)
		return err;
	return perform_env_create(e, (unsigned)a[0]);
}

/*
 * ENV_START. Decode: the program, the arguments (copied here: the caller's
 * memory may change once we wait; the last word must end), the env cap
 * with CTRL. Perform: its home core's kernel instance loads and queues it
 * (E_BUSY: started already; E_STALE: destroyed meanwhile; E_NOMEM).
 */
struct env_start_inv {
	struct env *child;
	uint64_t gen;
	struct env_args *args;
};

static int decode_env_start(struct env *e, const uint64_t *a, struct env_start_inv *inv)
{
	if (a[1] >= user_image_count)
		return E_INVAL;
	if (a[4] > ENV_ARGS_MAX)
		return E_RANGE;
	int err = env_from_slot_gen(e, a[0], CAP_R_CTRL, &inv->child, &inv->gen);
	if (err)
		return err;
	if ((err = quota_fits(e, a[5]))) /* a child's limits come out of its parent's */
		return err;
	static struct env_args args[MAX_CPUS];
	struct env_args *mine = &args[cpu_id()];
	mine->len = a[4];
	mine->limits = a[5];
	if (a[4] && (err = copy_from_user(e, mine->bytes, a[3], a[4])))
		return err;
	if (a[4] && mine->bytes[a[4] - 1] != '\0')
		return E_INVAL; /* the last word must end */
	inv->args = mine;
	return E_OK;
}

static int64_t sys_env_start(struct env *e, const uint64_t *a)
{
	struct env_start_inv inv;
	int err = decode_env_start(e, a, &inv);
	if (err)
		return err;
	const uint64_t x[5] = { inv.child->id, inv.gen, a[1], a[2], (uint64_t)(uintptr_t)inv.args };
	uint64_t out[2];
	return xcall(inv.child->home, XC_ENV_START, x, out);
}

/*
 * ENV_DESTROY. Decode: the env cap with CTRL, not the caller. Perform: its
 * home core begins the destroy (stopping it if it runs; E_STALE: gone
 * meanwhile) and takes a first step; the caller then waits for the rest,
 * one bounded step per kernel entry (destroy_wait).
 */
static int decode_env_destroy(struct env *e, const uint64_t *a, struct env **child, uint64_t *gen)
{
	int err = env_from_slot_gen(e, a[0], CAP_R_CTRL, child, gen);
	if (err)
		return err;
	if (*child == e)
		return E_BUSY; /* an environment ends itself with SYS_EXIT */
	return E_OK;
}

/*
 * The rest of an ENV_DESTROY: one step of its destroy, and while steps
 * remain the call is left to run again when the caller is resumed
 * (syscall_restart), so that no kernel entry runs more than a step. A
 * caller with no user context to resume (the host harness, kernel tests)
 * waits here. E_OK once the whole destroy is done.
 */
static int64_t destroy_wait(struct env *e)
{
	while (!env_dying_help(e->destroy_wait)) {
		if (from_user(e))
			syscall_restart(e);
		percpu_wait_step(false); /* another core runs a step of it */
	}
	e->destroy_wait = 0;
	return E_OK;
}

/* Is this ENV_DESTROY the restart of the one e waits on (its capability now stale)? */
static bool destroy_restarted(struct env *e, const uint64_t *a)
{
	struct cap_info ci;
	return e->destroy_wait && a[0] == e->destroy_wait_slot &&
	       cap_inspect(e, (uint32_t)MIN(a[0], CAP_SLOTS), &ci) == E_OK && ci.type == OBJ_ENV &&
	       ci.object == e->destroy_wait_obj && ci.gen == e->destroy_wait_gen;
}

static int64_t sys_env_destroy(struct env *e, const uint64_t *a)
{
	if (destroy_restarted(e, a))
		return destroy_wait(e);
	struct env *child;
	uint64_t gen;
	int err = decode_env_destroy(e, a, &child, &gen);
	if (err)
		return err;
	const uint64_t x[5] = { child->id, gen };
	uint64_t out[2] = { 0, 0 };
	err = (int)xcall(child->home, XC_ENV_DESTROY, x, out);
	if (err || !out[0])
		return err;
	e->destroy_wait = out[0];
	e->destroy_wait_slot = a[0];
	e->destroy_wait_obj = child->id;
	e->destroy_wait_gen = gen;
	return destroy_wait(e);
}

/* ENV_STATUS: a read; decode is the lookup. */
static int64_t sys_env_status(struct env *e, const uint64_t *a)
{
	struct env *child;
	int err = env_from_slot(e, a[0], 0, &child);
	if (err)
		return err;
	if (__atomic_load_n(&child->state, __ATOMIC_ACQUIRE) != ENV_EXITED)
		return E_AGAIN;
	return child->exit_status;
}

static int64_t sys_debug_check(struct env *e, const uint64_t *a) { return invariant_check_env(e); }

static int64_t sys_frame_count(struct env *e, const uint64_t *a)
{
	return (int64_t)frame_free_count();
}

/*
 * UPCALL_SET. Decode: the kind, and (entry 0 unregisters) the entry and the
 * whole stack in user space, aligned, big enough for the kind's frame.
 * Perform: three stores.
 */
static int decode_upcall_set(struct env *e, const uint64_t *a)
{
	uint64_t kind = a[0], entry = a[1], base = a[2], size = a[3];
	if (kind >= UPCALL_KINDS)
		return E_INVAL;
	const size_t frames[UPCALL_KINDS] = { sizeof(struct upcall_fault),
					      sizeof(struct upcall_sched),
					      sizeof(struct upcall_revoke) };
	if (entry != 0) {
		if (entry < USER_BASE || entry >= USER_END || base < USER_BASE || base >= USER_END ||
		    size > USER_END - base)
			return E_FAULT;
		if (!IS_ALIGNED(base, 16) || !IS_ALIGNED(size, 16))
			return E_ALIGN;
		if (size < frames[kind] + 64)
			return E_RANGE;
	}
	return E_OK;
}

static void perform_upcall_set(struct env *e, uint64_t kind, uint64_t entry, uint64_t base,
			       uint64_t size)
{
	uint64_t *slots[UPCALL_KINDS][3] = {
		[UPCALL_FAULT] = { &e->fault_entry, &e->fault_stack, &e->fault_stack_size },
		[UPCALL_SCHED] = { &e->sched_entry, &e->sched_stack, &e->sched_stack_size },
		[UPCALL_REVOKE] = { &e->revoke_entry, &e->revoke_stack, &e->revoke_stack_size },
	};
	if (kind == UPCALL_FAULT)
		env_fault_unpin(e); /* the fault frame moves: pinned again at the next fault */
	*slots[kind][0] = entry;
	*slots[kind][1] = entry ? base : 0;
	*slots[kind][2] = entry ? size : 0;
}

static int64_t sys_upcall_set(struct env *e, const uint64_t *a)
{
	int err = decode_upcall_set(e, a);
	if (err)
		return err;
	perform_upcall_set(e, a[0], a[1], a[2], a[3]);
	return E_OK;
}

/* The env an env-cap argument names, or the caller for ENV_SELF. */
static int env_arg(struct env *e, uint64_t slot, unsigned rights, struct env **out)
{
	if (slot == ENV_SELF) {
		*out = e;
		return E_OK;
	}
	return env_from_slot(e, slot, rights, out);
}

/*
 * SLOT_ALLOC. Decode: the core, the index, the owner (the caller, or an env
 * cap with CTRL). Perform: claim a slot of the table (E_NOMEM), then the
 * time slot (E_BUSY taken, E_NOMEM none free, E_INVAL not the owner's home
 * core, E_STALE owner destroyed meanwhile: the table's slot, unseen, is
 * given back); then fill the capability, which cannot fail.
 */
struct slot_alloc_inv {
	unsigned core;
	uint64_t index; /* or SLOT_ANY */
	struct env *owner;
	uint64_t owner_gen;
};

static int decode_slot_alloc(struct env *e, const uint64_t *a, struct slot_alloc_inv *inv)
{
	uint64_t core = a[0], slot = a[1];
	if (core >= percpu_ncpus)
		return E_INVAL;
	if (slot != SLOT_ANY && slot >= slice_nslots)
		return E_RANGE;
	*inv = (struct slot_alloc_inv){ .core = (unsigned)core,
					.index = slot,
					.owner = e,
					.owner_gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) };
	return a[2] == ENV_SELF
		   ? E_OK
		   : env_from_slot_gen(e, a[2], CAP_R_CTRL, &inv->owner, &inv->owner_gen);
}

static int64_t perform_slot_alloc(struct env *e, const struct slot_alloc_inv *inv)
{
	unsigned index;
	uint64_t gen;
	uint32_t cap;
	int err = cap_reserve(e, &cap);
	if (err)
		return err;
	if ((err = slice_alloc(inv->core, inv->index, inv->owner, inv->owner_gen, &index, &gen))) {
		cap_unreserve(e, cap);
		return err;
	}
	cap_fill_root(e, cap, OBJ_SLOT, inv->core * SLICE_MAX_SLOTS + index, gen, CAP_R_ALL, 0);
	return cap;
}

static int64_t sys_slot_alloc(struct env *e, const uint64_t *a)
{
	struct slot_alloc_inv inv;
	int err = decode_slot_alloc(e, a, &inv);
	if (err)
		return err;
	return perform_slot_alloc(e, &inv);
}

/*
 * SLOT_FREE. Decode: a slot cap with CTRL, the root. Perform: delete it
 * (which frees the time slot; E_BUSY, nothing changed, while derived caps
 * exist — checked again under the tree lock).
 */
static int decode_slot_free(struct env *e, const uint64_t *a)
{
	struct cap c;
	int err = cap_get(e, (uint32_t)MIN(a[0], CAP_SLOTS), OBJ_SLOT, CAP_R_CTRL, &c);
	if (err)
		return err;
	return c.parent.env != CAP_NO_SLOT ? E_PERM : E_OK; /* only the root frees */
}

static int64_t sys_slot_free(struct env *e, const uint64_t *a)
{
	int err = decode_slot_free(e, a);
	if (err)
		return err;
	return cap_delete(e, (uint32_t)a[0]);
}

/*
 * YIELD_TO. Decode: an env cap, to an environment of this core, runnable
 * and not the caller. Perform: donate the rest of the slice, and yield.
 */
static int decode_yield_to(struct env *e, const uint64_t *a, struct env **to)
{
	int err = env_from_slot(e, a[0], 0, to);
	if (err)
		return err;
	if ((*to)->home != e->home)
		return E_INVAL; /* only environments of this core share its slices */
	if (__atomic_load_n(&(*to)->state, __ATOMIC_ACQUIRE) != ENV_RUNNABLE || *to == e)
		return E_AGAIN;
	return E_OK;
}

static int64_t sys_yield_to(struct env *e, const uint64_t *a)
{
	struct env *to;
	int err = decode_yield_to(e, a, &to);
	if (err)
		return err;
	this_cpu()->donate = to;
	syscall_yield(e);
}

/* ENV_CPU: a read; decode is the core and the lookup. */
static int64_t sys_env_cpu(struct env *e, const uint64_t *a)
{
	if (a[1] >= percpu_ncpus)
		return E_INVAL;
	struct env *who;
	int err = env_arg(e, a[0], 0, &who);
	if (err)
		return err;
	return (int64_t)__atomic_load_n(&who->cpu_cycles[a[1]], __ATOMIC_RELAXED);
}

/*
 * EP_CREATE. Decode: the entry and the stack in user space, aligned, and
 * the owner (the caller, or an env cap with CTRL) in whom calls run.
 * Perform: claim a slot of the table (E_NOMEM), then an endpoint (E_NOMEM
 * none free, E_STALE owner destroyed meanwhile: the slot, unseen, is given
 * back); then fill the capability, which cannot fail.
 */
struct ep_create_inv {
	struct env *owner;
	uint64_t owner_gen, entry, stack_top;
};

static int decode_ep_create(struct env *e, const uint64_t *a, struct ep_create_inv *inv)
{
	uint64_t entry = a[1], base = a[2], size = a[3];
	if (entry < USER_BASE || entry >= USER_END || base < USER_BASE || base >= USER_END ||
	    size > USER_END - base || size == 0)
		return E_FAULT;
	if (!IS_ALIGNED(base, 16) || !IS_ALIGNED(size, 16))
		return E_ALIGN;
	*inv = (struct ep_create_inv){ .owner = e,
				       .owner_gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE),
				       .entry = entry,
				       .stack_top = base + size };
	return a[0] == ENV_SELF
		   ? E_OK
		   : env_from_slot_gen(e, a[0], CAP_R_CTRL, &inv->owner, &inv->owner_gen);
}

static int64_t perform_ep_create(struct env *e, const struct ep_create_inv *inv)
{
	uint32_t id, slot;
	uint64_t gen;
	int err = cap_reserve(e, &slot);
	if (err)
		return err;
	if ((err = ep_create(inv->owner, inv->owner_gen, inv->entry, inv->stack_top, &id, &gen))) {
		cap_unreserve(e, slot);
		return err;
	}
	cap_fill_root(e, slot, OBJ_ENDPOINT, id, gen, CAP_R_ALL, 0);
	return slot;
}

static int64_t sys_ep_create(struct env *e, const uint64_t *a)
{
	struct ep_create_inv inv;
	int err = decode_ep_create(e, a, &inv);
	if (err)
		return err;
	return perform_ep_create(e, &inv);
}

/*
 * PCT_CALL. Decode: an endpoint cap with WRITE. Perform: pct_call checks
 * the endpoint and its environment under the endpoint's state word
 * (E_STALE deleted, E_INVAL another core, E_BUSY, E_AGAIN) and switches to
 * the callee, or changes nothing.
 */
static int64_t sys_pct_call(struct env *e, const uint64_t *a)
{
	struct cap c;
	int err = cap_get(e, (uint32_t)MIN(a[0], CAP_SLOTS), OBJ_ENDPOINT, CAP_R_WRITE, &c);
	if (err)
		return err;
	struct arch_uctx *regs = arch_user_regs();
	const uint64_t args[6] = { a[1], a[2], a[3], a[4], a[5], arch_uctx_arg(regs, 6) };
	if ((err = pct_call(e, ep_lookup(c.obj), c.gen, c.badge, args, regs)))
		return err;
	return (int64_t)arch_uctx_ret(regs); /* now the callee's: the endpoint id */
}

/* PCT_REPLY: pct_reply decodes (E_NOENT: not serving a call) and performs. */
static int64_t sys_pct_reply(struct env *e, const uint64_t *a)
{
	struct arch_uctx *regs = arch_user_regs();
	int err = pct_reply(e, a, regs);
	if (err)
		return err;
	return (int64_t)arch_uctx_ret(regs); /* now the caller's: E_OK */
}

/*
 * REVOKE_ASK. Decode: the count and frame, the env cap with CTRL. Perform:
 * revoke_ask checks the frame against the owner's guarantee and pending
 * request (E_PERM, E_BUSY) as it records the request.
 */
static int decode_revoke_ask(struct env *e, const uint64_t *a, struct env **owner)
{
	uint64_t frame = a[1], count = a[2];
	if (count == 0 || (frame != FRAME_ANY && count != 1))
		return E_INVAL;
	if (frame != FRAME_ANY && frame >= pot_nframes())
		return E_RANGE;
	return env_from_slot(e, a[0], CAP_R_CTRL, owner);
}

static int64_t sys_revoke_ask(struct env *e, const uint64_t *a)
{
	struct env *owner;
	int err = decode_revoke_ask(e, a, &owner);
	if (err)
		return err;
	return revoke_ask(owner, a[1], a[2]);
}

/*
 * REPOSS_READ. Decode: the output buffer. Perform: copy the vector out (a
 * page another core unmapped meanwhile is E_FAULT, the vector kept), then
 * empty it.
 */
static int64_t sys_reposs_read(struct env *e, const uint64_t *a)
{
	int err = uaccess_check(e, a[0], sizeof(e->reposs), true);
	if (err)
		return err;
	/* Ours: only this core changes e's vector, and e is running here. */
	uint32_t n = e->nreposs;
	if ((err = copy_to_user(e, a[0], e->reposs, n * sizeof(e->reposs[0]))))
		return err;
	e->nreposs = 0;
	return n;
}

/*
 * GUARANTEE. Decode: the env cap with CTRL (not ENV_SELF: it is granted), the
 * count, and the sum of every live environment's guarantee with this one
 * changed: at most the frames environments can hold (pot_usable_frames), so
 * what is guaranteed always exists. Decode and perform under one lock, so
 * two calls on two cores cannot both fit in the same room.
 */
static struct spinlock guarantee_lock = SPINLOCK_INIT;

static int decode_guarantee(struct env *e, const uint64_t *a, struct env **who)
{
	int err = env_from_slot(e, a[0], CAP_R_CTRL, who);
	if (err)
		return err;
	if (a[1] > pot_nframes())
		return E_RANGE;
	uint64_t sum = a[1];
	for (uint32_t id = 0; id < MAX_ENVS; id++) {
		struct env *x = env_lookup(id);
		if (x != *who && env_alive(x))
			sum += __atomic_load_n(&x->guarantee, __ATOMIC_ACQUIRE);
	}
	return sum > pot_usable_frames() ? E_RANGE : E_OK;
}

static int64_t sys_guarantee(struct env *e, const uint64_t *a)
{
	struct env *who;
	spin_lock(&guarantee_lock);
	int err = decode_guarantee(e, a, &who);
	if (!err)
		__atomic_store_n(&who->guarantee, a[1], __ATOMIC_RELEASE);
	spin_unlock(&guarantee_lock);
	return err;
}

/*
 * NOTIFY. Decode: the bits, the env cap with WRITE. Perform: env_notify
 * (E_STALE: destroyed meanwhile), here or by a message to its home core.
 */
static int decode_notify(struct env *e, const uint64_t *a, struct env **to, uint64_t *gen)
{
	if (a[1] == 0)
		return E_INVAL;
	return env_from_slot_gen(e, a[0], CAP_R_WRITE, to, gen);
}

static int64_t sys_notify(struct env *e, const uint64_t *a)
{
	struct env *to;
	uint64_t gen;
	int err = decode_notify(e, a, &to, &gen);
	if (err)
		return err;
	return env_notify(to, gen, a[1]);
}

static int64_t sys_notify_take(struct env *e, const uint64_t *a)
{
	/* Bits fit 63: the top one would read as an error. */
	return (int64_t)(__atomic_exchange_n(&e->notify_bits, 0, __ATOMIC_ACQ_REL) & INT64_MAX);
}

const syscall_fn syscall_table[SYS_COUNT] = {
	[SYS_CONSOLE_WRITE] = sys_console_write,
	[SYS_CORE_ID] = sys_core_id,
	[SYS_TIME] = sys_time,
	[SYS_YIELD] = sys_yield,
	[SYS_EXIT] = sys_exit,
	[SYS_FRAME_ALLOC] = sys_frame_alloc,
	[SYS_FRAME_FREE] = sys_frame_free,
	[SYS_MAP] = sys_map,
	[SYS_UNMAP] = sys_unmap,
	[SYS_READ_AD] = sys_read_ad,
	[SYS_CAP_MINT] = sys_cap_mint,
	[SYS_CAP_GRANT] = sys_cap_grant,
	[SYS_CAP_REVOKE] = sys_cap_revoke,
	[SYS_CAP_DELETE] = sys_cap_delete,
	[SYS_CAP_INSPECT] = sys_cap_inspect,
	[SYS_ENV_CREATE] = sys_env_create,
	[SYS_ENV_START] = sys_env_start,
	[SYS_ENV_DESTROY] = sys_env_destroy,
	[SYS_ENV_STATUS] = sys_env_status,
	[SYS_DEBUG_CHECK] = sys_debug_check,
	[SYS_FRAME_COUNT] = sys_frame_count,
	[SYS_UPCALL_SET] = sys_upcall_set,
	[SYS_SLOT_ALLOC] = sys_slot_alloc,
	[SYS_SLOT_FREE] = sys_slot_free,
	[SYS_YIELD_TO] = sys_yield_to,
	[SYS_ENV_CPU] = sys_env_cpu,
	[SYS_EP_CREATE] = sys_ep_create,
	[SYS_PCT_CALL] = sys_pct_call,
	[SYS_PCT_REPLY] = sys_pct_reply,
	[SYS_REVOKE_ASK] = sys_revoke_ask,
	[SYS_REPOSS_READ] = sys_reposs_read,
	[SYS_GUARANTEE] = sys_guarantee,
	[SYS_NOTIFY] = sys_notify,
	[SYS_NOTIFY_TAKE] = sys_notify_take,
	[SYS_DISK_INFO] = sys_disk_info,
	[SYS_BLOCK_ALLOC] = sys_block_alloc,
	[SYS_BLOCK_FREE] = sys_block_free,
	[SYS_BLOCK_IO] = sys_block_io,
	[SYS_BLOCK_WAIT] = sys_block_wait,
	[SYS_BPF_LOAD] = sys_bpf_load,
};

int64_t syscall_invoke(struct env *e, uint64_t nr, const uint64_t a[6])
{
	if (nr >= SYS_COUNT || !syscall_table[nr])
		return E_NOTSUP;
	return syscall_table[nr](e, a);
}

/*
 * The calls that may leave through another context: yield, exit, a PCT
 * switch, a restart (FRAME_ALLOC with FRAME_WAIT, BLOCK_WAIT, ENV_DESTROY
 * waiting for its steps). They read
 * and save the caller's whole context (arch_user_regs), so the entry builds
 * it for them. The entry's fast path for the others saves only what C may
 * clobber and the arguments, and leaves arch_user_regs() NULL. FRAME_ALLOC
 * leaves only with FRAME_WAIT: without it, the entry (user.S) takes the
 * fast path for it too.
 */
#define SYS_BIT(nr) (1ULL << (nr))
#define SYS_LEAVING                                                                                \
	(SYS_BIT(SYS_YIELD) | SYS_BIT(SYS_EXIT) | SYS_BIT(SYS_FRAME_ALLOC) |                       \
	 SYS_BIT(SYS_YIELD_TO) | SYS_BIT(SYS_PCT_CALL) | SYS_BIT(SYS_PCT_REPLY) |                  \
	 SYS_BIT(SYS_BLOCK_WAIT) | SYS_BIT(SYS_ENV_DESTROY))
_Static_assert(SYS_COUNT <= 64, "syscall_fast_set is one word");
const uint64_t syscall_fast_set = (SYS_BIT(SYS_COUNT) - 1) & ~SYS_LEAVING;

int64_t syscall_dispatch(struct arch_uctx *r)
{
	/* The arguments where the entry saved them: a handler reads them before it changes r. */
	int64_t ret =
	    syscall_invoke(this_cpu()->current, arch_uctx_syscall_nr(r), arch_uctx_args(r));
	/* The slice may have ended while we were in the kernel. */
	arch_uctx_set_ret(r, (uint64_t)ret);
	/* sched_preempt_point's own test, here first: the usual answer is "go on" without a call. */
	if (this_cpu()->preempt || xcall_pending())
		sched_preempt_point(r);
	return ret;
}
