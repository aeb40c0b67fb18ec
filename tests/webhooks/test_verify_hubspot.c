/*
 * test_verify_hubspot.c -- the HubSpot scheme through hk_verify, its body
 * check and hk_sign_hubspot_v3: vectors from HubSpot's documentation and
 * its Node client, the URI and its decoded escapes, versions and their
 * precedence, rotation, tampering, tolerance, missing and malformed
 * headers, and batches.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/webhooks/helpers.h"

/* The secret and vectors of tests/fixtures/webhooks/hubspot/NOTES.md. */
#define SECRET "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
#define OTHER "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"
#define URL "https://hooks.example.com/hooks/hubspot"
#define KAT_TS_MS INT64_C(1700000000000)
#define KAT_V3 "NGeEDkwucjK5PZAmHwBFdBTlt6zCc/5eYpQL88Zzk9I="
#define KAT_V3_QUERY "jIX3IbnnZRsWfEjByp/fVXHYH3gr2Zb88MaRofra3CA="
#define KAT_QUERY "portal=62515&at=a%3Ab%2Fc%40d"
#define KAT_V2                                                                 \
  "5ce978cc423fff495c77cf3709c01f3e894a1474a9898b2a35ddc4a158a7aebf"
#define KAT_V1                                                                 \
  "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
#define CONF(versions)                                                         \
  "{\"public_url\":\"" URL "\",\"signature_versions\":" versions "}"
#define BODY                                                                   \
  "[{\"eventId\":1,\"subscriptionType\":\"contact.creation\","                 \
  "\"occurredAt\":1564113600000}]"

static char *kat_body(void) {
  size_t len;

  return fx_read_fixture("webhooks/hubspot/contact_creation.json", &len);
}

/* Sets the v3 headers of f's body, signed with secret at ts_ms for the
 * URI url. */
static void sign_v3(struct fx *f, const char *secret, const char *url,
                    int64_t ts_ms) {
  char buf[128];
  char ts[32];
  struct hk_secret key;
  char *sig;

  fx_key(&key, buf, sizeof buf, secret);
  sig = hk_sign_hubspot_v3(&key, "POST", url, ts_ms, f->req.body,
                           f->req.body_len);
  cr_assert_not_null(sig);
  (void)snprintf(ts, sizeof ts, "%lld", (long long)ts_ms);
  fx_header(f, "x-hubspot-signature-v3", sig);
  fx_header(f, "x-hubspot-request-timestamp", ts);
  free(sig);
}

/* A hubspot source accepting versions, and BODY signed by v3 at NOW_MS. */
static void setup(struct fx *f, const char *conf, const char *body) {
  fx_init(f, body);
  fx_source(f, HK_SOURCE_HUBSPOT, "hubspot", conf, SECRET);
  sign_v3(f, SECRET, URL, NOW_MS);
}

static void expect_ok(struct fx *f, int64_t now_ms, int64_t want_signed_ms) {
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  cr_assert_eq(fx_verify(f, now_ms, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  cr_assert_eq(signed_ms, want_signed_ms);
}

static void expect_fail(struct fx *f, int64_t now_ms, enum hk_err e) {
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  assert_fails(fx_verify(f, now_ms, &signed_ms, &err), &err, e, 401,
               hk_err_code(e));
  cr_assert_eq(signed_ms, 0);
  cr_assert_null(strstr(err.msg, SECRET));
}

Test(sign_hubspot, matches_the_hubspot_client) {
  char *body = kat_body();
  char buf[64];
  struct hk_secret key;
  char *sig;

  fx_key(&key, buf, sizeof buf, SECRET);
  sig = hk_sign_hubspot_v3(&key, "POST", URL, KAT_TS_MS, body, strlen(body));
  cr_assert_str_eq(sig, KAT_V3);
  free(sig);
  free(body);
}

Test(sign_hubspot, decodes_the_escapes_hubspot_decodes) {
  char *body = kat_body();
  char buf[64];
  struct hk_secret key;
  char *sig;

  fx_key(&key, buf, sizeof buf, SECRET);
  sig = hk_sign_hubspot_v3(&key, "POST", URL "?" KAT_QUERY, KAT_TS_MS, body,
                           strlen(body));
  cr_assert_str_eq(sig, KAT_V3_QUERY);
  free(sig);
  free(body);
}

Test(verify_hubspot, accepts_known_answer_vector_v3) {
  char *body = kat_body();
  struct fx f;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot", CONF("[\"v3\"]"), SECRET);
  fx_header(&f, "X-HubSpot-Signature-v3", KAT_V3);
  fx_header(&f, "X-HubSpot-Request-Timestamp", "1700000000000");
  expect_ok(&f, KAT_TS_MS + 1000, KAT_TS_MS);
  fx_fini(&f);
  free(body);
}

Test(verify_hubspot, signs_the_query_with_escapes_decoded) {
  char *body = kat_body();
  struct fx f;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot", CONF("[\"v3\"]"), SECRET);
  f.req.query = KAT_QUERY;
  fx_header(&f, "x-hubspot-signature-v3", KAT_V3_QUERY);
  fx_header(&f, "x-hubspot-request-timestamp", "1700000000000");
  expect_ok(&f, KAT_TS_MS, KAT_TS_MS);
  f.req.query = "";
  expect_fail(&f, KAT_TS_MS, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
  free(body);
}

Test(verify_hubspot, keeps_other_escapes_as_sent) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  f.req.query = "q=a%20b%2Bc%3D%26";
  sign_v3(&f, SECRET, URL "?q=a%20b%2Bc%3D%26", NOW_MS);
  expect_ok(&f, NOW_MS, NOW_MS);
  sign_v3(&f, SECRET, URL "?q=a b+c=&", NOW_MS);
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hubspot, decodes_lower_case_escapes) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  f.req.query = "at=a%3ab%2fc";
  sign_v3(&f, SECRET, URL "?at=a:b/c", NOW_MS);
  expect_ok(&f, NOW_MS, NOW_MS);
  fx_fini(&f);
}

Test(verify_hubspot, accepts_known_answer_vector_v2) {
  char *body = kat_body();
  struct fx f;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot", CONF("[\"v2\"]"), SECRET);
  fx_header(&f, "X-HubSpot-Signature", KAT_V2);
  fx_header(&f, "X-HubSpot-Signature-Version", "v2");
  expect_ok(&f, NOW_MS, 0);
  fx_fini(&f);
  free(body);
}

Test(verify_hubspot, accepts_the_documented_v2_example) {
  struct fx f;

  /* "Example for a GET request" of HubSpot's v2 page. */
  fx_init(&f, "");
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot",
            "{\"public_url\":\"https://www.example.com/webhook_uri\","
            "\"signature_versions\":[\"v2\"]}",
            SECRET);
  f.req.method = "GET";
  fx_header(&f, "x-hubspot-signature",
            "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e");
  fx_header(&f, "x-hubspot-signature-version", "v2");
  expect_ok(&f, NOW_MS, 0);
  fx_fini(&f);
}

Test(verify_hubspot, accepts_the_documented_v1_example) {
  char *body = kat_body();
  struct fx f;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot", CONF("[\"v1\"]"), SECRET);
  fx_header(&f, "x-hubspot-signature", KAT_V1);
  fx_header(&f, "x-hubspot-signature-version", "v1");
  expect_ok(&f, NOW_MS, 0);
  fx_body(&f, BODY);
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
  free(body);
}

Test(verify_hubspot, accepts_only_v3_by_default) {
  char *body = kat_body();
  struct fx f;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot", "{\"public_url\":\"" URL "\"}",
            SECRET);
  fx_header(&f, "x-hubspot-signature", KAT_V1);
  fx_header(&f, "x-hubspot-signature-version", "v1");
  expect_fail(&f, NOW_MS, HK_E_MISSING_SIGNATURE);
  sign_v3(&f, SECRET, URL, NOW_MS);
  expect_ok(&f, NOW_MS, NOW_MS);
  fx_fini(&f);
  free(body);
}

Test(verify_hubspot, refuses_a_version_not_accepted) {
  char *body = kat_body();
  struct fx f;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot", CONF("[\"v2\"]"), SECRET);
  fx_header(&f, "x-hubspot-signature", KAT_V1);
  fx_header(&f, "x-hubspot-signature-version", "v1");
  expect_fail(&f, NOW_MS, HK_E_MISSING_SIGNATURE);
  fx_header(&f, "x-hubspot-signature-version", NULL);
  expect_fail(&f, NOW_MS, HK_E_MISSING_SIGNATURE);
  fx_fini(&f);
  free(body);
}

Test(verify_hubspot, never_falls_back_from_a_failed_v3) {
  char *body = kat_body();
  struct fx f;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot", CONF("[\"v3\",\"v1\"]"), SECRET);
  fx_header(&f, "x-hubspot-signature", KAT_V1);
  fx_header(&f, "x-hubspot-signature-version", "v1");
  sign_v3(&f, OTHER, URL, NOW_MS);
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  fx_header(&f, "x-hubspot-signature-v3", NULL);
  expect_ok(&f, NOW_MS, 0);
  fx_fini(&f);
  free(body);
}

Test(verify_hubspot, ignores_v3_when_not_accepted) {
  char *body = kat_body();
  struct fx f;

  fx_init(&f, body);
  fx_source(&f, HK_SOURCE_HUBSPOT, "hubspot", CONF("[\"v1\"]"), SECRET);
  sign_v3(&f, OTHER, URL, NOW_MS);
  fx_header(&f, "x-hubspot-signature", KAT_V1);
  fx_header(&f, "x-hubspot-signature-version", "v1");
  expect_ok(&f, NOW_MS, 0);
  fx_fini(&f);
  free(body);
}

Test(verify_hubspot, accepts_valid_signature) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  expect_ok(&f, NOW_MS, NOW_MS);
  fx_fini(&f);
}

Test(verify_hubspot, accepts_any_secret_in_rotation) {
  static const char *const secrets[] = {OTHER, SECRET};
  struct fx f;

  setup(&f, CONF("[\"v3\",\"v2\",\"v1\"]"), BODY);
  fx_secrets(&f, 2, secrets);
  expect_ok(&f, NOW_MS, NOW_MS);
  fx_fini(&f);
}

Test(verify_hubspot, rejects_tampered_body) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  fx_body(&f, "[{\"eventId\":2,\"subscriptionType\":\"contact.creation\","
              "\"occurredAt\":1564113600000}]");
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hubspot, rejects_tampered_timestamp) {
  struct fx f;
  char ts[32];

  setup(&f, CONF("[\"v3\"]"), BODY);
  (void)snprintf(ts, sizeof ts, "%lld", (long long)NOW_MS + 1);
  fx_header(&f, "x-hubspot-request-timestamp", ts);
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hubspot, rejects_tampered_method_and_url) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  f.req.method = "PUT";
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  f.req.method = "POST";
  sign_v3(&f, SECRET, "https://evil.example.com/hooks/hubspot", NOW_MS);
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hubspot, rejects_wrong_secret) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  sign_v3(&f, OTHER, URL, NOW_MS);
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_hubspot, rejects_missing_headers) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  fx_header(&f, "x-hubspot-request-timestamp", NULL);
  expect_fail(&f, NOW_MS, HK_E_MISSING_SIGNATURE);
  fx_header(&f, "x-hubspot-request-timestamp", "");
  expect_fail(&f, NOW_MS, HK_E_MISSING_SIGNATURE);
  sign_v3(&f, SECRET, URL, NOW_MS);
  fx_header(&f, "x-hubspot-signature-v3", NULL);
  expect_fail(&f, NOW_MS, HK_E_MISSING_SIGNATURE);
  fx_header(&f, "x-hubspot-signature-v3", "");
  expect_fail(&f, NOW_MS, HK_E_MISSING_SIGNATURE);
  fx_fini(&f);
}

struct skew {
  int64_t delta_ms;
  enum hk_err want;
};

ParameterizedTestParameters(verify_hubspot, checks_tolerance) {
  static struct skew cases[] = {
      {-300000, HK_E_OK},
      {300000, HK_E_OK},
      {-300001, HK_E_STALE_TIMESTAMP},
      {300001, HK_E_STALE_TIMESTAMP},
      {-86400000, HK_E_STALE_TIMESTAMP},
      {86400000, HK_E_STALE_TIMESTAMP},
  };
  return cr_make_param_array(struct skew, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct skew *c, verify_hubspot, checks_tolerance) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  sign_v3(&f, SECRET, URL, NOW_MS + c->delta_ms);
  if (c->want == HK_E_OK) {
    expect_ok(&f, NOW_MS, NOW_MS + c->delta_ms);
  } else {
    expect_fail(&f, NOW_MS, c->want);
  }
  fx_fini(&f);
}

struct malformed {
  char name[40];
  char value[80];
};

ParameterizedTestParameters(verify_hubspot, rejects_malformed_header) {
  static struct malformed cases[] = {
      {"x-hubspot-request-timestamp", "abc"},
      {"x-hubspot-request-timestamp", "-1700000000000"},
      {"x-hubspot-request-timestamp", "1700000000000.0"},
      {"x-hubspot-request-timestamp", " 1700000000000"},
      {"x-hubspot-request-timestamp", "1700000000000000"},
      {"x-hubspot-signature-v3", "not base64!"},
      {"x-hubspot-signature-v3", "AAAA"},
      {"x-hubspot-signature-v3", KAT_V1},
  };
  return cr_make_param_array(struct malformed, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct malformed *c, verify_hubspot,
                  rejects_malformed_header) {
  struct fx f;

  setup(&f, CONF("[\"v3\"]"), BODY);
  fx_header(&f, c->name, c->value);
  expect_fail(&f, NOW_MS, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

struct body_case {
  char json[200];
  enum hk_err want;
};

ParameterizedTestParameters(verify_hubspot, checks_body) {
  static struct body_case cases[] = {
      {BODY, HK_E_OK},
      /* A workflow's "Send a webhook" action: the record, any object. */
      {"{\"eventId\":1}", HK_E_OK},
      {"{\"hs_object_id\":9046,\"properties\":{\"lifecyclestage\":"
       "\"customer\"}}",
       HK_E_OK},
      {"{}", HK_E_OK},
      {"1", HK_E_BAD_JSON},
      {"\"x\"", HK_E_BAD_JSON},
      {"[]", HK_E_MISSING_FIELD},
      {"[1]", HK_E_MISSING_FIELD},
      {"[{\"subscriptionType\":\"a\",\"occurredAt\":1}]", HK_E_MISSING_FIELD},
      {"[{\"eventId\":\"1\",\"subscriptionType\":\"a\",\"occurredAt\":1}]",
       HK_E_MISSING_FIELD},
      {"[{\"eventId\":1,\"occurredAt\":1}]", HK_E_MISSING_FIELD},
      {"[{\"eventId\":1,\"subscriptionType\":\"a\"}]", HK_E_MISSING_FIELD},
      {"[{\"eventId\":1,\"subscriptionType\":\"a\",\"occurredAt\":\"1\"}]",
       HK_E_MISSING_FIELD},
      {"[{\"eventId\":1,\"subscriptionType\":\"a\",\"occurredAt\":1},{}]",
       HK_E_MISSING_FIELD},
  };
  return cr_make_param_array(struct body_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct body_case *c, verify_hubspot, checks_body) {
  struct hk_error err = {HK_E_OK, ""};
  enum hk_err rc = fx_check_body(HK_SOURCE_HUBSPOT, c->json, &err);

  if (c->want == HK_E_OK) {
    cr_assert_eq(rc, HK_E_OK, "%s: %s", c->json, err.msg);
  } else {
    assert_fails(rc, &err, c->want, 400, hk_err_code(c->want));
  }
}

/* A batch of n copies of one event, as a new string. */
static char *batch(size_t n) {
  static const char ev[] =
      "{\"eventId\":1,\"subscriptionType\":\"a\",\"occurredAt\":1}";
  char *s = malloc(n * sizeof ev + 3);
  size_t o = 0;

  cr_assert_not_null(s);
  s[o++] = '[';
  for (size_t i = 0; i < n; i++) {
    if (i > 0) {
      s[o++] = ',';
    }
    memcpy(s + o, ev, sizeof ev - 1);
    o += sizeof ev - 1;
  }
  s[o++] = ']';
  s[o] = '\0';
  return s;
}

Test(verify_hubspot, accepts_a_batch_of_100) {
  struct hk_error err = {HK_E_OK, ""};
  char *s = batch(HK_CAP_HUBSPOT_BATCH);

  cr_assert_eq(fx_check_body(HK_SOURCE_HUBSPOT, s, &err), HK_E_OK, "%s",
               err.msg);
  free(s);
}

Test(verify_hubspot, refuses_a_batch_over_100) {
  struct hk_error err = {HK_E_OK, ""};
  char *s = batch(HK_CAP_HUBSPOT_BATCH + 1);

  assert_fails(fx_check_body(HK_SOURCE_HUBSPOT, s, &err), &err,
               HK_E_BAD_REQUEST, 400, "bad_request");
  free(s);
}

Test(verify_hubspot, names_the_missing_field) {
  struct hk_error err = {HK_E_OK, ""};

  cr_assert_eq(fx_check_body(HK_SOURCE_HUBSPOT,
                             "[{\"eventId\":1,\"subscriptionType\":\"a\","
                             "\"occurredAt\":1},{\"eventId\":2}]",
                             &err),
               HK_E_MISSING_FIELD);
  cr_assert_not_null(strstr(err.msg, "\"[1].subscriptionType\""), "%s",
                     err.msg);
}

Test(verify_hubspot, keeps_the_timestamp_but_no_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;
  char want[64];

  setup(&f, CONF("[\"v3\"]"), BODY);
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s", err.msg);
  (void)snprintf(want, sizeof want,
                 "{\"x-hubspot-request-timestamp\":\"%lld\"}",
                 (long long)NOW_MS);
  cr_assert_str_eq(d.headers, want);
  cr_assert_str_eq(d.delivery_id, "");
  cr_assert_eq(d.signed_ms, NOW_MS);
  hk_delivery_fini(&d);
  fx_fini(&f);
}
