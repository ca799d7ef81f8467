/*
 * IPC at user level (libos/ipc.h), in the guest. arg 0 runs the tests; the
 * children it starts run this same program in a role (arg). Every wait on
 * a child is bounded (a deadline, then the child is destroyed and the test
 * fails), so a hang is a failure, not a stuck run.
 *
 *   tools/exo run --smp 2 -- run=ipc
 */
#include <exo/test.h>
#include <libos/args.h>
#include <libos/ipc_impl.h>
#include <libos/libos.h>
#include <libos/policy.h>
#include <libos/sched.h>

LIBOS_PROGRAM_PARAMS({ "only", "all", "run only these tests (names, comma-separated)" },
		     { "seed", "1", "seed of the random interleavings" },
		     { "n", "2000", "messages each way in the stress and swap tests" });

enum role {
	R_TESTS = 0,
	R_ECHO,	      /* serve: reply w[1] + 1 */
	R_STREAM,     /* send n numbered messages up while receiving n, random interleaving */
	R_EXIT,	      /* send 3 messages, exit */
	R_WAIT_STALE, /* recv until an error: exit 0 if E_STALE */
	R_HOSTILE,    /* write a hostile tail, then a hostile head, and wait to be killed */
	R_DRAIN,      /* receive n numbered messages slowly; exit 0 if all in order */
	R_BADOPEN,    /* open each bad channel word: exit 0 if each gives its error */
	R_LATE,	      /* wait a while, then send one message */
	R_PAIR_A,     /* pair: call b n times */
	R_SWAPPER,    /* R_STREAM, swapping its own ipc policy as it goes */
};

#define SEC (libos_cycles_hz())
static uint64_t my_core, other_core;
static bool two_cores;
static const char *const policies[] = { "poll", "notify", "adaptive:spin_us=5", "batch:batch=4",
					"pct" };
#define NPOL (sizeof(policies) / sizeof(policies[0]))

/* ------------------------------------------------------------------ */
/* Children. */

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void spin_ms(uint64_t ms)
{
	uint64_t end = libos_cycles() + ms * SEC / 1000;
	while (libos_cycles() < end)
		(void)sys_yield();
}

static int echo(struct ipc_chan *ch, const struct ipc_msg *req, struct ipc_msg *rep)
{
	*rep = *req;
	rep->w[1] = req->w[1] + 1;
	return req->w[0] == 0xdead ? IPC_REPLY_STOP : IPC_REPLY;
}

/*
 * Both ways at once on ch: n numbered messages out, n expected in, in a
 * seeded random mix of blocking and non-blocking calls (swap: and a policy
 * swap every few dozen). Returns the number of problems.
 */
static unsigned stream(struct ipc_chan *ch, uint64_t n, uint64_t seed, bool swap)
{
	uint64_t r = seed * 0x9E3779B97F4A7C15ULL + 1, sent = 0, got = 0;
	unsigned bad = 0;
	struct ipc_msg m;
	while ((sent < n || got < n) && bad < 10) {
		uint64_t x = rnd(&r);
		if (swap && x % 53 == 0) {
			if (libos_policy_swap(POLICY_IPC, policies[(x >> 8) % NPOL]))
				bad++;
		}
		int e;
		if (sent < n && (x & 2)) {
			m = (struct ipc_msg){ .w = { sent, ~sent, seed } };
			/* Block only once we need nothing more from the peer: it may block sending too. */
			e = (x & 4) && got == n ? ipc_send(ch, &m, sizeof(m))
						: ipc_try_send(ch, &m, sizeof(m));
			if (e == E_OK)
				sent++;
			else if (e != E_AGAIN)
				bad++;
		} else if (got < n) {
			/* Likewise: block only once the peer needs nothing more from us. */
			e = (x & 8) && sent == n ? ipc_recv(ch, &m) : ipc_try_recv(ch, &m);
			if (e == E_AGAIN && (x & 16))
				(void)ipc_wait_any(&ch, 1, 100000); /* 100 us */
			if (e == E_OK) {
				if (m.w[0] != got || m.w[1] != ~got)
					bad++;
				got++;
			} else if (e != E_AGAIN) {
				bad++;
			}
		}
	}
	if (bad)
		printf("ipc: stream: %u problems (sent %llu, got %llu)\n", bad,
		       (unsigned long long)sent, (unsigned long long)got);
	return bad;
}

static int child(uint64_t role)
{
	struct ipc_chan *ch = NULL;
	struct ipc_msg m = { 0 };
	uint64_t n = libos_arg_u64("n", 2000), seed = libos_arg_u64("seed", 1);
	if (role != R_BADOPEN && role != R_PAIR_A && ipc_open("t", &ch) && ipc_open("p", &ch)) {
		printf("ipc: child role %llu: no channel\n", (unsigned long long)role);
		return 100;
	}
	switch (role) {
	case R_ECHO:
		return ipc_serve(&ch, 1, echo) ? 1 : 0;
	case R_STREAM:
	case R_SWAPPER: {
		unsigned bad = stream(ch, n, seed + 1000, role == R_SWAPPER);
		/* Stay until the parent has read everything (it closes first). */
		while (ipc_recv(ch, &m) == E_OK)
			;
		return bad ? 1 : 0;
	}
	case R_EXIT:
		for (uint64_t i = 0; i < 3; i++) {
			m.w[0] = i;
			if (ipc_send(ch, &m, sizeof(m)))
				return 1;
		}
		return 0; /* no close: the parent must notice the exit itself */
	case R_WAIT_STALE: {
		int e;
		while ((e = ipc_recv(ch, &m)) == E_OK)
			;
		/* Sticky, and every call says so. */
		bool ok =
		    e == E_STALE && ipc_send(ch, &m, 8) == E_STALE && ipc_error(ch) == E_STALE;
		ipc_close(ch);
		return ok ? 0 : 2;
	}
	case R_HOSTILE: {
		struct ipc_page *p = ipc_page_of(ch);
		/* We are side 1: we produce dir[1] and consume dir[0]. */
		__atomic_store_n(&p->dir[1].tail.v, 1000000ULL, __ATOMIC_RELEASE);
		__atomic_store_n(&p->dir[0].head.v, ~0ULL, __ATOMIC_RELEASE);
		/* Until the honest side closes (it must, having found us out), or 10 s. */
		for (unsigned i = 0;
		     i < 1000 && !ipc_rx_peer_closed(&(struct ipc_rx){ .d = &p->dir[0] }); i++)
			spin_ms(10);
		return 0;
	}
	case R_DRAIN: {
		uint64_t got = 0;
		while (got < n) {
			spin_ms(3);
			while (got < n && ipc_try_recv(ch, &m) == E_OK) {
				if (m.w[0] != got)
					return 2;
				got++;
			}
		}
		return 0;
	}
	case R_BADOPEN: {
		/* Each word names something that is not a channel this environment holds. */
		static const struct {
			const char *name;
			int err;
		} want[] = {
			{ "empty", E_BADSLOT }, { "notframe", E_TYPE }, { "readonly", E_PERM },
			{ "zeroed", E_RANGE },	{ "junk", E_INVAL },	{ "absent", E_NOENT }
		};
		int bad = 0;
		for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			int e = ipc_open(want[i].name, &ch);
			if (e != want[i].err) {
				printf("ipc: badopen %s: %s, want %s\n", want[i].name, err_name(e),
				       err_name(want[i].err));
				bad++;
			}
		}
		return bad;
	}
	case R_LATE:
		spin_ms(30);
		m.w[0] = 0x1a7e;
		return ipc_send(ch, &m, sizeof(m)) ? 1 : 0;
	case R_PAIR_A: {
		if (ipc_open("p", &ch))
			return 100;
		for (uint64_t i = 0; i < n; i++) {
			struct ipc_msg rep;
			m.w[0] = 1;
			m.w[1] = i;
			if (ipc_call(ch, &m, sizeof(m), &rep) || rep.w[1] != i + 1)
				return 1;
		}
		m.w[0] = 0xdead;
		return ipc_call(ch, &m, sizeof(m), &m) ? 2 : 0;
	}
	}
	return 99;
}

/* ------------------------------------------------------------------ */
/* The parent's helpers. */

/* A child in role on core, connected as "t" (plus words); its env cap, or < 0. */
static int64_t spawn(uint64_t core, enum role role, unsigned flags, struct ipc_chan **ch,
		     const char *w1, const char *w2)
{
	int64_t env = sys_env_create(core);
	if (env < 0)
		return env;
	struct ipc_words w = { 0 };
	char pol[POLICY_SPEC_MAX + 8];
	ksnprintf(pol, sizeof(pol), "ipc=%s", libos_policy_current(POLICY_IPC));
	int r = ch ? ipc_connect((uint64_t)env, core, "t", flags, ch, &w) : 0;
	if (!r)
		r = ipc_words_add(&w, pol);
	if (!r && w1)
		r = ipc_words_add(&w, w1);
	if (!r && w2)
		r = ipc_words_add(&w, w2);
	if (!r)
		r = (int)sys_env_start_args((uint64_t)env, libos_self_prog, role, w.buf, w.len);
	if (r) {
		(void)sys_cap_delete((uint64_t)env);
		return r;
	}
	return env;
}

/* The child's exit status within secs, or -1 (then it is destroyed). */
static int reap(int64_t env, uint64_t secs)
{
	uint64_t end = libos_cycles() + secs * SEC;
	int64_t st;
	while ((st = sys_env_status((uint64_t)env)) == E_AGAIN && libos_cycles() < end)
		(void)sys_yield();
	(void)sys_cap_delete((uint64_t)env); /* destroys it if it still runs */
	if (st == E_AGAIN)
		printf("ipc: a child did not end in %llu s: destroyed\n", (unsigned long long)secs);
	return st == E_AGAIN ? -1 : (int)st;
}

static void use(const char *spec)
{
	if (libos_policy_swap(POLICY_IPC, spec))
		printf("ipc: could not swap to %s\n", spec);
}

/* ------------------------------------------------------------------ */
/* Tests. */

TEST(ipc, bad_arguments)
{
	struct ipc_msg m = { 0 };
	char big[IPC_MSG_SIZE + 1] = { 0 };
	struct ipc_chan *ch;
	EXPECT_EQ(t, ipc_send(NULL, &m, 8), E_INVAL);
	EXPECT_EQ(t, ipc_recv(NULL, &m), E_INVAL);
	EXPECT_EQ(t, ipc_wait_any(NULL, 1, 0), E_INVAL);
	EXPECT_EQ(t, ipc_open("nosuch", &ch), E_NOENT);
	int64_t env = spawn(other_core, R_ECHO, 0, &ch, NULL, NULL);
	ASSERT(t, env >= 0);
	EXPECT_EQ(t, ipc_send(ch, big, sizeof(big)), E_OVERFLOW); /* larger than the slot */
	EXPECT_EQ(t, ipc_call(ch, big, sizeof(big), &m), E_OVERFLOW);
	EXPECT_EQ(t,
		  ipc_connect((uint64_t)env, other_core, "a:b", 0, &ch, &(struct ipc_words){ 0 }),
		  E_INVAL);
	EXPECT_EQ(t, ipc_connect(CAP_SLOTS + 5, other_core, "x", 0, &ch, &(struct ipc_words){ 0 }),
		  E_BADSLOT);
	m.w[0] = 0xdead;
	EXPECT_EQ(t, ipc_call(ch, &m, 16, &m), 0);
	EXPECT_EQ(t, reap(env, 10), 0);
	ipc_close(ch);
}

/*
 * Many senders and receivers on every core: a child per core (two where
 * there is room), each streaming both ways with the parent, which mixes
 * all the channels at random. Every message arrives once, in order.
 */
TEST(ipc, order_kept_nothing_lost_random_interleaving)
{
	uint64_t seed = libos_arg_u64("seed", 1), n = libos_arg_u64("n", 2000);
	struct ipc_chan *ch[4];
	int64_t env[4];
	unsigned k = 0;
	for (unsigned i = 0; i < 4; i++) {
		uint64_t core = i % 2 && two_cores ? other_core : my_core;
		char s[32];
		ksnprintf(s, sizeof(s), "seed=%llu", (unsigned long long)seed + i);
		env[k] = spawn(core, R_STREAM, 0, &ch[k], s, NULL);
		ASSERT(t, env[k] >= 0);
		k++;
	}
	uint64_t r = seed, sent[4] = { 0 }, got[4] = { 0 };
	unsigned bad = 0;
	struct ipc_msg m;
	for (unsigned left = k; left && bad < 10;) {
		uint64_t x = rnd(&r);
		unsigned i = (unsigned)(x % k);
		if (sent[i] == n && got[i] == n)
			continue;
		int e;
		if (sent[i] < n && (x & 0x100)) {
			m = (struct ipc_msg){ .w = { sent[i], ~sent[i] } };
			e = ipc_try_send(ch[i], &m, sizeof(m));
			sent[i] += e == E_OK;
		} else if (got[i] < n) {
			e = ipc_try_recv(ch[i], &m);
			if (e == E_OK) {
				bad += m.w[0] != got[i] || m.w[1] != ~got[i];
				got[i]++;
			} else if (e == E_AGAIN && (x & 0x200)) {
				e = ipc_wait_any(ch, k, 1000000); /* 1 ms */
				e = e >= 0 || e == E_TIMEOUT ? E_AGAIN : e;
			}
		} else {
			continue;
		}
		bad += e != E_OK && e != E_AGAIN;
		left -= sent[i] == n && got[i] == n;
	}
	EXPECT_EQ(t, bad, 0);
	for (unsigned i = 0; i < k; i++) {
		EXPECT_EQ(t, got[i], n);
		ipc_close(ch[i]); /* the child's last recv then says E_NOENT */
		EXPECT_EQ(t, reap(env[i], 20), 0);
	}
}

TEST(ipc, peer_exit_is_an_error_not_a_hang)
{
	struct ipc_chan *ch;
	int64_t env = spawn(other_core, R_EXIT, 0, &ch, NULL, NULL);
	ASSERT(t, env >= 0);
	struct ipc_msg m;
	for (uint64_t i = 0; i < 3; i++) {
		EXPECT_EQ(t, ipc_recv(ch, &m), 0); /* what it sent before it ended still arrives */
		EXPECT_EQ(t, m.w[0], i);
	}
	uint64_t t0 = libos_cycles();
	EXPECT_EQ(t, ipc_recv(ch, &m), E_NOENT);
	EXPECT(t, libos_cycles() - t0 < 5 * SEC);
	EXPECT_EQ(t, reap(env, 5), 0);
	/* Its environment destroyed now: sends fail too, once the ring fills at the latest. */
	int e = 0;
	for (unsigned i = 0; i < IPC_SLOTS + 1 && !e; i++)
		e = ipc_send(ch, &m, 8);
	EXPECT_EQ(t, e, E_NOENT);
	ipc_close(ch);
}

TEST(ipc, revoked_frame_is_an_error_not_a_crash)
{
	/* The child blocks in ipc_recv; we revoke its capability to the page. */
	struct ipc_chan *ch;
	int64_t env = spawn(other_core, R_WAIT_STALE, 0, &ch, NULL, NULL);
	ASSERT(t, env >= 0);
	struct ipc_msg m = { .w = { 1 } };
	EXPECT_EQ(t, ipc_send(ch, &m, 8), 0);
	spin_ms(20);
	int64_t r;
	while ((r = sys_cap_revoke(ipc_frame(ch))) == E_AGAIN)
		;
	EXPECT_EQ(t, r, 0);
	EXPECT_EQ(t, reap(env, 10), 0); /* it saw E_STALE, and lived to say so */
	ipc_close(ch);
	EXPECT_EQ(t, sys_debug_check(), 0);
}

TEST(ipc, hostile_ring_indices_are_errors)
{
	struct ipc_chan *ch;
	int64_t env = spawn(other_core, R_HOSTILE, 0, &ch, NULL, NULL);
	ASSERT(t, env >= 0);
	spin_ms(20);
	struct ipc_msg m = { 0 };
	EXPECT_EQ(t, ipc_recv(ch, &m), E_RANGE); /* tail a million ahead */
	EXPECT_EQ(t, ipc_error(ch), E_RANGE);	 /* sticky */
	EXPECT_EQ(t, ipc_send(ch, &m, 8), E_RANGE);
	ipc_close(ch);
	EXPECT_EQ(t, reap(env, 10), 0);
	/* The head alone: a producer that fills the ring reads it, and refuses it. */
	struct ipc_chan *c2;
	env = spawn(other_core, R_ECHO, 0, &c2, NULL, NULL);
	ASSERT(t, env >= 0);
	m.w[0] = 0xdead;
	EXPECT_EQ(t, ipc_call(c2, &m, 16, &m), 0);
	EXPECT_EQ(t, reap(env, 10), 0); /* no one drains it now; its head line, as if it wrote: */
	__atomic_store_n(&ipc_page_of(c2)->dir[0].head.v, 1ULL << 50, __ATOMIC_RELEASE);
	int e = 0;
	for (unsigned i = 0; i < IPC_SLOTS + 1 && !e; i++)
		e = ipc_try_send(c2, &m, 8);
	EXPECT(t, e == E_RANGE || e == E_NOENT);
	ipc_close(c2);
}

TEST(ipc, channel_from_frames_the_peer_does_not_hold)
{
	int64_t env = sys_env_create(other_core);
	ASSERT(t, env >= 0);
	struct ipc_words w = { 0 };
	/* A read-only frame, a zeroed frame (no channel), an env cap: given to the child. */
	int64_t f = sys_frame_alloc(FRAME_ANY), z = sys_frame_alloc(FRAME_ANY);
	int64_t ro = sys_cap_mint((uint64_t)f, CAP_R_READ | CAP_R_MAP | CAP_R_GRANT, 0);
	int64_t gro = sys_cap_grant((uint64_t)ro, (uint64_t)env, GRANT_MOVE);
	int64_t gz = sys_cap_grant((uint64_t)z, (uint64_t)env, GRANT_COPY);
	int64_t e2 = sys_cap_mint((uint64_t)env, CAP_R_WRITE | CAP_R_GRANT, 0);
	int64_t genv = sys_cap_grant((uint64_t)e2, (uint64_t)env, GRANT_MOVE);
	ASSERT(t, gro >= 0 && gz >= 0 && genv >= 0);
	char s[80];
	EXPECT_EQ(t, ipc_words_add(&w, "ipc_chan=empty:200:1:-:-:0"), 0);
	ksnprintf(s, sizeof(s), "ipc_chan=notframe:%lld:1:-:-:0", (long long)genv);
	EXPECT_EQ(t, ipc_words_add(&w, s), 0);
	ksnprintf(s, sizeof(s), "ipc_chan=readonly:%lld:1:-:-:0", (long long)gro);
	EXPECT_EQ(t, ipc_words_add(&w, s), 0);
	ksnprintf(s, sizeof(s), "ipc_chan=zeroed:%lld:1:-:-:0", (long long)gz);
	EXPECT_EQ(t, ipc_words_add(&w, s), 0);
	EXPECT_EQ(t, ipc_words_add(&w, "ipc_chan=junk:12x:1:-:-:0"), 0);
	ASSERT_EQ(t, sys_env_start_args((uint64_t)env, libos_self_prog, R_BADOPEN, w.buf, w.len),
		  0);
	EXPECT_EQ(t, reap(env, 10), 0);
	while (sys_cap_revoke((uint64_t)f) == E_AGAIN)
		;
	while (sys_cap_revoke((uint64_t)z) == E_AGAIN)
		;
	EXPECT_EQ(t, sys_frame_free((uint64_t)f), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)z), 0);
}

/* A full ring fails at once (full_fail=1) or waits for room (the default), under each policy. */
TEST(ipc, full_ring_blocks_or_fails_as_the_policy_says)
{
	const char *saved = libos_policy_current(POLICY_IPC);
	char keep[POLICY_SPEC_MAX];
	ksnprintf(keep, sizeof(keep), "%s", saved);
	const uint64_t per = (uint64_t)3 * IPC_SLOTS;
	struct ipc_chan *ch;
	char nw[32];
	ksnprintf(nw, sizeof(nw), "n=%llu", (unsigned long long)per * NPOL);
	int64_t env = spawn(other_core, R_DRAIN, 0, &ch, nw, NULL);
	ASSERT(t, env >= 0);
	uint64_t seq = 0;
	for (unsigned p = 0; p < NPOL; p++) {
		char spec[64];
		ksnprintf(spec, sizeof(spec), "%s%sfull_fail=1", policies[p],
			  policies[p][0] == 'a' || policies[p][0] == 'b' ? "," : ":");
		use(spec);
		struct ipc_msg m = { 0 };
		uint64_t first = seq;
		int e = 0;
		while (seq - first < per - 1 &&
		       (e = ipc_send(ch, &(struct ipc_msg){ .w = { seq } }, 8)) == 0)
			seq++;
		EXPECT_EQ(t, e, E_AGAIN); /* the child drains every 3 ms: we filled it first */
		EXPECT_EQ(t, ipc_try_send(ch, &m, 8), E_AGAIN);
		use(policies[p]);
		uint64_t t0 = libos_cycles();
		while (seq - first < per)
			ASSERT_EQ(t, ipc_send(ch, &(struct ipc_msg){ .w = { seq++ } }, 8), 0);
		EXPECT(t, libos_cycles() - t0 > 0);
	}
	EXPECT_EQ(t, reap(env, 20), 0); /* it got every message, in order */
	ipc_close(ch);
	use(keep);
}

/* Both sides stream while both swap ipc policies under the traffic: nothing lost or doubled. */
TEST(ipc, swap_while_in_flight_loses_and_duplicates_nothing)
{
	uint64_t n = libos_arg_u64("n", 2000);
	struct ipc_chan *ch;
	int64_t env = spawn(other_core, R_SWAPPER, 0, &ch, "seed=77",
			    "swap=ipc:poll@1ms+ipc:batch:batch=2@2ms+ipc:notify@3ms");
	ASSERT(t, env >= 0);
	struct ipc_stats s0, s1;
	ipc_stats_get(&s0);
	EXPECT_EQ(t, stream(ch, n, 5, true) == 0 ? 0 : 1, 0);
	ipc_stats_get(&s1);
	EXPECT(t, s1.swaps - s0.swaps > 5);
	ipc_close(ch);
	EXPECT_EQ(t, reap(env, 30), 0);
	use("adaptive");
}

TEST(ipc, pct_call_on_one_core_and_rings_across)
{
	use("pct");
	struct ipc_chan *same, *cross;
	int64_t e1 = spawn(my_core, R_ECHO, IPC_PCT_CHILD, &same, NULL, NULL);
	int64_t e2 = spawn(other_core, R_ECHO, 0, &cross, NULL, NULL);
	ASSERT(t, e1 >= 0 && e2 >= 0);
	struct ipc_msg m = { .w = { 1, 41 } }, rep;
	struct ipc_stats s0, s1;
	EXPECT_EQ(t, ipc_call(same, &m, sizeof(m), &rep),
		  0); /* may go by the rings: not serving yet */
	ipc_stats_get(&s0);
	for (unsigned i = 0; i < 100; i++) {
		m.w[1] = i;
		ASSERT_EQ(t, ipc_call(same, &m, sizeof(m), &rep), 0);
		ASSERT_EQ(t, rep.w[1], i + 1);
		ASSERT_EQ(t, ipc_call(cross, &m, sizeof(m), &rep), 0);
		ASSERT_EQ(t, rep.w[1], i + 1);
	}
	ipc_stats_get(&s1);
	EXPECT_EQ(t, s1.pct_calls - s0.pct_calls, 100); /* one core: every call over PCT */
	m.w[0] = 0xdead;
	EXPECT_EQ(t, ipc_call(same, &m, sizeof(m), &rep), 0);
	EXPECT_EQ(t, ipc_call(cross, &m, sizeof(m), &rep), 0);
	EXPECT_EQ(t, reap(e1, 10), 0);
	EXPECT_EQ(t, reap(e2, 10), 0);
	/* The server gone, a PCT call says so. */
	EXPECT(t, ipc_call(same, &m, sizeof(m), &rep) < 0);
	ipc_close(same);
	ipc_close(cross);
	use("adaptive");
}

TEST(ipc, wait_any_and_its_timeout)
{
	struct ipc_chan *ch[2];
	int64_t e1 = spawn(other_core, R_LATE, 0, &ch[0], NULL, NULL);
	int64_t e2 = spawn(my_core, R_ECHO, 0, &ch[1], NULL, NULL);
	ASSERT(t, e1 >= 0 && e2 >= 0);
	EXPECT_EQ(t, ipc_wait_any(ch, 2, 0), E_TIMEOUT); /* just look: nothing yet */
	EXPECT_EQ(t, ipc_wait_any(ch, 2, 5ULL * 1000000000ULL), 0);
	struct ipc_msg m;
	EXPECT_EQ(t, ipc_recv(ch[0], &m), 0);
	EXPECT_EQ(t, m.w[0], 0x1a7e);
	m.w[0] = 0xdead;
	EXPECT_EQ(t, ipc_call(ch[1], &m, 16, &m), 0);
	EXPECT_EQ(t, reap(e1, 10), 0);
	EXPECT_EQ(t, reap(e2, 10), 0);
	ipc_close(ch[0]);
	ipc_close(ch[1]);
}

TEST(ipc, name_service_connects_two_children)
{
	int64_t a = sys_env_create(my_core), b = sys_env_create(other_core);
	ASSERT(t, a >= 0 && b >= 0);
	struct ipc_words wa = { 0 }, wb = { 0 };
	ASSERT_EQ(t,
		  ipc_connect_pair((uint64_t)a, my_core, &wa, (uint64_t)b, other_core, &wb, "p", 0),
		  0);
	EXPECT_EQ(t, ipc_words_add(&wb, "n=500"), 0);
	EXPECT_EQ(t, ipc_words_add(&wa, "n=500"), 0);
	ASSERT_EQ(t, sys_env_start_args((uint64_t)b, libos_self_prog, R_ECHO, wb.buf, wb.len), 0);
	ASSERT_EQ(t, sys_env_start_args((uint64_t)a, libos_self_prog, R_PAIR_A, wa.buf, wa.len), 0);
	EXPECT_EQ(t, reap(a, 20), 0);
	EXPECT_EQ(t, reap(b, 20), 0);
}

/* While one thread waits in ipc_recv, the environment's other threads run. */
static volatile uint64_t ticks;
static void ticker(void *arg)
{
	uint64_t end = libos_cycles() + SEC / 50; /* 20 ms */
	while (libos_cycles() < end) {
		ticks++;
		thread_yield();
	}
}

TEST(ipc, a_wait_blocks_only_the_calling_thread)
{
	use("notify");
	struct ipc_chan *ch;
	int64_t env = spawn(other_core, R_LATE, 0, &ch, NULL, NULL);
	ASSERT(t, env >= 0);
	struct thread *th;
	ticks = 0;
	ASSERT_EQ(t, thread_create(&th, ticker, NULL, NULL), 0);
	struct ipc_msg m;
	EXPECT_EQ(t, ipc_recv(ch, &m), 0); /* the child sends after 30 ms */
	EXPECT_EQ(t, m.w[0], 0x1a7e);
	EXPECT(t, ticks > 10); /* the ticker ran meanwhile */
	EXPECT_EQ(t, thread_join(th, NULL), 0);
	EXPECT_EQ(t, reap(env, 10), 0);
	ipc_close(ch);
	use("adaptive");
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg != R_TESTS)
		return child(arg);
	my_core = core;
	int64_t probe = sys_env_create(core + 1);
	two_cores = probe >= 0;
	other_core = two_cores ? core + 1 : core;
	if (probe >= 0)
		(void)sys_cap_delete((uint64_t)probe);
	return (int)test_run(libos_arg("only"));
}
