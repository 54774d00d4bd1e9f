/*
 * Shell-style pattern matching for --trace event names: '*', '?', '[a-z]',
 * '[!x]' and '\' escapes. libc's fnmatch() would do, but musl's brings its
 * wide-character tables (16 KB of a ~110 KB init), and event names are ASCII.
 */
#include "cmdline.h"

/* Does the bracket expression at *pp match c? Leaves *pp after its ']';
 * returns -1 when the '[' has no closing ']' (then it is an ordinary '['). */
static int bracket(const char **pp, unsigned char c)
{
	const char *p = *pp + 1;
	int negate = *p == '!' || *p == '^';
	if (negate)
		p++;
	int hit = 0;
	for (int first = 1; *p && (first || *p != ']'); first = 0) {
		unsigned char lo = (unsigned char)*p++;
		if (lo == '\\' && *p)
			lo = (unsigned char)*p++;
		unsigned char hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			hi = (unsigned char)p[1];
			p += 2;
			if (hi == '\\' && *p)
				hi = (unsigned char)*p++;
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return hit != negate;
}

int cl_glob_match(const char *pattern, const char *text)
{
	const char *p = pattern, *t = text;
	const char *star_p = 0, *star_t = 0; /* where to retry after the last '*' */
	while (*t) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_t = t;
			continue;
		}
		int ok;
		const char *next = p;
		if (*p == '?') {
			ok = 1;
			next = p + 1;
		} else if (*p == '[' && (ok = bracket(&next, (unsigned char)*t)) >= 0) {
			/* next is after the ']' */
		} else {
			if (*p == '\\' && p[1])
				p++;
			ok = *p != 0 && *p == *t;
			next = p + 1;
		}
		if (ok) {
			p = next;
			t++;
		} else if (star_p) {
			p = star_p;
			t = ++star_t;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == 0;
}
