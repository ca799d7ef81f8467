/*
 * Kernel-path microbenchmarks (issue: the syscall surface), printed as
 * EXOJSON figures: cycles read with rdtsc in user mode, median/min/max over
 * `rounds` runs after a warm-up. Under `-icount shift=0` the TSC counts
 * instructions, so the same figures are exact path lengths.
 *
 * arg: bits 0..7 the set (1: the syscall surface; 2: frame
 * allocate+map+unmap+free alone, one figure per core, for runs on N cores
 * at once: the time per operation while N cores do the same; 3: upcalls,
 * protected control transfer and environment switches by SYS_YIELD; 4:
 * revocation of one frame and operations on another core's environments;
 * 5: the timer-driven slice switch; 9, 10, 11, 12: partner roles that sets
 * 3, 4 and 5 start themselves), bits 8..31 rounds (0: 10000), bits 32..:
 * how many cores run it at once (recorded in the figures). Partner roles
 * are internal.
 */
#include <exo/stats.h>
#include <libos/libos.h>

#define VA 0x30000000ULL
#define MAX_ROUNDS 20000
#define WARMUP 200
#define RAW_NR SYSCALL_RAW_NR

static uint64_t samples[MAX_ROUNDS];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* One figure from samples[0..n); extra: more JSON members (",\"k\":v"), or "". */
static void report_x(const char *name, uint64_t n, uint64_t core, uint64_t ncores,
		     const char *extra)
{
	struct stats s = stats_u64(samples, n);
	printf("EXOJSON {\"figure\":\"%s\",\"unit\":\"cycles\",\"median\":%llu,\"min\":%llu,"
	       "\"max\":%llu,\"n\":%llu,\"core\":%llu,\"cores_running\":%llu%s}\n",
	       name, (unsigned long long)s.median, (unsigned long long)s.min,
	       (unsigned long long)s.max, (unsigned long long)n, (unsigned long long)core,
	       (unsigned long long)ncores, extra);
}

static void report(const char *name, uint64_t n, uint64_t core, uint64_t ncores)
{
	report_x(name, n, core, ncores, "");
}

/* Time op() `rounds` times after a warm-up; failures make the figure worthless: count them. */
#define MEASURE_X(name, extra, rounds, core, ncores, op)               \
	do {                                                            \
		for (int w_ = 0; w_ < WARMUP; w_++) {                   \
			op;                                             \
		}                                                       \
		for (uint64_t i_ = 0; i_ < (rounds); i_++) {            \
			uint64_t t0_ = rdtsc();                         \
			op;                                             \
			samples[i_] = rdtsc() - t0_;                    \
		}                                                       \
		report_x(name, rounds, core, ncores, extra);            \
	} while (0)
#define MEASURE(name, rounds, core, ncores, op) MEASURE_X(name, "", rounds, core, ncores, op)

static unsigned failures;
#define CHECK(x)                     \
	do {                         \
		if ((x) < 0)         \
			failures++;  \
	} while (0)

static void alloc_map_unmap_free(void)
{
	int64_t s = sys_frame_alloc(FRAME_ANY);
	CHECK(s);
	CHECK(sys_map((uint64_t)s, VA, PROT_R | PROT_W));
	CHECK(sys_unmap((uint64_t)s));
	CHECK(sys_frame_free((uint64_t)s));
}

/* Every frame a figure's environments had is free again: a leak makes the figure worthless. */
static void frames_back(const char *name, int64_t before)
{
	int64_t after = sys_frame_count();
	if (after != before) {
		printf("bench: %s: %lld free frames before, %lld after\n", name, (long long)before,
		       (long long)after);
		failures++;
	}
}

/*
 * Environment create+destroy on core `home` (this core, or another whose
 * kernel instance does it: two round trips of messages), `rounds` times
 * after a warm-up. Destroy returns every frame the environment had (its
 * page tables): the free-frame count must come back to where it was.
 */
static void env_create_destroy(const char *name, uint64_t rounds, uint64_t core, uint64_t home,
			       uint64_t ncores)
{
	int64_t before = sys_frame_count();
	MEASURE(name, rounds, core, ncores, {
		int64_t e = sys_env_create(home);
		CHECK(e);
		CHECK(sys_env_destroy((uint64_t)e));
		CHECK(sys_cap_delete((uint64_t)e));
	});
	frames_back(name, before);
}

/* Set 3: exceptions handled at user level, PCT, switching environments. */
#define LAZY_VA 0x40000000ULL
static int64_t lazy_slot = -1;

static bool bench_fault(struct upcall_fault *uf)
{
	if (uf->vector == 6) { /* ud2: skip it */
		uf->regs.rip += 2;
		return true;
	}
	if (uf->vector == 14 && (uf->addr & ~0xfffULL) == LAZY_VA) {
		lazy_slot = sys_frame_alloc(FRAME_ANY);
		return lazy_slot >= 0 && sys_map((uint64_t)lazy_slot, LAZY_VA, PROT_R | PROT_W) == 0;
	}
	return false;
}

void pct_server(uint64_t badge, const uint64_t a[6], uint64_t r[6])
{
	r[0] = a[0] + 1;
}

static uint8_t server_stack[4096] __attribute__((aligned(16)));

static void upcall_set(uint64_t rounds, uint64_t self_prog, uint64_t core, uint64_t ncores)
{
	if (libos_set_fault_handler(bench_fault) != 0)
		failures++;
	MEASURE("exception_upcall_round_trip", rounds, core, ncores, __asm__ volatile("ud2"));
	/* A page fault whose handler maps a frame; unmapping and freeing are outside the timing. */
	for (int w = 0; w < WARMUP; w++) {
		(void)*(volatile uint64_t *)LAZY_VA;
		CHECK(sys_frame_free((uint64_t)lazy_slot));
	}
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		(void)*(volatile uint64_t *)LAZY_VA;
		samples[i] = rdtsc() - t0;
		CHECK(sys_frame_free((uint64_t)lazy_slot));
	}
	report("page_fault_upcall_map_round_trip", rounds, core, ncores);

	/* PCT: a server environment on this core running this same program. */
	int64_t server = sys_env_create(core);
	int64_t ep = pct_ep_create((uint64_t)server, server_stack, sizeof(server_stack));
	CHECK(server);
	CHECK(ep);
	CHECK(sys_env_start((uint64_t)server, self_prog, 9));
	uint64_t r[6];
	MEASURE("pct_call_reply", rounds, core, ncores,
		CHECK(pct_call((uint64_t)ep, (uint64_t[6]){ 1 }, r)));
	CHECK(sys_cap_delete((uint64_t)ep));
	CHECK(sys_cap_delete((uint64_t)server));

	/*
	 * Two environments yielding to each other: one sample is a round trip,
	 * two switches (SYS_YIELD, not the timer: set 5 times the slice switch).
	 */
	int64_t partner = sys_env_create(core);
	CHECK(partner);
	CHECK(sys_env_start((uint64_t)partner, self_prog, 10));
	MEASURE_X("yield_round_trip_two_envs", ",\"switches\":2", rounds, core, ncores,
		  sys_yield());
	CHECK(sys_cap_delete((uint64_t)partner));
}

/*
 * Set 4: revocation of one named frame, asked by this environment of an
 * owner on this core (local) or the next (remote), the owner's libOS
 * returning it (cooperative) or having no revocation handler (abort: unmap,
 * shootdown of the cores it is mapped on, generation bump, repossession
 * record). Timed from the request until the frame can be allocated again
 * (FRAME_ALLOC of that frame number stops saying E_BUSY; the frame goes back
 * outside the timing). The owner holds the frames mapped and written, so
 * every revocation has a live TLB entry to shoot down. It can hold only
 * OWNER_MAX at once (capability slots), so after each batch it is asked to
 * take as many new ones (outside the timing), until `rounds` revocations
 * after a warm-up of WARMUP.
 */
#define OWNER_VA 0x50000000ULL
#define SHARED_VA 0x4f000000ULL
#define OWNER_MAX 150 /* frames the owner holds: 256 capability slots, ~50 for this image */

struct shared {
	volatile uint64_t refill; /* batches asked for (the first at the start) */
	volatile uint64_t filled; /* batches the owner holds: == refill when it is ready */
	volatile uint64_t bad;	  /* the owner failed to set up */
	volatile uint64_t stop;	  /* the owner is to exit */
	volatile uint64_t frame[OWNER_MAX]; /* the frames it holds, by number */
};

static int64_t owned[OWNER_MAX];
static unsigned nowned;

static void give_back(struct upcall_revoke *ur)
{
	struct shared *sh = (struct shared *)SHARED_VA;
	if (ur->kind == REVOKE_TAKEN)
		return;
	for (unsigned i = 0; i < nowned; i++) {
		if (owned[i] >= 0 && (ur->frame == FRAME_ANY || sh->frame[i] == ur->frame)) {
			(void)sys_frame_free((uint64_t)owned[i]);
			owned[i] = -1;
			return;
		}
	}
}

/*
 * Hold n frames, mapped and written. The last batch was all revoked: given
 * back by give_back (slot -1), or taken (the capability is stale, its
 * binding gone; deleting it only empties the slot).
 */
static bool owner_fill(struct shared *sh, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct cap_info ci;
		if (i < nowned && owned[i] >= 0)
			(void)sys_cap_delete((uint64_t)owned[i]);
		int64_t s = sys_frame_alloc(FRAME_ANY);
		owned[i] = s;
		if (s < 0 || sys_map((uint64_t)s, OWNER_VA + i * 4096ULL, PROT_R | PROT_W) != 0 ||
		    sys_cap_inspect((uint64_t)s, &ci) != 0)
			return false;
		*(volatile uint64_t *)(OWNER_VA + i * 4096ULL) = i;
		sh->frame[i] = ci.object;
	}
	nowned = n;
	uint64_t taken[64];
	(void)sys_call6(SYS_REPOSS_READ, (uint64_t)taken, 0, 0, 0, 0, 0); /* records not kept */
	return true;
}

/* Partner role 11: arg bits 8..15 mode (0 cooperative, 1 no handler), 16..31 the shared
 * frame's slot, 32..47 how many frames to hold. */
static noreturn_fn void owner(uint64_t arg)
{
	unsigned mode = (arg >> 8) & 0xff, n = (unsigned)MIN((arg >> 32) & 0xffff, OWNER_MAX);
	struct shared *sh = (struct shared *)SHARED_VA;
	if (sys_map((arg >> 16) & 0xffff, SHARED_VA, PROT_R | PROT_W) != 0)
		sys_exit(1);
	if (mode == 0 && libos_set_revoke_handler(give_back) != 0)
		sh->bad = 1;
	while (!sh->stop && !sh->bad) {
		uint64_t want = sh->refill;
		if (sh->filled != want) {
			if (!owner_fill(sh, n))
				sh->bad = 1;
			sh->filled = want;
		}
		sys_yield();
	}
	sys_exit(sh->bad ? 1 : 0);
}

/* While waiting on the owner: give it this core if it lives here, else spin politely. */
static void let_owner_run(uint64_t home, uint64_t core)
{
	if (home == core)
		sys_yield();
	else
		__asm__ volatile("pause");
}

static void revoke_figure(const char *name, uint64_t rounds, uint64_t core, uint64_t home,
			  unsigned mode, uint64_t self_prog, uint64_t ncores)
{
	int64_t o = sys_env_create(home);
	if (o == E_INVAL)
		return; /* no such core: no remote figures on one core */
	CHECK(o);
	int64_t f = sys_frame_alloc(FRAME_ANY);
	CHECK(f);
	CHECK(sys_map((uint64_t)f, SHARED_VA, PROT_R | PROT_W));
	struct shared *sh = (struct shared *)SHARED_VA;
	sh->filled = sh->bad = sh->stop = 0;
	sh->refill = 1;
	int64_t in_o = sys_cap_grant((uint64_t)f, (uint64_t)o, GRANT_COPY);
	CHECK(in_o);
	uint64_t total = rounds + WARMUP, n = MIN(total, (uint64_t)OWNER_MAX);
	CHECK(sys_env_start((uint64_t)o, self_prog,
			    11 | (uint64_t)mode << 8 | (uint64_t)in_o << 16 | n << 32));
	uint64_t k = 0;
	for (uint64_t j = 0; j < total; j++) {
		uint64_t i = j % n;
		if (i == 0) {
			/* A batch to revoke: the owner takes n frames (again), outside the timing. */
			sh->refill = j / n + 1;
			while (sh->filled != sh->refill && !sh->bad &&
			       sys_env_status((uint64_t)o) == E_AGAIN)
				let_owner_run(home, core);
			if (sh->filled != sh->refill || sh->bad) {
				printf("bench: %s: the owner did not take batch %llu\n", name,
				       (unsigned long long)sh->refill);
				failures++;
				break;
			}
		}
		uint64_t frame = sh->frame[i], t0;
		int64_t err, got;
		do {
			t0 = rdtsc();
			if ((err = sys_call6(SYS_REVOKE_ASK, (uint64_t)o, frame, 1, 0, 0, 0)) == E_BUSY)
				sys_yield(); /* the last request is still being closed: not timed */
		} while (err == E_BUSY);
		if (err) {
			printf("bench: %s: REVOKE_ASK: %lld\n", name, (long long)err);
			failures++;
			break;
		}
		/*
		 * Locally the owner runs only when we yield; remotely we watch. (Under
		 * -icount the vCPUs take turns on one thread in quanta of up to a
		 * slice, so a remote figure's median there is QEMU's turn-taking;
		 * its minimum is the path. docs/revocation.md.)
		 */
		while ((got = sys_frame_alloc(frame)) == E_BUSY)
			let_owner_run(home, core);
		uint64_t t = rdtsc() - t0;
		CHECK(got);
		CHECK(sys_frame_free((uint64_t)got));
		if (j >= WARMUP)
			samples[k++] = t;
	}
	report(name, k, core, ncores);
	/* The owner exits and is destroyed now, not at a later slice: the frame count settles. */
	sh->stop = 1;
	while (sys_env_status((uint64_t)o) == E_AGAIN)
		let_owner_run(home, core);
	CHECK(sys_env_destroy((uint64_t)o));
	CHECK(sys_cap_delete((uint64_t)o));
	CHECK(sys_unmap((uint64_t)f));
	CHECK(sys_cap_revoke((uint64_t)f));
	CHECK(sys_frame_free((uint64_t)f));
}

static void revoke_set(uint64_t rounds, uint64_t self_prog, uint64_t core, uint64_t ncores)
{
	uint64_t other = core + 1;
	revoke_figure("revoke_local_cooperative", rounds, core, core, 0, self_prog, ncores);
	revoke_figure("revoke_remote_cooperative", rounds, core, other, 0, self_prog, ncores);
	revoke_figure("revoke_local_abort", rounds, core, core, 1, self_prog, ncores);
	revoke_figure("revoke_remote_abort", rounds, core, other, 1, self_prog, ncores);
	/* Operations carried out by another core's kernel instance (messages), and locally. */
	env_create_destroy("env_create_destroy_local", rounds, core, core, ncores);
	int64_t probe = sys_env_create(other);
	if (probe == E_INVAL)
		return; /* one core: no remote figure */
	CHECK(probe);
	CHECK(sys_env_destroy((uint64_t)probe));
	CHECK(sys_cap_delete((uint64_t)probe));
	env_create_destroy("env_create_destroy_remote", rounds, core, other, ncores);
}

/*
 * Set 5: the timer-driven slice switch. Two environments on this core —
 * this one (A) and a partner running this program (B, role 12) — own the
 * core's slots alternately (SLOT_ANY gives the lowest free slot: A, B, A,
 * B, ...), so every slice the LAPIC timer ends is followed by the other
 * environment's. Both spin storing rdtsc into a page they share at every
 * iteration: whichever instruction the timer interrupts, the outgoing
 * side's last store is at most one loop iteration before it. The switch is
 * the gap from that store to the incoming side's first rdtsc:
 *  - slice_switch_timer: both registered a scheduler (UPCALL_SCHED), so
 *    what runs first is the libOS's scheduler entry, and its handler
 *    (sw_on_slice) takes the first timestamp: timer interrupt, the kernel's
 *    run loop to the next slot, address-space switch, upcall frame, the
 *    libOS entry and dispatch up to the handler's rdtsc;
 *  - slice_switch_timer_no_upcall: no scheduler: the kernel resumes the
 *    interrupted context, and the spin loop itself notices the switch
 *    (the other side stored since its own last store).
 * Nothing is subtracted: a sample also holds the rest of the outgoing
 * side's spin iteration and, without the upcall, the start of the incoming
 * side's (one iteration is rdtsc, a store, pause, a few loads and branches:
 * about 15 instructions). Both directions are timed, half the samples each
 * (A keeps its own, B's come through shared pages); each side skips its
 * first WARMUP / 2 switches.
 */
#define SW_VA 0x60000000ULL
#define SW_PAGES ((MAX_ROUNDS / 2 * 8 + 4095) / 4096) /* B's samples, after the control page */
#define SW_GIVE_UP_S 300 /* TSC seconds: a hang guard, far beyond 10,000 slices of 1 ms */

struct sw_shared {
	volatile uint64_t last[2];  /* the latest timestamp each side stored: [0] A, [1] B */
	volatile uint64_t n[2];	    /* samples each side recorded */
	volatile uint64_t quota[2]; /* samples each side is to record */
	volatile uint64_t ready;    /* B is set up and about to spin */
	volatile uint64_t bad;	    /* B could not set up */
	volatile uint64_t stop;	    /* both quotas are full: B is to exit */
	volatile uint64_t slice_ns; /* the slice length the scheduler upcall gives (0: none) */
	uint64_t upcall;	    /* timestamps at the scheduler upcall (1) or in the loop (0) */
	uint64_t npages;	    /* B's sample pages, and their slots in B: */
	uint64_t slot[SW_PAGES];
};
_Static_assert(sizeof(struct sw_shared) <= 4096, "the control page is one page");

#define SW ((struct sw_shared *)SW_VA)

static unsigned sw_me;	    /* 0 in A, 1 in B */
static uint64_t *sw_buf;    /* where this side's samples go */
static uint64_t sw_skipped; /* warm-up switches seen so far */
static uint64_t sw_slice_ns; /* in A: the slice length the last upcall figure learnt */

static void sw_record(uint64_t gap)
{
	struct sw_shared *sh = SW;
	if (sw_skipped < WARMUP / 2) {
		sw_skipped++;
		return;
	}
	uint64_t n = sh->n[sw_me];
	if (n < sh->quota[sw_me]) {
		sw_buf[n] = gap;
		sh->n[sw_me] = n + 1;
	}
	if (sh->n[0] >= sh->quota[0] && sh->n[1] >= sh->quota[1])
		sh->stop = 1;
}

/*
 * The scheduler upcall, first at every slice start. The other side stored
 * since this side last did: it ran in between, so this is a switch. (If the
 * upcall itself was preempted and resumed, t is older than the other's
 * stores and nothing is recorded.)
 */
static void sw_on_slice(struct upcall_sched *us)
{
	uint64_t t = rdtsc();
	struct sw_shared *sh = SW;
	uint64_t out = sh->last[!sw_me], mine = sh->last[sw_me];
	sh->last[sw_me] = t;
	if (out > mine && t > out)
		sw_record(t - out);
	sh->slice_ns = us->slice_ns;
}

/* Store timestamps until stop (or, in A, the hang guard: false). */
static bool sw_spin(bool upcall, uint64_t give_up)
{
	struct sw_shared *sh = SW;
	unsigned me = sw_me;
	uint64_t prev = rdtsc();
	sh->last[me] = prev;
	for (;;) {
		uint64_t t = rdtsc();
		if (!upcall) {
			uint64_t out = sh->last[!me];
			if (out > prev && t > out)
				sw_record(t - out);
		}
		sh->last[me] = t;
		prev = t;
		__asm__ volatile("pause");
		if (sh->stop)
			return true;
		if (t > give_up)
			return false;
	}
}

/* Partner role 12: arg bits 8..23 the control page's slot. */
static noreturn_fn void sw_partner(uint64_t arg)
{
	struct sw_shared *sh = SW;
	if (sys_map((arg >> 8) & 0xffff, SW_VA, PROT_R | PROT_W) != 0)
		sys_exit(1);
	for (uint64_t i = 0; i < sh->npages; i++) {
		if (sys_map(sh->slot[i], SW_VA + (i + 1) * 4096, PROT_R | PROT_W) != 0) {
			sh->bad = 1;
			sys_exit(1);
		}
	}
	sw_me = 1;
	sw_buf = (uint64_t *)(SW_VA + 4096);
	if (sh->upcall && libos_set_sched_handler(sw_on_slice) != 0) {
		sh->bad = 1;
		sys_exit(1);
	}
	sh->ready = 1;
	sw_spin(sh->upcall, ~0ULL);
	sys_exit(libos_set_sched_handler(NULL) == 0 ? 0 : 1);
}

static void switch_figure(const char *name, bool upcall, uint64_t rounds, uint64_t self_prog,
			  uint64_t core, uint64_t ncores)
{
	unsigned failed = failures;
	struct sw_shared *sh = SW;
	uint64_t qa = (rounds + 1) / 2, qb = rounds / 2;
	unsigned npages = 1 + (unsigned)((qb * 8 + 4095) / 4096);
	int64_t page[1 + SW_PAGES];
	for (unsigned i = 0; i < npages; i++) {
		page[i] = sys_frame_alloc(FRAME_ANY);
		CHECK(page[i]);
		CHECK(sys_map((uint64_t)page[i], SW_VA + i * 4096ULL, PROT_R | PROT_W));
	}
	if (failures != failed)
		return;
	/* From here B, its slots and its page tables come and go: every frame must come back. */
	int64_t before = sys_frame_count();
	for (unsigned i = 0; i < sizeof(*sh) / 8; i++)
		((volatile uint64_t *)sh)[i] = 0;
	sh->quota[0] = qa;
	sh->quota[1] = qb;
	sh->upcall = upcall;
	sh->npages = npages - 1;
	sw_me = 0;
	sw_buf = samples;
	sw_skipped = 0;

	int64_t b = sys_env_create(core), ctl = -1;
	CHECK(b);
	for (unsigned i = 0; i < npages; i++) {
		int64_t in_b = sys_cap_grant((uint64_t)page[i], (uint64_t)b, GRANT_COPY);
		CHECK(in_b);
		if (i == 0)
			ctl = in_b;
		else
			sh->slot[i - 1] = (uint64_t)in_b;
	}
	/* Every slot of this core, alternately ours and B's (B created: it may own slots). */
	int64_t slot[64];
	unsigned nslots = 0;
	while (nslots < 64) {
		uint64_t owner_env = nslots % 2 ? (uint64_t)b : ENV_SELF;
		int64_t sl = sys_call6(SYS_SLOT_ALLOC, core, SLOT_ANY, owner_env, 0, 0, 0);
		if (sl < 0)
			break;
		slot[nslots++] = sl;
	}
	if (nslots < 2) {
		printf("bench: %s: %u slots: need two, one each\n", name, nslots);
		failures++;
	}
	/* Without a slot of its own B would never run (nor exit): then it is not started. */
	bool started = failures == failed;
	if (started && sys_env_start((uint64_t)b, self_prog, 12 | (uint64_t)ctl << 8) != 0) {
		started = false;
		failures++;
	}
	while (started && !sh->ready && !sh->bad && sys_env_status((uint64_t)b) == E_AGAIN)
		sys_yield();
	struct sys_time tm;
	CHECK(sys_time(&tm));
	bool done = false;
	if (started && sh->ready) {
		if (upcall)
			CHECK(libos_set_sched_handler(sw_on_slice));
		done = sw_spin(upcall, rdtsc() + tm.cycles_hz * SW_GIVE_UP_S);
		if (upcall)
			CHECK(libos_set_sched_handler(NULL));
	}
	sh->stop = 1;
	int64_t st = -1;
	while (started && (st = sys_env_status((uint64_t)b)) == E_AGAIN)
		sys_yield();
	if (!done || st != 0) {
		printf("bench: %s: partner %s (exit %lld); %llu+%llu of %llu switches\n", name,
		       sh->ready ? "ready" : "not ready", (long long)st,
		       (unsigned long long)sh->n[0], (unsigned long long)sh->n[1],
		       (unsigned long long)rounds);
		failures++;
	}
	for (unsigned i = 0; i < nslots; i++)
		CHECK(sys_call6(SYS_SLOT_FREE, (uint64_t)slot[i], 0, 0, 0, 0, 0));
	CHECK(sys_env_destroy((uint64_t)b));
	CHECK(sys_cap_delete((uint64_t)b));
	frames_back(name, before);
	if (done && st == 0) {
		const uint64_t *bs = (const uint64_t *)(SW_VA + 4096);
		for (uint64_t i = 0; i < qb; i++)
			samples[qa + i] = bs[i];
		if (sh->slice_ns)
			sw_slice_ns = sh->slice_ns;
		char extra[96];
		ksnprintf(extra, sizeof(extra), ",\"switches\":1,\"slice_ns\":%llu,\"slots\":%u",
			  (unsigned long long)sw_slice_ns, nslots);
		report_x(name, rounds, core, ncores, extra);
	}
	for (unsigned i = 0; i < npages; i++) {
		CHECK(sys_unmap((uint64_t)page[i]));
		CHECK(sys_cap_revoke((uint64_t)page[i]));
		CHECK(sys_frame_free((uint64_t)page[i]));
	}
}

static void switch_set(uint64_t rounds, uint64_t self_prog, uint64_t core, uint64_t ncores)
{
	/* With the upcall first: it learns the slice length both figures record. */
	switch_figure("slice_switch_timer", true, rounds, self_prog, core, ncores);
	switch_figure("slice_switch_timer_no_upcall", false, rounds, self_prog, core, ncores);
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 9 || arg == 10) /* partner roles: the server waits for calls; the yielder yields */
		for (;;)
			sys_yield();
	if ((arg & 0xff) == 11)
		owner(arg);
	if ((arg & 0xff) == 12)
		sw_partner(arg);
	uint64_t set = arg & 0xff, rounds = (arg >> 8) & 0xffffff;
	if (rounds == 0 || rounds > MAX_ROUNDS)
		rounds = 10000;
	uint64_t ncores = (arg >> 32) & 0xff ? (arg >> 32) & 0xff : 1;
	if (set == 1) {
		MEASURE("syscall_sysret_raw", rounds, core, ncores, sys_call6(RAW_NR, 0, 0, 0, 0, 0, 0));
		MEASURE("null_syscall", rounds, core, ncores, sys_core_id());
		int64_t f = sys_frame_alloc(FRAME_ANY);
		CHECK(f);
		MEASURE("cap_mint_delete", rounds, core, ncores, {
			int64_t c = sys_cap_mint((uint64_t)f, CAP_R_READ, 0);
			CHECK(c);
			CHECK(sys_cap_delete((uint64_t)c));
		});
		CHECK(sys_frame_free((uint64_t)f));
		MEASURE("frame_alloc_map_unmap_free", rounds, core, ncores, alloc_map_unmap_free());
		env_create_destroy("env_create_destroy", rounds, core, core, ncores);
	} else if (set == 2) {
		MEASURE("frame_alloc_map_unmap_free", rounds, core, ncores, alloc_map_unmap_free());
	} else if (set == 3) {
		upcall_set(rounds, libos_self_prog, core, ncores);
	} else if (set == 4) {
		revoke_set(rounds, libos_self_prog, core, ncores);
	} else if (set == 5) {
		switch_set(rounds, libos_self_prog, core, ncores);
	}
	if (failures)
		printf("bench: %u operations failed: the figures above are not valid\n", failures);
	return failures ? 1 : 0;
}
