/* set=bpf (see below). */
#include <libos/bpf.h>

#include "bench.h"

/*
 * set=bpf: downloaded code (docs/downloaded-code.md) against the path it
 * saves, each pair timed the same way:
 *  - bpf_wakeup_no / bpf_wakeup_switch: this environment's SYS_YIELD with a
 *    partner on this core whose wakeup predicate says no (the kernel runs
 *    the predicate and comes back) / that has none and yields at once (a
 *    switch into the partner and back). Their difference is the switch a
 *    predicate saves;
 *  - revoke_local_bpf (and _remote_bpf with two cores): set=revoke's named
 *    revocation, answered by the owner's revocation handler in the kernel,
 *    no upcall — against set=revoke's revoke_local_cooperative;
 *  - bpf_msg_handler / bpf_msg_notified: a ping on a one-slot ring and its
 *    reply, from a sender to a receiver on this core: answered by the
 *    receiver's message handler (tests/user/ping.bpf.c) inside the sender's
 *    SYS_NOTIFY / by the receiver's libOS after a switch, and the reply's
 *    doorbell taken in both;
 *  - bpf_load_64 / bpf_load_1024 / bpf_load_4096: SYS_BPF_LOAD + delete of
 *    straight-line programs of that many instructions (at the revoke hook,
 *    never run here), and bpf_verify_per_insn, the 64-to-1,024 difference
 *    per instruction (the verifier's walk, the copy and the ELF reader's
 *    share of it).
 */
#define RING_VA 0x61000000ULL
#define PING_BIT 2
#define REPLY_BIT 1

BPF_OBJECT(ping);

static const struct bpf_insn say_no[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};
/* Give back the frame the request names: r1 = ctx->frame; call revoke_give; r0 = 0. */
static const struct bpf_insn give_named[] = {
	{ .code = BPF_LDX | BPF_MEM | BPF_DW, .regs = 1 | 1 << 4 },
	{ .code = BPF_JMP | BPF_CALL, .imm = BPF_HELPER_REVOKE_GIVE },
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/*
 * Small images here; the big programs of load_figures in frames mapped for
 * the figure only (the image of this program must stay small: set=revoke's
 * owner fills its capability table with frames).
 */
static uint8_t img[BPF_IMAGE_BYTES(8)] __attribute__((aligned(8)));
#define BIG_VA 0x63000000ULL
#define BIG_PAGES 17 /* 8 of instructions, 9 of image */

static int64_t load_insns(unsigned hook, const struct bpf_insn *p, uint32_t n, uint64_t region)
{
	uint64_t len = bpf_image_wrap(p, n, img, sizeof(img));
	return libos_bpf_load(hook, img, len, region, 0, NULL);
}

/* role=sleeper: a wakeup predicate that says no, then yield for ever (never entered again). */
noreturn_fn void role_sleeper(void)
{
	if (load_insns(BPF_HOOK_WAKEUP, say_no, 2, BPF_NO_REGION) < 0)
		sys_exit(1);
	for (;;)
		sys_yield();
}

/* Run iff notification bits wait: r0 = ctx->notify_bits. */
static const struct bpf_insn when_notified[] = {
	{ .code = BPF_LDX | BPF_MEM | BPF_DW, .regs = 0 | 1 << 4, .off = 24 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/*
 * The owner of set=revoke, mode 2: its revocation handler is downloaded, and
 * a wakeup predicate keeps it off the CPU until it is notified (to take a
 * new batch, or to stop): an idle pager costs no switch.
 */
int bpf_owner_handler(void)
{
	if (load_insns(BPF_HOOK_REVOKE, give_named, 4, BPF_NO_REGION) < 0)
		return -1;
	return load_insns(BPF_HOOK_WAKEUP, when_notified, 2, BPF_NO_REGION) < 0 ? -1 : 0;
}

static void yield_figure(const struct bench_run *r, const char *name, const char *role)
{
	int64_t p = sys_env_create(r->core);
	CHECK(p);
	CHECK(start_partner(r, p, "role=%s", role));
	for (int i = 0; i < 50; i++)
		sys_yield(); /* the partner has loaded its predicate */
	MEASURE(r, name, sys_yield());
	CHECK(sys_cap_delete((uint64_t)p)); /* destroyed at its next slice boundary */
	for (int i = 0; i < 10; i++)
		sys_yield();
}

/*
 * The ring (the receiver's own frame, mapped by the sender too): the
 * sender writes request, the receiver (or its handler) reply = request + 1.
 */
struct ring {
	volatile uint64_t request, reply, served;
};

/* The control page (ours, a copy in each partner's table). */
struct msg_ctl {
	volatile uint64_t ring_slot; /* the ring's slot in the sender, + 1 when there */
	volatile uint64_t bad;	     /* a partner could not set up */
	volatile uint64_t stop;	     /* the receiver is to exit */
};
#define CTL_VA 0x62000000ULL
#define CTL ((struct msg_ctl *)CTL_VA)

/* role=receiver: mode= 0 downloaded handler, 1 its libOS answers; shared= control; frames= sender. */
noreturn_fn void role_receiver(void)
{
	uint64_t mode = libos_arg_u64("mode", 0), sender = libos_arg_u64("frames", CAP_SLOTS);
	struct ring *rg = (struct ring *)RING_VA;
	if (sys_map(libos_arg_u64("shared", CAP_SLOTS), CTL_VA, PROT_R | PROT_W) != 0)
		sys_exit(1);
	int64_t f = sys_frame_alloc(FRAME_ANY);
	if (f < 0 || sys_map((uint64_t)f, RING_VA, PROT_R | PROT_W) != 0 ||
	    (mode == 0 && libos_bpf_load(BPF_HOOK_MESSAGE, bpf_obj_ping, bpf_obj_ping_size,
					 (uint64_t)f, sender, NULL) < 0)) {
		CTL->bad = 1;
		sys_exit(1);
	}
	int64_t m =
	    sys_cap_mint((uint64_t)f, CAP_R_READ | CAP_R_WRITE | CAP_R_MAP | CAP_R_GRANT, 0);
	int64_t g = m >= 0 ? sys_cap_grant((uint64_t)m, sender, GRANT_MOVE) : m;
	if (g < 0)
		CTL->bad = 1;
	CTL->ring_slot = (uint64_t)g + 1;
	while (!CTL->stop) {
		uint64_t bits = (uint64_t)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0);
		if ((bits & PING_BIT) && rg->request) {
			rg->reply = rg->request + 1;
			rg->request = 0;
			(void)sys_call6(SYS_NOTIFY, sender, REPLY_BIT, 0, 0, 0, 0);
		}
		sys_yield();
	}
	sys_exit(0);
}

/* role=pinger: mode= (names the figure); shared= control; frames= the receiver; rounds=. */
noreturn_fn void role_pinger(void)
{
	uint64_t mode = libos_arg_u64("mode", 0), rcv = libos_arg_u64("frames", CAP_SLOTS),
		 rounds = MIN(libos_arg_u64("rounds", 1000), (uint64_t)MAX_ROUNDS);
	struct bench_run r = { .rounds = rounds, .ncores = 1, .core = (uint64_t)sys_core_id() };
	if (sys_map(libos_arg_u64("shared", CAP_SLOTS), CTL_VA, PROT_R | PROT_W) != 0)
		sys_exit(1);
	while (!CTL->ring_slot && !CTL->bad)
		sys_yield();
	struct ring *rg = (struct ring *)RING_VA;
	if (CTL->bad || sys_map(CTL->ring_slot - 1, RING_VA, PROT_R | PROT_W) != 0)
		sys_exit(1);
	uint64_t k = 0, seq = 0;
	for (uint64_t j = 0; j < rounds + WARMUP; j++) {
		seq += 2;
		uint64_t t0 = rdtsc();
		rg->request = seq;
		if (sys_call6(SYS_NOTIFY, rcv, PING_BIT, 0, 0, 0, 0) != 0)
			sys_exit(2);
		while (rg->reply != seq + 1)
			sys_yield();
		while (!((uint64_t)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0) & REPLY_BIT))
			sys_yield();
		uint64_t t = rdtsc() - t0;
		if (j >= WARMUP)
			samples[k++] = t;
	}
	report(&r, mode == 0 ? "bpf_msg_handler" : "bpf_msg_notified", k);
	sys_exit(0);
}

/* One message figure: a receiver (mode 0: handler, 1: notified) and a pinger that times it. */
static void msg_figure(const struct bench_run *r, unsigned mode)
{
	int64_t rcv = sys_env_create(r->core), snd = sys_env_create(r->core),
		c = sys_frame_alloc(FRAME_ANY);
	CHECK(rcv);
	CHECK(snd);
	CHECK(c);
	CHECK(sys_map((uint64_t)c, CTL_VA, PROT_R | PROT_W));
	CTL->ring_slot = CTL->bad = CTL->stop = 0;
	const uint64_t rw = CAP_R_READ | CAP_R_WRITE | CAP_R_MAP | CAP_R_GRANT;
	int64_t m = sys_cap_mint((uint64_t)snd, CAP_R_WRITE | CAP_R_CTRL | CAP_R_GRANT, 0);
	int64_t s_in_r = sys_cap_grant((uint64_t)m, (uint64_t)rcv, GRANT_MOVE);
	m = sys_cap_mint((uint64_t)rcv, CAP_R_WRITE | CAP_R_GRANT, 0);
	int64_t r_in_s = sys_cap_grant((uint64_t)m, (uint64_t)snd, GRANT_MOVE);
	m = sys_cap_mint((uint64_t)c, rw, 0);
	int64_t c_in_r = sys_cap_grant((uint64_t)m, (uint64_t)rcv, GRANT_MOVE);
	m = sys_cap_mint((uint64_t)c, rw, 0);
	int64_t c_in_s = sys_cap_grant((uint64_t)m, (uint64_t)snd, GRANT_MOVE);
	CHECK(s_in_r);
	CHECK(r_in_s);
	CHECK(c_in_r);
	CHECK(c_in_s);
	CHECK(start_partner(r, rcv, "role=receiver mode=%u shared=%lld frames=%lld", mode,
			    (long long)c_in_r, (long long)s_in_r));
	/* The pinger reports the figure: it gets the run's accel= and icount= words too. */
	const char *accel = libos_arg("accel"), *icount = libos_arg("icount");
	CHECK(start_partner(r, snd,
			    "role=pinger mode=%u shared=%lld frames=%lld rounds=%llu accel=%s "
			    "icount=%s",
			    mode, (long long)c_in_s, (long long)r_in_s,
			    (unsigned long long)r->rounds, accel ? accel : "unknown",
			    icount ? icount : "no"));
	int64_t st;
	while ((st = sys_env_status((uint64_t)snd)) == E_AGAIN)
		sys_yield();
	if (st != 0 || CTL->bad) {
		printf("bench: message figure %u: the pinger ended with %lld\n", mode,
		       (long long)st);
		failures++;
	}
	CTL->stop = 1;
	while (sys_env_status((uint64_t)rcv) == E_AGAIN)
		sys_yield();
	/* Each holds a capability derived from the other's root: revoke, then delete. */
	CHECK(sys_cap_revoke((uint64_t)snd));
	CHECK(sys_cap_revoke((uint64_t)rcv));
	CHECK(sys_cap_delete((uint64_t)snd));
	CHECK(sys_cap_delete((uint64_t)rcv));
	CHECK(sys_cap_revoke((uint64_t)c));
	CHECK(sys_frame_free((uint64_t)c));
}

static void load_figures(const struct bench_run *r)
{
	int64_t pages[BIG_PAGES];
	bool ok = true;
	for (unsigned i = 0; i < BIG_PAGES; i++) {
		pages[i] = sys_frame_alloc(FRAME_ANY);
		ok &= pages[i] >= 0 &&
		      sys_map((uint64_t)pages[i], BIG_VA + i * 4096ULL, PROT_R | PROT_W) == 0;
	}
	if (!ok) {
		failures++;
		printf("bench: bpf: no pages for the big programs\n");
		return;
	}
	struct bpf_insn *big = (struct bpf_insn *)BIG_VA;
	uint8_t *image = (uint8_t *)(BIG_VA + 8 * 4096ULL);
	const uint64_t image_cap = 9 * 4096ULL;
	for (unsigned i = 0; i < BPF_MAX_INSNS; i++)
		big[i] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = (int)i };
	/*
	 * At the revoke hook, which runs only when a revocation asks: the
	 * 4,096-instruction program overruns every budget, and at the wakeup
	 * hook an overrun says "no", so this environment would never run again
	 * after the load (issue 18).
	 */
	const uint32_t n_small = 64, n_big = 1024;
	big[n_small - 1] = big[n_big - 1] = big[BPF_MAX_INSNS - 1] =
	    (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
	uint64_t len_small = bpf_image_wrap(big, n_small, image, image_cap);
	struct bpf_load_verdict v = { 0 };
	int64_t probe = libos_bpf_load(BPF_HOOK_REVOKE, image, len_small, BPF_NO_REGION, 0, &v);
	if (probe < 0)
		printf("bench: bpf: the 64-instruction program: %lld, rule %u at %u\n",
		       (long long)probe, v.rule, v.insn);
	else
		CHECK(sys_cap_delete((uint64_t)probe));
	MEASURE(r, "bpf_load_64", {
		int64_t p =
		    libos_bpf_load(BPF_HOOK_REVOKE, image, len_small, BPF_NO_REGION, 0, NULL);
		CHECK(p);
		CHECK(sys_cap_delete((uint64_t)p));
	});
	uint64_t small = stats_u64(samples, r->rounds).median; /* (report sorted a copy) */
	big[n_small - 1] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 1 };
	uint64_t len_big = bpf_image_wrap(big, n_big, image, image_cap);
	MEASURE(r, "bpf_load_1024", {
		int64_t p = libos_bpf_load(BPF_HOOK_REVOKE, image, len_big, BPF_NO_REGION, 0, NULL);
		CHECK(p);
		CHECK(sys_cap_delete((uint64_t)p));
	});
	/* Per instruction: each big sample less the small ones' median. */
	for (uint64_t i = 0; i < r->rounds; i++)
		samples[i] = samples[i] > small ? (samples[i] - small) / (n_big - n_small) : 0;
	report(r, "bpf_verify_per_insn", r->rounds);
	big[n_big - 1] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 1 };
	uint64_t len_max = bpf_image_wrap(big, BPF_MAX_INSNS, image, image_cap);
	MEASURE(r, "bpf_load_4096", {
		int64_t p = libos_bpf_load(BPF_HOOK_REVOKE, image, len_max, BPF_NO_REGION, 0, NULL);
		CHECK(p);
		CHECK(sys_cap_delete((uint64_t)p));
	});
	for (unsigned i = 0; i < BIG_PAGES; i++)
		CHECK(sys_frame_free((uint64_t)pages[i]));
}

void set_bpf(const struct bench_run *r)
{
	unsigned f0 = failures;
#define FIG(call)                                                                                  \
	do {                                                                                       \
		call;                                                                              \
		if (failures != f0)                                                                \
			printf("bench: bpf: %s: %u failures\n", #call, failures - f0);             \
		f0 = failures;                                                                     \
	} while (0)
	FIG(yield_figure(r, "bpf_wakeup_switch", "yielder"));
	FIG(yield_figure(r, "bpf_wakeup_no", "sleeper"));
	FIG(revoke_figure(r, "revoke_local_bpf", r->core, 2));
	FIG(revoke_figure(r, "revoke_local_cooperative", r->core, 0));
	FIG(revoke_figure(r, "revoke_remote_bpf", r->core + 1, 2));
	FIG(msg_figure(r, 0));
	FIG(msg_figure(r, 1));
	FIG(load_figures(r));
#undef FIG
}
