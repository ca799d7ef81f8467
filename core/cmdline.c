/* Kernel command line parsing (see exo/cmdline.h). */
#include <exo/cmdline.h>
#include <exo/kprintf.h>

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

bool cmdline_parse_uint(const char *s, uint64_t *out)
{
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false; /* overflow */
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (str_eq(s, yes[i])) {
			*out = true;
			return true;
		}
		if (str_eq(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Apply one key=value; returns false (after saying why) if it was rejected. */
static bool apply(const struct cmdline_opt *o, const char *key, const char *val)
{
	switch (o->type) {
	case CMDLINE_UINT: {
		uint64_t v;
		if (!cmdline_parse_uint(val, &v) || v < o->min || v > o->max) {
			kprintf("cmdline: bad value '%s' for '%s': want a number %llu..%llu; "
				"keeping %llu\n",
				val, key, (unsigned long long)o->min, (unsigned long long)o->max,
				(unsigned long long)*o->dst.u);
			return false;
		}
		*o->dst.u = v;
		return true;
	}
	case CMDLINE_BOOL:
		if (!parse_bool(val, o->dst.b)) {
			kprintf("cmdline: bad value '%s' for '%s': want yes or no; keeping %s\n", val,
				key, *o->dst.b ? "yes" : "no");
			return false;
		}
		return true;
	case CMDLINE_STR:
		if (!*val) {
			kprintf("cmdline: empty value for '%s'; ignored\n", key);
			return false;
		}
		*o->dst.s = val;
		return true;
	}
	return false;
}

bool cmdline_rest_add(struct cmdline_rest *rest, const char *key, const char *val)
{
	size_t k = 0, v = 0;
	while (key[k])
		k++;
	while (val[v])
		v++;
	if (rest->len + k + 1 + v + 1 > rest->size)
		return false;
	char *d = rest->buf + rest->len;
	for (size_t i = 0; i < k; i++)
		*d++ = key[i];
	*d++ = '=';
	for (size_t i = 0; i <= v; i++)
		*d++ = val[i];
	rest->len += k + 1 + v + 1;
	rest->words++;
	return true;
}

unsigned cmdline_parse(char *line, const struct cmdline_opt *opts, size_t nopts,
		       struct cmdline_rest *rest)
{
	unsigned problems = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		char *word = p, *eq = NULL;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (*p)
			*p++ = '\0';
		if (!eq || eq == word) {
			kprintf("cmdline: '%s' is not key=value; ignored\n", word);
			problems++;
			continue;
		}
		*eq = '\0';
		const char *key = word, *val = eq + 1;
		const struct cmdline_opt *o = NULL;
		for (size_t i = 0; i < nopts && !o; i++)
			if (str_eq(opts[i].key, key))
				o = &opts[i];
		if (!o && rest) {
			if (!cmdline_rest_add(rest, key, val)) {
				kprintf("cmdline: '%s=%s' does not fit in %zu bytes of arguments; "
					"ignored\n",
					key, val, rest->size);
				problems++;
			}
			continue;
		}
		if (!o) {
			kprintf("cmdline: unknown key '%s'; ignored\n", key);
			problems++;
			continue;
		}
		if (!apply(o, key, val))
			problems++;
	}
	return problems;
}
