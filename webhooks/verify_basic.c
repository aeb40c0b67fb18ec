/*
 * verify_basic.c -- the HTTP Basic scheme (RFC 7617), for senders that can
 * only authenticate with a user name and password in the webhook URL or
 * settings: Pipedrive, Chargebee.
 *
 * The request carries "Authorization: Basic base64(user:password)"; each
 * secret of the source is "user:password". The decoded credential is
 * compared with every secret in constant time (hk_ct_equal_secret), so
 * that its length tells nothing either.
 *
 * Decisions:
 * - The scheme word is matched with case ignored, as RFC 9110 says, and
 *   any spaces after it are skipped. Another scheme (Bearer, …) or
 *   credentials that are not base64 are a bad signature; only an absent
 *   or empty header is a missing one.
 * - Nothing signs a time: signed_ms is 0 and tolerance is ignored.
 * - The Authorization header is a credential, so it is never kept, and
 *   these senders put no delivery id in a header.
 */
#include <stdlib.h>
#include <string.h>

#include "webhooks/verify.h"

static const char *const keep_headers[] = {NULL};

static enum hk_err verify(const struct hk_request *req,
                          const struct hk_source *src, int64_t now_ms,
                          int64_t *signed_ms, struct hk_error *err) {
  static const char scheme[] = "basic ";
  const char *value = hk_request_header(req, "authorization");
  unsigned char *cred = NULL;
  size_t len = 0;
  enum hk_err rc = HK_E_OK;

  (void)now_ms;
  *signed_ms = 0;
  if (value == NULL || value[0] == '\0') {
    rc = hk_fail(err, HK_E_MISSING_SIGNATURE,
                 "The request lacks the Authorization header.");
  } else if (!hk_has_prefix(value, scheme)) {
    rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                 "The Authorization header does not use the Basic scheme.");
  } else {
    value += sizeof scheme - 1;
    value += strspn(value, " ");
    cred = hk_b64_decode(value, strlen(value), &len);
    if (cred == NULL || len == 0) {
      rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                   "The Basic credentials are not base64 of user:password.");
    }
  }
  if (rc == HK_E_OK) {
    if (!hk_match_credential(src, cred, len)) {
      rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                   "The Basic credentials are not valid.");
    }
  }
  hk_wipe(cred, len);
  free(cred);
  return rc;
}

const struct hk_scheme hk_scheme_basic = {
    .kind = HK_SOURCE_BASIC,
    .verify = verify,
    .check_body = hk_check_object_or_array, /* any JSON object or array */
    .id_header = NULL,
    .keep_headers = keep_headers,
    .body_id = NULL,
};
