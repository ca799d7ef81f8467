/*
 * The arch-neutral kernel start (kernel-only): read the command line, check
 * memory, start the other cores, print the boot figures, run the selected
 * in-guest tests, and end the run (docs/protocol.md).
 */
#include <arch/cpu.h>
#include <arch/phys.h>
#include <arch/smp.h>
#include <arch/timer.h>
#include <exo/boot.h>
#include <exo/cmdline.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hooks.h>
#include <exo/image.h>
#include <exo/kprintf.h>
#include <exo/panic.h>
#include <exo/pot.h>
#include <exo/revoke.h>
#include <exo/slice.h>
#include <exo/shutdown.h>
#include <exo/stats.h>
#include <exo/string.h>
#include <exo/test.h>
#include <chan.h>
#include <ipi.h>
#include <percpu.h>
#include <trace.h>

/* Below this much RAM the kernel refuses to run (its own image, stacks and tables). */

static struct {
	const char *test;
	bool shutdown;
	uint64_t ipi_rounds;
	const char *accel;
	bool icount; /* QEMU -icount: cycles are instructions, time is virtual */
	bool panic_test;
	bool smash_test;    /* overrun a stack buffer: the stack protector must panic */
	bool overflow_test; /* recurse without end: the stack's guard page must stop it */
	bool trace; /* print every core's event ring at the end (percpu/include/trace.h) */
	const char *run;
	uint64_t run_arg, run_cores;
	uint64_t slots, slice_us, revoke_us;
} opt = { .test = NULL,
	  .shutdown = true,
	  .ipi_rounds = 1000,
	  .accel = "unknown",
	  .run_cores = 1,
	  .slots = 16,
	  .slice_us = 1000,
	  .revoke_us = 1000000 };

/* The words of the command line the kernel does not know: the run= program's arguments. */
static struct env_args run_args;

static void parse_cmdline(char *line)
{
	const struct cmdline_opt table[] = {
		{ .key = "test", .type = CMDLINE_STR, .dst.s = &opt.test },
		{ .key = "shutdown", .type = CMDLINE_BOOL, .dst.b = &opt.shutdown },
		{ .key = "trace", .type = CMDLINE_BOOL, .dst.b = &opt.trace },
		{ .key = "ipi_rounds",
		  .type = CMDLINE_UINT,
		  .dst.u = &opt.ipi_rounds,
		  .min = 1,
		  .max = 100000 },
		{ .key = "accel", .type = CMDLINE_STR, .dst.s = &opt.accel },
		{ .key = "icount", .type = CMDLINE_BOOL, .dst.b = &opt.icount },
		{ .key = "panic_test", .type = CMDLINE_BOOL, .dst.b = &opt.panic_test },
		{ .key = "smash_test", .type = CMDLINE_BOOL, .dst.b = &opt.smash_test },
		{ .key = "overflow_test", .type = CMDLINE_BOOL, .dst.b = &opt.overflow_test },
		{ .key = "run", .type = CMDLINE_STR, .dst.s = &opt.run },
		{ .key = "slots",
		  .type = CMDLINE_UINT,
		  .dst.u = &opt.slots,
		  .min = 1,
		  .max = SLICE_MAX_SLOTS },
		{ .key = "slice_us",
		  .type = CMDLINE_UINT,
		  .dst.u = &opt.slice_us,
		  .min = 10,
		  .max = 1000000 },
		{ .key = "revoke_us",
		  .type = CMDLINE_UINT,
		  .dst.u = &opt.revoke_us,
		  .min = 0,
		  .max = 10000000 },
		{ .key = "run_arg",
		  .type = CMDLINE_UINT,
		  .dst.u = &opt.run_arg,
		  .max = UINT64_MAX },
		{ .key = "run_cores",
		  .type = CMDLINE_UINT,
		  .dst.u = &opt.run_cores,
		  .min = 1,
		  .max = MAX_CPUS },
	};
	struct cmdline_rest rest = { .buf = run_args.bytes, .size = sizeof(run_args.bytes) };
	cmdline_parse(line, table, ARRAY_SIZE(table), &rest);
	run_args.len = rest.len;
	/* Without a program, no one takes the words the kernel does not know. */
	for (size_t i = 0; !opt.run && i < rest.len; i += strlen(run_args.bytes + i) + 1) {
		const char *w = run_args.bytes + i;
		size_t k = 0;
		while (w[k] != '=')
			k++;
		kprintf("cmdline: unknown key '%.*s' (no run= program to take it); ignored\n",
			(int)k, w);
	}
	slice_nslots = (unsigned)opt.slots;
	slice_ns = opt.slice_us * 1000;
	revoke_deadline_ns = opt.revoke_us * 1000;
}

/*
 * The page-ownership table lives in RAM right after the kernel image, one
 * entry per frame up to the highest usable address the direct map reaches.
 * Everything below the end of the table (the low 1 MiB with the firmware's
 * data and the AP trampoline, the image, the table itself) is the kernel's.
 */
static void memory_init(const struct boot_info *bi)
{
	uint64_t top = 0;
	for (unsigned i = 0; i < bi->nmem; i++)
		if (bi->mem[i].usable)
			top = MAX(top, MIN(bi->mem[i].base + bi->mem[i].len, ARCH_PHYS_LIMIT));
	uint64_t nframes = top / PAGE_SIZE, lo, hi;
	arch_kernel_phys_range(&lo, &hi);
	uint64_t table = ALIGN_UP(hi, PAGE_SIZE);
	uint64_t table_end = ALIGN_UP(table + nframes * sizeof(struct pot_entry), PAGE_SIZE);
	bool fits = false;
	for (unsigned i = 0; i < bi->nmem; i++)
		fits |= bi->mem[i].usable && bi->mem[i].base <= table &&
			bi->mem[i].base + bi->mem[i].len >= table_end;
	if (!fits)
		panic("mem: no RAM after the kernel image for the page-ownership table "
		      "(%llu KiB at 0x%llx)",
		      (unsigned long long)((table_end - table) >> 10), (unsigned long long)table);
	pot_init(arch_phys_to_virt(pa_make(table)), nframes, bi->mem, bi->nmem, 0, table_end);
	kprintf("mem: %llu frames, %llu free; ownership table at 0x%llx (%llu KiB)\n",
		(unsigned long long)nframes, (unsigned long long)pot_count(POT_FREE),
		(unsigned long long)table, (unsigned long long)((table_end - table) >> 10));
}

static void check_memory(const struct boot_info *bi)
{
	uint64_t usable = 0;
	for (unsigned i = 0; i < bi->nmem; i++) {
		const struct boot_mem *m = &bi->mem[i];
		kprintf("mem: %016llx-%016llx %s\n", (unsigned long long)m->base,
			(unsigned long long)(m->base + m->len - 1), m->usable ? "ram" : "reserved");
		if (m->usable)
			usable += m->len;
	}
	uint64_t mb = usable >> 20;
	kprintf("mem: %llu MiB usable\n", (unsigned long long)mb);
	if (mb < MIN_RAM_MB)
		panic("exocore needs at least %u MiB of RAM; this machine has %llu MiB usable "
		      "(run QEMU with -m %uM or more)",
		      MIN_RAM_MB, (unsigned long long)mb, MIN_RAM_MB);
}

/* Cycles to microseconds at the calibrated rate. */
static uint64_t cycles_to_us(uint64_t cycles)
{
	uint64_t hz = arch_cycles_per_sec();
	return hz ? cycles / (hz / 1000000 ? hz / 1000000 : 1) : 0;
}

/*
 * QEMU starts the TSC at 0 at reset (TCG and KVM), so the cycle counter is
 * the time since reset. A TSC that was already past a minute when the kernel
 * started did not start at reset (PVM does this): then the figure is
 * measured from kernel entry instead, and says so.
 */
#define RESET_PLAUSIBLE_S 60

static void boot_figures(const struct boot_info *bi, uint64_t now, unsigned ncpus)
{
	bool from_reset = bi->entry_cycles < RESET_PLAUSIBLE_S * arch_cycles_per_sec();
	uint64_t us = cycles_to_us(from_reset ? now : now - bi->entry_cycles);
	const char *since = from_reset ? "reset" : "kernel_entry";
	kprintf("boot: %u cores online %llu.%03llu ms after %s (accel %s%s, tsc %llu Hz)\n", ncpus,
		(unsigned long long)(us / 1000), (unsigned long long)(us % 1000),
		from_reset ? "reset" : "kernel entry (the TSC did not start at reset)", opt.accel,
		opt.icount ? " -icount: virtual time, cycles are instructions" : "",
		(unsigned long long)arch_cycles_per_sec());
	kprintf("EXOJSON {\"figure\":\"boot_ms\",\"unit\":\"ms\",\"value\":%llu.%03llu,"
		"\"since\":\"%s\",\"cores\":%u,\"accel\":\"%s\",\"tsc_hz\":%llu}\n",
		(unsigned long long)(us / 1000), (unsigned long long)(us % 1000), since, ncpus,
		opt.accel, (unsigned long long)arch_cycles_per_sec());

	static uint64_t samples[100000];
	uint64_t timeout = arch_cycles_per_sec(); /* 1 s per round trip is a dead core */
	for (unsigned c = 1; c < percpu_ncpus; c++) {
		if (!percpu_of(c)->online)
			continue;
		size_t n = 0;
		for (uint64_t i = 0; i < opt.ipi_rounds; i++) {
			if (ipi_ping(c, timeout, &samples[n]) != 0) {
				kprintf("ipi: no answer from cpu%u (round %llu)\n", c,
					(unsigned long long)i);
				break;
			}
			n++;
		}
		struct stats s = stats_u64(samples, n);
		kprintf("boot: IPI round trip cpu0 <-> cpu%u: median %llu, min %llu, max %llu cycles "
			"(%zu rounds)\n",
			c, (unsigned long long)s.median, (unsigned long long)s.min,
			(unsigned long long)s.max, s.n);
		kprintf("EXOJSON {\"figure\":\"ipi_rtt\",\"from\":0,\"to\":%u,\"unit\":\"cycles\","
			"\"median\":%llu,\"min\":%llu,\"max\":%llu,\"n\":%zu,\"accel\":\"%s\"}\n",
			c, (unsigned long long)s.median, (unsigned long long)s.min,
			(unsigned long long)s.max, s.n, opt.accel);
	}
}

/*
 * run=NAME: start program NAME with run_arg on cores 0..run_cores-1 at once,
 * wait for every one to exit, destroy them. Returns how many failed (a
 * nonzero exit status, or could not start).
 */
/* The run= program's copies, one a core (NULL where it did not start). */
static struct env *run_envs[MAX_CPUS];
static unsigned run_n;

static bool programs_exited(void *unused)
{
	for (unsigned c = 0; c < run_n; c++)
		if (run_envs[c] &&
		    __atomic_load_n(&run_envs[c]->state, __ATOMIC_ACQUIRE) != ENV_EXITED)
			return false;
	return true;
}

static unsigned run_programs(void)
{
	int prog = image_find(opt.run);
	if (prog < 0) {
		kprintf("run: no program '%s'\n", opt.run);
		return 1;
	}
	if (opt.run_cores > percpu_ncpus) {
		kprintf("run: %s on %llu cores asked, but only %u are online (boot with more)\n",
			opt.run, (unsigned long long)opt.run_cores, percpu_ncpus);
		return 1;
	}
	unsigned n = (unsigned)opt.run_cores, failed = 0;
	/* The program learns how it runs (for its figure lines): accel= and icount=. */
	struct cmdline_rest rest = { .buf = run_args.bytes,
				     .size = sizeof(run_args.bytes),
				     .len = run_args.len };
	if (!cmdline_rest_add(&rest, "accel", opt.accel) ||
	    !cmdline_rest_add(&rest, "icount", opt.icount ? "yes" : "no")) {
		kprintf("run: %s: no room for accel= and icount= in %zu bytes of arguments\n",
			opt.run, sizeof(run_args.bytes));
		return 1;
	}
	run_args.len = rest.len;
	struct env **envs = run_envs;
	run_n = n;
	for (unsigned c = 0; c < n; c++) {
		int err = env_create(c, &envs[c]);
		if (!err && (err = env_start(envs[c], (unsigned)prog, opt.run_arg, &run_args)))
			(void)env_destroy(envs[c]);
		if (err) {
			kprintf("run: %s on cpu%u: %s\n", opt.run, c, err_name(err));
			envs[c] = NULL;
			failed++;
		}
	}
	/*
	 * Core 0 waits as any idle core does: it runs its environments (the
	 * programs' children among them) and serves other cores meanwhile.
	 */
	percpu_idle_until(programs_exited, NULL);
	for (unsigned c = 0; c < n; c++) {
		if (!envs[c])
			continue;
		kprintf("run: %s on cpu%u exited with %d\n", opt.run, c, envs[c]->exit_status);
		failed += envs[c]->exit_status != 0;
		(void)env_destroy(envs[c]);
	}
	return failed;
}

/* A core that polls its channels until told to stop (the polled figure). */
static uint64_t poll_stop;
static void poll_channels(void *arg)
{
	unsigned long f = arch_irq_save();
	chan_set_polling(true);
	arch_irq_restore(f);
	while (!__atomic_load_n(&poll_stop, __ATOMIC_ACQUIRE)) {
		f = arch_irq_save();
		chan_poll();
		arch_irq_restore(f);
		arch_cpu_relax();
	}
	f = arch_irq_save();
	chan_set_polling(false);
	arch_irq_restore(f);
}

/* n message round trips 0 -> 1 -> 0; the figure. The receiver polls or is woken by IPI. */
static void chan_figure(bool polled, uint64_t n)
{
	static uint64_t samples[100000];
	struct percpu *me = this_cpu();
	if (polled) {
		__atomic_store_n(&poll_stop, 0, __ATOMIC_RELEASE);
		if (smp_call_start(1, poll_channels, NULL) != 0)
			return;
	}
	unsigned long f = arch_irq_save();
	chan_set_polling(true); /* we poll for the pong: no IPI back */
	arch_irq_restore(f);
	size_t k = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t want = me->chan_pongs + 1, t0 = arch_cycles();
		struct chan_msg m = { .type = CHAN_PING };
		int err = chan_send(1, &m);
		if (err) {
			kprintf("chan: send to cpu1: %s\n", err_name(err));
			break;
		}
		/*
		 * pause (arch_cpu_relax) between polls: under -icount the vCPUs run
		 * round robin on one thread, and QEMU switches at a pause.
		 */
		while (__atomic_load_n(&me->chan_pongs, __ATOMIC_ACQUIRE) < want &&
		       arch_cycles() - t0 < arch_cycles_per_sec()) {
			f = arch_irq_save();
			chan_poll();
			arch_irq_restore(f);
			arch_cpu_relax();
		}
		if (me->chan_pongs < want) {
			kprintf("chan: no answer from cpu1 within 1 s\n");
			break;
		}
		samples[k++] = arch_cycles() - t0;
	}
	f = arch_irq_save();
	chan_set_polling(false);
	arch_irq_restore(f);
	if (polled) {
		__atomic_store_n(&poll_stop, 1, __ATOMIC_RELEASE);
		(void)smp_call_wait(1, arch_cycles_per_sec());
	}
	struct stats s = stats_u64(samples, k);
	kprintf("EXOJSON {\"figure\":\"chan_rtt\",\"receiver\":\"%s\",\"from\":0,\"to\":1,"
		"\"unit\":\"cycles\",\"median\":%llu,\"min\":%llu,\"max\":%llu,\"n\":%zu,"
		"\"accel\":\"%s\"}\n",
		polled ? "polling" : "ipi", (unsigned long long)s.median, (unsigned long long)s.min,
		(unsigned long long)s.max, s.n, opt.accel);
}

/* Shootdown cost against the number of other cores a frame is mapped on: 1..ncpus-1. */
static void shootdown_figures(uint64_t n)
{
	static uint64_t samples[100000];
	for (unsigned k = 1; k < percpu_ncpus; k++) {
		uint64_t mask = ((1ULL << k) - 1) << 1; /* cores 1..k */
		for (uint64_t i = 0; i < n; i++) {
			uint64_t t0 = arch_cycles();
			tlb_shootdown(mask);
			samples[i] = arch_cycles() - t0;
		}
		struct stats s = stats_u64(samples, n);
		kprintf("EXOJSON {\"figure\":\"tlb_shootdown\",\"cores\":%u,\"unit\":\"cycles\","
			"\"median\":%llu,\"min\":%llu,\"max\":%llu,\"n\":%zu,\"accel\":\"%s\"}\n",
			k, (unsigned long long)s.median, (unsigned long long)s.min,
			(unsigned long long)s.max, s.n, opt.accel);
	}
}

/* smash_test=yes: write n bytes into a 16-byte buffer; its return must not be reached. */
static __attribute__((noinline)) void smash_stack(volatile size_t n)
{
	volatile char buf[16];
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)0xa5;
	kprintf("smash_test: wrote %zu bytes into a 16-byte buffer\n", (size_t)n);
}

/* overflow_test=yes: recursion with no end; each frame keeps 256 bytes live. */
static __attribute__((noinline)) unsigned recurse(unsigned depth)
{
	volatile char frame[256];
	frame[0] = (char)depth;
	frame[depth % sizeof(frame)] = (char)depth;
	if (depth == ~0u) /* never: only so the compiler sees a way out */
		return 0;
	return recurse(depth + 1) + frame[0];
}

void kernel_main(struct boot_info *bi)
{
	kprintf("exocore: booting; command line '%s'\n", bi->cmdline);
	parse_cmdline(bi->cmdline);
	check_memory(bi);
	core_hooks_register(); /* percpu/'s waits and idle loop reach core/ through them */
	memory_init(bi);

	this_cpu()->online_cycles = arch_cycles();
	percpu_report_in();
	arch_irq_enable();
	unsigned online = arch_smp_start();
	uint64_t all_online = arch_cycles();
	kprintf("smp: %u of %u cores online; timer %s\n", online, percpu_ncpus, arch_timer_mode());
	if (chan_init() != E_OK)
		panic("chan: no memory for %u x %u message rings", percpu_ncpus, percpu_ncpus);
	disk_init();
	boot_figures(bi, all_online, online);
	if (percpu_ncpus > 1) {
		chan_figure(false, opt.ipi_rounds);
		chan_figure(true, opt.ipi_rounds);
		shootdown_figures(MIN(opt.ipi_rounds, (uint64_t)200));
	}
	/* Pre-zeroed frames (exo/frame.h): each core fills its pool when idle; this one now. */
	frame_zero_ahead_enable(percpu_ncpus);
	for (unsigned i = 0; i < 4 * FRAME_ZERO_POOL_MAX; i++)
		(void)frame_zero_ahead(); /* false for a chunk with no free frame, or once full */
	kprintf("frame: %u frames zeroed ahead on cpu0\n", frame_zero_pool_count());

	if (opt.panic_test)
		panic("panic_test=yes: panicking on purpose");
	if (opt.smash_test)
		smash_stack(48);
	if (opt.overflow_test)
		kprintf("overflow_test: %u\n", recurse(0));
	trace_reset(); /* the boot figures' thousands of messages are not the run */
	if (opt.test || opt.run) {
		unsigned failed = opt.test ? test_run(opt.test) : 0;
		if (opt.run)
			failed += run_programs();
		if (opt.trace)
			trace_dump();
		kernel_shutdown(failed ? EXIT_FAIL : EXIT_PASS);
	}
	if (opt.shutdown) {
		if (opt.trace)
			trace_dump();
		kernel_shutdown(EXIT_PASS);
	}
	kprintf("exocore: idle (shutdown=no)\n");
	percpu_idle_loop();
}

void kernel_ap_main(void)
{
	percpu_report_in();
	kprintf("smp: online\n");
	percpu_idle_loop();
}
