/*
 * Trace mode: run a reference string of page numbers through the VM under
 * a budget of k frames and the chosen pager policy, and print the faults,
 * so a policy can be checked against exact textbook counts:
 *
 *   tools/exo run --refs belady.txt -- run=pagetrace pager=fifo frames=3
 *   tools/exo run -- run=pagetrace pager=lru frames=3 refs=7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1
 *
 * Each reference is told to the policy (vm_ref: exact recency for LRU and
 * MRU) and then made: a read of the page, which faults when it is not
 * resident. Reads only, so no page is ever dirty and no swap is needed.
 * expect=N makes a wrong count fail the run (exit 1).
 *
 * The reference string comes from refs= (comma-separated page numbers), or
 * from the disk the runner wrote with --refs (refs=disk, the default):
 * block 0 holds struct refs_header, the page numbers follow from block 1
 * as little-endian uint32, 1024 to a block. The program allocates exactly
 * those blocks (SYS_BLOCK_ALLOC(0, 1 + blocks)) and reads them.
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/vm.h>

LIBOS_PROGRAM_PARAMS({ "frames", "3", "the frame budget k" },
		     { "refs", "disk",
		       "page numbers a,b,c,... or disk (written by exo run --refs)" },
		     { "expect", "0", "the fault count to expect (0: any); a mismatch exits 1" },
		     { "quiet", "0", "1: only the figure line" });

#define REFS_MAX 16384
#define PAGES_MAX 512
#define BASE 0x200000000ULL
#define IO_VA 0x1ff000000ULL
#define REFS_MAGIC 0x31534645524f5845ULL /* "EXOREFS1" little-endian */

/* Block 0 of a disk written by tools/exo run --refs (tools/exolib/refs.py). */
struct refs_header {
	uint64_t magic; /* REFS_MAGIC */
	uint64_t count; /* references */
	uint64_t first; /* the block the page numbers start at (1) */
	uint64_t pages; /* the largest page number + 1 */
};

static uint32_t refs[REFS_MAX];

static int parse_refs(const char *s, size_t *n)
{
	*n = 0;
	while (*s) {
		uint64_t v = 0;
		if (*s < '0' || *s > '9')
			return E_INVAL;
		for (; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (uint64_t)(*s - '0');
		if (v >= PAGES_MAX || *n == REFS_MAX)
			return E_RANGE;
		refs[(*n)++] = (uint32_t)v;
		if (*s == ',')
			s++;
	}
	return E_OK;
}

/* Read block `block` of range `blocks` into the frame mapped at IO_VA. */
static int read_block(int64_t blocks, uint64_t block, int64_t frame)
{
	int64_t id = sys_block_io((uint64_t)blocks, block, (uint64_t)frame, BLOCK_READ, 0);
	return id < 0 ? (int)id : (int)sys_block_wait((uint64_t)id, BLOCK_WAIT_DONE);
}

static int load_refs_from_disk(size_t *n)
{
	int64_t frame = sys_frame_alloc(FRAME_ANY), hdr, all;
	int err;
	if (frame < 0)
		return (int)frame;
	if ((err = (int)sys_map((uint64_t)frame, IO_VA, PROT_R)))
		return err;
	if ((hdr = sys_block_alloc(0, 1)) < 0)
		return (int)hdr;
	if ((err = read_block(hdr, 0, frame)))
		return err;
	struct refs_header h = *(volatile struct refs_header *)IO_VA;
	(void)sys_block_free((uint64_t)hdr);
	if (h.magic != REFS_MAGIC || h.first != 1 || h.count > REFS_MAX || h.pages > PAGES_MAX)
		return E_INVAL;
	uint64_t nblocks = (h.count * 4 + BLOCK_SIZE - 1) / BLOCK_SIZE;
	if ((all = sys_block_alloc(0, 1 + nblocks)) < 0)
		return (int)all;
	for (uint64_t b = 0; b < nblocks; b++) {
		if ((err = read_block(all, 1 + b, frame)))
			return err;
		uint64_t k = MIN(1024, h.count - b * 1024);
		__builtin_memcpy(&refs[b * 1024], (const void *)IO_VA, k * 4);
	}
	(void)sys_block_free((uint64_t)all);
	(void)sys_unmap((uint64_t)frame);
	(void)sys_frame_free((uint64_t)frame);
	*n = h.count;
	return E_OK;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	unsigned k = (unsigned)libos_arg_u64("frames", 3);
	const char *src = libos_arg("refs");
	uint64_t expect = libos_arg_u64("expect", 0);
	bool quiet = libos_arg_u64("quiet", 0) != 0;
	size_t n = 0;
	int err = src[0] == 'd' ? load_refs_from_disk(&n) : parse_refs(src, &n);
	if (err || !n) {
		printf("pagetrace: no reference string (%s: %s)\n", src,
		       err ? err_name(err) : "empty");
		return 2;
	}
	uint32_t pages = 0;
	for (size_t i = 0; i < n; i++)
		pages = MAX(pages, refs[i] + 1);
	vm_set_trace(refs, n); /* before the policy starts: OPT reads it */
	struct vm_config cfg = { .budget = k, .backing = VM_BACKING_NONE, .max_pages = pages };
	if ((err = vm_start(&cfg)) || (err = vm_region_add(BASE, pages))) {
		printf("pagetrace: vm: %s\n", err_name(err));
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		vm_trace_at(i);
		vm_ref(BASE + (uint64_t)refs[i] * 4096);
		(void)*(volatile uint8_t *)(BASE + (uint64_t)refs[i] * 4096);
	}
	struct vm_stats st;
	vm_stats(&st);
	char extra[80];
	ksnprintf(extra, sizeof(extra), "\"frames\":%u,\"refs\":%llu", k, (unsigned long long)n);
	libos_figure_value("pagetrace_faults", "faults", st.faults, extra);
	if (!quiet)
		printf("pagetrace: %s frames %u refs %llu faults %llu\n", vm_pager_current(), k,
		       (unsigned long long)n, (unsigned long long)st.faults);
	if (expect && st.faults != expect) {
		printf("pagetrace: FAIL: expected %llu faults\n", (unsigned long long)expect);
		return 1;
	}
	return 0;
}
