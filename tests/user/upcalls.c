/*
 * Exceptions handled at user level: page faults served by mapping a frame,
 * #UD, #BP, #DE and #GP skipped, every register of the interrupted context
 * intact after the resume. arg 1: a handler that faults itself; arg 2: an
 * exception stack that is not mapped; 3 and 4: a pinned exception stack
 * unmapped, or mapped again read-only (each must end only this program).
 */
#include <exo/test.h>
#include <libos/libos.h>

#define LAZY 0x50000000ULL /* pages mapped on demand by the handler */

static unsigned faults[32];
static uint64_t last_addr;

static bool handler(struct upcall_fault *uf)
{
	faults[uf->vector & 31]++;
	switch (uf->vector) {
	case 14: { /* #PF in the lazy window: give it a zeroed frame */
		uint64_t page = uf->addr & ~0xfffULL;
		last_addr = uf->addr;
		if (page < LAZY || page >= LAZY + (1 << 20))
			return false;
		int64_t s = sys_frame_alloc(FRAME_ANY);
		return s >= 0 && sys_map((uint64_t)s, page, PROT_R | PROT_W) == 0;
	}
	case 6:  /* ud2: 2 bytes */
		uf->regs.rip += 2;
		return true;
	case 3:  /* int3 is a trap: rip is already past it */
		return true;
	case 0:  /* divq %rcx: 3 bytes; make the result recognizable */
		uf->regs.rip += 3;
		uf->regs.rax = 0xd1d0;
		return true;
	case 13: /* hlt in ring 3: 1 byte */
		uf->regs.rip += 1;
		return true;
	}
	return false;
}

TEST(upcall, page_fault_maps_and_resumes)
{
	volatile uint64_t *p = (volatile uint64_t *)(LAZY + 0x2010);
	unsigned before = faults[14];
	EXPECT_EQ(t, *p, 0);	/* faults, gets mapped, reads zero */
	*p = 77;		/* now mapped: no fault */
	EXPECT_EQ(t, *p, 77);
	EXPECT_EQ(t, faults[14], before + 1);
	EXPECT_EQ(t, last_addr, LAZY + 0x2010);
	p[4096 / 8] = 5;	/* the next page: a write fault */
	EXPECT_EQ(t, faults[14], before + 2);
	EXPECT_EQ(t, sys_debug_check(), 0);
}

TEST(upcall, ud_bp_de_gp_skipped)
{
	unsigned ud = faults[6], bp = faults[3], de = faults[0], gp = faults[13];
	__asm__ volatile("ud2");
	__asm__ volatile("int3");
	uint64_t q;
	__asm__ volatile("xorl %%edx, %%edx; movl $7, %%eax; xorl %%ecx, %%ecx; divq %%rcx"
			 : "=a"(q)::"rcx", "rdx");
	__asm__ volatile("hlt");
	EXPECT_EQ(t, faults[6], ud + 1);
	EXPECT_EQ(t, faults[3], bp + 1);
	EXPECT_EQ(t, faults[0], de + 1);
	EXPECT_EQ(t, faults[13], gp + 1);
	EXPECT_EQ(t, q, 0xd1d0);
}

TEST(upcall, every_register_survives)
{
	uint64_t out[14] = { 0 };
	__asm__ volatile(
		"movq $0x1111, %%rax\n\t movq $0x2222, %%rbx\n\t movq $0x3333, %%rcx\n\t"
		"movq $0x4444, %%rdx\n\t movq $0x5555, %%rsi\n\t movq $0x8888, %%r8\n\t"
		"movq $0x9999, %%r9\n\t movq $0xaaaa, %%r10\n\t movq $0xbbbb, %%r11\n\t"
		"movq $0xcccc, %%r12\n\t movq $0xdddd, %%r13\n\t movq $0xeeee, %%r14\n\t"
		"movq $0xffff, %%r15\n\t"
		"ud2\n\t"
		"movq %%rax, 0(%%rdi)\n\t movq %%rbx, 8(%%rdi)\n\t movq %%rcx, 16(%%rdi)\n\t"
		"movq %%rdx, 24(%%rdi)\n\t movq %%rsi, 32(%%rdi)\n\t movq %%r8, 40(%%rdi)\n\t"
		"movq %%r9, 48(%%rdi)\n\t movq %%r10, 56(%%rdi)\n\t movq %%r11, 64(%%rdi)\n\t"
		"movq %%r12, 72(%%rdi)\n\t movq %%r13, 80(%%rdi)\n\t movq %%r14, 88(%%rdi)\n\t"
		"movq %%r15, 96(%%rdi)\n\t movq %%rsp, 104(%%rdi)"
		:
		: "D"(out)
		: "rax", "rbx", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "r12", "r13",
		  "r14", "r15", "memory");
	const uint64_t want[] = { 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x8888, 0x9999,
				  0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 0xffff };
	for (unsigned i = 0; i < 13; i++)
		EXPECT_EQ(t, out[i], want[i]);
	EXPECT(t, out[13] > USER_BASE); /* the stack pointer came back too */
}

TEST(upcall, registration_errors)
{
	EXPECT_EQ(t, sys_call6(SYS_UPCALL_SET, UPCALL_KINDS, 0, 0, 0, 0, 0), E_INVAL);
	EXPECT_EQ(t, sys_call6(SYS_UPCALL_SET, UPCALL_FAULT, 0xffffffff80000000ULL, LAZY, 4096, 0, 0), E_FAULT);
	EXPECT_EQ(t, sys_call6(SYS_UPCALL_SET, UPCALL_FAULT, USER_BASE, LAZY + 8, 4096, 0, 0), E_ALIGN);
	EXPECT_EQ(t, sys_call6(SYS_UPCALL_SET, UPCALL_FAULT, USER_BASE, LAZY, 16, 0, 0), E_RANGE);
	EXPECT_EQ(t, sys_call6(SYS_UPCALL_SET, UPCALL_FAULT, USER_BASE, USER_END - 4096, 8192, 0, 0), E_FAULT);
	EXPECT_EQ(t, libos_set_fault_handler(handler), 0); /* the failed calls changed nothing */
}

/*
 * The pinned fault frame (docs/time-and-upcalls.md): the kernel walks the
 * exception stack's top page once and then writes through a kernel alias
 * until that page is unmapped. Each case below would catch a stale pin:
 * the old frame, still ours and mapped elsewhere, must stay untouched once
 * the page at the stack's address has changed.
 */
#define XS 0x70000000ULL  /* exception stacks of these tests */
#define OLD 0x70100000ULL /* where a replaced stack frame stays visible */

void libos_fault_entry(void);

static int set_stack(uint64_t base, uint64_t size)
{
	return (int)sys_call6(SYS_UPCALL_SET, UPCALL_FAULT, (uint64_t)libos_fault_entry, base, size,
			      0, 0);
}

/* The frame the kernel writes for a fault with this stack: the top, 16-aligned. */
static const struct upcall_fault *frame_at(uint64_t base, uint64_t size)
{
	return (const struct upcall_fault *)((base + size - sizeof(struct upcall_fault)) & ~15ULL);
}

static bool page_is_zero(uint64_t va)
{
	const volatile uint64_t *p = (const volatile uint64_t *)va;
	for (unsigned i = 0; i < 512; i++)
		if (p[i])
			return false;
	return true;
}

static int64_t map_new(uint64_t va, uint64_t prot)
{
	int64_t s = sys_frame_alloc(FRAME_ANY);
	if (s >= 0 && sys_map((uint64_t)s, va, prot) != 0) {
		(void)sys_frame_free((uint64_t)s);
		return -1;
	}
	return s;
}

TEST(upcall, pinned_frame_follows_unmap_and_remap)
{
	int64_t a = map_new(XS, PROT_R | PROT_W);
	ASSERT(t, a >= 0);
	ASSERT_EQ(t, set_stack(XS, 4096), 0);
	unsigned ud = faults[6];
	__asm__ volatile("ud2"); /* pins XS's page */
	__asm__ volatile("ud2"); /* through the pin */
	EXPECT_EQ(t, faults[6], ud + 2);
	EXPECT_EQ(t, frame_at(XS, 4096)->vector, 6);
	/* Move the frame away: the page goes, the same frame stays visible at OLD. */
	ASSERT_EQ(t, sys_unmap((uint64_t)a), 0);
	volatile uint64_t *old = (volatile uint64_t *)OLD;
	ASSERT_EQ(t, sys_map((uint64_t)a, OLD, PROT_R | PROT_W), 0);
	for (unsigned i = 0; i < 512; i++)
		old[i] = 0;
	int64_t b = map_new(XS, PROT_R | PROT_W);
	ASSERT(t, b >= 0);
	__asm__ volatile("ud2");
	EXPECT_EQ(t, faults[6], ud + 3);
	EXPECT(t, page_is_zero(OLD)); /* nothing went to the old frame */
	EXPECT_EQ(t, frame_at(XS, 4096)->vector, 6);
	/* Setting the stack again moves the frame: the new top gets it, not the old one. */
	ASSERT_EQ(t, set_stack(OLD, 4096), 0);
	__asm__ volatile("int3");
	EXPECT_EQ(t, frame_at(OLD, 4096)->vector, 3);
	EXPECT_EQ(t, frame_at(XS, 4096)->vector, 6);
	EXPECT_EQ(t, libos_set_fault_handler(handler), 0);
	EXPECT_EQ(t, sys_unmap((uint64_t)a), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)a), 0);
	EXPECT_EQ(t, sys_unmap((uint64_t)b), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)b), 0);
	EXPECT_EQ(t, sys_debug_check(), 0);
}

TEST(upcall, pinned_frame_of_a_derived_cap_dies_with_its_revocation)
{
	/* The stack's page through a derived capability; the root stays ours, mapped at OLD. */
	int64_t root = map_new(OLD, PROT_R | PROT_W);
	ASSERT(t, root >= 0);
	int64_t child = sys_cap_mint((uint64_t)root, CAP_R_READ | CAP_R_WRITE | CAP_R_MAP, 0);
	ASSERT(t, child >= 0);
	ASSERT_EQ(t, sys_map((uint64_t)child, XS, PROT_R | PROT_W), 0);
	ASSERT_EQ(t, set_stack(XS, 4096), 0);
	unsigned ud = faults[6];
	__asm__ volatile("ud2");
	EXPECT_EQ(t, frame_at(OLD, 4096)->vector, 6); /* shared: the same frame */
	/* Revoked: the derived cap and its mapping go; no later fault may write the frame. */
	ASSERT_EQ(t, sys_cap_revoke((uint64_t)root), 0);
	volatile uint64_t *old = (volatile uint64_t *)OLD;
	for (unsigned i = 0; i < 512; i++)
		old[i] = 0;
	int64_t b = map_new(XS, PROT_R | PROT_W);
	ASSERT(t, b >= 0);
	__asm__ volatile("ud2");
	EXPECT_EQ(t, faults[6], ud + 2);
	EXPECT(t, page_is_zero(OLD));
	EXPECT_EQ(t, frame_at(XS, 4096)->vector, 6);
	EXPECT_EQ(t, libos_set_fault_handler(handler), 0);
	EXPECT_EQ(t, sys_unmap((uint64_t)b), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)b), 0);
	EXPECT_EQ(t, sys_unmap((uint64_t)root), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)root), 0);
	EXPECT_EQ(t, sys_debug_check(), 0);
}

TEST(upcall, frame_across_two_pages_takes_the_checked_copy)
{
	int64_t a = map_new(XS, PROT_R | PROT_W), b = map_new(XS + 4096, PROT_R | PROT_W);
	ASSERT(t, a >= 0 && b >= 0);
	/* The top 64 bytes into the second page: the 168-byte frame crosses. */
	ASSERT_EQ(t, set_stack(XS, 4096 + 64), 0);
	unsigned ud = faults[6];
	__asm__ volatile("ud2");
	__asm__ volatile("ud2");
	EXPECT_EQ(t, faults[6], ud + 2);
	EXPECT_EQ(t, frame_at(XS, 4096 + 64)->vector, 6);
	EXPECT_EQ(t, libos_set_fault_handler(handler), 0);
	EXPECT_EQ(t, sys_unmap((uint64_t)a), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)a), 0);
	EXPECT_EQ(t, sys_unmap((uint64_t)b), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)b), 0);
}

static bool faulting_handler(struct upcall_fault *uf)
{
	return *(volatile uint64_t *)8 == 0; /* a fault inside the handler */
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 1) {
		libos_set_fault_handler(faulting_handler);
		__asm__ volatile("ud2");
		return 0; /* not reached: the recursive fault ends us */
	}
	if (arg == 2) {
		/* An exception stack nobody mapped. */
		sys_call6(SYS_UPCALL_SET, UPCALL_FAULT, (uint64_t)main, 0x60000000ULL, 8192, 0, 0);
		__asm__ volatile("ud2");
		return 0;
	}
	if (arg == 3 || arg == 4) {
		/* A stack pinned by one fault, then unmapped (3) or mapped again read-only (4). */
		int64_t s = map_new(XS, PROT_R | PROT_W);
		if (s < 0 || libos_set_fault_handler(handler) != 0 || set_stack(XS, 4096) != 0)
			return 101;
		__asm__ volatile("ud2");
		if (sys_unmap((uint64_t)s) != 0)
			return 102;
		if (arg == 4 && sys_map((uint64_t)s, XS, PROT_R) != 0)
			return 103;
		__asm__ volatile("ud2"); /* no usable stack now: this ends us */
		return 0;
	}
	if (libos_set_fault_handler(handler) != 0)
		return 100;
	return (int)test_run("all");
}
