/*
 * The kernel-path microbenchmarks' shared parts (workloads/bench/): the
 * sample buffer, the timing loop, failure counting, figure lines, and the
 * sets and partner roles each file provides. main.c reads the arguments
 * and runs one set.
 *
 * Every figure is timed with rdtsc in user mode, median/min/max over
 * `rounds` runs after a warm-up; under `-icount shift=0` the TSC counts
 * instructions, so the same figures are exact path lengths. The timing
 * loop is a macro, inline around the operation: a function call in it
 * would be counted too.
 */
#pragma once

#include <exo/stats.h>
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>

#define MAX_ROUNDS 20000
#define WARMUP 200

/* What one run is: main's arguments, checked. */
struct bench_run {
	uint64_t rounds;    /* samples per figure */
	uint64_t ncores;    /* how many cores run it at once (recorded in the figures) */
	uint64_t core;	    /* this one */
	uint64_t self_prog; /* this program, for partners */
};

extern uint64_t samples[MAX_ROUNDS];
extern unsigned failures;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/*
 * Profile windows (tools/profile): two no-op instructions the pcprof QEMU
 * plugin watches for. PROF_BEGIN opens a window before a figure's timed
 * loop; report_x closes it (PROF_END) first thing, so window k is the k-th
 * figure line printed. Outside the timing: they cost the figures nothing.
 */
#define PROF_BEGIN() __asm__ volatile("xchg %%bx, %%bx" ::: "memory")
#define PROF_END() __asm__ volatile("xchg %%cx, %%cx" ::: "memory")
/* Toggles: work between samples that is not the figure's (a refill, a check) is not counted. */
#define PROF_PAUSE() __asm__ volatile("xchg %%dx, %%dx" ::: "memory")
#define PROF_RESUME() PROF_PAUSE()

/* One figure from samples[0..n) (libos_figure); extra: more JSON members (",\"k\":v"), or "". */
void report_x(const struct bench_run *r, const char *name, uint64_t n, const char *extra);
static inline void report(const struct bench_run *r, const char *name, uint64_t n)
{
	report_x(r, name, n, "");
}

/*
 * Time op() r->rounds times after a warm-up; failures make the figure
 * worthless: count them. The first reading stays two halves until after
 * the second, so no instruction of ours lands between them but moves.
 */
#define MEASURE_X(r, name, extra, op)                                                              \
	do {                                                                                       \
		for (int w_ = 0; w_ < WARMUP; w_++) {                                              \
			op;                                                                        \
		}                                                                                  \
		PROF_BEGIN();                                                                      \
		for (uint64_t i_ = 0, n_ = (r)->rounds; i_ < n_; i_++) {                           \
			uint32_t lo_, hi_;                                                         \
			__asm__ volatile("lfence; rdtsc" : "=a"(lo_), "=d"(hi_)::"memory");        \
			op;                                                                        \
			uint64_t t1_ = rdtsc();                                                    \
			samples[i_] = t1_ - (((uint64_t)hi_ << 32) | lo_);                         \
		}                                                                                  \
		report_x(r, name, (r)->rounds, extra);                                             \
	} while (0)
#define MEASURE(r, name, op) MEASURE_X(r, name, "", op)

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if ((x) < 0)                                                                       \
			failures++;                                                                \
	} while (0)

/* Every frame a figure's environments had is free again: a leak makes the figure worthless. */
void frames_back(const char *name, int64_t before);

/* Environment create+destroy on core `home` (this core, or another's kernel instance). */
void env_create_destroy(const struct bench_run *r, const char *name, uint64_t home);

/*
 * Start env as a partner running this program with the words of fmt
 * (spaces between them: "role=owner mode=1"). The sys_env_start result.
 */
printf_like(3, 4) int64_t
    start_partner(const struct bench_run *r, int64_t env, const char *fmt, ...);

/* The sets (one per file), and the partner roles they start. */
void set_syscalls(const struct bench_run *r); /* syscalls.c */
void set_scaling(const struct bench_run *r);  /* syscalls.c */
void set_upcalls(const struct bench_run *r);  /* upcalls.c */
void set_revoke(const struct bench_run *r);   /* revoke.c */
void set_spread(const struct bench_run *r);   /* revoke.c */
void set_switch(const struct bench_run *r);   /* switch.c */
void set_bpf(const struct bench_run *r);      /* bpf.c */
/* set=revoke's figure: mode 0 cooperative owner, 1 no handler, 2 downloaded handler. */
void revoke_figure(const struct bench_run *r, const char *name, uint64_t home, unsigned mode);
int bpf_owner_handler(void);		      /* bpf.c: the owner's downloaded handler */
noreturn_fn void role_sleeper(void);	      /* bpf.c */
noreturn_fn void role_receiver(void);	      /* bpf.c */
noreturn_fn void role_pinger(void);	      /* bpf.c */
noreturn_fn void role_owner(void);	      /* revoke.c */
noreturn_fn void role_sharer(void);	      /* revoke.c */
noreturn_fn void role_switcher(void);	      /* switch.c */
