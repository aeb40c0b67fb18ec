/*
 * verify_paddle.c -- the Paddle Billing scheme (developer.paddle.com,
 * "Verify webhook signatures").
 *
 * A request carries one header, Paddle-Signature: "ts=<Unix seconds>;
 * h1=<hex>", with several h1 while Paddle rolls a notification secret.
 * Each h1 is the hex HMAC-SHA256 of "ts:body" keyed by the notification
 * destination's secret key ("pdl_ntfset_…"), its bytes as they are. Our
 * config may list several secrets: any pair that matches passes.
 *
 * Decisions:
 * - The timestamp is checked before any HMAC, within tolerance_ms either
 *   way, bounds included. Paddle's SDKs allow only 5 seconds, which a
 *   retry through a busy proxy can exceed; the source's tolerance (5
 *   minutes by default) decides here.
 * - A header without exactly one ts= of 1 to 15 digits, or without any
 *   h1=, is a bad signature, not a missing one.
 * - The signed content uses ts re-written in decimal, as Paddle's SDKs do.
 * - Paddle sends no delivery id header: the body's "event_id" ("evt_…")
 *   is the delivery id, kept across retries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/verify.h"

static const struct hk_ts_scheme scheme = {
    .header = "Paddle-Signature",
    .list_sep = ';',
    .ts_key = "ts",
    .sig_key = "h1",
    .joiner = ':',
};

static const char *const keep_headers[] = {NULL};

static enum hk_err verify(const struct hk_request *req,
                          const struct hk_source *src, int64_t now_ms,
                          int64_t *signed_ms, struct hk_error *err) {
  return hk_verify_ts_signed(&scheme, req, src, now_ms, signed_ms, err);
}

/* A notification: {"event_id": "evt_…", "event_type": "…", "data": {…}}. */
static enum hk_err check_body(const json_t *doc, struct hk_error *err) {
  enum hk_err rc = hk_check_container(doc, 0, err);

  if (rc == HK_E_OK) {
    rc = hk_check_member(doc, "event_id", JSON_STRING, "event_id", err);
  }
  if (rc == HK_E_OK) {
    rc = hk_check_member(doc, "event_type", JSON_STRING, "event_type", err);
  }
  if (rc == HK_E_OK) {
    rc = hk_check_member(doc, "data", JSON_OBJECT, "data", err);
  }
  return rc;
}

const struct hk_scheme hk_scheme_paddle = {
    .kind = HK_SOURCE_PADDLE,
    .verify = verify,
    .check_body = check_body,
    .id_header = NULL,
    .keep_headers = keep_headers,
    .body_id = "event_id",
};

char *hk_sign_paddle(const struct hk_secret *key, int64_t ts, const char *body,
                     size_t len) {
  return hk_sign_ts_signed(&scheme, key, ts, body, len);
}
