/*
 * core/'s side of percpu/'s hooks (exo/hooks.h): how percpu/, the layer
 * below, reaches the scheduler, the cross-core server, environments and
 * the frame allocator without naming them.
 */
#include <chan.h>
#include <exo/env.h>
#include <exo/frame.h>
#include <exo/hooks.h>
#include <exo/pot.h>
#include <exo/xcall.h>
#include <hooks.h>

static void message(const struct chan_msg *m)
{
	if (m->type == CHAN_NOTIFY)
		env_notify_local((uint32_t)m->w[0], m->w[2], m->w[1]);
	else
		xcall_receive(m); /* CHAN_REQ, CHAN_REPLY */
}

static int ring_frame(uint64_t *frame)
{
	uint64_t gen;
	return frame_alloc_any(POT_NO_OWNER, true, frame, &gen); /* zeroed */
}

static const struct percpu_hooks core_hooks = {
	.run = sched_run,
	.serve = xcall_serve,
	.pending = xcall_pending,
	.message = message,
	.reset = xcall_reset,
	.ring_frame = ring_frame,
	.idle_work = frame_zero_ahead,
};

void core_hooks_register(void)
{
	percpu_set_hooks(&core_hooks);
}
