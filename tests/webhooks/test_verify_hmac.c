/*
 * test_verify_hmac.c -- the generic HMAC scheme through hk_verify, its body
 * check and hk_sign_hmac: GitHub's documented vector, hashes, encodings,
 * prefixes, rotation, tampering, missing and malformed headers.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/webhooks/helpers.h"

/* GitHub's example ("Validating webhook deliveries", docs.github.com):
 * secret "It's a Secret to Everybody", payload "Hello, World!". */
#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY "Hello, World!"
#define GH_SIG                                                                 \
  "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
#define GH_CONF "{\"header\":\"X-Hub-Signature-256\",\"prefix\":\"sha256=\"}"
#define OTHER "another shared secret"
#define BODY "{\"action\":\"opened\",\"number\":1}"

static char *sign(const char *secret, const char *hash, const char *enc,
                  const char *prefix, const char *body) {
  char buf[128];
  struct hk_secret key;
  char *sig;

  fx_key(&key, buf, sizeof buf, secret);
  sig = hk_sign_hmac(&key, hash, enc, prefix, body, strlen(body));
  cr_assert_not_null(sig);
  return sig;
}

/* An hmac source with conf, BODY signed with secret in header name. */
static void setup(struct fx *f, const char *conf, const char *name,
                  const char *hash, const char *enc, const char *prefix) {
  char *sig;

  fx_init(f, BODY);
  fx_source(f, HK_SOURCE_HMAC, "hmac", conf, GH_SECRET);
  sig = sign(GH_SECRET, hash, enc, prefix, BODY);
  fx_header(f, name, sig);
  free(sig);
}

static void expect(struct fx *f, enum hk_err e) {
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;
  enum hk_err rc = fx_verify(f, NOW_MS, &signed_ms, &err);

  if (e == HK_E_OK) {
    cr_assert_eq(rc, HK_E_OK, "%s", err.msg);
  } else {
    assert_fails(rc, &err, e, hk_err_status(e), hk_err_code(e));
    cr_assert_null(strstr(err.msg, GH_SECRET));
  }
  cr_assert_eq(signed_ms, 0);
}

Test(sign_hmac, matches_githubs_example) {
  char *sig = sign(GH_SECRET, "sha256", "hex", "sha256=", GH_BODY);

  cr_assert_str_eq(sig, GH_SIG);
  free(sig);
}

Test(sign_hmac, refuses_unknown_hash_or_encoding) {
  char buf[64];
  struct hk_secret key;

  fx_key(&key, buf, sizeof buf, GH_SECRET);
  cr_assert_null(hk_sign_hmac(&key, "md5", "hex", "", "x", 1));
  cr_assert_null(hk_sign_hmac(&key, "sha256", "base32", "", "x", 1));
}

Test(verify_hmac, accepts_githubs_example) {
  struct fx f;

  fx_init(&f, GH_BODY);
  fx_source(&f, HK_SOURCE_HMAC, "hmac", GH_CONF, GH_SECRET);
  fx_header(&f, "X-Hub-Signature-256", GH_SIG);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

struct variant {
  char conf[160];
  char hash[8];
  char enc[8];
  char prefix[16];
};

ParameterizedTestParameters(verify_hmac, accepts_each_hash_and_encoding) {
  static struct variant cases[] = {
      {"{\"header\":\"x-sig\"}", "sha256", "hex", ""},
      {"{\"header\":\"x-sig\",\"hash\":\"sha1\"}", "sha1", "hex", ""},
      {"{\"header\":\"x-sig\",\"encoding\":\"base64\"}", "sha256", "base64",
       ""},
      {"{\"header\":\"x-sig\",\"hash\":\"sha1\",\"encoding\":\"base64\","
       "\"prefix\":\"sha1=\"}",
       "sha1", "base64", "sha1="},
      {"{\"header\":\"x-sig\",\"prefix\":\"sha256=\"}", "sha256", "hex",
       "SHA256="},
  };
  return cr_make_param_array(struct variant, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct variant *c, verify_hmac,
                  accepts_each_hash_and_encoding) {
  struct fx f;

  setup(&f, c->conf, "x-sig", c->hash, c->enc, c->prefix);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

Test(verify_hmac, accepts_any_secret_in_rotation) {
  static const char *const secrets[] = {OTHER, GH_SECRET};
  struct fx f;

  setup(&f, GH_CONF, "x-hub-signature-256", "sha256", "hex", "sha256=");
  fx_secrets(&f, 2, secrets);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

Test(verify_hmac, rejects_tampered_body) {
  struct fx f;

  setup(&f, GH_CONF, "x-hub-signature-256", "sha256", "hex", "sha256=");
  fx_body(&f, "{\"action\":\"closed\",\"number\":1}");
  expect(&f, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hmac, rejects_wrong_secret) {
  struct fx f;

  setup(&f, GH_CONF, "x-hub-signature-256", "sha256", "hex", "sha256=");
  fx_secrets(&f, 1, (const char *const[]){OTHER});
  expect(&f, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hmac, rejects_the_wrong_hash) {
  struct fx f;

  setup(&f, GH_CONF, "x-hub-signature-256", "sha1", "hex", "sha256=");
  expect(&f, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hmac, rejects_missing_header) {
  struct fx f;

  setup(&f, GH_CONF, "x-hub-signature-256", "sha256", "hex", "sha256=");
  fx_header(&f, "x-hub-signature-256", NULL);
  expect(&f, HK_E_MISSING_SIGNATURE);
  fx_header(&f, "x-hub-signature-256", "");
  expect(&f, HK_E_MISSING_SIGNATURE);
  fx_fini(&f);
}

struct malformed {
  char value[100];
};

ParameterizedTestParameters(verify_hmac, rejects_malformed_header) {
  static struct malformed cases[] = {
      {"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
      {"sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
      {"sha256="},
      {"sha256=zz"},
      {"sha256=757107ea"},
      {"sha256= "
       "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1"},
  };
  return cr_make_param_array(struct malformed, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct malformed *c, verify_hmac, rejects_malformed_header) {
  struct fx f;

  fx_init(&f, GH_BODY);
  fx_source(&f, HK_SOURCE_HMAC, "hmac", GH_CONF, GH_SECRET);
  fx_header(&f, "x-hub-signature-256", c->value);
  expect(&f, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hmac, fails_internally_without_a_header_configured) {
  struct fx f;

  setup(&f, "{}", "x-sig", "sha256", "hex", "");
  expect(&f, HK_E_INTERNAL);
  fx_fini(&f);
}

Test(verify_hmac, checks_body) {
  struct hk_error err = {HK_E_OK, ""};

  cr_assert_eq(fx_check_body(HK_SOURCE_HMAC, "{}", &err), HK_E_OK);
  cr_assert_eq(fx_check_body(HK_SOURCE_HMAC, "[1]", &err), HK_E_OK);
  assert_fails(fx_check_body(HK_SOURCE_HMAC, "\"x\"", &err), &err,
               HK_E_BAD_JSON, 400, "bad_json");
  assert_fails(fx_check_body(HK_SOURCE_HMAC, "12", &err), &err, HK_E_BAD_JSON,
               400, "bad_json");
}

/* An array body is one item per element for the worker, and one delivery's
 * outcomes are journaled in one step: intake caps the count. */
Test(verify_hmac, refuses_an_array_of_more_items_than_a_delivery_holds) {
  struct hk_error err = {HK_E_OK, ""};
  char body[4096];
  size_t n = 0;

  body[n++] = '[';
  for (unsigned i = 0; i < HK_CAP_ITEMS; i++) {
    n += (size_t)snprintf(body + n, sizeof body - n, "%s1", i == 0 ? "" : ",");
  }
  body[n++] = ']';
  body[n] = '\0';
  cr_assert_eq(fx_check_body(HK_SOURCE_HMAC, body, &err), HK_E_OK, "%s",
               err.msg);
  memcpy(body + n - 1, ",1]", 4);
  assert_fails(fx_check_body(HK_SOURCE_HMAC, body, &err), &err,
               HK_E_BAD_REQUEST, 400, "bad_request");
  cr_assert(strstr(err.msg, "251 items") != NULL, "%s", err.msg);
}

Test(verify_hmac, keeps_githubs_event_and_delivery_id) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  setup(&f, GH_CONF, "x-hub-signature-256", "sha256", "hex", "sha256=");
  fx_header(&f, "X-GitHub-Event", "pull_request");
  fx_header(&f, "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s", err.msg);
  cr_assert_str_eq(d.delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  cr_assert_str_eq(d.headers,
                   "{\"x-github-event\":\"pull_request\",\"x-github-delivery\":"
                   "\"72d3162e-cc78-11e3-81ab-4c9367dc0958\"}");
  cr_assert_eq(d.signed_ms, 0);
  hk_delivery_fini(&d);
  fx_fini(&f);
}
