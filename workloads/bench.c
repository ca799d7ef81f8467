/*
 * Kernel-path microbenchmarks (issue: the syscall surface), printed as
 * EXOJSON figures: cycles read with rdtsc in user mode, median/min/max over
 * `rounds` runs after a warm-up. Under `-icount shift=0` the TSC counts
 * instructions, so the same figures are exact path lengths.
 *
 * arg: bits 0..7 the set (1: the syscall surface; 2: frame
 * allocate+map+unmap+free alone, one figure per core, for runs on N cores
 * at once: the time per operation while N cores do the same; 3: upcalls,
 * protected control transfer and environment switches; 4: revocation of one
 * frame and operations on another core's environments; 9, 10, 11: partner
 * roles that sets 3 and 4 start themselves), bits 8..31 rounds (0: 10000),
 * bits 32..: how many cores run it at once (recorded in the figures).
 * Partner roles are internal.
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

static void report(const char *name, uint64_t n, uint64_t core, uint64_t ncores)
{
	struct stats s = stats_u64(samples, n);
	printf("EXOJSON {\"figure\":\"%s\",\"unit\":\"cycles\",\"median\":%llu,\"min\":%llu,"
	       "\"max\":%llu,\"n\":%llu,\"core\":%llu,\"cores_running\":%llu}\n",
	       name, (unsigned long long)s.median, (unsigned long long)s.min,
	       (unsigned long long)s.max, (unsigned long long)n, (unsigned long long)core,
	       (unsigned long long)ncores);
}

/* Time op() `rounds` times after a warm-up; failures make the figure worthless: count them. */
#define MEASURE(name, rounds, core, ncores, op)                        \
	do {                                                            \
		for (int w_ = 0; w_ < WARMUP; w_++) {                   \
			op;                                             \
		}                                                       \
		for (uint64_t i_ = 0; i_ < (rounds); i_++) {            \
			uint64_t t0_ = rdtsc();                         \
			op;                                             \
			samples[i_] = rdtsc() - t0_;                    \
		}                                                       \
		report(name, rounds, core, ncores);                     \
	} while (0)

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
	int64_t after = sys_frame_count();
	if (after != before) {
		printf("bench: %s: %lld free frames before, %lld after\n", name, (long long)before,
		       (long long)after);
		failures++;
	}
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

	/* Two environments yielding to each other: one round trip is two switches. */
	int64_t partner = sys_env_create(core);
	CHECK(partner);
	CHECK(sys_env_start((uint64_t)partner, self_prog, 10));
	MEASURE("yield_round_trip_two_envs", rounds, core, ncores, sys_yield());
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
 * every revocation has a live TLB entry to shoot down.
 */
#define OWNER_VA 0x50000000ULL
#define SHARED_VA 0x4f000000ULL
#define OWNER_MAX 150 /* frames the owner holds: 256 capability slots, ~50 for this image */

struct shared {
	volatile uint64_t ready; /* the owner holds its frames */
	volatile uint64_t bad;	 /* the owner failed to set up */
	volatile uint64_t stop;	 /* the owner is to exit */
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

/* Partner role 11: arg bits 8..15 mode (0 cooperative, 1 no handler), 16..31 the shared
 * frame's slot, 32..47 how many frames to hold. */
static noreturn_fn void owner(uint64_t arg)
{
	unsigned mode = (arg >> 8) & 0xff, n = (unsigned)MIN((arg >> 32) & 0xffff, OWNER_MAX);
	struct shared *sh = (struct shared *)SHARED_VA;
	if (sys_map((arg >> 16) & 0xffff, SHARED_VA, PROT_R | PROT_W) != 0)
		sys_exit(1);
	for (unsigned i = 0; i < n; i++) {
		struct cap_info ci;
		int64_t s = sys_frame_alloc(FRAME_ANY);
		if (s < 0 || sys_map((uint64_t)s, OWNER_VA + i * 4096ULL, PROT_R | PROT_W) != 0 ||
		    sys_cap_inspect((uint64_t)s, &ci) != 0) {
			sh->bad = 1;
			sys_exit(1);
		}
		*(volatile uint64_t *)(OWNER_VA + i * 4096ULL) = i;
		sh->frame[i] = ci.object;
		owned[nowned++] = s;
	}
	if (mode == 0 && libos_set_revoke_handler(give_back) != 0)
		sh->bad = 1;
	sh->ready = 1;
	while (!sh->stop)
		sys_yield();
	sys_exit(0);
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
	sh->ready = sh->bad = sh->stop = 0;
	int64_t in_o = sys_cap_grant((uint64_t)f, (uint64_t)o, GRANT_COPY);
	CHECK(in_o);
	uint64_t n = MIN(rounds + WARMUP / 10, (uint64_t)OWNER_MAX);
	CHECK(sys_env_start((uint64_t)o, self_prog, 11 | (uint64_t)mode << 8 | (uint64_t)in_o << 16 | n << 32));
	while (!sh->ready && !sh->bad && sys_env_status((uint64_t)o) == E_AGAIN)
		sys_yield();
	if (!sh->ready) {
		printf("bench: %s: the owner did not get ready\n", name);
		failures++;
		return;
	}
	uint64_t k = 0;
	for (uint64_t i = 0; i < n; i++) {
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
		while ((got = sys_frame_alloc(frame)) == E_BUSY) {
			if (home == core)
				sys_yield();
			else
				__asm__ volatile("pause");
		}
		uint64_t t = rdtsc() - t0;
		CHECK(got);
		CHECK(sys_frame_free((uint64_t)got));
		if (i >= WARMUP / 10)
			samples[k++] = t;
	}
	report(name, k, core, ncores);
	/* The owner exits and is destroyed now, not at some later slice: the frame count settles. */
	sh->stop = 1;
	while (sys_env_status((uint64_t)o) == E_AGAIN) {
		if (home == core)
			sys_yield();
		else
			__asm__ volatile("pause");
	}
	CHECK(sys_env_destroy((uint64_t)o));
	CHECK(sys_cap_delete((uint64_t)o));
	CHECK(sys_unmap((uint64_t)f));
	CHECK(sys_cap_revoke((uint64_t)f));
	CHECK(sys_frame_free((uint64_t)f));
}

static void revoke_set(uint64_t rounds, uint64_t self_prog, uint64_t core, uint64_t ncores)
{
	uint64_t other = core + 1;
	uint64_t held = MIN(rounds, (uint64_t)OWNER_MAX - WARMUP / 10);
	revoke_figure("revoke_local_cooperative", held, core, core, 0, self_prog, ncores);
	revoke_figure("revoke_remote_cooperative", held, core, other, 0, self_prog, ncores);
	revoke_figure("revoke_local_abort", held, core, core, 1, self_prog, ncores);
	revoke_figure("revoke_remote_abort", held, core, other, 1, self_prog, ncores);
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

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 9 || arg == 10) /* partner roles: the server waits for calls; the yielder yields */
		for (;;)
			sys_yield();
	if ((arg & 0xff) == 11)
		owner(arg);
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
	}
	if (failures)
		printf("bench: %u operations failed: the figures above are not valid\n", failures);
	return failures ? 1 : 0;
}
