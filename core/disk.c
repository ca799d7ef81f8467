/*
 * The exported disk (exo/disk.h, docs/disk.md): block ranges as
 * capabilities, and one-block requests between the disk and a frame.
 *
 * State, all under disk_lock: the allocated ranges, sorted by first block
 * (an allocation is a search for a gap; a capability's generation check is
 * a binary search), and one request record per device tag. A request's id
 * is its tag and a sequence number, so an old id never names a new request.
 *
 * The syscalls decode, then perform (core/syscall.c's convention; see
 * below): another core may have freed the frame or the range between the
 * two, which perform finds under the lock: E_STALE, nothing changed.
 */
#include <arch/disk.h>
#include <arch/phys.h>
#include <exo/cap.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/kprintf.h>
#include <exo/obj.h>
#include <exo/pot.h>
#include <exo/spinlock.h>
#include <exo/string.h>
#include <exo/syscall.h>
#include <exo/uaccess.h>
#include <ipi.h>
#include <percpu.h>

enum req_state { REQ_FREE = 0, REQ_INFLIGHT, REQ_DONE };

struct range {
	uint64_t first, count;
	uint64_t gen; /* unique over the run: a freed and reallocated range is new */
	bool dying;   /* its root went: no new requests; freed when its requests are done */
};

struct req {
	uint8_t state; /* enum req_state */
	bool ok;       /* REQ_DONE: the device said so */
	bool orphan;   /* its environment is gone: freed when the device is done */
	uint32_t env;  /* who asked, and its generation then */
	uint64_t env_gen;
	uint64_t frame, range_gen;
	uint64_t notify; /* bits ORed into the asker's notifications when done */
	uint32_t seq;	 /* of this tag's uses: the request id's upper part */
};

/* The one device, so one lock (leaf: nothing else is taken while it is held). */
static struct spinlock disk_lock = SPINLOCK_INIT;
static uint64_t nblocks;  /* fixed at boot */
static unsigned depth;	  /* fixed at boot: tags are below it */
static uint64_t inflight; /* atomic: requests in REQ_INFLIGHT */
static struct range ranges[DISK_RANGES_MAX] GUARDED_BY(disk_lock);
static unsigned nranges GUARDED_BY(disk_lock);
static uint64_t range_gen_next GUARDED_BY(disk_lock) = 1;
static uint64_t blocks_used GUARDED_BY(disk_lock);
static struct req reqs[ARCH_DISK_DEPTH_MAX] GUARDED_BY(disk_lock);
/* Free tags, one bit each (a submit takes the lowest), and outstanding requests per env id. */
static uint64_t tags_free[ARCH_DISK_DEPTH_MAX / 64] GUARDED_BY(disk_lock);
static uint16_t env_reqs[MAX_ENVS] GUARDED_BY(disk_lock);

static void tag_put(unsigned tag) REQUIRES(disk_lock)
{
	reqs[tag].state = REQ_FREE;
	tags_free[tag / 64] |= 1ULL << (tag % 64);
}

/* The lowest free tag, taken; depth if none. */
static unsigned tag_take(void) REQUIRES(disk_lock)
{
	for (unsigned w = 0; w < ARCH_DISK_DEPTH_MAX / 64; w++)
		if (tags_free[w]) {
			unsigned tag = w * 64 + (unsigned)__builtin_ctzll(tags_free[w]);
			tags_free[w] &= tags_free[w] - 1;
			return tag;
		}
	return depth;
}

static uint64_t obj_make(uint64_t first, uint64_t count)
{
	return first | count << 32;
}
static uint64_t obj_first(uint64_t obj)
{
	return obj & 0xffffffffu;
}
static uint64_t obj_count(uint64_t obj)
{
	return obj >> 32;
}

/* Request ids: tag in the low 8 bits, the tag's sequence number above. */
static uint64_t req_id(unsigned tag) REQUIRES(disk_lock)
{
	return tag | (uint64_t)reqs[tag].seq << 8;
}

void disk_init(void)
{
	/* From scratch: the host makes a machine (and a disk) per test and per fuzz input. */
	spin_lock(&disk_lock);
	memset(ranges, 0, sizeof(ranges));
	memset(reqs, 0, sizeof(reqs));
	memset(tags_free, 0, sizeof(tags_free));
	memset(env_reqs, 0, sizeof(env_reqs));
	nranges = 0;
	blocks_used = 0;
	range_gen_next = 1;
	__atomic_store_n(&inflight, 0, __ATOMIC_SEQ_CST);
	spin_unlock(&disk_lock);
	unsigned nframes = 0;
	paddr_t frames[ARCH_DISK_FRAMES_MAX];
	uint64_t n = arch_disk_probe(&nframes);
	for (unsigned i = 0; n && i < nframes && i < ARCH_DISK_FRAMES_MAX; i++) {
		uint64_t f, gen;
		if (frame_alloc_any(POT_NO_OWNER, true, &f, &gen) != E_OK) {
			kprintf("disk: no memory for the device's queue; no disk\n");
			n = 0;
		}
		frames[i] = pa_make(f * PAGE_SIZE);
	}
	if (n && !arch_disk_start(frames))
		n = 0;
	/* Object ids hold first and count in 32 bits each. */
	nblocks = MIN(n, (uint64_t)UINT32_MAX);
	depth = nblocks ? MIN(arch_disk_depth(), (unsigned)ARCH_DISK_DEPTH_MAX) : 0;
	spin_lock(&disk_lock);
	for (unsigned t = 0; t < depth; t++)
		tag_put(t);
	spin_unlock(&disk_lock);
}

void disk_env_gone(uint32_t id, uint64_t gen)
{
	spin_lock(&disk_lock);
	for (unsigned t = 0; t < depth; t++) {
		struct req *r = &reqs[t];
		if (r->state == REQ_FREE || r->orphan || r->env != id || r->env_gen != gen)
			continue;
		if (r->state == REQ_DONE)
			tag_put(t);
		else
			r->orphan = true; /* the device still has it: freed when done */
	}
	env_reqs[id] = 0;
	spin_unlock(&disk_lock);
}

uint64_t disk_blocks(void)
{
	return nblocks;
}

bool disk_may_dma(void)
{
	return __atomic_load_n(&inflight, __ATOMIC_SEQ_CST) != 0;
}

/* Index of the range starting at first, or -1. */
static int range_find(uint64_t first) REQUIRES(disk_lock)
{
	unsigned lo = 0, hi = nranges;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (ranges[mid].first == first)
			return (int)mid;
		if (ranges[mid].first < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

uint64_t disk_range_gen(uint64_t obj)
{
	spin_lock(&disk_lock);
	int i = range_find(obj_first(obj));
	uint64_t gen = i >= 0 && ranges[i].count == obj_count(obj) ? ranges[i].gen : ~0ULL;
	spin_unlock(&disk_lock);
	return gen;
}

/* Finished requests, for their notifications to be sent after the lock is dropped. */
struct note {
	uint32_t env;
	uint64_t gen, bits;
};
struct done_list {
	unsigned n;
	struct note note[ARCH_DISK_DEPTH_MAX];
};

static void req_done(unsigned tag, bool ok, void *arg) NO_THREAD_SAFETY_ANALYSIS
{
	/* Called by arch_disk_poll, inside poll_locked: disk_lock is held. */
	struct done_list *dl = arg;
	struct req *r = &reqs[tag];
	if (r->state != REQ_INFLIGHT)
		return; /* the arch named a tag we did not give it: ignored */
	r->state = REQ_DONE;
	r->ok = ok;
	__atomic_fetch_sub(&inflight, 1, __ATOMIC_SEQ_CST);
	if (r->orphan) {
		tag_put(tag);
		return;
	}
	if (r->notify)
		dl->note[dl->n++] = (struct note){ r->env, r->env_gen, r->notify };
}

static void poll_locked(struct done_list *dl) REQUIRES(disk_lock)
{
	if (__atomic_load_n(&inflight, __ATOMIC_ACQUIRE))
		arch_disk_poll(req_done, dl);
}

/*
 * Send the notifications of finished requests (after the disk lock is
 * dropped). A full channel to the environment's core is waited out, never
 * dropped: a program may wait on the bit alone. E_STALE: it is gone.
 */
static void deliver(const struct done_list *dl)
{
	for (unsigned i = 0; i < dl->n; i++) {
		struct env *t = env_lookup(dl->note[i].env);
		while (t && env_notify(t, dl->note[i].gen, dl->note[i].bits) == E_AGAIN)
			percpu_wait_step(false); /* polls our own rings: the other core gets on */
	}
}

void disk_poll(void)
{
	if (!__atomic_load_n(&inflight, __ATOMIC_ACQUIRE))
		return;
	struct done_list dl;
	dl.n = 0;
	if (!spin_trylock(&disk_lock))
		return; /* another core is polling (or submitting) right now */
	poll_locked(&dl);
	spin_unlock(&disk_lock);
	deliver(&dl);
}

/* Wait until no request in flight matches (by frame, or by range generation). */
static void wait_idle(bool by_frame, uint64_t what)
{
	for (;;) {
		struct done_list dl;
		dl.n = 0;
		bool busy = false;
		spin_lock(&disk_lock);
		poll_locked(&dl);
		for (unsigned t = 0; t < depth && !busy; t++)
			busy = reqs[t].state == REQ_INFLIGHT &&
			       (by_frame ? reqs[t].frame : reqs[t].range_gen) == what;
		spin_unlock(&disk_lock);
		deliver(&dl);
		if (!busy)
			return;
		percpu_wait_step(false); /* callers may hold locks; the device needs no one */
	}
}

void disk_quiesce_frame(uint64_t frame)
{
	if (disk_may_dma())
		wait_idle(true, frame);
}

void disk_range_free(uint64_t obj, uint64_t gen)
{
	spin_lock(&disk_lock);
	int i = range_find(obj_first(obj));
	bool ours = i >= 0 && ranges[i].gen == gen && !ranges[i].dying;
	if (ours)
		ranges[i].dying = true; /* no new requests; the blocks stay taken until */
	spin_unlock(&disk_lock);
	if (!ours)
		return;
	wait_idle(false, gen); /* ...every request to them is done */
	spin_lock(&disk_lock);
	i = range_find(obj_first(obj)); /* the table may have moved meanwhile */
	blocks_used -= ranges[i].count;
	memmove(&ranges[i], &ranges[i + 1], (nranges - (unsigned)i - 1) * sizeof(ranges[0]));
	nranges--;
	spin_unlock(&disk_lock);
}

unsigned disk_check(void)
{
	unsigned bad = 0, flying = 0;
	uint64_t used = 0;
	spin_lock(&disk_lock);
	for (unsigned i = 0; i < nranges; i++) {
		const struct range *r = &ranges[i];
		used += r->count;
		if (r->count == 0 || r->first >= nblocks || r->count > nblocks - r->first ||
		    (i > 0 && ranges[i - 1].first + ranges[i - 1].count > r->first)) {
			kprintf("check: disk range %u [%llu, +%llu) is empty, past the end, or "
				"overlaps\n",
				i, (unsigned long long)r->first, (unsigned long long)r->count);
			bad++;
		}
	}
	if (used != blocks_used) {
		kprintf("check: disk ranges hold %llu blocks, %llu counted\n",
			(unsigned long long)used, (unsigned long long)blocks_used);
		bad++;
	}
	for (unsigned t = 0; t < depth; t++) {
		const struct req *r = &reqs[t];
		if (r->state != REQ_INFLIGHT)
			continue;
		flying++;
		bool live = false;
		for (unsigned i = 0; i < nranges; i++)
			live |= ranges[i].gen == r->range_gen;
		if (!live || r->frame >= pot_nframes() || pot_get(r->frame).state == POT_FREE) {
			kprintf(
			    "check: disk request %u in flight names a freed range or frame %llu\n",
			    t, (unsigned long long)r->frame);
			bad++;
		}
	}
	static uint16_t count[MAX_ENVS];
	memset(count, 0, sizeof(count));
	for (unsigned t = 0; t < depth; t++) {
		const struct req *r = &reqs[t];
		bool free_bit = tags_free[t / 64] >> (t % 64) & 1;
		if (free_bit != (r->state == REQ_FREE)) {
			kprintf("check: disk tag %u is %s but its request is %s\n", t,
				free_bit ? "free" : "taken", r->state == REQ_FREE ? "free" : "not");
			bad++;
		}
		if (r->state != REQ_FREE && !r->orphan)
			count[r->env]++;
	}
	for (unsigned id = 0; id < MAX_ENVS; id++)
		if (count[id] != env_reqs[id]) {
			kprintf("check: env %u has %u disk requests, %u counted\n", id, count[id],
				env_reqs[id]);
			bad++;
		}
	if (flying != __atomic_load_n(&inflight, __ATOMIC_ACQUIRE)) {
		kprintf("check: %u disk requests in flight, %llu counted\n", flying,
			(unsigned long long)inflight);
		bad++;
	}
	spin_unlock(&disk_lock);
	return bad;
}

uint64_t disk_digest(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 0x100000001b3ULL)
	spin_lock(&disk_lock);
	MIX(nranges);
	MIX(blocks_used);
	for (unsigned i = 0; i < nranges; i++) {
		MIX(ranges[i].first);
		MIX(ranges[i].count);
		MIX(ranges[i].gen);
		MIX(ranges[i].dying);
	}
	/* Requests issued and collected, not the device's progress (in flight -> done). */
	for (unsigned t = 0; t < depth; t++) {
		MIX(reqs[t].state != REQ_FREE);
		MIX(reqs[t].seq);
	}
	spin_unlock(&disk_lock);
#undef MIX
	return h;
}

/*
 * The calls follow syscall.c's convention: decode_x checks every argument
 * and right and changes nothing; perform_x carries the call out. Perform
 * claims what another core may take meanwhile — a slot of the table, the
 * blocks, a device tag — each in one step, and gives back, untouched, what
 * it claimed if a later claim fails; under the disk lock it checks once
 * more that the range and the frame decode saw are still the caller's.
 */

/* DISK_INFO. Decode: a disk. Perform: the figures, copied out (E_FAULT: nothing written). */
int64_t sys_disk_info(struct env *e, const uint64_t *a)
{
	if (!nblocks)
		return E_NOTSUP;
	struct disk_info di = { .blocks = nblocks,
				.block_size = BLOCK_SIZE,
				.inflight_max = DISK_INFLIGHT_ENV,
				.inflight_device = depth };
	spin_lock(&disk_lock);
	di.free_blocks = nblocks - blocks_used;
	spin_unlock(&disk_lock);
	return copy_to_user(e, a[0], &di, sizeof(di));
}

struct block_alloc_inv {
	uint64_t first; /* or BLOCK_ANY */
	uint64_t count;
};

static int decode_block_alloc(const uint64_t *a, struct block_alloc_inv *inv)
{
	uint64_t first = a[0], count = a[1];
	if (!nblocks)
		return E_NOTSUP;
	if (count == 0)
		return E_INVAL;
	if (count > nblocks ||
	    (first != BLOCK_ANY && (first >= nblocks || count > nblocks - first)))
		return E_RANGE;
	*inv = (struct block_alloc_inv){ first, count };
	return E_OK;
}

/*
 * Where a range of count blocks goes: at first (BLOCK_ANY: the first gap
 * that fits). The index it takes in ranges[] out. E_BUSY (overlaps a range),
 * E_NOMEM (no gap, or no room in the table).
 */
static int range_place(uint64_t *first, uint64_t count, unsigned *at) REQUIRES(disk_lock)
{
	if (nranges == DISK_RANGES_MAX)
		return E_NOMEM;
	if (*first != BLOCK_ANY) {
		unsigned i = 0;
		while (i < nranges && ranges[i].first < *first)
			i++;
		if (i > 0 && ranges[i - 1].first + ranges[i - 1].count > *first)
			return E_BUSY;
		if (i < nranges && ranges[i].first < *first + count)
			return E_BUSY;
		*at = i;
		return E_OK;
	}
	uint64_t cursor = 0;
	for (unsigned i = 0; i < nranges; i++) {
		if (ranges[i].first - cursor >= count) {
			*first = cursor;
			*at = i;
			return E_OK;
		}
		cursor = ranges[i].first + ranges[i].count;
	}
	if (nblocks - cursor < count)
		return E_NOMEM;
	*first = cursor;
	*at = nranges;
	return E_OK;
}

/* Claims a slot, then the blocks; a failure at the blocks gives the slot back unseen. */
static int64_t perform_block_alloc(struct env *e, struct block_alloc_inv *inv)
{
	uint32_t slot;
	int err = cap_reserve(e, &slot); /* first: a full table must not cost a range */
	if (err)
		return err;
	unsigned at;
	spin_lock(&disk_lock);
	if ((err = range_place(&inv->first, inv->count, &at))) {
		spin_unlock(&disk_lock);
		cap_unreserve(e, slot);
		return err;
	}
	memmove(&ranges[at + 1], &ranges[at], (nranges - at) * sizeof(ranges[0]));
	nranges++;
	uint64_t gen = range_gen_next++;
	ranges[at] = (struct range){ inv->first, inv->count, gen, false };
	blocks_used += inv->count;
	spin_unlock(&disk_lock);
	cap_fill_root(e, slot, OBJ_BLOCKS, obj_make(inv->first, inv->count), gen,
		      CAP_R_READ | CAP_R_WRITE | CAP_R_GRANT | CAP_R_CTRL, 0);
	return slot;
}

int64_t sys_block_alloc(struct env *e, const uint64_t *a)
{
	struct block_alloc_inv inv;
	int err = decode_block_alloc(a, &inv);
	return err ? err : perform_block_alloc(e, &inv);
}

/*
 * BLOCK_FREE. Decode: a blocks cap with CTRL, the root (which never leaves
 * its allocator: a move of a root is refused). Perform: delete it, which
 * frees the range once its requests are done (E_BUSY, nothing changed,
 * while derived caps exist — checked again under the tree lock).
 */
static int decode_block_free(struct env *e, const uint64_t *a)
{
	struct cap c;
	int err = cap_get(e, (uint32_t)MIN(a[0], CAP_SLOTS), OBJ_BLOCKS, CAP_R_CTRL, &c);
	if (err)
		return err;
	return c.parent.env != CAP_NO_SLOT ? E_PERM : E_OK;
}

int64_t sys_block_free(struct env *e, const uint64_t *a)
{
	int err = decode_block_free(e, a);
	return err ? err : cap_delete(e, (uint32_t)a[0]);
}

struct block_io_inv {
	struct cap blocks, frame;
	uint64_t block; /* within the range */
	uint64_t notify;
	bool write;
};

static int decode_block_io(struct env *e, const uint64_t *a, struct block_io_inv *inv)
{
	uint64_t op = a[3];
	if (!nblocks)
		return E_NOTSUP;
	if (op > BLOCK_WRITE || (a[4] >> 63))
		return E_INVAL; /* bit 63: NOTIFY_TAKE could not return it (a negative result) */
	inv->write = op == BLOCK_WRITE;
	inv->block = a[1];
	inv->notify = a[4];
	/* Reading the disk writes the frame, and writing the disk reads it. */
	int err = cap_get(e, (uint32_t)MIN(a[0], CAP_SLOTS), OBJ_BLOCKS,
			  inv->write ? CAP_R_WRITE : CAP_R_READ, &inv->blocks);
	if (err)
		return err;
	if (inv->block >= obj_count(inv->blocks.obj))
		return E_RANGE;
	if ((err = cap_get(e, (uint32_t)MIN(a[2], CAP_SLOTS), OBJ_FRAME,
			   inv->write ? CAP_R_READ : CAP_R_WRITE, &inv->frame)))
		return err;
	struct pot_view v = pot_get(inv->frame.obj);
	if (v.owner != e->id || v.state != POT_OWNED)
		return E_PERM; /* a frame granted by another environment is not the caller's */
	return E_OK;
}

/*
 * Claims a tag (E_AGAIN: the caller's 32 or the device's all taken), checks
 * the range is still the one decode saw, registers the request, and only
 * then checks the frame's binding once more: a free or revoke on another
 * core first takes the frame out of OWNED, then waits for the requests
 * naming it. Either it sees this one, or this sees its state change (both
 * sides are sequentially consistent). A failed check gives the tag back.
 */
static int64_t perform_block_io(struct env *e, const struct block_io_inv *inv)
{
	struct done_list dl;
	dl.n = 0;
	int err = E_OK;
	spin_lock(&disk_lock);
	poll_locked(&dl);
	int i = range_find(obj_first(inv->blocks.obj));
	unsigned tag = depth;
	if (env_reqs[e->id] >= DISK_INFLIGHT_ENV || (tag = tag_take()) == depth)
		err = E_AGAIN;
	else if (i < 0 || ranges[i].gen != inv->blocks.gen || ranges[i].dying)
		err = E_STALE; /* freed since decode */
	if (!err) {
		struct req *r = &reqs[tag];
		*r = (struct req){ REQ_INFLIGHT,   false,	    false,	 e->id,	    e->gen,
				   inv->frame.obj, inv->blocks.gen, inv->notify, r->seq + 1 };
		env_reqs[e->id]++;
		__atomic_fetch_add(&inflight, 1, __ATOMIC_SEQ_CST);
		struct pot_view v = pot_get(inv->frame.obj);
		if (v.owner != e->id || v.state != POT_OWNED || v.gen != inv->frame.gen) {
			env_reqs[e->id]--;
			__atomic_fetch_sub(&inflight, 1, __ATOMIC_SEQ_CST);
			err = E_STALE;
		}
	}
	if (err) {
		if (tag != depth)
			tag_put(tag);
		spin_unlock(&disk_lock);
		deliver(&dl);
		return err;
	}
	arch_disk_submit(tag, inv->write, obj_first(inv->blocks.obj) + inv->block,
			 pa_make(inv->frame.obj * PAGE_SIZE));
	uint64_t id = req_id(tag);
	spin_unlock(&disk_lock);
	deliver(&dl);
	return (int64_t)id;
}

int64_t sys_block_io(struct env *e, const uint64_t *a)
{
	struct block_io_inv inv;
	int err = decode_block_io(e, a, &inv);
	return err ? err : perform_block_io(e, &inv);
}

/*
 * BLOCK_WAIT. Decode: the flags, and an id the device could have given.
 * Perform: the caller's request, collected if done (its tag freed); still
 * in flight, E_AGAIN — or, with BLOCK_WAIT_DONE, nothing changed and the
 * call runs again when the caller is resumed (syscall_restart: the
 * scheduler loop polls the device meanwhile).
 */
static int decode_block_wait(const uint64_t *a, unsigned *tag, uint32_t *seq)
{
	uint64_t id = a[0], flags = a[1];
	if (!nblocks)
		return E_NOTSUP;
	if (flags > BLOCK_WAIT_DONE)
		return E_INVAL;
	if ((id & 0xff) >= depth || (id >> 8) > UINT32_MAX)
		return E_NOENT;
	*tag = (unsigned)(id & 0xff);
	*seq = (uint32_t)(id >> 8);
	return E_OK;
}

static int64_t perform_block_wait(struct env *e, unsigned tag, uint32_t seq)
{
	struct done_list dl;
	dl.n = 0;
	spin_lock(&disk_lock);
	poll_locked(&dl);
	struct req *r = &reqs[tag];
	int64_t ret;
	if (r->state == REQ_FREE || r->orphan || r->seq != seq || r->env != e->id ||
	    r->env_gen != e->gen)
		ret = E_NOENT; /* never issued, collected already, or someone else's */
	else if (r->state == REQ_INFLIGHT)
		ret = E_AGAIN;
	else {
		ret = r->ok ? E_OK : E_IO;
		tag_put(tag);
		env_reqs[e->id]--;
	}
	spin_unlock(&disk_lock);
	deliver(&dl);
	return ret;
}

int64_t sys_block_wait(struct env *e, const uint64_t *a)
{
	unsigned tag;
	uint32_t seq;
	int err = decode_block_wait(a, &tag, &seq);
	if (err)
		return err;
	int64_t ret = perform_block_wait(e, tag, seq);
	if (ret == E_AGAIN && a[1] == BLOCK_WAIT_DONE)
		syscall_restart(e);
	return ret;
}

/* The object-type table's row for block ranges (exo/obj.h): the root's deletion frees it. */
static void blocks_root_deleted(struct env *owner, uint64_t obj, uint64_t gen)
{
	disk_range_free(obj, gen); /* nothing if freed already */
}

const struct obj_ops blocks_obj_ops = {
	.name = "blocks",
	.gen = disk_range_gen,
	.root_deleted = blocks_root_deleted,
};
