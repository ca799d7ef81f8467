/*
 * The VM manager's logic: regions, the frame budget, demand paging through
 * the pager policy, victim checks, revocation, policy swaps. It reaches the
 * machine only through struct vm_machine (vm_sys.c in a program, a
 * simulation in tests/host/pager_test.c), so the same file builds for both.
 *
 * Dirtiness is exact without scanning: a page first touched by a read is
 * mapped read-only, and its first write faults again and remaps it
 * writable. So VMP_DIRTY is "mapped writable", and a clean page's swap copy
 * (or zero) is always current: evicting it, or losing it to the kernel,
 * costs nothing.
 *
 * The kernel may take any frame by force at any instant (the abort
 * protocol runs at a preemption; the REVOKE_TAKEN upcall that says so
 * comes later, perhaps in the middle of a fault). So every operation on a
 * frame may find it gone: a failed one is checked (frame_went), and the
 * page or the frame in hand is handled as taken there and then; the fault
 * goes on from the new state. Nothing is done with a stale slot, and no
 * fault in progress is answered "served" while its page has no frame.
 */
#include <exo/kprintf.h>
#include <libos/pager_impl.h>
#include <libos/vm.h>

uint64_t libos_cycles(void);
printf_like(1, 2) int printf(const char *fmt, ...); /* console.c; libc's on the host */

#define VM_PAGE 4096ULL
#define VM_PAGES_MAX 512 /* every page of a program's image costs a capability slot */
#define VM_REGIONS_MAX 4
#define VICTIMS_MAX 64

struct region {
	uint64_t va, n;
	unsigned first; /* its first page's id */
};

static struct vm_page pages[VM_PAGES_MAX];
static struct region regions[VM_REGIONS_MAX];
static unsigned nregions, npages;
static struct vm_config cfg;
static const struct vm_machine *mach;
static const struct pager_ops *ops;
static struct policy_choice choice;
static unsigned resident;
static bool started, trace_mode;
static int64_t part = -1; /* the policy's downloaded part (its capability), -1: none */
/*
 * The clean list the part reads (pager_impl.h struct pager_clean_list), or
 * NULL: clean_at[id] is a page's index in it + 1 (0: not listed), clean_pg
 * the page of each entry, clean_gen the generation of each page's frame.
 */
static volatile struct pager_clean_list *clean;
static uint16_t clean_at[VM_PAGES_MAX], clean_pg[PAGER_CLEAN_MAX];
static uint64_t clean_gen[VM_PAGES_MAX], clean_frame[VM_PAGES_MAX];
static unsigned clean_n; /* the VM's own count: checked after the region is gone too */
/*
 * In the VM (a fault, a revocation, a budget change, a swap): a revocation
 * upcall that comes meanwhile — a slice start interrupts like a signal, on
 * this core — only notes its request, and leave() serves it. Hence
 * volatile and compiler fences, not locks.
 */
static volatile bool busy;
static volatile uint64_t pending_count, pending_frame, pending_deadline;
static volatile bool pending_taken;
static unsigned evictions_since_scan;
static struct vm_stats st;
static struct vm_page *drain[VM_PAGES_MAX]; /* resident pages: at most every page */

struct pager_trace pager_trace;
const char *libos_pager_hook;

const char *vm_pager_name(void)
{
	return ops ? ops->info.name : "";
}

noreturn_fn static void policy_bad(const char *hook, const char *why, uint64_t a, uint64_t b)
{
	char msg[160];
	ksnprintf(msg, sizeof(msg), why, (unsigned long long)a, (unsigned long long)b);
	printf("libos: pager policy %s misbehaved in its %s hook: %s: ending the environment\n",
	       vm_pager_name(), hook, msg);
	mach->die(VM_EXIT_POLICY);
}

noreturn_fn static void vm_die(int status, const char *why, uint64_t va, int64_t err)
{
	printf("vm: %s (page 0x%llx, %lld): ending the program\n", why, (unsigned long long)va,
	       (long long)err);
	mach->die(status);
}

/* ---- entering and leaving the VM ---- */

static void fence(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void clean_check(void);
static void clean_del(struct vm_page *p);

static void enter(void)
{
	busy = true;
	fence();
	clean_check();
}

static void serve_pending(void);

/* Leave the VM, serving each revocation request that came while it was busy. */
static void leave(void)
{
	for (;;) {
		fence();
		busy = false;
		fence();
		/* A request from here on finds the VM free and is served by its own upcall. */
		if (!pending_count && !pending_taken)
			return;
		enter();
		serve_pending();
	}
}

bool vm_busy(void)
{
	return busy;
}

/* ---- the policy's hooks, each named while it runs (fault.c's message) ---- */

static void hook_added(struct vm_page *p)
{
	libos_pager_hook = "added";
	ops->added(p, libos_cycles());
	libos_pager_hook = NULL;
}

static void hook_accessed(struct vm_page *p)
{
	libos_pager_hook = "accessed";
	ops->accessed(p, libos_cycles());
	libos_pager_hook = NULL;
}

static void hook_evicted(struct vm_page *p)
{
	libos_pager_hook = "evicted";
	ops->evicted(p, libos_cycles());
	libos_pager_hook = NULL;
}

/*
 * Ask for up to want victims (revoke: through the revocation hook) and
 * check each: a page of this VM, resident, given once. Anything else ends
 * the environment: a policy must never make the VM evict what it lacks.
 */
static unsigned choose(struct vm_page **out, unsigned want, bool revoke, uint64_t deadline)
{
	const char *hook = revoke && ops->revoke ? "revoke" : "victims";
	want = MIN(want, VICTIMS_MAX);
	libos_pager_hook = hook;
	unsigned n = revoke && ops->revoke ? ops->revoke(out, want, deadline)
					   : ops->victims(out, want, libos_cycles());
	libos_pager_hook = NULL;
	if (n == 0 || n > want)
		policy_bad(hook, "it chose %llu victims when asked for 1 to %llu", n, want);
	for (unsigned i = 0; i < n; i++) {
		struct vm_page *p = out[i];
		uintptr_t off = (uintptr_t)p - (uintptr_t)pages;
		if ((uintptr_t)p < (uintptr_t)pages || off >= npages * sizeof(pages[0]) ||
		    off % sizeof(pages[0]))
			policy_bad(hook, "victim %llu (0x%llx) is not a page of this VM", i,
				   (uint64_t)(uintptr_t)p);
		if (!(p->flags & VMP_RESIDENT))
			policy_bad(hook, "victim page 0x%llx is not resident", p->va, 0);
		if (p->flags & VMP_CHOSEN)
			policy_bad(hook, "victim page 0x%llx was chosen twice", p->va, 0);
		p->flags |= VMP_CHOSEN;
	}
	for (unsigned i = 0; i < n; i++)
		out[i]->flags &= (uint16_t)~VMP_CHOSEN;
	return n;
}

/* ---- frames taken by force ---- */

/*
 * Did the kernel take slot's frame by force? Asked after an operation on it
 * failed with err. A frame the VM has mapped (bound) loses its binding when
 * taken, whatever the operation said; an unmapped one is known taken by
 * E_STALE. If taken, its stale capability is deleted (mach->frame_taken).
 */
static bool frame_went(int slot, int err, bool bound)
{
	if (!bound && err != E_STALE)
		return false;
	return mach->frame_taken(slot);
}

/* The frames the VM holds shrink by one for good, as for frames given back. */
static void frame_lost(void)
{
	st.taken++;
	resident--;
	cfg.budget = MAX(cfg.budget - 1, 1);
}

/*
 * The kernel took resident page p's frame: a clean page is refetched at its
 * next touch; a dirty one is lost, and its next touch says so.
 */
static void page_taken(struct vm_page *p)
{
	clean_del(p);
	if (p->flags & VMP_DIRTY) {
		p->flags |= VMP_LOST;
		st.lost++;
		printf("vm: page 0x%llx was taken by force while dirty: lost\n",
		       (unsigned long long)p->va);
	} else {
		p->flags |= VMP_TAKEN;
	}
	p->flags &= (uint16_t) ~(VMP_RESIDENT | VMP_DIRTY);
	p->slot = -1;
	frame_lost();
	hook_evicted(p);
}

/* ---- the clean list of a downloaded victim chooser ---- */

/* List resident clean page p (its frame may be given back from now on). */
static void clean_add(struct vm_page *p)
{
	uint64_t f, gen;
	if (!clean || clean_at[p->id] || clean_n >= PAGER_CLEAN_MAX ||
	    mach->frame_ident(p->slot, &f, &gen))
		return;
	unsigned i = clean_n;
	clean->frame[i] = f;
	clean_pg[i] = (uint16_t)p->id;
	clean_gen[p->id] = gen;
	clean_frame[p->id] = f;
	clean_at[p->id] = (uint16_t)(i + 1);
	fence();
	clean->n = ++clean_n;
	fence();
}

/* Unlist p: before it is written, evicted or freed (its frame is not given after this). */
static void clean_del(struct vm_page *p)
{
	if (!clean_at[p->id])
		return;
	unsigned i = clean_at[p->id] - 1U, last = clean_n - 1;
	clean_at[p->id] = 0;
	/* The hole takes the last entry first (listed twice a moment: harmless), then n drops. */
	clean_pg[i] = clean_pg[last];
	if (i != last)
		clean_at[clean_pg[i]] = (uint16_t)(i + 1);
	clean_n = last;
	if (clean) {
		clean->frame[i] = clean_frame[clean_pg[i]];
		fence();
		clean->n = last;
		fence();
	}
}

static void page_taken(struct vm_page *p);

/*
 * The frames the chooser gave back: a listed page whose slot no longer
 * holds its frame at its generation (emptied by the kernel, perhaps reused
 * since). Clean, so taken as by force: refetched at the next touch.
 */
static void clean_check(void)
{
	for (unsigned i = clean_n; i-- > 0;) {
		struct vm_page *p = &pages[clean_pg[i]];
		uint64_t f, gen;
		if (mach->frame_ident(p->slot, &f, &gen) || f != clean_frame[p->id] ||
		    gen != clean_gen[p->id]) {
			st.part_given++;
			page_taken(p); /* unlists it: the last entry moves to i, checked already */
		}
	}
}

/* The list from the resident clean pages (a policy with one was chosen), or none. */
static void clean_start(void *region)
{
	clean = NULL;
	clean_n = 0;
	for (unsigned i = 0; i < VM_PAGES_MAX; i++)
		clean_at[i] = 0;
	if (!region || !ops->clean_list || !mach->frame_ident)
		return;
	clean = region;
	clean->n = 0;
	for (unsigned i = 0; i < npages; i++)
		if ((pages[i].flags & VMP_RESIDENT) && !(pages[i].flags & VMP_DIRTY))
			clean_add(&pages[i]);
}

/* ---- regions and pages ---- */

struct vm_page *vm_page_of(uint64_t va)
{
	for (unsigned i = 0; i < nregions; i++)
		if (va >= regions[i].va && va - regions[i].va < regions[i].n * VM_PAGE)
			return &pages[regions[i].first + (va - regions[i].va) / VM_PAGE];
	return NULL;
}

int vm_region_add(uint64_t va, uint64_t n)
{
	if (va % VM_PAGE)
		return E_ALIGN;
	for (unsigned i = 0; i < nregions; i++)
		if (va < regions[i].va + regions[i].n * VM_PAGE && regions[i].va < va + n * VM_PAGE)
			return E_EXIST;
	if (!n || nregions == VM_REGIONS_MAX || n > VM_PAGES_MAX - npages ||
	    n > cfg.max_pages - npages)
		return E_NOMEM;
	regions[nregions++] = (struct region){ .va = va, .n = n, .first = npages };
	for (uint64_t i = 0; i < n; i++)
		pages[npages + i] = (struct vm_page){ .va = va + i * VM_PAGE,
						      .id = (uint32_t)(npages + i),
						      .slot = -1 };
	npages += (unsigned)n;
	return E_OK;
}

/* ---- scans of the accessed bits ---- */

void vm_scan(void)
{
	uint8_t ad[512];
	if (!started || !ops->accessed)
		return;
	st.scans++;
	for (unsigned r = 0; r < nregions; r++)
		for (uint64_t at = 0; at < regions[r].n; at += 512) {
			unsigned n = (unsigned)MIN(512, regions[r].n - at);
			if (mach->read_ad(regions[r].va + at * VM_PAGE, n, ad))
				continue;
			for (unsigned i = 0; i < n; i++) {
				struct vm_page *p = &pages[regions[r].first + at + i];
				if ((ad[i] & AD_ACCESSED) && (p->flags & VMP_RESIDENT))
					hook_accessed(p);
			}
		}
}

/* ---- eviction and filling ---- */

/*
 * Take p out of memory: written back if dirty, unmapped; its frame slot is
 * returned — or -1 if the kernel took the frame meanwhile (p is then out of
 * memory all the same: lost if its data went with the frame).
 */
static int evict_page(struct vm_page *p)
{
	int slot = p->slot, err;
	clean_del(p);
	if (p->flags & VMP_DIRTY) {
		if (!mach->swap_write)
			vm_die(VM_EXIT_LOST, "a dirty page must be evicted but there is no swap",
			       p->va, E_NOTSUP);
		if ((err = mach->swap_write(p->id, slot, p->va))) {
			if (!frame_went(slot, err, true))
				vm_die(VM_EXIT_LOST, "writing a page to swap failed", p->va, err);
			page_taken(p); /* before its data was safe: lost */
			return -1;
		}
		st.swap_writes++;
		st.evict_dirty++;
		/* Its copy is current (nothing else runs until it is unmapped below). */
		p->flags = (uint16_t)((p->flags | VMP_SWAPPED) & ~VMP_DIRTY);
	}
	if ((err = mach->unmap(slot))) {
		if (!frame_went(slot, err, true))
			vm_die(VM_EXIT_LOST, "unmapping a victim failed", p->va, err);
		page_taken(p); /* clean by now: refetched at its next touch */
		return -1;
	}
	p->flags &= (uint16_t) ~(VMP_RESIDENT | VMP_DIRTY);
	p->slot = -1;
	hook_evicted(p);
	return slot;
}

/* A frame for a fault: a new one while under budget, else a victim's; -1 if the victim's went. */
static int frame_for_fault(bool *fresh)
{
	if (resident < cfg.budget) {
		/* With nothing to evict, wait out memory pressure (a revocation elsewhere). */
		int64_t s = mach->frame_alloc(resident == 0);
		if (s >= 0)
			clean_check(); /* a slot the chooser emptied may be s now */
		if (s >= 0) {
			*fresh = true;
			resident++;
			return (int)s;
		}
		if (!resident)
			vm_die(VM_EXIT_LOST, "no frame for a fault and none to evict", 0, s);
		/* Memory pressure: page against ourselves instead. */
	}
	struct vm_page *v;
	if (ops->accessed && !trace_mode && ++evictions_since_scan >= MAX(cfg.scan_every, 1)) {
		evictions_since_scan = 0;
		vm_scan();
	}
	choose(&v, 1, false, 0);
	*fresh = false;
	int slot = evict_page(v);
	if (slot >= 0)
		st.evictions++;
	return slot;
}

/*
 * Fill frame slot with p's contents and map it (writable only for a write).
 * False if the kernel took the frame meanwhile: p is as it was, the frame
 * is gone (frame_lost), and the fault goes on with another.
 */
static bool fill(struct vm_page *p, int slot, bool write, bool fresh)
{
	unsigned prot = write ? (PROT_R | PROT_W) : PROT_R;
	const char *what = "mapping a page failed";
	bool bound = false; /* slot is mapped at p->va now */
	int err;
	if (p->flags & VMP_SWAPPED) {
		if (mach->swap_read_needs_map) {
			if (!(err = mach->map(slot, p->va, PROT_R | PROT_W))) {
				bound = true;
				what = "reading a page from swap failed";
				err = mach->swap_read(p->id, slot, p->va);
			}
		} else {
			what = "reading a page from swap failed";
			if (!(err = mach->swap_read(p->id, slot, p->va))) {
				what = "mapping a page failed";
				if (!(err = mach->map(slot, p->va, prot)))
					bound = true;
			}
			prot = 0;
		}
	} else if (fresh) {
		if (!(err = mach->map(slot, p->va, prot)))
			bound = true;
		prot = 0;
	} else if (!(err = mach->map(slot, p->va, PROT_R | PROT_W))) {
		bound = true;
		what = "zeroing a page failed";
		err = mach->zero(p->va);
	}
	if (!err && prot == PROT_R) { /* mapped writable to fill: now read-only */
		what = "mapping a page failed";
		if (!(err = mach->unmap(slot))) {
			bound = false;
			if (!(err = mach->map(slot, p->va, PROT_R)))
				bound = true;
		}
	}
	if (err) {
		if (!frame_went(slot, err, bound))
			vm_die(VM_EXIT_LOST, what, p->va, err);
		frame_lost();
		return false;
	}
	if (p->flags & VMP_SWAPPED)
		st.swap_reads++;
	else
		st.zero_fills++;
	if (p->flags & VMP_TAKEN) {
		st.refetched++;
		p->flags &= (uint16_t)~VMP_TAKEN;
	}
	p->slot = (int16_t)slot;
	p->flags |= VMP_RESIDENT | (write ? VMP_DIRTY : 0);
	return true;
}

/* Serve the fault on p, from whatever state the kernel's takes leave it in. */
static void fault(struct vm_page *p, bool write)
{
	for (;;) {
		if ((p->flags & VMP_LOST) && cfg.on_lost && cfg.on_lost(p->va))
			p->flags &= (uint16_t) ~(VMP_LOST |
						 VMP_SWAPPED); /* told: it starts again from zero */
		if (p->flags & VMP_LOST)
			vm_die(VM_EXIT_LOST,
			       "this page was taken by the kernel while dirty: its data is lost",
			       p->va, E_STALE);
		if (p->flags & VMP_RESIDENT) {
			if (write && !(p->flags & VMP_DIRTY)) {
				/* The first write to a page mapped read-only: now it is dirty. */
				clean_del(p); /* before it can differ from its copy */
				int err = mach->unmap(p->slot);
				bool bound = err != 0;
				if (!err)
					err = mach->map(p->slot, p->va, PROT_R | PROT_W);
				if (!err) {
					st.write_faults++;
					p->flags |= VMP_DIRTY;
					return;
				}
				if (!frame_went(p->slot, err, bound))
					vm_die(VM_EXIT_LOST, "mapping a page failed", p->va, err);
				page_taken(p);
				continue; /* a miss now, or a lost page */
			}
			/*
			 * Mapped as this access needs, yet it faulted: the mapping
			 * went with the frame (taken by force: the upcall that says
			 * so comes later). Answering "served" would fault again.
			 */
			if (!mach->frame_taken(p->slot))
				return; /* spurious: it is there */
			page_taken(p);
			continue;
		}
		bool fresh;
		int slot = frame_for_fault(&fresh);
		if (slot < 0 || !fill(p, slot, write, fresh))
			continue; /* the frame went before p had it: another */
		st.faults++;
		hook_added(p);
		if (!(p->flags & VMP_DIRTY))
			clean_add(p);
		return;
	}
}

int vm_fault(uint64_t va, bool write)
{
	uint64_t t0 = libos_cycles();
	struct vm_page *p = started ? vm_page_of(va) : NULL;
	if (!p)
		return E_NOENT;
	enter();
	fault(p, write);
	st.pager_cycles += libos_cycles() - t0;
	leave();
	return E_OK;
}

/* ---- budget, trace mode ---- */

/* Evict down to `keep` resident pages, giving their frames back. */
static unsigned shrink_to(unsigned keep, bool revoke, uint64_t deadline)
{
	struct vm_page *out[VICTIMS_MAX];
	unsigned given = 0;
	while (resident > keep) {
		unsigned n = choose(out, resident - keep, revoke, deadline);
		for (unsigned i = 0; i < n; i++) {
			int slot = evict_page(out[i]);
			if (slot < 0)
				continue; /* taken by force meanwhile: not ours to give */
			int err = mach->frame_free(slot);
			if (err && frame_went(slot, err, false)) {
				frame_lost();
				continue;
			}
			resident--;
			given++;
		}
	}
	return given;
}

int vm_set_budget(unsigned frames)
{
	if (!frames)
		return E_INVAL;
	uint64_t t0 = libos_cycles();
	if (!started) {
		cfg.budget = frames;
		return E_OK;
	}
	enter();
	cfg.budget = frames;
	st.evictions += shrink_to(frames, false, 0);
	st.pager_cycles += libos_cycles() - t0;
	leave();
	return E_OK;
}

unsigned vm_budget(void)
{
	return cfg.budget;
}

unsigned vm_resident(void)
{
	return resident;
}

void vm_ref(uint64_t va)
{
	trace_mode = true; /* exact references: no scans reorder them */
	struct vm_page *p = vm_page_of(va);
	if (p && (p->flags & VMP_RESIDENT) && ops->accessed)
		hook_accessed(p);
}

void vm_set_trace(const uint32_t *refs, size_t n)
{
	pager_trace = (struct pager_trace){ .refs = refs, .n = n };
}

void vm_trace_at(size_t pos)
{
	pager_trace.pos = pos;
}

/* ---- revocation ---- */

static unsigned revoke_asked(uint64_t frame, uint64_t count, uint64_t deadline);
static void revoke_taken(void);

/*
 * A revocation upcall that interrupted the VM (a slice started meanwhile)
 * is served when the VM leaves: its state is consistent only then. In the
 * VM: an upcall now would only note its request again.
 */
static void serve_pending(void)
{
	/* Exchanges: an upcall between the read and the clear would be lost. */
	uint64_t n = __atomic_exchange_n(&pending_count, 0, __ATOMIC_RELAXED);
	if (n)
		(void)revoke_asked(pending_frame, n, pending_deadline);
	if (__atomic_exchange_n(&pending_taken, false, __ATOMIC_RELAXED))
		revoke_taken();
}

unsigned vm_revoke_asked(uint64_t frame, uint64_t count, uint64_t deadline)
{
	if (busy) {
		pending_frame = frame;
		pending_deadline = deadline;
		fence();
		pending_count = count;
		return 0;
	}
	enter();
	unsigned given = revoke_asked(frame, count, deadline);
	leave();
	return given;
}

void vm_revoke_taken(void)
{
	if (busy) {
		pending_taken = true;
		return;
	}
	enter();
	revoke_taken();
	leave();
}

static unsigned revoke_asked(uint64_t frame, uint64_t count, uint64_t deadline)
{
	uint64_t t0 = libos_cycles();
	unsigned given = 0;
	st.revoke_asked += count;
	if (frame == FRAME_ANY) {
		unsigned keep = resident > count ? resident - (unsigned)count : 0;
		given = shrink_to(keep, true, deadline);
	} else {
		for (unsigned i = 0; i < npages; i++) {
			uint64_t f;
			struct vm_page *p = &pages[i];
			if ((p->flags & VMP_RESIDENT) && !mach->frame_number(p->slot, &f) &&
			    f == frame) {
				int slot = evict_page(p), err;
				if (slot < 0)
					break; /* taken by force meanwhile */
				if ((err = mach->frame_free(slot)) &&
				    frame_went(slot, err, false)) {
					frame_lost();
					break;
				}
				resident--;
				given = 1;
				break;
			}
		}
	}
	st.revoke_given += given;
	/* What the kernel asked for is gone for good: the budget shrinks with it. */
	cfg.budget = MAX(cfg.budget > given ? cfg.budget - given : 1, 1);
	st.pager_cycles += libos_cycles() - t0;
	return given;
}

/* The frames of resident pages that the kernel took (the ones a fault has not found yet). */
static void revoke_taken(void)
{
	uint64_t t0 = libos_cycles();
	for (unsigned i = 0; i < npages; i++) {
		struct vm_page *p = &pages[i];
		if ((p->flags & VMP_RESIDENT) && mach->frame_taken(p->slot))
			page_taken(p);
	}
	st.pager_cycles += libos_cycles() - t0;
}

/* ---- policy start and swap ---- */

static int policy_start(const struct policy_choice *c)
{
	const struct pager_ops *o = (const struct pager_ops *)c->info;
	for (unsigned i = 0; i < npages; i++) {
		pages[i].pnext = pages[i].pprev = NULL;
		pages[i].pv[0] = pages[i].pv[1] = pages[i].pv[2] = 0;
	}
	libos_pager_hook = "init";
	const struct pager_ops *old = ops;
	ops = o; /* named in a fault message */
	int err = o->init(c->values, cfg.budget);
	libos_pager_hook = NULL;
	if (err) {
		ops = old;
		return err;
	}
	choice = *c;
	/* Its downloaded part with it: the old one (if any) is detached first. */
	clean = NULL; /* the old region goes: the VM's own copy of the list stays */
	if (mach->part_unload && part >= 0)
		mach->part_unload(POLICY_PAGER, part);
	clean_check(); /* what the old part gave before it was detached */
	void *region = NULL;
	part = mach->part_load ? mach->part_load(&o->info, &region) : -1;
	if (part < 0)
		part = -1;
	clean_start(part >= 0 ? region : NULL);
	return E_OK;
}

int64_t vm_pager_part(void)
{
	return part;
}

int vm_pager_swap(const char *spec)
{
	struct policy_choice c, prev = choice;
	char err[300];
	int e = policy_parse(POLICY_PAGER, spec, &c, err, sizeof(err));
	if (e) {
		printf("pager swap: %s\n", err);
		return e;
	}
	if (!started)
		return E_NOTSUP;
	uint64_t t0 = libos_cycles();
	enter();
	/* Drain the old policy in its eviction order: the state handed over. */
	unsigned n = 0;
	while (n < resident) {
		struct vm_page *v;
		choose(&v, 1, false, 0);
		drain[n++] = v;
		v->flags |= VMP_CHOSEN; /* off its lists: not resident to it any more */
		v->flags &= (uint16_t)~VMP_RESIDENT;
		hook_evicted(v);
	}
	for (unsigned i = 0; i < n; i++)
		drain[i]->flags = (uint16_t)((drain[i]->flags & ~VMP_CHOSEN) | VMP_RESIDENT);
	if (ops->fini)
		ops->fini();
	if ((e = policy_start(&c)) != E_OK) {
		printf("pager swap: %s refused to start (%d): keeping %s\n", c.info->name, e,
		       prev.info->name);
		if (policy_start(&prev))
			vm_die(VM_EXIT_POLICY, "the old pager policy refused to restart", 0, e);
	} else {
		st.swaps++;
	}
	for (unsigned i = 0; i < n; i++)
		hook_added(drain[i]); /* first victim first: the oldest to the new policy */
	st.pager_cycles += libos_cycles() - t0;
	leave();
	return e;
}

const char *vm_pager_current(void)
{
	static char spec[POLICY_SPEC_MAX];
	if (!started)
		return "";
	policy_format(&choice, spec, sizeof(spec));
	return spec;
}

int vm_start_on(const struct vm_config *c, const struct vm_machine *m,
		const struct policy_choice *pc)
{
	if (started || !c->budget || !pc->info || pc->info->kind != POLICY_PAGER)
		return E_INVAL;
	cfg = *c;
	if (!cfg.max_pages || cfg.max_pages > VM_PAGES_MAX)
		cfg.max_pages = VM_PAGES_MAX;
	mach = m;
	int err = policy_start(pc);
	if (err)
		return err;
	started = true;
	return E_OK;
}

void vm_stop(void)
{
	if (ops && ops->fini)
		ops->fini();
	clean = NULL;
	if (mach && mach->part_unload && part >= 0)
		mach->part_unload(POLICY_PAGER, part);
	part = -1;
	clean_n = 0;
	ops = NULL;
	started = trace_mode = busy = pending_taken = false;
	pending_count = 0;
	nregions = npages = resident = evictions_since_scan = 0;
	st = (struct vm_stats){ 0 };
	pager_trace = (struct pager_trace){ 0 };
	choice = (struct policy_choice){ 0 };
}

void vm_stats(struct vm_stats *out)
{
	*out = st;
}
