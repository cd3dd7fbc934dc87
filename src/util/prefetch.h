// A cache hint that the optimizer keeps. GCC treats __builtin_prefetch as
// free of side effects, so a lookup done only to prefetch what it finds
// (a hash probe whose result feeds nothing but the hint) is deleted whole
// as dead code; an asm volatile cannot be.
#pragma once

namespace kappa {

// Starts loading the cache line that holds *p into all cache levels. p need
// not be dereferenceable (a prefetch never faults).
[[gnu::always_inline]] inline void cache_prefetch(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__aarch64__)
  asm volatile("prfm pldl1keep, %0" : : "Q"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace kappa
