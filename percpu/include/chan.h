/*
 * Kernel message channels (docs/design.md "Cross-core messages"): one
 * single-producer single-consumer ring of 64-byte messages per ordered pair
 * of cores, in shared memory. The sender rings the doorbell (IPI_WAKE) only
 * for the first message the receiver has not yet seen, so a burst costs one
 * IPI; a receiver that is polling anyway needs none. The receiver handles
 * messages in chan_poll, from its IPI handler and its idle and run loops,
 * with interrupts off.
 *
 * Same code on the host, where the simulator's chooser decides when each
 * core runs and so the order in which messages are delivered.
 */
#pragma once

#include <exo/types.h>

#define CHAN_SLOTS 32 /* messages per ring (a power of two) */

enum chan_type {
	CHAN_NONE = 0,
	CHAN_PING,   /* answer with CHAN_PONG carrying w[0] back */
	CHAN_PONG,   /* counts in the receiver's percpu pong counter */
	CHAN_CALL,   /* run ((void (*)(uint64_t *))w[0])(&w[1]) on the receiver */
	CHAN_NOTIFY, /* OR w[1] into the notifications of environment w[0] (at generation w[2]) */
	CHAN_REQ,    /* a kernel operation for this core to carry out (exo/xcall.h) */
	CHAN_REPLY,  /* its result, to the core that asked */
	CHAN_TYPES,
};

struct chan_msg {
	uint32_t type;	/* enum chan_type */
	uint32_t from;	/* sender core (filled in by chan_send) */
	uint64_t w[7];	/* payload */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct chan_msg) == 64, "one cache line per message");

/* Allocate and clear the rings for percpu_ncpus cores (boot, once). E_NOMEM. */
must_check int chan_init(void);

/*
 * Send m to core dst (not this core). E_AGAIN: the ring is full (the caller
 * decides whether to wait, by polling its own rings meanwhile); E_INVAL:
 * dst is out of range, offline or this core; E_NOTSUP: no rings yet.
 */
must_check int chan_send(unsigned dst, const struct chan_msg *m);

/* Handle every message waiting for this core; returns how many. Interrupts off. */
unsigned chan_poll(void);

/*
 * Say this core polls its rings continuously from now on (on), so senders
 * need not ring the doorbell, or no longer does (off: the next message rings
 * again). Interrupts off.
 */
void chan_set_polling(bool on);

/* Forget every ring, counter and queued request (the host, between simulated machines). */
void chan_reset(void);

/* Messages sent and doorbells rung by this core (for tests and figures). */
struct chan_stats {
	uint64_t sent, doorbells, received;
};
struct chan_stats chan_stats(unsigned core);
