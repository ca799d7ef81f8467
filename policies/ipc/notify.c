/*
 * notify: block at once; the sender rings (SYS_NOTIFY, an IPI across cores)
 * when it publishes to a receiver that is asleep. Costs a notification per
 * sleep, frees the core for other threads and environments while waiting.
 */
#include <libos/ipc_impl.h>

static bool full_fail;

static int notify_init(const uint64_t *params)
{
	full_fail = params[0] != 0;
	return 0;
}

static enum ipc_how notify_wait(uint64_t waited, bool same_core)
{
	return IPC_BLOCK;
}

static bool notify_notify_now(uint64_t unnotified)
{
	return true;
}

static bool notify_full_fails(void)
{
	return full_fail;
}

static const struct ipc_ops notify = {
	.info = { .kind = POLICY_IPC,
		  .name = "notify",
		  .description = "block at once; the sender notifies a sleeping receiver",
		  .params = { { "full_fail", 0, "1: a send to a full ring fails with E_AGAIN" } } },
	.init = notify_init,
	.wait = notify_wait,
	.notify_now = notify_notify_now,
	.full_fails = notify_full_fails,
};
POLICY_REGISTER(notify);
