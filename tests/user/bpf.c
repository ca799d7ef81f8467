/*
 * Downloaded code from ring 3 (docs/downloaded-code.md): SYS_BPF_LOAD's
 * accepted and refused programs, each refusal with its rule and
 * instruction, and every hook end to end:
 *   - wakeup: this environment's predicate says no until a child on its
 *     core changes the region, so it is not entered until then; a child
 *     whose predicate says no (or overruns its budget) stops running, and
 *     runs again once its region frame is taken by a revocation (detach);
 *   - revoke: a child kept off the CPU by its predicate answers a
 *     REVOKE_ASK with its handler alone (the frame it names comes back,
 *     not the one the abort protocol would take);
 *   - message: a receiver's handler answers a sender's pings on the ring
 *     in its region, and the receiver never sees the bits.
 * Exit status 0 when all hold; else the number of the first check that
 * failed. Every wait is bounded.
 */
#include <exo/bpf_asm.h>
#include <libos/bpf.h>
#include <libos/libos.h>
#include <libos/sched.h>

#define SHARED_VA 0x0000200000000000ULL /* the parent's page, shared with a child */
#define REGION_VA 0x0000200000010000ULL /* a child's own region */
#define RING_VA 0x0000200000020000ULL	/* the message ring (the receiver's frame) */
#define WAIT_ROUNDS 200000
#define PINGS 50

/* Predicates: the region's word 0 (yes iff not 0); no, always. */
static const struct bpf_insn p_word0[] = { A_LDX(BPF_DW, 0, 2, 0), A_EXIT() };
static const struct bpf_insn p_no[] = { A_MOV64_IMM(0, 0), A_EXIT() };
/* Revocation handler: give back the frame the region's word 1 names. */
static const struct bpf_insn p_give[] = { A_LDX(BPF_DW, 1, 2, 8), A_CALL(BPF_HELPER_REVOKE_GIVE),
					  A_MOV64_IMM(0, 0), A_EXIT() };
/* Message handler: a request in word 0 gets word0 + 1 in word 1, word 0 cleared, doorbell 1. */
static const struct bpf_insn p_ping[] = {
	A_MOV64_REG(6, 2),
	A_MOV64_IMM(0, 0),
	A_LDX(BPF_DW, 3, 6, 0),
	BPF_INSN(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 6, 0),
	BPF_INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, 1),
	A_STX(BPF_DW, 6, 3, 8),
	BPF_INSN(BPF_ST | BPF_MEM | BPF_DW, 6, 0, 0, 0),
	A_MOV64_IMM(1, 1),
	A_CALL(BPF_HELPER_MSG_NOTIFY),
	A_MOV64_IMM(0, 1),
	A_EXIT(),
};

/* The worked example (tests/user/ping.bpf.c), built by clang -target bpf. */
BPF_OBJECT(ping);

static uint8_t img[BPF_IMAGE_BYTES(BPF_BUDGET_WAKEUP + 2)] __attribute__((aligned(8)));
static struct bpf_load_verdict verdict;

/* Load prog (n instructions) at hook; the capability slot or an error; the verdict in `verdict`. */
static int64_t load(unsigned hook, const struct bpf_insn *prog, uint32_t n, uint64_t region,
		    uint64_t target)
{
	uint64_t len = bpf_image_wrap(prog, n, img, sizeof(img));
	verdict = (struct bpf_load_verdict){ 0xffff, 0xffff };
	return libos_bpf_load(hook, img, len, region, target, &verdict);
}

static volatile uint64_t *page(uint64_t va)
{
	return (volatile uint64_t *)va;
}

/* A frame of this environment mapped read-write at va: its slot, or an error. */
static int64_t own_page(uint64_t va)
{
	int64_t f = sys_frame_alloc(FRAME_ANY);
	if (f >= 0 && sys_map((uint64_t)f, va, PROT_R | PROT_W) != 0)
		return E_FAULT;
	return f;
}

static uint64_t frame_of(int64_t slot)
{
	struct cap_info ci = { 0 };
	return sys_cap_inspect((uint64_t)slot, &ci) == 0 ? ci.object : ~0ULL;
}

/* Wait (yielding) until *w != 0: true if it came. */
static bool wait_for(const volatile uint64_t *w)
{
	for (unsigned i = 0; i < WAIT_ROUNDS && !*w; i++)
		sys_yield();
	return *w != 0;
}

/* ---- The children; arg: mode | shared slot << 8 | cap slot << 16 ---- */

enum {
	MODE_FLIPPER = 1,
	MODE_STUCK = 2,
	MODE_OVERRUN = 3,
	MODE_REVOKER = 4,
	MODE_RECEIVER = 5,
	MODE_SENDER = 6
};

/*
 * The shared page's words: 0 the parent's flag (its predicate's region is
 * the shared page itself in test_wakeup_self), 1 a child's run count, 2
 * "loading" (a child whose predicate says no may be preempted right after
 * its load and never write again), 3 "done: exit", 4.. per mode (load
 * results + 1000, frame numbers, the receiver's bits, pings done).
 */
static int child(uint64_t mode, uint64_t shared, uint64_t cap, bool clang)
{
	if (sys_map(shared, SHARED_VA, PROT_R | PROT_W) != 0)
		return 90;
	volatile uint64_t *s = page(SHARED_VA);
	switch (mode) {
	case MODE_FLIPPER: /* the parent is kept off the CPU until this sets its flag */
		while (!s[3]) {
			if (s[1] < 20)
				s[1]++;
			else
				s[0] = 1;
			sys_yield();
		}
		return 0;
	case MODE_STUCK:
	case MODE_OVERRUN: {
		int64_t r = own_page(REGION_VA);
		if (r < 0)
			return 91;
		page(REGION_VA)[0] = 0;
		s[4] = frame_of(r);
		s[2] = 1; /* loading: once loaded, this may be preempted and never run again */
		int64_t p;
		if (mode == MODE_STUCK) {
			p = load(BPF_HOOK_WAKEUP, p_no, 2, (uint64_t)r, 0);
		} else {
			static struct bpf_insn longp[BPF_BUDGET_WAKEUP + 2];
			for (unsigned i = 0; i < BPF_BUDGET_WAKEUP + 1; i++)
				longp[i] = A_MOV64_IMM(0, 1);
			longp[BPF_BUDGET_WAKEUP + 1] = A_EXIT();
			p = load(BPF_HOOK_WAKEUP, longp, BPF_BUDGET_WAKEUP + 2, BPF_NO_REGION, 0);
		}
		s[6] = (uint64_t)(p + 1000);
		while (!s[3]) {
			s[1]++;
			sys_yield();
		}
		return 0;
	}
	case MODE_REVOKER: {
		/* Frames in this order: the region, the victim it names, the last (the abort's pick). */
		int64_t r = own_page(REGION_VA), v = sys_frame_alloc(FRAME_ANY),
			w = sys_frame_alloc(FRAME_ANY);
		if (r < 0 || v < 0 || w < 0)
			return 92;
		page(REGION_VA)[1] = frame_of(v);
		s[4] = frame_of(v);
		s[5] = frame_of(w);
		int64_t h = load(BPF_HOOK_REVOKE, p_give, 4, (uint64_t)r, 0);
		s[6] = (uint64_t)(h + 1000);
		s[2] = 1; /* loading the predicate (it may never run again after) */
		int64_t p = h >= 0 ? load(BPF_HOOK_WAKEUP, p_no, 2, (uint64_t)r, 0) : h;
		s[7] = (uint64_t)(p + 1000);
		while (!s[3]) {
			s[1]++;
			sys_yield();
		}
		return 0;
	}
	case MODE_RECEIVER: {
		int64_t f = own_page(RING_VA);
		if (f < 0)
			return 93;
		int64_t p = clang ? libos_bpf_load(BPF_HOOK_MESSAGE, bpf_obj_ping,
						   bpf_obj_ping_size, (uint64_t)f, cap, &verdict)
				  : load(BPF_HOOK_MESSAGE, p_ping, 11, (uint64_t)f, cap);
		/* The ring for the sender, through the env capability (CTRL) the parent gave. */
		int64_t m = sys_cap_mint((uint64_t)f,
					 CAP_R_READ | CAP_R_WRITE | CAP_R_MAP | CAP_R_GRANT, 0);
		int64_t g = m >= 0 ? sys_cap_grant((uint64_t)m, cap, GRANT_MOVE) : m;
		s[2] = (uint64_t)(p + 1000);
		s[6] = (uint64_t)(g + 1000);
		while (!s[3]) {
			s[5] |= (uint64_t)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0);
			sys_yield();
		}
		return 0;
	}
	case MODE_SENDER: {
		if (!wait_for(&s[6]) || s[6] < 1000 || s[2] < 1000)
			return 94;
		if (sys_map(s[6] - 1000, RING_VA, PROT_R | PROT_W) != 0)
			return 95;
		volatile uint64_t *ring = page(RING_VA);
		for (uint64_t i = 1; i <= PINGS; i++) {
			ring[0] = i * 10;
			if (sys_call6(SYS_NOTIFY, cap, 2, 0, 0, 0, 0) != 0)
				return 96;
			unsigned k = 0;
			while (ring[1] != i * 10 + 1 && k++ < WAIT_ROUNDS)
				sys_yield();
			if (ring[1] != i * 10 + 1)
				return 97;
			uint64_t bits = 0;
			for (k = 0; k < WAIT_ROUNDS && !(bits & 1); k++) {
				bits |= (uint64_t)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0);
				if (!(bits & 1))
					sys_yield();
			}
			if (!(bits & 1))
				return 98; /* the reply's doorbell never rang */
		}
		s[7] = PINGS;
		return 0;
	}
	}
	return 99;
}

/* ---- The parent's checks ---- */

struct kid {
	int64_t env, shared; /* env cap; the shared page's slot here */
};

/* A child on core running mode, sharing a fresh page of ours (mapped at SHARED_VA + off). */
static int spawn(struct kid *k, uint64_t core, uint64_t mode, uint64_t off, uint64_t cap_in_child)
{
	k->env = sys_env_create(core);
	k->shared = own_page(SHARED_VA + off);
	if (k->env < 0 || k->shared < 0) {
		printf("bpf: spawn: env %lld, page %lld\n", (long long)k->env,
		       (long long)k->shared);
		return 1;
	}
	int64_t m = sys_cap_mint((uint64_t)k->shared,
				 CAP_R_READ | CAP_R_WRITE | CAP_R_MAP | CAP_R_GRANT, 0);
	int64_t g = m >= 0 ? sys_cap_grant((uint64_t)m, (uint64_t)k->env, GRANT_MOVE) : m;
	if (g < 0) {
		printf("bpf: spawn: grant %lld\n", (long long)g);
		return 2;
	}
	int64_t st = sys_env_start((uint64_t)k->env, libos_self_prog,
				   mode | (uint64_t)g << 8 | cap_in_child << 16);
	if (st != 0)
		printf("bpf: spawn: start %lld\n", (long long)st);
	return st == 0 ? 0 : 3;
}

/* Tell the child to end, wait for it, and give everything back. */
static int reap(struct kid *k, volatile uint64_t *s, bool stuck)
{
	s[3] = 1;
	int64_t st = stuck ? 0 : E_AGAIN;
	for (unsigned i = 0;
	     i < WAIT_ROUNDS && !stuck && (st = sys_env_status((uint64_t)k->env)) == E_AGAIN; i++)
		sys_yield();
	(void)sys_cap_delete((uint64_t)k->env); /* destroys it, running or not */
	(void)sys_cap_revoke((uint64_t)k->shared);
	(void)sys_frame_free((uint64_t)k->shared);
	return st == 0 ? 0 : 1;
}

/* Accepted and refused programs, through the call. */
static int test_load(void)
{
	static const struct bpf_insn back[] = { A_MOV64_IMM(0, 0),
						BPF_INSN(BPF_JMP | BPF_JA, 0, 0, -2, 0), A_EXIT() };
	static const struct bpf_insn uninit[] = { A_MOV64_REG(0, 5), A_EXIT() };
	static const struct bpf_insn oob[] = { A_LDX(BPF_DW, 0, 2, 4092), A_EXIT() };
	static const struct bpf_insn helper[] = { A_MOV64_IMM(1, 0), A_CALL(9), A_MOV64_IMM(0, 0),
						  A_EXIT() };
	static const struct bpf_insn div0[] = { A_MOV64_IMM(0, 5),
						BPF_INSN(BPF_ALU64 | BPF_MOD | BPF_K, 0, 0, 0, 0),
						A_EXIT() };
	static const struct bpf_insn leak[] = { A_MOV64_REG(0, 2), A_EXIT() };
	int64_t r = own_page(REGION_VA);
	if (r < 0)
		return 10;
	const struct {
		const struct bpf_insn *p;
		uint32_t n;
		unsigned hook;
		uint32_t rule, insn;
	} rows[] = {
		{ back, 3, BPF_HOOK_WAKEUP, BPF_R_JUMP_BACK, 1 },
		{ uninit, 2, BPF_HOOK_WAKEUP, BPF_R_UNINIT, 0 },
		{ oob, 2, BPF_HOOK_WAKEUP, BPF_R_MEM_BOUNDS, 0 },
		{ helper, 4, BPF_HOOK_REVOKE, BPF_R_HELPER, 1 },
		{ p_give, 4, BPF_HOOK_WAKEUP, BPF_R_HELPER, 1 }, /* a hook it does not fit */
		{ div0, 3, BPF_HOOK_WAKEUP, BPF_R_DIV_ZERO, 1 },
		{ leak, 2, BPF_HOOK_WAKEUP, BPF_R_PTR_LEAK, 1 },
	};
	uint64_t frames = (uint64_t)sys_frame_count();
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t ret = load(rows[i].hook, rows[i].p, rows[i].n, (uint64_t)r, 0);
		if (ret != E_INVAL || verdict.rule != rows[i].rule ||
		    verdict.insn != rows[i].insn) {
			printf("bpf: row %u: %lld, rule %u insn %u (want rule %u insn %u)\n", i,
			       (long long)ret, verdict.rule, verdict.insn, rows[i].rule,
			       rows[i].insn);
			return 11;
		}
	}
	/* Malformed and oversized images; a bad hook. */
	uint64_t len = bpf_image_wrap(p_word0, 2, img, sizeof(img));
	img[0] = 0;
	if (libos_bpf_load(BPF_HOOK_WAKEUP, img, len, (uint64_t)r, 0, &verdict) != E_INVAL ||
	    verdict.rule != BPF_R_ELF)
		return 12;
	if (libos_bpf_load(BPF_HOOK_WAKEUP, img, BPF_IMAGE_MAX + 1, (uint64_t)r, 0, &verdict) !=
	    E_RANGE)
		return 13;
	if (load(7, p_word0, 2, (uint64_t)r, 0) != E_INVAL || verdict.rule != BPF_R_HOOK)
		return 14;
	if ((uint64_t)sys_frame_count() != frames || sys_debug_check() != 0)
		return 15;
	/* Accepted: a capability of its own type; one per hook; deleting it frees the hook. */
	/*
	 * Yes before the load, not after: the predicate is ours, and a
	 * preemption between the load and the store would keep this
	 * environment off the CPU for ever (the bpf-smp2 timeouts). The yield
	 * makes that window certain: a "no" here hangs the test.
	 */
	page(REGION_VA)[0] = 1;
	int64_t p = load(BPF_HOOK_WAKEUP, p_word0, 2, (uint64_t)r, 0);
	sys_yield();
	struct cap_info ci;
	if (p < 0 || verdict.rule != BPF_OK || sys_cap_inspect((uint64_t)p, &ci) != 0 ||
	    ci.type != OBJ_BPF)
		return 16;
	if (load(BPF_HOOK_WAKEUP, p_word0, 2, (uint64_t)r, 0) != E_BUSY)
		return 17;
	if (sys_cap_grant((uint64_t)p, ENV_SELF, GRANT_COPY) >= 0 ||
	    sys_cap_mint((uint64_t)p, CAP_R_READ, 0) >= 0)
		return 18; /* no GRANT right: it stays with its environment */
	if (sys_cap_delete((uint64_t)p) != 0)
		return 19;
	p = load(BPF_HOOK_WAKEUP, p_word0, 2, (uint64_t)r, 0);
	if (p < 0 || sys_cap_delete((uint64_t)p) != 0 || sys_frame_free((uint64_t)r) != 0)
		return 20;
	return sys_debug_check() == 0 ? 0 : 21;
}

/*
 * The largest program, and one instruction more, in one load each: the call
 * returns (accepted / refused with its rule). Loaded at the revoke hook,
 * which runs only when a revocation asks: a straight-line program longer
 * than a hook's budget overruns it on every run, and at the wakeup hook an
 * overrun counts as "no" -- the loader itself would never run again
 * (issue 18).
 */
static struct bpf_insn big[BPF_MAX_INSNS + 1];
static uint8_t big_img[BPF_IMAGE_BYTES(BPF_MAX_INSNS + 1)] __attribute__((aligned(8)));

static int test_big(void)
{
	for (uint32_t i = 0; i <= BPF_MAX_INSNS; i++)
		big[i] = A_MOV64_IMM(0, (int32_t)i + 1);
	big[BPF_MAX_INSNS - 1] = A_EXIT();
	uint64_t len = bpf_image_wrap(big, BPF_MAX_INSNS, big_img, sizeof(big_img));
	uint64_t t0 = libos_cycles();
	verdict = (struct bpf_load_verdict){ 0xffff, 0xffff };
	int64_t p = libos_bpf_load(BPF_HOOK_REVOKE, big_img, len, BPF_NO_REGION, 0, &verdict);
	printf("bpf: %u instructions: %lld, rule %u, %llu cycles\n", BPF_MAX_INSNS, (long long)p,
	       verdict.rule, (unsigned long long)(libos_cycles() - t0));
	if (len == 0 || p < 0 || verdict.rule != BPF_OK || sys_cap_delete((uint64_t)p) != 0)
		return 22;
	big[BPF_MAX_INSNS - 1] = A_MOV64_IMM(0, 1);
	big[BPF_MAX_INSNS] = A_EXIT();
	len = bpf_image_wrap(big, BPF_MAX_INSNS + 1, big_img, sizeof(big_img));
	verdict = (struct bpf_load_verdict){ 0xffff, 0xffff };
	p = libos_bpf_load(BPF_HOOK_REVOKE, big_img, len, BPF_NO_REGION, 0, &verdict);
	printf("bpf: %u instructions: %lld, rule %u\n", BPF_MAX_INSNS + 1, (long long)p,
	       verdict.rule);
	/* The ELF reader counts the instructions before the verifier sees them. */
	if (len == 0 || p != E_INVAL || verdict.rule != BPF_R_ELF || verdict.insn != 0)
		return 23;
	return sys_debug_check() == 0 ? 0 : 24;
}

/* Our own predicate says no until a child on our core sets the flag: we are not entered. */
static int test_wakeup_self(uint64_t core)
{
	struct kid k;
	if (spawn(&k, core, MODE_FLIPPER, 0, 0))
		return 30;
	volatile uint64_t *s = page(SHARED_VA);
	s[0] = 0;
	int64_t p = load(BPF_HOOK_WAKEUP, p_word0, 2, (uint64_t)k.shared, 0);
	if (p < 0)
		return 31;
	sys_yield(); /* back only when the child has set the flag */
	uint64_t runs = s[1], flag = s[0];
	if (sys_cap_delete((uint64_t)p) != 0)
		return 32;
	if (!flag || runs < 20) {
		printf("bpf: entered with the flag %llu after %llu child slices\n",
		       (unsigned long long)flag, (unsigned long long)runs);
		(void)reap(&k, s, false);
		return 33;
	}
	return reap(&k, s, false) ? 34 : 0;
}

/* Count a child's runs over some of our yields. */
static uint64_t runs_over(volatile uint64_t *s, unsigned yields)
{
	uint64_t a = s[1];
	for (unsigned i = 0; i < yields; i++)
		sys_yield();
	return s[1] - a;
}

/* Wait until the child stops running (its predicate loaded and saying no): true if it did. */
static bool stops(volatile uint64_t *s)
{
	for (unsigned i = 0; i < 200; i++)
		if (runs_over(s, 20) == 0)
			return true;
	return false;
}

/* A child whose predicate says no (or overruns) stops; revoking its region frame detaches. */
static int test_wakeup_child(uint64_t core, uint64_t mode, int base)
{
	struct kid k;
	if (spawn(&k, core, mode, 0x1000, 0))
		return base;
	volatile uint64_t *s = page(SHARED_VA + 0x1000);
	int err = 0;
	if (!wait_for(&s[2]))
		err = base + 1;
	else if (!stops(s) || (s[6] && s[6] < 1000))
		err = base + 2; /* the predicate says no: it is not entered */
	else if (runs_over(s, 50) != 0)
		err = base + 3;
	if (err) {
		(void)reap(&k, s, true);
		return err;
	}
	if (mode == MODE_STUCK) {
		/* Its region frame taken by force (it has no revocation entry): detached. */
		if (sys_call6(SYS_REVOKE_ASK, (uint64_t)k.env, s[4], 1, 0, 0, 0) != 0)
			return base + 4;
		if (runs_over(s, 50) == 0)
			return base + 4;
	}
	/* Still stuck (overrun): its destruction detaches. */
	return reap(&k, s, mode == MODE_OVERRUN) ? base + 5 : 0;
}

/* A revocation answered by the child's handler alone, while it cannot run. */
static int test_revoke(uint64_t core)
{
	struct kid k;
	if (spawn(&k, core, MODE_REVOKER, 0x2000, 0))
		return 50;
	volatile uint64_t *s = page(SHARED_VA + 0x2000);
	if (!wait_for(&s[2]) || s[6] < 1000 || !stops(s) || (s[7] && s[7] < 1000))
		return 51;
	uint64_t before = s[1];
	if (sys_call6(SYS_REVOKE_ASK, (uint64_t)k.env, FRAME_ANY, 1, 0, 0, 0) != 0)
		return 52;
	(void)runs_over(s, 5);
	/* The victim it named is free (we can take it); the abort protocol's pick is still its. */
	int64_t got = sys_frame_alloc(s[4]);
	if (got < 0) {
		printf("bpf: the named victim %llu was not given back: %lld\n",
		       (unsigned long long)s[4], (long long)got);
		return 53;
	}
	(void)sys_frame_free((uint64_t)got);
	if (sys_frame_alloc(s[5]) != E_BUSY)
		return 54;
	if (s[1] != before)
		return 55;		   /* it ran: the answer was not the handler's alone */
	return reap(&k, s, true) ? 56 : 0; /* it cannot run: destroyed as it is */
}

/* Pings answered by the receiver's handler; the receiver never sees the bits. */
static int test_message(uint64_t rcore, uint64_t score, bool clang)
{
	struct kid r, snd;
	r.env = sys_env_create(rcore);
	snd.env = sys_env_create(score);
	if (r.env < 0 || snd.env < 0)
		return 60;
	/* Capabilities across: the receiver's handler notifies the sender; the sender the receiver. */
	int64_t m = sys_cap_mint((uint64_t)snd.env, CAP_R_WRITE | CAP_R_CTRL | CAP_R_GRANT, 0);
	int64_t s_in_r = m >= 0 ? sys_cap_grant((uint64_t)m, (uint64_t)r.env, GRANT_MOVE) : m;
	m = sys_cap_mint((uint64_t)r.env, CAP_R_WRITE | CAP_R_GRANT, 0);
	int64_t r_in_s = m >= 0 ? sys_cap_grant((uint64_t)m, (uint64_t)snd.env, GRANT_MOVE) : m;
	if (s_in_r < 0 || r_in_s < 0)
		return 61;
	/* One shared page, both children's. */
	r.shared = snd.shared = own_page(SHARED_VA + 0x3000);
	volatile uint64_t *s = page(SHARED_VA + 0x3000);
	int64_t gr = -1, gs = -1;
	if (r.shared >= 0) {
		m = sys_cap_mint((uint64_t)r.shared,
				 CAP_R_READ | CAP_R_WRITE | CAP_R_MAP | CAP_R_GRANT, 0);
		gr = m >= 0 ? sys_cap_grant((uint64_t)m, (uint64_t)r.env, GRANT_MOVE) : m;
		m = sys_cap_mint((uint64_t)r.shared,
				 CAP_R_READ | CAP_R_WRITE | CAP_R_MAP | CAP_R_GRANT, 0);
		gs = m >= 0 ? sys_cap_grant((uint64_t)m, (uint64_t)snd.env, GRANT_MOVE) : m;
	}
	if (gr < 0 || gs < 0 ||
	    sys_env_start((uint64_t)r.env, libos_self_prog,
			  MODE_RECEIVER | (uint64_t)gr << 8 | (uint64_t)s_in_r << 16 |
			      (uint64_t)clang << 24) != 0 ||
	    sys_env_start((uint64_t)snd.env, libos_self_prog,
			  MODE_SENDER | (uint64_t)gs << 8 | (uint64_t)r_in_s << 16) != 0)
		return 62;
	int64_t st = E_AGAIN;
	for (unsigned i = 0; i < WAIT_ROUNDS && (st = sys_env_status((uint64_t)snd.env)) == E_AGAIN;
	     i++)
		sys_yield();
	if (st != 0 || s[7] != PINGS) {
		printf("bpf: sender ended with %lld after %llu pings (load %lld)\n", (long long)st,
		       (unsigned long long)s[7], (long long)s[2] - 1000);
		return 63;
	}
	if (s[5] & 2)
		return 64; /* the receiver saw a ping's bits: the handler did not consume it */
	(void)sys_cap_delete((uint64_t)snd.env);
	return reap(&r, s, false) ? 65 : 0;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg & 0xff)
		return child(arg & 0xff, (arg >> 8) & 0xff, (arg >> 16) & 0xff, arg >> 24 & 1);
	int64_t other = sys_env_create(core + 1);
	uint64_t far = core;
	if (other >= 0) {
		far = core + 1;
		(void)sys_cap_delete((uint64_t)other);
	}
	printf("bpf: loads (cores: %llu)\n", (unsigned long long)(far == core ? 1 : 2));
	int err = test_load();
	if (!err)
		err = (printf("bpf: %s\n", "test_big"), test_big());
	if (!err)
		err = (printf("bpf: %s\n", "test_wakeup_self"), test_wakeup_self(core));
	if (!err)
		err = (printf("bpf: %s\n", "test_wakeup_child"),
		       test_wakeup_child(core, MODE_STUCK, 40));
	if (!err)
		err = (printf("bpf: %s\n", "test_wakeup_child"),
		       test_wakeup_child(core, MODE_OVERRUN, 45));
	if (!err)
		err = (printf("bpf: %s\n", "test_revoke"), test_revoke(core));
	printf("bpf: load, wakeup and revoke: %d\n", err);
	if (!err)
		err = test_message(core, core, false);
	if (!err) {
		printf("bpf: pings answered by the C handler (ping.bpf.c)\n");
		err = test_message(core, core, true);
	}
	if (!err && far != core) {
		printf("bpf: pings across cores\n");
		err = test_message(far, core, true); /* the notification crosses cores */
	}
	if (!err && sys_debug_check() != 0)
		err = 70;
	printf("bpf: %s (%d)\n", err ? "FAILED" : "all hooks hold", err);
	return err;
}
