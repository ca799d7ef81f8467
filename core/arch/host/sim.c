/*
 * The simulated machine: cores as fibers, one running at a time, a seeded
 * scheduler choosing who steps next, interrupt flags, coalescing IPIs,
 * per-core cycle counters and simulated physical memory. It implements
 * arch/cpu.h, arch/percpu.h, arch/ipi.h and arch/phys.h for the host, and
 * the sim_* API of arch/sim.h.
 *
 * Determinism: nothing here reads a clock, an address or the environment.
 * A run depends only on the program, the config and the chooser's answers,
 * so a seed (or a recorded list of choices) replays a run exactly.
 */
#include "sim_impl.h"

#include <arch/console.h>
#include <arch/cpu.h>
#include <arch/ipi.h>
#include <arch/percpu.h>
#include <arch/phys.h>
#include <arch/power.h>
#include <exo/errors.h>
#include <exo/panic.h>
#include <exo/shutdown.h>
#include <ipi.h>
#include <percpu.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DEFAULT_CYCLES_PER_STEP 1000
#define DEFAULT_PHYS_BYTES      (64UL << 20)
#define DEFAULT_STACK_BYTES     (1UL << 20)
#define DEFAULT_STARVE_LIMIT    1000
#define CYCLES_PER_SEC          1000000000ULL
#define RFLAGS_IF               (1UL << 9)

/*
 * Machine 0 is the bare host: one core, no fibers, no memory. It is what
 * arch calls act on in a plain unit test that never calls sim_init.
 */
/* clang-format off */
struct sim sim_machines[SIM_MAX_DEPTH + 1] = {
	[0] = {
		.ncores = 1,
		.cycles_per_step = DEFAULT_CYCLES_PER_STEP,
		.running = SIM_NO_CORE,
		.prev = SIM_NO_CORE,
		.host = { .m = &sim_machines[0], .percpu = &percpu_table[0],
			  .aspace_root = SIM_KERNEL_ASPACE },
	},
};
/* clang-format on */
unsigned sim_depth;

/* percpu_table as it was below each level (no malloc per machine: fuzzers make one per input). */
static struct percpu saved_percpu[SIM_MAX_DEPTH][MAX_CPUS];

void *spare_take(struct spare_pool *pool, size_t len)
{
	for (unsigned i = 0; i < ARRAY_SIZE(pool->slot); i++) {
		if (pool->slot[i].len == len) {
			pool->slot[i].len = 0;
			return pool->slot[i].map;
		}
	}
	return NULL;
}

bool spare_keep(struct spare_pool *pool, void *map, size_t len)
{
	for (unsigned i = 0; i < ARRAY_SIZE(pool->slot) && len <= pool->max_bytes; i++) {
		if (pool->slot[i].len == 0) {
			pool->slot[i].map = map;
			pool->slot[i].len = len;
			return true;
		}
	}
	return false;
}

/*
 * Memories of machines gone, kept for the next machine of the same size
 * (the mapping with its guard pages). Only small ones (fuzzers' and unit
 * tests'): a 64 MiB default memory is lazily backed, so zeroing it would
 * cost more than mapping it afresh.
 */
static struct spare_pool spare_memories = { .max_bytes = 4UL << 20 };

struct percpu *sim_this_cpu_ptr = &percpu_table[0];
uint8_t *sim_phys_base;
uint64_t sim_phys_size;

/* Give core 0's struct its id and self pointer before main runs. */
__attribute__((constructor)) static void sim_bare_init(void)
{
	percpu_init(0);
}

/* Diagnostics straight to the console: usable from the scheduler's context. */
printf_like(1, 2) static void sim_log(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = MIN((size_t)n, sizeof(buf) - 2);
	buf[len++] = '\n';
	arch_console_write(buf, len);
}

static bool cpu_live(const struct sim_cpu *c)
{
	return c->state == CPU_RUNNABLE || c->state == CPU_IDLE;
}

static struct sim_cpu *core_of(struct sim *m, unsigned core, const char *who)
{
	if (core >= m->ncores)
		panic("sim: %s: core %u out of range (machine has %u)", who, core, m->ncores);
	return &m->cpu[core];
}

/* splitmix64: tiny, full-period, and good enough to pick among 64 cores. */
static uint64_t rng_next(struct sim *m)
{
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Take every pending IPI while interrupts are on, highest kind first (the
 * APIC takes the highest vector first). Each runs with interrupts off and
 * they come back on afterwards, as an interrupt gate and iret do.
 */
static void deliver(struct sim_cpu *c)
{
	while (c->irq && c->pending) {
		unsigned kind = 31 - (unsigned)__builtin_clz(c->pending);
		c->pending &= ~(1u << kind);
		c->received++;
		c->irq = false;
		ipi_receive((enum ipi_kind)kind);
		c->irq = true;
	}
}

/* A fiber gives the processor back to the scheduler; returns when chosen again. */
static void to_scheduler(struct sim *m, struct sim_cpu *c)
{
	c->cycles += m->cycles_per_step;
	c->steps++;
	fiber_switch(&c->fiber, &m->sched);
}

/* Every core's fiber starts here. */
static void core_main(void *arg)
{
	struct sim_cpu *c = arg;
	c->fn(c->arg);
	c->state = CPU_ENDED;
	fiber_exit(&c->fiber, &c->m->sched);
}

static void start(unsigned core, void (*fn)(void *), void *arg, bool daemon)
{
	struct sim *m = sim_top();
	if (sim_depth == 0)
		panic("sim: sim_start without sim_init");
	struct sim_cpu *c = core_of(m, core, "sim_start");
	if (cpu_live(c))
		panic("sim: sim_start: core %u already has a live fiber", core);
	if (!c->fiber.map)
		fiber_alloc(&c->fiber, m->stack_bytes);
	fiber_prepare(&c->fiber, core_main, c);
	c->fn = fn;
	c->arg = arg;
	c->daemon = daemon;
	c->state = CPU_RUNNABLE;
	c->irq = false; /* as after reset: the fiber enables them when it is ready */
	c->pending = 0;
	c->passed_over = 0;
}

void sim_start(unsigned core, void (*fn)(void *), void *arg)
{
	start(core, fn, arg, false);
}

void sim_start_daemon(unsigned core, void (*fn)(void *), void *arg)
{
	start(core, fn, arg, true);
}

void sim_init(const struct sim_config *cfg)
{
	if (sim_depth == SIM_MAX_DEPTH)
		panic("sim: machines nested deeper than %u", SIM_MAX_DEPTH);
	unsigned n = cfg->ncores ? cfg->ncores : 1;
	if (n > MAX_CPUS)
		panic("sim: %u cores asked, at most %u", n, MAX_CPUS);

	struct sim *m = &sim_machines[++sim_depth];
	memset(m, 0, sizeof(*m));
	m->ncores = n;
	m->rng = cfg->seed;
	m->cycles_per_step = cfg->cycles_per_step ? cfg->cycles_per_step : DEFAULT_CYCLES_PER_STEP;
	m->stack_bytes = cfg->stack_bytes ? cfg->stack_bytes : DEFAULT_STACK_BYTES;
	m->starve_limit = cfg->starve_limit ? cfg->starve_limit : DEFAULT_STARVE_LIMIT;
	m->panic_aborts = cfg->panic_aborts;
	m->disk_blocks = cfg->disk_blocks;
	m->disk_fail_block = ~0ULL;
	m->running = m->prev = SIM_NO_CORE;

	/*
	 * percpu_table is global; the machine below (if any) is frozen while
	 * this one lives, so saving it here and restoring it in sim_fini
	 * gives each machine its own table.
	 */
	m->saved_percpu = saved_percpu[sim_depth - 1];
	memcpy(m->saved_percpu, percpu_table, sizeof(percpu_table));
	m->saved_ncpus = percpu_ncpus;
	memset(percpu_table, 0, sizeof(percpu_table));
	for (unsigned c = 0; c < n; c++) {
		percpu_init(c);
		m->cpu[c] = (struct sim_cpu){
		    .m = m, .id = c, .percpu = percpu_of(c), .aspace_root = SIM_KERNEL_ASPACE};
	}
	percpu_ncpus = n;
	m->host =
	    (struct sim_cpu){.m = m, .percpu = percpu_of(0), .aspace_root = SIM_KERNEL_ASPACE};

	/*
	 * Simulated RAM, with an inaccessible page on either side so a stray
	 * access just past either end faults. A fresh anonymous mapping is
	 * zero, like RAM the tests may assume clean, and costs only what is
	 * touched. Small memories are kept by sim_fini for the next machine
	 * of the same size (a fuzzer makes one per input) and zeroed here:
	 * a memset of a few hundred KiB is cheaper than faulting every page in
	 * again, and the machine cannot tell the difference.
	 */
	size_t bytes = ALIGN_UP(cfg->phys_bytes ? cfg->phys_bytes : DEFAULT_PHYS_BYTES, PAGE_SIZE);
	if (bytes > ARCH_PHYS_LIMIT)
		panic("sim: %zu bytes of memory asked, at most %llu", bytes, ARCH_PHYS_LIMIT);
	m->phys_map_len = bytes + 2 * PAGE_SIZE;
	void *p = spare_take(&spare_memories, m->phys_map_len);
	if (p) {
		memset((uint8_t *)p + PAGE_SIZE, 0, bytes);
	} else {
		p = mmap(NULL, m->phys_map_len, PROT_NONE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED ||
		    mprotect((uint8_t *)p + PAGE_SIZE, bytes, PROT_READ | PROT_WRITE))
			panic("sim: cannot map %zu bytes of simulated memory", bytes);
	}
	m->phys_map = p;
	m->phys = (uint8_t *)p + PAGE_SIZE;
	m->phys_bytes = bytes;

	sim_phys_base = m->phys;
	sim_phys_size = bytes;
	sim_this_cpu_ptr = m->host.percpu;
}

void sim_fini(void)
{
	struct sim *m = sim_top();
	if (sim_depth == 0)
		panic("sim: sim_fini without sim_init");
	if (m->running != SIM_NO_CORE)
		panic("sim: sim_fini from core %u's own fiber", m->running);
	for (unsigned c = 0; c < m->ncores; c++)
		fiber_free(&m->cpu[c].fiber);
	if (!spare_keep(&spare_memories, m->phys_map, m->phys_map_len))
		munmap(m->phys_map, m->phys_map_len);
	free(m->disk);
	memcpy(percpu_table, m->saved_percpu, sizeof(percpu_table));
	percpu_ncpus = m->saved_ncpus;
	memset(m, 0, sizeof(*m));

	/* Back to the machine below, exactly where it was frozen. */
	struct sim *outer = &sim_machines[--sim_depth];
	sim_phys_base = outer->phys;
	sim_phys_size = outer->phys_bytes;
	sim_this_cpu_ptr = sim_cur(outer)->percpu;
}

unsigned sim_choose_random(void *ctx, const struct sim_choice *c)
{
	(void)ctx;
	unsigned nth =
	    (unsigned)(rng_next(sim_top()) % (unsigned)__builtin_popcountll(c->runnable));
	uint64_t set = c->runnable;
	while (nth--)
		set &= set - 1;
	return (unsigned)__builtin_ctzll(set);
}

/* The chooser's pick among runnable cores, unless fairness is owed to one. */
static unsigned pick(struct sim *m, uint64_t runnable)
{
	for (unsigned c = 0; c < m->ncores; c++)
		if (runnable & (1ULL << c) && m->cpu[c].passed_over >= m->starve_limit)
			return c;
	struct sim_choice ch = {.step = m->steps, .prev = m->prev, .runnable = runnable};
	unsigned want = m->chooser ? m->chooser(m->chooser_ctx, &ch) : sim_choose_random(NULL, &ch);
	want %= m->ncores;
	for (unsigned i = 0; i < m->ncores; i++) {
		unsigned c = (want + i) % m->ncores;
		if (runnable & (1ULL << c))
			return c;
	}
	__builtin_unreachable(); /* runnable is never empty here */
}

static unsigned choose(struct sim *m, uint64_t runnable)
{
	unsigned id = pick(m, runnable);
	for (unsigned c = 0; c < m->ncores; c++)
		m->cpu[c].passed_over =
		    c != id && runnable & (1ULL << c) ? m->cpu[c].passed_over + 1 : 0;
	return id;
}

static void report_deadlock(struct sim *m)
{
	sim_log("sim: deadlock after %llu steps: every live core waits in arch_cpu_idle "
	        "with no IPI pending",
	        (unsigned long long)m->steps);
	for (unsigned i = 0; i < m->ncores; i++) {
		const struct sim_cpu *c = &m->cpu[i];
		static const char *const names[] = {
		    [CPU_OFF] = "off",
		    [CPU_RUNNABLE] = "runnable",
		    [CPU_IDLE] = "idle",
		    [CPU_ENDED] = "ended",
		};
		sim_log("sim:   core %u: %s%s, irq %s, cycles %llu, steps %llu, ipis taken %llu", i,
		        names[c->state], c->daemon ? " (daemon)" : "", c->irq ? "on" : "off",
		        (unsigned long long)c->cycles, (unsigned long long)c->steps,
		        (unsigned long long)c->received);
	}
}

int sim_run(uint64_t max_steps)
{
	struct sim *m = sim_top();
	if (sim_depth == 0)
		panic("sim: sim_run without sim_init");
	if (m->running != SIM_NO_CORE)
		panic("sim: sim_run from core %u's own fiber", m->running);

	for (uint64_t n = 0;; n++) {
		uint64_t runnable = 0;
		bool waited_for = false;
		for (unsigned i = 0; i < m->ncores; i++) {
			struct sim_cpu *c = &m->cpu[i];
			/* An idle core with interrupts on wakes for any pending IPI. */
			if (c->state == CPU_RUNNABLE || (c->state == CPU_IDLE && c->pending))
				runnable |= 1ULL << i;
			waited_for |= cpu_live(c) && !c->daemon;
		}
		if (!waited_for)
			return E_OK;
		if (!runnable) {
			report_deadlock(m);
			return E_AGAIN;
		}
		if (max_steps && n == max_steps)
			return E_TIMEOUT;

		unsigned id = choose(m, runnable);
		struct sim_cpu *c = &m->cpu[id];
		m->steps++;
		m->prev = id;
		if (c->state == CPU_IDLE)
			c->state = CPU_RUNNABLE;
		m->running = id;
		sim_this_cpu_ptr = c->percpu;
		fiber_switch(&m->sched, &c->fiber);
		m->running = SIM_NO_CORE;
		sim_this_cpu_ptr = m->host.percpu;
	}
}

void sim_yield(void)
{
	struct sim *m = sim_top();
	struct sim_cpu *c = sim_cur(m);
	if (m->running == SIM_NO_CORE) {
		/* Nothing to switch to: just let time pass, so timeouts still expire. */
		c->cycles += m->cycles_per_step;
		return;
	}
	to_scheduler(m, c);
	deliver(c);
}

unsigned sim_current(void)
{
	return sim_top()->running;
}

void sim_set_chooser(sim_chooser_fn *fn, void *ctx)
{
	struct sim *m = sim_top();
	m->chooser = fn;
	m->chooser_ctx = ctx;
}

uint64_t sim_steps(void)
{
	return sim_top()->steps;
}

void sim_core_state(unsigned core, struct sim_core_state *out)
{
	const struct sim_cpu *c = core_of(sim_top(), core, "sim_core_state");
	*out = (struct sim_core_state){
	    .live = cpu_live(c),
	    .daemon = c->daemon,
	    .idle = c->state == CPU_IDLE,
	    .irq = c->irq,
	    .pending = c->pending,
	    .cycles = c->cycles,
	    .steps = c->steps,
	    .received = c->received,
	    .tlb_flushes = c->tlb_flushes,
	    .aspace_root = c->aspace_root,
	};
}

size_t sim_phys_bytes(void)
{
	return sim_top()->phys_bytes;
}

bool sim_panic_aborts(void)
{
	for (unsigned d = 1; d <= sim_depth; d++)
		if (sim_machines[d].panic_aborts)
			return true;
	return false;
}

bool sim_fiber_stack(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
	for (unsigned d = 1; d <= sim_depth; d++) {
		for (unsigned i = 0; i < sim_machines[d].ncores; i++) {
			const struct fiber *f = &sim_machines[d].cpu[i].fiber;
			uintptr_t l = (uintptr_t)f->stack_lo, h = l + f->stack_len;
			if (f->map && addr >= l && addr < h) {
				*lo = l;
				*hi = h;
				return true;
			}
		}
	}
	return false;
}

void sim_phys_fault(const char *what, uint64_t addr)
{
	panic("sim: %s 0x%llx is outside simulated memory (0x%llx bytes)", what,
	      (unsigned long long)addr, (unsigned long long)sim_phys_size);
}

/* ---- arch/cpu.h ---- */

void sim_cpu_relax(void)
{
	sim_yield();
}

uint64_t sim_cycles(void)
{
	return ++sim_cur(sim_top())->cycles;
}

uint64_t arch_cycles_per_sec(void)
{
	return CYCLES_PER_SEC;
}

unsigned long sim_irq_save(void)
{
	struct sim_cpu *c = sim_cur(sim_top());
	unsigned long flags = c->irq ? RFLAGS_IF : 0;
	c->irq = false;
	return flags;
}

void sim_irq_restore(unsigned long flags)
{
	/* As on x86: restoring "off" leaves the flag alone (it is off since save). */
	if (flags & RFLAGS_IF)
		arch_irq_enable();
}

void sim_irq_enable(void)
{
	struct sim *m = sim_top();
	struct sim_cpu *c = sim_cur(m);
	c->irq = true;
	if (m->running != SIM_NO_CORE)
		deliver(c);
}

void sim_irq_disable(void)
{
	sim_cur(sim_top())->irq = false;
}

void sim_cpu_idle(void)
{
	struct sim *m = sim_top();
	if (m->running == SIM_NO_CORE)
		panic("sim: arch_cpu_idle outside any simulated core would wait forever");
	struct sim_cpu *c = sim_cur(m);
	c->irq = true;
	if (!c->pending) {
		/* The scheduler passes over an idle core until an IPI is pending. */
		c->state = CPU_IDLE;
		to_scheduler(m, c);
		/* The IPI cannot have arrived before its sender sent it. */
		c->cycles = MAX(c->cycles, c->wake_cycles);
	}
	deliver(c);
}

void arch_cpu_stop(void)
{
	struct sim *m = sim_top();
	if (m->running == SIM_NO_CORE) {
		/* The host thread cannot halt and let others run: end the process. */
		sim_log("sim: arch_cpu_stop outside any simulated core: ending the run");
		arch_power_off(EXIT_PANIC);
	}
	struct sim_cpu *c = sim_cur(m);
	c->irq = false;
	c->state = CPU_ENDED;
	fiber_exit(&c->fiber, &m->sched);
}

/* ---- arch/percpu.h ---- */

void arch_set_this_cpu(struct percpu *p)
{
	sim_cur(sim_top())->percpu = p;
	sim_this_cpu_ptr = p;
}

/* ---- arch/ipi.h ---- */

void arch_ipi_send(unsigned core, enum ipi_kind kind)
{
	struct sim *m = sim_top();
	if (core >= m->ncores || (unsigned)kind >= IPI_KINDS)
		return;
	struct sim_cpu *t = &m->cpu[core], *me = sim_cur(m);
	/* A core that is off or halted for good takes no interrupt. */
	if (!cpu_live(t))
		return;
	t->pending |= 1u << kind;
	t->wake_cycles = MAX(t->wake_cycles, me->cycles);
	if (t == me)
		deliver(t); /* a self-IPI is taken at once if interrupts are on */
}

void arch_ipi_send_others(enum ipi_kind kind)
{
	struct sim *m = sim_top();
	unsigned me = m->running == SIM_NO_CORE ? 0 : m->running;
	for (unsigned c = 0; c < m->ncores; c++)
		if (c != me && __atomic_load_n(&percpu_of(c)->online, __ATOMIC_ACQUIRE))
			arch_ipi_send(c, kind);
}
