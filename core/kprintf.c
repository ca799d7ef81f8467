/*
 * Console output: a small vsnprintf and per-core line buffering.
 *
 * Each core assembles its current line in its own struct percpu (no lock),
 * and takes the console lock only to write a finished line with its
 * "[cpuN] " tag, so lines from different cores never interleave. The lock
 * is held with interrupts off: an IPI handler that prints must not spin on
 * a lock its own core holds.
 */
#include <arch/console.h>
#include <arch/cpu.h>
#include <exo/kprintf.h>
#include <exo/spinlock.h>
#include <percpu.h>

static struct spinlock console_lock = SPINLOCK_INIT;
static bool panic_mode;

static void console_lock_take(void) NO_THREAD_SAFETY_ANALYSIS
{
	/*
	 * In panic mode a dead core may hold the lock forever: wait a bounded
	 * time, then write regardless (a garbled line beats a lost panic).
	 */
	if (__atomic_load_n(&panic_mode, __ATOMIC_RELAXED)) {
		for (unsigned i = 0; i < 1000000; i++)
			if (spin_trylock(&console_lock))
				return;
		return;
	}
	spin_lock(&console_lock);
}

static void console_lock_drop(void) NO_THREAD_SAFETY_ANALYSIS
{
	if (__atomic_load_n(&panic_mode, __ATOMIC_RELAXED)) {
		/* We may not hold it (see above): reset it to free. */
		uint32_t s = __atomic_load_n(&console_lock.next, __ATOMIC_RELAXED);
		__atomic_store_n(&console_lock.serving, s, __ATOMIC_RELEASE);
		return;
	}
	spin_unlock(&console_lock);
}

/* Write one line (without its newline) with the core tag. */
static void console_line(const char *s, size_t n, bool tagged)
{
	char tag[16];
	size_t tn = tagged ? ksnprintf(tag, sizeof(tag), "[cpu%u] ", cpu_id()) : 0;
	unsigned long flags = arch_irq_save();
	console_lock_take();
	if (tn)
		arch_console_write(tag, MIN(tn, sizeof(tag) - 1));
	arch_console_write(s, n);
	arch_console_write("\n", 1);
	console_lock_drop();
	arch_irq_restore(flags);
}

void kvprintf(const char *fmt, va_list ap)
{
	char tmp[256];
	size_t n = kvsnprintf(tmp, sizeof(tmp), fmt, ap);
	n = MIN(n, sizeof(tmp) - 1);

	/* The line buffer is this core's own; interrupts off keeps IPI handlers out. */
	unsigned long flags = arch_irq_save();
	struct percpu *c = this_cpu();
	for (size_t i = 0; i < n; i++) {
		if (tmp[i] == '\n') {
			console_line(c->line, c->line_len, true);
			c->line_len = 0;
		} else if (c->line_len < sizeof(c->line)) {
			c->line[c->line_len++] = tmp[i];
		} else {
			/* An over-long line is split, never dropped. */
			console_line(c->line, c->line_len, true);
			c->line[0] = tmp[i];
			c->line_len = 1;
		}
	}
	arch_irq_restore(flags);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

void kprintf_untagged(const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	size_t n = kvsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	n = MIN(n, sizeof(tmp) - 1);
	if (n && tmp[n - 1] == '\n')
		n--;
	console_line(tmp, n, false);
}

void kprintf_panic_mode(void)
{
	__atomic_store_n(&panic_mode, true, __ATOMIC_RELAXED);
	/* Flush what this core had half-written, so the panic starts a fresh line. */
	struct percpu *c = this_cpu();
	if (c->line_len) {
		console_line(c->line, c->line_len, true);
		c->line_len = 0;
	}
}
