/*
 * auth.c -- bearer tokens of the status API.
 *
 * The token sent is compared with every configured token by
 * hk_ct_equal_secret (core/ct.c): the time taken depends on the length of
 * what was sent and on how many tokens there are, never on how much of a
 * token a guess got right nor on any token's length.
 */
#include <string.h>
#include <strings.h>

#include "webhooks/webhooks.h"

enum hk_err hk_api_authorize(const struct hk_config *cfg,
                             const char *authorization, struct hk_error *err) {
  const struct hk_api_token *token = NULL;
  return hk_api_token(cfg, authorization, &token, err);
}

enum hk_err hk_api_token(const struct hk_config *cfg, const char *authorization,
                         const struct hk_api_token **matched,
                         struct hk_error *err) {
  static const char scheme[] = "bearer ";
  const char *token;
  size_t len;
  int match = 0;
  size_t which = 0;
  *matched = NULL;
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
   * which one came close. A token's own strlen takes the same time for
   * every request: it tells nothing about a guess. */
  for (size_t i = 0; i < cfg->ntokens; i++) {
    const char *want = cfg->tokens[i].value;
    if (want != NULL) {
      int m = hk_ct_equal_secret(want, strlen(want), token, len) != 0;
      /* The index of a match is taken without a branch on it. */
      which |= i & (0 - (size_t)(m & !match));
      match |= m;
    }
  }
  if (!match) {
    return hk_fail(err, HK_E_UNAUTHORIZED, "The bearer token is not valid.");
  }
  *matched = &cfg->tokens[which];
  return HK_E_OK;
}
