/*
 * Environments: the table, creation, loading, destruction, and the address
 * space operations capability bindings use (see exo/env.h).
 */
#include <arch/context.h>
#include <arch/phys.h>
#include <exo/bpf_hooks.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/image.h>
#include <exo/kprintf.h>
#include <exo/obj.h>
#include <exo/panic.h>
#include <exo/pct.h>
#include <exo/pot.h>
#include <exo/plant.h>
#include <exo/slice.h>
#include <exo/string.h>
#include <exo/uaccess.h>
#include <chan.h>
#include <ipi.h>
#include <percpu.h>

/* The user stack: STACK_PAGES pages ending STACK_GAP below the end of user space. */
#define STACK_PAGES 4
#define STACK_GAP (16 * PAGE_SIZE)
#define STACK_TOP (USER_END - STACK_GAP)

static struct env env_table[MAX_ENVS];

/* Destroys in steps: tickets name them; how many environments are dying now. */
static uint64_t next_ticket = 1; /* atomic */
static uint64_t dying_count;	 /* atomic */
/* own, per core: the ticket of the destroy a step runs, for what env_reap begins meanwhile */
static uint64_t reap_ticket[MAX_CPUS];

static int destroy_begin(struct env *e, uint64_t gen, uint64_t ticket);
static void quota_set_limits(struct env *e, uint64_t limits, uint64_t old[QUOTA_KINDS]);
static void quota_restore_limits(struct env *e, const uint64_t old[QUOTA_KINDS]);
static void quota_release(struct env *e);

struct env *env_lookup(uint32_t id) { return id < MAX_ENVS ? &env_table[id] : NULL; }

bool env_alive(const struct env *e)
{
	uint32_t s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
	return s != ENV_FREE && s != ENV_DYING;
}

unsigned env_count(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < MAX_ENVS; i++)
		n += __atomic_load_n(&env_table[i].state, __ATOMIC_ACQUIRE) != ENV_FREE;
	return n;
}

int env_kframe_alloc(struct env *e, uint64_t *frame)
{
	uint64_t gen;
	int err = quota_charge(e, QUOTA_PT_FRAMES, 1);
	if (err)
		return err;
	if ((err = frame_alloc_any(e->id, true, frame, &gen))) {
		quota_uncharge(e, QUOTA_PT_FRAMES, 1);
		return err == E_NOMEM ? E_AGAIN : err;
	}
	__atomic_fetch_add(&e->frames_owned, 1, __ATOMIC_RELAXED);
	return E_OK;
}

bool env_kframe_free(struct env *e, uint64_t frame)
{
	/* Ours alone (kernel state, charged to e), so its generation cannot move. */
	if (frame_free(frame, e->id, pot_get(frame).gen) != E_OK)
		return false;
	__atomic_fetch_sub(&e->frames_owned, 1, __ATOMIC_RELAXED);
	quota_uncharge(e, QUOTA_PT_FRAMES, 1);
	return true;
}

bool env_kframe_is(const struct env *e, uint64_t frame)
{
	struct pot_view v = pot_get(frame);
	return v.state == POT_KERNEL && v.owner == e->id;
}

/* Page-table pages: charged to the environment, never mappable by it. */
static int pt_alloc(void *ctx, paddr_t *out)
{
	struct env *e = ctx;
	uint64_t frame;
	int err = env_kframe_alloc(e, &frame);
	/* No frame free: empty tables go (not e's: its lock is held), then once more. */
	if (err == E_AGAIN && env_pt_reclaim_any(PT_RECLAIM_MAX))
		err = env_kframe_alloc(e, &frame);
	if (err)
		return err == E_AGAIN ? E_NOMEM : err;
	*out = pa_make(frame * PAGE_SIZE);
	return E_OK;
}

static void pt_free(void *ctx, paddr_t page)
{
	struct env *e = ctx;
	uint64_t frame = pa_raw(page) / PAGE_SIZE;
	if (PLANTED(PLANT_DESTROY_DOUBLE_FREE)) {
		uint64_t gen = pot_get(frame).gen;
		(void)env_kframe_free(e, frame);
		(void)frame_free(frame, e->id, gen); /* refused by the table... */
		__atomic_fetch_sub(&e->frames_owned, 1, __ATOMIC_RELAXED); /* ...but uncharged again */
		return;
	}
	(void)env_kframe_free(e, frame);
}

static struct arch_pt_alloc pt_allocator(struct env *e)
{
	return (struct arch_pt_alloc){ .alloc = pt_alloc, .free = pt_free, .ctx = e };
}

int env_create(unsigned home, struct env **out)
{
	if (home >= percpu_ncpus || !__atomic_load_n(&percpu_of(home)->online, __ATOMIC_ACQUIRE))
		return E_INVAL;
	for (uint32_t id = 0; id < MAX_ENVS; id++) {
		struct env *e = &env_table[id];
		uint32_t expect = ENV_FREE;
		if (!__atomic_compare_exchange_n(&e->state, &expect, ENV_DYING, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		/* Claimed (as DYING, so nobody uses it half-built); set it up. */
		e->id = id;
		e->home = home;
		e->exit_status = 0;
		e->frames_owned = 0;
		e->mappings = 0;
		e->nreposs = 0;
		e->reposs_total = 0;
		e->reposs_untold = false;
		e->guarantee = 0;
		e->revoke_state = REV_NONE;
		e->revoke_entry = e->revoke_stack = e->revoke_stack_size = 0;
		e->run_next = NULL;
		e->fault_entry = e->fault_stack = e->fault_stack_size = 0;
		e->fault_pin = NULL;
		e->fault_pin_page = 0;
		e->fault_pin_busy = 0;
		e->sched_entry = e->sched_stack = e->sched_stack_size = 0;
		for (unsigned c = 0; c < MAX_CPUS; c++)
			e->cpu_cycles[c] = 0;
		e->slices = 0;
		e->serving = e->calling = NULL;
		e->doomed = false;
		e->notify_bits = 0;
		e->reap_queued = false;
		e->destroy_wait = 0;
		e->lock = (struct spinlock)SPINLOCK_INIT;
		cap_table_init(e);
		e->has_parent = false;
		for (unsigned k = 0; k < QUOTA_KINDS; k++) {
			e->quota_limit[k] = ~0ULL; /* none until a parent sets them at ENV_START */
			e->quota_used[k] = 0;
		}
		struct arch_pt_alloc a = pt_allocator(e);
		int err = arch_aspace_init(&e->as, &a);
		if (err) {
			__atomic_store_n(&e->state, ENV_FREE, __ATOMIC_RELEASE);
			return err;
		}
		e->canary = ENV_CANARY;
		__atomic_store_n(&e->state, ENV_CREATED, __ATOMIC_RELEASE);
		*out = e;
		return E_OK;
	}
	return E_NOMEM;
}

int env_map(struct env *e, uint64_t va, uint64_t frame, unsigned prot)
{
	if (!IS_ALIGNED(va, PAGE_SIZE))
		return E_ALIGN;
	if (va < USER_BASE || va >= USER_END)
		return E_FAULT;
	unsigned mmu = MMU_USER | MMU_READ | (prot & PROT_W ? MMU_WRITE : 0) |
		       (prot & PROT_X ? MMU_EXEC : 0);
	struct arch_pt_alloc a = pt_allocator(e);
	spin_lock(&e->lock);
	/*
	 * An occupied va is refused before the frame's entry is touched: a
	 * failed map must change nothing, and a mapped-on bit, once set, is
	 * cleared only by a release (so it cannot be taken back below).
	 */
	paddr_t old;
	unsigned old_prot;
	if (arch_query(&e->as, va_make(va), &old, &old_prot) == E_OK) {
		spin_unlock(&e->lock);
		return E_EXIST;
	}
	/* The shootdown set first: the TLB may hold the entry as soon as it exists. */
	pot_note_mapped(frame, e->home);
	int err = arch_map(&e->as, &a, va_make(va), pa_make(frame * PAGE_SIZE), mmu);
	if (!err)
		e->mappings++;
	spin_unlock(&e->lock);
	return err;
}

void env_fault_unpin(struct env *e)
{
	__atomic_store_n(&e->fault_pin, NULL, __ATOMIC_SEQ_CST);
	/* A write through the old pin may be under way on the home core: it is short. */
	while (__atomic_load_n(&e->fault_pin_busy, __ATOMIC_SEQ_CST))
		arch_cpu_relax();
}

void env_unmap(struct env *e, uint64_t va)
{
	paddr_t old;
	spin_lock(&e->lock);
	if (arch_unmap(&e->as, va_make(va), &old) == E_OK)
		e->mappings--;
	/* The pinned fault frame's page: no write goes there from now on. */
	if (__atomic_load_n(&e->fault_pin, __ATOMIC_RELAXED) && e->fault_pin_page == va)
		env_fault_unpin(e);
	spin_unlock(&e->lock);
	/* Only the home core ever runs e, so only its TLB can hold the entry. */
	tlb_flush_core(e->home);
}

unsigned env_pt_reclaim(struct env *e, unsigned max)
{
	paddr_t pages[PT_RECLAIM_MAX];
	/*
	 * The step flag, as a destroy step takes it: no step can free e's
	 * tables, or end it, until these are given back. Held by a step: e is
	 * dying, and its tables go anyway.
	 */
	uint32_t no = 0;
	if (!__atomic_compare_exchange_n(&e->dying_busy, &no, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return 0;
	unsigned n = 0;
	uint64_t owned = __atomic_load_n(&e->frames_owned, __ATOMIC_RELAXED);
	uint64_t g = __atomic_load_n(&e->guarantee, __ATOMIC_RELAXED);
	max = (unsigned)MIN(MIN(max, PT_RECLAIM_MAX), owned > g ? owned - g : 0);
	/* Alive: its address space is set up (and stays, the flag held). */
	/*
	 * Under the lock: no walk (uaccess, a map) runs through the tables
	 * meanwhile. Only if free: a map that needs a table comes here holding
	 * its own environment's lock (pt_alloc), so waiting could deadlock.
	 */
	if (max && env_alive(e) && spin_trylock(&e->lock)) {
		n = arch_aspace_trim(&e->as, pages, max);
		spin_unlock(&e->lock);
	}
	if (n) {
		/* The home core's walker may hold the unlinked tables: flushed before reuse. */
		tlb_flush_core(e->home);
		for (unsigned i = 0; i < n; i++)
			pt_free(e, pages[i]);
	}
	__atomic_store_n(&e->dying_busy, 0, __ATOMIC_RELEASE);
	return n;
}

unsigned env_pt_reclaim_any(unsigned max)
{
	for (unsigned i = 0; i < MAX_ENVS; i++) {
		unsigned n = env_pt_reclaim(&env_table[i], max);
		if (n)
			return n;
	}
	return 0;
}

/* Loader callback: fresh frames for one segment, each a root cap in e, bound at its va. */
struct load_ctx {
	struct env *e;
	uint32_t slots[CAP_SLOTS]; /* the root caps loading made, to undo a failed load */
	unsigned n;
};

static int load_segment(void *ctx, uint64_t va, uint64_t memsz, const uint8_t *src,
			uint64_t filesz, unsigned prot)
{
	struct load_ctx *lc = ctx;
	struct env *e = lc->e;
	uint64_t start = ALIGN_DOWN(va, PAGE_SIZE), end = ALIGN_UP(va + memsz, PAGE_SIZE);
	for (uint64_t page = start; page < end; page += PAGE_SIZE) {
		uint64_t frame, gen;
		uint32_t slot;
		int err = frame_alloc_any(e->id, false, &frame, &gen);
		if (err)
			return err;
		__atomic_fetch_add(&e->frames_owned, 1, __ATOMIC_RELAXED);
		if ((err = cap_insert_root(e, OBJ_FRAME, frame, gen, CAP_R_ALL, &slot))) {
			(void)frame_free(frame, e->id, gen);
			__atomic_fetch_sub(&e->frames_owned, 1, __ATOMIC_RELAXED);
			return err;
		}
		lc->slots[lc->n++] = slot;
		/* Copy the part of the file that falls in this page (the frame is zeroed). */
		uint8_t *dst = arch_phys_to_virt(pa_make(frame * PAGE_SIZE));
		uint64_t lo = MAX(page, va), hi = MIN(page + PAGE_SIZE, va + filesz);
		if (hi > lo)
			memcpy(dst + (lo - page), src + (lo - va), hi - lo);
		if ((err = cap_bind(e, slot, page, prot)))
			return err; /* env_start_at deletes what was loaded */
	}
	return E_OK;
}

int env_start(struct env *e, unsigned prog, uint64_t arg, const struct env_args *args)
{
	return env_start_at(e, __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE), prog, arg, args);
}

int env_start_at(struct env *e, uint64_t gen, unsigned prog, uint64_t arg,
		 const struct env_args *args)
{
	if (prog >= user_image_count)
		return E_INVAL;
	uint32_t expect = ENV_CREATED;
	/* STARTING: a second start fails, destroy waits, nobody runs it yet. */
	if (!__atomic_compare_exchange_n(&e->state, &expect, ENV_STARTING, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return expect == ENV_DYING || expect == ENV_FREE ? E_STALE : E_BUSY;
	if (__atomic_load_n(&e->gen, __ATOMIC_SEQ_CST) != gen) {
		__atomic_store_n(&e->state, ENV_CREATED, __ATOMIC_RELEASE);
		return E_STALE; /* the entry was reused: not the environment the caller meant */
	}
	/* The limits its parent set (checked against the parent's own at decode). */
	uint64_t old_limits[QUOTA_KINDS];
	quota_set_limits(e, args ? args->limits : 0, old_limits);
	const struct user_image *img = &user_images[prog];
	static struct load_ctx lcs[MAX_CPUS]; /* too big for the stack; one load per core */
	struct load_ctx *lc = &lcs[cpu_id()];
	lc->e = e;
	lc->n = 0;
	uint64_t entry;
	int err = elf_load(img->data, img->size, USER_BASE, STACK_TOP - STACK_PAGES * PAGE_SIZE,
			   load_segment, lc, &entry);
	if (!err)
		err = load_segment(lc, STACK_TOP - STACK_PAGES * PAGE_SIZE, STACK_PAGES * PAGE_SIZE,
				   NULL, 0, PROT_R | PROT_W);
	/* The argument words at the top of the stack, the stack below them. */
	uint64_t nargs = args ? args->len : 0, sp = STACK_TOP - ALIGN_UP(nargs, 16);
	if (!err && nargs)
		err = copy_to_user(e, sp, args->bytes, nargs);
	if (err) {
		/* A failed start changes nothing: what was loaded goes back. */
		for (unsigned i = 0; i < lc->n; i++)
			(void)cap_delete(e, lc->slots[i]);
		quota_restore_limits(e, old_limits);
		__atomic_store_n(&e->state, ENV_CREATED, __ATOMIC_RELEASE);
		return err;
	}
	arch_uctx_init(&e->uctx, entry, sp, arg);
	arch_fpu_init(&e->fpu);
	arch_uctx_set_entry_arg(&e->uctx, 1, e->id);
	arch_uctx_set_entry_arg(&e->uctx, 2, e->home);
	/* crt0 keeps prog: a program can start copies of itself. */
	arch_uctx_set_entry_arg(&e->uctx, 3, prog);
	arch_uctx_set_entry_arg(&e->uctx, 4, nargs ? sp : 0); /* the argument words */
	arch_uctx_set_entry_arg(&e->uctx, 5, nargs);
	/* Registers and memory complete: only now may anyone run it. */
	__atomic_store_n(&e->state, ENV_RUNNABLE, __ATOMIC_SEQ_CST);
	sched_enqueue(e);
	return E_OK;
}

void env_notify_local(uint32_t id, uint64_t gen, uint64_t bits)
{
	struct env *e = env_lookup(id);
	if (bpf_hook_message(id, gen, bits))
		return; /* its downloaded message handler consumed them */
	if (e && env_alive(e) && __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) == gen)
		__atomic_fetch_or(&e->notify_bits, bits, __ATOMIC_RELEASE);
}

int env_notify(struct env *e, uint64_t gen, uint64_t bits)
{
	if (!env_alive(e) || __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen)
		return E_STALE;
	if (e->home == cpu_id()) {
		env_notify_local(e->id, gen, bits);
		return E_OK;
	}
	/* Cross-core: a message to the kernel instance that owns e. */
	struct chan_msg m = { .type = CHAN_NOTIFY, .w = { e->id, bits, gen } };
	return chan_send(e->home, &m);
}

void env_doom(struct env *e, uint64_t gen)
{
	if (__atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen)
		return; /* destroyed already */
	/* doomed first: a home core that sees it stop after this destroys it. */
	__atomic_store_n(&e->doomed, true, __ATOMIC_SEQ_CST);
	bool no = false;
	if (!__atomic_compare_exchange_n(&e->reap_queued, &no, true, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	struct percpu *c = this_cpu();
	e->reap_next = c->reap;
	c->reap = e;
}

static uint64_t ticket_new(void)
{
	return __atomic_fetch_add(&next_ticket, 1, __ATOMIC_RELAXED);
}

uint64_t env_reap(void)
{
	struct percpu *c = this_cpu();
	/* Inside a step, what it doomed joins that destroy; else one new ticket for them all. */
	uint64_t t = reap_ticket[c->id], begun = 0;
	struct env *e;
	while ((e = c->reap)) {
		c->reap = e->reap_next;
		__atomic_store_n(&e->reap_queued, false, __ATOMIC_RELEASE);
		if (!t)
			t = ticket_new();
		/* E_BUSY: it runs; its home core begins its destroy when it stops (doomed). */
		if (destroy_begin(e, __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE), t) == E_OK)
			begun = t;
	}
	return begun;
}

int env_destroy(struct env *e) { return env_destroy_at(e, __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE)); }

/* Run ticket's destroy to its end here (a kernel caller with nothing to resume later). */
static void dying_finish(uint64_t ticket)
{
	while (!env_dying_help(ticket))
		percpu_wait_step(false); /* another core runs a step of it */
}

int env_destroy_at(struct env *e, uint64_t gen)
{
	uint64_t t = ticket_new();
	int err = destroy_begin(e, gen, t);
	if (!err)
		dying_finish(t);
	dying_finish(env_reap()); /* what was doomed before */
	return err;
}

int env_end_at(struct env *e, uint64_t gen, uint64_t *ticket)
{
	uint64_t t = ticket_new();
	*ticket = 0;
	int err = destroy_begin(e, gen, t);
	if (err == E_BUSY && __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == ENV_RUNNABLE &&
	    __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) == gen) {
		/*
		 * It runs, on this its home core: between two of its slices, since
		 * we are in the kernel here. Stop it now and destroy it. A call it
		 * serves ends (its caller resumes with E_STALE), as at an exit.
		 */
		if (!e->calling && e != this_cpu()->current) {
			pct_abandon(e);
			if (sched_stop(e, 128 + 9) == E_OK)
				err = destroy_begin(e, gen, t);
		}
		if (err == E_BUSY) {
			/* Blocked in a call, or in a syscall of its own: ended at its next pass through the run loop. */
			env_doom(e, gen);
			return E_OK;
		}
	}
	if (err)
		return err;
	/* The first step here; the caller waits on the rest (or the run loop does it). */
	*ticket = env_dying_help(t) ? 0 : t;
	return E_OK;
}

/*
 * Begin destroying e at generation gen under ticket: from here it cannot
 * run, be scheduled, receive a grant or be looked up alive, and every
 * capability to it is stale. Bounded: its time slots, endpoints; the rest
 * is env_dying_step's. E_STALE: gone or reused; E_BUSY: it runs or is
 * being started.
 */
static int destroy_begin(struct env *e, uint64_t gen, uint64_t ticket)
{
	/* Only an environment that is not running (or queued) anywhere is destroyed. */
	uint32_t s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
	if (s == ENV_FREE || s == ENV_DYING)
		return E_STALE;
	if (s != ENV_CREATED && s != ENV_EXITED)
		return E_BUSY;
	if (!__atomic_compare_exchange_n(&e->state, &s, ENV_DYING, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return E_BUSY;
	if (__atomic_load_n(&e->gen, __ATOMIC_SEQ_CST) != gen) {
		__atomic_store_n(&e->state, s, __ATOMIC_RELEASE);
		return E_STALE; /* reused since the caller looked: not its environment */
	}
	/* Every capability to e dies with this generation. */
	__atomic_fetch_add(&e->gen, 1, __ATOMIC_ACQ_REL);
	/* Its time slots and endpoints too, wherever the capabilities to them are held. */
	slice_release_env(e);
	ep_release_env(e);
	cap_table_close(e);
	e->dying_slot = 0;
	__atomic_fetch_add(&dying_count, 1, __ATOMIC_RELAXED);
	/* Published last: a stepper that sees the ticket sees the rest. */
	__atomic_store_n(&e->dying_ticket, ticket, __ATOMIC_RELEASE);
	return E_OK;
}

/* dying_slot past the last capability: the disk was told, the page tables go. */
#define DYING_TABLES (CAP_SLOTS + 1)

/*
 * One step of e's destroy, at most DESTROY_STEP_UNITS units: a revoke
 * batch or a delete of one of its capabilities, or one page-table page
 * (empty slots cost nothing but the look). The caller holds e->dying_busy.
 * Each step leaves e consistent (what the invariant checker sees). True
 * when e is gone (its table entry free).
 */
static bool destroy_step(struct env *e)
{
	unsigned units = DESTROY_STEP_UNITS;
	uint64_t *rt = &reap_ticket[cpu_id()];
	*rt = __atomic_load_n(&e->dying_ticket, __ATOMIC_ACQUIRE);
	while (e->dying_slot < CAP_SLOTS && units) {
		uint32_t s = e->dying_slot;
		struct cap *c = cap_slot(e, s);
		if (!c) { /* a page never grown: all its slots are empty */
			e->dying_slot = ALIGN_UP(s + 1, CAP_PAGE_SLOTS);
			continue;
		}
		uint8_t t = __atomic_load_n(&c->type, __ATOMIC_ACQUIRE);
		if (t == CAP_RESERVED)
			break; /* a grant that claimed it before e began dying fills it: next step */
		if (t == OBJ_NONE) {
			e->dying_slot++;
			continue;
		}
		units--;
		if (cap_revoke(e, s) == E_AGAIN)
			continue; /* descendants left: the next unit goes on */
		(void)cap_delete(e, s);
		e->dying_slot++;
	}
	(void)env_reap(); /* the environments those deletions doomed: begun under this ticket */
	*rt = 0;
	if (e->dying_slot < CAP_SLOTS)
		return false;
	uint64_t gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) - 1; /* the one destroyed */
	if (e->dying_slot == CAP_SLOTS) {
		if (!cap_table_release(e, &units))
			return false;	   /* every slot empty: its table's pages go, a unit each */
		disk_env_gone(e->id, gen); /* its disk requests: every frame they named is gone */
		e->dying_slot = DYING_TABLES;
	}
	/* Every binding went with its capability; arch_aspace_destroy insists. */
	KASSERT(e->mappings == 0);
	if (!units)
		return false;
	/*
	 * Its page tables, deepest first. No core can cache them: e runs nowhere
	 * now, and the core that ran it last left its tables (a CR3 load) since.
	 */
	paddr_t pages[DESTROY_STEP_UNITS];
	unsigned n = arch_aspace_trim(&e->as, pages, units);
	for (unsigned i = 0; i < n; i++)
		pt_free(e, pages[i]);
	if (n == units)
		return false; /* perhaps more */
	struct arch_pt_alloc a = pt_allocator(e);
	arch_aspace_destroy(&e->as, &a); /* the root alone is left */
	if (e->frames_owned)
		kprintf("env %u: destroyed with %llu frames still charged\n", e->id,
			(unsigned long long)e->frames_owned);
	quota_release(e);
	e->canary = 0;
	__atomic_store_n(&e->dying_ticket, 0, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&dying_count, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&e->state, ENV_FREE, __ATOMIC_RELEASE);
	return true;
}

struct destroy_stats destroy_stats;

/* at is written, by the compare-exchange (which clang-tidy does not see). */
static void stat_max(uint64_t *at, uint64_t v) // NOLINT(readability-non-const-parameter)
{
	uint64_t old = __atomic_load_n(at, __ATOMIC_RELAXED);
	while (v > old &&
	       !__atomic_compare_exchange_n(at, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

bool env_dying(const struct env *e)
{
	return __atomic_load_n(&e->dying_ticket, __ATOMIC_ACQUIRE) != 0;
}

/* Run one step of e if its destroy is ticket's (0: any) and no other core runs one. */
static bool try_step(struct env *e, uint64_t ticket)
{
	uint64_t t = __atomic_load_n(&e->dying_ticket, __ATOMIC_ACQUIRE);
	if (!t || (ticket && t != ticket))
		return false;
	uint32_t no = 0;
	if (!__atomic_compare_exchange_n(&e->dying_busy, &no, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return false;
	/* Again under the flag: the destroy may have ended, the entry been reused. */
	t = __atomic_load_n(&e->dying_ticket, __ATOMIC_ACQUIRE);
	bool ran = t && (!ticket || t == ticket);
	if (ran) {
		/* Only the step changes e's count now: its roots are its own to delete. */
		uint64_t owned = e->frames_owned, t0 = arch_cycles();
		bool gone = destroy_step(e);
		stat_max(&destroy_stats.most_cycles, arch_cycles() - t0);
		stat_max(&destroy_stats.most_freed, owned - (gone ? 0 : e->frames_owned));
		__atomic_fetch_add(&destroy_stats.steps, 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&e->dying_busy, 0, __ATOMIC_RELEASE);
	return ran;
}

bool env_dying_help(uint64_t ticket)
{
	if (!ticket)
		return true;
	for (unsigned i = 0; i < MAX_ENVS; i++)
		if (try_step(&env_table[i], ticket))
			break;
	for (unsigned i = 0; i < MAX_ENVS; i++)
		if (__atomic_load_n(&env_table[i].dying_ticket, __ATOMIC_ACQUIRE) == ticket)
			return false;
	return true;
}

bool env_dying_poll(void)
{
	if (!__atomic_load_n(&dying_count, __ATOMIC_RELAXED))
		return false;
	unsigned me = cpu_id();
	for (unsigned i = 0; i < MAX_ENVS; i++)
		if (env_table[i].home == me && try_step(&env_table[i], 0))
			return true;
	return false;
}

/* The object-type table's row for environments (exo/obj.h). */
static uint64_t env_obj_gen(uint64_t obj)
{
	struct env *e = env_lookup((uint32_t)obj);
	return e ? __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) : ~0ULL;
}

/* Its root deleted: queued, not destroyed here — teardown never recurses (env_reap). */
static void env_obj_root_deleted(struct env *owner, uint64_t obj, uint64_t gen)
{
	struct env *child = env_lookup((uint32_t)obj);
	if (child && child != owner)
		env_doom(child, gen);
}

const struct obj_ops env_obj_ops = {
	.name = "env",
	.gen = env_obj_gen,
	.root_deleted = env_obj_root_deleted,
};

/* ---- quotas (exo/env.h) ---- */

/* One lock for every quota counter: charges are rare (ENV_CREATE, EP_CREATE, a new page table). */
static struct spinlock quota_lock = SPINLOCK_INIT;

/* e's parent while it is still the environment that made e, else NULL (under quota_lock). */
static struct env *quota_parent(const struct env *e)
{
	if (!e->has_parent)
		return NULL;
	struct env *p = env_lookup(e->parent_id);
	if (!p || __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) != e->parent_gen)
		return NULL; /* gone: its own release took the subtree off its ancestors */
	return p;
}

/* Does n more of k fit at e and every ancestor (at most MAX_ENVS of them)? Under quota_lock. */
static bool quota_room(struct env *e, enum quota_kind k, uint64_t n)
{
	unsigned depth = 0;
	for (struct env *x = e; x && depth++ < MAX_ENVS; x = quota_parent(x))
		if (x->quota_used[k] + n > x->quota_limit[k])
			return false;
	return true;
}

/* Add d (two's complement for a decrease) to k at e and every ancestor. Under quota_lock. */
static void quota_add(struct env *e, enum quota_kind k, uint64_t d)
{
	unsigned depth = 0;
	for (struct env *x = e; x && depth++ < MAX_ENVS; x = quota_parent(x))
		x->quota_used[k] += d;
}

int quota_charge(struct env *e, enum quota_kind k, uint64_t n)
{
	spin_lock(&quota_lock);
	bool fits = quota_room(e, k, n);
	if (fits)
		quota_add(e, k, n);
	spin_unlock(&quota_lock);
	return fits ? E_OK : E_NOMEM;
}

void quota_uncharge(struct env *e, enum quota_kind k, uint64_t n)
{
	spin_lock(&quota_lock);
	quota_add(e, k, -n);
	spin_unlock(&quota_lock);
}

/* What quota_reserve_env charges: the environment, and its top-level page table. */
static const uint64_t env_reservation[QUOTA_KINDS] = { [QUOTA_ENVS] = 1, [QUOTA_PT_FRAMES] = 1 };

int quota_reserve_env(struct env *parent)
{
	spin_lock(&quota_lock);
	bool fits = true;
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		fits = fits && quota_room(parent, k, env_reservation[k]);
	for (unsigned k = 0; fits && k < QUOTA_KINDS; k++)
		quota_add(parent, k, env_reservation[k]);
	spin_unlock(&quota_lock);
	return fits ? E_OK : E_NOMEM;
}

void quota_unreserve_env(struct env *parent)
{
	spin_lock(&quota_lock);
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		quota_add(parent, k, -env_reservation[k]);
	spin_unlock(&quota_lock);
}

void quota_adopt(struct env *parent, struct env *child)
{
	spin_lock(&quota_lock);
	/* Nothing else runs in it yet: what it holds is what env_create gave it. */
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		quota_add(parent, k, child->quota_used[k] + (k == QUOTA_ENVS) - env_reservation[k]);
	child->parent_id = parent->id;
	child->parent_gen = __atomic_load_n(&parent->gen, __ATOMIC_ACQUIRE);
	child->has_parent = true;
	spin_unlock(&quota_lock);
}

int quota_fits(const struct env *parent, uint64_t limits)
{
	if (!limits)
		return E_OK;
	const uint64_t want[QUOTA_KINDS] = { ENV_LIMIT_ENVS(limits), ENV_LIMIT_ENDPOINTS(limits),
					     ENV_LIMIT_PT_FRAMES(limits) };
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		if (want[k] > __atomic_load_n(&parent->quota_limit[k], __ATOMIC_ACQUIRE))
			return E_RANGE;
	return E_OK;
}

static void quota_set_limits(struct env *e, uint64_t limits, uint64_t old[QUOTA_KINDS])
{
	spin_lock(&quota_lock);
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		old[k] = e->quota_limit[k];
	if (limits) {
		e->quota_limit[QUOTA_ENVS] = ENV_LIMIT_ENVS(limits);
		e->quota_limit[QUOTA_ENDPOINTS] = ENV_LIMIT_ENDPOINTS(limits);
		e->quota_limit[QUOTA_PT_FRAMES] = ENV_LIMIT_PT_FRAMES(limits);
	}
	spin_unlock(&quota_lock);
}

static void quota_restore_limits(struct env *e, const uint64_t old[QUOTA_KINDS])
{
	spin_lock(&quota_lock);
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		e->quota_limit[k] = old[k];
	spin_unlock(&quota_lock);
}

/*
 * e is destroyed (its own page tables and endpoints uncharged already): what
 * its descendants still hold, and e itself, leave its ancestors' counts.
 * Descendants released later find e gone and stop there (quota_parent).
 */
static void quota_release(struct env *e)
{
	spin_lock(&quota_lock);
	struct env *p = quota_parent(e);
	for (unsigned k = 0; p && k < QUOTA_KINDS; k++)
		quota_add(p, k, -(e->quota_used[k] + (k == QUOTA_ENVS)));
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		e->quota_used[k] = 0;
	e->has_parent = false;
	spin_unlock(&quota_lock);
}
