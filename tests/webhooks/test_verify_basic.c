/*
 * test_verify_basic.c -- the HTTP Basic scheme through hk_verify and its
 * body check: rotation, wrong credentials, other schemes, missing and
 * malformed headers.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "tests/webhooks/helpers.h"

#define SECRET "pipedrive:s3cret-pass"
/* base64 of SECRET, and of "pipedrive:s3cret-pasS" and "pipedrive:". */
#define GOOD "cGlwZWRyaXZlOnMzY3JldC1wYXNz"
#define WRONG "cGlwZWRyaXZlOnMzY3JldC1wYXNT"
#define PREFIX_ONLY "cGlwZWRyaXZlOg=="
#define OTHER "chargebee:another-pass"

static void setup(struct fx *f, const char *authorization) {
  fx_init(f, "{\"event\":\"added.deal\"}");
  fx_source(f, HK_SOURCE_BASIC, "basic", NULL, SECRET);
  fx_header(f, "Authorization", authorization);
}

static void expect(struct fx *f, enum hk_err e) {
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;
  enum hk_err rc = fx_verify(f, NOW_MS, &signed_ms, &err);

  if (e == HK_E_OK) {
    cr_assert_eq(rc, HK_E_OK, "%s", err.msg);
  } else {
    assert_fails(rc, &err, e, 401, hk_err_code(e));
    cr_assert_null(strstr(err.msg, "s3cret"));
    cr_assert_null(strstr(err.msg, GOOD));
  }
  cr_assert_eq(signed_ms, 0);
}

Test(verify_basic, accepts_valid_credentials) {
  struct fx f;

  setup(&f, "Basic " GOOD);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

Test(verify_basic, accepts_any_case_of_the_scheme_and_extra_spaces) {
  struct fx f;

  setup(&f, "bAsIc   " GOOD);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

Test(verify_basic, accepts_any_secret_in_rotation) {
  static const char *const secrets[] = {OTHER, SECRET};
  struct fx f;

  setup(&f, "Basic " GOOD);
  fx_secrets(&f, 2, secrets);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

Test(verify_basic, rejects_missing_header) {
  struct fx f;

  setup(&f, "Basic " GOOD);
  fx_header(&f, "Authorization", NULL);
  expect(&f, HK_E_MISSING_SIGNATURE);
  fx_header(&f, "Authorization", "");
  expect(&f, HK_E_MISSING_SIGNATURE);
  fx_fini(&f);
}

struct bad {
  char value[80];
};

ParameterizedTestParameters(verify_basic, rejects_bad_credentials) {
  static struct bad cases[] = {
      {"Basic " WRONG},
      {"Basic " PREFIX_ONLY},
      {"Basic " GOOD "=="},
      {"Basic " GOOD "x"},
      {"Basic "},
      {"Basic"},
      {"Bearer " GOOD},
      {"Basic not base64!"},
      {GOOD},
      {"Basic cGlwZWRyaXZlOnMzY3JldC1wYXNzCg=="},
  };
  return cr_make_param_array(struct bad, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad *c, verify_basic, rejects_bad_credentials) {
  struct fx f;

  setup(&f, c->value);
  expect(&f, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_basic, rejects_credentials_of_a_removed_secret) {
  struct fx f;

  setup(&f, "Basic " GOOD);
  fx_secrets(&f, 1, (const char *const[]){OTHER});
  expect(&f, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_basic, checks_body) {
  struct hk_error err = {HK_E_OK, ""};

  cr_assert_eq(fx_check_body(HK_SOURCE_BASIC, "{}", &err), HK_E_OK);
  cr_assert_eq(fx_check_body(HK_SOURCE_BASIC, "[]", &err), HK_E_OK);
  assert_fails(fx_check_body(HK_SOURCE_BASIC, "true", &err), &err,
               HK_E_BAD_JSON, 400, "bad_json");
}

Test(verify_basic, keeps_no_credential) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  setup(&f, "Basic " GOOD);
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s", err.msg);
  cr_assert_str_eq(d.headers, "{}");
  cr_assert_str_eq(d.delivery_id, "");
  hk_delivery_fini(&d);
  fx_fini(&f);
}
