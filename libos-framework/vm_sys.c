/*
 * The VM manager in a program: struct vm_machine over the system calls,
 * the swap backings (the exported disk, or a stand-in in the program's
 * image), the fault and revocation upcalls, and the counters as figures.
 * The logic is vm.c's, which builds for the host tests too.
 */
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/pager_impl.h>
#include <libos/sched.h>
#include <libos/threads_impl.h>
#include <libos/vm.h>

#define PAGER_STACK_SIZE 16384

static uint8_t pager_stack[PAGER_STACK_SIZE] __attribute__((aligned(16)));
static struct vm_config conf;
static int64_t swap_blocks = -1; /* the block-range capability of the swap area */

extern uint8_t libos_fx_fault[512];
void libos_fx_restore(const uint8_t *fx);
int libos_ctx_save(struct user_regs *regs, uint8_t *fx) __attribute__((returns_twice));
noreturn_fn void libos_ctx_jump(const struct user_regs *regs, const uint8_t *fx);

/*
 * Copies through a page's mapping (zeroing, the mem swap). The kernel may
 * take the frame at any preemption (the abort protocol), and the copy then
 * faults: each runs as a probe. on_fault, finding a fault in the probed
 * page, jumps back to the probe's start, which answers E_STALE. Only the
 * VM calls these, inside it (a revocation upcall then waits), so one probe
 * at a time.
 */
static struct user_regs probe_regs;
static uint8_t probe_fx[512] __attribute__((aligned(16)));
static volatile uint64_t probe_page; /* the page being copied through now; 0: none */

static int probe_copy(void *dst, const void *src, uint64_t page)
{
	if (libos_ctx_save(&probe_regs, probe_fx)) {
		probe_page = 0;
		return E_STALE; /* the page's frame was taken: on_fault came back here */
	}
	probe_page = page;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (src)
		__builtin_memcpy(dst, src, 4096);
	else
		__builtin_memset(dst, 0, 4096);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	probe_page = 0;
	return 0;
}

static int64_t m_frame_alloc(bool wait)
{
	return sys_call6(SYS_FRAME_ALLOC, FRAME_ANY, wait ? FRAME_WAIT : 0, 0, 0, 0, 0);
}
static int m_frame_free(int slot)
{
	return (int)sys_frame_free((uint64_t)slot);
}
static int m_map(int slot, uint64_t va, unsigned prot)
{
	return (int)sys_map((uint64_t)slot, va, prot);
}
static int m_unmap(int slot)
{
	return (int)sys_unmap((uint64_t)slot);
}
static int m_read_ad(uint64_t va, unsigned n, uint8_t *out)
{
	return (int)sys_read_ad(va, n, out);
}
static int m_frame_number(int slot, uint64_t *frame)
{
	struct cap_info ci = { 0 };
	int err = (int)sys_cap_inspect((uint64_t)slot, &ci);
	*frame = ci.object;
	return err;
}
/* A resident page's frame is always bound; the abort protocol removes the binding. */
static int m_frame_ident(int slot, uint64_t *frame, uint64_t *gen)
{
	struct cap_info ci = { 0 };
	int err = (int)sys_cap_inspect((uint64_t)slot, &ci);
	if (!err && ci.type != OBJ_FRAME)
		err = E_STALE;
	*frame = ci.object;
	*gen = ci.gen;
	return err;
}

static bool m_frame_taken(int slot)
{
	struct cap_info ci = { 0 };
	if (sys_cap_inspect((uint64_t)slot, &ci))
		return true; /* emptied: given back by the policy's downloaded chooser */
	if (ci.bound_va)
		return false;
	(void)sys_cap_delete((uint64_t)slot); /* the stale root */
	return true;
}
static int m_zero(uint64_t va)
{
	return probe_copy((void *)va, NULL, va);
}
static noreturn_fn void m_die(int status)
{
	sys_exit(status);
}

/* The disk: one block per page, page id = block index in the swap range. */
static int disk_io(unsigned id, int slot, uint64_t op)
{
	int64_t req = sys_block_io((uint64_t)swap_blocks, id, (uint64_t)slot, op, 0);
	if (req < 0)
		return (int)req;
	return (int)sys_block_wait((uint64_t)req, BLOCK_WAIT_DONE);
}
static int disk_write(unsigned id, int slot, uint64_t va)
{
	return disk_io(id, slot, BLOCK_WRITE);
}
static int disk_read(unsigned id, int slot, uint64_t va)
{
	return disk_io(id, slot, BLOCK_READ);
}

/* The stand-in: a copy in memory the program provides (not counted in the budget). */
static int mem_write(unsigned id, int slot, uint64_t va)
{
	return probe_copy((uint8_t *)conf.mem_store + (uint64_t)id * 4096, (void *)va, va);
}
static int mem_read(unsigned id, int slot, uint64_t va)
{
	return probe_copy((void *)va, (uint8_t *)conf.mem_store + (uint64_t)id * 4096, va);
}

static struct vm_machine machine = {
	.frame_alloc = m_frame_alloc,
	.frame_free = m_frame_free,
	.map = m_map,
	.unmap = m_unmap,
	.read_ad = m_read_ad,
	.frame_number = m_frame_number,
	.frame_taken = m_frame_taken,
	.part_load = policy_bpf_load,
	.frame_ident = m_frame_ident,
	.part_unload = policy_bpf_unload,
	.zero = m_zero,
	.die = m_die,
	.backing = "none",
};

/*
 * The fault being served, copied off the exception stack before the VM
 * runs: a probe's fault is delivered at the top of that stack, over the
 * upcall's own frame and FPU save area. One at a time (the VM's faults do
 * not nest: on_fault).
 */
static struct {
	struct user_regs regs;
	uint8_t fx[512] __attribute__((aligned(16)));
	uint64_t va;
	bool write;
} served;

static noreturn_fn void serve_on_stack(void *arg)
{
	(void)arg;
	if (!libos_threads_on()) { /* (with threads on, thread.c takes the swap= schedule) */
		enum policy_kind kind;
		for (const char *spec; (spec = libos_swap_due(libos_cycles(), &kind));)
			if (kind == POLICY_PAGER)
				(void)vm_pager_swap(spec);
	}
	(void)vm_fault(served.va, served.write); /* a page of the VM's: served, or the end */
	libos_fx_restore(served.fx);
	libos_resume(&served.regs);
}

/*
 * Run fn(arg) on the pager's own stack, not the exception stack: a fault in
 * a policy hook is then delivered like any other (the kernel ends a program
 * whose fault handler faults, with no word of which policy), and fault.c
 * names the policy; and so is a probe's.
 */
static void call_on_stack(void (*fn)(void *), void *arg, void *top)
{
	register void *a __asm__("rdi") = arg;
	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "mov %[top], %%rsp\n\t"
			 "call *%[fn]\n\t"
			 "mov %%rbx, %%rsp"
			 : "+r"(a)
			 : [fn] "r"(fn), [top] "r"(top)
			 : "rbx", "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory",
			   "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

static bool on_fault(struct upcall_fault *uf)
{
	if (uf->vector != 14)
		return false;
	uint64_t va = uf->addr & ~4095ULL;
	if (probe_page && va == probe_page)
		libos_ctx_jump(&probe_regs, probe_fx); /* the probe answers E_STALE */
	/* Inside the VM, no probe's: a bug, not paging (and the pager stack is in use). */
	if (vm_busy() || !vm_page_of(va))
		return false;
	/* No revocation upcall comes while this runs on the exception stack (the kernel waits). */
	served.regs = uf->regs;
	__builtin_memcpy(served.fx, libos_fx_fault, sizeof(served.fx));
	served.va = va;
	served.write = (uf->error & 2) != 0;
	call_on_stack(serve_on_stack, NULL, pager_stack + sizeof(pager_stack));
	__builtin_unreachable();
}

static void on_revoke(struct upcall_revoke *ur)
{
	if (ur->kind == REVOKE_TAKEN) {
		uint64_t frames[64];
		(void)sys_call6(SYS_REPOSS_READ, (uint64_t)frames, 0, 0, 0, 0, 0);
		vm_revoke_taken();
		return;
	}
	if (!conf.ignore_revocation)
		(void)vm_revoke_asked(ur->frame, ur->count, ur->deadline);
}

int vm_start(const struct vm_config *cfg)
{
	struct disk_info di;
	conf = *cfg;
	if (!conf.max_pages || conf.max_pages > 512)
		conf.max_pages = 512;
	bool disk = sys_disk_info(&di) == 0;
	enum vm_backing b = conf.backing;
	if (b == VM_BACKING_AUTO)
		b = disk ? VM_BACKING_DISK : conf.mem_store ? VM_BACKING_MEM : VM_BACKING_NONE;
	if (b == VM_BACKING_DISK) {
		if (!disk)
			return E_NOTSUP;
		if ((swap_blocks = sys_block_alloc(BLOCK_ANY, conf.max_pages)) < 0)
			return (int)swap_blocks;
		machine.swap_write = disk_write;
		machine.swap_read = disk_read;
		machine.backing = "disk";
	} else if (b == VM_BACKING_MEM) {
		if (!conf.mem_store)
			return E_INVAL;
		machine.swap_write = mem_write;
		machine.swap_read = mem_read;
		machine.swap_read_needs_map = true;
		machine.backing = "mem";
	}
	struct policy_choice c = libos_choice[POLICY_PAGER];
	if (!c.info) {
		char err[200];
		if (policy_parse(POLICY_PAGER, PAGER_DEFAULT, &c, err, sizeof(err)))
			return E_NOENT;
	}
	int err = vm_start_on(&conf, &machine, &c);
	if (err) {
		printf("vm: pager policy %s refused to start (%d)\n", c.info->name, err);
		return err;
	}
	libos_choice[POLICY_PAGER] = c; /* figure lines carry it */
	if ((err = libos_set_fault_handler(on_fault)) ||
	    (err = libos_set_revoke_handler(on_revoke)))
		return err;
	return E_OK;
}

const char *vm_backing_name(void)
{
	return machine.backing;
}

void vm_print_figures(const char *extra)
{
	struct vm_stats s;
	char x[300];
	vm_stats(&s);
	ksnprintf(x, sizeof(x), "\"backing\":\"%s\",\"budget\":%u%s%s", machine.backing,
		  vm_budget(), extra ? "," : "", extra ? extra : "");
	libos_figure_value("vm_faults", "faults", s.faults, x);
	libos_figure_value("vm_write_faults", "faults", s.write_faults, x);
	libos_figure_value("vm_zero_fills", "pages", s.zero_fills, x);
	libos_figure_value("vm_evictions", "pages", s.evictions, x);
	libos_figure_value("vm_evict_dirty", "pages", s.evict_dirty, x);
	libos_figure_value("vm_swap_reads", "blocks", s.swap_reads, x);
	libos_figure_value("vm_swap_writes", "blocks", s.swap_writes, x);
	libos_figure_value("vm_pager_cycles", "cycles", s.pager_cycles, x);
	if (s.revoke_asked || s.taken) {
		libos_figure_value("vm_revoke_asked", "frames", s.revoke_asked, x);
		libos_figure_value("vm_revoke_given", "frames", s.revoke_given, x);
		libos_figure_value("vm_taken", "frames", s.taken, x);
		libos_figure_value("vm_lost", "pages", s.lost, x);
		libos_figure_value("vm_refetched", "pages", s.refetched, x);
	}
}
