/* set=switch (see below). */
#include "bench.h"

/*
 * set=switch: the timer-driven slice switch. Two environments on this core —
 * this one (A) and a partner running this program (B, role=switcher) — own the
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

static unsigned sw_me;	     /* 0 in A, 1 in B */
static uint64_t *sw_buf;     /* where this side's samples go */
static uint64_t sw_skipped;  /* warm-up switches seen so far */
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

/* role=switcher: shared= the control page's slot. */
noreturn_fn void role_switcher(void)
{
	struct sw_shared *sh = SW;
	if (sys_map(libos_arg_u64("shared", CAP_SLOTS), SW_VA, PROT_R | PROT_W) != 0)
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

static void switch_figure(const struct bench_run *r, const char *name, bool upcall)
{
	uint64_t rounds = r->rounds, core = r->core;
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
	if (started && start_partner(r, b, "role=switcher shared=%lld", (long long)ctl) != 0) {
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
		PROF_BEGIN();
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
		report_x(r, name, rounds, extra);
	}
	for (unsigned i = 0; i < npages; i++) {
		CHECK(sys_unmap((uint64_t)page[i]));
		CHECK(sys_cap_revoke((uint64_t)page[i]));
		CHECK(sys_frame_free((uint64_t)page[i]));
	}
}

void set_switch(const struct bench_run *r)
{
	/* With the upcall first: it learns the slice length both figures record. */
	switch_figure(r, "slice_switch_timer", true);
	switch_figure(r, "slice_switch_timer_no_upcall", false);
}
