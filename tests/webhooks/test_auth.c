/*
 * test_auth.c -- hk_api_authorize: the bearer token of the status API,
 * compared with every configured token through hk_ct_equal_secret.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "tests/webhooks/helpers.h"

/* Token texts in writable storage: struct hk_api_token holds char *. */
static char name_a[] = "a";
static char name_b[] = "b";
static char token_a[] = "first-token-0123";
static char token_b[] = "second-token";

struct auth_case {
  char header[64];
  int ok;
};

ParameterizedTestParameters(api_authorize, checks_the_bearer_token) {
  static struct auth_case cases[] = {
      {"Bearer first-token-0123", 1},
      {"bearer first-token-0123", 1}, /* the scheme word has no case */
      {"BEARER second-token", 1},     /* any token in rotation */
      {"Bearer first-token-012", 0},  /* a prefix of a token */
      {"Bearer first-token-01234", 0},
      {"Bearer second-tokeN", 0},
      {"Bearer ", 0},
      {"Bearer", 0},
      {"Basic Zmlyc3QtdG9rZW4tMDEyMw==", 0},
      {"first-token-0123", 0},
  };
  return cr_make_param_array(struct auth_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct auth_case *c, api_authorize, checks_the_bearer_token) {
  struct hk_api_token tokens[] = {
      {name_a, token_a, HK_SCOPE_READ},
      {name_b, NULL, HK_SCOPE_READ}, /* an unset variable */
      {name_b, token_b, HK_SCOPE_READ | HK_SCOPE_ADMIN}};
  struct hk_config cfg;
  struct hk_error err = {HK_E_OK, ""};

  memset(&cfg, 0, sizeof cfg);
  cfg.tokens = tokens;
  cfg.ntokens = sizeof tokens / sizeof tokens[0];
  if (c->ok) {
    cr_assert_eq(hk_api_authorize(&cfg, c->header, &err), HK_E_OK, "%s: %s",
                 c->header, err.msg);
  } else {
    assert_fails(hk_api_authorize(&cfg, c->header, &err), &err,
                 HK_E_UNAUTHORIZED, 401, "unauthorized");
    cr_assert_null(strstr(err.msg, "token-"), "%s", err.msg);
  }
}

Test(api_authorize, wants_the_header) {
  struct hk_api_token tokens[] = {{name_a, token_a, HK_SCOPE_READ}};
  struct hk_config cfg;
  struct hk_error err = {HK_E_OK, ""};

  memset(&cfg, 0, sizeof cfg);
  cfg.tokens = tokens;
  cfg.ntokens = 1;
  assert_fails(hk_api_authorize(&cfg, NULL, &err), &err, HK_E_UNAUTHORIZED, 401,
               "unauthorized");
}

/* The token that matched is named, whichever of them it is. */
Test(api_authorize, names_the_token_that_matched) {
  struct hk_api_token tokens[] = {{name_a, token_a, HK_SCOPE_READ},
                                  {name_b, token_b, HK_SCOPE_ADMIN}};
  const struct hk_api_token *got = NULL;
  struct hk_config cfg;
  struct hk_error err = {HK_E_OK, ""};
  char header[128];

  memset(&cfg, 0, sizeof cfg);
  cfg.tokens = tokens;
  cfg.ntokens = 2;
  snprintf(header, sizeof header, "Bearer %s", token_b);
  cr_assert_eq(hk_api_token(&cfg, header, &got, &err), HK_E_OK);
  cr_assert_eq(got, &tokens[1]);
  snprintf(header, sizeof header, "Bearer %s", token_a);
  cr_assert_eq(hk_api_token(&cfg, header, &got, &err), HK_E_OK);
  cr_assert_eq(got, &tokens[0]);
}

/* No token configured: nothing is a match, not even an empty one. */
Test(api_authorize, refuses_everything_without_tokens) {
  struct hk_config cfg;
  struct hk_error err = {HK_E_OK, ""};

  memset(&cfg, 0, sizeof cfg);
  assert_fails(hk_api_authorize(&cfg, "Bearer ", &err), &err, HK_E_UNAUTHORIZED,
               401, "unauthorized");
}
