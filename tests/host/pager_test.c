/*
 * The VM manager (libos-framework/vm.c) and every pager policy
 * (policies/pager/) on a simulated machine: frames, mappings with their
 * accessed bits, and an in-memory swap, all checked as the guest's system
 * calls would check them. The properties are the issue's: the textbook
 * fault counts (Belady's anomaly for FIFO; FIFO 15, LRU 12, OPT 9 on the
 * 20-reference string), OPT as a lower bound of every policy, no data lost
 * under eviction and cooperative revocation, exactly the dirty pages lost
 * to the abort protocol, bad victims caught and named, policy swaps.
 */
#include <exo/errors.h>
#include <exo/kprintf.h>
#include <exo/test.h>
#include <exo/bpf.h>
#include <libos/pager_impl.h>
#include <libos/vm.h>
#include <setjmp.h>
#include <string.h>

#define FRAMES 256
#define SWAP_PAGES 1024
#define BASE 0x10000000ULL
#define PG 4096ULL

static const char *const all_pagers[] = { "fifo",   "clock", "aging",  "lru", "mru",
					  "random", "2q",    "s3fifo", "opt" };
#define NPAGERS (sizeof(all_pagers) / sizeof(all_pagers[0]))

/* ---- the simulated machine ---- */

/*
 * Frames by slot. A frame taken by force (the abort protocol) keeps its
 * slot — the stale capability — until the VM deletes it (frame_taken), and
 * every call on it fails as the kernel's do: E_STALE, E_NOENT for unmap
 * (the binding went with the frame), and a fault — E_STALE from a probe —
 * for a copy through where it was mapped. Those are not the VM's errors;
 * anything else the machine refuses is (m.errors).
 */
static struct {
	uint8_t mem[FRAMES][PG];
	bool used[FRAMES], taken[FRAMES], accessed[FRAMES];
	uint64_t va[FRAMES];  /* 0: not bound */
	uint64_t was[FRAMES]; /* a taken frame: where it was mapped */
	unsigned prot[FRAMES];
	unsigned avail; /* frames the "kernel" will still hand out */
	uint8_t swap[SWAP_PAGES][PG];
	unsigned swap_writes, errors;
	/* Injection (takes_anywhere): at the calls-th machine call... */
	unsigned calls, take_at, ask_at;
	bool take_other; /* take another frame than the call's */
	bool tell_now;	 /* and the REVOKE_TAKEN upcall comes then, inside the VM */
	unsigned takes;	 /* frames taken so far */
	/* Downloaded parts (policy_bpf): live now, loaded so far, the next load refused. */
	unsigned parts_live, part_loads;
	bool part_refuse;
	jmp_buf died;
	int status;
} m;

static int slot_at(uint64_t va)
{
	for (int s = 0; s < FRAMES; s++)
		if (m.used[s] && !m.taken[s] && m.va[s] == va)
			return s;
	return -1;
}

static bool live(int s)
{
	return s >= 0 && s < FRAMES && m.used[s] && !m.taken[s];
}

static bool stale(int s)
{
	return s >= 0 && s < FRAMES && m.used[s] && m.taken[s];
}

/* The kernel takes slot s's frame by force: its binding goes, the frame is free again. */
static void take(int s)
{
	m.taken[s] = true;
	m.was[s] = m.va[s];
	m.va[s] = 0;
	m.avail++;
	m.takes++;
}

/*
 * Every call that reaches the "kernel" (s: the slot it names, or -1) is a
 * point where the real one may preempt the VM and take a frame, and where
 * the revocation upcall may come (the VM is inside: it notes the request).
 */
static void preempt_point(int s)
{
	if (++m.calls == m.ask_at)
		(void)vm_revoke_asked(FRAME_ANY, 2, ~0ULL);
	if (m.calls != m.take_at)
		return;
	int v = live(s) && !m.take_other ? s : -1;
	for (int i = FRAMES - 1; v < 0 && i >= 0; i--)
		if (live(i) && i != s)
			v = i;
	if (v < 0) {
		m.take_at++; /* nothing to take yet: at the next call */
		return;
	}
	take(v);
	if (m.tell_now)
		vm_revoke_taken();
}

static int64_t f_alloc(bool wait)
{
	preempt_point(-1);
	if (!m.avail)
		return E_AGAIN;
	for (int s = 0; s < FRAMES; s++)
		if (!m.used[s]) {
			m.used[s] = true;
			m.taken[s] = false;
			m.va[s] = 0;
			m.avail--;
			memset(m.mem[s], 0, PG);
			return s;
		}
	return E_NOMEM;
}
static int f_free(int s)
{
	preempt_point(s);
	if (stale(s))
		return E_STALE;
	if (!live(s)) {
		m.errors++;
		return E_BADSLOT;
	}
	m.used[s] = false;
	m.va[s] = 0;
	m.avail++;
	return 0;
}
static int f_map(int s, uint64_t va, unsigned prot)
{
	preempt_point(s);
	if (stale(s))
		return E_STALE;
	if (!live(s) || m.va[s] || slot_at(va) >= 0) {
		m.errors++;
		return live(s) ? E_BUSY : E_BADSLOT;
	}
	m.va[s] = va;
	m.prot[s] = prot;
	m.accessed[s] = false;
	return 0;
}
static int f_unmap(int s)
{
	preempt_point(s);
	if (stale(s))
		return E_NOENT;
	if (!live(s) || !m.va[s]) {
		m.errors++;
		return E_NOENT;
	}
	m.va[s] = 0;
	return 0;
}
static int f_read_ad(uint64_t va, unsigned n, uint8_t *out)
{
	for (unsigned i = 0; i < n; i++) {
		int s = slot_at(va + i * PG);
		out[i] = s < 0 ? 0 : AD_MAPPED | (m.accessed[s] ? AD_ACCESSED : 0);
		if (s >= 0)
			m.accessed[s] = false;
	}
	return 0;
}
static int f_frame_number(int s, uint64_t *f)
{
	*f = 1000 + (uint64_t)s;
	return live(s) ? 0 : E_BADSLOT;
}
static bool f_taken(int s)
{
	if (stale(s)) {
		m.used[s] = m.taken[s] = false; /* the stale root is deleted */
		return true;
	}
	if (live(s) && !m.va[s])
		m.errors++; /* asked of an unmapped live frame: the kernel's answer would be wrong */
	return false;
}
/* A copy through va's mapping: a fault (E_STALE from the probe) if its frame was taken. */
static int through(uint64_t va, bool write, int *slot)
{
	int s = slot_at(va);
	if (s >= 0 && (!write || (m.prot[s] & PROT_W))) {
		*slot = s;
		return 0;
	}
	for (int i = 0; i < FRAMES; i++)
		if (stale(i) && m.was[i] == va)
			return E_STALE;
	m.errors++;
	return E_FAULT;
}
static int f_zero(uint64_t va)
{
	int s = slot_at(va), err;
	preempt_point(s);
	if ((err = through(va, true, &s)))
		return err;
	memset(m.mem[s], 0, PG);
	return 0;
}
static int f_swap_write(unsigned id, int s, uint64_t va)
{
	preempt_point(s);
	if (stale(s))
		return E_STALE;
	if (!live(s) || id >= SWAP_PAGES) {
		m.errors++;
		return E_RANGE;
	}
	memcpy(m.swap[id], m.mem[s], PG);
	m.swap_writes++;
	return 0;
}
static int f_swap_read(unsigned id, int s, uint64_t va)
{
	preempt_point(s);
	if (stale(s))
		return E_STALE;
	if (!live(s) || id >= SWAP_PAGES) {
		m.errors++;
		return E_RANGE;
	}
	memcpy(m.mem[s], m.swap[id], PG);
	return 0;
}
static noreturn_fn void f_die(int status)
{
	m.status = status;
	longjmp(m.died, 1);
}

/* A policy's downloaded part, as policy_bpf_load would: a capability, or none. */
static int64_t f_part_load(const struct policy_info *p, void **region)
{
	*region = NULL;
	if (!p->bpf)
		return E_NOENT;
	if (m.part_refuse)
		return E_INVAL; /* the verifier said no: the policy runs without it */
	m.part_loads++;
	m.parts_live++;
	return 100 + m.part_loads;
}
static void f_part_unload(enum policy_kind kind, int64_t cap)
{
	if (kind != POLICY_PAGER || cap < 100 || !m.parts_live)
		m.errors++;
	else
		m.parts_live--;
}

static const struct vm_machine sim = {
	.part_load = f_part_load,
	.part_unload = f_part_unload,
	.frame_alloc = f_alloc,
	.frame_free = f_free,
	.map = f_map,
	.unmap = f_unmap,
	.read_ad = f_read_ad,
	.frame_number = f_frame_number,
	.frame_taken = f_taken,
	.zero = f_zero,
	.swap_write = f_swap_write,
	.swap_read = f_swap_read,
	.backing = "sim",
	.die = f_die,
};

/* A fresh machine and VM: budget frames, npages at BASE, pager spec (on_lost: as vm_config's). */
static int start_with(const char *spec, unsigned budget, unsigned npages,
		      bool (*on_lost)(uint64_t va))
{
	vm_stop();
	jmp_buf died; /* a caller's setjmp made before the start */
	memcpy(died, m.died, sizeof(died));
	memset(&m, 0, sizeof(m));
	memcpy(m.died, died, sizeof(died));
	m.avail = FRAMES;
	struct policy_choice c;
	char err[300];
	int e = policy_parse(POLICY_PAGER, spec, &c, err, sizeof(err));
	if (e)
		return e;
	struct vm_config cfg = { .budget = budget, .max_pages = npages, .on_lost = on_lost };
	if ((e = vm_start_on(&cfg, &sim, &c)))
		return e;
	return vm_region_add(BASE, npages);
}

static int start(const char *spec, unsigned budget, unsigned npages)
{
	return start_with(spec, budget, npages, NULL);
}

/* What the MMU does: a fault first if the mapping is missing or read-only for a write. */
static uint64_t touch(unsigned page, bool write, uint64_t value)
{
	uint64_t va = BASE + page * PG;
	int s = slot_at(va);
	/*
	 * The access faults again while the page is not mapped as it needs: a
	 * request served as the fault ended may have evicted it at once. (Twice
	 * in a row would be the VM's error.)
	 */
	for (unsigned again = 0; s < 0 || (write && !(m.prot[s] & PROT_W)); again++) {
		if (again == 2 || vm_fault(va, write)) {
			m.errors++;
			return 0;
		}
		s = slot_at(va);
	}
	m.accessed[s] = true;
	if (write)
		memcpy(m.mem[s], &value, sizeof(value));
	memcpy(&value, m.mem[s], sizeof(value));
	return value;
}

static uint64_t faults(void)
{
	struct vm_stats s;
	vm_stats(&s);
	return s.faults;
}

/* Trace mode as the pagetrace workload runs it: faults for refs[0..n) in k frames. */
static long run_trace(const char *spec, const uint32_t *refs, size_t n, unsigned k)
{
	if (setjmp(m.died))
		return -1000 - m.status;
	if (start(spec, k, 64))
		return -1;
	vm_set_trace(refs, n);
	/* (start reset the trace: set it before the policy looks; opt checks at init) */
	for (size_t i = 0; i < n; i++) {
		vm_trace_at(i);
		vm_ref(BASE + refs[i] * PG);
		(void)touch(refs[i], false, 0);
	}
	return m.errors ? -2 : (long)faults();
}

static const uint32_t belady[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };
static const uint32_t twenty[] = { 7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1 };

/* OPT needs its trace before init: start, set the trace, swap it in. */
static long run_trace_opt(const uint32_t *refs, size_t n, unsigned k)
{
	if (setjmp(m.died))
		return -1000 - m.status;
	if (start("fifo", k, 64))
		return -1;
	vm_set_trace(refs, n);
	if (vm_pager_swap("opt"))
		return -3;
	for (size_t i = 0; i < n; i++) {
		vm_trace_at(i);
		vm_ref(BASE + refs[i] * PG);
		(void)touch(refs[i], false, 0);
	}
	return m.errors ? -2 : (long)faults();
}

static long count(const char *spec, const uint32_t *refs, size_t n, unsigned k)
{
	return strcmp(spec, "opt") ? run_trace(spec, refs, n, k) : run_trace_opt(refs, n, k);
}

TEST(pager, textbook_belady_anomaly_fifo)
{
	EXPECT_EQ(t, count("fifo", belady, 12, 3), 9);
	EXPECT_EQ(t, count("fifo", belady, 12, 4), 10);
}

TEST(pager, textbook_twenty_references_three_frames)
{
	EXPECT_EQ(t, count("fifo", twenty, 20, 3), 15);
	EXPECT_EQ(t, count("lru", twenty, 20, 3), 12);
	EXPECT_EQ(t, count("opt", twenty, 20, 3), 9);
	EXPECT_EQ(t, count("opt", belady, 12, 3), 7);
	EXPECT_EQ(t, count("lru", belady, 12, 3), 10);
}

TEST(pager, opt_refuses_to_start_without_a_trace)
{
	EXPECT_EQ(t, start("opt", 3, 8), E_NOTSUP);
	vm_stop();
}

/* On random traces every policy faults at least as often as OPT, and at least once per page. */
TEST(pager, opt_bounds_every_policy)
{
	static uint32_t refs[400];
	uint64_t seed = 7;
	for (unsigned round = 0; round < 6; round++) {
		unsigned pages = 6 + round * 3, k = 2 + round;
		for (unsigned i = 0; i < 400; i++) /* skewed: low pages more often */
			refs[i] = (uint32_t)((pager_rand(&seed) % pages) *
					     (pager_rand(&seed) % pages) / pages);
		long best = count("opt", refs, 400, k);
		ASSERT(t, best > 0);
		for (unsigned p = 0; p < NPAGERS; p++) {
			long f = count(all_pagers[p], refs, 400, k);
			if (!EXPECT(t, f >= best && f <= 400))
				kprintf("pager: %s faulted %ld times, opt %ld (k %u)\n",
					all_pagers[p], f, best, k);
		}
	}
	vm_stop();
}

/* MRU is the right choice for a loop one page larger than memory; LRU the worst. */
TEST(pager, mru_wins_a_loop_larger_than_memory)
{
	static uint32_t refs[5 * 9];
	for (unsigned i = 0; i < 5 * 9; i++)
		refs[i] = i % 9;
	EXPECT_EQ(t, count("lru", refs, 45, 8), 45);
	EXPECT_EQ(t, count("fifo", refs, 45, 8), 45);
	EXPECT(t, count("mru", refs, 45, 8) < 20);
	vm_stop();
}

/* Random writes over 4x the budget, then every page read back: nothing lost, under every policy. */
TEST(pager, no_data_lost_under_eviction)
{
	for (unsigned p = 0; p < NPAGERS; p++) {
		if (!strcmp(all_pagers[p], "opt"))
			continue; /* no trace here */
		if (setjmp(m.died)) {
			test_fail(t, __FILE__, __LINE__, "%s: the VM ended the program (%d)",
				  all_pagers[p], m.status);
			continue;
		}
		ASSERT_EQ(t, start(all_pagers[p], 8, 32), E_OK);
		uint64_t want[32] = { 0 }, seed = 3;
		for (unsigned i = 0; i < 600; i++) {
			unsigned pg = (unsigned)(pager_rand(&seed) % 32);
			if (pager_rand(&seed) % 3 == 0) {
				want[pg] = pager_rand(&seed) | 1;
				touch(pg, true, want[pg]);
			} else if (touch(pg, false, 0) != want[pg]) {
				test_fail(t, __FILE__, __LINE__, "%s: page %u read wrong",
					  all_pagers[p], pg);
				break;
			}
			if (i % 50 == 0)
				vm_scan();
		}
		for (unsigned pg = 0; pg < 32; pg++)
			EXPECT_EQ(t, touch(pg, false, 0), want[pg]);
		EXPECT_EQ(t, m.errors, 0);
		EXPECT(t, vm_resident() <= 8);
		struct vm_stats s;
		vm_stats(&s);
		EXPECT(t, s.swap_writes > 0 && s.swap_reads > 0 && s.evictions > 0);
	}
	vm_stop();
}

/* Read-only pages are clean: evicting them writes nothing. */
TEST(pager, clean_pages_are_never_written_back)
{
	ASSERT_EQ(t, start("fifo", 4, 16), E_OK);
	for (unsigned r = 0; r < 3; r++)
		for (unsigned pg = 0; pg < 16; pg++)
			EXPECT_EQ(t, touch(pg, false, 0), 0);
	EXPECT_EQ(t, m.swap_writes, 0);
	EXPECT_EQ(t, faults(), 48);
	/* A write after a read faults once more (read-only -> writable): no page-in; then dirty. */
	struct vm_stats st;
	touch(15, true, 5);
	vm_stats(&st);
	EXPECT_EQ(t, st.faults, 48);
	EXPECT_EQ(t, st.write_faults, 1);
	touch(15, true, 6);
	vm_stats(&st);
	EXPECT_EQ(t, st.write_faults, 1);
	vm_stop();
}

TEST(pager, cooperative_revocation_loses_nothing)
{
	if (setjmp(m.died)) {
		test_fail(t, __FILE__, __LINE__, "the VM ended the program (%d)", m.status);
		return;
	}
	ASSERT_EQ(t, start("clock", 16, 32), E_OK);
	for (unsigned pg = 0; pg < 16; pg++)
		touch(pg, pg % 2, 100 + pg);
	EXPECT_EQ(t, vm_resident(), 16);
	EXPECT_EQ(t, vm_revoke_asked(FRAME_ANY, 10, ~0ULL), 10);
	EXPECT_EQ(t, vm_resident(), 6);
	EXPECT_EQ(t, m.avail, FRAMES - 6); /* the frames really went back */
	/* A named frame: the page holding it goes. */
	int s = slot_at(BASE + 15 * PG);
	if (s >= 0)
		EXPECT_EQ(t, vm_revoke_asked(1000 + (uint64_t)s, 1, ~0ULL), 1);
	for (unsigned pg = 0; pg < 16; pg++)
		EXPECT_EQ(t, touch(pg, false, 0), pg % 2 ? 100 + pg : 0);
	struct vm_stats st;
	vm_stats(&st);
	EXPECT_EQ(t, st.lost, 0);
	EXPECT(t, st.revoke_given >= 10);
	EXPECT_EQ(t, m.errors, 0);
	vm_stop();
}

/* Frames taken by force: clean pages come back (zero), a dirty one is lost and ends the program. */
TEST(pager, abort_marks_exactly_the_dirty_pages_lost)
{
	ASSERT_EQ(t, start("fifo", 8, 16), E_OK);
	for (unsigned pg = 0; pg < 8; pg++)
		touch(pg, pg == 3, 42);
	for (int s = 0; s < FRAMES; s++) /* the kernel takes every frame */
		if (live(s))
			take(s);
	vm_revoke_taken();
	struct vm_stats st;
	vm_stats(&st);
	EXPECT_EQ(t, st.taken, 8);
	EXPECT_EQ(t, st.lost, 1);
	EXPECT_EQ(t, vm_resident(), 0);
	EXPECT_EQ(t, touch(0, false, 0), 0);
	vm_stats(&st);
	EXPECT_EQ(t, st.refetched, 1);
	if (setjmp(m.died)) {
		EXPECT_EQ(t, m.status, VM_EXIT_LOST);
		vm_stop();
		return;
	}
	touch(3, false, 0);
	test_fail(t, __FILE__, __LINE__, "reading a lost page went on");
	vm_stop();
}

/*
 * Frames taken by force in the middle of the VM's work. The real kernel
 * takes at a preemption, which may fall anywhere: between the calls of an
 * eviction, after a frame was allocated and before it is mapped, in the
 * middle of a copy; and the REVOKE_TAKEN upcall that says so comes later,
 * perhaps inside the very fault (the VM only notes it then). Here the take
 * falls on each of the VM's machine calls in turn (k = 1, 2, ... of the
 * same run), on the frame that call names or on another, told at once or
 * only at the end. Whatever k: the VM never gives up (the guest's balloon
 * test ended with "mapping a page failed", status 98), never touches a
 * stale slot, holds exactly the frames the machine says it has, loses only
 * a page that was dirty when its frame went — and says so at its next
 * touch — and every other page reads back what was written.
 */
#define CHURN_PAGES 16
static unsigned told;
static bool count_told(uint64_t va)
{
	told++;
	return true; /* go on, the page zero-filled */
}

/* Rounds of reading every page (checked against want) and writing most of them; bad reads. */
static unsigned churn(unsigned rounds, uint64_t *want)
{
	unsigned bad = 0;
	for (unsigned r = 0; r < rounds; r++)
		for (unsigned pg = 0; pg < CHURN_PAGES; pg++) {
			unsigned before = told;
			uint64_t v = touch(pg, false, 0);
			if (told != before)
				want[pg] = 0; /* reported lost: it starts again from zero */
			else if (v != want[pg])
				bad++;
			if ((pg + r) % 3) /* the others stay clean a round */
				(void)touch(pg, true, want[pg] = 1000 * (r + 1) + pg);
		}
	return bad;
}

struct churn_result {
	int status; /* the VM ended the program with this; 0: it did not */
	unsigned bad, errors, takes, resident, live;
	struct vm_stats st;
};

static struct churn_result churn_once(const char *spec, unsigned take_at, bool other, bool tell,
				      unsigned ask_at)
{
	struct churn_result r = { 0 };
	static uint64_t want[CHURN_PAGES];
	memset(want, 0, sizeof(want));
	told = 0;
	if (setjmp(m.died)) {
		r.status = m.status;
		vm_stop();
		return r;
	}
	if (start_with(spec, 8, CHURN_PAGES, count_told)) {
		r.status = -1;
		return r;
	}
	m.take_at = take_at;
	m.take_other = other;
	m.tell_now = tell;
	m.ask_at = ask_at;
	r.bad = churn(4, want);
	vm_revoke_taken(); /* the upcall comes at last, if it has not */
	r.bad += churn(1, want);
	vm_stats(&r.st);
	r.errors = m.errors;
	r.takes = m.takes;
	r.resident = vm_resident();
	for (int s = 0; s < FRAMES; s++)
		r.live += live(s);
	vm_stop();
	return r;
}

TEST(pager, frames_taken_at_any_point_of_a_fault)
{
	static const char *const specs[] = { "clock", "fifo" };
	for (unsigned sp = 0; sp < 2; sp++) {
		struct churn_result clean = churn_once(specs[sp], 0, false, false, 0);
		ASSERT_EQ(t, clean.status, 0);
		EXPECT_EQ(t, clean.bad + clean.errors, 0);
		unsigned calls = 0;
		{ /* how many machine calls the run makes */
			(void)start(specs[sp], 8, CHURN_PAGES);
			static uint64_t want[CHURN_PAGES];
			memset(want, 0, sizeof(want));
			(void)churn(4, want);
			calls = m.calls;
			vm_stop();
		}
		EXPECT(t, calls > 200);
		unsigned failed = 0, lost_runs = 0;
		for (unsigned k = 1; k <= calls; k++)
			for (unsigned v = 0; v < 4; v++) {
				struct churn_result r = churn_once(specs[sp], k, v & 1, v & 2, 0);
				bool ok = r.status == 0 && r.bad == 0 && r.errors == 0 &&
					  r.takes == 1 && r.st.taken == 1 && r.st.lost <= 1 &&
					  told == r.st.lost && r.resident == r.live;
				lost_runs += r.st.lost;
				if (!ok && failed++ < 5)
					test_fail(
					    t, __FILE__, __LINE__,
					    "%s, take at call %u (%s frame, told %s): status %d, "
					    "%u bad reads, %u machine errors, %u taken (VM: %llu), "
					    "lost %llu told %u, resident %u of %u live frames",
					    specs[sp], k, v & 1 ? "another" : "the call's",
					    v & 2 ? "at once" : "later", r.status, r.bad, r.errors,
					    r.takes, (unsigned long long)r.st.taken,
					    (unsigned long long)r.st.lost, told, r.resident,
					    r.live);
			}
		EXPECT_EQ(t, failed, 0);
		EXPECT(t, lost_runs > 0); /* some takes hit a dirty page */
	}
}

/* The same for a request to give frames back: it comes inside a fault, is noted, and served. */
TEST(pager, a_request_inside_a_fault_is_served_when_it_ends)
{
	unsigned failed = 0;
	for (unsigned k = 3; k <= 300; k++) { /* (before call 3 it holds one frame) */
		struct churn_result r = churn_once("clock", 0, false, false, k);
		bool ok = r.status == 0 && r.bad == 0 && r.errors == 0 && r.st.revoke_asked == 2 &&
			  r.st.revoke_given == 2 && r.st.lost == 0 && r.resident == r.live;
		if (!ok && failed++ < 5)
			test_fail(t, __FILE__, __LINE__,
				  "request at call %u: status %d, %u bad, %u errors, asked %llu "
				  "given %llu lost %llu, resident %u of %u",
				  k, r.status, r.bad, r.errors,
				  (unsigned long long)r.st.revoke_asked,
				  (unsigned long long)r.st.revoke_given,
				  (unsigned long long)r.st.lost, r.resident, r.live);
	}
	EXPECT_EQ(t, failed, 0);
}

TEST(pager, smaller_budget_evicts_at_once)
{
	ASSERT_EQ(t, start("lru", 10, 20), E_OK);
	for (unsigned pg = 0; pg < 10; pg++)
		touch(pg, true, pg + 1);
	ASSERT_EQ(t, vm_set_budget(4), E_OK);
	EXPECT_EQ(t, vm_resident(), 4);
	EXPECT_EQ(t, m.avail, FRAMES - 4);
	EXPECT_EQ(t, vm_set_budget(0), E_INVAL);
	for (unsigned pg = 0; pg < 10; pg++)
		EXPECT_EQ(t, touch(pg, false, 0), pg + 1);
	EXPECT(t, vm_resident() <= 4);
	vm_stop();
}

/* Memory pressure: the kernel has no frame to give; the VM pages against itself. */
TEST(pager, pressure_pages_against_itself)
{
	ASSERT_EQ(t, start("fifo", 10, 20), E_OK);
	m.avail = 3;
	for (unsigned pg = 0; pg < 10; pg++)
		touch(pg, true, pg + 7);
	EXPECT_EQ(t, vm_resident(), 3);
	for (unsigned pg = 0; pg < 10; pg++)
		EXPECT_EQ(t, touch(pg, false, 0), pg + 7);
	vm_stop();
}

TEST(pager, swap_hands_the_resident_pages_over)
{
	ASSERT_EQ(t, start("fifo", 4, 16), E_OK);
	for (unsigned pg = 0; pg < 4; pg++)
		touch(pg, true, pg + 1);
	ASSERT_EQ(t, vm_pager_swap("lru"), E_OK);
	EXPECT_STREQ(t, vm_pager_current(), "lru");
	EXPECT_EQ(t, vm_resident(), 4);
	/* lru got them oldest first: page 0 goes next. */
	touch(9, false, 0);
	EXPECT(t, slot_at(BASE) < 0);
	EXPECT(t, slot_at(BASE + PG) >= 0);
	EXPECT_EQ(t, vm_pager_swap("opt"), E_NOTSUP); /* refused: no trace; lru stays */
	EXPECT_STREQ(t, vm_pager_current(), "lru");
	EXPECT_EQ(t, vm_pager_swap("nosuch"), E_NOENT);
	for (unsigned pg = 1; pg < 4; pg++)
		EXPECT_EQ(t, touch(pg, false, 0), pg + 1);
	EXPECT_EQ(t, m.errors, 0);
	vm_stop();
}

/* ---- a misbehaving policy: its bad victims are caught ---- */

static struct vm_page *bad_last, bad_foreign;
static unsigned bad_mode;
static int bad_init(const uint64_t *params, unsigned budget)
{
	bad_last = NULL;
	return 0;
}
static void bad_added(struct vm_page *p, uint64_t now)
{
	bad_last = p;
}
static unsigned bad_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	if (bad_mode == 0) {
		out[0] = &bad_foreign; /* not the VM's */
		return 1;
	}
	if (bad_mode == 1)
		return 0;		     /* none at all */
	out[0] = vm_page_of(BASE + 15 * PG); /* not resident */
	return 1;
}
static void bad_evicted(struct vm_page *p, uint64_t now) {}
static const struct pager_ops test_bad_pager = {
	.info = { .kind = POLICY_PAGER,
		  .name = "test_bad",
		  .description = "host test: returns victims it does not hold" },
	.init = bad_init,
	.added = bad_added,
	.victims = bad_victims,
	.evicted = bad_evicted,
};
POLICY_REGISTER(test_bad_pager);

TEST(pager, bad_victims_end_the_environment)
{
	for (bad_mode = 0; bad_mode < 3; bad_mode++) {
		ASSERT_EQ(t, start("test_bad", 2, 16), E_OK);
		touch(0, false, 0);
		touch(1, false, 0);
		if (setjmp(m.died)) {
			EXPECT_EQ(t, m.status, VM_EXIT_POLICY);
			EXPECT_EQ(t, vm_resident(), 2); /* nothing was evicted */
			continue;
		}
		touch(2, false, 0);
		test_fail(t, __FILE__, __LINE__, "bad victim %u accepted", bad_mode);
	}
	vm_stop();
}

TEST(pager, regions_are_checked)
{
	ASSERT_EQ(t, start("fifo", 2, 16), E_OK);
	EXPECT_EQ(t, vm_region_add(BASE + 3, 1), E_ALIGN);
	EXPECT_EQ(t, vm_region_add(BASE + 15 * PG, 1), E_EXIST);
	EXPECT_EQ(t, vm_region_add(BASE + 64 * PG, 2000), E_NOMEM);
	EXPECT_EQ(t, vm_fault(BASE + 64 * PG, false), E_NOENT);
	EXPECT_EQ(t, vm_fault(BASE - PG, false), E_NOENT);
	vm_stop();
}

/* ---- a policy with a downloaded part: loaded when chosen, detached when swapped out ---- */

static struct vm_list part_fifo;
static int part_init(const uint64_t *params, unsigned budget)
{
	part_fifo = (struct vm_list){ 0 };
	return 0;
}
static void part_added(struct vm_page *p, uint64_t now)
{
	vm_list_push_tail(&part_fifo, p);
}
static unsigned part_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	out[0] = part_fifo.head;
	return part_fifo.head ? 1 : 0;
}
static void part_evicted(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&part_fifo, p);
}
static const struct policy_bpf test_part_bpf = { .hook = BPF_HOOK_REVOKE };
static const struct pager_ops test_part_pager = {
	.info = { .kind = POLICY_PAGER,
		  .name = "test_part",
		  .description = "host test: FIFO with a downloaded part",
		  .bpf = &test_part_bpf },
	.init = part_init,
	.added = part_added,
	.victims = part_victims,
	.evicted = part_evicted,
};
POLICY_REGISTER(test_part_pager);

TEST(pager, downloaded_part_follows_the_policy)
{
	ASSERT_EQ(t, start("test_part", 2, 16), E_OK);
	EXPECT_EQ(t, m.parts_live, 1);
	EXPECT(t, vm_pager_part() >= 0);
	touch(0, true, 1);
	ASSERT_EQ(t, vm_pager_swap("fifo"), E_OK); /* swapped out: detached */
	EXPECT_EQ(t, m.parts_live, 0);
	EXPECT_EQ(t, vm_pager_part(), -1);
	ASSERT_EQ(t, vm_pager_swap("test_part"), E_OK); /* chosen again: loaded again */
	EXPECT_EQ(t, m.parts_live, 1);
	EXPECT_EQ(t, m.part_loads, 2);
	EXPECT_EQ(t, vm_pager_swap("opt"), E_NOTSUP); /* refused: test_part and its part stay */
	EXPECT_STREQ(t, vm_pager_current(), "test_part");
	EXPECT_EQ(t, m.parts_live, 1);
	EXPECT(t, vm_pager_part() >= 0);
	/* A refused part: the policy runs without it. */
	ASSERT_EQ(t, vm_pager_swap("fifo"), E_OK);
	m.part_refuse = true;
	ASSERT_EQ(t, vm_pager_swap("test_part"), E_OK);
	EXPECT_STREQ(t, vm_pager_current(), "test_part");
	EXPECT_EQ(t, vm_pager_part(), -1);
	EXPECT_EQ(t, m.parts_live, 0);
	m.part_refuse = false;
	ASSERT_EQ(t, vm_pager_swap("test_part"), E_OK);
	EXPECT_EQ(t, m.parts_live, 1);
	EXPECT_EQ(t, touch(0, false, 0), 1);
	vm_stop(); /* the program ends: detached */
	EXPECT_EQ(t, m.parts_live, 0);
	EXPECT_EQ(t, m.errors, 0);
}
