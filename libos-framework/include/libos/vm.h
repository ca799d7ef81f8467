/*
 * The libOS virtual-memory manager: regions of anonymous demand-zero memory,
 * paged under a frame budget by the pager policy the program chose
 * (pager=NAME:param=value, default PAGER_DEFAULT), with swap to the
 * environment's own disk blocks. docs/paging.md says how it works.
 *
 * A program calls vm_start once, adds regions, and then simply touches
 * them: a fault in a region is served at user level (a frame is allocated,
 * or a victim evicted and its frame reused, and the page zero-filled or read
 * back from swap). Everything runs on the environment's home core; the fault
 * handler and the revocation upcall are the VM's only entries.
 */
#pragma once

#include <exo/abi.h>
#include <libos/policy.h>

struct vm_page;

/* Where dirty pages go when evicted. */
enum vm_backing {
	VM_BACKING_AUTO = 0, /* the disk if there is one, else mem */
	VM_BACKING_DISK,     /* swap blocks of the exported disk (SYS_BLOCK_ALLOC/IO) */
	VM_BACKING_MEM,	     /* a stand-in in the program's image (tests without a disk) */
	VM_BACKING_NONE,     /* no swap: evicting a dirty page is an error (trace mode, scans) */
};

struct vm_config {
	unsigned budget; /* frames the VM may hold at once (>= 1) */
	enum vm_backing backing;
	unsigned max_pages;	/* pages of all regions together (sizes the swap area; <= 512) */
	unsigned scan_every;	/* evictions between accessed-bit scans (0: 1) */
	void *mem_store;	/* VM_BACKING_MEM: max_pages * 4 KiB the program provides */
	bool ignore_revocation; /* never answer the kernel's requests (the abort path: tests) */
	/*
	 * A touch of a page whose data was lost (taken by force while dirty):
	 * NULL ends the program with VM_EXIT_LOST; else on_lost(va) is told and
	 * returns true to go on with the page zero-filled, false to end.
	 */
	bool (*on_lost)(uint64_t va);
};

/* Status a program ends with when it touches a page the kernel took while dirty. */
#define VM_EXIT_LOST 98
/* Status when the pager policy misbehaves (a bad victim, none at all). */
#define VM_EXIT_POLICY 97

/*
 * Start the VM with cfg and the pager policy the arguments chose; installs
 * the fault and revocation handlers. 0, or E_INVAL (budget 0, already
 * started), E_NOTSUP (backing DISK without a disk), E_NOMEM (swap blocks),
 * or the policy's init error.
 */
must_check int vm_start(const struct vm_config *cfg);

/*
 * Add a region of npages demand-zero pages at va (page-aligned, not
 * overlapping another). 0, E_ALIGN, E_EXIST (overlap), E_NOMEM (more pages
 * than cfg.max_pages in all, or too many regions).
 */
must_check int vm_region_add(uint64_t va, uint64_t npages);

/*
 * Change the budget while running; a smaller one evicts at once down to it.
 * 0 or E_INVAL (0 frames).
 */
must_check int vm_set_budget(unsigned frames);
unsigned vm_budget(void);
unsigned vm_resident(void);

/*
 * Trace mode: tell the policy of a reference to va (exact recency for LRU,
 * MRU, ...) before touching it. Cheap; only trace workloads call it.
 */
void vm_ref(uint64_t va);

/* A recorded reference trace (page ids = page index from the first region's start) for OPT. */
void vm_set_trace(const uint32_t *refs, size_t n);
void vm_trace_at(size_t pos);

/* Scan the accessed/dirty bits of every resident page now (policies with accessed). */
void vm_scan(void);

/* Swap the pager policy while running (libos_policy_swap(POLICY_PAGER, spec)). */
must_check int vm_pager_swap(const char *spec);
const char *vm_pager_current(void);
/* The running pager policy's downloaded part: its OBJ_BPF capability's slot, or -1 (none). */
int64_t vm_pager_part(void);

struct vm_stats {
	uint64_t faults;       /* page faults that brought a page in (misses) */
	uint64_t write_faults; /* first writes to a page mapped read-only (no page-in) */
	uint64_t zero_fills;   /* of them, first touches (or refetches of clean pages) */
	uint64_t evictions;    /* pages evicted to make room (not revocations) */
	uint64_t evict_dirty;  /* of all evictions and revocations, dirty ones written back */
	uint64_t swap_reads, swap_writes;
	uint64_t scans;	       /* accessed-bit scans */
	uint64_t pager_cycles; /* cycles in the fault handler and the revocation upcall */
	uint64_t revoke_asked; /* frames the kernel asked for */
	uint64_t revoke_given; /* frames given back cooperatively */
	uint64_t taken;	       /* frames taken by force (part_given included) */
	uint64_t
	    part_given; /* of them, clean ones the policy's downloaded chooser gave: no upcall */
	uint64_t lost;	       /* of them, dirty: their data is gone */
	uint64_t refetched;    /* clean pages taken by force and later refetched */
	uint64_t swaps;	       /* policy swaps */
};
void vm_stats(struct vm_stats *out);

/* Where dirty pages go: "disk", "mem" or "none". */
const char *vm_backing_name(void);

/* Print the counters as EXOJSON figures (vm_faults, vm_evictions, ...); extra as libos_figure. */
void vm_print_figures(const char *extra);

/* The page backing va (NULL if va is in no region): for tests. */
struct vm_page *vm_page_of(uint64_t va);

/*
 * The machine the VM runs on: in a program, the system calls (vm_sys.c);
 * in the host tests, a simulation. Results are 0 / a slot, or an error.
 */
struct vm_machine {
	int64_t (*frame_alloc)(
	    bool wait); /* a fresh zeroed frame: its slot (wait out memory pressure) */
	int (*frame_free)(int slot);
	int (*map)(int slot, uint64_t va, unsigned prot); /* PROT_R or PROT_R | PROT_W */
	int (*unmap)(int slot);
	int (*read_ad)(uint64_t va, unsigned n, uint8_t *out); /* n <= 512; clears the bits */
	int (*frame_number)(int slot, uint64_t *frame);
	/*
	 * Did the kernel take slot's frame by force? Asked of a frame the VM
	 * mapped (taken, it has lost its binding) or one an operation just
	 * found stale (E_STALE). If so, the stale capability is deleted.
	 */
	bool (*frame_taken)(int slot);
	/*
	 * The calls below touch a frame through its mapping or by DMA; each
	 * returns E_STALE if the kernel took the frame meanwhile.
	 */
	int (*zero)(uint64_t va); /* the page at va is mapped writable */
	/* Swap: id is the page's index; slot its frame, mapped writable at va if needs_map. */
	int (*swap_write)(unsigned id, int slot, uint64_t va);
	int (*swap_read)(unsigned id, int slot, uint64_t va);
	bool swap_read_needs_map; /* swap_read copies through the mapping (mem), not DMA (disk) */
	const char *backing;	  /* "disk", "mem", "none" */
	noreturn_fn void (*die)(int status);
	/*
	 * Optional: load a policy's downloaded part (policy_bpf_load: its
	 * capability, or a negative error: none) and detach it. The VM loads
	 * the chosen policy's part at start and at a swap, and detaches the
	 * old one first.
	 */
	int64_t (*part_load)(const struct policy_info *p, void **region);
	/* Optional (with clean lists): slot's frame and its generation; an error if empty. */
	int (*frame_ident)(int slot, uint64_t *frame, uint64_t *gen);
	void (*part_unload)(enum policy_kind kind, int64_t cap);
};

/* Start on machine m with the pager policy c (vm_start builds both in a program). */
must_check int vm_start_on(const struct vm_config *cfg, const struct vm_machine *m,
			   const struct policy_choice *c);

/*
 * Serve a fault at va (write: the access was a write). 0 served, E_NOENT
 * (not in a region: not the VM's fault). Ends the program (m->die) on a
 * lost page or a misbehaving policy.
 */
int vm_fault(uint64_t va, bool write);

/*
 * The revocation upcall: give up to count frames back (frame: that one, or
 * FRAME_ANY). In the VM (the upcall interrupted a fault): noted, 0, and
 * served as the VM leaves.
 */
unsigned vm_revoke_asked(uint64_t frame, uint64_t count, uint64_t deadline);
/* The kernel took frames by force: find which pages lost them (in the VM: as it leaves). */
void vm_revoke_taken(void);

/* The VM is serving a fault or a request now (an upcall interrupted it). */
bool vm_busy(void);

/* Forget everything (host tests; a program never stops its VM). */
void vm_stop(void);

/* The pager hook running now (NULL: none), for fault.c's message; the policy's name. */
extern const char *libos_pager_hook;
const char *vm_pager_name(void);
