/*
 * Kernel-path microbenchmarks (issue: the syscall surface), printed as
 * EXOJSON figures (libos/bench.h). One program, `bench`, and a set per run:
 *
 *   set=syscalls  raw syscall+sysret, null syscall, capability mint+delete,
 *                 frame allocate+map+unmap+free, environment create+destroy
 *                 (syscalls.c);
 *   set=scaling   frame allocate+map+unmap+free alone, one figure per core,
 *                 for runs on N cores at once (cores=N: the time per
 *                 operation while N cores do the same; syscalls.c);
 *   set=upcalls   exception and page-fault upcalls, PCT call+reply, two
 *                 environments yielding to each other (upcalls.c);
 *   set=revoke    revocation of one frame, and operations on another core's
 *                 environments (revoke.c; smp 2 for the remote figures);
 *   set=spread    revocation (abort) of one frame and of 16 from an owner
 *                 whose frames are mapped on 1, 2, 4 and 8 cores: by
 *                 sharers holding copies of its capabilities (revoke.c);
 *   set=switch    the timer-driven slice switch (switch.c);
 *   set=bpf       downloaded code against the paths it saves: a wakeup
 *                 predicate's no against a switch, a revocation answered in
 *                 the kernel, a ping answered by a message handler, the
 *                 verifier's cost per instruction (bpf.c).
 *
 * rounds= samples per figure (1..20000). The role= words are the partner
 * environments the sets start running this same program: internal.
 *
 *   tools/exo run --icount -- run=bench set=syscalls rounds=2000
 */
#include <stdarg.h>

#include "bench.h"

LIBOS_PROGRAM_PARAMS({ "set", "syscalls",
		       "syscalls, scaling, upcalls, revoke, switch, bpf or spread" },
		     { "rounds", "10000", "samples per figure (1..20000)" },
		     { "cores", "1", "cores running it at once (recorded in the figures)" },
		     { "role", NULL, "internal: a partner's role" },
		     { "mode", "0", "internal: owner: 0 cooperative, 1 no handler" },
		     { "shared", NULL, "internal: the partner's slot of the shared page" },
		     { "frames", "0", "internal: owner: frames to hold" },
		     { "index", "0", "internal: sharer: which one" });

uint64_t samples[MAX_ROUNDS];
unsigned failures;

void report_x(const struct bench_run *r, const char *name, uint64_t n, const char *extra)
{
	PROF_END();
	char x[160];
	ksnprintf(x, sizeof(x), "\"cores_running\":%llu%s", (unsigned long long)r->ncores, extra);
	libos_figure(name, "cycles", samples, n, x);
}

void frames_back(const char *name, int64_t before)
{
	int64_t after = sys_frame_count();
	if (after != before) {
		printf("bench: %s: %lld free frames before, %lld after\n", name, (long long)before,
		       (long long)after);
		failures++;
	}
}

/*
 * Environment create+destroy on core `home` (this core, or another whose
 * kernel instance does it: two round trips of messages), `rounds` times
 * after a warm-up. Destroy returns every frame the environment had (its
 * page tables): the free-frame count must come back to where it was.
 */
void env_create_destroy(const struct bench_run *r, const char *name, uint64_t home)
{
	int64_t before = sys_frame_count();
	MEASURE(r, name, {
		int64_t e = sys_env_create(home);
		CHECK(e);
		CHECK(sys_env_destroy((uint64_t)e));
		CHECK(sys_cap_delete((uint64_t)e));
	});
	frames_back(name, before);
}

int64_t start_partner(const struct bench_run *r, int64_t env, const char *fmt, ...)
{
	char words[256];
	va_list ap;
	va_start(ap, fmt);
	size_t n = kvsnprintf(words, sizeof(words), fmt, ap);
	va_end(ap);
	n = MIN(n, sizeof(words) - 1);
	for (size_t i = 0; i < n; i++)
		if (words[i] == ' ')
			words[i] = '\0';
	return sys_env_start_args((uint64_t)env, r->self_prog, 0, words, n + 1);
}

static bool eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static const struct {
	const char *name;
	void (*run)(const struct bench_run *r);
} sets[] = {
	{ "syscalls", set_syscalls }, { "scaling", set_scaling }, { "upcalls", set_upcalls },
	{ "revoke", set_revoke },     { "switch", set_switch },	  { "bpf", set_bpf },
	{ "spread", set_spread },
};

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	const char *role = libos_arg("role");
	if (role) {
		if (eq(role, "server") || eq(role, "yielder")) /* waits for calls; yields */
			for (;;)
				sys_yield();
		if (eq(role, "owner"))
			role_owner();
		if (eq(role, "sharer"))
			role_sharer();
		if (eq(role, "switcher"))
			role_switcher();
		if (eq(role, "sleeper"))
			role_sleeper();
		if (eq(role, "receiver"))
			role_receiver();
		if (eq(role, "pinger"))
			role_pinger();
		printf("bench: no role '%s'\n", role);
		return 2;
	}
	struct bench_run r = { .rounds = libos_arg_u64("rounds", 10000),
			       .ncores = libos_arg_u64("cores", 1),
			       .core = core,
			       .self_prog = libos_self_prog };
	if (r.rounds == 0 || r.rounds > MAX_ROUNDS) {
		printf("bench: rounds=%llu: want 1..%d\n", (unsigned long long)r.rounds,
		       MAX_ROUNDS);
		return 2;
	}
	const char *set = libos_arg("set");
	unsigned i = 0;
	while (i < ARRAY_SIZE(sets) && !eq(set, sets[i].name))
		i++;
	if (i == ARRAY_SIZE(sets)) {
		printf("bench: no set '%s' (syscalls, scaling, upcalls, revoke, switch, bpf)\n",
		       set);
		return 2;
	}
	sets[i].run(&r);
	if (failures)
		printf("bench: %u operations failed: the figures above are not valid\n", failures);
	return failures ? 1 : 0;
}
