/*
 * test_verify_stripe.c -- the Stripe scheme through hk_verify, its body
 * check and hk_sign_stripe: a known-answer vector from Stripe's own
 * library, rotation, tampering, tolerance, missing and malformed headers,
 * and the delivery id taken from the event.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/webhooks/helpers.h"

/* The secret and header of tests/fixtures/webhooks/stripe/NOTES.md. */
#define KAT_SECRET "whsec_test_5f3e7c1a9b2d4e6f8a0c1e3b5d7f9a1c"
#define KAT_TS INT64_C(1700000000)
#define KAT_HEADER                                                             \
  "t=1700000000,v1="                                                           \
  "f10fe9e914f7064d6f4388af65e571dde0db8a64478c4c0cb219780fb262d48c"
#define OTHER_SECRET "whsec_other_0123456789abcdef0123456789ab"
#define BODY                                                                   \
  "{\"id\":\"evt_1\",\"type\":\"customer.created\",\"data\":{\"object\":{"     \
  "\"id\":\"cus_1\"}}}"

/* A stripe source with secret, and BODY signed with sign_secret at ts. */
static void setup(struct fx *f, const char *secret, const char *sign_secret,
                  int64_t ts) {
  char buf[128];
  struct hk_secret key;
  char *h;

  fx_init(f, BODY);
  fx_source(f, HK_SOURCE_STRIPE, "stripe", NULL, secret);
  fx_key(&key, buf, sizeof buf, sign_secret);
  h = hk_sign_stripe(&key, ts, f->req.body, f->req.body_len);
  cr_assert_not_null(h);
  fx_header(f, "stripe-signature", h);
  free(h);
}

/* The hex v1 of BODY at ts under secret (static buffer). */
static const char *v1_of(const char *secret, int64_t ts) {
  static char out[128];
  char buf[128];
  struct hk_secret key;
  char *h;

  fx_key(&key, buf, sizeof buf, secret);
  h = hk_sign_stripe(&key, ts, BODY, strlen(BODY));
  cr_assert_not_null(h);
  (void)snprintf(out, sizeof out, "%s", strstr(h, "v1=") + 3);
  free(h);
  return out;
}

Test(sign_stripe, matches_the_stripe_library) {
  size_t len;
  char *body = fx_read_fixture("webhooks/stripe/customer_created.json", &len);
  char buf[128];
  struct hk_secret key;
  char *h;

  fx_key(&key, buf, sizeof buf, KAT_SECRET);
  h = hk_sign_stripe(&key, KAT_TS, body, len);
  cr_assert_str_eq(h, KAT_HEADER);
  free(h);
  free(body);
}

Test(sign_stripe, returns_null_for_an_empty_key) {
  struct hk_secret key = {NULL, 0};

  cr_assert_null(hk_sign_stripe(&key, KAT_TS, BODY, strlen(BODY)));
}

Test(verify_stripe, accepts_known_answer_vector) {
  size_t len;
  char *body = fx_read_fixture("webhooks/stripe/customer_created.json", &len);
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_STRIPE, "stripe", NULL, KAT_SECRET);
  fx_header(&f, "Stripe-Signature", KAT_HEADER);
  cr_assert_eq(fx_verify(&f, KAT_TS * 1000 + 999, &signed_ms, &err), HK_E_OK,
               "%s", err.msg);
  cr_assert_eq(signed_ms, KAT_TS * 1000);
  fx_fini(&f);
  free(body);
}

Test(verify_stripe, accepts_valid_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  cr_assert_eq(fx_verify(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  cr_assert_eq(signed_ms, NOW_S * 1000);
  fx_fini(&f);
}

Test(verify_stripe, accepts_any_secret_in_rotation) {
  static const char *const secrets[] = {OTHER_SECRET, KAT_SECRET};
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, OTHER_SECRET, KAT_SECRET, NOW_S);
  fx_secrets(&f, 2, secrets);
  cr_assert_eq(fx_verify(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  fx_fini(&f);
}

Test(verify_stripe, accepts_one_good_v1_among_several) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char h[512];
  char bad[80];

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  (void)snprintf(bad, sizeof bad, "%s", v1_of(OTHER_SECRET, NOW_S));
  (void)snprintf(h, sizeof h, "t=%lld,v1=%s,v1=%s,v0=%s", (long long)NOW_S, bad,
                 v1_of(KAT_SECRET, NOW_S), bad);
  fx_header(&f, "stripe-signature", h);
  cr_assert_eq(fx_verify(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  fx_fini(&f);
}

Test(verify_stripe, ignores_v0_signatures) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char h[512];

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  (void)snprintf(h, sizeof h, "t=%lld,v0=%s", (long long)NOW_S,
                 v1_of(KAT_SECRET, NOW_S));
  fx_header(&f, "stripe-signature", h);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_stripe, rejects_tampered_body) {
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

Test(verify_stripe, rejects_tampered_timestamp) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char h[256];

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  (void)snprintf(h, sizeof h, "t=%lld,v1=%s", (long long)NOW_S + 1,
                 v1_of(KAT_SECRET, NOW_S));
  fx_header(&f, "stripe-signature", h);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_stripe, rejects_wrong_secret) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, KAT_SECRET, OTHER_SECRET, NOW_S);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_stripe, rejects_a_secret_decoded_as_standard_webhooks_would) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  /* The key is the whole string: signing with the part after whsec_
   * must fail. */
  setup(&f, KAT_SECRET, KAT_SECRET + strlen("whsec_"), NOW_S);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_stripe, rejects_missing_header) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  fx_header(&f, "stripe-signature", NULL);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_MISSING_SIGNATURE, 401, "missing_signature");
  fx_header(&f, "stripe-signature", "");
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_MISSING_SIGNATURE, 401, "missing_signature");
  fx_fini(&f);
}

struct skew {
  int64_t delta_s; /* signed at NOW_S + delta_s */
  enum hk_err want;
};

ParameterizedTestParameters(verify_stripe, checks_tolerance) {
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

ParameterizedTest(struct skew *c, verify_stripe, checks_tolerance) {
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

ParameterizedTestParameters(verify_stripe, rejects_malformed_header) {
  static struct malformed cases[] = {
      {"garbage"},
      {"v1=aa"},
      {"t=,v1=aa"},
      {"t=abc,v1=aa"},
      {"t=-1700000000,v1=aa"},
      {"t=1700000000"},
      {"t=1700000000,v1="},
      {"t=1700000000,t=1700000000,v1=aa"},
      {"t=1234567890123456,v1=aa"},
      {"t=1700000000,v1=zz"},
      {"t=1700000000;v1=aa"},
      {"t=1700000000,v1=1,v1=2,v1=3,v1=4,v1=5,v1=6,v1=7,v1=8,v1=9,v1=10,"
       "v1=11,v1=12,v1=13,v1=14,v1=15,v1=16"},
  };
  return cr_make_param_array(struct malformed, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct malformed *c, verify_stripe,
                  rejects_malformed_header) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, KAT_SECRET, KAT_SECRET, NOW_S);
  fx_header(&f, "stripe-signature", c->header);
  assert_fails(fx_verify(&f, NOW_MS, &signed_ms, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  fx_fini(&f);
}

Test(verify_stripe, messages_hold_no_secret_or_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  setup(&f, KAT_SECRET, OTHER_SECRET, NOW_S);
  cr_assert_neq(fx_verify(&f, NOW_MS, &signed_ms, &err), HK_E_OK);
  cr_assert_null(strstr(err.msg, "whsec_"));
  cr_assert_null(strstr(err.msg, v1_of(OTHER_SECRET, NOW_S)));
  fx_fini(&f);
}

struct body_case {
  char json[160];
  enum hk_err want;
};

/* Stripe guarantees an event's "id" and "type", not "data.object": thin
 * events (event destinations) carry "related_object" instead. */
ParameterizedTestParameters(verify_stripe, checks_body) {
  static struct body_case cases[] = {
      {"{\"id\":\"evt_1\",\"type\":\"x\",\"data\":{\"object\":{}}}", HK_E_OK},
      {"{\"id\":\"evt_1\",\"type\":\"x\"}", HK_E_OK},
      {"{\"id\":\"evt_1\",\"type\":\"x\",\"data\":{}}", HK_E_OK},
      {"{\"id\":\"evt_test_65R9\",\"object\":\"v2.core.event\",\"type\":"
       "\"v1.billing.meter.error_report_triggered\",\"related_object\":"
       "{\"id\":\"mtr_1\",\"type\":\"billing.meter\"}}",
       HK_E_OK},
      {"[]", HK_E_BAD_JSON},
      {"\"evt\"", HK_E_BAD_JSON},
      {"{\"type\":\"x\",\"data\":{\"object\":{}}}", HK_E_MISSING_FIELD},
      {"{\"id\":1,\"type\":\"x\",\"data\":{\"object\":{}}}",
       HK_E_MISSING_FIELD},
      {"{\"id\":\"evt_1\",\"data\":{\"object\":{}}}", HK_E_MISSING_FIELD},
      {"{\"id\":\"evt_1\",\"type\":\"\",\"data\":{\"object\":{}}}",
       HK_E_MISSING_FIELD},
  };
  return cr_make_param_array(struct body_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct body_case *c, verify_stripe, checks_body) {
  struct hk_error err = {HK_E_OK, ""};
  enum hk_err rc = fx_check_body(HK_SOURCE_STRIPE, c->json, &err);

  if (c->want == HK_E_OK) {
    cr_assert_eq(rc, HK_E_OK, "%s: %s", c->json, err.msg);
  } else {
    assert_fails(rc, &err, c->want, 400, hk_err_code(c->want));
  }
}

Test(verify_stripe, names_the_missing_field) {
  struct hk_error err = {HK_E_OK, ""};

  cr_assert_eq(
      fx_check_body(HK_SOURCE_STRIPE, "{\"id\":\"e\",\"data\":{}}", &err),
      HK_E_MISSING_FIELD);
  cr_assert_not_null(strstr(err.msg, "\"type\""), "%s", err.msg);
}

Test(verify_stripe, takes_the_delivery_id_from_the_event) {
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
