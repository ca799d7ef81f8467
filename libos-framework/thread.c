/*
 * User-level threads (libos/sched.h) and the sched policy that runs them
 * (libos/sched_impl.h).
 *
 * One environment runs on one core, so threads never run at once: the only
 * interleaving is preemption, which comes as the scheduler upcall at a
 * slice start. The framework's state is guarded by `crit`: while it is set
 * the upcall only notes that a slice started (preempt_pending) and resumes
 * the interrupted code, which reschedules when it leaves. Every switch ends
 * in libos_thread_resume, whose last step (on the new thread's stack, all
 * its registers loaded) clears crit.
 *
 * A policy is untrusted: every thread pick() returns is checked, a runnable
 * thread left queued past the watchdog bound ends the policy, and either
 * way the environment goes on under SCHED_DEFAULT (docs/policies.md).
 */
#include <libos/args.h>
#include <libos/libos.h>
#include <libos/sched_impl.h>
#include <libos/threads_impl.h>

#define STACK_REGION 0x0000100000000000ULL /* thread stacks, each with a guard page below */
#define STACK_STRIDE (32 * 4096ULL) /* >= THREAD_STACK_PAGES_MAX + a guard page; a power of two */
#define IDLE_STACK_SIZE 4096
#define WATCHDOG_MS_DEFAULT 5000
#define MAX_HELD 8 /* mutexes one thread may hold at once, for inheritance */

/*
 * The threads by id - 1: main is static, every other one lives at the top
 * of its own stack window (no table of THREAD_MAX structs in every
 * program's image: each image page costs a capability slot).
 */
static struct thread main_thread;
static struct thread *threads[THREAD_MAX];
static struct thread idle; /* runs when no thread is runnable; never queued */
static struct thread *current;
static const struct sched_ops *pol;
static struct policy_choice pol_choice;
static bool threads_on;
static bool preempt_pending;
static uint64_t picked_at; /* cycle counter when current was picked */
static unsigned nsleeping;
static unsigned nwaiting; /* threads in thread_wait_until */
static uint64_t next_wake = ~0ULL;
static uint64_t watchdog_cycles, next_watchdog;
static uint8_t fx_clean[512] __attribute__((aligned(16))); /* FXSAVE image a thread starts with */
static uint8_t fx_boot[512]
    __attribute__((aligned(16))); /* before threads: the upcall's save area */
static uint8_t idle_stack[IDLE_STACK_SIZE] __attribute__((aligned(16)));
static uint64_t hz;
static uint64_t swaps, misbehaved;
static uint64_t busy_preempts; /* slice starts that found the framework busy */

/* The policy hook running now, for the fault handler's message (NULL: none). */
const char *libos_sched_hook;

/* Shared with upcall.S: the critical-section flag and where the upcall saves the FPU state. */
volatile uint32_t libos_crit;
uint8_t *libos_cur_fx = fx_boot;

int libos_ctx_save(struct user_regs *regs, uint8_t *fx) __attribute__((returns_twice));
noreturn_fn void libos_thread_resume(const struct user_regs *regs, const uint8_t *fx);
noreturn_fn void libos_resume_fx(const struct user_regs *regs, const uint8_t *fx);
noreturn_fn void libos_ctx_restore(const struct user_regs *regs, const uint8_t *fx);

uint64_t libos_cycles(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t libos_cycles_hz(void)
{
	if (!hz) {
		struct sys_time st = { 0 };
		hz = sys_time(&st) == 0 && st.cycles_hz ? st.cycles_hz : 1000000000ULL;
	}
	return hz;
}

static uint64_t us_to_cycles(uint64_t us)
{
	return us * (libos_cycles_hz() / 1000000);
}

static void enter(void)
{
	libos_crit = 1;
}

/* Leave the critical section; a slice that started meanwhile is taken now. */
static void leave(void)
{
	libos_crit = 0;
	if (__atomic_load_n(&preempt_pending, __ATOMIC_RELAXED))
		thread_yield();
}

noreturn_fn static void fatal(const char *why)
{
	printf("libos: threads: %s\n", why);
	sys_exit(2);
}

/* ------------------------------------------------------------------ */
/* Calls into the policy, each answer checked. */

static uint64_t window_top(unsigned i);

/* struct thread of slot i (1..THREAD_MAX-1): at the top of its window. */
static struct thread *slot_thread(unsigned i)
{
	return (struct thread *)(window_top(i) - ALIGN_UP(sizeof(struct thread), 64));
}

/* t is one of ours (main, or a slot in use): an address a policy hands back is checked so. */
static bool is_thread(const struct thread *t)
{
	if (t == &main_thread)
		return true;
	uint64_t a = (uint64_t)t;
	if (a < STACK_REGION || a >= window_top(THREAD_MAX - 1))
		return false;
	unsigned i = (unsigned)((a - STACK_REGION) / STACK_STRIDE);
	return i >= 1 && threads[i] == t;
}

static void enqueue(struct thread *t, uint64_t now)
{
	t->queued = true;
	t->ready_since = now;
	libos_sched_hook = "enqueue";
	pol->enqueue(t, now);
	libos_sched_hook = NULL;
}

static void charge(struct thread *t, uint64_t cycles)
{
	t->ran += cycles;
	if (pol->charge) {
		libos_sched_hook = "charge";
		pol->charge(t, cycles);
		libos_sched_hook = NULL;
	}
}

static void dequeue(struct thread *t)
{
	libos_sched_hook = "dequeue";
	pol->dequeue(t);
	libos_sched_hook = NULL;
}

/*
 * Around a change of t's attributes (priority inheritance, thread_set_attr):
 * take it off the policy's queue if it is queued, and put it back after, so
 * the policy sees the new values.
 */
static bool unqueue(struct thread *t)
{
	if (t->queued)
		dequeue(t);
	return t->queued;
}

static void requeue(struct thread *t, bool was_queued)
{
	if (!was_queued)
		return;
	libos_sched_hook = "enqueue";
	pol->enqueue(t, t->ready_since);
	libos_sched_hook = NULL;
}

static void swap_to_default(const char *why, const struct thread *culprit);
static int sched_swap_locked(const char *spec, bool announce);

static struct thread *pick(uint64_t now)
{
	libos_sched_hook = "pick";
	struct thread *t = pol->pick(now);
	libos_sched_hook = NULL;
	if (!t)
		return NULL;
	if (!is_thread(t) || !t->queued || t->state != THREAD_RUNNABLE) {
		swap_to_default("pick() returned a thread it was not given", NULL);
		return pol->pick(now);
	}
	t->queued = false;
	return t;
}

/* ------------------------------------------------------------------ */
/* Switching. */

static void wake_sleepers(uint64_t now)
{
	if (!nsleeping || now < next_wake)
		return;
	next_wake = ~0ULL;
	for (unsigned i = 0; i < THREAD_MAX; i++) {
		struct thread *t = threads[i];
		if (!t || t->state != THREAD_SLEEPING)
			continue;
		if (t->wake_at <= now) {
			t->state = THREAD_RUNNABLE;
			nsleeping--;
			enqueue(t, now);
		} else {
			next_wake = MIN(next_wake, t->wake_at);
		}
	}
}

/* Threads blocked in thread_wait_until whose condition now holds become runnable. */
static void wake_waiters(uint64_t now)
{
	if (!nwaiting)
		return;
	for (unsigned i = 0; i < THREAD_MAX; i++) {
		struct thread *t = threads[i];
		if (!t || t->state != THREAD_BLOCKED || !t->wait_ready ||
		    !t->wait_ready(t->wait_arg))
			continue;
		t->wait_ready = NULL;
		nwaiting--;
		t->state = THREAD_RUNNABLE;
		enqueue(t, now);
	}
}

/* Run t: a context it saved itself needs only its callee-saved registers back. */
static inline noreturn_fn void resume(struct thread *t)
{
	libos_cur_fx = t->fx;
	if (t->saved_by_switch)
		libos_ctx_restore(&t->regs, t->fx);
	libos_thread_resume(&t->regs, t->fx);
}

/*
 * With crit held: put current back in the queue if requeue and it is still
 * runnable, and run what the policy picks. Returns (crit released) when the
 * caller is resumed, or at once if it is picked again.
 */
static void schedule(bool requeue)
{
	uint64_t now = libos_cycles();
	struct thread *prev = current;
	preempt_pending = false;
	if (prev != &idle) {
		charge(prev, now - picked_at);
		if (requeue && prev->state == THREAD_RUNNABLE)
			enqueue(prev, now);
	}
	wake_sleepers(now);
	wake_waiters(now);
	struct thread *next = pick(now);
	if (!next)
		next = &idle;
	picked_at = now;
	if (next == prev) {
		leave();
		return;
	}
	current = next;
	prev->saved_by_switch = true;
	if (libos_ctx_save(&prev->regs, prev->fx) == 0)
		resume(next);
	/* Resumed: libos_thread_resume cleared crit. */
}

/* Block the caller (crit held, its state and wait list already set). */
static void block(void)
{
	schedule(false);
}

static void make_runnable(struct thread *t)
{
	t->state = THREAD_RUNNABLE;
	enqueue(t, libos_cycles());
}

/* The idle thread: give the slice back until a sleeper is due or a thread is woken. */
noreturn_fn static void idle_loop(void *unused)
{
	for (;;) {
		__builtin_ia32_pause(); /* under -icount: let a core we may wait for run */
		(void)sys_yield();
		enter();
		schedule(false);
	}
}

/* The scheduler upcall with threads on (sched.c calls it). */
void libos_threads_preempt(struct upcall_sched *us)
{
	if (libos_crit) {
		/*
		 * In the framework: note it; leave() reschedules. Resumed with
		 * crit still held: clearing it here would let the next slice
		 * start run the scheduler inside the section it interrupted.
		 */
		preempt_pending = true;
		busy_preempts++;
		libos_resume_fx(&us->regs, libos_cur_fx);
	}
	enter();
	current->regs = us->regs; /* upcall.S saved its FPU state in current->fx */
	current->saved_by_switch = false;
	uint64_t now = libos_cycles();
	enum policy_kind kind;
	for (const char *spec; (spec = libos_swap_due(now, &kind));)
		if (kind == POLICY_SCHED)
			(void)sched_swap_locked(spec, true);
		else
			(void)libos_policy_swap(kind, spec); /* its own runtime; never blocks */
	if (watchdog_cycles && now >= next_watchdog) {
		next_watchdog = now + watchdog_cycles / 4;
		for (unsigned i = 0; i < THREAD_MAX; i++)
			if (threads[i] && threads[i]->queued &&
			    now - threads[i]->ready_since > watchdog_cycles) {
				swap_to_default("a runnable thread waited past the watchdog bound",
						threads[i]);
				break;
			}
	}
	/* Its saved context is complete: a switch resumes it through regs. */
	struct thread *prev = current;
	if (prev != &idle) {
		charge(prev, now - picked_at);
		if (prev->state == THREAD_RUNNABLE)
			enqueue(prev, now);
	}
	preempt_pending = false;
	wake_sleepers(now);
	wake_waiters(now);
	struct thread *next = pick(now);
	current = next ? next : &idle;
	picked_at = now;
	resume(current);
}

/* ------------------------------------------------------------------ */
/* Policies: choice, swap, and the fallback. */

static int policy_start(const struct policy_choice *c)
{
	const struct sched_ops *ops = (const struct sched_ops *)c->info;
	if (!ops->init || !ops->enqueue || !ops->dequeue || !ops->pick)
		return E_INVAL; /* configure.py refuses such a file; a hand-made table may still */
	libos_sched_hook = "init";
	int err = ops->init(c->values);
	libos_sched_hook = NULL;
	if (err)
		return err;
	pol = ops;
	pol_choice = *c;
	return E_OK;
}

/* Hand every queued thread from the policy to `order` (at most THREAD_MAX). */
static unsigned drain(struct thread **order, uint64_t now)
{
	unsigned n = 0;
	for (struct thread *t; n < THREAD_MAX && (t = pick(now));)
		order[n++] = t;
	return n;
}

/* Clear what the outgoing policy kept in t (a new policy starts from its own zero). */
static void forget(struct thread *t)
{
	t->pnext = t->pprev = NULL;
	t->pv[0] = t->pv[1] = t->pv[2] = t->pv[3] = 0;
}

/*
 * Replace a misbehaving policy by the default, rebuilding the queue from
 * the framework's own view (every runnable thread not running), with a dump.
 */
static void swap_to_default(const char *why, const struct thread *culprit)
{
	misbehaved++;
	char spec[POLICY_SPEC_MAX];
	policy_format(&pol_choice, spec, sizeof(spec));
	printf("sched: policy %s misbehaved: %s; swapping in %s\n", spec, why, SCHED_DEFAULT);
	for (unsigned i = 0; i < THREAD_MAX; i++) {
		const struct thread *t = threads[i];
		if (t && t->state != THREAD_FREE)
			printf(
			    "sched:   thread %u%s%s state %d queued %d ran %llu waited %llu%s\n",
			    t->id, t->attr.name ? " " : "", t->attr.name ? t->attr.name : "",
			    (int)t->state, (int)t->queued, (unsigned long long)t->ran,
			    (unsigned long long)(t->queued ? libos_cycles() - t->ready_since : 0),
			    t == culprit ? "  <- this one" : "");
	}
	struct policy_choice def;
	char err[160];
	if (policy_parse(POLICY_SCHED, SCHED_DEFAULT, &def, err, sizeof(err)) || policy_start(&def))
		fatal("the default sched policy cannot start");
	uint64_t now = libos_cycles();
	for (unsigned i = 0; i < THREAD_MAX; i++) {
		struct thread *t = threads[i];
		if (t)
			forget(t);
		if (t && t->state == THREAD_RUNNABLE && t != current)
			enqueue(t, t->queued ? t->ready_since : now);
	}
}

/*
 * Swap with crit held (from a thread, or from the upcall for the swap=
 * schedule, which announces it: a program's own swap is told by the result).
 */
static int sched_swap_locked(const char *spec, bool announce)
{
	struct policy_choice c;
	char err[400];
	int e = policy_parse(POLICY_SCHED, spec, &c, err, sizeof(err));
	if (e) {
		printf("sched: swap refused: %s\n", err);
		return e;
	}
	uint64_t now = libos_cycles();
	static struct thread *order[THREAD_MAX];
	unsigned n =
	    drain(order, now); /* the old policy's state, kind-neutral: its queue in order */
	struct policy_choice old = pol_choice;
	if (pol->fini) {
		libos_sched_hook = "fini";
		pol->fini();
		libos_sched_hook = NULL;
	}
	for (unsigned i = 0; i < n; i++)
		forget(order[i]);
	if (current != &idle)
		forget(
		    current); /* running, so not drained, but the old policy may have kept state in it */
	if ((e = policy_start(&c))) {
		printf("sched: swap refused: %s's init said %s; %s goes on\n", c.info->name,
		       err_name(e), old.info->name);
		if (policy_start(&old))
			fatal("the old sched policy cannot restart");
	}
	for (unsigned i = 0; i < n; i++)
		enqueue(order[i], order[i]->ready_since);
	if (!e && announce) {
		char spec_now[POLICY_SPEC_MAX];
		policy_format(&c, spec_now, sizeof(spec_now));
		printf("sched: swapped in %s (%u queued threads handed over)\n", spec_now, n);
	}
	swaps += !e;
	return e;
}

int libos_sched_swap(const char *spec)
{
	if (!threads_on) {
		/* Nothing runs yet: the choice is the one threads will start with. */
		char err[400];
		int e =
		    policy_parse(POLICY_SCHED, spec, &libos_choice[POLICY_SCHED], err, sizeof(err));
		if (e)
			printf("sched: swap refused: %s\n", err);
		return e;
	}
	enter();
	int e = sched_swap_locked(spec, false);
	leave();
	return e;
}

const char *libos_sched_policy_name(void)
{
	return pol ? pol->info.name : NULL;
}

const char *libos_sched_current(void)
{
	static char spec[POLICY_SPEC_MAX];
	const struct policy_choice *c = threads_on ? &pol_choice : &libos_choice[POLICY_SCHED];
	policy_format(c, spec, sizeof(spec));
	return spec;
}

/* ------------------------------------------------------------------ */
/* Threads. */

noreturn_fn static void thread_start(struct thread *t)
{
	t->fn(t->arg);
	thread_exit(0);
}

static void recompute_prio(struct thread *t);

static void init_context(struct thread *t, uint64_t stack_top, void (*entry)(struct thread *))
{
	t->regs = (struct user_regs){
		.rip = (uint64_t)entry, .rsp = stack_top - 8, .rdi = (uint64_t)t, .rflags = 0x202
	};
	t->saved_by_switch = false; /* a full context: rdi carries the thread */
	__builtin_memcpy(t->fx, fx_clean, sizeof(t->fx));
}

static int threads_init(void)
{
	if (libos_sched_handler_installed())
		return E_BUSY; /* the program runs its own slice handler */
	if (!libos_choice[POLICY_SCHED].info) {
		char err[160];
		if (policy_parse(POLICY_SCHED, SCHED_DEFAULT, &libos_choice[POLICY_SCHED], err,
				 sizeof(err)))
			fatal(err);
	}
	int err = policy_start(&libos_choice[POLICY_SCHED]);
	if (err) {
		char spec[POLICY_SPEC_MAX];
		policy_format(&libos_choice[POLICY_SCHED], spec, sizeof(spec));
		printf("sched: policy %s refused to start: %s\n", spec, err_name(err));
		return err;
	}
	__asm__ volatile("fxsave %0" : "=m"(fx_clean));
	struct thread *m = threads[0] = &main_thread;
	*m = (struct thread){ .id = 1,
			      .state = THREAD_RUNNABLE,
			      .attr = { .prio = 0, .tickets = 100, .name = "main" } };
	m->eff_prio = 0;
	current = m;
	libos_cur_fx = m->fx;
	idle = (struct thread){ .id = 0, .state = THREAD_RUNNABLE, .attr = { .name = "idle" } };
	init_context(&idle, (uint64_t)(idle_stack + IDLE_STACK_SIZE),
		     (void (*)(struct thread *))(void (*)(void))idle_loop);
	watchdog_cycles =
	    libos_arg_u64("watchdog_ms", WATCHDOG_MS_DEFAULT) * (libos_cycles_hz() / 1000);
	picked_at = libos_cycles();
	threads_on = true;
	err = libos_fault_upcall_on();
	if (!err)
		err = libos_sched_upcall_on();
	if (err) {
		threads_on = false;
		return err;
	}
	return E_OK;
}

/*
 * Thread slot i's window: a guard page, then up to THREAD_STACK_PAGES_MAX
 * pages whose top holds its struct thread and below it the stack. Frames
 * are allocated the first time a slot needs them and kept for its next user.
 */
static uint64_t window_top(unsigned i)
{
	return STACK_REGION + (i + 1) * STACK_STRIDE;
}

static int stack_grow(unsigned i, unsigned *have, uint32_t *frames, unsigned pages)
{
	for (; *have < pages; ++*have) {
		int64_t slot = sys_frame_alloc(FRAME_ANY);
		if (slot < 0)
			return (int)slot;
		int64_t err =
		    sys_map((uint64_t)slot, window_top(i) - (*have + 1) * 4096ULL, PROT_R | PROT_W);
		if (err) {
			(void)sys_frame_free((uint64_t)slot);
			return (int)err;
		}
		frames[*have] = (uint32_t)slot;
	}
	return E_OK;
}

/* A free thread slot with at least `pages` of stack, its struct at the top; NULL + *err. */
static struct thread *slot_get(unsigned pages, int *err)
{
	unsigned i = 1;
	while (i < THREAD_MAX && threads[i] && threads[i]->state != THREAD_FREE)
		i++;
	if (i == THREAD_MAX) {
		*err = E_AGAIN;
		return NULL;
	}
	struct thread *t = slot_thread(i);
	unsigned have = threads[i] ? t->stack_npages : 0;
	uint32_t frames[THREAD_STACK_PAGES_MAX];
	if (have)
		__builtin_memcpy(frames, t->stack_frames, sizeof(frames));
	if ((*err = stack_grow(i, &have, frames, pages))) {
		if (have && !threads[i]) {
			/* The first page maps the struct: keep what we got as a free slot. */
			__builtin_memset(t, 0, sizeof(*t));
			threads[i] = t;
		}
		if (threads[i]) {
			__builtin_memcpy(t->stack_frames, frames, sizeof(frames));
			t->stack_npages = have;
		}
		return NULL;
	}
	if (!threads[i])
		__builtin_memset(t, 0, sizeof(*t));
	__builtin_memcpy(t->stack_frames, frames, sizeof(frames));
	t->stack_npages = have;
	t->stack_va = (uint64_t)t; /* the stack grows down from below the struct */
	t->id = i + 1;
	threads[i] = t;
	return t;
}

int thread_create(struct thread **out, void (*fn)(void *), void *arg,
		  const struct thread_attr *attr)
{
	struct thread_attr a = attr ? *attr : (struct thread_attr){ 0 };
	if (!a.tickets)
		a.tickets = 100;
	if (!a.stack_pages)
		a.stack_pages = THREAD_STACK_PAGES;
	if (a.prio > THREAD_PRIO_MAX || a.stack_pages > THREAD_STACK_PAGES_MAX || !fn ||
	    (a.period_us && a.budget_us > a.period_us))
		return E_INVAL;
	if (!threads_on) {
		int err = threads_init();
		if (err)
			return err;
	}
	enter();
	int err;
	struct thread *t = slot_get(a.stack_pages, &err);
	if (!t) {
		leave();
		return err;
	}
	uint64_t now = libos_cycles();
	t->attr = a;
	t->eff_prio = a.prio;
	t->ran = t->misses = t->retval = 0;
	t->release = now;
	t->deadline = a.period_us ? now + us_to_cycles(a.period_us) : 0;
	t->fn = fn;
	t->arg = arg;
	t->joiner = NULL;
	t->joined = false;
	t->blocked_on = NULL;
	forget(t);
	init_context(t, ALIGN_DOWN(t->stack_va, 16), thread_start);
	t->state = THREAD_RUNNABLE;
	enqueue(t, now);
	*out = t;
	leave();
	return E_OK;
}

void thread_exit(uint64_t value)
{
	if (!threads_on || current == &main_thread) {
		libos_ipc_exit();
		sys_exit((int)value); /* the main thread's end is the program's */
	}
	enter();
	struct thread *t = current;
	t->retval = value;
	t->state = THREAD_EXITED;
	if (t->joiner)
		make_runnable(t->joiner);
	block();
	__builtin_unreachable();
}

int thread_join(struct thread *t, uint64_t *value)
{
	if (!threads_on || !is_thread(t) || t == current || t->state == THREAD_FREE || t->joined ||
	    t->joiner)
		return E_INVAL;
	enter();
	if (t->state != THREAD_EXITED) {
		t->joiner = current;
		current->state = THREAD_BLOCKED;
		block();
		enter();
	}
	if (value)
		*value = t->retval;
	t->joined = true;
	t->state = THREAD_FREE; /* its stack stays with the slot */
	leave();
	return E_OK;
}

void thread_yield(void)
{
	if (!threads_on)
		return;
	enter();
	schedule(true);
}

void thread_sleep_until(uint64_t cycles)
{
	if (!threads_on) {
		while (libos_cycles() < cycles)
			(void)sys_yield();
		return;
	}
	enter();
	struct thread *t = current;
	if (t == &idle || cycles <= libos_cycles()) {
		leave();
		return;
	}
	t->state = THREAD_SLEEPING;
	t->wake_at = cycles;
	nsleeping++;
	next_wake = MIN(next_wake, cycles);
	block();
}

void thread_wait_until(bool (*ready)(void *), void *arg)
{
	if (!threads_on) {
		/* pause: under -icount the vCPUs take turns at a pause, and the peer may be on one. */
		while (!ready(arg)) {
			__builtin_ia32_pause();
			(void)sys_yield();
		}
		return;
	}
	enter();
	struct thread *t = current;
	if (ready(arg)) {
		leave();
		return;
	}
	if (t == &idle)
		fatal("thread_wait_until from the idle thread");
	t->state = THREAD_BLOCKED;
	t->wait_ready = ready;
	t->wait_arg = arg;
	nwaiting++;
	block();
}

void thread_sleep_ns(uint64_t ns)
{
	/* At least ns: hz / 1000000 rounded down made a sleep up to 0.1% short. */
	uint64_t hz = libos_cycles_hz();
	thread_sleep_until(libos_cycles() + ns / 1000000000 * hz +
			   ((ns % 1000000000) * hz + 999999999) / 1000000000);
}

uint64_t thread_job_done(void)
{
	struct thread *t = current;
	if (!threads_on || !t->attr.period_us)
		return 0;
	uint64_t now = libos_cycles(), period = us_to_cycles(t->attr.period_us);
	if (now > t->deadline)
		t->misses++;
	t->release += period;
	if (t->release + period < now) /* overran whole periods: skip the jobs never started */
		t->release = now - (now - t->release) % period;
	t->deadline = t->release + period;
	thread_sleep_until(t->release);
	return t->misses;
}

struct thread *thread_self(void)
{
	if (!threads_on && threads_init())
		return NULL; /* the program runs its own slice handler: no threads */
	return current;
}
unsigned thread_id(const struct thread *t)
{
	return t ? t->id : 0;
}
const struct thread_attr *thread_attr_of(const struct thread *t)
{
	return &t->attr;
}
uint64_t thread_cycles(const struct thread *t)
{
	return t->ran + (t == current ? libos_cycles() - picked_at : 0);
}
uint64_t thread_misses(const struct thread *t)
{
	return t->misses;
}
uint64_t thread_job_release(const struct thread *t)
{
	return t->release;
}

int thread_set_attr(struct thread *t, const struct thread_attr *attr)
{
	if (!threads_on || !t || !is_thread(t) || t->state == THREAD_FREE || !attr ||
	    attr->prio > THREAD_PRIO_MAX || (attr->period_us && attr->budget_us > attr->period_us))
		return E_INVAL;
	enter();
	bool was_queued = unqueue(t);
	uint32_t pages = t->attr.stack_pages;
	t->attr = *attr;
	t->attr.stack_pages = pages;
	if (!t->attr.tickets)
		t->attr.tickets = 100;
	recompute_prio(t);
	requeue(t, was_queued);
	leave();
	return E_OK;
}

bool libos_threads_on(void)
{
	return threads_on;
}
uint64_t libos_sched_swaps(void)
{
	return swaps;
}
uint64_t libos_sched_misbehaved(void)
{
	return misbehaved;
}
uint64_t libos_sched_busy_preempts(void)
{
	return busy_preempts;
}

/* ------------------------------------------------------------------ */
/* Wait lists, mutexes with priority inheritance, conditions, semaphores. */

static void wl_push(struct thread **head, struct thread *t)
{
	t->wnext = NULL;
	while (*head)
		head = &(*head)->wnext;
	*head = t;
}

/* Take the waiter with the highest effective priority (the first of equals). */
static struct thread *wl_pop_best(struct thread **head)
{
	struct thread **best = head;
	if (!*head)
		return NULL;
	for (struct thread **p = &(*head)->wnext; *p; p = &(*p)->wnext)
		if ((*p)->eff_prio > (*best)->eff_prio)
			best = p;
	struct thread *t = *best;
	*best = t->wnext;
	return t;
}

/* Raise t (and whoever it waits on, transitively) to at least prio. */
static void inherit(struct thread *t, uint32_t prio)
{
	for (unsigned depth = 0; t && t->eff_prio < prio && depth < THREAD_MAX; depth++) {
		bool was_queued = unqueue(t);
		t->eff_prio = prio;
		requeue(t, was_queued);
		t = t->blocked_on ? t->blocked_on->owner : NULL;
	}
}

/* t's own priority, or its highest waiter's on a mutex it holds. */
static void recompute_prio(struct thread *t)
{
	uint32_t p = t->attr.prio;
	for (unsigned i = 0; i < THREAD_MAX; i++) {
		const struct thread *w = threads[i];
		if (w && w->state == THREAD_BLOCKED && w->blocked_on && w->blocked_on->owner == t)
			p = MAX(p, w->eff_prio);
	}
	t->eff_prio = p;
}

void mutex_lock(struct mutex *m)
{
	if (!threads_on) {
		if (m->owner)
			fatal("mutex_lock: locked twice before any thread was created");
		m->owner = (struct thread *)&idle; /* a mark: the program's only thread */
		return;
	}
	enter();
	struct thread *me = current;
	if (!m->owner) {
		m->owner = me;
		leave();
		return;
	}
	if (m->owner == me)
		fatal("mutex_lock: the owner locked it again (no recursive mutexes)");
	me->blocked_on = m;
	me->state = THREAD_BLOCKED;
	wl_push(&m->waiters, me);
	inherit(m->owner, me->eff_prio);
	block(); /* mutex_unlock hands the mutex over: resumed, we own it */
}

bool mutex_trylock(struct mutex *m)
{
	if (!threads_on) {
		bool got = !m->owner;
		if (got)
			m->owner = (struct thread *)&idle;
		return got;
	}
	enter();
	bool got = !m->owner;
	if (got)
		m->owner = current;
	leave();
	return got;
}

/* Release m held by current, handing it to its best waiter; crit held. */
static struct thread *release(struct mutex *m)
{
	struct thread *me = threads_on ? current : (struct thread *)&idle;
	if (m->owner != me)
		fatal("mutex_unlock: not the owner");
	struct thread *next = wl_pop_best(&m->waiters);
	m->owner = next;
	if (next) {
		next->blocked_on = NULL;
		make_runnable(next);
		if (me->eff_prio != me->attr.prio)
			recompute_prio(me); /* an inheritance may end here */
	}
	return next;
}

void mutex_unlock(struct mutex *m)
{
	if (!threads_on) {
		(void)release(m);
		return;
	}
	enter();
	struct thread *next = release(m);
	/* The inheritance ended: a waiter above us runs now. */
	if (next && next->eff_prio > current->eff_prio)
		schedule(true);
	else
		leave();
}

void cond_wait(struct cond *c, struct mutex *m)
{
	if (!threads_on)
		fatal("cond_wait: no other thread could ever signal");
	enter();
	current->state = THREAD_BLOCKED;
	wl_push(&c->waiters, current);
	(void)release(m);
	block();
	mutex_lock(m);
}

void cond_signal(struct cond *c)
{
	if (!threads_on)
		return;
	enter();
	struct thread *t = wl_pop_best(&c->waiters);
	if (t)
		make_runnable(t);
	leave();
}

void cond_broadcast(struct cond *c)
{
	if (!threads_on)
		return;
	enter();
	for (struct thread *t; (t = wl_pop_best(&c->waiters));)
		make_runnable(t);
	leave();
}

void sem_wait(struct sem *s)
{
	if (!threads_on) {
		if (!s->count)
			fatal("sem_wait: would wait for ever (no other thread)");
		s->count--;
		return;
	}
	enter();
	if (s->count) {
		s->count--;
		leave();
		return;
	}
	current->state = THREAD_BLOCKED;
	wl_push(&s->waiters, current);
	block(); /* sem_post hands the unit over */
}

void sem_post(struct sem *s)
{
	if (!threads_on) {
		s->count++;
		return;
	}
	enter();
	struct thread *t = wl_pop_best(&s->waiters);
	if (t)
		make_runnable(t);
	else
		s->count++;
	leave();
}
