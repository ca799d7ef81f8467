/*
 * poll: spin on the ring, never block (Barrelfish's polled channels). The
 * lowest latency across cores, at the price of a core that burns while it
 * waits. On one core spinning is pointless, so a waiter gives its peer the
 * rest of the slice instead (the runtime does that for IPC_SPIN).
 */
#include <libos/ipc_impl.h>

static bool full_fail;

static int poll_init(const uint64_t *params)
{
	full_fail = params[0] != 0;
	return 0;
}

static enum ipc_how poll_wait(uint64_t waited, bool same_core)
{
	return IPC_SPIN;
}

/* A polling receiver never sleeps; a peer with another policy might, and is rung at once. */
static bool poll_notify_now(uint64_t unnotified)
{
	return true;
}

static bool poll_full_fails(void)
{
	return full_fail;
}

static const struct ipc_ops poll = {
	.info = { .kind = POLICY_IPC,
		  .name = "poll",
		  .description = "spin on the ring; never block",
		  .params = { { "full_fail", 0, "1: a send to a full ring fails with E_AGAIN" } } },
	.init = poll_init,
	.wait = poll_wait,
	.notify_now = poll_notify_now,
	.full_fails = poll_full_fails,
};
POLICY_REGISTER(poll);
