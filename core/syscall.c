/*
 * The syscall table. Each handler first decodes — checks every argument,
 * changing nothing and returning the first error — and then performs. The
 * capability operations it performs re-check under their tree lock, so a
 * race with another core is an error too, never a half-done change.
 * docs/syscalls.md is the user-facing list of calls, rights and errors.
 */
#include <arch/cpu.h>
#include <exo/abi.h>
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
#include <percpu.h>

#define CONSOLE_MAX 4096 /* bytes per SYS_CONSOLE_WRITE */
#define READ_AD_MAX 512	 /* pages per SYS_READ_AD */

typedef int64_t (*sys_fn)(struct env *e, const uint64_t *a);

static int64_t sys_console_write(struct env *e, const uint64_t *a)
{
	uint64_t va = a[0], len = a[1];
	if (len > CONSOLE_MAX)
		return E_RANGE;
	int err = uaccess_check(e, va, len, false);
	if (err)
		return err;
	/*
	 * Decode copies it all (a page unmapped meanwhile by another core is
	 * E_FAULT with nothing printed); perform prints, and cannot fail. Every
	 * line a program writes starts "env N: ", so it cannot pass for a
	 * kernel line (test results, figures, PANIC) on the host's side.
	 */
	static char bufs[MAX_CPUS][CONSOLE_MAX + 1];
	char *buf = bufs[cpu_id()];
	if ((err = copy_from_user(e, buf, va, len)))
		return err;
	buf[len] = '\0';
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
	return (int64_t)len;
}

static int64_t sys_core_id(struct env *e, const uint64_t *a) { return cpu_id(); }

static int64_t sys_time(struct env *e, const uint64_t *a)
{
	struct sys_time t = { .cycles = arch_cycles(), .cycles_hz = arch_cycles_per_sec() };
	return copy_to_user(e, a[0], &t, sizeof(t));
}

static int64_t sys_yield(struct env *e, const uint64_t *a)
{
	struct arch_uctx *ctx = pct_ctx(e);
	*ctx = *arch_user_regs();
	arch_uctx_set_ret(ctx, 0);
	arch_user_exit();
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

static int64_t sys_frame_alloc(struct env *e, const uint64_t *a)
{
	uint64_t n = a[0], flags = a[1], frame, gen;
	if (n != FRAME_ANY && (PLANTED(PLANT_FRAME_BOUNDS) ? n > pot_nframes() : n >= pot_nframes()))
		return E_RANGE;
	if (flags & ~(uint64_t)FRAME_WAIT)
		return E_INVAL;
	uint32_t slot;
	int err = cap_reserve(e, &slot); /* first: a full table must not cost a frame */
	if (err)
		return err;
	err = n == FRAME_ANY ? frame_alloc_any(e->id, false, &frame, &gen)
			     : frame_alloc_at(frame = n, e->id, false, &gen);
	if (err == E_NOMEM && n == FRAME_ANY && pressure_revoke(e)) {
		cap_unreserve(e, slot);
		if (!(flags & FRAME_WAIT))
			return E_AGAIN;
		/*
		 * Wait: yield, and run this same syscall again when resumed
		 * (its number and arguments are still in the saved context).
		 * Nothing has changed in the meantime.
		 */
		struct arch_uctx *ctx = pct_ctx(e);
		*ctx = *arch_user_regs();
		arch_uctx_restart_syscall(ctx);
		arch_user_exit();
	}
	if (err) {
		cap_unreserve(e, slot);
		return err;
	}
	__atomic_fetch_add(&e->frames_owned, 1, __ATOMIC_RELAXED);
	cap_fill_root(e, slot, OBJ_FRAME, frame, gen, CAP_R_ALL, CAP_F_REVOCABLE);
	return slot;
}

static int64_t sys_frame_free(struct env *e, const uint64_t *a)
{
	struct cap c;
	int err = cap_get(e, (uint32_t)MIN(a[0], CAP_SLOTS), OBJ_FRAME, CAP_R_CTRL, &c);
	if (err)
		return err;
	/* Only the owner's root cap frees; a derived or granted cap cannot. */
	if (c.parent.env != CAP_NO_SLOT || pot_get(c.obj).owner != e->id)
		return E_PERM;
	if ((err = cap_delete(e, (uint32_t)a[0]))) /* E_BUSY while derived caps exist */
		return err;
	revoke_note_free(e, c.obj); /* it may answer a revocation request */
	return E_OK;
}

static int64_t sys_map(struct env *e, const uint64_t *a)
{
	uint64_t va = a[1], prot = a[2];
	if (!IS_ALIGNED(va, PAGE_SIZE))
		return E_ALIGN;
	if (va < USER_BASE || va >= USER_END)
		return E_FAULT;
	if (prot == 0 || (prot & ~(uint64_t)(PROT_R | PROT_W | PROT_X)))
		return E_INVAL;
	return cap_bind(e, (uint32_t)MIN(a[0], CAP_SLOTS), va, (unsigned)prot);
}

static int64_t sys_unmap(struct env *e, const uint64_t *a)
{
	return cap_unbind(e, (uint32_t)MIN(a[0], CAP_SLOTS));
}

static int64_t sys_read_ad(struct env *e, const uint64_t *a)
{
	uint64_t va = a[0], n = a[1], out = a[2];
	if (!IS_ALIGNED(va, PAGE_SIZE))
		return E_ALIGN;
	if (n == 0 || n > READ_AD_MAX)
		return E_RANGE;
	if (va < USER_BASE || va > USER_END || n > (USER_END - va) / PAGE_SIZE)
		return E_FAULT;
	int err = uaccess_check(e, out, n, true);
	if (err)
		return err;
	uint8_t bits[READ_AD_MAX];
	/* One hold of the lock: out cannot be unmapped between clearing the bits and writing them. */
	spin_lock(&e->lock);
	if ((err = uaccess_check_locked(e, out, n))) {
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

static int64_t sys_cap_mint(struct env *e, const uint64_t *a)
{
	if (a[1] & ~(uint64_t)CAP_R_ALL)
		return E_INVAL;
	if (a[2] > UINT32_MAX)
		return E_RANGE;
	uint32_t slot;
	int err = cap_mint(e, (uint32_t)MIN(a[0], CAP_SLOTS), (unsigned)a[1], (uint32_t)a[2], &slot);
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

static int64_t sys_cap_grant(struct env *e, const uint64_t *a)
{
	if (a[2] != GRANT_COPY && a[2] != GRANT_MOVE)
		return E_INVAL;
	struct env *to;
	uint64_t gen;
	int err = env_from_slot_gen(e, a[1], CAP_R_CTRL, &to, &gen);
	if (err)
		return err;
	/* The target's home core writes its table. */
	const uint64_t x[5] = { e->id, MIN(a[0], CAP_SLOTS), to->id, gen, a[2] == GRANT_MOVE };
	uint64_t out[2];
	err = (int)xcall(to->home, XC_CAP_GRANT, x, out);
	return err ? (int64_t)err : (int64_t)out[0];
}

static int64_t sys_cap_revoke(struct env *e, const uint64_t *a)
{
	return cap_revoke(e, (uint32_t)MIN(a[0], CAP_SLOTS));
}

static int64_t sys_cap_delete(struct env *e, const uint64_t *a)
{
	int err = cap_delete(e, (uint32_t)MIN(a[0], CAP_SLOTS));
	env_reap(); /* an environment whose root capability this was */
	return err;
}

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

static int64_t sys_env_create(struct env *e, const uint64_t *a)
{
	if (a[0] >= percpu_ncpus)
		return E_INVAL;
	uint32_t slot;
	int err = cap_reserve(e, &slot);
	if (err)
		return err;
	/* Made by the kernel instance of its home core; the capability comes back here. */
	const uint64_t none[5] = { 0 };
	uint64_t out[2];
	if ((err = (int)xcall((unsigned)a[0], XC_ENV_CREATE, none, out))) {
		cap_unreserve(e, slot);
		return err;
	}
	cap_fill_root(e, slot, OBJ_ENV, out[0], out[1], CAP_R_ALL, 0);
	return slot;
}

static int64_t sys_env_start(struct env *e, const uint64_t *a)
{
	if (a[1] >= user_image_count)
		return E_INVAL;
	if (a[4] > ENV_ARGS_MAX)
		return E_RANGE;
	struct env *child;
	uint64_t gen;
	int err = env_from_slot_gen(e, a[0], CAP_R_CTRL, &child, &gen);
	if (err)
		return err;
	/* The words are copied here: the caller's memory may change once we wait. */
	static struct env_args args[MAX_CPUS];
	struct env_args *mine = &args[cpu_id()];
	mine->len = a[4];
	if (a[4] && (err = copy_from_user(e, mine->bytes, a[3], a[4])))
		return err;
	if (a[4] && mine->bytes[a[4] - 1] != '\0')
		return E_INVAL; /* the last word must end */
	/* Loaded and queued by its home core's kernel instance. */
	const uint64_t x[5] = { child->id, gen, a[1], a[2], (uint64_t)(uintptr_t)mine };
	uint64_t out[2];
	return xcall(child->home, XC_ENV_START, x, out);
}

static int64_t sys_env_destroy(struct env *e, const uint64_t *a)
{
	struct env *child;
	uint64_t gen;
	int err = env_from_slot_gen(e, a[0], CAP_R_CTRL, &child, &gen);
	if (err)
		return err;
	if (child == e)
		return E_BUSY; /* an environment ends itself with SYS_EXIT */
	const uint64_t x[5] = { child->id, gen };
	uint64_t out[2];
	return xcall(child->home, XC_ENV_DESTROY, x, out);
}

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

static int64_t sys_upcall_set(struct env *e, const uint64_t *a)
{
	uint64_t kind = a[0], entry = a[1], base = a[2], size = a[3];
	if (kind >= UPCALL_KINDS)
		return E_INVAL;
	const size_t frames[UPCALL_KINDS] = { sizeof(struct upcall_fault), sizeof(struct upcall_sched),
					       sizeof(struct upcall_revoke) };
	size_t frame = frames[kind];
	/* entry 0 unregisters; otherwise the entry and the whole stack lie in user space. */
	if (entry != 0) {
		if (entry < USER_BASE || entry >= USER_END || base < USER_BASE || base >= USER_END ||
		    size > USER_END - base)
			return E_FAULT;
		if (!IS_ALIGNED(base, 16) || !IS_ALIGNED(size, 16))
			return E_ALIGN;
		if (size < frame + 64)
			return E_RANGE;
	}
	uint64_t *slots[UPCALL_KINDS][3] = {
		[UPCALL_FAULT] = { &e->fault_entry, &e->fault_stack, &e->fault_stack_size },
		[UPCALL_SCHED] = { &e->sched_entry, &e->sched_stack, &e->sched_stack_size },
		[UPCALL_REVOKE] = { &e->revoke_entry, &e->revoke_stack, &e->revoke_stack_size },
	};
	*slots[kind][0] = entry;
	*slots[kind][1] = entry ? base : 0;
	*slots[kind][2] = entry ? size : 0;
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

static int64_t sys_slot_alloc(struct env *e, const uint64_t *a)
{
	uint64_t core = a[0], slot = a[1];
	if (core >= percpu_ncpus)
		return E_INVAL;
	if (slot != SLOT_ANY && slot >= slice_nslots)
		return E_RANGE;
	struct env *owner = e;
	uint64_t owner_gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE);
	int err = a[2] == ENV_SELF ? E_OK : env_from_slot_gen(e, a[2], CAP_R_CTRL, &owner, &owner_gen);
	if (err)
		return err;
	unsigned index;
	uint64_t gen;
	uint32_t cap;
	if ((err = cap_reserve(e, &cap)))
		return err;
	if ((err = slice_alloc((unsigned)core, slot, owner, owner_gen, &index, &gen))) {
		cap_unreserve(e, cap);
		return err;
	}
	cap_fill_root(e, cap, OBJ_SLOT, core * SLICE_MAX_SLOTS + index, gen, CAP_R_ALL, 0);
	return cap;
}

static int64_t sys_slot_free(struct env *e, const uint64_t *a)
{
	struct cap c;
	int err = cap_get(e, (uint32_t)MIN(a[0], CAP_SLOTS), OBJ_SLOT, CAP_R_CTRL, &c);
	if (err)
		return err;
	if (c.parent.env != CAP_NO_SLOT)
		return E_PERM; /* only the root frees */
	return cap_delete(e, (uint32_t)a[0]); /* E_BUSY while derived caps exist */
}

static int64_t sys_yield_to(struct env *e, const uint64_t *a)
{
	struct env *to;
	int err = env_from_slot(e, a[0], 0, &to);
	if (err)
		return err;
	if (to->home != e->home)
		return E_INVAL; /* only environments of this core share its slices */
	if (__atomic_load_n(&to->state, __ATOMIC_ACQUIRE) != ENV_RUNNABLE || to == e)
		return E_AGAIN;
	this_cpu()->donate = to;
	struct arch_uctx *ctx = pct_ctx(e);
	*ctx = *arch_user_regs();
	arch_uctx_set_ret(ctx, 0);
	arch_user_exit();
}

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

static int64_t sys_ep_create(struct env *e, const uint64_t *a)
{
	uint64_t entry = a[1], base = a[2], size = a[3];
	if (entry < USER_BASE || entry >= USER_END || base < USER_BASE || base >= USER_END ||
	    size > USER_END - base || size == 0)
		return E_FAULT;
	if (!IS_ALIGNED(base, 16) || !IS_ALIGNED(size, 16))
		return E_ALIGN;
	/* Calls run in owner: the caller itself, or an environment it controls. */
	struct env *owner = e;
	uint64_t owner_gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE);
	int err = a[0] == ENV_SELF ? E_OK : env_from_slot_gen(e, a[0], CAP_R_CTRL, &owner, &owner_gen);
	if (err)
		return err;
	uint32_t id, slot;
	uint64_t gen;
	if ((err = cap_reserve(e, &slot)))
		return err;
	if ((err = ep_create(owner, owner_gen, entry, base + size, &id, &gen))) {
		cap_unreserve(e, slot);
		return err;
	}
	cap_fill_root(e, slot, OBJ_ENDPOINT, id, gen, CAP_R_ALL, 0);
	return slot;
}

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

static int64_t sys_pct_reply(struct env *e, const uint64_t *a)
{
	struct arch_uctx *regs = arch_user_regs();
	int err = pct_reply(e, a, regs);
	if (err)
		return err;
	return (int64_t)arch_uctx_ret(regs); /* now the caller's: E_OK */
}

static int64_t sys_revoke_ask(struct env *e, const uint64_t *a)
{
	uint64_t frame = a[1], count = a[2];
	if (count == 0 || (frame != FRAME_ANY && count != 1))
		return E_INVAL;
	if (frame != FRAME_ANY && frame >= pot_nframes())
		return E_RANGE;
	struct env *owner;
	int err = env_from_slot(e, a[0], CAP_R_CTRL, &owner);
	if (err)
		return err;
	return revoke_ask(owner, frame, count);
}

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

static int64_t sys_guarantee(struct env *e, const uint64_t *a)
{
	struct env *who;
	int err = env_from_slot(e, a[0], CAP_R_CTRL, &who); /* not ENV_SELF: it is granted */
	if (err)
		return err;
	if (a[1] > pot_nframes())
		return E_RANGE;
	__atomic_store_n(&who->guarantee, a[1], __ATOMIC_RELEASE);
	return E_OK;
}

static int64_t sys_notify(struct env *e, const uint64_t *a)
{
	if (a[1] == 0)
		return E_INVAL;
	struct env *to;
	uint64_t gen;
	int err = env_from_slot_gen(e, a[0], CAP_R_WRITE, &to, &gen);
	if (err)
		return err;
	return env_notify(to, gen, a[1]);
}

static int64_t sys_notify_take(struct env *e, const uint64_t *a)
{
	/* Bits fit 63: the top one would read as an error. */
	return (int64_t)(__atomic_exchange_n(&e->notify_bits, 0, __ATOMIC_ACQ_REL) & INT64_MAX);
}

static const sys_fn sys_table[SYS_COUNT] = {
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
};

int64_t syscall_invoke(struct env *e, uint64_t nr, const uint64_t a[6])
{
	if (nr >= SYS_COUNT || !sys_table[nr])
		return E_NOTSUP;
	return sys_table[nr](e, a);
}

int64_t syscall_dispatch(struct arch_uctx *r)
{
	const uint64_t a[6] = { arch_uctx_arg(r, 0), arch_uctx_arg(r, 1), arch_uctx_arg(r, 2),
				arch_uctx_arg(r, 3), arch_uctx_arg(r, 4), arch_uctx_arg(r, 5) };
	int64_t ret = syscall_invoke(this_cpu()->current, arch_uctx_syscall_nr(r), a);
	/* The slice may have ended while we were in the kernel. */
	arch_uctx_set_ret(r, (uint64_t)ret);
	sched_preempt_point(r);
	return ret;
}
