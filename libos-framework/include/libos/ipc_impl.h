/*
 * What an ipc policy implements (policies/ipc/<name>.c), and the channel
 * page and ring code the runtime (libos-framework/ipc.c) and the host
 * tests share (libos-framework/ipc_ring.c, which makes no system call).
 *
 * An ipc policy decides how to wait, not what a channel is: whether a
 * receiver (or a sender facing a full ring) spins or blocks, when a sender
 * rings a sleeping peer, whether a full ring fails, and whether a call to
 * a peer on the same core goes over PCT. Its hooks are pure functions of
 * their arguments and its parameters: they call nothing, so the same file
 * builds for the host tests, and a swap needs no state handed over (the
 * rings are the state, and they belong to the runtime).
 */
#pragma once

#include <libos/ipc.h>
#include <libos/policy.h>

/* How to wait this round. */
enum ipc_how {
	IPC_SPIN = 0,  /* look again soon (a pause; on one core, the peer runs first) */
	IPC_BLOCK = 1, /* ask to be notified and block the thread until then */
};

struct ipc_ops {
	struct policy_info info; /* .kind = POLICY_IPC */
	/* Start with the parameters (values in the order of info.params). May refuse. Required. */
	int (*init)(const uint64_t *params);
	/*
	 * Nothing to receive (or no room to send) yet, after waiting `waited`
	 * cycles so far in this call; same_core: the peer shares this core
	 * (spinning then only yields to it). Required.
	 */
	enum ipc_how (*wait)(uint64_t waited, bool same_core);
	/*
	 * The peer sleeps and `unnotified` messages were sent since it was
	 * last rung: ring it now? (A sender rings anyway before it waits
	 * itself, and on ipc_flush.) Required.
	 */
	bool (*notify_now)(uint64_t unnotified);
	/* A full ring: fail the send with E_AGAIN (true) or wait (false). Optional: wait. */
	bool (*full_fails)(void);
	/* Calls to a same-core peer that serves over PCT go over PCT. */
	bool pct;
	/* Being swapped out. Optional. */
	void (*fini)(void);
};

/* The default ipc policy (when ipc= is not given, and after a misbehaving one). */
#define IPC_DEFAULT "adaptive"

/* ------------------------------------------------------------------ */
/* The channel page: one 4 KiB frame, 64 cache lines. */

#define IPC_MAGIC 0x4c4e4148435f4f45ULL /* "EO_CHANL" */
#define IPC_VERSION 1
#define IPC_SLOTS 26 /* messages in flight each way */
#define IPC_PAGE_SIZE 4096

/* One cache line each: a line is written by one side only. */
struct ipc_idx {
	uint64_t v; /* tail (producer) or head (consumer): messages so far */
	uint64_t pad[7];
} __attribute__((aligned(64)));

struct ipc_waiter {
	uint64_t sleep_seq;  /* odd while this end waits to be notified */
	uint64_t notify_bit; /* the bit (0..62) this end wants in its notifications */
	uint64_t closed;     /* non-zero once this end closed */
	uint64_t pad[5];
} __attribute__((aligned(64)));

struct ipc_slot {
	uint8_t b[IPC_MSG_SIZE];
} __attribute__((aligned(64)));

/* One direction: the producer writes tail and pw, the consumer head and cw. */
struct ipc_dir {
	struct ipc_idx tail;
	struct ipc_idx head;
	struct ipc_waiter pw; /* the producer, waiting for room */
	struct ipc_waiter cw; /* the consumer, waiting for messages */
	struct ipc_slot slot[IPC_SLOTS];
};

struct ipc_page {
	struct {
		uint64_t magic, version, slots, pad[5];
	} __attribute__((aligned(64))) hdr; /* written once, by the side that allocated the frame */
	struct ipc_dir dir[2];		    /* dir[s]: side s produces, side 1 - s consumes */
	struct ipc_slot call[2];	    /* PCT: call[s] written by side s (request or reply) */
	struct ipc_slot spare;
};
_Static_assert(sizeof(struct ipc_page) == IPC_PAGE_SIZE, "a channel is one page");

/*
 * One end of one direction, private to its side: its own index is kept
 * here and only ever written to the page (a peer may overwrite the page's
 * copy; this side never reads it back). What the peer writes is read,
 * checked, and cached.
 */
struct ipc_tx {
	struct ipc_dir *d;
	uint64_t tail;	     /* messages this side published */
	uint64_t head_seen;  /* the consumer's head, as last read and checked */
	uint64_t notified;   /* the peer's sleep_seq this side last rang for */
	uint64_t unnotified; /* messages sent since the peer was last rung */
	uint64_t sleep;	     /* this side's own pw.sleep_seq */
};

struct ipc_rx {
	struct ipc_dir *d;
	uint64_t head;	    /* messages this side consumed */
	uint64_t tail_seen; /* the producer's tail, as last read and checked */
	uint64_t notified;  /* the producer's sleep_seq this side last rang for */
	uint64_t sleep;	    /* this side's own cw.sleep_seq */
};

/* Copy one whole message: eight word moves, no call (the hot paths' copy). */
typedef uint64_t ipc_word __attribute__((may_alias, aligned(8)));
static inline void ipc_copy_msg(void *dst, const void *src)
{
	ipc_word *d = dst;
	const ipc_word *s = src;
	for (unsigned i = 0; i < IPC_MSG_SIZE / 8; i++)
		d[i] = s[i];
}

/* Copy len <= IPC_MSG_SIZE bytes and zero the rest of the message. */
static inline void ipc_fill_msg(void *dst, const void *src, size_t len)
{
	if (len == IPC_MSG_SIZE && !((uintptr_t)src & 7)) {
		ipc_copy_msg(dst, src);
		return;
	}
	__builtin_memcpy(dst, src, len);
	__builtin_memset((uint8_t *)dst + len, 0, IPC_MSG_SIZE - len);
}

/* Lay out a fresh (zeroed) page: the header. */
void ipc_page_init(struct ipc_page *p);
/* The page is a channel of this version. */
bool ipc_page_ok(const struct ipc_page *p);

/* Side s's two ends of page p; bit is the notification bit it wants. */
void ipc_ends_init(struct ipc_page *p, unsigned side, unsigned bit, struct ipc_tx *tx,
		   struct ipc_rx *rx);

/* Publish one message (len <= IPC_MSG_SIZE). 0, E_AGAIN (full), E_RANGE (head out of range). */
must_check int ipc_ring_put(struct ipc_tx *tx, const void *msg, size_t len);
/* Take one message. 0, E_AGAIN (empty), E_RANGE (tail out of range). */
must_check int ipc_ring_get(struct ipc_rx *rx, struct ipc_msg *out);
/* Messages waiting (> 0), none (0), or E_RANGE; consumes nothing. */
int ipc_ring_avail(struct ipc_rx *rx);
/* Free slots (> 0), none (0), or E_RANGE. */
int ipc_ring_room(struct ipc_tx *tx);

/*
 * The sleep handshake. A waiter marks itself asleep (the mark is visible
 * before it looks at the ring again: a full fence), looks once more, and
 * only then blocks; a sender publishes, fences, and rings a peer whose
 * mark is up and that it has not rung for yet. Whichever order the two
 * run in, one of them sees the other.
 */
void ipc_rx_sleep(struct ipc_rx *rx, bool asleep);
void ipc_tx_sleep(struct ipc_tx *tx, bool asleep);
/*
 * The consumer sleeps and was not rung for this sleep (*seq) yet: ring *bit,
 * then say so with ipc_tx_rung. The rx pair: the producer sleeps waiting
 * for room.
 */
bool ipc_tx_peer_asleep(const struct ipc_tx *tx, uint64_t *seq, unsigned *bit);
void ipc_tx_rung(struct ipc_tx *tx, uint64_t seq);
bool ipc_rx_peer_asleep(const struct ipc_rx *rx, uint64_t *seq, unsigned *bit);
void ipc_rx_rung(struct ipc_rx *rx, uint64_t seq);
/* The other end said it closed. */
bool ipc_rx_peer_closed(const struct ipc_rx *rx);
bool ipc_tx_peer_closed(const struct ipc_tx *tx);
/* Say this end is closed (both directions). */
void ipc_ends_close(struct ipc_tx *tx, struct ipc_rx *rx);

/* The page of an open channel (tests play a hostile peer through it). */
struct ipc_page *ipc_page_of(struct ipc_chan *ch);
