/*
 * FPU/SSE state survives preemption: fills xmm0..xmm15 and MXCSR with a
 * pattern made from arg, spins long enough for slices to end meanwhile (two
 * copies with different patterns share one core), then checks every
 * register. Exit 0 if all held for every round, else the first bad round + 1.
 */
#include <libos/libos.h>

#define ROUNDS 40
#define SPIN 200000

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	uint64_t pat = 0x0101010101010101ULL * (arg & 0xff);
	uint32_t mxcsr = 0x1f80 | ((uint32_t)(arg & 3) << 13); /* rounding mode from arg */
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t out[32];
		uint32_t mx_out;
		__asm__ volatile(
		    "ldmxcsr %3\n\t"
		    "movq %2, %%xmm0\n\t"
		    "punpcklqdq %%xmm0, %%xmm0\n\t"
		    "movdqa %%xmm0, %%xmm1\n\tmovdqa %%xmm0, %%xmm2\n\tmovdqa %%xmm0, %%xmm3\n\t"
		    "movdqa %%xmm0, %%xmm4\n\tmovdqa %%xmm0, %%xmm5\n\tmovdqa %%xmm0, %%xmm6\n\t"
		    "movdqa %%xmm0, %%xmm7\n\tmovdqa %%xmm0, %%xmm8\n\tmovdqa %%xmm0, %%xmm9\n\t"
		    "movdqa %%xmm0, %%xmm10\n\tmovdqa %%xmm0, %%xmm11\n\tmovdqa %%xmm0, %%xmm12\n\t"
		    "movdqa %%xmm0, %%xmm13\n\tmovdqa %%xmm0, %%xmm14\n\tmovdqa %%xmm0, %%xmm15\n\t"
		    "movl %4, %%ecx\n"
		    "1:\tpause\n\tdecl %%ecx\n\tjnz 1b\n\t"
		    "movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\tmovdqu %%xmm2, 32(%0)\n\t"
		    "movdqu %%xmm3, 48(%0)\n\tmovdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)\n\t"
		    "movdqu %%xmm6, 96(%0)\n\tmovdqu %%xmm7, 112(%0)\n\tmovdqu %%xmm8, 128(%0)\n\t"
		    "movdqu %%xmm9, 144(%0)\n\tmovdqu %%xmm10, 160(%0)\n\tmovdqu %%xmm11, "
		    "176(%0)\n\t"
		    "movdqu %%xmm12, 192(%0)\n\tmovdqu %%xmm13, 208(%0)\n\tmovdqu %%xmm14, "
		    "224(%0)\n\t"
		    "movdqu %%xmm15, 240(%0)\n\t"
		    "stmxcsr %1"
		    :
		    : "r"(out), "m"(mx_out), "r"(pat), "m"(mxcsr), "i"(SPIN)
		    : "rcx", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		      "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
		for (int i = 0; i < 32; i++)
			if (out[i] != pat)
				return round + 1;
		if (mx_out != mxcsr)
			return round + 1;
	}
	return 0;
}
