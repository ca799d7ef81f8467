/*
 * policy-list: the registry as the programs will see it, checked at build
 * time. Prints every policy (kind, name, description, parameters with their
 * defaults) as JSON with --json, else as a table; exits 1 naming the policy
 * when two of a kind share a name or a required hook is missing, so a bad
 * policy file fails the build rather than a run.
 */
#include <libos/pager_impl.h>
#include <libos/ipc_impl.h>
#include <libos/sched_impl.h>
#include <stdio.h>
#include <string.h>

/* Each kind's required hooks; NULL where the kind has no runtime yet. */
static const char *missing_hook(const struct policy_info *p)
{
	if (p->kind == POLICY_SCHED) {
		const struct sched_ops *o = (const struct sched_ops *)p;
		return !o->init	     ? "init"
		       : !o->enqueue ? "enqueue"
		       : !o->dequeue ? "dequeue"
		       : !o->pick    ? "pick"
				     : NULL;
	}
	if (p->kind == POLICY_PAGER) {
		const struct pager_ops *o = (const struct pager_ops *)p;
		return !o->init	     ? "init"
		       : !o->added   ? "added"
		       : !o->victims ? "victims"
		       : !o->evicted ? "evicted"
				     : NULL;
	}
	if (p->kind == POLICY_IPC) {
		const struct ipc_ops *o = (const struct ipc_ops *)p;
		return !o->init ? "init" : !o->wait ? "wait" : !o->notify_now ? "notify_now" : NULL;
	}
	return NULL;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	int bad = 0;
	for (unsigned i = 0; i < policy_count(); i++) {
		const struct policy_info *p = policy_at(i);
		const char *kind = policy_kind_name(p->kind);
		if (!kind || !p->name || !p->name[0] || !p->description) {
			(void)fprintf(
			    stderr, "policy-list: %s: policy %s has no kind, name or description\n",
			    policy_file(i), p->name ? p->name : "?");
			bad = 1;
			continue;
		}
		for (unsigned j = 0; j < i; j++)
			if (policy_at(j)->kind == p->kind && !strcmp(policy_at(j)->name, p->name)) {
				(void)fprintf(
				    stderr,
				    "policy-list: %s policy '%s' is registered twice: in %s "
				    "and in %s\n",
				    kind, p->name, policy_file(j), policy_file(i));
				bad = 1;
			}
		const char *hook = missing_hook(p);
		if (hook) {
			(void)fprintf(stderr,
				      "policy-list: %s: %s policy '%s' leaves out its required "
				      "hook %s\n",
				      policy_file(i), kind, p->name, hook);
			bad = 1;
		}
		for (unsigned k = 0; k < POLICY_PARAMS_MAX && p->params[k].name; k++)
			if (!p->params[k].help) {
				(void)fprintf(
				    stderr,
				    "policy-list: %s: %s policy '%s': parameter %s has no "
				    "help line\n",
				    policy_file(i), kind, p->name, p->params[k].name);
				bad = 1;
			}
	}
	if (bad)
		return 1;
	if (!json) {
		for (unsigned i = 0; i < policy_count(); i++) {
			const struct policy_info *p = policy_at(i);
			printf("%-6s %-10s %s\n", policy_kind_name(p->kind), p->name,
			       p->description);
			for (unsigned k = 0; k < POLICY_PARAMS_MAX && p->params[k].name; k++)
				printf("%18s%s=%llu  %s\n", "", p->params[k].name,
				       (unsigned long long)p->params[k].def, p->params[k].help);
		}
		return 0;
	}
	printf("{");
	for (int k = 0; k < POLICY_KINDS; k++) {
		printf("%s\n  ", k ? "," : "");
		json_str(policy_kind_name((enum policy_kind)k));
		printf(": [");
		const char *sep = "";
		for (unsigned i = 0; i < policy_count(); i++) {
			const struct policy_info *p = policy_at(i);
			if ((int)p->kind != k)
				continue;
			printf("%s\n    {\"name\": ", sep);
			json_str(p->name);
			printf(", \"description\": ");
			json_str(p->description);
			printf(", \"file\": ");
			json_str(policy_file(i));
			printf(", \"params\": [");
			for (unsigned j = 0; j < POLICY_PARAMS_MAX && p->params[j].name; j++) {
				printf("%s{\"name\": ", j ? ", " : "");
				json_str(p->params[j].name);
				printf(", \"default\": \"%llu\", \"help\": ",
				       (unsigned long long)p->params[j].def);
				json_str(p->params[j].help);
				printf("}");
			}
			printf("]}");
			sep = ",";
		}
		printf("]");
	}
	printf("\n}\n");
	return 0;
}
