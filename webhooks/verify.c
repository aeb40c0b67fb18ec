/*
 * verify.c -- hk_verify: the table of verification schemes, one per source
 * kind, and the dispatch by kind.
 *
 * A new scheme is one file (verify_<kind>.c exporting a struct hk_scheme)
 * plus one line in the table below.
 */
#include <stddef.h>

#include "webhooks/verify.h"

static const struct hk_scheme *const schemes[] = {
    &hk_scheme_standard, &hk_scheme_stripe, &hk_scheme_hubspot,
    &hk_scheme_paddle,   &hk_scheme_hmac,   &hk_scheme_basic,
    &hk_scheme_token,
};

const struct hk_scheme *hk_scheme_find(enum hk_source_kind kind) {
  const struct hk_scheme *found = NULL;

  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
    if (schemes[i]->kind == kind) {
      found = schemes[i];
      break;
    }
  }
  return found;
}

enum hk_err hk_verify(const struct hk_request *req, const struct hk_source *src,
                      int64_t now_ms, int64_t *signed_ms,
                      struct hk_error *err) {
  const struct hk_scheme *scheme = hk_scheme_find(src->kind);

  *signed_ms = 0;
  if (scheme == NULL) { /* every kind the config knows has a scheme */
    return hk_fail(err, HK_E_INTERNAL,
                   "The source kind %s has no verification scheme.",
                   src->kind_name != NULL ? src->kind_name : "(unnamed)");
  }
  return scheme->verify(req, src, now_ms, signed_ms, err);
}
