/*
 * TSC calibration. The PIT's channel 2 (gated by port 0x61, no interrupt
 * needed) counts a known 10 ms at 1.193182 MHz while we read the TSC.
 */
#include <arch/cpu.h>
#include <arch/x86.h>

#define PIT_HZ 1193182u
#define CAL_MS 10

static uint64_t tsc_hz;

uint64_t arch_cycles_per_sec(void) { return tsc_hz; }

void tsc_calibrate(void)
{
	uint16_t count = (uint16_t)(PIT_HZ * CAL_MS / 1000);
	uint8_t gate = inb(0x61);
	outb(0x61, (uint8_t)((gate & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(0x43, 0xb0);			       /* ch2, lo/hi, mode 0 */
	outb(0x42, (uint8_t)count);
	outb(0x42, (uint8_t)(count >> 8));
	/* Restart the gate so the count starts now. */
	gate = inb(0x61);
	outb(0x61, (uint8_t)(gate & ~0x01));
	outb(0x61, (uint8_t)(gate | 0x01));
	uint64_t t0 = arch_cycles();
	while (!(inb(0x61) & 0x20)) /* OUT2 goes high when the count ends */
		arch_cpu_relax();
	uint64_t t1 = arch_cycles();
	tsc_hz = (t1 - t0) * (1000 / CAL_MS);
	if (tsc_hz == 0)
		tsc_hz = 1000000000ull; /* a broken PIT: assume 1 GHz rather than divide by 0 */
}

void delay_us(uint64_t us)
{
	uint64_t t0 = arch_cycles(), n = tsc_hz / 1000000 * us;
	while (arch_cycles() - t0 < n)
		arch_cpu_relax();
}
