#include <exo/errors.h>
#include <exo/test.h>

TEST(errors, every_code_has_a_name)
{
	for (int e = 0; e >= E_IO; e--)
		EXPECT(t, !test_streq(err_name(e), "E_?"));
	EXPECT_STREQ(t, err_name(E_STALE), "E_STALE");
	EXPECT_STREQ(t, err_name(1), "E_?");
	EXPECT_STREQ(t, err_name(E_IO - 1), "E_?");
}
