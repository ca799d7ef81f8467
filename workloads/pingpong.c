/*
 * pingpong: the round trip of one 64-byte request and its reply through the
 * IPC library (libos/ipc.h), between this environment and a child — on this
 * core (where=same: over PCT under ipc=pct, else the rings) or on the next
 * one (where=cross: the rings, waited on as the ipc policy says). One
 * sample is one ipc_call, timed from before it to after it returns, the
 * child echoing from ipc_serve. Figures (instructions under -icount):
 *
 *   ipc_rtt_same_core / ipc_rtt_cross_core   the round trip;
 *   ipc_notifies_per_rtt                     notifications sent per round
 *                                            trip (both sides, x1000).
 *
 *   tools/exo run --icount --smp 2 -- run=pingpong where=cross ipc=poll
 *   tools/exo run --icount -- run=pingpong where=same ipc=pct
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/ipc.h>
#include <libos/libos.h>
#include <libos/policy.h>
#include <libos/sched.h>

LIBOS_PROGRAM_PARAMS({ "where", "auto",
		       "same (this core), cross (the next core), auto (cross if there is one)" },
		     { "rounds", "10000", "round trips timed (at most 20000)" },
		     { "warmup", "200", "round trips before timing" });

#define MAX_ROUNDS 20000
#define OP_ECHO 1
#define OP_STOP 2

static uint64_t samples[MAX_ROUNDS];

/* The cycle counter inline, as workloads/bench.c reads it (libos_cycles is a call). */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static int64_t env = -1;

/* End with status: the child goes too (deleting its root capability destroys it wherever it runs). */
static int bail(int status)
{
	if (env >= 0)
		(void)sys_cap_delete((uint64_t)env);
	return status;
}

static int echo(struct ipc_chan *ch, const struct ipc_msg *req, struct ipc_msg *rep)
{
	*rep = *req;
	rep->w[1] = req->w[1] + 1;
	return req->w[0] == OP_STOP ? IPC_REPLY_STOP : IPC_REPLY;
}

static int child(void)
{
	struct ipc_chan *ch;
	int r = ipc_open("pp", &ch);
	if (r) {
		printf("pingpong: child: ipc_open: %s\n", err_name(r));
		return 10;
	}
	r = ipc_serve(&ch, 1, echo);
	ipc_close(ch);
	return r ? 11 : 0;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 1)
		return child();
	const char *where = libos_arg("where");
	bool same = where[0] == 's';
	if (!same && where[0] != 'c' && where[0] != 'a') {
		printf("pingpong: where=%s: same, cross or auto\n", where);
		return 2;
	}
	if (where[0] == 'a') {
		int64_t probe = sys_env_create(core + 1);
		same = probe < 0;
		if (probe >= 0)
			(void)sys_cap_delete((uint64_t)probe);
	}
	size_t rounds = MIN(libos_arg_u64("rounds", 10000), MAX_ROUNDS);
	size_t warmup = libos_arg_u64("warmup", 200);
	uint64_t to = same ? core : core + 1;
	env = sys_env_create(to);
	if (env < 0) {
		printf("pingpong: no core %llu (%s): boot with --smp 2 for where=cross\n",
		       (unsigned long long)to, err_name((int)env));
		return 3;
	}
	struct ipc_words w = { 0 };
	char pol[POLICY_SPEC_MAX + 8];
	ksnprintf(pol, sizeof(pol), "ipc=%s", libos_policy_current(POLICY_IPC));
	struct ipc_chan *ch;
	int r = ipc_connect((uint64_t)env, to, "pp", same ? IPC_PCT_CHILD : 0, &ch, &w);
	if (!r)
		r = ipc_words_add(&w, pol);
	if (!r)
		r = (int)sys_env_start_args((uint64_t)env, libos_self_prog, 1, w.buf, w.len);
	if (r) {
		printf("pingpong: set-up: %s\n", err_name(r));
		return bail(4);
	}
	struct ipc_msg req = { .w = { OP_ECHO } }, rep;
	for (size_t i = 0; i < warmup; i++)
		if ((r = ipc_call(ch, &req, sizeof(req), &rep)) != 0) {
			printf("pingpong: call: %s\n", err_name(r));
			return bail(5);
		}
	struct ipc_stats s0, s1;
	ipc_stats_get(&s0);
	for (size_t i = 0; i < rounds; i++) {
		req.w[1] = i;
		uint64_t t0 = rdtsc();
		r = ipc_call(ch, &req, sizeof(req), &rep);
		samples[i] = rdtsc() - t0;
		if (r || rep.w[1] != i + 1) {
			printf("pingpong: round %zu: %s, reply %llu\n", i, err_name(r),
			       (unsigned long long)rep.w[1]);
			return bail(6);
		}
	}
	ipc_stats_get(&s1);
	char extra[96];
	ksnprintf(extra, sizeof(extra), "\"to_core\":%llu,\"pct_calls\":%llu",
		  (unsigned long long)to, (unsigned long long)(s1.pct_calls - s0.pct_calls));
	libos_figure(same ? "ipc_rtt_same_core" : "ipc_rtt_cross_core", "cycles", samples, rounds,
		     extra);
	libos_figure_value("ipc_notifies_per_rtt", "x1000",
			   (s1.notifies - s0.notifies) * 1000 / (rounds ? rounds : 1), extra);
	req.w[0] = OP_STOP;
	if ((r = ipc_call(ch, &req, sizeof(req), &rep)) != 0)
		printf("pingpong: stop: %s\n", err_name(r));
	int64_t st;
	while ((st = sys_env_status((uint64_t)env)) == E_AGAIN)
		(void)sys_yield();
	ipc_close(ch);
	(void)sys_env_destroy((uint64_t)env);
	return st == 0 && !r ? 0 : 7;
}
