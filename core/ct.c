/*
 * ct.c -- comparing a secret with what a client sent, in constant time,
 * lengths included.
 *
 * Shared by the status API's bearer tokens (webhooks/auth.c, for
 * handoff-fcgi) and the credentials of the basic and token webhook schemes
 * (webhooks/verify_common.c). A comparison that stops at the first
 * differing byte tells an attacker how much of a guess was right; one that
 * first compares lengths tells the secret's length. Here the work is one
 * pass over the bytes sent, whatever they hold: the secret's length and
 * contents only decide the answer, never how long it takes.
 */
#include <limits.h>

#include "core/core.h"

/* All ones when x < y, else 0, without a branch (BearSSL's GT). */
static size_t mask_lt(size_t x, size_t y) {
  size_t z = x - y;
  size_t lt = (z ^ ((x ^ y) & (y ^ z))) >> (sizeof(size_t) * CHAR_BIT - 1);
  return (size_t)0 - lt;
}

int hk_ct_equal_secret(const void *secret, size_t slen, const void *sent,
                       size_t len) {
  /* volatile: the compiler may not turn the loop into one that stops
   * early or skips bytes. */
  const volatile unsigned char *s = secret;
  const volatile unsigned char *t = sent;
  size_t diff = slen ^ len;
  unsigned char acc = 0;

  if (slen == 0 || secret == NULL) {
    return 0; /* nothing configured matches nothing; no byte to read */
  }
  for (size_t i = 0; i < len; i++) {
    size_t in = mask_lt(i, slen);
    /* Past the secret's end, index 0 is read (always in bounds) and masked
     * away; the lengths already differ, so diff decides. */
    unsigned char want = (unsigned char)(s[i & in] & (unsigned char)in);
    acc |= (unsigned char)(t[i] ^ want);
  }
  return (diff | acc) == 0;
}
