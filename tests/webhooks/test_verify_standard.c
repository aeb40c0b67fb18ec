/*
 * test_verify_standard.c -- the Standard Webhooks scheme through hk_verify
 * and hk_sign_standard: reference vector, tampering, rotation, versions,
 * tolerance, missing and malformed headers.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/webhooks/helpers.h"
#include "webhooks/verify.h"

/*
 * The reference vector of the Standard Webhooks libraries: TestWebhookSign
 * in libraries/go/webhook_test.go of
 * github.com/standard-webhooks/standard-webhooks (the same values are in
 * the other languages' tests). Checked independently when this test was
 * written:
 *   key=$(printf %s MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | base64 -d | xxd -p -c
 * 256) printf %s 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}'
 * | openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64
 */
#define REF_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define REF_TS 1614265330
#define REF_BODY "{\"test\": 2432232314}"
#define REF_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static enum hk_err run(struct fx *f, int64_t now_ms, int64_t *signed_ms,
                       struct hk_error *err) {
  return hk_verify(&f->req, &f->src, now_ms, signed_ms, err);
}

/* Signs REF_* with key text, as a sender would. */
static char *sign_ref(const char *text) {
  char buf[128];
  struct hk_secret key;

  fx_key(&key, buf, sizeof buf, text);
  return hk_sign_standard(&key, REF_ID, REF_TS, REF_BODY, strlen(REF_BODY));
}

Test(sign_standard, matches_reference_vector) {
  char *sig = sign_ref(SECRET_A);

  cr_assert_str_eq(sig, REF_SIG);
  free(sig);
}

Test(sign_standard, takes_a_secret_without_prefix) {
  char *sig = sign_ref(SECRET_A + strlen("whsec_"));

  cr_assert_str_eq(sig, REF_SIG);
  free(sig);
}

Test(sign_standard, returns_null_for_a_secret_not_base64) {
  static const char *const bad[] = {"whsec_not base64!", "whsec_", "", "Z",
                                    "whsec_Zm9v\n"};

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_null(sign_ref(bad[i]), "%s", bad[i]);
  }
}

Test(verify_standard, accepts_reference_vector) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  fx_init(&f, REF_BODY);
  fx_header(&f, "webhook-id", REF_ID);
  fx_header(&f, "webhook-timestamp", "1614265330");
  fx_header(&f, "webhook-signature", REF_SIG);
  cr_assert_eq(run(&f, REF_TS * INT64_C(1000) + 1234, &signed_ms, &err),
               HK_E_OK, "%s", err.msg);
  cr_assert_eq(signed_ms, REF_TS * INT64_C(1000));
}

Test(verify_standard, accepts_valid_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  fx_init(&f, GOOD_BODY);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  cr_assert_eq(signed_ms, NOW_S * 1000);
}

Test(verify_standard, finds_headers_in_any_case) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char sig[128];

  fx_init(&f, GOOD_BODY);
  (void)snprintf(sig, sizeof sig, "%s",
                 hk_request_header(&f.req, "webhook-signature"));
  fx_header(&f, "webhook-signature", NULL);
  fx_header(&f, "Webhook-Signature", sig);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
}

/*
 * One way of tampering with a signed request. Criterion runs each test in
 * a new process, where pointers into the parent's image need not hold:
 * parameters carry their strings inline.
 */
struct tamper {
  char what[32];
  int set_body; /* when 1, body replaces the body */
  char body[64];
  char id[40];        /* replaces webhook-id when not empty */
  int64_t ts_delta_s; /* added to webhook-timestamp */
  char secret[64];    /* the secret of the source when not empty */
};

ParameterizedTestParameters(verify_standard, rejects_tampering) {
  static struct tamper cases[] = {
      {"body", 1, "{\"type\":\"contact.created\",\"data\":{\"id\":\"c2\"}}", "",
       0, ""},
      {"body with a trailing newline", 1, GOOD_BODY "\n", "", 0, ""},
      {"empty body", 1, "", "", 0, ""},
      {"id", 0, "", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4X", 0, ""},
      {"timestamp", 0, "", "", 1, ""},
      {"timestamp", 0, "", "", -60, ""},
      {"secret", 0, "", "", 0, SECRET_B},
  };
  return cr_make_param_array(struct tamper, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct tamper *t, verify_standard, rejects_tampering) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;
  char ts[32];

  fx_init(&f, GOOD_BODY);
  if (t->set_body) {
    f.req.body = t->body;
    f.req.body_len = strlen(t->body);
  }
  if (t->id[0] != '\0') {
    fx_header(&f, "webhook-id", t->id);
  }
  (void)snprintf(ts, sizeof ts, "%lld", (long long)(NOW_S + t->ts_delta_s));
  fx_header(&f, "webhook-timestamp", ts);
  if (t->secret[0] != '\0') {
    const char *const one[] = {t->secret};
    fx_secrets(&f, 1, one);
  }
  assert_fails(run(&f, NOW_MS, &signed_ms, &err), &err, HK_E_BAD_SIGNATURE, 401,
               "bad_signature");
  cr_assert_eq(signed_ms, 0, "%s", t->what);
}

Test(verify_standard, accepts_one_of_several_signatures) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char header[512];

  fx_init(&f, GOOD_BODY);
  (void)snprintf(header, sizeof header,
                 "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
                 "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= %s "
                 "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
                 hk_request_header(&f.req, "webhook-signature"));
  fx_header(&f, "webhook-signature", header);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
}

Test(verify_standard, accepts_extra_spaces_between_signatures) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char header[512];

  fx_init(&f, GOOD_BODY);
  (void)snprintf(header, sizeof header, "  v1a,AAAA   %s  ",
                 hk_request_header(&f.req, "webhook-signature"));
  fx_header(&f, "webhook-signature", header);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
}

Test(verify_standard, accepts_second_secret_in_rotation) {
  static const char *const both[] = {SECRET_A, SECRET_B};
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  fx_secrets(&f, 2, both);
  fx_sign(&f, TEST_ID, NOW_S, SECRET_B);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  fx_sign(&f, TEST_ID, NOW_S, SECRET_A);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
}

Test(verify_standard, accepts_a_secret_without_prefix) {
  static const char *const bare[] = {SECRET_A + 6};
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  fx_secrets(&f, 1, bare);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
}

/* A v1a (ed25519) entry is skipped, even when its bytes are the right
 * HMAC: only v1 entries are HMAC signatures. */
Test(verify_standard, ignores_v1a_signatures) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char header[256];

  fx_init(&f, GOOD_BODY);
  (void)snprintf(header, sizeof header, "v1a,%s",
                 hk_request_header(&f.req, "webhook-signature") + 3);
  fx_header(&f, "webhook-signature", header);
  assert_fails(run(&f, NOW_MS, &signed_ms, &err), &err, HK_E_BAD_SIGNATURE, 401,
               "bad_signature");
  cr_assert(strstr(err.msg, "no v1 signature") != NULL, "%s", err.msg);
}

Test(verify_standard, ignores_secrets_that_are_not_base64) {
  static const char *const secrets[] = {"whsec_***", SECRET_A};
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  fx_secrets(&f, 2, secrets);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
  fx_secrets(&f, 1, secrets);
  assert_fails(run(&f, NOW_MS, &signed_ms, &err), &err, HK_E_BAD_SIGNATURE, 401,
               "bad_signature");
}

Test(verify_standard, rejects_when_no_secret_is_configured) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  fx_secrets(&f, 0, NULL);
  assert_fails(run(&f, NOW_MS, &signed_ms, &err), &err, HK_E_BAD_SIGNATURE, 401,
               "bad_signature");
}

struct skew {
  int64_t now_delta_ms; /* now, relative to the signed time */
  enum hk_err want;
};

ParameterizedTestParameters(verify_standard, checks_tolerance) {
  static struct skew cases[] = {
      {TOLERANCE_MS + 1000, HK_E_STALE_TIMESTAMP}, /* signed too long ago */
      {TOLERANCE_MS + 1, HK_E_STALE_TIMESTAMP},
      {-TOLERANCE_MS - 1000, HK_E_STALE_TIMESTAMP}, /* signed in the future */
      {-TOLERANCE_MS - 1, HK_E_STALE_TIMESTAMP},
      {INT64_C(86400000) * 365 * 20, HK_E_STALE_TIMESTAMP},
      {TOLERANCE_MS, HK_E_OK}, /* the bounds are inside */
      {-TOLERANCE_MS, HK_E_OK},
      {0, HK_E_OK},
  };
  return cr_make_param_array(struct skew, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct skew *c, verify_standard, checks_tolerance) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;
  enum hk_err rc;

  fx_init(&f, GOOD_BODY);
  rc = run(&f, NOW_MS + c->now_delta_ms, &signed_ms, &err);
  if (c->want == HK_E_OK) {
    cr_assert_eq(rc, HK_E_OK, "%s", err.msg);
    cr_assert_eq(signed_ms, NOW_MS);
  } else {
    assert_fails(rc, &err, HK_E_STALE_TIMESTAMP, 401, "stale_timestamp");
    cr_assert_eq(signed_ms, 0);
    cr_assert(strstr(err.msg, c->now_delta_ms > 0 ? "past" : "future"), "%s",
              err.msg);
  }
}

/* A stale timestamp is refused before any signature is looked at. */
Test(verify_standard, rejects_stale_timestamp_before_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  fx_header(&f, "webhook-signature", "v1,garbage");
  assert_fails(run(&f, NOW_MS + TOLERANCE_MS + 1, &signed_ms, &err), &err,
               HK_E_STALE_TIMESTAMP, 401, "stale_timestamp");
}

struct missing {
  char header[24];
  int remove; /* 1: removed; 0: set to "" */
};

ParameterizedTestParameters(verify_standard, rejects_missing_header) {
  static struct missing cases[] = {
      {"webhook-id", 1}, {"webhook-timestamp", 1}, {"webhook-signature", 1},
      {"webhook-id", 0}, {"webhook-timestamp", 0}, {"webhook-signature", 0},
  };
  return cr_make_param_array(struct missing, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct missing *c, verify_standard, rejects_missing_header) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  fx_init(&f, GOOD_BODY);
  fx_header(&f, c->header, c->remove ? NULL : "");
  assert_fails(run(&f, NOW_MS, &signed_ms, &err), &err, HK_E_MISSING_SIGNATURE,
               401, "missing_signature");
  cr_assert(strstr(err.msg, c->header) != NULL, "%s", err.msg);
  cr_assert_eq(signed_ms, 0);
}

struct malformed {
  char header[24];
  char value[64];
};

ParameterizedTestParameters(verify_standard, rejects_malformed_header) {
  static struct malformed cases[] = {
      {"webhook-timestamp", "abc"},
      {"webhook-timestamp", "-1700000000"},
      {"webhook-timestamp", "+1700000000"},
      {"webhook-timestamp", "1700000000.5"},
      {"webhook-timestamp", " 1700000000"},
      {"webhook-timestamp", "1700000000 "},
      {"webhook-timestamp", "0x6553f100"},
      {"webhook-timestamp", "1700000000000000000000"},
      {"webhook-signature", "garbage"},
      {"webhook-signature", "v1"},
      {"webhook-signature", "v1,"},
      {"webhook-signature", "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
      {"webhook-signature", "v1,not base64 at all!!"},
      {"webhook-signature", "v1,****************************************===="},
      {"webhook-signature", "v1,AAAA"},
      {"webhook-signature", ",,, , ,"},
      {"webhook-signature", "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
  };
  return cr_make_param_array(struct malformed, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct malformed *c, verify_standard,
                  rejects_malformed_header) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  fx_init(&f, GOOD_BODY);
  fx_header(&f, c->header, c->value);
  assert_fails(run(&f, NOW_MS, &signed_ms, &err), &err, HK_E_BAD_SIGNATURE, 401,
               "bad_signature");
  cr_assert_eq(signed_ms, 0);
}

/* The reference libraries sign the timestamp as a number, so leading zeros
 * in the header do not change what was signed. */
Test(verify_standard, reads_timestamp_as_a_number) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;
  char ts[32];

  fx_init(&f, GOOD_BODY);
  (void)snprintf(ts, sizeof ts, "00%lld", (long long)NOW_S);
  fx_header(&f, "webhook-timestamp", ts);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
}

/* Up to HK_CAP_SIGNATURES entries are read; one more and the header is
 * refused whole, even when the last entry is valid. */
static void sign_with_entries(struct fx *f, size_t n) {
  char header[1024] = "";
  char valid[128];

  (void)snprintf(valid, sizeof valid, "%s",
                 fx_signature(f, TEST_ID, NOW_S, SECRET_A));
  for (size_t i = 0; i + 1 < n; i++) {
    (void)strcat(header, "v1a,AAAA ");
  }
  (void)strcat(header, valid);
  fx_header(f, "webhook-signature", header);
}

Test(verify_standard, reads_up_to_the_signature_cap) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  sign_with_entries(&f, HK_CAP_SIGNATURES);
  cr_assert_eq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK, "%s", err.msg);
}

Test(verify_standard, rejects_more_signatures_than_the_cap) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  sign_with_entries(&f, HK_CAP_SIGNATURES + 1);
  assert_fails(run(&f, NOW_MS, &signed_ms, &err), &err, HK_E_BAD_SIGNATURE, 401,
               "bad_signature");
}

/* Messages may name headers, never carry a secret or a signature. */
Test(verify_standard, messages_hold_no_secret_or_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  fx_secrets(&f, 1, (const char *const[]){SECRET_B});
  cr_assert_neq(run(&f, NOW_MS, &signed_ms, &err), HK_E_OK);
  cr_assert_null(strstr(err.msg, "whsec_"));
  cr_assert_null(strstr(err.msg, SECRET_B + 6));
  cr_assert_null(
      strstr(err.msg, hk_request_header(&f.req, "webhook-signature") + 3));
}

/* ---- Bodies: the spec leaves the payload to the sender ---- */

/* The data "squashed" at the top level, as a customer-success tool posts
 * it: no "data", no "timestamp". */
Test(verify_standard, accepts_a_top_level_body) {
  struct hk_error err = {HK_E_OK, ""};

  cr_assert_eq(fx_check_body(HK_SOURCE_STANDARD_WEBHOOKS,
                             "{\"type\":\"kickoff.held\",\"company_id\":"
                             "\"9046\",\"occurred_at\":"
                             "\"2026-11-24T10:00:00Z\"}",
                             &err),
               HK_E_OK, "%s", err.msg);
  cr_assert_eq(fx_check_body(HK_SOURCE_STANDARD_WEBHOOKS, "{}", &err), HK_E_OK,
               "%s", err.msg);
}

Test(verify_standard, accepts_an_array_body) {
  struct hk_error err = {HK_E_OK, ""};

  cr_assert_eq(fx_check_body(HK_SOURCE_STANDARD_WEBHOOKS,
                             "[{\"type\":\"a\"},{\"type\":\"b\"}]", &err),
               HK_E_OK, "%s", err.msg);
  cr_assert_eq(fx_check_body(HK_SOURCE_STANDARD_WEBHOOKS, "[]", &err), HK_E_OK,
               "%s", err.msg);
}

/* JSON that is no object or array (a scalar) is bad_json, like text that
 * is not JSON at all (test_intake.c, rejects_bodies_that_are_not_json). */
Test(verify_standard, refuses_a_scalar_body) {
  static const char *const scalars[] = {"\"x\"", "12", "true", "null"};
  struct hk_error err = {HK_E_OK, ""};

  for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
    assert_fails(fx_check_body(HK_SOURCE_STANDARD_WEBHOOKS, scalars[i], &err),
                 &err, HK_E_BAD_JSON, 400, "bad_json");
  }
}

/* Signed and posted whole: the not-JSON body is 400 bad_json after the
 * signature passed, the top-level one a delivery. */
Test(verify_standard, decides_top_level_and_not_json_bodies) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, "{\"type\":\"kickoff.held\",\"company_id\":\"9046\"}");
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s", err.msg);
  cr_assert_str_eq(d.delivery_id, TEST_ID);
  hk_delivery_fini(&d);
  fx_body(&f, "kickoff.held 9046");
  fx_sign(&f, TEST_ID, NOW_S, SECRET_A);
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_BAD_JSON, 400, "bad_json");
}

Test(verify, has_a_scheme_for_every_kind) {
  static const enum hk_source_kind kinds[] = {HK_SOURCE_STANDARD_WEBHOOKS,
                                              HK_SOURCE_STRIPE,
                                              HK_SOURCE_HUBSPOT,
                                              HK_SOURCE_PADDLE,
                                              HK_SOURCE_HMAC,
                                              HK_SOURCE_BASIC,
                                              HK_SOURCE_TOKEN};

  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    const struct hk_scheme *s = hk_scheme_find(kinds[i]);
    cr_assert_not_null(s, "kind %zu", i);
    cr_assert_eq(s->kind, kinds[i]);
    cr_assert_not_null(s->keep_headers);
  }
}

Test(verify, refuses_a_kind_without_a_scheme) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;

  fx_init(&f, GOOD_BODY);
  f.src.kind = (enum hk_source_kind)99;
  f.src.kind_name = "nonesuch";
  assert_fails(run(&f, NOW_MS, &signed_ms, &err), &err, HK_E_INTERNAL, 500,
               "internal");
  cr_assert_null(strstr(err.msg, "not implemented"));
  cr_assert_eq(signed_ms, 0);
}

Test(verify, accepts_a_null_error_detail) {
  struct fx f;
  int64_t signed_ms;

  fx_init(&f, GOOD_BODY);
  fx_header(&f, "webhook-id", NULL);
  cr_assert_eq(hk_verify(&f.req, &f.src, NOW_MS, &signed_ms, NULL),
               HK_E_MISSING_SIGNATURE);
}
