/*
 * Program start: the argument words (libos/args.h), the policies they
 * choose, the swap= schedule; then main. Bad arguments end the program
 * before main with status 2 and a message that lists what it takes.
 */
#include <libos/args.h>
#include <libos/libos.h>
#include <libos/sched_impl.h>
#include <libos/threads_impl.h>
#include <libos/vm.h>

#define MAX_WORDS (ENV_ARGS_MAX / 2)
#define SWAPS_MAX 16

struct policy_choice libos_choice[POLICY_KINDS];

extern const struct libos_param libos_program_params[] __attribute__((weak));

/* What the framework takes itself, besides a policy per kind. */
static const struct libos_param framework_params[] = {
	{ "swap", NULL, "swap policies while running: KIND:SPEC@TIME[+...], TIME in us, ms or s" },
	{ "watchdog_ms", "5000",
	  "a thread the sched policy leaves runnable this long ends it (0: off)" },
	{ "ipc_chan", NULL,
	  "a channel the parent set up: NAME:FRAME:SIDE:PEER:EP:CORE (libos/ipc.h)" },
	{ "accel", NULL, "the accelerator the kernel was booted under (set by the kernel)" },
	{ "icount", NULL, "yes if cycle figures are instruction counts (set by the kernel)" },
	{ 0 },
};

static const char *words[MAX_WORDS];
static unsigned nwords;

static struct swap_entry {
	enum policy_kind kind;
	uint64_t at_us; /* after the program started */
	char spec[POLICY_SPEC_MAX];
} swaps[SWAPS_MAX];
static unsigned nswaps, next_swap;
static uint64_t start_cycles;

unsigned libos_argc(void)
{
	return nwords;
}
const char *libos_argv(unsigned i)
{
	return i < nwords ? words[i] : NULL;
}

/* key's length in word (up to '='), or 0 if word has no '='. */
static size_t key_len(const char *w)
{
	size_t n = 0;
	while (w[n] && w[n] != '=')
		n++;
	return w[n] == '=' ? n : 0;
}

static bool key_is(const char *w, size_t n, const char *key)
{
	size_t i = 0;
	while (i < n && key[i] && w[i] == key[i])
		i++;
	return i == n && !key[i];
}

static const struct libos_param *param_of(const char *key, size_t n)
{
	for (const struct libos_param *p = framework_params; p->name; p++)
		if (key_is(key, n, p->name))
			return p;
	for (const struct libos_param *p = libos_program_params; p && p->name; p++)
		if (key_is(key, n, p->name))
			return p;
	return NULL;
}

const char *libos_arg(const char *key)
{
	size_t n = 0;
	while (key[n])
		n++;
	for (unsigned i = nwords; i-- > 0;)
		if (key_len(words[i]) == n && key_is(words[i], n, key))
			return words[i] + n + 1;
	const struct libos_param *p = param_of(key, n);
	return p ? p->def : NULL;
}

static bool parse_num(const char *s, uint64_t *out, const char **end)
{
	unsigned base = 10;
	if (s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
	}
	uint64_t v = 0;
	const char *p = s;
	for (;; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	*end = p;
	return p != s;
}

noreturn_fn static void bad_args(const char *fmt, const char *a, const char *b)
{
	char msg[300];
	ksnprintf(msg, sizeof(msg), fmt, a, b);
	printf("args: %s\n", msg);
	sys_exit(2);
}

uint64_t libos_arg_u64(const char *key, uint64_t def)
{
	const char *v = libos_arg(key), *end;
	uint64_t x;
	if (!v)
		return def;
	if (!parse_num(v, &x, &end) || *end)
		bad_args("%s wants a whole number, not '%s'", key, v);
	return x;
}

/* Say what the program takes, after a bad word. */
noreturn_fn static void unknown(const char *word)
{
	char list[600];
	size_t at = ksnprintf(list, sizeof(list), "sched=, pager=, ipc=");
	for (const struct libos_param *p = framework_params; p->name && at < sizeof(list); p++)
		at += ksnprintf(list + at, sizeof(list) - at, ", %s=", p->name);
	for (const struct libos_param *p = libos_program_params; p && p->name && at < sizeof(list);
	     p++)
		at += ksnprintf(list + at, sizeof(list) - at, ", %s= (%s%s%s)", p->name, p->help,
				p->def ? "; default " : "", p->def ? p->def : "");
	bad_args("unknown argument '%s'; this program takes: %s", word, list);
}

static int kind_of(const char *key, size_t n)
{
	for (int k = 0; k < POLICY_KINDS; k++)
		if (key_is(key, n, policy_kind_name((enum policy_kind)k)))
			return k;
	return -1;
}

static void choose(enum policy_kind kind, const char *spec, struct policy_choice *out)
{
	char err[400];
	if (policy_parse(kind, spec, out, err, sizeof(err)))
		bad_args("%s%s", err, "");
}

/* swap=KIND:SPEC@TIME[+KIND:SPEC@TIME...]; TIME is a number with us, ms or s. */
static void parse_swaps(const char *v)
{
	while (*v) {
		size_t n = 0, at = 0;
		while (v[n] && v[n] != '+')
			n++;
		for (size_t i = 0; i < n; i++)
			if (v[i] == '@')
				at = i;
		size_t k = 0;
		while (k < n && v[k] != ':')
			k++;
		int kind = kind_of(v, k);
		if (kind < 0 || !at || at < k + 2 || nswaps == SWAPS_MAX ||
		    at - k - 1 >= POLICY_SPEC_MAX)
			bad_args("swap: '%s' is not KIND:POLICY@TIME (KIND sched, pager or ipc; at "
				 "most 16 entries)%s",
				 v, "");
		struct swap_entry *s = &swaps[nswaps];
		s->kind = (enum policy_kind)kind;
		__builtin_memcpy(s->spec, v + k + 1, at - k - 1);
		s->spec[at - k - 1] = '\0';
		struct policy_choice check;
		choose(s->kind, s->spec, &check);
		const char *end;
		uint64_t t;
		if (!parse_num(v + at + 1, &t, &end))
			bad_args("swap: no time after '@' in '%s'%s", v, "");
		size_t unit = (size_t)(end - v);
		uint64_t mult = key_is(v + unit, n - unit, "us")   ? 1
				: key_is(v + unit, n - unit, "ms") ? 1000
				: key_is(v + unit, n - unit, "s")  ? 1000000
								   : 0;
		if (!mult)
			bad_args("swap: the time in '%s' needs a unit: us, ms or s%s", v, "");
		s->at_us = t * mult;
		if (nswaps && s->at_us < swaps[nswaps - 1].at_us)
			bad_args("swap: entries must be in time order: '%s'%s", v, "");
		nswaps++;
		v += n + (v[n] == '+');
	}
}

const char *libos_swap_due(uint64_t now, enum policy_kind *kind)
{
	if (next_swap == nswaps ||
	    now - start_cycles < swaps[next_swap].at_us * (libos_cycles_hz() / 1000000))
		return NULL;
	struct swap_entry *s = &swaps[next_swap++];
	*kind = s->kind;
	return s->spec;
}

int libos_policy_swap(enum policy_kind kind, const char *spec)
{
	if (kind == POLICY_SCHED)
		return libos_sched_swap(spec);
	if (kind == POLICY_PAGER)
		return vm_pager_swap(spec); /* E_NOTSUP before vm_start */
	if (kind == POLICY_IPC)
		return libos_ipc_swap(spec);
	printf("%s: no swappable %s runtime in this program yet\n",
	       policy_kind_name(kind) ? policy_kind_name(kind) : "policy", policy_kind_name(kind));
	return E_NOTSUP;
}

const char *libos_policy_current(enum policy_kind kind)
{
	static char spec[POLICY_KINDS][POLICY_SPEC_MAX];
	if ((unsigned)kind >= POLICY_KINDS)
		return "";
	if (kind == POLICY_SCHED)
		return libos_sched_current();
	if (kind == POLICY_PAGER && *vm_pager_current())
		return vm_pager_current();
	if (kind == POLICY_IPC)
		return libos_ipc_current(); /* the one running (the default if none was chosen) */
	policy_format(&libos_choice[kind], spec[kind], sizeof(spec[kind]));
	return spec[kind];
}

size_t libos_policies_json(char *buf, size_t len)
{
	size_t at = ksnprintf(buf, len, "{");
	for (int k = 0; k < POLICY_KINDS; k++) {
		if (k != POLICY_SCHED && !libos_choice[k].info)
			continue;
		at += ksnprintf(buf + MIN(at, len), len - MIN(at, len), "%s\"%s\":\"%s\"",
				at > 1 ? "," : "", policy_kind_name((enum policy_kind)k),
				libos_policy_current((enum policy_kind)k));
	}
	at += ksnprintf(buf + MIN(at, len), len - MIN(at, len), "}");
	return at;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core);
noreturn_fn void libos_start(uint64_t arg, uint64_t env_id, uint64_t core, const char *args,
			     uint64_t len);

void libos_start(uint64_t arg, uint64_t env_id, uint64_t core, const char *args, uint64_t len)
{
	start_cycles = libos_cycles();
	for (uint64_t i = 0; i < len && nwords < MAX_WORDS; i++) {
		words[nwords++] = args + i;
		while (i < len && args[i])
			i++;
	}
	for (unsigned i = 0; i < nwords; i++) {
		size_t n = key_len(words[i]);
		int kind = kind_of(words[i], n);
		if (!n)
			bad_args("argument '%s' is not key=value%s", words[i], "");
		if (kind >= 0)
			choose((enum policy_kind)kind, words[i] + n + 1, &libos_choice[kind]);
		else if (key_is(words[i], n, "swap"))
			parse_swaps(words[i] + n + 1);
		else if (!param_of(words[i], n))
			unknown(words[i]);
	}
	(void)libos_arg_u64("watchdog_ms", 0); /* checked now, not when threads start */
	if (!libos_choice[POLICY_SCHED].info)
		choose(POLICY_SCHED, SCHED_DEFAULT, &libos_choice[POLICY_SCHED]);
	int status = main(arg, env_id, core);
	libos_ipc_exit();
	sys_exit(status);
}
