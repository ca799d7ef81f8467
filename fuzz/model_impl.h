/*
 * What the reference model's files share (model.c: objects and derivation,
 * set-up; model_calls.c: the syscall mirrors; model_check.c: comparing with
 * the kernel). Never included from outside fuzz/model*.c.
 */
#pragma once

#include "model.h"

#include <string.h>

#define PAGE 4096ULL
#define MAX_DEPTH 32	 /* CAP_MINT: E_RANGE for "depth > 32" */
#define REVOKE_BATCH 16	 /* CAP_REVOKE: "at most 16 per call" */
#define CONSOLE_MAX 4096 /* CONSOLE_WRITE: E_RANGE for len > 4096 */
#define READ_AD_MAX 512	 /* READ_AD: npages 1..512 */
#define PROT_ALL (PROT_R | PROT_W | PROT_X)
#define STACK_ALIGN 16		 /* UPCALL_SET: "stack not 16-aligned" */
#define NOTIFY_BITS (~0ULL >> 1) /* NOTIFY: "63 of them": a non-negative result */

struct mcap {
	uint8_t type; /* enum obj_type; OBJ_NONE: the slot is empty */
	uint8_t rights;
	bool root;
	uint32_t badge;
	uint64_t obj, gen;
	uint32_t penv, pslot; /* the parent capability; MODEL_NONE for a root */
	uint32_t depth;
	uint64_t va;   /* the one address this frame cap is bound at, 0: none */
	unsigned prot; /* PROT_* of that binding */
	uint8_t ad;    /* AD_ACCESSED | AD_DIRTY of that mapping since READ_AD last read them */
};

struct menv {
	bool live; /* caps[] is meaningful only while live (cleared at creation) */
	unsigned home;
	uint64_t gen;
	uint64_t guarantee;	       /* frames never revoked (SYS_GUARANTEE) */
	uint64_t notify;	       /* notification bits not yet taken */
	uint64_t notify_maybe;	       /* bits a disk request may still OR in (sticky) */
	uint64_t reposs[MODEL_REPOSS]; /* frames taken by force since the last REPOSS_READ */
	unsigned nreposs;
	/*
	 * One past the highest slot filled since creation: caps[top..] are
	 * empty, so the model's scans stop there (the comparison with the
	 * kernel still looks at every slot the kernel has in use).
	 */
	uint32_t top;
	struct mcap caps[MODEL_SLOTS];
	uint32_t pages; /* bit p: table page p exists (a slot of it was filled since creation) */
};
_Static_assert(MODEL_SLOTS / CAP_PAGE_SLOTS <= 32, "menv.pages");

struct mframe {
	uint32_t owner; /* MODEL_NONE: nobody */
	uint64_t gen;
	bool table; /* the kernel holds it (its image, or a page table): not allocatable */
	uint32_t table_owner; /* a page table: the environment it is charged to */
	bool fixed; /* the kernel's own for good (its image, its message rings) */
};

struct mtslot {
	uint32_t owner;
	uint64_t gen;
};

struct mep {
	bool live;
	uint32_t owner;
	uint64_t gen;
};

/* An allocated block range (docs/disk.md). */
struct mrange {
	uint64_t first, count, gen;
};

/* A disk request issued and not yet collected ("outstanding"). */
struct mreq {
	bool live;
	uint32_t env;
	uint64_t id;
};

#define DISK_PER_ENV 32 /* docs/disk.md: "up to 32 requests per environment" */

/* A loaded program (docs/downloaded-code.md): attached to env at hook while its region lives. */
#define MODEL_BPF 32 /* "32 programs loaded at once, machine-wide" */
struct mbpf {
	bool live;
	uint64_t gen;
	uint32_t env;
	unsigned hook;
	bool region;
	uint64_t frame, frame_gen; /* the region: a frame env owned at frame_gen */
};

struct model {
	uint16_t children[MODEL_ENVS]
			 [MODEL_SLOTS]; /* model_check's tally, rows of live envs only */
	/* Environments and endpoints that have lived in this run: the ones a check must look at. */
	uint32_t env_used[MODEL_ENVS], ep_used[MODEL_EPS];
	unsigned nenv_used, nep_used;
	/*
	 * Bit i: env[i].live, kept beside it so that the scans over every
	 * live environment (in id order, as before) need not touch 256 rows
	 * of 256 slots each to find the few that are live.
	 */
	uint64_t live_mask[MODEL_ENVS / 64];
	struct model_config cfg;
	struct model_kernel k;
	struct menv env[MODEL_ENVS];
	struct mframe frame[MODEL_FRAMES];
	struct mtslot tslot[MODEL_CORES][MODEL_TSLOTS];
	struct mep ep[MODEL_EPS];
	struct mrange range[MODEL_RANGES]; /* sorted by first block */
	unsigned nranges;
	uint64_t range_gen_seen; /* the newest range's generation: each allocation's is new */
	struct mreq req[MODEL_REQS];
	struct mbpf bpf[MODEL_BPF];
	uint64_t flush; /* cores whose TLB must have been flushed in this call */
};

struct ref {
	uint32_t env, slot;
};

/* ---- objects and derivation (model.c) ---- */

/* Generations: a capability for an earlier incarnation of its object is stale. */
bool model_stale(const struct model *m, const struct mcap *c);

/* The allocated range an OBJ_BLOCKS object id (first | count << 32) names: its index, or -1. */
int model_range_find(const struct model *m, uint64_t obj);

/* No free slot in e's table? */
bool model_table_full(const struct menv *e);

/* Does e's lowest free slot lie in a table page not allocated yet (a frame for it first)? */
bool model_needs_page(const struct menv *e);

/* No slot to be had: a full table, or a page needed and no frame free for it. */
bool model_no_slot(const struct model *m, const struct menv *e);

/* Slot s of e is about to be filled (every new capability goes through here; its table page exists from then on). */
struct mcap *model_fill(struct menv *e, uint32_t s);

/* Frames nobody owns and the kernel does not hold (what FRAME_COUNT counts). */
uint64_t model_free_frames(const struct model *m);

/* The first live environment id at or after from; MODEL_ENVS if none. */
uint32_t model_next_live(const struct model *m, uint32_t from);

/* How many environments are live. */
unsigned model_live_envs(const struct model *m);

/*
 * Revocable frames (docs/revocation.md): those the environment allocated
 * itself with FRAME_ALLOC — on the host, every frame it owns (no program
 * images, stacks or page tables are owned frames). Above its guarantee
 * they can be taken.
 */
uint64_t model_beyond_guarantee(const struct model *m, uint32_t id);

/*
 * Page tables under pressure (docs/kernel.md): with no frame free, the
 * kernel gives back page tables that map nothing of an environment holding
 * more frames, data and tables, than its guarantee. The model does not
 * predict tables, but it knows the bindings: an environment needs its root
 * and one table per distinct 512 GiB, 1 GiB and 2 MiB region it has bound
 * something in; the tables observed beyond that map nothing. Is there an
 * environment with such tables to give back?
 */
/* Empty page tables the kernel would reclaim under pressure now (env_pt_reclaim_any). */
uint64_t model_pt_reclaim_count(const struct model *m);

/*
 * The most revocable frames beyond its guarantee an environment other than
 * the caller holds. Docs ambiguous: "the kernel asks the environment
 * holding the most revocable frames beyond its guarantee" — read as another
 * environment than the one allocating (taking its own frame to hand it
 * back would be pointless), as the kernel does.
 */
uint64_t model_most_beyond(const struct model *m, uint32_t caller);

/* Add id to list (of *n) unless it is there: what has lived in this run. */
void model_note(uint32_t *list, unsigned *n, uint32_t id);

/* Environment id comes to life on core home, with an empty table. */
void model_new_env(struct model *m, uint32_t id, unsigned home);

/* Some child of (env, slot), if there is one. */
bool model_first_child(const struct model *m, uint32_t env, uint32_t slot, struct ref *out);

/* How many capabilities are derived directly from (env, slot). */
unsigned model_count_children(const struct model *m, uint32_t env, uint32_t slot);

/* Every descendant of (env, slot), parents before their children; returns how many. */
unsigned model_descendants(const struct model *m, uint32_t env, uint32_t slot, struct ref *out,
			   unsigned n, unsigned max);

/*
 * A binding goes: "Deleting or revoking a capability removes its binding
 * (with a TLB flush on the home core of the environment that had it)".
 */
void model_unbind(struct model *m, uint32_t env, struct mcap *c);

/* Delete one capability with no children: its binding goes, and a live root's object. */
void model_delete_cap(struct model *m, uint32_t env, uint32_t slot);

/* Delete a capability and everything derived from it, deepest first. */
void model_delete_tree(struct model *m, uint32_t env, uint32_t slot);

/*
 * Destroy (docs: "Destroy deletes every capability of the environment
 * (revoking what others derived from them), frees every frame it owned and
 * its page tables"). Frames it owned are exactly those whose root caps it
 * held, so deleting its capabilities frees them; deleting a root env cap
 * destroys that environment in turn.
 */
void model_destroy(struct model *m, uint32_t id);

/* Every live environment id i, in id order. */
#define for_each_live(m, i)                                                                        \
	for (uint32_t i = model_next_live(m, 0); i < MODEL_ENVS; i = model_next_live(m, i + 1))

/* ---- comparing with the kernel (model_check.c) ---- */

/* What CAP_INSPECT should say about (env, slot), which has children children. */
void model_info_of(const struct model *m, uint32_t env, uint32_t slot, struct cap_info *i,
		   unsigned children);

/* Do two cap_infos agree? If not, why says which field (unless why is NULL). */
bool model_info_same(const struct cap_info *k, const struct cap_info *w, char *why, size_t n,
		     const char *where);

/* Write the difference to why; returns false (so "return model_differ(...)" reads well). */
bool model_differ(char *why, size_t n, const char *fmt, ...);
