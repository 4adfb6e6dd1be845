/*
 * Time.  Cache expiry uses CLOCK_MONOTONIC nanoseconds: the same clock
 * bpf_ktime_get_ns() reads, so a kernel-side mirror can compare expiry
 * stamps written by user space without conversion.
 */
#ifndef VD_CORE_CLOCK_H
#define VD_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define VD_NS_PER_SEC 1000000000ULL
#define VD_NS_PER_MS 1000000ULL

static inline uint64_t vd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * VD_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

#endif
