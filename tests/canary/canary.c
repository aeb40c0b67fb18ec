/*
 * canary.c -- a heap overflow that AddressSanitizer must report.
 *
 * ctest marks this test WILL_FAIL: if the sanitizer tree ever stops turning
 * a report into a failing exit status, this "passes" and the suite fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  char *p = malloc(8);
  volatile size_t n = 9 + (size_t)argc - 1;
  (void)argv;
  memset(p, 'x', n); /* one byte past the end */
  printf("%c\n", p[0]);
  free(p);
  return 0;
}
