/* The smallest program: says hello and exits with its argument. */
#include <libos/libos.h>

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	printf("hello from env %llu on core %llu\n", (unsigned long long)env_id,
	       (unsigned long long)core);
	return (int)arg;
}
