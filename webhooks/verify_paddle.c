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

#define SIG_HEADER "paddle-signature"
#define SIGNED_PARTS 3

static const char *const keep_headers[] = {NULL};

/* Points parts at "ts:body"; ts_text holds HK_TS_TEXT bytes. Borrowed. */
static void signed_content(struct hk_span *parts, int64_t ts_s, char *ts_text,
                           const void *body, size_t len) {
  int n = snprintf(ts_text, HK_TS_TEXT, "%lld", (long long)ts_s);

  parts[0] = (struct hk_span){ts_text, n > 0 ? (size_t)n : 0};
  parts[1] = (struct hk_span){":", 1};
  parts[2] = (struct hk_span){body, len};
}

static enum hk_err verify(const struct hk_request *req,
                          const struct hk_source *src, int64_t now_ms,
                          int64_t *signed_ms, struct hk_error *err) {
  const char *h = hk_request_header(req, SIG_HEADER);
  struct hk_candidates c;
  struct hk_span parts[SIGNED_PARTS];
  char ts_text[HK_TS_TEXT];
  int64_t ts_s = 0;
  enum hk_err rc;
  int m;

  *signed_ms = 0;
  if (h == NULL || h[0] == '\0') {
    return hk_fail(err, HK_E_MISSING_SIGNATURE,
                   "The request lacks the Paddle-Signature header.");
  }
  rc = hk_parse_ts_sigs(h, ';', "ts", "h1", "Paddle-Signature", &ts_s, &c, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  rc = hk_check_skew(ts_s * 1000, now_ms, src->tolerance_ms,
                     "Paddle-Signature timestamp", err);
  if (rc != HK_E_OK) {
    return rc;
  }
  signed_content(parts, ts_s, ts_text, req->body, req->body_len);
  m = hk_candidates_match_hmac(&c, src, HK_HASH_SHA256, parts, SIGNED_PARTS);
  if (m < 0) {
    return hk_fail(err, HK_E_INTERNAL, "The signature could not be computed.");
  }
  if (m == 0) {
    return hk_fail(err, HK_E_BAD_SIGNATURE,
                   "No h1 signature in the Paddle-Signature header matches "
                   "the request.");
  }
  *signed_ms = ts_s * 1000;
  return HK_E_OK;
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
  unsigned char mac[HK_HMAC_MAX];
  struct hk_span parts[SIGNED_PARTS];
  char ts_text[HK_TS_TEXT];
  char *hex = NULL;
  char *out = NULL;

  signed_content(parts, ts, ts_text, body, len);
  if (key->bytes != NULL && key->len > 0 &&
      hk_hmac(HK_HASH_SHA256, key->bytes, key->len, parts, SIGNED_PARTS, mac) ==
          0) {
    size_t n;
    hex = hk_hex_encode(mac, hk_hash_size(HK_HASH_SHA256));
    n = strlen(ts_text) + strlen(hex) + sizeof "ts=;h1=";
    out = hk_xmalloc(n);
    (void)snprintf(out, n, "ts=%s;h1=%s", ts_text, hex);
  }
  free(hex);
  return out;
}
