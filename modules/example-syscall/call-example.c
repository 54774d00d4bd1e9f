/* Calls tailor_example (system call 451, added by this module's kernel patch) and prints its result. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NR_TAILOR_EXAMPLE 451

int main(void)
{
	long r = syscall(NR_TAILOR_EXAMPLE, 20L);

	if (r < 0) {
		printf("call-example: tailor_example(20) failed: %s\n", strerror(errno));
		return 1;
	}
	printf("call-example: tailor_example(20) = %ld\n", r);
	return r == 41 ? 0 : 2;
}
