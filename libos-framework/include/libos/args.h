/*
 * A program's arguments: key=value words from the kernel command line (the
 * words after run=NAME that the kernel does not know) or from the parent's
 * SYS_ENV_START. The framework takes sched=, pager=, ipc= and swap= itself
 * (docs/policies.md); a program declares the rest with LIBOS_PROGRAM_PARAMS,
 * and any other word ends it before main with a message listing what it takes.
 */
#pragma once

#include <exo/types.h>

struct libos_param {
	const char *name; /* NULL ends the list */
	const char *def;  /* the value when not given (NULL: none) */
	const char *help; /* one line */
};

/* Declare the program's parameters: LIBOS_PROGRAM_PARAMS({"threads", "4", "..."}, ...). */
#define LIBOS_PROGRAM_PARAMS(...)                                                                  \
	const struct libos_param libos_program_params[] = { __VA_ARGS__, { 0 } }

/* The words as given, in order. */
unsigned libos_argc(void);
const char *libos_argv(unsigned i);

/* The value of key (the last word that sets it), else its declared default, else NULL. */
const char *libos_arg(const char *key);

/*
 * libos_arg as a whole number (decimal or 0x hex). A value that is not one
 * ends the program with status 2 and says why: arguments are checked, never
 * quietly defaulted. A key with no value and no default gives def.
 */
uint64_t libos_arg_u64(const char *key, uint64_t def);

/*
 * The policies this program runs, as one JSON object for figure lines:
 * {"sched":"rr:","pager":"",...}. Written into buf; returns its length.
 */
size_t libos_policies_json(char *buf, size_t len);
