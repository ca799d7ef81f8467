/* Command-line parsing: defaults survive every kind of bad word. */
#include <exo/cmdline.h>
#include <exo/test.h>

struct opts {
	uint64_t rounds;
	bool flag;
	const char *name;
};

static unsigned parse(char *line, struct opts *o)
{
	const struct cmdline_opt table[] = {
		{ .key = "rounds", .type = CMDLINE_UINT, .dst.u = &o->rounds, .min = 1, .max = 1000 },
		{ .key = "flag", .type = CMDLINE_BOOL, .dst.b = &o->flag },
		{ .key = "name", .type = CMDLINE_STR, .dst.s = &o->name },
	};
	return cmdline_parse(line, table, ARRAY_SIZE(table), NULL);
}

TEST(cmdline, parses_every_type)
{
	struct opts o = { .rounds = 7 };
	char line[] = "  rounds=0x10 flag=yes\tname=abc  ";
	EXPECT_EQ(t, parse(line, &o), 0);
	EXPECT_EQ(t, o.rounds, 16);
	EXPECT(t, o.flag);
	EXPECT_STREQ(t, o.name, "abc");
}

TEST(cmdline, empty_line_keeps_defaults)
{
	struct opts o = { .rounds = 7, .flag = true, .name = "d" };
	char line[] = "";
	EXPECT_EQ(t, parse(line, &o), 0);
	EXPECT_EQ(t, o.rounds, 7);
	EXPECT(t, o.flag);
	EXPECT_STREQ(t, o.name, "d");
}

TEST(cmdline, bad_words_are_counted_and_ignored)
{
	struct opts o = { .rounds = 7, .name = "d" };
	char line[] = "zzz=1 rounds=abc rounds=0 rounds=1001 flag=maybe name= =x noequals "
		      "rounds=99999999999999999999999";
	EXPECT_EQ(t, parse(line, &o), 9);
	EXPECT_EQ(t, o.rounds, 7);
	EXPECT(t, !o.flag);
	EXPECT_STREQ(t, o.name, "d");
}

TEST(cmdline, later_words_win_and_good_words_survive_bad_ones)
{
	struct opts o = { .rounds = 7 };
	char line[] = "rounds=5 zzz rounds=1000 flag=on";
	EXPECT_EQ(t, parse(line, &o), 1);
	EXPECT_EQ(t, o.rounds, 1000);
	EXPECT(t, o.flag);
}

TEST(cmdline, uint_bounds_and_overflow)
{
	uint64_t v = 0;
	EXPECT(t, cmdline_parse_uint("18446744073709551615", &v));
	EXPECT(t, v == UINT64_MAX);
	EXPECT(t, !cmdline_parse_uint("18446744073709551616", &v));
	EXPECT(t, !cmdline_parse_uint("0x", &v));
	EXPECT(t, !cmdline_parse_uint("", &v));
	EXPECT(t, !cmdline_parse_uint("12a", &v));
	EXPECT(t, cmdline_parse_uint("0xfF", &v));
	EXPECT_EQ(t, v, 255);
}

TEST(cmdline, unknown_words_go_to_the_rest_in_order_and_an_overflow_is_a_problem)
{
	struct opts o = { .rounds = 7 };
	const struct cmdline_opt table[] = {
		{ .key = "rounds",
		  .type = CMDLINE_UINT,
		  .dst.u = &o.rounds,
		  .min = 1,
		  .max = 1000 },
	};
	char buf[24];
	struct cmdline_rest rest = { .buf = buf, .size = sizeof(buf) };
	char line[] = "sched=rr:q=5 rounds=3 threads=8 toolong=0123456789";
	EXPECT_EQ(t, cmdline_parse(line, table, ARRAY_SIZE(table), &rest), 1);
	EXPECT_EQ(t, o.rounds, 3);
	EXPECT_EQ(t, rest.words, 2);
	EXPECT_EQ(t, rest.len, sizeof("sched=rr:q=5") + sizeof("threads=8"));
	EXPECT_STREQ(t, buf, "sched=rr:q=5");
	EXPECT_STREQ(t, buf + sizeof("sched=rr:q=5"), "threads=8");
}
