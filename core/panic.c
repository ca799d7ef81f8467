/* panic() and kernel_shutdown(): the two ways a run ends from inside. */
#include <arch/cpu.h>
#include <arch/debug.h>
#include <arch/ipi.h>
#include <arch/power.h>
#include <exo/kprintf.h>
#include <exo/panic.h>
#include <exo/shutdown.h>
#include <stdarg.h>

static bool panicking;

void panic(const char *fmt, ...)
{
	arch_irq_disable();
	/* Only the first core to panic reports; any later one just stops. */
	if (__atomic_exchange_n(&panicking, true, __ATOMIC_ACQ_REL))
		arch_cpu_stop();
	arch_ipi_send_others(IPI_STOP);
	kprintf_panic_mode();

	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("PANIC: %s\n", msg);
	arch_dump_registers();
	arch_dump_backtrace(0);
	kprintf("exit: panic\n"); /* the host's positive sign that the guest ended the run */
	arch_power_off(EXIT_PANIC);
}

void kernel_shutdown(enum exit_status status)
{
	/*
	 * The host trusts QEMU's exit status only beside this line
	 * (docs/protocol.md); printed before the other cores stop, so none of
	 * them can be holding the console.
	 */
	kprintf("exit: %s\n", status == EXIT_PASS ? "pass" : "fail");
	arch_irq_disable();
	arch_ipi_send_others(IPI_STOP);
	arch_power_off(status);
}
