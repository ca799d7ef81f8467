/*
 * Program arguments (libos/args.h): exits with alpha + 100 if beta=xyz was
 * given + 50 if the sched policy is rr (the default); bad arguments end it
 * with 2 before main runs (the framework's check).
 */
#include <libos/args.h>
#include <libos/libos.h>
#include <libos/policy.h>

LIBOS_PROGRAM_PARAMS({ "alpha", "1", "a number" }, { "beta", NULL, "a word" });

static bool eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	const char *beta = libos_arg("beta");
	int status = (int)libos_arg_u64("alpha", 0);
	if (beta && eq(beta, "xyz"))
		status += 100;
	if (eq(libos_policy_current(POLICY_SCHED), "rr"))
		status += 50;
	printf("args: %u words, alpha=%d beta=%s sched=%s\n", libos_argc(),
	       (int)libos_arg_u64("alpha", 0), beta ? beta : "(none)",
	       libos_policy_current(POLICY_SCHED));
	return status;
}
