/*
 * IPC at user level (libos-framework/ipc.c): channels between two
 * environments on the same or on different cores, and one API over them —
 * send, receive, call, wait on several — that uses protected control
 * transfer where both ends share a core and the ipc policy says so.
 * docs/ipc.md describes the channel layout, the policies and the errors.
 *
 * A channel is one 4 KiB frame that one side allocates and grants to the
 * other: a single-producer single-consumer ring of 64-byte messages each
 * way, and a notification when the receiver may be asleep. The parent of
 * the two ends sets it up with capabilities (ipc_connect, ipc_connect_pair)
 * and hands the child its end in its argument words; the child opens it by
 * name (ipc_open). Nothing is global and the kernel interprets nothing.
 *
 * Every call blocks at most the calling user-level thread (other threads of
 * the environment run while it waits), and only as the ipc policy says
 * (ipc=poll|notify|adaptive|batch|pct, swappable at run time).
 *
 * Errors (negative enum err), the same for every call:
 *   E_OVERFLOW  a message longer than IPC_MSG_SIZE;
 *   E_AGAIN     the ring is full (or empty) and the caller asked not to
 *               wait, or the policy fails a full ring (full_fail=1);
 *   E_NOENT     the peer closed its end or ended (messages it sent before
 *               are still received first);
 *   E_STALE     the channel's frame was revoked under this side;
 *   E_RANGE     the peer wrote an index out of range (a corrupt ring);
 *   E_TIMEOUT   ipc_wait_any's deadline passed;
 *   E_INVAL     a NULL or closed channel, or bad arguments.
 * E_STALE and E_RANGE are sticky: the channel can only be closed.
 */
#pragma once

#include <exo/abi.h>
#include <exo/types.h>

#define IPC_MSG_SIZE 64
#define IPC_NAME_MAX 16	    /* a channel's name, with its NUL */
#define IPC_CHANS_MAX 32    /* open channels per environment */
#define IPC_FOREVER (~0ULL) /* ipc_wait_any: no deadline */

struct ipc_msg {
	uint64_t w[IPC_MSG_SIZE / 8];
};

struct ipc_chan;

/* Words for a child's SYS_ENV_START (sys_env_start_args(env, prog, arg, w.buf, w.len)). */
struct ipc_words {
	char buf[ENV_ARGS_MAX];
	size_t len;
};

/* Append one NUL-ended word ("key=value"). E_RANGE: the words would pass ENV_ARGS_MAX. */
must_check int ipc_words_add(struct ipc_words *w, const char *word);

/* ipc_connect / ipc_connect_pair flags. */
enum ipc_connect_flags {
	/*
	 * The child (pair: env b) serves calls over PCT: an endpoint is made in
	 * it, on a stack of the libOS. Only for a child running this same
	 * program (the entry and stack addresses are this program's).
	 */
	IPC_PCT_CHILD = 1u << 0,
	/* This environment (pair: env a) serves calls over PCT from the other end. */
	IPC_PCT_SELF = 1u << 1,
};

/*
 * Parent side: a channel named name between this environment and env (an
 * env capability with CTRL, created on core env_core and not yet started).
 * Allocates the frame, maps it here, grants it to env, and appends the
 * child's word (ipc_chan=...) to *child. (The child gets no capability to
 * notify this side: the kernel has none to give for oneself, so this side
 * waits by looking at its rings; docs/ipc.md.) 0 and the channel in *out, or E_NOMEM (no frame, no channel
 * slot), E_RANGE (child's words full), E_INVAL (name), or the kernel's
 * error for env (E_BADSLOT, E_TYPE, E_PERM, E_STALE).
 */
must_check int ipc_connect(uint64_t env, uint64_t env_core, const char *name, unsigned flags,
			   struct ipc_chan **out, struct ipc_words *child);

/*
 * Name service: a channel named name between two children a and b (env
 * capabilities with CTRL, not yet started), on cores core_a and core_b.
 * The frame is this environment's, granted to both; each gets a
 * capability to notify the other. a is side 0, b side 1.
 */
must_check int ipc_connect_pair(uint64_t a, uint64_t core_a, struct ipc_words *wa, uint64_t b,
				uint64_t core_b, struct ipc_words *wb, const char *name,
				unsigned flags);

/*
 * Child side: open the channel the parent handed over as name. E_NOENT: no
 * such channel in the arguments; E_INVAL: a malformed word; E_TYPE /
 * E_PERM / E_BADSLOT / E_STALE: the frame named is not a frame this
 * environment holds with read, write and map rights; E_RANGE: the page is
 * not a channel (bad magic or version).
 */
must_check int ipc_open(const char *name, struct ipc_chan **out);

/* Send len <= IPC_MSG_SIZE bytes (zero-padded to a whole message); waits while the ring is full. */
must_check int ipc_send(struct ipc_chan *ch, const void *msg, size_t len);

/* As ipc_send, but E_AGAIN at once on a full ring. */
must_check int ipc_try_send(struct ipc_chan *ch, const void *msg, size_t len);

/* Receive the next message into *out; waits while the ring is empty. */
must_check int ipc_recv(struct ipc_chan *ch, struct ipc_msg *out);

/* As ipc_recv, but E_AGAIN at once on an empty ring. */
must_check int ipc_try_recv(struct ipc_chan *ch, struct ipc_msg *out);

/*
 * Request and reply: send req, and receive the reply into *rep. Over PCT
 * (one kernel crossing, the slice donated) when the peer serves calls over
 * PCT, shares this core and the policy is pct; otherwise a send and a
 * receive on the rings, which the peer answers from ipc_serve. A PCT call
 * the server cannot take at once (busy, not running) goes over the rings.
 */
must_check int ipc_call(struct ipc_chan *ch, const void *req, size_t len, struct ipc_msg *rep);

/*
 * Wait until one of chs[0..n) has a message to receive (or an error to
 * report: peer ended, frame revoked); returns its index. E_TIMEOUT after
 * timeout_ns (IPC_FOREVER: none; 0: just look).
 */
must_check int ipc_wait_any(struct ipc_chan *const *chs, unsigned n, uint64_t timeout_ns);

/* Ring the peer now for messages a batching policy held back (ipc=batch). */
void ipc_flush(struct ipc_chan *ch);

/*
 * A server's answer to one request: fill *rep and return IPC_REPLY, or
 * IPC_REPLY_STOP to reply and end ipc_serve, or IPC_BUSY (PCT only: the
 * caller falls back to the rings, which ipc_serve answers later).
 */
enum ipc_serve_ret { IPC_REPLY = 0, IPC_REPLY_STOP = 1, IPC_BUSY = 2 };
typedef int (*ipc_handler)(struct ipc_chan *ch, const struct ipc_msg *req, struct ipc_msg *rep);

/*
 * Serve calls on chs[0..n) with h: over PCT as they come (h runs on the
 * libOS's PCT stack, like an interrupt of this environment), and from the
 * rings here. A channel that fails (peer gone, revoked, corrupt) is
 * closed and dropped. Returns 0 once h said IPC_REPLY_STOP or every
 * channel is gone.
 */
must_check int ipc_serve(struct ipc_chan *const *chs, unsigned n, ipc_handler h);

/* Tell the peer this end is closed, unmap, and free the slot (the frame too, if ours). */
void ipc_close(struct ipc_chan *ch);

/* The channel's name, the peer's core, the side (0: allocated the frame), its sticky error. */
const char *ipc_name(const struct ipc_chan *ch);
uint64_t ipc_peer_core(const struct ipc_chan *ch);
bool ipc_same_core(const struct ipc_chan *ch);
int ipc_error(const struct ipc_chan *ch);

/* The frame capability this side maps the channel through (to revoke it, in tests and experiments). */
uint64_t ipc_frame(const struct ipc_chan *ch);

/* Counters for figures and tests: notifications sent, PCT calls, PCT calls that fell back. */
struct ipc_stats {
	uint64_t sent, received, notifies, pct_calls, pct_fallbacks, blocks, swaps;
};
void ipc_stats_get(struct ipc_stats *out);
