/*
 * pct: a call to a peer on this core that serves over PCT is one protected
 * control transfer (the request and reply in the channel's call slots, the
 * caller's slice donated to the server); everything else — sends, receives,
 * cross-core calls — blocks as notify does. The same-core choice.
 */
#include <libos/ipc_impl.h>

static bool full_fail;

static int pct_init(const uint64_t *params)
{
	full_fail = params[0] != 0;
	return 0;
}

static enum ipc_how pct_wait(uint64_t waited, bool same_core)
{
	return IPC_BLOCK;
}

static bool pct_notify_now(uint64_t unnotified)
{
	return true;
}

static bool pct_full_fails(void)
{
	return full_fail;
}

static const struct ipc_ops pct = {
	.info = { .kind = POLICY_IPC,
		  .name = "pct",
		  .description = "calls on one core by protected control transfer; else block",
		  .params = { { "full_fail", 0, "1: a send to a full ring fails with E_AGAIN" } } },
	.init = pct_init,
	.wait = pct_wait,
	.notify_now = pct_notify_now,
	.full_fails = pct_full_fails,
	.pct = true,
};
POLICY_REGISTER(pct);
