/*
 * verify_token.c -- the shared-token scheme: the sender repeats a secret in
 * a header of its choice, as many low-code tools and CRMs' workflow
 * webhooks can (a custom header with a fixed value).
 *
 * The source's config names the header (`header`) and the text before the
 * secret (`prefix`, such as "Bearer "). What follows the prefix is compared
 * with every secret in constant time (hk_ct_equal_secret), so that its
 * length tells nothing either.
 *
 * Decisions:
 * - The prefix is matched with ASCII case ignored: it is not secret, and
 *   HTTP scheme words such as Bearer are case-insensitive. A value without
 *   it is a bad signature; an absent or empty header is a missing one.
 * - Nothing signs a time or the body: signed_ms is 0, tolerance is
 *   ignored, and anyone who sees one request can forge others. This is the
 *   weakest scheme, for senders that offer nothing better.
 * - The token header is a credential, so nothing is kept.
 */
#include <string.h>

#include "webhooks/verify.h"

static const char *const keep_headers[] = {NULL};

static enum hk_err verify(const struct hk_request *req,
                          const struct hk_source *src, int64_t now_ms,
                          int64_t *signed_ms, struct hk_error *err) {
  const char *name = hk_conf_string(src, "header", NULL);
  const char *prefix = hk_conf_string(src, "prefix", "");
  const char *value = name != NULL ? hk_request_header(req, name) : NULL;
  enum hk_err rc = HK_E_OK;

  (void)now_ms;
  *signed_ms = 0;
  if (name == NULL) {
    rc = hk_fail(err, HK_E_INTERNAL, "The source's header is not configured.");
  } else if (value == NULL || value[0] == '\0') {
    rc = hk_fail(err, HK_E_MISSING_SIGNATURE,
                 "The request lacks the %s header.", name);
  } else if (!hk_has_prefix(value, prefix)) {
    rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                 "The %s header does not start with the configured prefix.",
                 name);
  } else {
    value += strlen(prefix);
    if (!hk_match_credential(src, value, strlen(value))) {
      rc =
          hk_fail(err, HK_E_BAD_SIGNATURE, "The %s header is not valid.", name);
    }
  }
  return rc;
}

const struct hk_scheme hk_scheme_token = {
    .kind = HK_SOURCE_TOKEN,
    .verify = verify,
    .check_body = hk_check_object_or_array, /* any JSON object or array */
    .id_header = NULL,
    .keep_headers = keep_headers,
    .body_id = NULL,
};
