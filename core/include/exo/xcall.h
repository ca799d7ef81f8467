/*
 * Cross-core kernel operations as messages (docs/design.md "Cross-core messages
 * and revocation"). An operation on an environment homed on another core —
 * create, start, destroy, a grant into its capability table — is carried
 * out by that core's kernel instance: the caller sends a CHAN_REQ and waits
 * for the CHAN_REPLY, serving requests addressed to its own core meanwhile
 * (so two cores asking each other at once cannot deadlock).
 *
 * The home core takes a request off its ring in chan_poll (interrupts off,
 * perhaps in the doorbell IPI) and only queues it; it is served at a safe
 * point: the top of the run loop, the idle loop, any kernel wait loop
 * (xcall itself, smp_call_wait), or — when the doorbell interrupted user
 * mode or a system call — by leaving user mode for the run loop and then
 * resuming the same environment in the same slice. A safe point holds no
 * lock and no per-core scratch state.
 *
 * Each core has at most one request outstanding (it waits for the reply),
 * so a core queues at most one request per other core.
 */
#pragma once

#include <chan.h>
#include <exo/types.h>

enum xc_op {
	XC_ENV_CREATE = 1, /* () -> out[0] env id, out[1] its generation */
	XC_ENV_START,	   /* (env id, gen, program, arg) */
	XC_ENV_DESTROY,	   /* (env id, gen) */
	XC_CAP_GRANT,	   /* (from env id, slot, to env id, to gen, move) -> out[0] slot in to */
	XC_OPS,
};

/*
 * Carry out op with arguments a[0..4] on core home and wait for its result
 * (an error code or 0; out[0..1] as the op says). home may be this core (done
 * here, directly). Interrupts on; the caller holds no lock.
 */
int64_t xcall(unsigned home, enum xc_op op, const uint64_t a[5], uint64_t out[2]);

/* chan.c: a CHAN_REQ or CHAN_REPLY arrived for this core (interrupts off). */
void xcall_receive(const struct chan_msg *m);

/* Whether requests wait to be served on this core. */
bool xcall_pending(void);

/* Serve every request waiting on this core (a safe point; interrupts on). */
void xcall_serve(void);

/* Requests this core has served (tests and figures). */
uint64_t xcall_served(unsigned core);

/* Forget every queued request and waiter (the host, between simulated machines). */
void xcall_reset(void);
