/*
 * Per-core event traces: each core records what its kernel instance does
 * (slices, upcalls, IPIs, channel messages, revocation steps) in a ring of
 * its own, always on; `trace=yes` on the command line prints the rings at
 * the end of the run, and `tools/exo trace LOG` turns them into Chrome
 * trace-event JSON for Perfetto. A record costs one rdtsc and four stores
 * (docs/protocol.md, "Traces", has the format and the measured cost).
 */
#pragma once

#include <exo/types.h>

enum trace_type {
	TR_SLICE_START = 1, /* a: env id, b: slot (~0: free time) */
	TR_SLICE_END = 2,   /* a: env id, b: cycles it ran */
	TR_UPCALL = 3,	    /* a: env id, b: enum upcall_kind */
	TR_IPI_SEND = 4,    /* a: target core, b: enum ipi_kind */
	TR_IPI_RECV = 5,    /* a: 0, b: enum ipi_kind */
	TR_CHAN_SEND = 6,   /* a: target core, b: the message's sequence number on that ring << 8 | type */
	TR_CHAN_RECV = 7,   /* a: sender core, b: its sequence number << 8 | type */
	TR_REVOKE = 8,	    /* a: env id, b: enum trace_revoke_step */
	TR_ENV_EXIT = 9,    /* a: env id, b: exit status */
};

enum trace_revoke_step {
	TRV_ASKED = 1, /* a revocation request reached the owner's core */
	TRV_TOLD = 2,  /* its revocation upcall ran */
	TRV_ABORT = 3, /* the abort protocol took the frames */
};

#define TRACE_EVENTS 2048 /* per core, the newest kept; a power of two */

/* Record an event on this core (any context, interrupts on or off). */
void trace(enum trace_type type, uint32_t a, uint64_t b);

/* Empty every ring (before the run's tests and programs: the boot's own figures would fill them). */
void trace_reset(void);

/* Print every core's ring, oldest first, as TRACE lines (the end of a run). */
void trace_dump(void);
