/*
 * test_ct.c -- hk_ct_equal_secret: the answer for every relation of
 * lengths and contents, and no read past either buffer (the secret and
 * the bytes sent are heap copies of their exact size, so the sanitizer
 * build catches a stray read).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

struct ct_case {
  char secret[24];
  size_t slen;
  char sent[24];
  size_t len;
  int want;
};

ParameterizedTestParameters(ct, equal_secret) {
  static struct ct_case cases[] = {
      {"test-token-5f1c2e", 17, "test-token-5f1c2e", 17, 1},
      {"test-token-5f1c2e", 17, "test-token-5f1c2f", 17, 0},  /* last byte */
      {"test-token-5f1c2e", 17, "Test-token-5f1c2e", 17, 0},  /* first byte */
      {"test-token-5f1c2e", 17, "test-token-5f1c2", 16, 0},   /* a prefix */
      {"test-token-5f1c2e", 17, "test-token-5f1c2ex", 18, 0}, /* longer */
      {"test-token-5f1c2e", 17, "", 0, 0},                    /* nothing sent */
      {"a", 1, "a", 1, 1},
      {"a", 1, "aa", 2, 0},
      {"ab", 2, "a", 1, 0},
      {"", 0, "", 0, 0}, /* an empty secret matches nothing */
      {"", 0, "x", 1, 0},
      {"a\0b", 3, "a\0b", 3, 1}, /* bytes, not C strings */
      {"a\0b", 3, "a\0c", 3, 0},
      {"a\0b", 3, "a", 1, 0},
  };
  return cr_make_param_array(struct ct_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct ct_case *c, ct, equal_secret) {
  /* Exact-size heap copies: any read past the end is an ASan report. */
  unsigned char *secret = malloc(c->slen > 0 ? c->slen : 1);
  unsigned char *sent = malloc(c->len > 0 ? c->len : 1);

  cr_assert(secret != NULL && sent != NULL);
  memcpy(secret, c->secret, c->slen);
  memcpy(sent, c->sent, c->len);
  cr_assert_eq(
      hk_ct_equal_secret(c->slen > 0 ? secret : NULL, c->slen, sent, c->len),
      c->want, "secret %zu bytes, sent %zu bytes", c->slen, c->len);
  cr_assert_eq(hk_ct_equal_secret(secret, c->slen, sent, c->len), c->want);
  free(secret);
  free(sent);
}

/* Any length sent against a short secret, past it by far: the masked
 * index keeps every read inside the secret. */
Test(ct, reads_nothing_past_a_short_secret) {
  unsigned char *secret = malloc(3);
  char sent[4096];

  cr_assert_not_null(secret);
  memcpy(secret, "abc", 3);
  memset(sent, 'a', sizeof sent);
  memcpy(sent, "abc", 3);
  for (size_t len = 0; len <= sizeof sent; len += 97) {
    cr_assert_eq(hk_ct_equal_secret(secret, 3, sent, len), 0, "len %zu", len);
  }
  cr_assert_eq(hk_ct_equal_secret(secret, 3, sent, 3), 1);
  free(secret);
}

/* A NULL secret (a token whose variable was never read) is no match. */
Test(ct, a_null_secret_matches_nothing) {
  cr_assert_eq(hk_ct_equal_secret(NULL, 5, "abcde", 5), 0);
  cr_assert_eq(hk_ct_equal_secret(NULL, 0, "", 0), 0);
}
