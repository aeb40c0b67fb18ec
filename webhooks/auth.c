/*
 * auth.c -- bearer tokens of the status API.
 */
#include <string.h>
#include <strings.h>

#include "webhooks/hmac.h"
#include "webhooks/webhooks.h"

enum hk_err hk_api_authorize(const struct hk_config *cfg,
                             const char *authorization, struct hk_error *err) {
  static const char scheme[] = "bearer ";
  const char *token;
  size_t len;
  int match = 0;
  if (authorization == NULL) {
    return hk_fail(err, HK_E_UNAUTHORIZED,
                   "An Authorization: Bearer header is required.");
  }
  if (strncasecmp(authorization, scheme, sizeof scheme - 1) != 0) {
    return hk_fail(err, HK_E_UNAUTHORIZED,
                   "The Authorization header must use the Bearer scheme.");
  }
  token = authorization + sizeof scheme - 1;
  len = strlen(token);
  /* Every configured token is compared, so the time taken does not tell
   * which one came close. */
  for (size_t i = 0; i < cfg->ntokens; i++) {
    const char *want = cfg->tokens[i].value;
    if (want != NULL && *want != '\0' && strlen(want) == len &&
        hk_ct_equal(want, token, len)) {
      match = 1;
    }
  }
  if (!match) {
    return hk_fail(err, HK_E_UNAUTHORIZED, "The bearer token is not valid.");
  }
  return HK_E_OK;
}
