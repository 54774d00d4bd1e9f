/*
 * Test-only: does token_matches() decide anything from the secret token's
 * bytes? Run under valgrind (memcheck), ctgrind style: the configured token is
 * marked undefined memory, so memcheck reports every conditional jump and
 * every memory address that depends on it. A constant-time comparison gives
 * no report. `--control` compares with an early exit instead, which memcheck
 * must report (so the check can fail). Exit 0: the answers were right.
 */
#include <valgrind/memcheck.h>
#define main httpserver_main
#include "httpserver.c"
#undef main

/* What a naive comparison does: stop at the first differing byte. */
static int early_exit_matches(const char *given, size_t len)
{
	if (len != api_token_len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (given[i] != api_token[i])
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	int control = argc > 1 && !strcmp(argv[1], "--control");
	static const char *const guesses[] = {
		"tok-0123456789abcdef", /* right */
		"tok-0123456789abcdeX", /* wrong in the last byte */
		"Xok-0123456789abcdef", /* wrong in the first byte */
		"tok-0123456789abcdef0", /* one byte longer */
		"tok", "",
	};
	set_token(guesses[0], "the check");
	VALGRIND_MAKE_MEM_UNDEFINED(api_token, api_token_len);
	int right = 0;
	for (size_t i = 0; i < sizeof guesses / sizeof *guesses; i++) {
		int r = control ? early_exit_matches(guesses[i], strlen(guesses[i])) : token_matches(guesses[i], strlen(guesses[i]));
		VALGRIND_MAKE_MEM_DEFINED(&r, sizeof r); /* the answer itself is meant to be known */
		if (r != (i == 0)) {
			fprintf(stderr, "guess %zu: answered %d\n", i, r);
			return 1;
		}
		right++;
	}
	printf("%d guesses answered right\n", right);
	return 0;
}
