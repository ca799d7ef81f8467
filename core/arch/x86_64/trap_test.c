/*
 * Exceptions are reported with the right vector, error code and CR2. The
 * test announces the fault (percpu expect_vector), provokes it, and the trap
 * handler records it and resumes after the faulting instruction.
 */
#include <exo/test.h>
#include <percpu.h>

/* Provoke #UD; returns after the handler resumed us. */
static void provoke_ud(struct percpu *p)
{
	p->expect_vector = 6;
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
			 "movq %%rax, %0\n\t"
			 "ud2\n"
			 "1:"
			 : "=m"(p->expect_resume)
			 :
			 : "rax", "memory");
}

/* Provoke #PF by reading addr; returns after the handler resumed us. */
static void provoke_pf(struct percpu *p, uintptr_t addr)
{
	p->expect_vector = 14;
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
			 "movq %%rax, %0\n\t"
			 "movq (%1), %%rax\n"
			 "1:"
			 : "=m"(p->expect_resume)
			 : "r"(addr)
			 : "rax", "memory");
}

TEST_EACH_CPU(trap, invalid_opcode_reported, 1)
{
	struct percpu *p = this_cpu();
	p->fault_vector = -1;
	provoke_ud(p);
	EXPECT_EQ(t, p->fault_vector, 6);
	EXPECT_EQ(t, p->expect_vector, -1);
}

TEST_EACH_CPU(trap, page_fault_reports_address_and_error, 1)
{
	struct percpu *p = this_cpu();
	uintptr_t addr = 0x00007f0000001238ULL; /* user half: nothing maps it yet */
	p->fault_vector = -1;
	provoke_pf(p, addr);
	EXPECT_EQ(t, p->fault_vector, 14);
	EXPECT_EQ(t, p->fault_addr, addr);
	EXPECT_EQ(t, p->fault_error & 1, 0);	 /* not present */
	EXPECT_EQ(t, p->fault_error & 2, 0);	 /* a read */
	EXPECT_EQ(t, p->fault_error & 4, 0);	 /* from the kernel */
}
