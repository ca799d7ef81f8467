/*
 * adaptive: spin for a bounded time, then block (the classic two-phase
 * wait): a reply that comes within the bound costs no notification, a long
 * wait costs at most the bound in spinning. The default ipc policy.
 */
#include <libos/ipc_impl.h>
#include <libos/sched.h> /* libos_cycles_hz */

static uint64_t spin_cycles;
static bool full_fail;

static int adaptive_init(const uint64_t *params)
{
	if (params[0] > 1000000)
		return E_RANGE; /* a second of spinning is not adaptive */
	spin_cycles = params[0] * (libos_cycles_hz() / 1000000);
	full_fail = params[1] != 0;
	return 0;
}

static enum ipc_how adaptive_wait(uint64_t waited, bool same_core)
{
	/* On one core the peer runs only when we stop: block at once. */
	return !same_core && waited < spin_cycles ? IPC_SPIN : IPC_BLOCK;
}

static bool adaptive_notify_now(uint64_t unnotified)
{
	return true;
}

static bool adaptive_full_fails(void)
{
	return full_fail;
}

static const struct ipc_ops adaptive = {
	.info = { .kind = POLICY_IPC,
		  .name = "adaptive",
		  .description = "spin up to spin_us, then block",
		  .params = { { "spin_us", 50,
				"microseconds to spin before blocking (<= 1000000)" },
			      { "full_fail", 0, "1: a send to a full ring fails with E_AGAIN" } } },
	.init = adaptive_init,
	.wait = adaptive_wait,
	.notify_now = adaptive_notify_now,
	.full_fails = adaptive_full_fails,
};
POLICY_REGISTER(adaptive);
