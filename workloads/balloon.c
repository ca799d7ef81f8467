/*
 * balloon: two environments on different cores. The holder (core 1) pages
 * a region through its VM, writing every page and checking what it reads;
 * the grower (core 0, the program started) grows: each round it has the
 * kernel revoke `ask` frames from the holder (SYS_REVOKE_ASK on the holder,
 * whose CTRL capability it holds as its creator) and allocates as many for
 * itself. The holder's pager answers each request (mode=coop: its policy
 * picks the victims, dirty ones are written to swap, the frames freed before
 * the deadline, the budget shrinks) or ignores it (mode=abort: the kernel
 * takes frames by force at the deadline and tells it; the VM marks the
 * dirty ones lost).
 *
 *   tools/exo run --smp 2 --disk 16M -- run=balloon mode=coop pager=clock
 *   tools/exo run --smp 2 --disk 16M -- run=balloon mode=abort
 *
 * Figures (from the holder): balloon_lost (pages whose data is gone: must
 * be 0 for a cooperating pager), balloon_told (of them, pages the VM
 * reported lost: must equal balloon_lost — never silent corruption),
 * balloon_corrupt (pages that read back wrong without being reported:
 * must be 0), and the VM's revocation counters. The grower exits 0 only
 * if the holder's exit says all of that held.
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/pager_impl.h>
#include <libos/sched.h>
#include <libos/vm.h>

LIBOS_PROGRAM_PARAMS({ "role", "grower", "grower (starts the holder on core 1) or holder" },
		     { "mode", "coop", "coop: the holder's pager answers; abort: it never does" },
		     { "frames", "48", "the holder's frame budget at the start" },
		     { "pages", "64", "the holder's region (pages, at most 64)" },
		     { "rounds", "8", "requests the grower makes" },
		     { "ask", "4", "frames asked for in each request" },
		     { "gap_ms", "20", "time between requests" },
		     { "write_every", "1",
		       "the holder writes every Nth page (the rest it only reads: clean)" });

#define BASE 0x700000000ULL
#define PAGES_MAX 64
#define GROWN_MAX 64

/* Holder exit statuses (the grower checks them). */
enum { HOLDER_OK = 0, HOLDER_CORRUPT = 1, HOLDER_UNTOLD = 2, HOLDER_COOP_LOST = 3, HOLDER_VM = 4 };

static uint8_t store[PAGES_MAX][4096] __attribute__((aligned(4096))); /* swap without a disk */
static uint64_t want[PAGES_MAX];
static volatile bool lost_now[PAGES_MAX]; /* the VM reported this page lost during this touch */
static uint64_t told;

/* The VM reports a touch of a lost page: count it, and go on with the page zeroed. */
static bool on_lost(uint64_t va)
{
	told++;
	lost_now[((va - BASE) / 4096) % PAGES_MAX] = true;
	return true;
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void wait_ms(uint64_t ms)
{
	uint64_t end = libos_cycles() + ms * (libos_cycles_hz() / 1000);
	while (libos_cycles() < end)
		sys_yield();
}

static int holder(bool coop)
{
	unsigned frames = (unsigned)libos_arg_u64("frames", 48);
	unsigned pages = (unsigned)MIN(libos_arg_u64("pages", 64), PAGES_MAX);
	uint64_t expect = libos_arg_u64("rounds", 8) * libos_arg_u64("ask", 4);
	struct vm_config cfg = { .budget = frames,
				 .max_pages = pages,
				 .mem_store = store,
				 .ignore_revocation = !coop,
				 .on_lost = on_lost };
	int err = vm_start(&cfg);
	if (!err)
		err = vm_region_add(BASE, pages);
	if (err) {
		printf("balloon: holder: vm: %s\n", err_name(err));
		return HOLDER_VM;
	}
	uint64_t corrupt = 0, stamp = 1, write_every = MAX(libos_arg_u64("write_every", 1), 1);
	uint64_t deadline = libos_cycles() + 30 * libos_cycles_hz(); /* bounded, whatever happens */
	for (bool done = false, last = false; !last;) {
		struct vm_stats st;
		vm_stats(&st);
		last = done;
		done = st.revoke_given + st.taken >= expect || libos_cycles() > deadline;
		if (done && !last)
			wait_ms(
			    20); /* a request still open is served (or aborted) before the check */
		for (unsigned pg = 0; pg < pages; pg++) {
			volatile uint64_t *p =
			    (volatile uint64_t *)(BASE + pg * 4096ULL + (uint64_t)pg * 8);
			lost_now[pg] = false;
			uint64_t v = *p; /* a lost page: on_lost is told during this read */
			if (!lost_now[pg] && v != want[pg])
				corrupt++;
			if (lost_now[pg])
				want[pg] = 0;
			if (!done && pg % write_every == 0)
				*p = want[pg] = stamp++;
		}
		if (!done)
			sys_yield(); /* let the kernel's requests in */
	}
	struct vm_stats st;
	vm_stats(&st);
	char extra[120];
	ksnprintf(extra, sizeof(extra), "\"mode\":\"%s\",\"pages\":%u", coop ? "coop" : "abort",
		  pages);
	libos_figure_value("balloon_lost", "pages", st.lost, extra);
	libos_figure_value("balloon_told", "pages", told, extra);
	libos_figure_value("balloon_corrupt", "pages", corrupt, extra);
	vm_print_figures(extra);
	printf("balloon: holder (%s, %s, swap %s): asked %llu given %llu taken %llu lost %llu told "
	       "%llu corrupt %llu, budget now %u\n",
	       coop ? "coop" : "abort", vm_pager_current(), vm_backing_name(),
	       (unsigned long long)st.revoke_asked, (unsigned long long)st.revoke_given,
	       (unsigned long long)st.taken, (unsigned long long)st.lost, (unsigned long long)told,
	       (unsigned long long)corrupt, vm_budget());
	printf("balloon: holder: the downloaded chooser gave %llu clean frames with no upcall\n",
	       (unsigned long long)st.part_given);
	if (corrupt)
		return HOLDER_CORRUPT;
	if (told != st.lost)
		return HOLDER_UNTOLD;
	if (coop && st.lost)
		return HOLDER_COOP_LOST;
	return HOLDER_OK;
}

static int grower(const char *mode)
{
	unsigned rounds = (unsigned)libos_arg_u64("rounds", 8),
		 ask = (unsigned)libos_arg_u64("ask", 4),
		 frames = (unsigned)libos_arg_u64("frames", 48);
	uint64_t gap = libos_arg_u64("gap_ms", 20);
	int64_t env = sys_env_create(1);
	if (env < 0) {
		printf("balloon: no environment on core 1 (boot with --smp 2): %s\n",
		       err_name((int)env));
		return 2;
	}
	/* The holder gets the same words, but its role (and the pager policy chosen). */
	char args[ENV_ARGS_MAX];
	size_t len = 0;
	for (unsigned i = 0; i < libos_argc(); i++) {
		const char *w = libos_argv(i);
		if (w[0] == 'r' && w[1] == 'o' && w[2] == 'l' && w[3] == 'e' && w[4] == '=')
			continue;
		len += ksnprintf(args + len, sizeof(args) - len, "%s", w) + 1;
	}
	len += ksnprintf(args + len, sizeof(args) - len, "role=holder") + 1;
	int64_t err = sys_env_start_args((uint64_t)env, libos_self_prog, 0, args, len);
	if (err) {
		printf("balloon: starting the holder: %s\n", err_name((int)err));
		return 2;
	}
	/*
	 * Ask first once the holder has filled its budget: a request for more
	 * than it holds could not all be given back, and the deadline would
	 * take the rest by force. (Waiting a while was not enough on a loaded
	 * host.) With its guarantee at frames - ask, the kernel refuses the
	 * request (E_PERM) until it holds more; then the guarantee goes.
	 */
	err = sys_call6(SYS_GUARANTEE, (uint64_t)env, frames > ask ? frames - ask : 0, 0, 0, 0, 0);
	if (err) {
		printf("balloon: GUARANTEE: %s\n", err_name((int)err));
		return 2;
	}
	int64_t grown[GROWN_MAX];
	unsigned ngrown = 0, asked = 0;
	for (unsigned r = 0; r < rounds && sys_env_status((uint64_t)env) == E_AGAIN; r++) {
		/* One request per environment at a time: the last one may still be open. */
		int64_t e;
		uint64_t give_up = libos_cycles() + (r ? 3 : 10) * libos_cycles_hz();
		while (((e = sys_call6(SYS_REVOKE_ASK, (uint64_t)env, FRAME_ANY, ask, 0, 0, 0)) ==
			    E_BUSY ||
			(r == 0 && e == E_PERM)) &&
		       libos_cycles() < give_up)
			wait_ms(1);
		if (r == 0 && (err = sys_call6(SYS_GUARANTEE, (uint64_t)env, 0, 0, 0, 0, 0))) {
			printf("balloon: GUARANTEE: %s\n", err_name((int)err));
			break;
		}
		if (e) {
			printf("balloon: REVOKE_ASK: %s\n", err_name((int)e));
			break;
		}
		asked += ask;
		for (unsigned i = 0; i < ask && ngrown < GROWN_MAX; i++)
			if ((grown[ngrown] = sys_frame_alloc(FRAME_ANY)) >= 0)
				ngrown++;
		wait_ms(gap);
	}
	int64_t status;
	while ((status = sys_env_status((uint64_t)env)) == E_AGAIN)
		sys_yield();
	for (unsigned i = 0; i < ngrown; i++)
		(void)sys_frame_free((uint64_t)grown[i]);
	printf("balloon: grower asked for %u frames in %u requests, grew by %u; holder exited %lld "
	       "(%s)\n",
	       asked, rounds, ngrown, (long long)status,
	       status == HOLDER_OK	    ? "as it should"
	       : status == HOLDER_CORRUPT   ? "data read back wrong"
	       : status == HOLDER_UNTOLD    ? "pages lost without being told"
	       : status == HOLDER_COOP_LOST ? "a cooperating pager lost data"
					    : "failed");
	(void)mode;
	return status == HOLDER_OK ? 0 : 1;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	const char *mode = libos_arg("mode");
	if (!streq(mode, "coop") && !streq(mode, "abort")) {
		printf("balloon: mode is coop or abort, not '%s'\n", mode);
		return 2;
	}
	if (streq(libos_arg("role"), "holder"))
		return holder(streq(mode, "coop"));
	return grower(mode);
}
