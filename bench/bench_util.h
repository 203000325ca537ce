/*
 * bench_util.h - what every benchmark here measures with: a monotonic
 * clock in seconds, and the median of a run's figures. Not a test.
 */
#ifndef MASH_BENCH_UTIL_H
#define MASH_BENCH_UTIL_H

#include <stddef.h>

/* CLOCK_MONOTONIC in seconds. */
double bench_now_s(void);

/* qsort comparison of doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

/* The median of v[0..n) (n > 0); sorts v in place. */
double bench_median(double *v, size_t n);

#endif
