/*
 * The IDT and the C side of every trap: exceptions, the APIC timer, IPIs.
 * A kernel exception is fatal (panic with the trapped registers) unless a
 * test announced it through percpu's expect_vector, in which case the fault
 * is recorded and execution resumes at expect_resume.
 */
#include <arch/cpu.h>
#include <arch/context.h>
#include <arch/debug.h>
#include <arch/x86.h>
#include <exo/abi.h>
#include <exo/env.h>
#include <exo/uaccess.h>
#include <exo/kprintf.h>
#include <exo/panic.h>
#include <ipi.h>
#include <percpu.h>

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type; /* P | DPL | type */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout");

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern const uint64_t trap_stubs[256];

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
	"reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t off = trap_stubs[v];
		idt[v] = (struct idt_gate){
			.off_lo = (uint16_t)off,
			.sel = SEL_KCODE,
			.ist = v == 2 ? 1 : v == 8 ? 2 : 0, /* NMI, #DF on their own stacks */
			/* present, interrupt gate; DPL 3 for int3 and into, so user code can raise them */
			.type = v == 3 || v == 4 ? 0xee : 0x8e,
			.off_mid = (uint16_t)(off >> 16),
			.off_hi = (uint32_t)(off >> 32),
		};
	}
}

void idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" ::"m"(idtr));
}

/* entry.S's trap_user_fault reaches these by fixed offsets (asm-offsets.h). */
#include "asm-offsets.h"
_Static_assert(offsetof(struct env, fault_entry) == ENV_FAULT_ENTRY, "asm offset");
_Static_assert(offsetof(struct env, fault_stack) == ENV_FAULT_STACK, "asm offset");
_Static_assert(offsetof(struct env, fault_stack_size) == ENV_FAULT_STACK_SIZE, "asm offset");
_Static_assert(offsetof(struct env, fault_pin) == ENV_FAULT_PIN, "asm offset");
_Static_assert(offsetof(struct env, fault_pin_uva) == ENV_FAULT_PIN_UVA, "asm offset");
_Static_assert(offsetof(struct env, fault_pin_busy) == ENV_FAULT_PIN_BUSY, "asm offset");
_Static_assert(sizeof(((struct env *)0)->fault_pin_busy) == 4, "entry.S: a long");
_Static_assert(offsetof(struct upcall_fault, regs.rax) == 24 &&
		   offsetof(struct upcall_fault, regs.rflags) == 160,
	       "entry.S writes struct upcall_fault by offset");

/* The frame a fatal trap left, for arch_dump_registers/backtrace (debug.c). */
extern struct trap_frame *panic_frame[MAX_CPUS];

/*
 * The fault and the registers a trap frame holds, in the ABI's layout,
 * written to u: field by field, each a load and a store.
 */
static inline void fault_write(struct upcall_fault *u, const struct trap_frame *f, uint64_t cr2)
{
	u->vector = f->vector;
	u->error = f->error;
	u->addr = cr2;
	u->regs.rax = f->rax;
	u->regs.rbx = f->rbx;
	u->regs.rcx = f->rcx;
	u->regs.rdx = f->rdx;
	u->regs.rsi = f->rsi;
	u->regs.rdi = f->rdi;
	u->regs.rbp = f->rbp;
	u->regs.r8 = f->r8;
	u->regs.r9 = f->r9;
	u->regs.r10 = f->r10;
	u->regs.r11 = f->r11;
	u->regs.r12 = f->r12;
	u->regs.r13 = f->r13;
	u->regs.r14 = f->r14;
	u->regs.r15 = f->r15;
	u->regs.rip = f->rip;
	u->regs.rsp = f->rsp;
	u->regs.rflags = f->rflags;
}

/* The checked copy of the frame to uva (off the fast path: its buffer needs a stack canary). */
static __attribute__((noinline)) int fault_write_copy(struct env *e, uint64_t uva,
						      const struct trap_frame *f, uint64_t cr2)
{
	struct upcall_fault uf;
	fault_write(&uf, f, cr2);
	return copy_to_user(e, uva, &uf, sizeof(uf));
}

/*
 * Write the fault frame through e's pin (exo/env.h), if it has one: no walk,
 * no lock. fault_pin_busy tells whoever unpins (another core unmapping the
 * page) to wait until the write is done. False: no pin.
 */
static bool fault_write_pinned(struct env *e, const struct trap_frame *f, uint64_t cr2)
{
	__atomic_store_n(&e->fault_pin_busy, 1, __ATOMIC_SEQ_CST);
	struct upcall_fault *u = __atomic_load_n(&e->fault_pin, __ATOMIC_SEQ_CST);
	if (u)
		fault_write(u, f, cr2);
	__atomic_store_n(&e->fault_pin_busy, 0, __ATOMIC_RELEASE);
	return u != NULL;
}

/*
 * Deliver an exception to the environment's UPCALL_FAULT handler: the fault
 * and the interrupted registers go to the top of its exception stack, and
 * the trap returns to the handler with rdi pointing at them. The handler
 * resumes the interrupted context itself (libos-framework/upcall.S), without
 * entering the kernel. False if it cannot be delivered: no handler, a fault
 * inside the handler (its stack pointer is on the exception stack), or an
 * exception stack that is not mapped writable.
 *
 * The frame's page is checked by a walk at the first fault and pinned
 * (uaccess_fault_pin): later faults write through the pin until the page
 * is unmapped (env_unmap unpins) or the stack is set again. A frame that
 * crosses a page goes through the checked copy every time.
 */
static bool deliver_fault(struct env *e, struct trap_frame *f, uint64_t cr2, const char **why)
{
	if (!e->fault_entry || f->vector == 2 || f->vector == 8 || f->vector == 18) {
		*why = "no handler";
		return false;
	}
	if (f->rsp > e->fault_stack && f->rsp <= e->fault_stack + e->fault_stack_size) {
		*why = "fault inside its fault handler";
		return false;
	}
	uint64_t frame =
	    ALIGN_DOWN(e->fault_stack + e->fault_stack_size - sizeof(struct upcall_fault), 16);
	if (!fault_write_pinned(e, f, cr2) &&
	    (uaccess_fault_pin(e, frame, sizeof(struct upcall_fault)) != E_OK ||
	     !fault_write_pinned(e, f, cr2))) {
		/* Not pinnable (unmapped, read-only, across two pages) or unpinned meanwhile. */
		if (fault_write_copy(e, frame, f, cr2) != E_OK) {
			*why = "its exception stack is not mapped writable";
			return false;
		}
	}
	f->rip = e->fault_entry;
	f->rsp = frame - 8; /* as after a call: the handler's frame is 16-byte aligned */
	f->rdi = frame;
	f->rflags &= ~(1ULL << 8 | 1ULL << 10); /* TF, DF clear, as on any entry */
	return true;
}

/*
 * A fault in user mode goes to the environment's handler; without one (or
 * when the handler itself faults) it ends the environment: a log line, exit
 * status 128 + vector, back to the run loop. Never the kernel's problem.
 */
static void user_exception(struct trap_frame *f, uint64_t cr2)
{
	struct percpu *p = this_cpu();
	struct env *e = p->current;
	const char *why;
	if (deliver_fault(e, f, cr2, &why))
		return;
	kprintf("env %u: %s at rip 0x%llx, cr2 0x%llx, error 0x%llx (%s): ended\n", e->id,
		exc_names[f->vector], (unsigned long long)f->rip, (unsigned long long)cr2,
		(unsigned long long)f->error, why);
	e->exit_status = (int)(128 + f->vector);
	p->exiting = true;
	arch_user_exit();
}

static void exception(struct trap_frame *f)
{
	struct percpu *p = this_cpu();
	uint64_t cr2 = f->vector == 14 ? read_cr2() : 0;
	if ((f->cs & 3) && p->current) {
		user_exception(f, cr2);
		return;
	}
	if (p->expect_vector == (int)f->vector) {
		/* A test provoked this fault on purpose: record it and resume. */
		p->fault_vector = (int)f->vector;
		p->fault_error = f->error;
		p->fault_addr = cr2;
		p->expect_vector = -1;
		f->rip = p->expect_resume;
		return;
	}
	panic_frame[p->id] = f;
	/* A #PF on a stack's guard page cannot push its frame there: it arrives as #DF. */
	uint64_t where = f->vector == 8 ? read_cr2() : cr2;
	int guard = (f->vector == 8 || f->vector == 14) ? gdt_guard_cpu(where) : -1;
	if (guard >= 0)
		panic("kernel stack overflow on cpu%u: cpu%d's stack ran into its guard page at "
		      "0x%llx (rip 0x%llx)",
		      p->id, guard, (unsigned long long)where, (unsigned long long)f->rip);
	panic("exception %s (vector %llu) on cpu%u: error 0x%llx rip 0x%llx cr2 0x%llx",
	      exc_names[f->vector], (unsigned long long)f->vector, p->id,
	      (unsigned long long)f->error, (unsigned long long)f->rip, (unsigned long long)cr2);
}

void trap_dispatch(struct trap_frame *f);
/*
 * An interrupt taken in user mode is about to return there: the scheduler
 * may take over. Not inlined: its context on the stack would cost
 * trap_dispatch a stack canary on every trap.
 */
static __attribute__((noinline)) void user_return_point(const struct trap_frame *f)
{
	struct arch_uctx u = {
		.rax = f->rax,
		.rbx = f->rbx,
		.rcx = f->rcx,
		.rdx = f->rdx,
		.rsi = f->rsi,
		.rdi = f->rdi,
		.rbp = f->rbp,
		.r8 = f->r8,
		.r9 = f->r9,
		.r10 = f->r10,
		.r11 = f->r11,
		.r12 = f->r12,
		.r13 = f->r13,
		.r14 = f->r14,
		.r15 = f->r15,
		.rip = f->rip,
		.rsp = f->rsp,
		.rflags = f->rflags,
	};
	sched_preempt_point(&u);
}

void trap_dispatch(struct trap_frame *f)
{
	uint64_t v = f->vector;
	if (v == 2) {
		/* NMI: only ever our stop request (it reaches cores with IF=0). */
		ipi_receive(IPI_STOP);
	} else if (v < 32) {
		exception(f);
	} else if (v == VEC_TIMER) {
		lapic_eoi();
		apic_timer_interrupt();
		if (f->cs & 3)
			user_return_point(f); /* the slice may be over (preemption) */
	} else if (v >= IPI_VECTOR_BASE && v < IPI_VECTOR_BASE + IPI_KINDS) {
		lapic_eoi();
		ipi_receive((enum ipi_kind)(v - IPI_VECTOR_BASE));
		if (f->cs & 3)
			user_return_point(f); /* a doorbell may have brought a request */
	} else if (v == VEC_SPURIOUS) {
		/* Spurious: no EOI. */
	} else {
		lapic_eoi();
		kprintf("trap: unexpected vector %llu\n", (unsigned long long)v);
	}
}
