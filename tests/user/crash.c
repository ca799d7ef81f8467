/*
 * Faults on purpose; arg picks how: 0 null read, 1 invalid opcode, 2 write
 * to its own text; 3 is not a fault any more: SSE arithmetic, which used to
 * trap (#NM) before the kernel kept FPU state, returns 42. (QEMU's TCG does
 * not raise SSE exceptions (#XM), so an unmasked divide by zero cannot stand in.)
 * 4 reads the GDT's address with sgdt, which UMIP makes a #GP.
 */
#include <libos/libos.h>

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 0)
		return (int)*(volatile uint64_t *)0;
	if (arg == 1)
		__asm__ volatile("ud2");
	if (arg == 2)
		*(volatile uint8_t *)(uintptr_t)main = 0xc3;
	if (arg == 4) {
		struct __attribute__((packed)) {
			uint16_t limit;
			uint64_t base;
		} gdtr;
		__asm__ volatile("sgdt %0" : "=m"(gdtr));
		return gdtr.base ? 1 : 2; /* reached only without UMIP */
	}
	if (arg == 3) {
		volatile double x = 10.5, y = 0.25;
		return (int)(x / y);
	}
	return 0;
}
