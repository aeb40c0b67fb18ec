/*
 * verify_stripe.c -- the Stripe scheme (docs.stripe.com/webhooks, "Verify
 * webhook signatures with official libraries" and "manually").
 *
 * A request carries one header, Stripe-Signature: "t=<Unix seconds>,
 * v1=<hex>[,v1=<hex>…][,v0=<hex>]". Each v1 is the hex HMAC-SHA256 of
 * "t.body" keyed by the endpoint's signing secret: the whole "whsec_…"
 * string, its bytes as they are (unlike Standard Webhooks, nothing is
 * decoded). Stripe lists several v1 while it rolls a secret; our config
 * lists several secrets while we roll ours: any pair that matches passes.
 * v0 (test-mode legacy) and unknown keys are skipped.
 *
 * Decisions:
 * - The timestamp is checked before any HMAC, within tolerance_ms either
 *   way, bounds included (Stripe's libraries check only the past; a clock
 *   far ahead is as suspect as one far behind).
 * - A header without exactly one t= of 1 to 15 digits, or without any v1=,
 *   is a bad signature, not a missing one: the sender did sign, wrongly.
 * - The signed content uses t re-written in decimal, as Stripe's libraries
 *   do (they parse it as an integer).
 * - Stripe sends no delivery id header; the event's "id" in the body
 *   ("evt_…") is the delivery id, and Stripe keeps it across retries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/verify.h"

static const struct hk_ts_scheme scheme = {
    .header = "Stripe-Signature",
    .list_sep = ',',
    .ts_key = "t",
    .sig_key = "v1",
    .joiner = '.',
};

static const char *const keep_headers[] = {NULL};

static enum hk_err verify(const struct hk_request *req,
                          const struct hk_source *src, int64_t now_ms,
                          int64_t *signed_ms, struct hk_error *err) {
  return hk_verify_ts_signed(&scheme, req, src, now_ms, signed_ms, err);
}

/*
 * An event object. Every Stripe event carries "id" ("evt_…", the delivery
 * id) and "type"; only snapshot events carry "data.object": the thin events
 * of event destinations ("object": "v2.core.event") carry "related_object"
 * instead. So id and type are required, nothing else.
 */
static enum hk_err check_body(const json_t *doc, struct hk_error *err) {
  enum hk_err rc = hk_check_container(doc, 0, err);

  if (rc == HK_E_OK) {
    rc = hk_check_member(doc, "id", JSON_STRING, "id", err);
  }
  if (rc == HK_E_OK) {
    rc = hk_check_member(doc, "type", JSON_STRING, "type", err);
  }
  return rc;
}

const struct hk_scheme hk_scheme_stripe = {
    .kind = HK_SOURCE_STRIPE,
    .verify = verify,
    .check_body = check_body,
    .id_header = NULL,
    .keep_headers = keep_headers,
    .body_id = "id",
};

char *hk_sign_stripe(const struct hk_secret *key, int64_t ts, const char *body,
                     size_t len) {
  return hk_sign_ts_signed(&scheme, key, ts, body, len);
}
