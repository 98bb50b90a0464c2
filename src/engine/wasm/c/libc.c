// The one libc function the compiler emits calls to (-nostdlib: nothing else is linked). Kept as a
// plain loop; clang would turn a memset-shaped loop here back into a memset call, hence volatile.
#include <stddef.h>

void *memset(void *dst, int c, size_t n) {
  volatile unsigned char *p = dst;
  while (n--) *p++ = (unsigned char)c;
  return dst;
}
