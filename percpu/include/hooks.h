/*
 * What percpu/ needs from the layer above it (docs/design.md "Layers").
 * percpu/ runs a core's idle loop, its waits and its message channels, but
 * scheduling, cross-core requests, notifications and frames are core/'s:
 * percpu/ calls them only through these hooks, which core/ registers at
 * boot (core/hooks.c), and includes no header of core/'s objects.
 *
 * Unset (before registration, or in a test that needs none) each hook does
 * nothing: no environment runs, no request is pending, and a ring cannot be
 * allocated (E_NOMEM).
 */
#pragma once

#include <exo/types.h>

struct chan_msg;

struct percpu_hooks {
	/* Run this core's environments until none is runnable (the idle loop). */
	void (*run)(void);
	/* Serve the cross-core requests queued for this core (every wait). */
	void (*serve)(void);
	/* Whether any is queued (the idle loop sleeps only when none is). */
	bool (*pending)(void);
	/* A channel message of core/'s kinds: CHAN_NOTIFY, CHAN_REQ, CHAN_REPLY. */
	void (*message)(const struct chan_msg *m);
	/* The channels were reset: whatever was queued in them is gone. */
	void (*reset)(void);
	/* A zeroed frame, owned by no environment, for a message ring (E_NOMEM). */
	int (*ring_frame)(uint64_t *frame);
	/* A short piece of background work (zeroing a frame ahead); true if more is left. */
	bool (*idle_work)(void);
};

/* Register core/'s hooks (NULL: none). Before any core waits or polls. */
void percpu_set_hooks(const struct percpu_hooks *h);

/*
 * The registered hooks, every one set (no-ops if none was registered). A
 * copy, not a pointer: a call through it is one instruction, as a direct
 * call is (the idle loop and every wait make them).
 */
extern struct percpu_hooks percpu_hook;
