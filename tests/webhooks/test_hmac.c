/*
 * test_hmac.c -- the primitives of webhooks/hmac.c against published
 * vectors: RFC 4231 (HMAC-SHA256), RFC 2202 (HMAC-SHA1), RFC 4648 (base64).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/hmac.h"

static char *hmac_hex(enum hk_hash hash, const char *key, const char *data) {
  unsigned char mac[HK_HMAC_MAX];
  struct hk_span part = {data, strlen(data)};

  cr_assert_eq(
      hk_hmac(hash, (const unsigned char *)key, strlen(key), &part, 1, mac), 0);
  return hk_hex_encode(mac, hk_hash_size(hash));
}

/* RFC 4231, test case 2. */
Test(hmac, sha256_matches_rfc4231) {
  char *hex = hmac_hex(HK_HASH_SHA256, "Jefe", "what do ya want for nothing?");
  cr_assert_str_eq(
      hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  free(hex);
}

/* RFC 2202, test case 2. */
Test(hmac, sha1_matches_rfc2202) {
  char *hex = hmac_hex(HK_HASH_SHA1, "Jefe", "what do ya want for nothing?");
  cr_assert_str_eq(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  free(hex);
}

Test(hmac, parts_sign_as_their_concatenation) {
  unsigned char whole[HK_HMAC_MAX];
  unsigned char split[HK_HMAC_MAX];
  const char *msg = "id.1700000000.{\"a\":1}";
  struct hk_span one = {msg, strlen(msg)};
  struct hk_span parts[] = {
      {"id", 2}, {".", 1}, {"", 0}, {"1700000000.", 11}, {"{\"a\":1}", 7}};
  const unsigned char key[] = {1, 2, 3};

  cr_assert_eq(hk_hmac(HK_HASH_SHA256, key, 3, &one, 1, whole), 0);
  cr_assert_eq(hk_hmac(HK_HASH_SHA256, key, 3, parts, 5, split), 0);
  cr_assert(hk_ct_equal(whole, split, 32));
}

Test(hmac, refuses_an_empty_key) {
  unsigned char mac[HK_HMAC_MAX];
  struct hk_span part = {"x", 1};

  cr_assert_eq(hk_hmac(HK_HASH_SHA256, NULL, 0, &part, 1, mac), -1);
}

/* Criterion runs each test in a new process, where pointers into the
 * parent's image need not hold: parameters carry their strings inline. */
struct b64_case {
  char raw[8];
  char b64[12];
};

/* RFC 4648, section 10. */
static struct b64_case b64_cases[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

ParameterizedTestParameters(base64, encodes_rfc4648_vectors) {
  return cr_make_param_array(struct b64_case, b64_cases,
                             sizeof b64_cases / sizeof b64_cases[0]);
}

ParameterizedTest(struct b64_case *c, base64, encodes_rfc4648_vectors) {
  char *s = hk_b64_encode((const unsigned char *)c->raw, strlen(c->raw));
  cr_assert_str_eq(s, c->b64);
  free(s);
}

ParameterizedTestParameters(base64, decodes_rfc4648_vectors) {
  return cr_make_param_array(struct b64_case, b64_cases,
                             sizeof b64_cases / sizeof b64_cases[0]);
}

/* Padded as given, and with the padding left off: the result must be the
 * exact bytes, without the zeros EVP_DecodeBlock counts for padding. */
ParameterizedTest(struct b64_case *c, base64, decodes_rfc4648_vectors) {
  size_t n = strlen(c->b64);
  size_t unpadded = strcspn(c->b64, "=");

  for (int pass = 0; pass < 2; pass++) {
    size_t len = 99;
    unsigned char *raw = hk_b64_decode(c->b64, pass ? unpadded : n, &len);
    cr_assert_not_null(raw, "%s", c->b64);
    cr_assert_eq(len, strlen(c->raw), "%s: %zu bytes", c->b64, len);
    cr_assert_eq(memcmp(raw, c->raw, len), 0);
    free(raw);
  }
}

struct bad_b64 {
  char text[16];
};

ParameterizedTestParameters(base64, rejects_what_is_not_base64) {
  static struct bad_b64 cases[] = {
      {"Z"},        {"Zm9vY"},    {"Zm9v!"},     {"Zm9=v"},  {"Zm9vYg="},
      {"Zm9vY==="}, {"Zm 9v"},    {" Zm9v"},     {"Zm9v\n"}, {"-_8="},
      {"===="},     {"Zg==Zg=="}, {"Zm9vYmFy="},
  };
  return cr_make_param_array(struct bad_b64, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_b64 *c, base64, rejects_what_is_not_base64) {
  size_t len = 99;
  cr_assert_null(hk_b64_decode(c->text, strlen(c->text), &len), "%s", c->text);
  cr_assert_eq(len, 0);
}

Test(hex, encodes_lower_case_and_decodes_either_case) {
  const unsigned char raw[] = {0x00, 0x9f, 0xab, 0xff};
  unsigned char *back;
  size_t len = 0;
  char *hex = hk_hex_encode(raw, sizeof raw);

  cr_assert_str_eq(hex, "009fabff");
  back = hk_hex_decode("009FaBff", 8, &len);
  cr_assert_not_null(back);
  cr_assert_eq(len, 4);
  cr_assert_eq(memcmp(back, raw, 4), 0);
  free(back);
  free(hex);
}

Test(hex, rejects_odd_length_and_non_digits) {
  size_t len = 99;

  cr_assert_null(hk_hex_decode("abc", 3, &len));
  cr_assert_null(hk_hex_decode("zz", 2, &len));
  cr_assert_null(hk_hex_decode("0x", 2, &len));
  cr_assert_eq(len, 0);
}

Test(ct_equal, compares_all_bytes) {
  cr_assert(hk_ct_equal("abcd", "abcd", 4));
  cr_assert_not(hk_ct_equal("abcd", "abce", 4));
  cr_assert_not(hk_ct_equal("xbcd", "abcd", 4));
  cr_assert(hk_ct_equal("", "", 0));
}
