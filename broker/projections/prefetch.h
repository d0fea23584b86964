// A prefetch the compiler keeps, for the projections' hints
// (projection::prefetch). GCC 12 takes __builtin_prefetch for an operation
// without side effects: a function that does nothing else is deduced pure,
// and its calls, whose (void) result nobody uses, are deleted. The id
// tables' hints compiled to a bare `ret` that way. An asm volatile
// statement is never deleted, and its memory operand is only an address:
// nothing is loaded, so it never faults.
#pragma once

namespace muninn::projections {

inline void prefetch_line(const void* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace muninn::projections
