/* The kernel's formatter against what C's printf would print. */
#include <exo/kprintf.h>
#include <exo/test.h>

#define FMT_IS(t, want, ...)                                     \
	do {                                                     \
		char b_[64];                                     \
		ksnprintf(b_, sizeof(b_), __VA_ARGS__);          \
		EXPECT_STREQ(t, b_, want);                       \
	} while (0)

TEST(kprintf, integers)
{
	FMT_IS(t, "0 -1 42", "%d %i %u", 0, -1, 42u);
	FMT_IS(t, "-9223372036854775808", "%lld", (long long)(-9223372036854775807LL - 1));
	FMT_IS(t, "18446744073709551615", "%llu", 18446744073709551615ULL);
	FMT_IS(t, "ff FF 0x10", "%x %X %p", 255u, 255u, (void *)16);
	FMT_IS(t, "123", "%zu", (size_t)123);
}

TEST(kprintf, width_and_flags)
{
	FMT_IS(t, "   42|42   |00042|-0042", "%5d|%-5d|%05d|%05d", 42, 42, 42, -42);
	FMT_IS(t, "  ab|x", "%4s|%c", "ab", 'x');
	FMT_IS(t, "(null) 100%", "%s 100%%", (const char *)0);
}

TEST(kprintf, string_precision_stops_early_and_never_reads_past_it)
{
	const char unterminated[3] = { 'a', 'b', 'c' };
	FMT_IS(t, "ab|abc|  x|", "%.2s|%.*s|%3.1s|%.0s", "abcd", 3, unterminated, "xyz", "q");
}

TEST(kprintf, truncates_and_reports_full_length)
{
	char b[5];
	EXPECT_EQ(t, ksnprintf(b, sizeof(b), "%s", "abcdefgh"), 8);
	EXPECT_STREQ(t, b, "abcd");
	EXPECT_EQ(t, ksnprintf(b, 0, "xyz"), 3);
}

TEST(glob, matches)
{
	EXPECT(t, test_glob_match("*", ""));
	EXPECT(t, test_glob_match("boot.*", "boot.cores"));
	EXPECT(t, !test_glob_match("boot.*", "ipi.pairs"));
	EXPECT(t, test_glob_match("*.p?irs", "ipi.pairs"));
	EXPECT(t, test_glob_match("a*b*c", "aXXbYYc"));
	EXPECT(t, !test_glob_match("a*b*c", "aXXbYY"));
}
