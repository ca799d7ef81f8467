/*
 * Per-core event traces: each core records what its kernel instance does
 * (slices, upcalls, IPIs, channel messages, revocation steps) in a ring of
 * its own, always on; `trace=yes` on the command line prints the rings at
 * the end of the run, and `tools/exo trace LOG` turns them into Chrome
 * trace-event JSON for Perfetto. A record costs one rdtsc and four stores
 * (docs/protocol.md, "Traces", has the format and the measured cost).
 */
#pragma once

#include <arch/cpu.h>
#include <exo/types.h>
#include <percpu.h>

enum trace_type {
	TR_SLICE_START = 1, /* a: env id | TR_WITH_UPCALL if its scheduler upcall runs, b: slot (~0: free time) */
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

#define TR_WITH_UPCALL (1u << 31)

#define TRACE_EVENTS 2048 /* per core, the newest kept; a power of two */

struct trace_ev {
	uint64_t tsc;
	uint32_t type, a;
	uint64_t b;
	uint64_t pad;
};

/* Each core writes only its own ring; an IPI handler may interleave, hence the atomic slot. */
struct trace_ring {
	uint64_t head; /* events recorded so far */
	struct trace_ev ev[TRACE_EVENTS];
};
extern struct trace_ring trace_rings[MAX_CPUS];

/* Record an event on this core (any context, interrupts on or off): inline, on hot paths. */
static inline void trace(enum trace_type type, uint32_t a, uint64_t b)
{
	struct trace_ring *r = &trace_rings[cpu_id()];
	uint64_t i = __atomic_fetch_add(&r->head, 1, __ATOMIC_RELAXED);
	struct trace_ev *e = &r->ev[i % TRACE_EVENTS];
	e->tsc = arch_cycles();
	e->type = type;
	e->a = a;
	e->b = b;
}

/* Empty every ring (before the run's tests and programs: the boot's own figures would fill them). */
void trace_reset(void);

/* Print every core's ring, oldest first, as TRACE lines (the end of a run). */
void trace_dump(void);
