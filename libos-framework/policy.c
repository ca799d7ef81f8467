/*
 * The policy registry (see libos/policy.h): walks the exo_policies section,
 * parses "name:param=value,..." specs, and says clearly what exists when a
 * spec names something that does not. Builds for the host too.
 */
#include <exo/kprintf.h>
#include <libos/policy.h>

extern const struct policy_entry __start_exo_policies[];
extern const struct policy_entry __stop_exo_policies[];

static const char *const kind_names[POLICY_KINDS] = { "sched", "pager", "ipc" };

const char *policy_kind_name(enum policy_kind kind)
{
	return (unsigned)kind < POLICY_KINDS ? kind_names[kind] : NULL;
}

unsigned policy_count(void)
{
	return (unsigned)(__stop_exo_policies - __start_exo_policies);
}

const struct policy_info *policy_at(unsigned i)
{
	return i < policy_count() ? __start_exo_policies[i].info : NULL;
}

const char *policy_file(unsigned i)
{
	return i < policy_count() ? __start_exo_policies[i].file : NULL;
}

/* a[0..n) equals the NUL-terminated b. */
static bool word_eq(const char *a, size_t n, const char *b)
{
	size_t i = 0;
	for (; i < n && b[i] && a[i] == b[i]; i++)
		;
	return i == n && !b[i];
}

static const struct policy_info *find_n(enum policy_kind kind, const char *name, size_t n)
{
	for (unsigned i = 0; i < policy_count(); i++) {
		const struct policy_info *p = policy_at(i);
		if (p->kind == kind && word_eq(name, n, p->name))
			return p;
	}
	return NULL;
}

const struct policy_info *policy_find(enum policy_kind kind, const char *name)
{
	size_t n = 0;
	while (name[n])
		n++;
	return find_n(kind, name, n);
}

/* Append to err what exists: the kind's policies, or one policy's parameters. */
static void list_known(char *err, size_t len, size_t at, enum policy_kind kind,
		       const struct policy_info *one)
{
	const char *sep = "";
	for (unsigned i = 0; !one && i < policy_count() && at < len; i++) {
		if (policy_at(i)->kind != kind)
			continue;
		at += ksnprintf(err + at, len - at, "%s%s", sep, policy_at(i)->name);
		sep = ", ";
	}
	for (unsigned i = 0; one && i < POLICY_PARAMS_MAX && one->params[i].name && at < len; i++) {
		at += ksnprintf(err + at, len - at, "%s%s (default %llu: %s)", sep,
				one->params[i].name, (unsigned long long)one->params[i].def,
				one->params[i].help);
		sep = "; ";
	}
	if (!*sep && at < len)
		ksnprintf(err + at, len - at, "none");
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

int policy_parse(enum policy_kind kind, const char *spec, struct policy_choice *out, char *err,
		 size_t errlen)
{
	const char *kname = policy_kind_name(kind);
	if (!kname) {
		ksnprintf(err, errlen, "no policy kind %d", (int)kind);
		return E_INVAL;
	}
	size_t n = 0;
	while (spec[n] && spec[n] != ':')
		n++;
	const struct policy_info *p = find_n(kind, spec, n);
	if (!p) {
		size_t at = ksnprintf(err, errlen, "unknown %s policy '%.*s'; known: ", kname,
				      (int)n, spec);
		list_known(err, errlen, MIN(at, errlen), kind, NULL);
		return E_NOENT;
	}
	struct policy_choice c = { .info = p };
	for (unsigned i = 0; i < POLICY_PARAMS_MAX && p->params[i].name; i++)
		c.values[i] = p->params[i].def;
	for (const char *s = spec[n] ? spec + n + 1 : spec + n; *s;) {
		size_t k = 0, v;
		while (s[k] && s[k] != '=' && s[k] != ',')
			k++;
		unsigned i = 0;
		while (i < POLICY_PARAMS_MAX && p->params[i].name &&
		       !word_eq(s, k, p->params[i].name))
			i++;
		if (i == POLICY_PARAMS_MAX || !p->params[i].name) {
			size_t at = ksnprintf(err, errlen,
					      "%s policy %s has no parameter '%.*s'; "
					      "its parameters: ",
					      kname, p->name, (int)k, s);
			list_known(err, errlen, MIN(at, errlen), kind, p);
			return E_INVAL;
		}
		const char *val = s[k] == '=' ? s + k + 1 : s + k;
		for (v = 0; val[v] && val[v] != ','; v++)
			;
		if (!parse_u64(val, v, &c.values[i])) {
			ksnprintf(err, errlen,
				  "%s policy %s: parameter %s wants a whole number, "
				  "not '%.*s'",
				  kname, p->name, p->params[i].name, (int)v, val);
			return E_INVAL;
		}
		s = val[v] ? val + v + 1 : val + v;
	}
	*out = c;
	return E_OK;
}

size_t policy_format(const struct policy_choice *c, char *buf, size_t len)
{
	size_t at = ksnprintf(buf, len, "%s", c->info ? c->info->name : "");
	for (unsigned i = 0; c->info && i < POLICY_PARAMS_MAX && c->info->params[i].name; i++)
		at += ksnprintf(buf + MIN(at, len), len - MIN(at, len), "%c%s=%llu", i ? ',' : ':',
				c->info->params[i].name, (unsigned long long)c->values[i]);
	return at;
}

uint64_t policy_value(const struct policy_choice *c, const char *param)
{
	size_t n = 0;
	while (param[n])
		n++;
	for (unsigned i = 0; c->info && i < POLICY_PARAMS_MAX && c->info->params[i].name; i++)
		if (word_eq(param, n, c->info->params[i].name))
			return c->values[i];
	return 0;
}
