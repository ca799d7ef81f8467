/*
 * batch: block like notify, but a sender rings a sleeping receiver only
 * once per `batch` messages — and always before it waits itself, and on
 * ipc_flush — so a stream costs one notification per batch instead of one
 * per message. A sender that stops without waiting or flushing leaves up to
 * batch - 1 messages unannounced: the receiver finds them at its next look.
 */
#include <libos/ipc_impl.h>

static uint64_t batch;
static bool full_fail;

static int batch_init(const uint64_t *params)
{
	if (params[0] == 0 || params[0] > IPC_SLOTS)
		return E_RANGE; /* more than a ring's worth would wait on a full ring */
	batch = params[0];
	full_fail = params[1] != 0;
	return 0;
}

static enum ipc_how batch_wait(uint64_t waited, bool same_core)
{
	return IPC_BLOCK;
}

static bool batch_notify_now(uint64_t unnotified)
{
	return unnotified >= batch;
}

static bool batch_full_fails(void)
{
	return full_fail;
}

static const struct ipc_ops batch_ops = {
	.info = { .kind = POLICY_IPC,
		  .name = "batch",
		  .description = "block; senders notify once per batch of messages",
		  .params = { { "batch", 8, "messages per notification (1..26, a ring)" },
			      { "full_fail", 0, "1: a send to a full ring fails with E_AGAIN" } } },
	.init = batch_init,
	.wait = batch_wait,
	.notify_now = batch_notify_now,
	.full_fails = batch_full_fails,
};
POLICY_REGISTER(batch_ops);
