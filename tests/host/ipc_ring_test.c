/*
 * The IPC channel rings (libos-framework/ipc_ring.c) and the ipc policies
 * (policies/ipc/), on the host: order kept and nothing lost or duplicated
 * under seeded random interleavings and under two real threads; a peer that
 * writes hostile indices gets E_RANGE and changes nothing of ours; the
 * sleep handshake never loses a wake-up; each policy's decisions.
 */
#include <exo/errors.h>
#include <exo/test.h>
#include <libos/ipc_impl.h>
#include <pthread.h>
#include <string.h>

extern uint64_t libos_host_now;

static struct ipc_page page __attribute__((aligned(4096)));

struct side {
	struct ipc_tx tx;
	struct ipc_rx rx;
};

static void fresh(struct side *a, struct side *b)
{
	memset(&page, 0, sizeof(page));
	ipc_page_init(&page);
	ipc_ends_init(&page, 0, 3, &a->tx, &a->rx);
	ipc_ends_init(&page, 1, 5, &b->tx, &b->rx);
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A message carrying n in every word (a torn or mixed-up one shows). */
static void msg_of(uint64_t n, struct ipc_msg *m)
{
	for (unsigned i = 0; i < 8; i++)
		m->w[i] = n * 8 + i;
}

static bool msg_is(const struct ipc_msg *m, uint64_t n)
{
	for (unsigned i = 0; i < 8; i++)
		if (m->w[i] != n * 8 + i)
			return false;
	return true;
}

TEST(ipc_ring, page_layout_and_header)
{
	EXPECT_EQ(t, sizeof(struct ipc_page), 4096);
	EXPECT_EQ(t, sizeof(struct ipc_slot), IPC_MSG_SIZE);
	struct side a, b;
	fresh(&a, &b);
	EXPECT(t, ipc_page_ok(&page));
	page.hdr.version = 99;
	EXPECT(t, !ipc_page_ok(&page));
	memset(&page, 0, sizeof(page));
	EXPECT(t, !ipc_page_ok(&page)); /* a zeroed frame is not a channel */
}

TEST(ipc_ring, fills_then_refuses_then_drains_in_order)
{
	struct side a, b;
	fresh(&a, &b);
	struct ipc_msg m;
	for (uint64_t i = 0; i < IPC_SLOTS; i++) {
		msg_of(i, &m);
		ASSERT_EQ(t, ipc_ring_put(&a.tx, &m, sizeof(m)), E_OK);
	}
	msg_of(99, &m);
	EXPECT_EQ(t, ipc_ring_put(&a.tx, &m, sizeof(m)), E_AGAIN);
	EXPECT_EQ(t, ipc_ring_room(&a.tx), 0);
	EXPECT_EQ(t, ipc_ring_avail(&b.rx), IPC_SLOTS);
	for (uint64_t i = 0; i < IPC_SLOTS; i++) {
		ASSERT_EQ(t, ipc_ring_get(&b.rx, &m), E_OK);
		EXPECT(t, msg_is(&m, i));
	}
	EXPECT_EQ(t, ipc_ring_get(&b.rx, &m), E_AGAIN);
	/* The other direction is its own ring. */
	EXPECT_EQ(t, ipc_ring_get(&a.rx, &m), E_AGAIN);
	EXPECT_EQ(t, ipc_ring_room(&b.tx), IPC_SLOTS);
}

TEST(ipc_ring, short_message_is_zero_padded)
{
	struct side a, b;
	fresh(&a, &b);
	struct ipc_msg m;
	memset(&m, 0xee, sizeof(m));
	ASSERT_EQ(t, ipc_ring_put(&a.tx, &m, sizeof(m)), E_OK);
	ASSERT_EQ(t, ipc_ring_get(&b.rx, &m), E_OK);
	ASSERT_EQ(t, ipc_ring_put(&a.tx, "hi", 3), E_OK); /* same slot index + 1 */
	for (unsigned i = 0; i < IPC_SLOTS - 1; i++) {
		ASSERT_EQ(t, ipc_ring_get(&b.rx, &m), i ? E_AGAIN : E_OK);
		if (!i) {
			EXPECT_EQ(t, memcmp(&m, "hi", 3), 0);
			for (unsigned k = 3; k < IPC_MSG_SIZE; k++)
				EXPECT_EQ(t, ((uint8_t *)&m)[k], 0);
		}
	}
}

/*
 * Both sides driven by one seeded random stream, both directions at once:
 * every message arrives once, in order, whole.
 */
TEST(ipc_ring, seeded_interleavings_keep_order_lose_nothing)
{
	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct side s[2];
		fresh(&s[0], &s[1]);
		uint64_t r = seed * 0x9E3779B97F4A7C15ULL, sent[2] = { 0 }, got[2] = { 0 };
		const uint64_t total = 3000;
		unsigned bad = 0;
		while ((got[0] < total || got[1] < total) && bad < 5) {
			uint64_t x = rnd(&r);
			unsigned d = x & 1; /* direction d: side d sends, side 1 - d receives */
			struct ipc_msg m;
			if ((x >> 1) % 3 && sent[d] < total) {
				msg_of(sent[d], &m);
				int e = ipc_ring_put(&s[d].tx, &m, sizeof(m));
				if (e == E_OK)
					sent[d]++;
				else if (e != E_AGAIN)
					bad++;
			} else {
				int e = ipc_ring_get(&s[d ^ 1].rx, &m);
				if (e == E_OK) {
					if (!msg_is(&m, got[d]))
						bad++;
					got[d]++;
				} else if (e != E_AGAIN) {
					bad++;
				}
			}
			if (got[d] > sent[d])
				bad++;
		}
		ASSERT_EQ(t, bad, 0);
		EXPECT_EQ(t, got[0], total);
		EXPECT_EQ(t, got[1], total);
	}
}

/* Two real threads, one each way of one direction: the memory ordering holds. */
#define THREAD_MSGS 200000
static struct side ta, tb;
static volatile uint64_t thread_bad;

static void *producer(void *arg)
{
	struct ipc_msg m;
	for (uint64_t i = 0; i < THREAD_MSGS;) {
		msg_of(i, &m);
		int e = ipc_ring_put(&ta.tx, &m, sizeof(m));
		if (e == E_OK)
			i++;
		else if (e != E_AGAIN)
			thread_bad++;
	}
	return NULL;
}

TEST(ipc_ring, two_threads_keep_order_lose_nothing)
{
	fresh(&ta, &tb);
	thread_bad = 0;
	pthread_t p;
	ASSERT_EQ(t, pthread_create(&p, NULL, producer, NULL), 0);
	struct ipc_msg m;
	uint64_t got = 0, wrong = 0;
	while (got < THREAD_MSGS) {
		int e = ipc_ring_get(&tb.rx, &m);
		if (e == E_OK) {
			if (!msg_is(&m, got))
				wrong++;
			got++;
		} else if (e != E_AGAIN) {
			wrong++;
			break;
		}
	}
	pthread_join(p, NULL);
	EXPECT_EQ(t, wrong, 0);
	EXPECT_EQ(t, thread_bad, 0);
	EXPECT_EQ(t, got, THREAD_MSGS);
}

TEST(ipc_ring, hostile_tail_is_refused_and_changes_nothing)
{
	struct side a, b;
	fresh(&a, &b);
	struct ipc_msg m;
	msg_of(1, &m);
	ASSERT_EQ(t, ipc_ring_put(&a.tx, &m, sizeof(m)), E_OK);
	ASSERT_EQ(t, ipc_ring_get(&b.rx, &m), E_OK);
	const uint64_t bad_tails[] = { 1 + IPC_SLOTS + 1, ~0ULL, 0 /* backwards */, (1ULL << 63),
				       1 + 1000 };
	for (unsigned i = 0; i < sizeof(bad_tails) / sizeof(bad_tails[0]); i++) {
		page.dir[0].tail.v = bad_tails[i];
		EXPECT_EQ(t, ipc_ring_avail(&b.rx), E_RANGE);
		EXPECT_EQ(t, ipc_ring_get(&b.rx, &m), E_RANGE);
		EXPECT_EQ(t, b.rx.head, 1);	 /* our own index untouched */
		EXPECT_EQ(t, b.rx.tail_seen, 1); /* and nothing bad cached */
	}
	/* The largest honest tail is fine: a whole ring ahead. */
	page.dir[0].tail.v = 1 + IPC_SLOTS;
	EXPECT_EQ(t, ipc_ring_avail(&b.rx), IPC_SLOTS);
}

TEST(ipc_ring, hostile_head_is_refused_and_changes_nothing)
{
	struct side a, b;
	fresh(&a, &b);
	struct ipc_msg m;
	msg_of(1, &m);
	for (unsigned i = 0; i < IPC_SLOTS; i++)
		ASSERT_EQ(t, ipc_ring_put(&a.tx, &m, sizeof(m)), E_OK);
	/* Full: the producer reads the head. Past our tail, or huge: E_RANGE. */
	const uint64_t bad_heads[] = { IPC_SLOTS + 1, ~0ULL, 1ULL << 40 };
	for (unsigned i = 0; i < sizeof(bad_heads) / sizeof(bad_heads[0]); i++) {
		page.dir[0].head.v = bad_heads[i];
		EXPECT_EQ(t, ipc_ring_put(&a.tx, &m, sizeof(m)), E_RANGE);
		EXPECT_EQ(t, a.tx.tail, IPC_SLOTS);
		EXPECT_EQ(t, a.tx.head_seen, 0);
	}
	/* A head that went backwards after we saw it move on is refused too. */
	page.dir[0].head.v = 5;
	EXPECT_EQ(t, ipc_ring_room(&a.tx), 5);
	for (unsigned i = 0; i < 5; i++)
		ASSERT_EQ(t, ipc_ring_put(&a.tx, &m, sizeof(m)), E_OK);
	page.dir[0].head.v = 2;
	EXPECT_EQ(t, ipc_ring_put(&a.tx, &m, sizeof(m)), E_RANGE);
}

TEST(ipc_ring, sleep_handshake_rings_once_per_sleep)
{
	struct side a, b;
	fresh(&a, &b);
	uint64_t seq;
	unsigned bit = 99;
	EXPECT(t, !ipc_tx_peer_asleep(&a.tx, &seq, &bit)); /* b is awake */
	ipc_rx_sleep(&b.rx, true);
	ASSERT(t, ipc_tx_peer_asleep(&a.tx, &seq, &bit));
	EXPECT_EQ(t, bit, 5);
	ipc_tx_rung(&a.tx, seq);
	EXPECT(t, !ipc_tx_peer_asleep(&a.tx, &seq, &bit)); /* rung for this sleep already */
	ipc_rx_sleep(&b.rx, false);
	ipc_rx_sleep(&b.rx, true); /* a new sleep: rung again */
	EXPECT(t, ipc_tx_peer_asleep(&a.tx, &seq, &bit));
	/* A hostile bit is clamped to the 63 the kernel has. */
	page.dir[0].cw.notify_bit = 1000;
	EXPECT(t, ipc_tx_peer_asleep(&a.tx, &seq, &bit));
	EXPECT(t, bit < 63);
	/* Room: the producer's sleep is seen by the consumer. */
	ipc_tx_sleep(&b.tx, true);
	EXPECT(t, ipc_rx_peer_asleep(&a.rx, &seq, &bit));
	EXPECT_EQ(t, bit, 5);
}

/*
 * No lost wake-up, whatever the order: the receiver marks itself asleep and
 * looks again; the sender publishes and looks at the mark. In every
 * interleaving of those four steps, the receiver sees the message or the
 * sender rings.
 */
TEST(ipc_ring, no_lost_wakeup_in_any_order)
{
	/* Steps: R1 mark, R2 look; S1 publish, S2 check mark. R1<R2, S1<S2. */
	const char *orders[] = { "RRSS", "RSRS", "RSSR", "SRRS", "SRSR", "SSRR" };
	for (unsigned o = 0; o < 6; o++) {
		struct side a, b;
		fresh(&a, &b);
		unsigned ri = 0, si = 0;
		bool saw = false, rang = false;
		struct ipc_msg m;
		msg_of(7, &m);
		for (const char *p = orders[o]; *p; p++) {
			if (*p == 'R' && ri++ == 0)
				ipc_rx_sleep(&b.rx, true);
			else if (*p == 'R')
				saw = ipc_ring_avail(&b.rx) > 0;
			else if (si++ == 0)
				(void)ipc_ring_put(&a.tx, &m, sizeof(m));
			else {
				uint64_t seq;
				unsigned bit;
				rang = ipc_tx_peer_asleep(&a.tx, &seq, &bit);
			}
		}
		EXPECT(t, saw || rang);
	}
}

TEST(ipc_ring, closed_marks)
{
	struct side a, b;
	fresh(&a, &b);
	EXPECT(t, !ipc_rx_peer_closed(&b.rx));
	ipc_ends_close(&a.tx, &a.rx);
	EXPECT(t, ipc_rx_peer_closed(&b.rx));
	EXPECT(t, ipc_tx_peer_closed(&b.tx));
	EXPECT(t, !ipc_rx_peer_closed(&a.rx));
}

/* ------------------------------------------------------------------ */
/* The policies, through their ops tables. */

static const struct ipc_ops *ops_of(const char *spec, struct policy_choice *c)
{
	char err[200];
	if (policy_parse(POLICY_IPC, spec, c, err, sizeof(err)))
		return NULL;
	const struct ipc_ops *o = (const struct ipc_ops *)c->info;
	return o->init(c->values) ? NULL : o;
}

TEST(ipc_policy, all_five_register_with_their_hooks)
{
	const char *names[] = { "pct", "poll", "notify", "adaptive", "batch" };
	for (unsigned i = 0; i < 5; i++) {
		struct policy_choice c;
		const struct ipc_ops *o = ops_of(names[i], &c);
		ASSERT(t, o != NULL);
		EXPECT(t, o->wait && o->notify_now && o->info.kind == POLICY_IPC);
	}
	struct policy_choice c;
	EXPECT(t, ops_of(IPC_DEFAULT, &c) != NULL);
}

TEST(ipc_policy, decisions)
{
	struct policy_choice c;
	const struct ipc_ops *o = ops_of("poll", &c);
	EXPECT_EQ(t, o->wait(1ULL << 40, false), IPC_SPIN);
	EXPECT(t, !o->full_fails());
	o = ops_of("poll:full_fail=1", &c);
	EXPECT(t, o->full_fails());
	o = ops_of("notify", &c);
	EXPECT_EQ(t, o->wait(0, false), IPC_BLOCK);
	EXPECT(t, o->notify_now(1));
	o = ops_of("pct", &c);
	EXPECT(t, o->pct);
	EXPECT_EQ(t, o->wait(0, true), IPC_BLOCK);
	o = ops_of("adaptive:spin_us=10", &c); /* host clock: 1 GHz, 10 us = 10,000 cycles */
	EXPECT_EQ(t, o->wait(0, false), IPC_SPIN);
	EXPECT_EQ(t, o->wait(9999, false), IPC_SPIN);
	EXPECT_EQ(t, o->wait(10000, false), IPC_BLOCK);
	EXPECT_EQ(t, o->wait(0, true), IPC_BLOCK); /* one core: spinning only delays the peer */
	EXPECT(t, ops_of("adaptive:spin_us=2000000", &c) == NULL);
	o = ops_of("batch:batch=4", &c);
	EXPECT(t, !o->notify_now(3));
	EXPECT(t, o->notify_now(4));
	EXPECT(t, ops_of("batch:batch=0", &c) == NULL);
	EXPECT(t, ops_of("batch:batch=27", &c) == NULL); /* more than a ring */
}
