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

#define SIG_HEADER "stripe-signature"
#define SIGNED_PARTS 3

static const char *const keep_headers[] = {NULL};

/* Points parts at "t.body"; ts_text holds HK_TS_TEXT bytes. Borrowed. */
static void signed_content(struct hk_span *parts, int64_t ts_s, char *ts_text,
                           const void *body, size_t len) {
  int n = snprintf(ts_text, HK_TS_TEXT, "%lld", (long long)ts_s);

  parts[0] = (struct hk_span){ts_text, n > 0 ? (size_t)n : 0};
  parts[1] = (struct hk_span){".", 1};
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
                   "The request lacks the Stripe-Signature header.");
  }
  rc = hk_parse_ts_sigs(h, ',', "t", "v1", "Stripe-Signature", &ts_s, &c, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  rc = hk_check_skew(ts_s * 1000, now_ms, src->tolerance_ms,
                     "Stripe-Signature timestamp", err);
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
                   "No v1 signature in the Stripe-Signature header matches "
                   "the request.");
  }
  *signed_ms = ts_s * 1000;
  return HK_E_OK;
}

/* An event object: {"id": "evt_…", "type": "…", "data": {"object": {…}}}. */
static enum hk_err check_body(const json_t *doc, struct hk_error *err) {
  enum hk_err rc = hk_check_container(doc, 0, err);

  if (rc == HK_E_OK) {
    rc = hk_check_member(doc, "id", JSON_STRING, "id", err);
  }
  if (rc == HK_E_OK) {
    rc = hk_check_member(doc, "type", JSON_STRING, "type", err);
  }
  if (rc == HK_E_OK) {
    rc = hk_check_member(doc, "data", JSON_OBJECT, "data", err);
  }
  if (rc == HK_E_OK) {
    rc = hk_check_member(json_object_get(doc, "data"), "object", JSON_OBJECT,
                         "data.object", err);
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

char *hk_sign_stripe(const struct hk_secret *key, int64_t t, const char *body,
                     size_t len) {
  unsigned char mac[HK_HMAC_MAX];
  struct hk_span parts[SIGNED_PARTS];
  char ts_text[HK_TS_TEXT];
  char *hex = NULL;
  char *out = NULL;

  signed_content(parts, t, ts_text, body, len);
  if (key->bytes != NULL && key->len > 0 &&
      hk_hmac(HK_HASH_SHA256, key->bytes, key->len, parts, SIGNED_PARTS, mac) ==
          0) {
    size_t n;
    hex = hk_hex_encode(mac, hk_hash_size(HK_HASH_SHA256));
    n = strlen(ts_text) + strlen(hex) + sizeof "t=,v1=";
    out = hk_xmalloc(n);
    (void)snprintf(out, n, "t=%s,v1=%s", ts_text, hex);
  }
  free(hex);
  return out;
}
