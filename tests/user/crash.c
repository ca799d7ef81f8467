/*
 * Faults on purpose; arg picks how: 0 null read, 1 invalid opcode, 2 write
 * to its own text, 3 an x87 instruction (no FPU state is kept: it traps).
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
	if (arg == 3)
		__asm__ volatile("fninit");
	return 0;
}
