/*
 * test_verify_paddle.c -- the Paddle Billing scheme through hk_verify, its
 * body check and hk_sign_paddle: a known-answer vector checked by Paddle's
 * own SDK, rotation, tampering, tolerance, missing and malformed headers,
 * and the delivery id taken from the notification.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/webhooks/helpers.h"

/* The secret and header of tests/fixtures/webhooks/paddle/NOTES.md. */
#define KAT_SECRET                                                             \
  "pdl_ntfset_01hv8x0bk0gq2wd3p2r6k5z4wq_Zb8kX1q2W3e4R5t6Y7u8I9o0P"
#define KAT_TS INT64_C(1795503723)
#define KAT_HEADER                                                             \
  "ts=1795503723;h1="                                                          \
  "150521b7fa7f90c01870b514f4686c6ef300bac8cb8a33193210df32899ea9e8"
#define OTHER_SECRET "pdl_ntfset_other_0123456789abcdef0123456789"
#define BODY                                                                   \
  "{\"event_id\":\"evt_1\",\"event_type\":\"transaction.completed\",\"data\":" \
  "{\"id\":\"txn_1\"}}"

/* A paddle source with secret, and BODY signed with sign_secret at ts. */
static void setup(struct fx *f, const char *secret, const char *sign_secret,
                  int64_t ts) {
  char buf[128];
  struct hk_secret key;
  char *h;

  fx_init(f, BODY);
  fx_source(f, HK_SOURCE_PADDLE, "paddle", NULL, secret);
  fx_key(&key, buf, sizeof buf, sign_secret);
  h = hk_sign_paddle(&key, ts, f->req.body, f->req.body_len);
  cr_assert_not_null(h);
  fx_header(f, "paddle-signature", h);
  free(h);
}

/* The hex h1 of BODY at ts under secret (static buffer). */
static const char *h1_of(const char *secret, int64_t ts) {
  static char out[128];
  char buf[128];
  struct hk_secret key;
  char *h;

  fx_key(&key, buf, sizeof buf, secret);
  h = hk_sign_paddle(&key, ts, BODY, strlen(BODY));
  cr_assert_not_null(h);
  (void)snprintf(out, sizeof out, "%s", strstr(h, "h1=") + 3);
  free(h);
  return out;
}

Test(sign_paddle, matches_the_paddle_sdk) {
  size_t len;
  char *body =
      fx_read_fixture("webhooks/paddle/transaction_completed.json", &len);
  char buf[128];
  struct hk_secret key;
  char *h;

  fx_key(&key, buf, sizeof buf, KAT_SECRET);
  h = hk_sign_paddle(&key, KAT_TS, body, len);
  cr_assert_str_eq(h, KAT_HEADER);
  free(h);
  free(body);
}

Test(sign_paddle, returns_null_for_an_empty_key) {
  struct hk_secret key = {NULL, 0};

  cr_assert_null(hk_sign_paddle(&key, KAT_TS, BODY, strlen(BODY)));
}

Test(verify_paddle, accepts_known_answer_vector) {
  size_t len;
  char *body =
      fx_read_fixture("webhooks/paddle/transaction_completed.json", &len);
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_PADDLE, "paddle", NULL, KAT_SECRET);
  fx_header(&f, "Paddle-Signature", KAT_HEADER);
  cr_assert_eq(fx_verify(&f, KAT_TS * 1000 + 999, &signed_ms, &err), HK_E_OK,
               "%s", err.msg);
  cr_assert_eq(signed_ms, KAT_TS * 1000);
  fx_fini(&f);
  free(body);
}

Test(verify_paddle, accepts_valid_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  cr_assert_eq(fx_verify(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  cr_assert_eq(signed_ms, NOW_S * 1000);
  fx_fini(&f);
}

Test(verify_paddle, accepts_any_secret_in_rotation) {
  static const char *const secrets[] = {OTHER_SECRET, KAT_SECRET};
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, OTHER_SECRET, KAT_SECRET, NOW_S);
  fx_secrets(&f, 2, secrets);
  cr_assert_eq(fx_verify(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  fx_fini(&f);
}

Test(verify_paddle, accepts_one_good_h1_among_several) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char h[512];
  char bad[80];

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  (void)snprintf(bad, sizeof bad, "%s", h1_of(OTHER_SECRET, NOW_S));
  (void)snprintf(h, sizeof h, "ts=%lld;h1=%s;h1=%s;h0=%s", (long long)NOW_S,
                 bad, h1_of(KAT_SECRET, NOW_S), bad);
  fx_header(&f, "paddle-signature", h);
  cr_assert_eq(fx_verify(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  fx_fini(&f);
}

Test(verify_paddle, ignores_other_keys) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char h[512];

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  (void)snprintf(h, sizeof h, "ts=%lld;h2=%s", (long long)NOW_S,
                 h1_of(KAT_SECRET, NOW_S));
  fx_header(&f, "paddle-signature", h);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_paddle, rejects_tampered_body) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  fx_body(&f, "{\"id\":\"evt_2\",\"type\":\"customer.created\",\"data\":{"
              "\"object\":{\"id\":\"cus_1\"}}}");
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  cr_assert_eq(signed_ms, 0);
  fx_fini(&f);
}

Test(verify_paddle, rejects_tampered_timestamp) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char h[256];

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  (void)snprintf(h, sizeof h, "ts=%lld;h1=%s", (long long)NOW_S + 1,
                 h1_of(KAT_SECRET, NOW_S));
  fx_header(&f, "paddle-signature", h);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_paddle, rejects_wrong_secret) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, KAT_SECRET, OTHER_SECRET, NOW_S);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_paddle, rejects_a_secret_without_its_prefix) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  /* The key is the whole string, prefix included. */
  setup(&f, KAT_SECRET, KAT_SECRET + strlen("pdl_ntfset_"), NOW_S);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_paddle, rejects_missing_header) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  fx_header(&f, "paddle-signature", NULL);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_MISSING_SIGNATURE, 401, "missing_signature");
  fx_header(&f, "paddle-signature", "");
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_MISSING_SIGNATURE, 401, "missing_signature");
  fx_fini(&f);
}

struct skew {
  int64_t delta_s; /* signed at NOW_S + delta_s */
  enum hk_err want;
};

ParameterizedTestParameters(verify_paddle, checks_tolerance) {
  static struct skew cases[] = {
      {-300, HK_E_OK},
      {300, HK_E_OK},
      {-301, HK_E_STALE_TIMESTAMP},
      {301, HK_E_STALE_TIMESTAMP},
      {-86400, HK_E_STALE_TIMESTAMP},
      {86400, HK_E_STALE_TIMESTAMP},
  };
  return cr_make_param_array(struct skew, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct skew *c, verify_paddle, checks_tolerance) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  enum hk_err rc;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S + c->delta_s);
  rc = fx_verify(&f, NOW_MS, &signed_ms, &err);
  if (c->want == HK_E_OK) {
    cr_assert_eq(rc, HK_E_OK, "%lld: %s", (long long)c->delta_s, err.msg);
  } else {
    assert_fails(rc, &err, c->want, 401, "stale_timestamp");
  }
  fx_fini(&f);
}

struct malformed {
  char header[160];
};

ParameterizedTestParameters(verify_paddle, rejects_malformed_header) {
  static struct malformed cases[] = {
      {"garbage"},
      {"h1=aa"},
      {"ts=;h1=aa"},
      {"ts=abc;h1=aa"},
      {"ts=-1795503723;h1=aa"},
      {"ts=1700000000"},
      {"ts=1700000000;h1="},
      {"ts=1700000000;ts=1700000000;h1=aa"},
      {"ts=1234567890123456;h1=aa"},
      {"ts=1700000000;h1=zz"},
      {"ts=1700000000,h1=aa"},
      {"ts=1700000000;h1=1;h1=2;h1=3;h1=4;h1=5;h1=6;h1=7;h1=8;h1=9;h1=10;"
       "h1=11;h1=12;h1=13;h1=14;h1=15;h1=16"},
  };
  return cr_make_param_array(struct malformed, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct malformed *c, verify_paddle,
                  rejects_malformed_header) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  fx_header(&f, "paddle-signature", c->header);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_paddle, messages_hold_no_secret_or_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, KAT_SECRET, OTHER_SECRET, NOW_S);
  cr_assert_neq(fx_verify(&f, NOW_MS, &signed_ms, &err), HK_E_OK);
  cr_assert_null(strstr(err.msg, "pdl_"));
  cr_assert_null(strstr(err.msg, h1_of(OTHER_SECRET, NOW_S)));
  fx_fini(&f);
}

struct body_case {
  char json[160];
  enum hk_err want;
};

ParameterizedTestParameters(verify_paddle, checks_body) {
  static struct body_case cases[] = {
      {"{\"event_id\":\"e\",\"event_type\":\"x\",\"data\":{}}", HK_E_OK},
      {"[]", HK_E_BAD_JSON},
      {"null", HK_E_BAD_JSON},
      {"{\"event_type\":\"x\",\"data\":{}}", HK_E_MISSING_FIELD},
      {"{\"event_id\":7,\"event_type\":\"x\",\"data\":{}}", HK_E_MISSING_FIELD},
      {"{\"event_id\":\"e\",\"data\":{}}", HK_E_MISSING_FIELD},
      {"{\"event_id\":\"e\",\"event_type\":\"\",\"data\":{}}",
       HK_E_MISSING_FIELD},
      {"{\"event_id\":\"e\",\"event_type\":\"x\"}", HK_E_MISSING_FIELD},
      {"{\"event_id\":\"e\",\"event_type\":\"x\",\"data\":[]}",
       HK_E_MISSING_FIELD},
  };
  return cr_make_param_array(struct body_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct body_case *c, verify_paddle, checks_body) {
  struct hk_error err = {HK_E_OK, ""};
  enum hk_err rc = fx_check_body(HK_SOURCE_PADDLE, c->json, &err);

  if (c->want == HK_E_OK) {
    cr_assert_eq(rc, HK_E_OK, "%s: %s", c->json, err.msg);
  } else {
    assert_fails(rc, &err, c->want, 400, hk_err_code(c->want));
  }
}

Test(verify_paddle, names_the_missing_field) {
  struct hk_error err = {HK_E_OK, ""};

  cr_assert_eq(
      fx_check_body(HK_SOURCE_PADDLE, "{\"event_id\":\"e\",\"data\":{}}", &err),
      HK_E_MISSING_FIELD);
  cr_assert_not_null(strstr(err.msg, "\"event_type\""), "%s", err.msg);
}

Test(verify_paddle, takes_the_delivery_id_from_the_notification) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s", err.msg);
  cr_assert_str_eq(d.delivery_id, "evt_1");
  cr_assert_str_eq(d.headers, "{}");
  cr_assert_eq(d.signed_ms, NOW_S * 1000);
  hk_delivery_fini(&d);
  fx_fini(&f);
}
