/*
 * verify.h -- internal to webhooks/: the verification schemes behind
 * hk_verify, one per source kind.
 *
 * A scheme says how a kind's requests are verified and what its accepted
 * deliveries must carry. Each lives in its own file (verify_standard.c, and
 * later verify_stripe.c, verify_hubspot.c, …), exports one const struct
 * hk_scheme, and is listed once in the table of verify.c. intake.c knows
 * nothing of any particular kind.
 */
#ifndef HK_WEBHOOKS_VERIFY_H
#define HK_WEBHOOKS_VERIFY_H

#include <jansson.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"
#include "webhooks/webhooks.h"

struct hk_scheme {
  enum hk_source_kind kind;
  /*
   * Verifies req under every secret of src, in constant time. Same contract
   * as hk_verify: HK_E_OK with *signed_ms set (0 when the scheme signs no
   * time), or HK_E_MISSING_SIGNATURE, HK_E_BAD_SIGNATURE or
   * HK_E_STALE_TIMESTAMP with err set.
   */
  enum hk_err (*verify)(const struct hk_request *req,
                        const struct hk_source *src, int64_t now_ms,
                        int64_t *signed_ms, struct hk_error *err);
  /*
   * Checks that a parsed body (borrowed) has the shape this kind's payloads
   * must have. Returns HK_E_OK, or HK_E_BAD_JSON (wrong top-level type) or
   * HK_E_MISSING_FIELD (naming the field) with err set.
   */
  enum hk_err (*check_body)(const json_t *doc, struct hk_error *err);
  /* The header that holds the sender's delivery id, or NULL when none. */
  const char *id_header;
  /* The headers kept in the delivery for later stages, NULL-terminated.
   * Never a signature or a credential. */
  const char *const *keep_headers;
};

/* The scheme of a kind, or NULL when that kind is not implemented yet.
 * Borrowed (static). */
const struct hk_scheme *hk_scheme_find(enum hk_source_kind kind);

/* Standard Webhooks (verify_standard.c). */
extern const struct hk_scheme hk_scheme_standard;

/*
 * The HMAC key of a Standard Webhooks secret: "whsec_" (optional) then
 * base64. Returns a new buffer the caller frees (length in *len, never 0),
 * or NULL when the secret is not base64 or decodes to nothing.
 */
unsigned char *hk_standard_key(const struct hk_secret *secret, size_t *len);

#endif
