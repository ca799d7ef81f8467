#include <exo/stats.h>
#include <exo/test.h>

TEST(stats, median_min_max)
{
	uint64_t v[] = { 9, 1, 5, 7, 3 };
	struct stats s = stats_u64(v, ARRAY_SIZE(v));
	EXPECT_EQ(t, s.median, 5);
	EXPECT_EQ(t, s.min, 1);
	EXPECT_EQ(t, s.max, 9);
	EXPECT_EQ(t, s.n, 5);
	for (size_t i = 1; i < ARRAY_SIZE(v); i++)
		EXPECT(t, v[i - 1] <= v[i]);
}

TEST(stats, even_count_takes_lower_middle_and_empty_is_zero)
{
	uint64_t v[] = { 4, 2, 8, 6 };
	EXPECT_EQ(t, stats_u64(v, 4).median, 4);
	EXPECT_EQ(t, stats_u64(v, 0).n, 0);
	uint64_t same[] = { 3, 3, 3 };
	EXPECT_EQ(t, stats_u64(same, 3).median, 3);
}
