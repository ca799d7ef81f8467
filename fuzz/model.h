/*
 * The reference model of capability and ownership semantics: a
 * deliberately naive executable reading of docs/syscalls.md and
 * docs/kernel.md, written without looking at the kernel's sources in core/,
 * so the fuzzer has a second opinion on every call. Per environment a slot
 * table of (type, object, rights, badge, generation, parent, binding); per
 * frame its owner and generation; derivation trees as plain parent links
 * found by scanning; revoke and destroy as recursive walks.
 *
 * Only the ABI header: the model knows the kernel through struct
 * model_kernel alone, which the harness implements with the kernel's own
 * lookups (cap_inspect, pot_get, env_lookup...).
 *
 * Where the contract leaves a choice to the kernel — which free slot, which
 * free frame, which environment or endpoint id, which 16 descendants a
 * revoke deletes first — the model takes the kernel's choice after the
 * call and checks it was one the contract allows. Where several errors
 * apply, the docs do not say which comes first, so any of them is accepted
 * (never success, and never a change of state).
 */
#pragma once

#include <exo/abi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_ENVS   256 /* environment ids (docs/kernel.md: a static table of 256) */
#define MODEL_FRAMES 256 /* most frames a model machine may have */
#define MODEL_CORES  8
#define MODEL_TSLOTS 64 /* slot object id = core * 64 + index */
#define MODEL_EPS    256
#define MODEL_NONE   0xffffffffu
#define MODEL_RANGES 256 /* docs/syscalls.md BLOCK_ALLOC: "256 ranges allocated" */
#define MODEL_REQS 128
/*
 * Capability slots the model follows per environment: the kernel's table
 * holds CAP_SLOTS (8192), but an input makes at most SETUP_OPS + PROG_MAX_OPS
 * (64) calls, each filling at most one slot, so no environment gets past
 * slot 63 plus the set-up's. A slot number past MODEL_SLOTS is empty
 * (E_BADSLOT, as past CAP_SLOTS); a kernel that fills one fails the model.
 * The table grows by pages of CAP_PAGE_SLOTS, each a kernel frame charged
 * to the environment: the model knows which of its pages exist.
 */
#define MODEL_SLOTS 256
_Static_assert(MODEL_SLOTS % CAP_PAGE_SLOTS == 0 && MODEL_SLOTS <= CAP_SLOTS, "MODEL_SLOTS");

struct model_config {
	unsigned ncores;        /* cores, all online */
	unsigned nslots;        /* time slots per core (the kernel's slots=, default 16) */
	uint64_t nframes;       /* frames 0..nframes-1 */
	uint64_t kernel_frames; /* frames 0..kernel_frames-1 are the kernel's */
	unsigned nprogs;        /* program images ENV_START knows (0 on the host) */
	uint64_t disk_blocks;	/* the exported disk's size; 0: no disk */
	unsigned disk_depth;	/* requests the device holds (DISK_INFO's inflight_device) */
};

/* What a frame is, as the ownership table says. */
enum model_frame { MF_FREE, MF_OWNED, MF_KERNEL, MF_REVOKING /* never, until revocation lands */ };

#define MODEL_REPOSS 64 /* REPOSS_READ's uint64_t[64] */

struct model_env_extra {
	uint64_t guarantee; /* SYS_GUARANTEE */
	uint64_t notify;    /* notification bits not yet taken */
	uint32_t nreposs;   /* frames taken by force since the last REPOSS_READ */
	uint64_t reposs[MODEL_REPOSS];
};

/* The kernel's side: lookups the harness implements with kernel functions. */
struct model_kernel {
	void *ctx;
	/* The capability in (env, slot): 0, or E_BADSLOT when empty. */
	int (*inspect)(void *ctx, uint32_t env, uint32_t slot, struct cap_info *out);
	/* Cheap: which slots are in use (to skip the empty ones)? used[s] != 0. */
	void (*slots_used)(void *ctx, uint32_t env, uint8_t used[MODEL_SLOTS]);
	/* Environment id: alive? Its generation and home core either way. */
	bool (*env)(void *ctx, uint32_t id, uint64_t *gen, unsigned *home);
	unsigned (*env_count)(void *ctx);
	/* Frame f: state, owner (MODEL_NONE if none), generation. */
	enum model_frame (*frame)(void *ctx, uint64_t f, uint32_t *owner, uint64_t *gen);
	/* Time slot: owner env id or MODEL_NONE, and its generation. */
	uint32_t (*tslot)(void *ctx, unsigned core, unsigned index, uint64_t *gen);
	/* Endpoint: live? its environment and generation. */
	bool (*ep)(void *ctx, uint32_t id, uint32_t *owner, uint64_t *gen);
	/* env's mapping at va: 0 (frame, MMU-style prot bits: 1 R, 2 W, 4 X) or E_NOENT. */
	int (*query)(void *ctx, uint32_t env, uint64_t va, uint64_t *frame, unsigned *prot);
	uint64_t (*mappings)(void *ctx, uint32_t env);
	/* Copy n bytes of env's memory at va (mapped, checked by the model). */
	void (*read_user)(void *ctx, uint32_t env, uint64_t va, void *buf, size_t n);
	/* A live environment's revocation and notification state. */
	void (*env_extra)(void *ctx, uint32_t env, struct model_env_extra *out);
	/* A program object id's generation (OBJ_BPF), to start from the kernel's. */
	uint64_t (*bpf_gen)(void *ctx, uint64_t obj);
};

struct model; /* large: allocate one, statically */
extern struct model *const model_instance;

/* Start over: no environments, every frame but the kernel's free. */
void model_init(struct model *m, const struct model_config *cfg, const struct model_kernel *k);

/* An environment the harness created directly (not through a syscall). */
void model_env_adopt(struct model *m, uint32_t id, unsigned home);

/* The harness destroys an environment directly (env_destroy). */
void model_env_destroy(struct model *m, uint32_t id);

bool model_env_live(const struct model *m, uint32_t id);
unsigned model_env_home(const struct model *m, uint32_t id);

/* The occupied slots of env holding type (OBJ_NONE: any), ascending; returns how many. */
unsigned model_slots(const struct model *m, uint32_t env, unsigned type, uint32_t out[MODEL_SLOTS]);

/*
 * Environment env made call nr(a) and the kernel returned ret. Judge ret
 * against the contract and, if the call succeeded, perform it on the
 * model (taking the kernel's choices where the contract leaves one).
 * model_observe must have run just before the call. false: the kernel
 * broke the contract; why says how.
 */
bool model_call(struct model *m, uint32_t env, uint64_t nr, const uint64_t a[6], int64_t ret,
                char *why, size_t n);

/*
 * Would the call wait for something only user mode can bring (FRAME_WAIT
 * under memory pressure: the caller yields)? The host has no user mode,
 * so the harness does not make such a call.
 */
bool model_would_block(const struct model *m, uint32_t env, uint64_t nr, const uint64_t a[6]);

/*
 * Before a call: note which frames the kernel holds as page tables (the
 * model does not predict them; they count as neither free nor mappable).
 */
void model_observe(struct model *m);

/*
 * Compare the abstract state with the kernel's; false and why on a
 * difference. Not full: only the environments and endpoints that have
 * lived in this run (quicker; the rest cannot have changed unless the
 * counts are off, which is checked).
 */
bool model_check(struct model *m, bool full, char *why, size_t n);

/*
 * Cores whose TLB the last model_call or model_env_destroy says must have
 * been flushed (bit c: core c): the home cores of the environments that
 * lost a binding.
 */
uint64_t model_flushes(const struct model *m);

/*
 * User code of env touched the byte at va (write: stored to it), and the
 * MMU said ret (0, E_NOENT: not mapped, E_INVAL: not writable). Judge ret
 * and note the accessed and dirty bits READ_AD must then report.
 */
bool model_touch(struct model *m, uint32_t env, uint64_t va, bool write, int ret, char *why,
                 size_t n);

/* The model's live environment count. */
unsigned model_env_count(const struct model *m);
