/*
 * Policies: the registry every kind of policy (sched, pager, ipc) plugs
 * into, and the calls a program makes to choose and swap them.
 *
 * A policy is one C file, policies/<kind>/<name>.c, that defines one const
 * ops table of its kind (<libos/sched_impl.h>, ...) whose first member is a
 * struct policy_info, and registers it with POLICY_REGISTER. configure.py
 * links every policy file into every program, and the framework finds them
 * by walking the linker section: adding a policy touches no list.
 */
#pragma once

#include <exo/errors.h>
#include <exo/types.h>

enum policy_kind {
	POLICY_SCHED = 0, /* user-level threads: who runs next */
	POLICY_PAGER = 1, /* virtual memory: which page goes */
	POLICY_IPC = 2,	  /* channels: how a receiver waits */
	POLICY_KINDS
};

#define POLICY_PARAMS_MAX 8
#define POLICY_SPEC_MAX 128 /* "name:param=value,..." as a program prints it */

/* A parameter: a whole number, given as name=value after the policy's name. */
struct policy_param {
	const char *name; /* NULL ends the list */
	uint64_t def;	  /* its value when not given */
	const char *help; /* one line: what it means, with its unit */
};

/*
 * A policy's downloaded part (docs/downloaded-code.md): a `clang -target
 * bpf` object of the tree (libos/bpf.h BPF_OBJECT) that the framework
 * loads at hook when the policy is chosen (at start and at a swap), and
 * detaches (deletes its capability) when the policy is swapped out or the
 * program ends. A refused load is printed with the verifier's rule and
 * instruction, and the policy then runs without it.
 */
struct policy_bpf {
	unsigned hook;	      /* BPF_HOOK_* */
	const uint8_t *image; /* bpf_obj_NAME */
	const uint64_t *size; /* &bpf_obj_NAME_size */
	/* Fill the region (one page, zeroed) before the load; NULL: the part has no region. */
	void (*fill)(void *region);
};

/* What every policy's ops table starts with. */
struct policy_info {
	enum policy_kind kind;
	const char *name;	 /* unique within its kind */
	const char *description; /* one line */
	struct policy_param params[POLICY_PARAMS_MAX];
	const struct policy_bpf *bpf; /* its downloaded part, or NULL */
};

/* A policy chosen with its parameters (values in the order of info->params). */
struct policy_choice {
	const struct policy_info *info;
	uint64_t values[POLICY_PARAMS_MAX];
};

/* What the exo_policies section holds: a policy and the file that registered it. */
struct policy_entry {
	const struct policy_info *info;
	const char *file;
};

/*
 * Register the ops table `ops` (a const object whose member `info` is its
 * struct policy_info): puts an entry for it in the exo_policies section.
 */
#define POLICY_REGISTER(ops)                                                                       \
	static const struct policy_entry policy_entry_##ops                                        \
	    __attribute__((used, section("exo_policies"), aligned(16))) = { &(ops).info,           \
									    __FILE__ }

/* "sched", "pager", "ipc"; NULL for an unknown kind. */
const char *policy_kind_name(enum policy_kind kind);

/* The registered policies: count, the i-th (in link order), one by name (or NULL). */
unsigned policy_count(void);
const struct policy_info *policy_at(unsigned i);
const char *policy_file(unsigned i); /* the source file that registered the i-th */
const struct policy_info *policy_find(enum policy_kind kind, const char *name);

/*
 * Parse "name" or "name:param=value,param=value" for kind into *out. On a
 * bad spec returns E_NOENT (unknown policy), E_INVAL (unknown parameter or
 * malformed value) and writes why, with what exists, into err[errlen].
 */
must_check int policy_parse(enum policy_kind kind, const char *spec, struct policy_choice *out,
			    char *err, size_t errlen);

/* Write "name:param=value,..." (every parameter, defaults included) into buf. */
size_t policy_format(const struct policy_choice *c, char *buf, size_t len);

/* The value of a chosen policy's parameter by name (its default if not a parameter: 0). */
uint64_t policy_value(const struct policy_choice *c, const char *param);

/*
 * Replace this environment's policy of `kind` while it runs, by spec
 * ("lottery:quantum_us=500"). The old policy is quiesced and its state
 * handed over; a new policy that refuses it is rejected and the old one
 * resumes. 0, or E_NOENT / E_INVAL (bad spec, the reason printed),
 * E_NOTSUP (this program runs nothing of that kind yet), or the error
 * the new policy's init returned.
 */
must_check int libos_policy_swap(enum policy_kind kind, const char *spec);

/* The policy of kind this environment runs, as "name:param=value,..." ("" if none). */
const char *libos_policy_current(enum policy_kind kind);

/*
 * Load p's downloaded part (p->bpf) at its hook, over a fresh region page
 * mapped at POLICY_BPF_REGION_VA + kind * 4 KiB and filled by bpf->fill:
 * the OBJ_BPF capability's slot; E_NOENT if p has none; or another negative
 * error (the reason printed: the verifier's rule and instruction). In a program
 * only (libos-framework/policy_bpf.c).
 */
#define POLICY_BPF_REGION_VA 0x00003e0000000000ULL
int64_t policy_bpf_load(const struct policy_info *p, void **region); /* *region: its page or NULL */
/* Detach what policy_bpf_load returned (< 0: nothing): delete the cap, free the region. */
void policy_bpf_unload(enum policy_kind kind, int64_t cap);
