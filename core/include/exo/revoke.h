/*
 * Visible revocation and the abort protocol (docs/design.md "Cross-core messages
 * and revocation"). A request names an environment and either one frame or
 * a number of frames. It is handled on the owner's home core (a channel
 * message when it comes from another core): the owner's libOS is upcalled
 * (UPCALL_REVOKE) with a deadline and returns frames of its choice with
 * SYS_FRAME_FREE. Past the deadline — or at once when the owner cannot
 * answer (no revocation entry, not running) — the kernel takes the frames:
 * revokes every capability derived from the frame's root (removing every
 * binding, with TLB flushes on the bound environments' cores), shoots the
 * frame down on every core in its mapped-on set and waits for each
 * acknowledgement, then frees it with a generation bump (the root capability
 * goes stale), records it in the repossession vector and tells the libOS.
 * Only frames the owner allocated itself are revocable, and never below its
 * guarantee (SYS_GUARANTEE); its program image, stack and page tables are not.
 */
#pragma once

#include <exo/types.h>

struct env;

extern uint64_t revoke_deadline_ns; /* kernel option revoke_us=, default 1 s */

/*
 * Ask e for count frames (frame == FRAME_ANY) or for frame `frame`: from
 * any core. E_INVAL: count 0, or frame named with count != 1; E_RANGE:
 * frame past memory; E_PERM: the frame is not e's, or taking it would break
 * e's guarantee; E_BUSY: a request for e is already pending.
 */
must_check int revoke_ask(struct env *e, uint64_t frame, uint64_t count);

/*
 * revoke_ask's two steps after its checks, apart so a test can look
 * between them: claim e's one request (E_BUSY: one is pending; the claimed
 * request is REV_FILLING, which the home core leaves alone), then fill it
 * in and publish it (REV_ASKED, the deadline from now) and wake the home
 * core. Every claim is followed by its publish.
 */
must_check int revoke_claim(struct env *e);
void revoke_publish(struct env *e, uint64_t frame, uint64_t count);

/* On e's home core: note that e freed frame (it counts toward a request). */
void revoke_note_free(struct env *e, uint64_t frame);

/*
 * On the home core, at a slice boundary: deliver e's pending revocation
 * upcall, or past the deadline take the frames by force. Returns true if
 * e's context was redirected into an upcall.
 */
bool revoke_slice(struct env *e);

/*
 * On a home core, every loop of its run loop: enforce deadlines, and take
 * at once from environments that cannot answer.
 */
void revoke_poll(void);

/* Take frame from e by force now (the abort path), on e's home core. E_PERM/E_STALE if not e's. */
must_check int revoke_take(struct env *e, uint64_t frame);
