/* set=revoke (see below). */
#include "bench.h"

/*
 * set=revoke: revocation of one named frame, asked by this environment of an
 * owner on this core (local) or the next (remote), the owner's libOS
 * returning it (cooperative) or having no revocation handler (abort: unmap,
 * shootdown of the cores it is mapped on, generation bump, repossession
 * record). Timed from the request until the frame can be allocated again
 * (FRAME_ALLOC of that frame number stops saying E_BUSY; the frame goes back
 * outside the timing). The owner holds the frames mapped and written, so
 * every revocation has a live TLB entry to shoot down. It holds OWNER_MAX
 * at once, so after each batch it is asked to take as many new ones
 * (outside the timing), until `rounds` revocations after a warm-up of
 * WARMUP. (The batch figures below hold up to BATCH_MAX.)
 */
#define OWNER_VA 0x50000000ULL
#define SHARED_VA 0x4f000000ULL
/* Frames the owner holds for the one-frame figures, named in the shared page. */
#define OWNER_MAX 136
/* Frames it holds for the largest batch (its table grows to ~4,230 of CAP_SLOTS). */
#define BATCH_MAX 4096

/* set=spread: sharers on other cores, and the frames each maps (a few: one page holds it all). */
#define SPREAD_MAX 8
#define SPREAD_FRAMES 16
#define SHARER_VA 0x51000000ULL

struct shared {
	volatile uint64_t refill; /* batches asked for (the first at the start) */
	volatile uint64_t filled; /* batches the owner holds: == refill when it is ready */
	volatile uint64_t bad;	  /* the owner failed to set up */
	volatile uint64_t stop;	  /* the owner is to exit */
	volatile uint64_t frame[OWNER_MAX]; /* the first frames it holds, by number */
	/* set=spread: the owner grants each frame to every sharer, which maps it */
	volatile uint64_t nsharers;				/* sharers (0: set=revoke) */
	volatile int64_t sharer_env[SPREAD_MAX];		/* in the owner's table */
	volatile int64_t share_slot[SPREAD_MAX][SPREAD_FRAMES]; /* in each sharer's table */
	volatile uint64_t mapped[SPREAD_MAX];			/* the batch each has mapped */
};
_Static_assert(sizeof(struct shared) <= 4096, "the shared page");

static int64_t owned[BATCH_MAX];
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
		struct cap_info ci = { 0 };
		if (i < nowned && owned[i] >= 0) {
			(void)sys_cap_revoke(
			    (uint64_t)owned[i]); /* the sharers' copies (set=spread) */
			(void)sys_cap_delete((uint64_t)owned[i]);
		}
		int64_t s = sys_frame_alloc(FRAME_ANY);
		owned[i] = s;
		if (s < 0 || sys_map((uint64_t)s, OWNER_VA + i * 4096ULL, PROT_R | PROT_W) != 0 ||
		    sys_cap_inspect((uint64_t)s, &ci) != 0)
			return false;
		*(volatile uint64_t *)(OWNER_VA + i * 4096ULL) = i;
		if (i < OWNER_MAX)
			sh->frame[i] = ci.object;
		for (unsigned j = 0; j < sh->nsharers && i < SPREAD_FRAMES; j++) {
			int64_t c =
			    sys_cap_grant((uint64_t)s, (uint64_t)sh->sharer_env[j], GRANT_COPY);
			if (c < 0)
				return false;
			sh->share_slot[j][i] = c;
		}
	}
	nowned = n;
	uint64_t taken[64];
	(void)sys_call6(SYS_REPOSS_READ, (uint64_t)taken, 0, 0, 0, 0, 0); /* records not kept */
	return true;
}

/* role=owner: mode= 0 cooperative, 1 no handler, 2 downloaded handler; shared= the shared page's slot; frames= to hold. */
noreturn_fn void role_owner(void)
{
	unsigned mode = (unsigned)libos_arg_u64("mode", 0);
	unsigned n = (unsigned)MIN(libos_arg_u64("frames", 0), BATCH_MAX);
	struct shared *sh = (struct shared *)SHARED_VA;
	if (sys_map(libos_arg_u64("shared", CAP_SLOTS), SHARED_VA, PROT_R | PROT_W) != 0)
		sys_exit(1);
	if (mode == 0 && libos_set_revoke_handler(give_back) != 0)
		sh->bad = 1;
	if (mode == 2 && bpf_owner_handler() != 0) /* set=bpf: the handler runs in the kernel */
		sh->bad = 1;
	while (!sh->stop && !sh->bad) {
		uint64_t want = sh->refill;
		if (sh->filled != want) {
			if (!owner_fill(sh, n))
				sh->bad = 1;
			sh->filled = want;
		}
		if (mode == 2) /* its predicate: entered again when notified */
			(void)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0);
		sys_yield();
	}
	sys_exit(sh->bad ? 1 : 0);
}

/*
 * role=sharer (set=spread): index= which sharer. Maps every frame the owner
 * granted it for the batch, writes each (a live TLB entry on this core),
 * says so, and waits for the next batch.
 */
noreturn_fn void role_sharer(void)
{
	unsigned me = (unsigned)MIN(libos_arg_u64("index", 0), SPREAD_MAX - 1);
	struct shared *sh = (struct shared *)SHARED_VA;
	if (sys_map(libos_arg_u64("shared", CAP_SLOTS), SHARED_VA, PROT_R | PROT_W) != 0)
		sys_exit(1);
	while (!sh->stop) {
		uint64_t batch = sh->filled;
		/*
		 * The last batch's copies are gone from this table: revoked (the
		 * owner's refill revokes each root first), or taken with their
		 * frame. Their slots may hold this batch's copies now.
		 */
		if (batch != sh->mapped[me] && batch == sh->refill) {
			for (unsigned i = 0; i < SPREAD_FRAMES; i++) {
				uint64_t va = SHARER_VA + i * 4096ULL;
				if (sys_map((uint64_t)sh->share_slot[me][i], va, PROT_R | PROT_W) !=
				    0)
					sh->bad = 1;
				else
					*(volatile uint64_t *)va += 1;
			}
			sh->mapped[me] = batch;
		}
		__asm__ volatile("pause");
		sys_yield();
	}
	sys_exit(0);
}

/* While waiting on the owner: give it this core if it lives here, else spin politely. */
static void let_owner_run(uint64_t home, uint64_t core)
{
	if (home == core)
		sys_yield();
	else
		__asm__ volatile("pause");
}

/*
 * The timed part of a forced revocation of count frames from owner o (home
 * core home): ask, then let the owner's core act until the frames are back.
 * The cycles in *t; false (said, as figure) if the request failed. Entered
 * with the profile paused, left running.
 */
static bool timed_take(int64_t o, uint64_t home, uint64_t core, uint64_t count,
		       const char *figure, uint64_t *t)
{
	int64_t before = sys_frame_count(), err;
	PROF_RESUME();
	/* Ask, then let the owner's core act (here: the yield); the count is checked after. */
	uint64_t t0 = rdtsc();
	while ((err = sys_call6(SYS_REVOKE_ASK, (uint64_t)o, FRAME_ANY, count, 0, 0, 0)) == E_BUSY)
		let_owner_run(home, core);
	for (;;) {
		let_owner_run(home, core);
		*t = rdtsc() - t0;
		PROF_PAUSE();
		bool done = err || sys_frame_count() >= before + (int64_t)count;
		PROF_RESUME();
		if (done)
			break;
	}
	if (err)
		printf("bench: %s: REVOKE_ASK: %lld\n", figure, (long long)err);
	return !err;
}

void revoke_figure(const struct bench_run *r, const char *name, uint64_t home, unsigned mode)
{
	uint64_t rounds = r->rounds, core = r->core;
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
	CHECK(start_partner(r, o, "role=owner mode=%u shared=%lld frames=%llu", mode,
			    (long long)in_o, (unsigned long long)n));
	uint64_t k = 0;
	for (uint64_t j = 0; j < total; j++) {
		uint64_t i = j % n;
		if (j == WARMUP)
			PROF_BEGIN();
		if (i == 0) {
			/* A batch to revoke: the owner takes n frames (again), outside the timing. */
			sh->refill = j / n + 1;
			if (mode == 2)
				CHECK(sys_call6(SYS_NOTIFY, (uint64_t)o, 1, 0, 0, 0, 0));
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
			if ((err = sys_call6(SYS_REVOKE_ASK, (uint64_t)o, frame, 1, 0, 0, 0)) ==
			    E_BUSY)
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
		PROF_PAUSE();
		CHECK(got);
		CHECK(sys_frame_free((uint64_t)got));
		PROF_RESUME();
		if (j >= WARMUP)
			samples[k++] = t;
	}
	report(r, name, k);
	/* The owner exits and is destroyed now, not at a later slice: the frame count settles. */
	sh->stop = 1;
	if (mode == 2)
		CHECK(sys_call6(SYS_NOTIFY, (uint64_t)o, 1, 0, 0, 0, 0));
	while (sys_env_status((uint64_t)o) == E_AGAIN)
		let_owner_run(home, core);
	CHECK(sys_env_destroy((uint64_t)o));
	CHECK(sys_cap_delete((uint64_t)o));
	CHECK(sys_unmap((uint64_t)f));
	CHECK(sys_cap_revoke((uint64_t)f));
	CHECK(sys_frame_free((uint64_t)f));
}

/*
 * Revoking `count` frames at once from an owner with no handler (abort):
 * REVOKE_ASK(FRAME_ANY, count), timed until all count are free again (the
 * free-frame count says so). The owner holds MAX(count, OWNER_MAX) frames,
 * mapped and written, refilled outside the timing before every sample. One
 * figure per batch size, "frames" and "held" in the record: per frame =
 * median / frames. Fewer samples for the big batches (each refill maps
 * thousands of frames).
 */
#define BATCH_ROUNDS 20
static void revoke_batch_figure(const struct bench_run *r, uint64_t home, uint64_t count)
{
	uint64_t core = r->core, rounds = MIN(r->rounds, (uint64_t)BATCH_ROUNDS);
	uint64_t held = MAX(count, (uint64_t)OWNER_MAX);
	if (count > 256)
		rounds = MIN(rounds, 5ULL);
	int64_t o = sys_env_create(home);
	if (o == E_INVAL)
		return;
	CHECK(o);
	int64_t f = sys_frame_alloc(FRAME_ANY);
	CHECK(f);
	CHECK(sys_map((uint64_t)f, SHARED_VA, PROT_R | PROT_W));
	struct shared *sh = (struct shared *)SHARED_VA;
	sh->filled = sh->bad = sh->stop = 0;
	sh->refill = 0;
	int64_t in_o = sys_cap_grant((uint64_t)f, (uint64_t)o, GRANT_COPY);
	CHECK(in_o);
	CHECK(start_partner(r, o, "role=owner mode=1 shared=%lld frames=%llu", (long long)in_o,
			    (unsigned long long)held));
	uint64_t k = 0;
	for (uint64_t j = 0; j < rounds + 2; j++) {
		if (j == 2)
			PROF_BEGIN();
		PROF_PAUSE();
		sh->refill = j + 1;
		while (sh->filled != sh->refill && !sh->bad &&
		       sys_env_status((uint64_t)o) == E_AGAIN)
			let_owner_run(home, core);
		if (sh->filled != sh->refill || sh->bad) {
			printf("bench: revoke_batch_abort: the owner did not take batch %llu\n",
			       (unsigned long long)sh->refill);
			failures++;
			break;
		}
		uint64_t t;
		if (!timed_take(o, home, core, count, "revoke_batch_abort", &t)) {
			failures++;
			break;
		}
		if (j >= 2)
			samples[k++] = t;
	}
	char extra[64];
	ksnprintf(extra, sizeof(extra), ",\"frames\":%llu,\"held\":%llu,\"owner_core\":%llu",
		  (unsigned long long)count, (unsigned long long)held, (unsigned long long)home);
	report_x(r, "revoke_batch_abort", k, extra);
	sh->stop = 1;
	while (sys_env_status((uint64_t)o) == E_AGAIN)
		let_owner_run(home, core);
	CHECK(sys_env_destroy((uint64_t)o));
	CHECK(sys_cap_delete((uint64_t)o));
	CHECK(sys_unmap((uint64_t)f));
	CHECK(sys_cap_revoke((uint64_t)f));
	CHECK(sys_frame_free((uint64_t)f));
}

/*
 * set=spread: revocation from an owner (this core, no handler: abort) whose
 * SPREAD_FRAMES frames are mapped on `cores` cores: by itself, and by a
 * sharer on each of cores 1..cores-1 through a copy of each root capability
 * the owner granted it. REVOKE_ASK(FRAME_ANY, count) timed until count
 * frames are free again: every binding is gone (one per core) and every
 * core's TLB shot down. Refilled and mapped everywhere before each sample,
 * outside the timing.
 */
static void revoke_spread_figure(const struct bench_run *r, unsigned cores, uint64_t count)
{
	uint64_t core = r->core, rounds = MIN(r->rounds, (uint64_t)BATCH_ROUNDS);
	int64_t o = sys_env_create(core), sharer[SPREAD_MAX] = { 0 };
	CHECK(o);
	int64_t f = sys_frame_alloc(FRAME_ANY);
	CHECK(f);
	CHECK(sys_map((uint64_t)f, SHARED_VA, PROT_R | PROT_W));
	struct shared *sh = (struct shared *)SHARED_VA;
	sh->filled = sh->bad = sh->stop = 0;
	sh->refill = 0;
	sh->nsharers = cores - 1;
	for (unsigned j = 0; j + 1 < cores; j++) {
		sharer[j] = sys_env_create((core + 1 + j) % SPREAD_MAX);
		CHECK(sharer[j]);
		sh->mapped[j] = 0;
		sh->sharer_env[j] = sys_cap_grant((uint64_t)sharer[j], (uint64_t)o, GRANT_COPY);
		CHECK(sh->sharer_env[j]);
		int64_t in_s = sys_cap_grant((uint64_t)f, (uint64_t)sharer[j], GRANT_COPY);
		CHECK(in_s);
		CHECK(start_partner(r, sharer[j], "role=sharer shared=%lld index=%u",
				    (long long)in_s, j));
	}
	int64_t in_o = sys_cap_grant((uint64_t)f, (uint64_t)o, GRANT_COPY);
	CHECK(in_o);
	CHECK(start_partner(r, o, "role=owner mode=1 shared=%lld frames=%u", (long long)in_o,
			    SPREAD_FRAMES));
	uint64_t k = 0;
	for (uint64_t j = 0; j < rounds + 2; j++) {
		if (j == 2)
			PROF_BEGIN();
		PROF_PAUSE();
		sh->refill = j + 1;
		bool ready = false;
		while (!ready && !sh->bad && sys_env_status((uint64_t)o) == E_AGAIN) {
			let_owner_run(core, core);
			ready = sh->filled == sh->refill;
			for (unsigned s = 0; s + 1 < cores; s++)
				ready = ready && sh->mapped[s] == sh->refill;
		}
		if (!ready) {
			printf("bench: revoke_spread_abort: batch %llu not mapped on %u cores\n",
			       (unsigned long long)sh->refill, cores);
			failures++;
			break;
		}
		uint64_t t;
		if (!timed_take(o, core, core, count, "revoke_spread_abort", &t)) {
			failures++;
			break;
		}
		if (j >= 2)
			samples[k++] = t;
	}
	char extra[80];
	ksnprintf(extra, sizeof(extra), ",\"frames\":%llu,\"cores_mapped\":%u",
		  (unsigned long long)count, cores);
	report_x(r, "revoke_spread_abort", k, extra);
	sh->stop = 1;
	while (sys_env_status((uint64_t)o) == E_AGAIN)
		let_owner_run(core, core);
	for (unsigned j = 0; j + 1 < cores; j++) {
		while (sys_env_status((uint64_t)sharer[j]) == E_AGAIN)
			__asm__ volatile("pause");
		CHECK(sys_env_destroy((uint64_t)sharer[j]));
	}
	CHECK(sys_env_destroy((uint64_t)o));
	CHECK(sys_cap_delete((uint64_t)o));
	/* Only now: the owner's copies of the sharers' capabilities went with it. */
	for (unsigned j = 0; j + 1 < cores; j++)
		CHECK(sys_cap_delete((uint64_t)sharer[j]));
	CHECK(sys_unmap((uint64_t)f));
	CHECK(sys_cap_revoke((uint64_t)f));
	CHECK(sys_frame_free((uint64_t)f));
}

/* Cores online, up to SPREAD_MAX: an environment can be created on each. */
static unsigned cores_online(void)
{
	unsigned n = 1;
	for (; n < SPREAD_MAX; n++) {
		int64_t p = sys_env_create(n);
		if (p == E_INVAL)
			break;
		CHECK(p);
		CHECK(sys_env_destroy((uint64_t)p));
		CHECK(sys_cap_delete((uint64_t)p));
	}
	return n;
}

void set_spread(const struct bench_run *r)
{
	unsigned online = cores_online();
	for (unsigned cores = 1; cores <= online; cores *= 2) {
		revoke_spread_figure(r, cores, 1);
		revoke_spread_figure(r, cores, SPREAD_FRAMES);
	}
}

void set_revoke(const struct bench_run *r)
{
	uint64_t core = r->core, other = core + 1;
	/* Batches: 1, 16, 256 and 4,096 frames at once. */
	for (uint64_t count = 1; count <= BATCH_MAX; count *= 16)
		revoke_batch_figure(r, core, count);
	revoke_figure(r, "revoke_local_cooperative", core, 0);
	revoke_figure(r, "revoke_remote_cooperative", other, 0);
	revoke_figure(r, "revoke_local_abort", core, 1);
	revoke_figure(r, "revoke_remote_abort", other, 1);
	/* Operations carried out by another core's kernel instance (messages), and locally. */
	env_create_destroy(r, "env_create_destroy_local", core);
	int64_t probe = sys_env_create(other);
	if (probe == E_INVAL)
		return; /* one core: no remote figure */
	CHECK(probe);
	CHECK(sys_env_destroy((uint64_t)probe));
	CHECK(sys_cap_delete((uint64_t)probe));
	env_create_destroy(r, "env_create_destroy_remote", other);
}
