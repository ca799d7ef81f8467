/*
 * Fibers: stacks and the context switch under the simulated cores.
 *
 * The switch is a dozen instructions of our own rather than swapcontext():
 * glibc's swapcontext makes a sigprocmask system call on every switch, and
 * ASan intercepts it, warns, and wipes the shadow of the stack it switches
 * to — which would hide stack overflows in the very code we want to check.
 * Instead every switch is announced to ASan with
 * __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber, which
 * is all it needs to keep per-fiber stack state correct.
 *
 * x86_64 System V only, like the rest of the project.
 */
#include "sim_impl.h"

#include <exo/panic.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif

#ifdef FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

static void asan_start(void **fake, const void *lo, size_t len)
{
	__sanitizer_start_switch_fiber(fake, lo, len);
}

static void asan_finish(void *fake, const void **lo, size_t *len)
{
	__sanitizer_finish_switch_fiber(fake, lo, len);
}

/*
 * A fiber's frames that never returned (abandoned fibers, the entry frame
 * of every fiber) leave poisoned redzones in the shadow; clear them before
 * the stack is reused or its addresses are handed to someone else.
 */
static void asan_unpoison(const void *p, size_t len)
{
	__asan_unpoison_memory_region(p, len);
}
#else
static void asan_start(void **fake, const void *lo, size_t len)
{
	(void)fake, (void)lo, (void)len;
}
static void asan_finish(void *fake, const void **lo, size_t *len)
{
	(void)fake, (void)lo, (void)len;
}
static void asan_unpoison(const void *p, size_t len)
{
	(void)p, (void)len;
}
#endif

/*
 * fiber_ctx_switch(&from->sp, to->sp): push the callee-saved registers
 * (and the callee-saved control bits of MXCSR and the x87 control word),
 * store %rsp, load the other stack, pop its registers and return into it.
 * Everything else is caller-saved, so the C caller has already kept it.
 */
void fiber_ctx_switch(void **save_sp, void *load_sp) __attribute__((visibility("hidden")));
void fiber_entry_c(struct fiber *f) __attribute__((noreturn, used, visibility("hidden")));

/* clang-format off */
__asm__(".pushsection .text\n"
	".p2align 4\n"
	".globl fiber_ctx_switch\n"
	".hidden fiber_ctx_switch\n"
	".type fiber_ctx_switch, @function\n"
	"fiber_ctx_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size fiber_ctx_switch, .-fiber_ctx_switch\n"
	/*
	 * A fresh fiber "returns" here from its first switch, with its struct
	 * fiber in %r12. The CFI marks the outermost frame, so unwinders
	 * (ASan's, gdb's) stop here instead of walking into garbage.
	 */
	".p2align 4\n"
	".type fiber_entry_asm, @function\n"
	"fiber_entry_asm:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined rip\n"
	"	movq %r12, %rdi\n"
	"	call fiber_entry_c\n"
	"	ud2\n"
	"	.cfi_endproc\n"
	".size fiber_entry_asm, .-fiber_entry_asm\n"
	".popsection\n");
/* clang-format on */

extern char fiber_entry_asm[];

/* The fiber switched away from last: it learns its stack bounds on arrival. */
static struct fiber *switch_from;

/* On arrival in a fiber: finish ASan's switch, record where we came from. */
static void arrived(void *fake)
{
	const void *lo = NULL;
	size_t len = 0;
	asan_finish(fake, &lo, &len);
	/* Only the scheduler's context has no mapping of ours to know it by. */
	if (switch_from && !switch_from->map) {
		switch_from->stack_lo = lo;
		switch_from->stack_len = len;
	}
}

void fiber_entry_c(struct fiber *f)
{
	arrived(NULL); /* a fresh fiber has no fake stack yet */
	f->entry(f->arg);
	panic("sim: a fiber's entry function returned");
}

/*
 * Small stacks of fibers freed, kept for the next fiber of the same size
 * (a fuzzer makes a machine per input) and zeroed when taken, so a stack
 * starts as a fresh mapping would: all zero. Zeroing a small stack costs
 * less than mapping one and faulting its pages in; big ones (the default
 * 1 MiB) are lazily backed, and zeroing them would not pay.
 */
static struct spare_pool spare_stacks = { .max_bytes = (256UL << 10) + PAGE_SIZE };

void fiber_alloc(struct fiber *f, size_t stack_bytes)
{
	size_t len = ALIGN_UP(stack_bytes, PAGE_SIZE) + PAGE_SIZE;
	void *p = spare_take(&spare_stacks, len);
	if (p) {
		memset((uint8_t *)p + PAGE_SIZE, 0, len - PAGE_SIZE); /* the guard page stays */
	} else {
		/* NORESERVE: 64 cores of 1 MiB stacks cost only the pages touched. */
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (p == MAP_FAILED)
			panic("sim: cannot map a %zu-byte fiber stack", len);
		/* The guard page turns a stack overflow into a fault, not corruption. */
		if (mprotect(p, PAGE_SIZE, PROT_NONE) != 0)
			panic("sim: cannot protect a fiber's guard page");
	}
	*f = (struct fiber){
	    .map = p,
	    .map_len = len,
	    .stack_lo = (uint8_t *)p + PAGE_SIZE,
	    .stack_len = len - PAGE_SIZE,
	};
}

void fiber_free(struct fiber *f)
{
	if (!f->map)
		return;
	asan_unpoison(f->stack_lo, f->stack_len);
	if (!spare_keep(&spare_stacks, f->map, f->map_len))
		munmap(f->map, f->map_len);
	*f = (struct fiber){0};
}

void fiber_prepare(struct fiber *f, void (*entry)(void *), void *arg)
{
	asan_unpoison(f->stack_lo, f->stack_len);
	f->entry = entry;
	f->arg = arg;
	f->asan_fake = NULL;

	/*
	 * The frame fiber_ctx_switch pops, from the lowest address: MXCSR and
	 * x87 control word (their reset values), r15, r14, r13, r12 = f, rbx,
	 * rbp = 0 (ends frame-pointer walks), and the return address. After
	 * the ret, %rsp is 16-byte aligned, so the call in fiber_entry_asm
	 * enters C with the alignment the ABI promises.
	 */
	uintptr_t top = ALIGN_DOWN((uintptr_t)f->stack_lo + f->stack_len, 16) - 16;
	uint64_t *sp = (uint64_t *)top - 8;
	sp[0] = 0x1f80 | ((uint64_t)0x037f << 32);
	sp[1] = 0;                      /* r15 */
	sp[2] = 0;                      /* r14 */
	sp[3] = 0;                      /* r13 */
	sp[4] = (uint64_t)(uintptr_t)f; /* r12 */
	sp[5] = 0;                      /* rbx */
	sp[6] = 0;                      /* rbp */
	sp[7] = (uint64_t)(uintptr_t)fiber_entry_asm;
	f->sp = sp;
}

void fiber_switch(struct fiber *from, struct fiber *to)
{
	switch_from = from;
	asan_start(&from->asan_fake, to->stack_lo, to->stack_len);
	fiber_ctx_switch(&from->sp, to->sp);
	arrived(from->asan_fake);
}

void fiber_exit(struct fiber *from, struct fiber *to)
{
	switch_from = from;
	/* NULL: this fiber is done, ASan may free its fake stack. */
	asan_start(NULL, to->stack_lo, to->stack_len);
	fiber_ctx_switch(&from->sp, to->sp);
	__builtin_unreachable();
}
