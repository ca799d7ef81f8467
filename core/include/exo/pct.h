/*
 * Protected control transfer (docs/design.md "IPC"): a synchronous call into an
 * endpoint's environment on the same core, passing six registers and the
 * caller's badge and donating the caller's slice, and a reply that returns
 * six values. The switch happens inside the syscall: the kernel rewrites the
 * syscall frame and returns by sysret into the other environment (the fast
 * path: no trip through the run loop, no slice accounting change).
 *
 * While X calls an endpoint of Y, X is blocked (X->calling) and Y serves
 * the call (Y->serving) on the endpoint's own context; Y's ordinary context
 * stays in Y->uctx. Calls nest (Y may call Z); a slice given to X runs the
 * innermost callee. An environment serves one call at a time.
 */
#pragma once

#include <arch/context.h>
#include <exo/types.h>

#define MAX_ENDPOINTS 256

struct env;

struct endpoint {
	uint64_t sg;	     /* atomic: generation << 2 | state (EP_*), changed together by CAS */
	struct env *owner;   /* the environment calls run in */
	uint64_t entry;	     /* where calls start */
	uint64_t stack_top;  /* the stack they start on */
	struct env *caller;  /* while busy: who called (home core only) */
	struct arch_uctx ctx; /* while busy: the owner's context serving the call */
};

/*
 * FREE: unused. LIVE: callable. BUSY: serving a call. DYING: claimed by
 * ep_create and not yet live, or deleted while busy (freed at the reply).
 * Deleting bumps the generation, so capabilities to it go stale at once.
 */
enum { EP_FREE = 0, EP_LIVE = 1, EP_BUSY = 2, EP_DYING = 3 };

/* The context an environment resumes from: its call's, while it serves one. */
struct arch_uctx *pct_ctx(struct env *e);

/*
 * Create an endpoint whose calls run in owner (at generation owner_gen).
 * E_NOMEM: none left; E_STALE: owner is gone (checked after publishing, so a
 * destroy that missed the new endpoint is always noticed). *id, *gen out.
 */
must_check int ep_create(struct env *owner, uint64_t owner_gen, uint64_t entry, uint64_t stack_top,
			 uint32_t *id, uint64_t *gen);

/* Delete endpoint id at gen (its root capability went). Busy: freed at the reply. */
void ep_delete(uint32_t id, uint64_t gen);

/* The generation of endpoint id (capability staleness). */
uint64_t ep_gen(uint64_t id);

/* The endpoint by id, or NULL. */
struct endpoint *ep_lookup(uint64_t id);

/*
 * Call ep from e (the current environment) with badge and args a[0..5];
 * regs is e's syscall frame, rewritten to enter the callee. E_INVAL: the
 * endpoint's environment is on another core; E_BUSY: the endpoint or its
 * environment is busy (serving, or blocked in its own call); E_AGAIN: its
 * environment is not running (not started, or exited); E_STALE: deleted
 * (the capability's generation gen is not the endpoint's).
 */
must_check int pct_call(struct env *e, struct endpoint *ep, uint64_t gen, uint32_t badge,
			const uint64_t a[6], struct arch_uctx *regs);

/* Reply from e with values r[0..5]: regs becomes the caller's. E_NOENT: e serves no call. */
must_check int pct_reply(struct env *e, const uint64_t r[6], struct arch_uctx *regs);

/* Delete every endpoint whose calls run in e (e is being destroyed). */
void ep_release_env(struct env *e);

/* e ends while serving or calling: its caller resumes with E_STALE. */
void pct_abandon(struct env *e);
