/*
 * Downloaded code, the kernel's side (exo/bpf_hooks.h): SYS_BPF_LOAD, the
 * OBJ_BPF object, and the three hooks. The verifier and the interpreter
 * (core/bpf.c) know nothing of environments: each hook is described to
 * them by a struct bpf_hook_desc, here, with its context, region and
 * helpers.
 *
 * Programs live in a fixed table (progs): an entry is FREE, RESERVED by a
 * load in progress, or LIVE; its generation moves on when it is freed, so
 * a capability to a freed entry is stale. attached[env][hook] points at
 * the one program run at that hook for that environment; it is set last by
 * a load (the entry complete) and cleared first by a detach, each with one
 * atomic step, so a run on the home core (possibly from an interrupt, for
 * the message hook) sees either a whole program or none.
 */
#include <arch/cpu.h>
#include <arch/phys.h>
#include <exo/abi.h>
#include <exo/bpf.h>
#include <exo/bpf_hooks.h>
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/kprintf.h>
#include <exo/obj.h>
#include <exo/pot.h>
#include <exo/revoke.h>
#include <exo/spinlock.h>
#include <exo/string.h>
#include <exo/uaccess.h>
#include <percpu.h>

enum prog_state { PROG_FREE = 0, PROG_RESERVED = 1, PROG_LIVE = 2 };

struct bpf_prog {
	uint32_t state; /* atomic: enum prog_state */
	uint64_t gen;	/* atomic: bumped when freed */
	uint32_t env;	/* the loader, at env_gen */
	uint64_t env_gen;
	unsigned hook;
	const struct bpf_hook_desc *desc;
	bool has_region;
	uint64_t frame, frame_gen; /* the data region: a frame env owns, at frame_gen */
	struct env *target;	   /* message hook: whom its helper notifies, at target_gen */
	uint64_t target_gen;
	uint64_t answered; /* revoke hook: the deadline of the request it last ran for */
	uint32_t n;
	struct bpf_insn insns[BPF_MAX_INSNS];
};

static struct bpf_prog progs[BPF_PROGS_MAX];
static struct bpf_prog *attached[MAX_ENVS][BPF_HOOK_COUNT]; /* atomic */
static bool running[MAX_CPUS]; /* atomic: a run is under way on that core (no nesting) */
static bool said_no[MAX_CPUS]; /* atomic: a wakeup predicate said no since the last look */
static uint64_t stat_runs[BPF_HOOK_COUNT], stat_noes[BPF_HOOK_COUNT], stat_over[BPF_HOOK_COUNT];

/* One load at a time: the image is checked in one kernel copy, never re-read from user memory. */
static struct spinlock load_lock = SPINLOCK_INIT;
static uint8_t image[BPF_IMAGE_MAX] GUARDED_BY(load_lock) __attribute__((aligned(8)));

struct bpf_run_env {
	struct env *e;
	struct bpf_prog *p;
};

/* ---- Helpers ---- */

/*
 * Revoke hook, helper 1: give frame back, as SYS_FRAME_FREE on its root
 * would, and only a frame the request may take (revocable, above the
 * guarantee, the one named if one is). Never the program's own region.
 */
static uint64_t h_revoke_give(struct bpf_run_env *re, uint64_t frame, uint64_t a2, uint64_t a3,
			      uint64_t a4, uint64_t a5)
{
	struct env *e = re->e;
	if (frame >= pot_nframes())
		return (uint64_t)(int64_t)E_RANGE;
	if (e->revoke_count == 0 || (e->revoke_frame != FRAME_ANY && e->revoke_frame != frame) ||
	    (re->p->has_region && frame == re->p->frame))
		return (uint64_t)(int64_t)E_PERM; /* not asked for, or the region it runs over */
	struct pot_view v = pot_get(frame);
	if (v.state != POT_OWNED || v.owner != e->id)
		return (uint64_t)(int64_t)E_PERM;
	int slot;
	unsigned n = cap_revocable_find(e, frame, &slot);
	if (slot < 0 || n <= __atomic_load_n(&e->guarantee, __ATOMIC_RELAXED))
		return (uint64_t)(int64_t)E_PERM; /* its program, stack, tables; or guaranteed */
	int err = cap_delete(e, (uint32_t)slot);  /* E_BUSY while derived caps exist */
	if (err)
		return (uint64_t)(int64_t)err;
	revoke_note_free(e, frame);
	return 0;
}

/* Message hook, helper 1: notify the target named at load (as SYS_NOTIFY would). */
static uint64_t h_msg_notify(struct bpf_run_env *re, uint64_t bits, uint64_t a2, uint64_t a3,
			     uint64_t a4, uint64_t a5)
{
	if (bits == 0 || bits >> 63)
		return (uint64_t)(int64_t)E_INVAL;
	return (uint64_t)(int64_t)env_notify(re->p->target, re->p->target_gen, bits);
}

/* ---- The hooks, as the verifier sees them: [hook][with a region] ---- */

#define DESC(nm, ctxsz, bud, wr, ...)                                                              \
	{ .name = nm, .ctx_size = ctxsz, .budget = bud, .helpers = { __VA_ARGS__ } },              \
	{                                                                                          \
		.name = nm, .ctx_size = ctxsz, .budget = bud, .region = true,                      \
		.region_size = PAGE_SIZE, .region_writable = wr, .helpers = {                      \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}

static const struct bpf_hook_desc descs[BPF_HOOK_COUNT][2] = {
	[BPF_HOOK_WAKEUP] = { DESC("wakeup", sizeof(struct bpf_wakeup_ctx), BPF_BUDGET_WAKEUP,
				   false, [0] = { 0 }) },
	[BPF_HOOK_REVOKE] = { DESC("revoke", sizeof(struct bpf_revoke_ctx), BPF_BUDGET_REVOKE,
				   false,
				   [BPF_HELPER_REVOKE_GIVE] = { .name = "revoke_give",
								.args = { BPF_ARG_SCALAR },
								.fn = h_revoke_give }) },
	[BPF_HOOK_MESSAGE] = { DESC("message", sizeof(struct bpf_msg_ctx), BPF_BUDGET_MESSAGE, true,
				    [BPF_HELPER_MSG_NOTIFY] = { .name = "msg_notify",
								.args = { BPF_ARG_SCALAR },
								.fn = h_msg_notify }) },
};

/* ---- Running ---- */

static void *frame_ptr(uint64_t frame)
{
	return arch_phys_to_virt(pa_make(frame * PAGE_SIZE));
}

/* Clear e's attachment at hook if it is still p (a load may have replaced it). */
static void detach(uint32_t id, unsigned hook, struct bpf_prog *p)
{
	__atomic_compare_exchange_n(&attached[id][hook], &p, NULL, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
}

/* Is p's region still its environment's frame at the generation it had at load? */
static bool region_live(const struct bpf_prog *p)
{
	if (!p->has_region)
		return true;
	struct pot_view v = pot_get(p->frame);
	return v.state == POT_OWNED && v.owner == p->env && v.gen == p->frame_gen;
}

/*
 * The program e runs at hook, on e's home core while e is runnable: NULL if
 * none. One whose region went is detached here, before it could run.
 */
static struct bpf_prog *prog_for(struct env *e, unsigned hook)
{
	struct bpf_prog *p = __atomic_load_n(&attached[e->id][hook], __ATOMIC_ACQUIRE);
	if (!p || p->env_gen != __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE))
		return NULL;
	if (!region_live(p)) {
		detach(e->id, hook, p);
		return NULL;
	}
	return p;
}

/* Run p over ctx: E_OK with *r0, E_TIMEOUT (overran its budget), or E_BUSY (a run is under way). */
static int run(struct env *e, struct bpf_prog *p, void *ctx, uint64_t *r0)
{
	unsigned me = cpu_id();
	if (__atomic_exchange_n(&running[me], true, __ATOMIC_ACQ_REL))
		return E_BUSY; /* an interrupt came during a run: no nesting */
	struct bpf_run_env re = { .e = e, .p = p };
	int err = bpf_run(p->insns, p->n, p->desc, ctx, p->has_region ? frame_ptr(p->frame) : NULL,
			  &re, r0);
	__atomic_store_n(&running[me], false, __ATOMIC_RELEASE);
	__atomic_fetch_add(&stat_runs[p->hook], 1, __ATOMIC_RELAXED);
	if (err == E_TIMEOUT)
		__atomic_fetch_add(&stat_over[p->hook], 1, __ATOMIC_RELAXED);
	return err;
}

bool bpf_hook_wakeup(struct env *e, uint64_t slot)
{
	/* Doomed (its root capability went): the run loop must pick it to destroy it. */
	if (__atomic_load_n(&e->doomed, __ATOMIC_ACQUIRE))
		return true;
	struct bpf_prog *p = prog_for(e, BPF_HOOK_WAKEUP);
	if (!p)
		return true;
	struct bpf_wakeup_ctx ctx = { .core = cpu_id(),
				      .slot = slot,
				      .now = arch_cycles(),
				      .notify_bits =
					  __atomic_load_n(&e->notify_bits, __ATOMIC_ACQUIRE) };
	uint64_t r0 = 0;
	int err = run(e, p, &ctx, &r0);
	if (err == E_BUSY)
		return true;
	if (err == E_OK && r0)
		return true;
	__atomic_fetch_add(&stat_noes[BPF_HOOK_WAKEUP], 1, __ATOMIC_RELAXED);
	__atomic_store_n(&said_no[cpu_id()], true, __ATOMIC_RELEASE);
	return false; /* no, or past its budget */
}

bool bpf_hook_wakeup_recheck(void)
{
	return __atomic_exchange_n(&said_no[cpu_id()], false, __ATOMIC_ACQ_REL);
}

bool bpf_hook_revoke(struct env *e)
{
	if (__atomic_load_n(&e->revoke_state, __ATOMIC_ACQUIRE) != REV_ASKED)
		return false;
	struct bpf_prog *p = prog_for(e, BPF_HOOK_REVOKE);
	if (!p || p->answered == e->revoke_deadline)
		return false; /* none, or it had its turn at this request */
	p->answered = e->revoke_deadline;
	struct bpf_revoke_ctx ctx = { .frame = e->revoke_frame,
				      .count = e->revoke_count,
				      .deadline = e->revoke_deadline,
				      .now = arch_cycles() };
	uint64_t r0;
	if (run(e, p, &ctx, &r0) != E_OK)
		__atomic_fetch_add(&stat_noes[BPF_HOOK_REVOKE], 1, __ATOMIC_RELAXED);
	/* What it gave stays given (each was a whole free); what it did not, the upcall asks for. */
	return __atomic_load_n(&e->revoke_state, __ATOMIC_ACQUIRE) == REV_NONE;
}

bool bpf_hook_message(uint32_t id, uint64_t gen, uint64_t bits)
{
	struct env *e = env_lookup(id);
	if (!e || e->home != cpu_id() || __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen ||
	    __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != ENV_RUNNABLE)
		return false;
	struct bpf_prog *p = prog_for(e, BPF_HOOK_MESSAGE);
	if (!p)
		return false;
	struct bpf_msg_ctx ctx = { .bits = bits, .now = arch_cycles() };
	uint64_t r0 = 0;
	int err = run(e, p, &ctx, &r0);
	if (err == E_OK && r0)
		return true;
	__atomic_fetch_add(&stat_noes[BPF_HOOK_MESSAGE], 1, __ATOMIC_RELAXED);
	return false;
}

void bpf_hook_stats(struct bpf_hook_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned h = 0; h < BPF_HOOK_COUNT; h++) {
		out->runs[h] = __atomic_load_n(&stat_runs[h], __ATOMIC_RELAXED);
		out->noes[h] = __atomic_load_n(&stat_noes[h], __ATOMIC_RELAXED);
		out->overruns[h] = __atomic_load_n(&stat_over[h], __ATOMIC_RELAXED);
	}
}

/* ---- SYS_BPF_LOAD: decode, then perform (core/syscall.c) ---- */

struct bpf_load_inv {
	unsigned hook;
	bool has_region;
	uint64_t frame, frame_gen;
	struct env *target;
	uint64_t target_gen;
	const struct bpf_insn *insns; /* in image[] */
	uint32_t n;
	struct bpf_verdict v; /* written out when the error is the verifier's */
};

/* Is the attachment of e at hook taken by a program that still runs? */
static bool hook_taken(struct env *e, unsigned hook)
{
	struct bpf_prog *p = __atomic_load_n(&attached[e->id][hook], __ATOMIC_ACQUIRE);
	return p && region_live(p);
}

/*
 * Checks, in order: the verdict address (E_FAULT), the image length
 * (E_RANGE), the hook (E_INVAL, rule BPF_R_HOOK), the region (its cap:
 * E_BADSLOT, E_TYPE, E_PERM without READ — and WRITE for a hook that
 * writes it —, E_STALE; E_PERM if the caller does not own the frame), the
 * target (message hook: an env cap with WRITE; other hooks: 0, else
 * E_INVAL), the hook free (E_BUSY), the image copied (E_FAULT), then the
 * ELF and the verifier (E_INVAL with the verdict). Changes nothing.
 */
static int decode_bpf_load(struct env *e, const uint64_t *a, struct bpf_load_inv *inv)
    REQUIRES(load_lock)
{
	uint64_t hook = a[0], va = a[1], len = a[2], region = a[3], out = a[4], target = a[5];
	int err;
	if (out && (err = uaccess_check(e, out, sizeof(struct bpf_load_verdict), true)))
		return err;
	if (len == 0 || len > BPF_IMAGE_MAX)
		return E_RANGE;
	if (hook == 0 || hook >= BPF_HOOK_COUNT) {
		inv->v = (struct bpf_verdict){ .rule = BPF_R_HOOK, .insn = 0 };
		return E_INVAL;
	}
	inv->hook = (unsigned)hook;
	const struct bpf_hook_desc *d = &descs[hook][1];
	inv->has_region = region != BPF_NO_REGION;
	if (inv->has_region) {
		struct cap c;
		unsigned rights = CAP_R_READ | (d->region_writable ? CAP_R_WRITE : 0);
		if ((err = cap_get(e, (uint32_t)MIN(region, CAP_SLOTS), OBJ_FRAME, rights, &c)))
			return err;
		struct pot_view v = pot_get(c.obj);
		if (v.state != POT_OWNED || v.owner != e->id || v.gen != c.gen)
			return E_PERM; /* only a frame the caller owns: its revocation detaches */
		inv->frame = c.obj;
		inv->frame_gen = c.gen;
	}
	if (hook == BPF_HOOK_MESSAGE) {
		struct cap c;
		if ((err = cap_get(e, (uint32_t)MIN(target, CAP_SLOTS), OBJ_ENV, CAP_R_WRITE, &c)))
			return err;
		if (!(inv->target = env_lookup((uint32_t)c.obj)))
			return E_STALE;
		inv->target_gen = c.gen;
	} else if (target != 0) {
		return E_INVAL;
	}
	if (hook_taken(e, inv->hook))
		return E_BUSY; /* one program per hook: delete the other's capability first */
	if ((err = copy_from_user(e, image, va, len)))
		return err;
	if ((err = bpf_elf_find(image, len, NULL, &inv->insns, &inv->n, &inv->v)))
		return err == E_INVAL ? E_INVAL : err;
	return bpf_verify(inv->insns, inv->n, &descs[hook][inv->has_region], &inv->v);
}

/*
 * Claims a slot of the table, then a free program entry (E_NOMEM if either
 * is full), fills the entry, attaches it (E_BUSY if another load won the
 * hook meanwhile: the claims go back untouched), then fills the slot.
 */
static int64_t perform_bpf_load(struct env *e, const struct bpf_load_inv *inv) REQUIRES(load_lock)
{
	uint32_t slot;
	int err = cap_reserve(e, &slot);
	if (err)
		return err;
	struct bpf_prog *p = NULL;
	for (unsigned i = 0; i < BPF_PROGS_MAX && !p; i++) {
		uint32_t free = PROG_FREE;
		if (__atomic_compare_exchange_n(&progs[i].state, &free, PROG_RESERVED, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			p = &progs[i];
	}
	if (!p) {
		cap_unreserve(e, slot);
		return E_NOMEM;
	}
	p->env = e->id;
	p->env_gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE);
	p->hook = inv->hook;
	p->desc = &descs[inv->hook][inv->has_region];
	p->has_region = inv->has_region;
	p->frame = inv->frame;
	p->frame_gen = inv->frame_gen;
	p->target = inv->target;
	p->target_gen = inv->target_gen;
	p->answered = 0;
	p->n = inv->n;
	memcpy(p->insns, inv->insns, inv->n * sizeof(struct bpf_insn));
	__atomic_store_n(&p->state, PROG_LIVE, __ATOMIC_RELEASE);
	/* Replace a program whose region went (it runs no more); never a live one. */
	struct bpf_prog *old = __atomic_load_n(&attached[e->id][inv->hook], __ATOMIC_ACQUIRE);
	if ((old && region_live(old)) ||
	    !__atomic_compare_exchange_n(&attached[e->id][inv->hook], &old, p, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&p->gen, 1, __ATOMIC_ACQ_REL);
		__atomic_store_n(&p->state, PROG_FREE, __ATOMIC_RELEASE);
		cap_unreserve(e, slot);
		return E_BUSY;
	}
	cap_fill_root(e, slot, OBJ_BPF, (uint64_t)(p - progs),
		      __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE), CAP_R_READ | CAP_R_CTRL, 0);
	return slot;
}

int64_t sys_bpf_load(struct env *e, const uint64_t *a)
{
	struct bpf_load_inv inv;
	memset(&inv, 0, sizeof(inv));
	spin_lock(&load_lock);
	int64_t ret = decode_bpf_load(e, a, &inv);
	if (ret == E_OK)
		ret = perform_bpf_load(e, &inv);
	spin_unlock(&load_lock);
	/* The verdict: accepted, or the rule and instruction that refused it. */
	if ((ret >= 0 || inv.v.rule != BPF_OK) && a[4]) {
		struct bpf_load_verdict out = { .rule = inv.v.rule, .insn = inv.v.insn };
		if (copy_to_user(e, a[4], &out, sizeof(out)) != E_OK && ret >= 0)
			kprintf("env %u: bpf load verdict not written (unmapped meanwhile)\n",
				e->id);
	}
	return ret;
}

/* ---- The object-type table's row (exo/obj.h) ---- */

static uint64_t bpf_gen(uint64_t obj)
{
	return obj < BPF_PROGS_MAX ? __atomic_load_n(&progs[obj].gen, __ATOMIC_ACQUIRE) : ~0ULL;
}

/* The root went (delete, or its environment's destruction): detach, then free the entry. */
static void bpf_root_deleted(struct env *owner, uint64_t obj, uint64_t gen)
{
	if (obj >= BPF_PROGS_MAX)
		return;
	struct bpf_prog *p = &progs[obj];
	if (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) != gen ||
	    __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != PROG_LIVE)
		return;
	detach(p->env, p->hook, p); /* first: no run can start from here on */
	__atomic_fetch_add(&p->gen, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&p->state, PROG_FREE, __ATOMIC_RELEASE);
}

static unsigned bpf_check(struct env *holder, uint32_t s, const struct cap *c)
{
	const struct bpf_prog *p = &progs[c->obj];
	if (c->obj < BPF_PROGS_MAX && bpf_gen(c->obj) == c->gen &&
	    (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != PROG_LIVE || p->env != holder->id)) {
		kprintf(
		    "check: env %u slot %u: live bpf cap to a program not live or not its own\n",
		    holder->id, s);
		return 1;
	}
	return 0;
}

const struct obj_ops bpf_obj_ops = {
	.name = "bpf",
	.gen = bpf_gen,
	.root_deleted = bpf_root_deleted,
	.check = bpf_check,
};

unsigned bpf_hooks_check(void)
{
	unsigned bad = 0;
	for (uint32_t id = 0; id < MAX_ENVS; id++)
		for (unsigned h = 1; h < BPF_HOOK_COUNT; h++) {
			struct bpf_prog *p = __atomic_load_n(&attached[id][h], __ATOMIC_ACQUIRE);
			if (p && (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != PROG_LIVE ||
				  p->env != id || p->hook != h)) {
				kprintf("check: env %u hook %u: attached program is not its own\n",
					id, h);
				bad++;
			}
		}
	return bad;
}

uint64_t bpf_hooks_digest(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 0x100000001b3ULL)
	for (unsigned i = 0; i < BPF_PROGS_MAX; i++) {
		MIX(__atomic_load_n(&progs[i].state, __ATOMIC_ACQUIRE));
		MIX(__atomic_load_n(&progs[i].gen, __ATOMIC_ACQUIRE));
	}
	for (uint32_t id = 0; id < MAX_ENVS; id++)
		for (unsigned k = 1; k < BPF_HOOK_COUNT; k++) {
			struct bpf_prog *p = __atomic_load_n(&attached[id][k], __ATOMIC_ACQUIRE);
			MIX(p ? (uint64_t)(p - progs) + 1 : 0);
		}
#undef MIX
	return h;
}
