/*
 * test_intake.c -- hk_intake_decide and hk_request_header: the order of the
 * checks (415, 401, 400), the media types, the bodies a standard-webhooks
 * source takes and refuses, and the delivery it fills.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/webhooks/helpers.h"

static void assert_empty(const struct hk_delivery *d) {
  cr_assert_null(d->source);
  cr_assert_null(d->kind);
  cr_assert_null(d->delivery_id);
  cr_assert_null(d->headers);
  cr_assert_null(d->body);
  cr_assert_eq(d->body_len, 0);
  cr_assert_eq(d->received_ms, 0);
  cr_assert_eq(d->signed_ms, 0);
}

Test(request_header, matches_names_in_any_case) {
  struct hk_header h[] = {
      {"content-length", "12"}, {"Webhook-ID", "msg_1"}, {"X-EMPTY", ""}};
  struct hk_request req = {0};

  req.headers = h;
  req.nheaders = 3;
  cr_assert_str_eq(hk_request_header(&req, "webhook-id"), "msg_1");
  cr_assert_str_eq(hk_request_header(&req, "WEBHOOK-ID"), "msg_1");
  cr_assert_str_eq(hk_request_header(&req, "x-empty"), "");
  cr_assert_str_eq(hk_request_header(&req, "Content-Length"), "12");
  cr_assert_null(hk_request_header(&req, "webhook-i"));
  cr_assert_null(hk_request_header(&req, "webhook-id-x"));
  cr_assert_null(hk_request_header(&req, "webhook-timestamp"));
}

Test(request_header, returns_the_first_of_duplicates) {
  struct hk_header h[] = {{"a", "1"}, {"A", "2"}};
  struct hk_request req = {0};

  req.headers = h;
  req.nheaders = 2;
  cr_assert_str_eq(hk_request_header(&req, "a"), "1");
}

Test(request_header, finds_nothing_in_no_headers) {
  struct hk_request req = {0};

  cr_assert_null(hk_request_header(&req, "webhook-id"));
}

/*
 * The spec's example payload, signed with openssl at test-writing time
 * (tests/fixtures/webhooks/standard/NOTES.md).
 */
Test(intake, fills_the_delivery) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;
  size_t len;
  char *body = fx_read_fixture("webhooks/standard/contact_created.json", &len);
  const int64_t now = INT64_C(1674087231000) + 4321;

  fx_init(&f, "{}");
  f.req.body = body;
  f.req.body_len = len;
  fx_header(&f, "webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
  fx_header(&f, "webhook-timestamp", "1674087231");
  fx_header(&f, "webhook-signature",
            "v1,ARw42xaAApl/nxRo+iPGYwSaMQaOwMo2eyH5JBRA+bQ=");
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, now, &d, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_str_eq(d.source, "demo");
  cr_assert_eq(d.source, f.src.name, "the source is borrowed");
  cr_assert_str_eq(d.kind, "standard-webhooks");
  cr_assert_str_eq(d.delivery_id, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
  cr_assert_eq(d.received_ms, now);
  cr_assert_eq(d.signed_ms, INT64_C(1674087231000));
  cr_assert_str_eq(d.headers,
                   "{\"webhook-id\":\"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W\","
                   "\"webhook-timestamp\":\"1674087231\"}");
  cr_assert_null(strstr(d.headers, "signature"));
  cr_assert_eq(d.body, body, "the body is borrowed");
  cr_assert_eq(d.body_len, len);
  hk_delivery_fini(&d);
  assert_empty(&d);
  free(body);
}

Test(intake, fini_is_safe_twice_and_on_null) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, GOOD_BODY);
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s", err.msg);
  hk_delivery_fini(&d);
  hk_delivery_fini(&d);
  hk_delivery_fini(NULL);
  assert_empty(&d);
}

/* Criterion runs each test in a new process, where pointers into the
 * parent's image need not hold: parameters carry their strings inline. */
struct media {
  int absent; /* 1: no Content-Type at all */
  char type[64];
};

ParameterizedTestParameters(intake, accepts_json_media_types) {
  static struct media cases[] = {
      {0, "application/json"},
      {0, "application/json; charset=utf-8"},
      {0, "application/json;charset=UTF-8"},
      {0, "Application/JSON"},
      {0, "application/json "},
      {0, " application/json"},
      {0, "application/vnd.api+json"},
      {0, "application/cloudevents+json; charset=utf-8"},
      {0, "application/merge-patch+JSON"},
  };
  return cr_make_param_array(struct media, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct media *c, intake, accepts_json_media_types) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, GOOD_BODY);
  f.req.content_type = c->type;
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s: %s", c->type, err.msg);
  hk_delivery_fini(&d);
}

ParameterizedTestParameters(intake, rejects_other_media_types) {
  static struct media cases[] = {
      {0, "text/plain"},
      {0, "text/json"},
      {0, "application/x-www-form-urlencoded"},
      {0, "multipart/form-data; boundary=x"},
      {0, "application/jsonp"},
      {0, "application/json-seq"},
      {0, "application/+json"},
      {0, "application/json x"},
      {0, "application/json/x"},
      {0, "application"},
      {0, "application/"},
      {0, ""},
      {1, ""},
  };
  return cr_make_param_array(struct media, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct media *c, intake, rejects_other_media_types) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, GOOD_BODY);
  f.req.content_type = c->absent ? NULL : c->type;
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_UNSUPPORTED_MEDIA, 415, "unsupported_media_type");
  assert_empty(&d);
}

/* 415 comes before 401: the content type is checked first. */
Test(intake, checks_media_type_before_signature) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, GOOD_BODY);
  fx_header(&f, "webhook-signature", NULL);
  f.req.content_type = "text/plain";
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_UNSUPPORTED_MEDIA, 415, "unsupported_media_type");
}

/* 401 comes before 400: an unsigned body is never parsed. */
Test(intake, checks_signature_before_body) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, "not json");
  fx_sign(&f, TEST_ID, NOW_S, SECRET_B);
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_BAD_SIGNATURE, 401, "bad_signature");
  assert_empty(&d);
}

/* Each 401 of the scheme comes through unchanged. */
Test(intake, passes_on_verification_errors) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, GOOD_BODY);
  assert_fails(
      hk_intake_decide(&f.req, &f.src, NOW_MS + TOLERANCE_MS + 1, &d, &err),
      &err, HK_E_STALE_TIMESTAMP, 401, "stale_timestamp");
  assert_empty(&d);
  fx_header(&f, "webhook-id", NULL);
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_MISSING_SIGNATURE, 401, "missing_signature");
  assert_empty(&d);
}

/* Every body a signed standard-webhooks delivery can carry that is not a
 * JSON object or array: 400 bad_json, whatever else it holds. */
ParameterizedTestParameters(intake, rejects_bodies_that_are_not_json) {
  static char cases[][64] = {
      "",
      "not json",
      "{\"type\":\"a\",\"data\":{}",
      "{\"type\":\"a\",\"data\":{}} x",
      "{\"type\":\"a\",\"data\":{}}{}",
      "{\"type\":\"a\",\"data\":{},}",
      "{\"type\":\"\xff\",\"data\":{}}",
      "\"a\"",
      "42",
      "null",
      "true",
  };
  return cr_make_param_array(char[64], cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(char (*body)[64], intake, rejects_bodies_that_are_not_json) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, *body); /* signed: only the body is wrong */
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_BAD_JSON, 400, "bad_json");
  assert_empty(&d);
}

/*
 * The Standard Webhooks spec does not dictate the payload: the recommended
 * {type, timestamp, data}, the data "squashed" at the top level, an object
 * without a type, an array: each is a delivery (the rules map it).
 */
ParameterizedTestParameters(intake, accepts_any_object_or_array) {
  static char cases[][96] = {
      "{\"type\":\"kickoff.held\",\"company_id\":\"9046\",\"occurred_at\":"
      "\"2026-11-24T10:00:00Z\"}",
      "{}",
      "{\"data\":{}}",
      "{\"type\":1,\"data\":null}",
      "{\"type\":\"a\",\"data\":[]}",
      "[]",
      "[{\"type\":\"a\",\"data\":{}}]",
      "[1,\"two\",null]",
  };
  return cr_make_param_array(char[96], cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(char (*body)[96], intake, accepts_any_object_or_array) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, *body);
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s: %s", *body, err.msg);
  cr_assert_eq(d.body_len, strlen(*body));
  cr_assert_str_eq(d.delivery_id, TEST_ID);
  hk_delivery_fini(&d);
}

/* The message gives the parser's position, never the bytes it choked on. */
Test(intake, bad_json_message_holds_no_body) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, "{\"type\": SECRETTOKEN}");
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_BAD_JSON, 400, "bad_json");
  cr_assert_null(strstr(err.msg, "SECRETTOKEN"), "%s", err.msg);
  cr_assert(strstr(err.msg, "line 1") != NULL, "%s", err.msg);
}

/* Valid JSON is never a 400 for being unusual: big integers, \u0000, deep
 * or extra fields. */
Test(intake, accepts_unusual_valid_json) {
  static const char *const bodies[] = {
      "{\"type\":\"a\",\"data\":{\"n\":123456789012345678901234567890}}",
      "{\"type\":\"a\\u0000b\",\"data\":{}}",
      " {\"extra\":[1,2,{}],\"type\":\"a.b\",\"data\":{\"x\":{\"y\":1}}}\n",
  };

  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    struct fx f;
    struct hk_error err = {HK_E_OK, ""};
    struct hk_delivery d;

    fx_init(&f, bodies[i]);
    cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
                 "%s: %s", bodies[i], err.msg);
    hk_delivery_fini(&d);
  }
}

/* A delivery id must be text: it travels in JSON to Redis and back. */
Test(intake, rejects_an_id_that_is_not_utf8) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, GOOD_BODY);
  fx_sign(&f, "msg_\xff\xfe", NOW_S, SECRET_A);
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_BAD_REQUEST, 400, "bad_request");
  cr_assert(strstr(err.msg, "webhook-id") != NULL, "%s", err.msg);
  assert_empty(&d);
}

/* JSON special characters in a header value are escaped, not injected. */
Test(intake, escapes_header_values) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;
  json_t *h;

  fx_init(&f, GOOD_BODY);
  fx_sign(&f, "msg_\"},\"x\":\"", NOW_S, SECRET_A);
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s", err.msg);
  h = json_loads(d.headers, 0, NULL);
  cr_assert_not_null(h);
  cr_assert_eq(json_object_size(h), 2);
  cr_assert_str_eq(json_string_value(json_object_get(h, "webhook-id")),
                   "msg_\"},\"x\":\"");
  cr_assert_str_eq(d.delivery_id, "msg_\"},\"x\":\"");
  json_decref(h);
  hk_delivery_fini(&d);
}

Test(intake, refuses_a_kind_without_a_scheme) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  fx_init(&f, GOOD_BODY);
  f.src.kind = (enum hk_source_kind)99;
  f.src.kind_name = "nonesuch";
  assert_fails(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), &err,
               HK_E_INTERNAL, 500, "internal");
  assert_empty(&d);
}
