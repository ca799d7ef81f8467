/*
 * Environments: protection domains (docs/design.md). An environment has an
 * address space (page tables the kernel keeps for it, charged to it), a
 * capability table, a home core, saved user registers, and a repossession
 * vector. Environments live in one shared table indexed by id; an id plus
 * its generation names one incarnation, so capabilities to a destroyed
 * environment go stale.
 *
 * An environment runs only on its home core, and only that core's kernel
 * instance changes its run state; other cores reach it through capability
 * operations (tree locks) and, for its address space, its lock.
 */
#pragma once

#include <arch/context.h>
#include <arch/mm.h>
#include <exo/cap.h>
#include <exo/spinlock.h>
#include <exo/types.h>

#define MAX_ENVS 256
#define ENV_CANARY 0x454e5643u /* "ENVC": set while allocated; the invariant checker checks it */
#define ENV_REPOSS_MAX 64

/*
 * What an environment causes the kernel to hold, charged to it and to each
 * of its ancestors (the environments whose ENV_CREATE made it and them):
 * environments created (not itself), endpoints whose calls run in it,
 * kernel frames (page tables and capability-table pages: QUOTA_PT_FRAMES). Each is at most its limit, which a parent sets at
 * ENV_START, at most its own (so a subtree never holds more than its root
 * was allowed). Environments the kernel makes have no limit.
 */
enum quota_kind { QUOTA_ENVS, QUOTA_ENDPOINTS, QUOTA_PT_FRAMES, QUOTA_KINDS };

/*
 * REV_FILLING: an asker won the request and is writing its fields; the home
 * core acts on a request only once it is REV_ASKED (published after the
 * fields, with release), never on one half written.
 */
enum revoke_state { REV_NONE = 0, REV_ASKED = 1, REV_TOLD = 2, REV_FILLING = 3 };

enum env_state {
	ENV_FREE = 0,	  /* unused table entry */
	ENV_CREATED = 1,  /* exists, not started */
	ENV_RUNNABLE = 2, /* started: on its core's run list */
	ENV_EXITED = 3,	  /* exited; status kept until destroyed */
	ENV_DYING = 4,	  /* being destroyed */
	ENV_STARTING = 5, /* its program is being loaded; not yet runnable */
};

struct endpoint;

struct env {
	uint32_t canary;	/* ENV_CANARY while allocated */
	uint32_t id;		/* index in the table, fixed */
	uint64_t gen;		/* atomic: bumped at destroy */
	uint32_t state;		/* atomic: enum env_state */
	unsigned home;		/* home core */
	int exit_status;	/* valid in ENV_EXITED */
	uint64_t exit_cycles;	/* home core's cycle counter when it exited */
	struct spinlock lock;	/* guards as and mappings */
	struct arch_aspace as;	/* user page tables */
	uint64_t frames_owned;	/* frames charged to it (data and tables) */
	struct arch_uctx uctx;	/* saved user registers when not running */
	struct arch_fpu fpu;	/* its FPU/SSE registers when not running (own: home core) */
	struct env *run_next;	/* home core's run list or inbox link */
	uint64_t mappings;	/* user pages mapped now (under lock) */
	uint64_t fault_entry;	/* UPCALL_FAULT entry, 0: faults end the environment */
	uint64_t fault_stack;	/* its exception stack: [fault_stack, + fault_stack_size) */
	uint64_t fault_stack_size;
	/*
	 * The pinned fault frame (docs/time-and-upcalls.md): the kernel alias
	 * of the slot at the top of the exception stack, found by one
	 * page-table walk and trusted while that page stays mapped writable.
	 * Set by the home core under lock; cleared under lock by env_unmap of
	 * the page, UPCALL_SET and env_create. fault_pin_busy is 1 while the
	 * home core writes through it: whoever clears the pin waits for 0, so
	 * no write lands after the page is gone.
	 */
	void *fault_pin;	 /* atomic: struct upcall_fault *, or NULL */
	uint64_t fault_pin_uva;	 /* the same slot's user address (set before fault_pin) */
	uint64_t fault_pin_page; /* under lock: its user page */
	uint32_t fault_pin_busy; /* atomic */
	uint64_t sched_entry;	/* UPCALL_SCHED entry, 0: slices resume uctx directly */
	uint64_t sched_stack, sched_stack_size;
	uint64_t cpu_cycles[MAX_CPUS]; /* cycles run, per core (written by that core) */
	uint64_t slices;	/* slices started for it (its home core counts) */
	uint64_t notify_bits;	/* atomic: notifications not yet taken (set by its home core) */
	bool doomed;		/* atomic: its root capability went: destroy it as soon as it stops */
	bool reap_queued;	/* atomic: on some core's reap list */
	struct env *reap_next;	/* that list's link */
	struct endpoint *serving; /* the call it serves now, or NULL (home core only) */
	struct endpoint *calling; /* the call it is blocked in, or NULL (home core only) */
	/* revocation (core/revoke.c): the request fields are written by the asker
	 * after it wins revoke_state (REV_FILLING), and read by the home core only
	 * after the asker publishes REV_ASKED */
	uint64_t guarantee;	  /* frames (page tables included) never revoked */
	uint32_t revoke_state;	  /* atomic: enum revoke_state (REV_TOLD: upcall delivered) */
	uint64_t revoke_frame;	  /* the frame asked for, or FRAME_ANY */
	uint64_t revoke_count;	  /* frames still asked for */
	uint64_t revoke_deadline; /* cycle counter: past it, the kernel takes them */
	uint64_t revoke_entry, revoke_stack, revoke_stack_size; /* UPCALL_REVOKE */
	bool reposs_untold;	  /* frames were taken since the last upcall */
	uint64_t reposs[ENV_REPOSS_MAX]; /* frames taken by force, since the last SYS_REPOSS_READ */
	uint32_t nreposs;	  /* entries in reposs (it keeps the first ENV_REPOSS_MAX) */
	uint64_t reposs_total;	  /* frames ever taken from it */
	/* quotas (issue 17; under quota_lock in core/env.c): what it and its descendants hold */
	uint32_t parent_id;  /* the environment whose ENV_CREATE made it, if has_parent */
	uint64_t parent_gen; /* that parent's generation then: a parent gone ends the chain */
	bool has_parent;
	uint64_t quota_limit[QUOTA_KINDS]; /* at most this many... */
	uint64_t quota_used[QUOTA_KINDS];  /* ...of these, its own and its descendants' */
	/* a destroy in steps (env_dying_step): state ENV_DYING with dying_ticket set */
	uint64_t dying_ticket; /* atomic: nonzero while its destroy runs: that destroy's ticket */
	uint32_t dying_slot;   /* the next capability slot the destroy clears (stepper only) */
	uint32_t dying_busy;   /* atomic: a core is running a step of it (never reset by create) */
	/* the ENV_DESTROY this environment waits on (its own calls, home core only) */
	uint64_t destroy_wait;	    /* that destroy's ticket, 0: none */
	uint64_t destroy_wait_slot; /* the slot it named... */
	uint64_t destroy_wait_obj;  /* ...the environment the capability there names... */
	uint64_t destroy_wait_gen;  /* ...and the capability's generation */
	struct cap_table caps;	    /* its capabilities (core/cap.c alone) */
};

/*
 * Kernel frames charged to e and its ancestors (QUOTA_PT_FRAMES): its page
 * tables and its capability table's pages. env_kframe_alloc: a zeroed
 * frame, or E_NOMEM at a limit, E_AGAIN with no frame free (nothing
 * changed either way). env_kframe_free: false if it was not e's.
 */
must_check int env_kframe_alloc(struct env *e, uint64_t *frame);
bool env_kframe_free(struct env *e, uint64_t frame);
bool env_kframe_is(const struct env *e, uint64_t frame);

/* The environment with this id, if allocated (any generation), else NULL. */
struct env *env_lookup(uint32_t id);

/* Allocate an environment homed on core with an empty address space. */
must_check int env_create(unsigned home, struct env **out);

/* A program's argument words (abi.h, ENV_ARGS_MAX), in kernel memory. */
struct env_args {
	uint64_t len; /* 0: none; else bytes[len - 1] is NUL */
	uint64_t limits; /* ENV_START's limits word (exo/abi.h ENV_LIMITS), 0: none set */
	char bytes[ENV_ARGS_MAX];
};

/*
 * Load program image `prog` (see exo/image.h) into e and make it runnable
 * with `arg` in its first argument register and args (NULL: none) copied
 * to the top of its stack. E_INVAL: no such program; E_BUSY: already
 * started; E_NOMEM.
 */
must_check int env_start(struct env *e, unsigned prog, uint64_t arg, const struct env_args *args);

/*
 * env_start and env_destroy for a capability holder: act only if e is still
 * the incarnation at generation gen (E_STALE otherwise). The generation is
 * checked after the state change that excludes destroy, so a table entry
 * reused meanwhile is never touched.
 */
must_check int env_start_at(struct env *e, uint64_t gen, unsigned prog, uint64_t arg,
			    const struct env_args *args);
must_check int env_destroy_at(struct env *e, uint64_t gen);

/*
 * ENV_DESTROY's perform, on e's home core: begin destroying e (if it is
 * running, stop it first, exit status 128 + 9) and run one step of it
 * (env_dying_step); *ticket is the destroy's ticket while steps remain,
 * else 0. If e is blocked in a protected call (or in a syscall of its own
 * on this core), doom it: the run loop stops it at its next pass and
 * env_reap begins its destroy (*ticket 0: nothing to wait on). E_OK in
 * these cases; E_STALE (gone), E_BUSY (being started).
 */
must_check int env_end_at(struct env *e, uint64_t gen, uint64_t *ticket);

/*
 * Destroys run in steps, seL4's preemption points: beginning one (state
 * ENV_DYING, generation bumped: it cannot run, be scheduled, receive a
 * grant or be found alive) is a bounded amount of work, and so is each
 * step, which clears at most DESTROY_STEP_UNITS capability operations or
 * page-table pages. The environments whose root capabilities a destroy
 * deletes are destroyed under the same ticket.
 *
 * env_dying_help: one step of a destroy with this ticket (on any core);
 * true when none is left. env_dying_poll: one step of a destroy of an
 * environment homed on this core (its run loop's background work); true
 * if there was one.
 */
#define DESTROY_STEP_UNITS 8
bool env_dying_help(uint64_t ticket);
bool env_dying_poll(void);

/*
 * What the steps did since the last reset, for tests and figures: how many
 * ran, the most frames (data and page tables) one gave back, and the most
 * cycles one took (under -icount: instructions). Updated atomically.
 */
struct destroy_stats {
	uint64_t steps, most_freed, most_cycles;
};
extern struct destroy_stats destroy_stats;

/* Is e being destroyed in steps (its frames still charged to it)? */
bool env_dying(const struct env *e);

/*
 * Quotas. quota_charge: n more of kind for e and every ancestor, or
 * E_NOMEM (nothing charged) if one would pass its limit. quota_uncharge:
 * n fewer. quota_reserve_env: before an ENV_CREATE, one environment and
 * its first page table for parent and its ancestors (E_NOMEM past a limit,
 * nothing charged); quota_unreserve_env undoes it if the creation fails;
 * quota_adopt links the child made to parent (the reservation was its
 * charge; any difference from what it holds is settled). quota_fits: limits (the ENV_START word) within parent's own
 * limits (E_RANGE otherwise).
 */
must_check int quota_charge(struct env *e, enum quota_kind k, uint64_t n);
void quota_uncharge(struct env *e, enum quota_kind k, uint64_t n);
must_check int quota_reserve_env(struct env *parent);
void quota_unreserve_env(struct env *parent);
void quota_adopt(struct env *parent, struct env *child);
must_check int quota_fits(const struct env *parent, uint64_t limits);

/*
 * Destroy e: delete its capabilities (revoking what was derived from them),
 * free every frame it owned, its tables, and its table entry (generation
 * bumped), and what that doomed — all of it before returning (the steps
 * run here one after another: for kernel callers, tests and the host
 * harness). E_BUSY unless e is created-not-started or exited.
 */
must_check int env_destroy(struct env *e);

/*
 * e's root capability (minted at generation gen) is gone: destroy e as soon
 * as it is not running — begun by env_reap on this core, or by its home
 * core when it stops or exits. Never recursive: capability teardown only
 * queues, env_reap begins destroys, and steps carry them out.
 */
void env_doom(struct env *e, uint64_t gen);

/*
 * Begin destroying the environments queued on this core by env_doom (those
 * still running are left to their home core), all under one ticket — the
 * running step's, inside one. Returns that ticket if one was begun, else 0.
 */
uint64_t env_reap(void);

/*
 * Page-table frames under pressure (docs/kernel.md, "Page tables under
 * pressure"). env_pt_reclaim: give back up to max (at most PT_RECLAIM_MAX)
 * of e's page-table pages that map nothing (arch_aspace_trim, under e's
 * lock), after a TLB shootdown of e's home core, but never so many that e
 * holds fewer frames, data and tables, than its guarantee. Returns how
 * many; any core. env_pt_reclaim_any: the same over the live environments
 * in id order until one gives some back.
 */
#define PT_RECLAIM_MAX 16
unsigned env_pt_reclaim(struct env *e, unsigned max);
unsigned env_pt_reclaim_any(unsigned max);

/* Map/unmap for cap_bind (cap.c): frame at va in e's address space. */
must_check int env_map(struct env *e, uint64_t va, uint64_t frame, unsigned prot);
void env_unmap(struct env *e, uint64_t va);

/* Clear e's fault-frame pin and wait out a write through it (e's lock held, or e's home core). */
void env_fault_unpin(struct env *e);

/*
 * Notify environment id (at generation gen) with bits: on its home core the
 * bits are ORed in directly; from another core this sends a CHAN_NOTIFY
 * message there (the home core alone changes them). E_STALE: gone;
 * E_AGAIN: the channel is full (try again).
 */
must_check int env_notify(struct env *e, uint64_t gen, uint64_t bits);

/* The home core's half of env_notify (the channel handler). */
void env_notify_local(uint32_t id, uint64_t gen, uint64_t bits);

/* Number of environments allocated now. */
unsigned env_count(void);

/* Is e alive (created and not being destroyed)? */
bool env_alive(const struct env *e);

/*
 * The run loop of a core (core/sched.c): take environments started here
 * from the inbox, run the runnable ones round robin until none is left.
 * Returns when nothing on this core is runnable.
 */
void sched_run(void);

/* The same, but return after max slices have started (0: no limit). Returns how many did. */
uint64_t sched_run_slices(uint64_t max);

/*
 * End e, runnable on this core's lists but not running: it exits with
 * status (it can then be destroyed). E_BUSY if e is homed elsewhere,
 * running, or not runnable.
 */
must_check int sched_stop(struct env *e, int status);

/* Queue e (RUNNABLE, homed on any core) to run on its home core. */
void sched_enqueue(struct env *e);

/*
 * If this core's slice is over, save regs as the current environment's
 * context and leave user mode (the run loop starts the next slice); if
 * another core's request waits (exo/xcall.h), leave too, and the run loop
 * serves it and resumes the same environment in the same slice. Called
 * where the kernel is about to return to user mode: after a syscall, and on
 * an interrupt (timer, IPI) taken in user mode.
 */
void sched_preempt_point(struct arch_uctx *regs);
