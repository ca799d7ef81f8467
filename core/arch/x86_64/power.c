/* Ending the machine: QEMU's isa-debug-exit, else halt forever. */
#include <arch/cpu.h>
#include <arch/power.h>
#include <arch/x86.h>

#define DEBUG_EXIT_PORT 0xf4

void arch_power_off(int status)
{
	arch_irq_disable();
	outl(DEBUG_EXIT_PORT, (uint32_t)status);
	/* No isa-debug-exit device: nothing else to do but stop. */
	arch_cpu_stop();
}

void arch_cpu_stop(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
