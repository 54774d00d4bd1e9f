/*
 * Prints this host's TSC rate in kHz: rdtsc against CLOCK_MONOTONIC_RAW over
 * 50 ms, the median of 3. Each end of an interval is the tightest of 8 reads
 * of (clock, tsc, clock), so a read pair split by the scheduler is not used.
 * Built and run by src/run/host-tsc.ts.
 */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_RAW, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void pair(double *ns, unsigned long long *tsc) {
	double window = -1;
	for (int i = 0; i < 8; i++) {
		double a = now_ns();
		unsigned long long t = __rdtsc();
		double b = now_ns();
		if (window < 0 || b - a < window) {
			window = b - a;
			*ns = (a + b) / 2;
			*tsc = t;
		}
	}
}

int main(void) {
	double khz[3];
	for (int i = 0; i < 3; i++) {
		double ns0, ns1;
		unsigned long long t0, t1;
		pair(&ns0, &t0);
		struct timespec d = { 0, 50 * 1000 * 1000 };
		nanosleep(&d, NULL);
		pair(&ns1, &t1);
		khz[i] = (double)(t1 - t0) / (ns1 - ns0) * 1e6;
	}
	double lo = khz[0] < khz[1] ? khz[0] : khz[1], hi = khz[0] < khz[1] ? khz[1] : khz[0];
	double median = khz[2] < lo ? lo : khz[2] > hi ? hi : khz[2];
	if (!(median > 0)) return 1;
	printf("%.0f\n", median);
	return 0;
}
