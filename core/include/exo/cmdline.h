/*
 * The kernel command line: space-separated key=value words, matched against
 * a table of known options. A word that is not key=value, an unknown key, or
 * a value of the wrong form is reported by name and ignored; the option
 * keeps its default. Parsing never fails the boot.
 */
#pragma once

#include <exo/types.h>

enum cmdline_type {
	CMDLINE_UINT, /* decimal, or 0x-prefixed hex, within [min, max] */
	CMDLINE_BOOL, /* yes/no, on/off, true/false, 1/0 */
	CMDLINE_STR,  /* any non-empty text without spaces */
};

struct cmdline_opt {
	const char *key;
	enum cmdline_type type;
	union {
		uint64_t *u;
		bool *b;
		const char **s; /* points into the caller's buffer */
	} dst;
	uint64_t min, max; /* CMDLINE_UINT only */
};

/*
 * Where cmdline_parse puts the key=value words no option matches, when the
 * caller wants them (a program's arguments): each copied into buf with its
 * NUL, in order. A word that does not fit is a problem.
 */
struct cmdline_rest {
	char *buf;
	size_t size;	/* of buf */
	size_t len;	/* bytes used, NULs included */
	unsigned words; /* how many */
};

/* Append the word key=val to rest; false (nothing added) if it does not fit. */
bool cmdline_rest_add(struct cmdline_rest *rest, const char *key, const char *val);

/*
 * Parse line (NUL-terminated) in place: words are split by writing NULs
 * into it, and CMDLINE_STR values point into it, so it must outlive them.
 * Unknown keys go to rest if it is not NULL, else they are problems.
 * Prints one "cmdline: ..." line per problem; returns how many there were.
 */
unsigned cmdline_parse(char *line, const struct cmdline_opt *opts, size_t nopts,
		       struct cmdline_rest *rest);

/* Parse a number as the command line does; false if malformed or too big. */
bool cmdline_parse_uint(const char *s, uint64_t *out);
