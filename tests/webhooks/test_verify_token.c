/*
 * test_verify_token.c -- the shared-token scheme through hk_verify and its
 * body check: configured header and prefix, rotation, wrong and partial
 * tokens, missing headers.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "tests/webhooks/helpers.h"

#define TOKEN "tok_8f2d1c4b9a7e6f50"
#define OTHER "tok_0000000000000000"
#define CONF "{\"header\":\"Authorization\",\"prefix\":\"Bearer \"}"

static void setup(struct fx *f, const char *conf, const char *name,
                  const char *value) {
  fx_init(f, "{\"objectType\":\"deal\"}");
  fx_source(f, HK_SOURCE_TOKEN, "token", conf, TOKEN);
  fx_header(f, name, value);
}

static void expect(struct fx *f, enum hk_err e) {
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = -1;
  enum hk_err rc = fx_verify(f, NOW_MS, &signed_ms, &err);

  if (e == HK_E_OK) {
    cr_assert_eq(rc, HK_E_OK, "%s", err.msg);
  } else {
    assert_fails(rc, &err, e, hk_err_status(e), hk_err_code(e));
    cr_assert_null(strstr(err.msg, "tok_"));
  }
  cr_assert_eq(signed_ms, 0);
}

Test(verify_token, accepts_the_token_after_the_prefix) {
  struct fx f;

  setup(&f, CONF, "authorization", "Bearer " TOKEN);
  expect(&f, HK_E_OK);
  fx_header(&f, "authorization", "bearer " TOKEN);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

Test(verify_token, accepts_a_bare_token_without_prefix) {
  struct fx f;

  setup(&f, "{\"header\":\"X-Webhook-Token\"}", "x-webhook-token", TOKEN);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

Test(verify_token, accepts_any_secret_in_rotation) {
  static const char *const secrets[] = {OTHER, TOKEN};
  struct fx f;

  setup(&f, CONF, "authorization", "Bearer " TOKEN);
  fx_secrets(&f, 2, secrets);
  expect(&f, HK_E_OK);
  fx_fini(&f);
}

Test(verify_token, rejects_missing_header) {
  struct fx f;

  setup(&f, CONF, "x-other", "Bearer " TOKEN);
  expect(&f, HK_E_MISSING_SIGNATURE);
  fx_header(&f, "authorization", "");
  expect(&f, HK_E_MISSING_SIGNATURE);
  fx_fini(&f);
}

struct bad {
  char value[64];
};

ParameterizedTestParameters(verify_token, rejects_bad_tokens) {
  static struct bad cases[] = {
      {"Bearer " OTHER},
      {"Bearer " TOKEN "0"},
      {"Bearer tok_8f2d1c4b"},
      {"Bearer "},
      {TOKEN},
      {"Basic " TOKEN},
      {"Bearer  " TOKEN},
      {"Bearer " TOKEN " "},
  };
  return cr_make_param_array(struct bad, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad *c, verify_token, rejects_bad_tokens) {
  struct fx f;

  setup(&f, CONF, "authorization", c->value);
  expect(&f, HK_E_BAD_SIGNATURE);
  fx_fini(&f);
}

Test(verify_token, fails_internally_without_a_header_configured) {
  struct fx f;

  setup(&f, NULL, "authorization", "Bearer " TOKEN);
  expect(&f, HK_E_INTERNAL);
  fx_fini(&f);
}

Test(verify_token, checks_body) {
  struct hk_error err = {HK_E_OK, ""};

  cr_assert_eq(fx_check_body(HK_SOURCE_TOKEN, "{}", &err), HK_E_OK);
  cr_assert_eq(fx_check_body(HK_SOURCE_TOKEN, "[{}]", &err), HK_E_OK);
  assert_fails(fx_check_body(HK_SOURCE_TOKEN, "null", &err), &err,
               HK_E_BAD_JSON, 400, "bad_json");
}

Test(verify_token, keeps_no_credential) {
  struct fx f;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;

  setup(&f, CONF, "authorization", "Bearer " TOKEN);
  cr_assert_eq(hk_intake_decide(&f.req, &f.src, NOW_MS, &d, &err), HK_E_OK,
               "%s", err.msg);
  cr_assert_str_eq(d.headers, "{}");
  hk_delivery_fini(&d);
  fx_fini(&f);
}
