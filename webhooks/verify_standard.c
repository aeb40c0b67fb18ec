/*
 * verify_standard.c -- the Standard Webhooks scheme (standardwebhooks.com;
 * Svix and every sender that follows the spec).
 *
 * A request carries three headers: webhook-id, webhook-timestamp (Unix
 * seconds) and webhook-signature, a space-separated list of
 * "<version>,<base64>". The symmetric signature, version v1, is the base64
 * HMAC-SHA256 of "id.timestamp.body" keyed by the base64-decoded secret
 * ("whsec_" prefix optional). Other versions (v1a, the asymmetric ed25519
 * one) are skipped. Several signatures let a sender roll its secret; several
 * secrets in the config let us roll ours: any pair that matches passes.
 *
 * Decisions, where the spec leaves room:
 * - The timestamp is checked before any HMAC: a stale request costs nothing.
 *   It is accepted when within tolerance_ms of now in either direction,
 *   bounds included.
 * - A timestamp that is not a run of 1 to 15 decimal digits is a bad
 *   signature (401 bad_signature), not a stale one: it cannot be the time
 *   of any signing, and calling it stale would send the sender to check a
 *   clock that is not wrong. Like the reference libraries, the signed
 *   content uses the number re-written in decimal (leading zeros dropped).
 * - A header that is present but empty counts as missing.
 * - A signature header listing more than HK_CAP_SIGNATURES entries (any
 *   version) is refused whole rather than truncated.
 * - Every v1 candidate is compared with the MAC of every secret, without
 *   stopping at the first match; only the candidate's own length (public,
 *   chosen by the sender) decides whether it is decoded at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/hmac.h"
#include "webhooks/verify.h"

#define ID_HEADER "webhook-id"
#define TS_HEADER "webhook-timestamp"
#define SIG_HEADER "webhook-signature"
#define SECRET_PREFIX "whsec_"
static const char *const keep_headers[] = {ID_HEADER, TS_HEADER, NULL};

/* The pieces of the signed content "id.timestamp.body". */
#define SIGNED_PARTS 5

/*
 * Points parts[0..SIGNED_PARTS) at the signed content "id.ts.body", with ts
 * written in decimal into ts_text (HK_TS_TEXT bytes). Everything stays
 * borrowed.
 */
static void signed_content(struct hk_span *parts, const char *id, int64_t ts_s,
                           char *ts_text, const void *body, size_t len) {
  int n = snprintf(ts_text, HK_TS_TEXT, "%lld", (long long)ts_s);

  parts[0] = (struct hk_span){id, strlen(id)};
  parts[1] = (struct hk_span){".", 1};
  parts[2] = (struct hk_span){ts_text, n > 0 ? (size_t)n : 0};
  parts[3] = (struct hk_span){".", 1};
  parts[4] = (struct hk_span){body, len};
}

unsigned char *hk_standard_key(const struct hk_secret *secret, size_t *len) {
  const char *s = (const char *)secret->bytes;
  size_t n = secret->len;
  unsigned char *key;
  size_t plen = strlen(SECRET_PREFIX);

  *len = 0;
  if (s == NULL) {
    return NULL;
  }
  if (n >= plen && memcmp(s, SECRET_PREFIX, plen) == 0) {
    s += plen;
    n -= plen;
  }
  key = hk_b64_decode(s, n, len);
  if (key != NULL && *len == 0) {
    free(key);
    key = NULL;
  }
  return key;
}

/*
 * Splits the signature header into c: v1 entries are decoded, others
 * skipped. Returns HK_E_OK, or HK_E_BAD_SIGNATURE with err set when the
 * header lists too many entries or no v1 one.
 */
static enum hk_err parse_signatures(const char *h, struct hk_candidates *c,
                                    struct hk_error *err) {
  size_t entries = 0;

  memset(c, 0, sizeof *c);
  while (*h != '\0') {
    size_t len = strcspn(h, " ");
    if (len > 0) {
      if (++entries > HK_CAP_SIGNATURES) {
        return hk_fail(err, HK_E_BAD_SIGNATURE,
                       "The " SIG_HEADER
                       " header lists more than %u signatures.",
                       HK_CAP_SIGNATURES);
      }
      /* Never more v1 entries than entries: the add cannot overflow. */
      if (len > 3 && memcmp(h, "v1,", 3) == 0) {
        (void)!hk_candidates_add(c, h + 3, len - 3, HK_ENC_BASE64,
                                 hk_hash_size(HK_HASH_SHA256));
      }
    }
    h += len;
    h += strspn(h, " ");
  }
  if (c->n == 0) {
    return hk_fail(err, HK_E_BAD_SIGNATURE,
                   "The " SIG_HEADER " header holds no v1 signature.");
  }
  return HK_E_OK;
}

/*
 * Computes the MAC under each usable secret and compares it with every
 * candidate. Returns 1 when any pair matches, 0 when none does, -1 when the
 * HMAC itself failed.
 */
static int match_any(const struct hk_source *src, const struct hk_span *parts,
                     size_t nparts, const struct hk_candidates *c) {
  unsigned char mac[HK_HMAC_MAX];
  int match = 0;
  int failed = 0;

  for (size_t s = 0; s < src->nsecrets; s++) {
    size_t keylen = 0;
    unsigned char *key = hk_standard_key(&src->secrets[s], &keylen);
    if (key == NULL) {
      continue; /* config checks secrets at load; one that fails verifies
                   nothing */
    }
    if (hk_hmac(HK_HASH_SHA256, key, keylen, parts, nparts, mac) != 0) {
      failed = 1;
    } else {
      match |= hk_candidates_match(c, mac, hk_hash_size(HK_HASH_SHA256));
    }
    hk_wipe(key, keylen);
    free(key);
  }
  return match ? 1 : failed ? -1 : 0;
}

static enum hk_err verify(const struct hk_request *req,
                          const struct hk_source *src, int64_t now_ms,
                          int64_t *signed_ms, struct hk_error *err) {
  static const char *const names[] = {ID_HEADER, TS_HEADER, SIG_HEADER};
  const char *values[3];
  struct hk_candidates c;
  struct hk_span parts[SIGNED_PARTS];
  char ts_text[HK_TS_TEXT];
  int64_t ts_s = 0;
  enum hk_err rc;
  int m;

  *signed_ms = 0;
  for (size_t i = 0; i < 3; i++) {
    values[i] = hk_request_header(req, names[i]);
    if (values[i] == NULL || values[i][0] == '\0') {
      return hk_fail(err, HK_E_MISSING_SIGNATURE,
                     "The request lacks the %s header.", names[i]);
    }
  }
  if (hk_parse_digits(values[1], strlen(values[1]), &ts_s) != 0) {
    return hk_fail(err, HK_E_BAD_SIGNATURE,
                   "The " TS_HEADER
                   " header is not a Unix time in whole seconds.");
  }
  rc = hk_check_skew(ts_s * 1000, now_ms, src->tolerance_ms, TS_HEADER, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  rc = parse_signatures(values[2], &c, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  signed_content(parts, values[0], ts_s, ts_text, req->body, req->body_len);
  m = match_any(src, parts, SIGNED_PARTS, &c);
  if (m < 0) {
    return hk_fail(err, HK_E_INTERNAL, "The signature could not be computed.");
  }
  if (m == 0) {
    return hk_fail(err, HK_E_BAD_SIGNATURE,
                   "No v1 signature in the " SIG_HEADER
                   " header matches the request.");
  }
  *signed_ms = ts_s * 1000;
  return HK_E_OK;
}

/*
 * The spec does not dictate the payload: it recommends {"type", "timestamp",
 * "data"} and allows the data "squashed" at the top level, and senders
 * (Svix users, home-grown tools) post whatever their events look like. So
 * any JSON object or array is a delivery; the mapping rules decide what it
 * means. An array is held to the item cap of the generic kinds.
 */
static enum hk_err check_body(const json_t *doc, struct hk_error *err) {
  return hk_check_object_or_array(doc, err);
}

const struct hk_scheme hk_scheme_standard = {
    .kind = HK_SOURCE_STANDARD_WEBHOOKS,
    .verify = verify,
    .check_body = check_body,
    .id_header = ID_HEADER,
    .keep_headers = keep_headers,
};

char *hk_sign_standard(const struct hk_secret *key, const char *id,
                       int64_t timestamp_s, const char *body, size_t len) {
  unsigned char mac[HK_HMAC_MAX];
  struct hk_span parts[SIGNED_PARTS];
  char ts_text[HK_TS_TEXT];
  size_t keylen = 0;
  unsigned char *k = hk_standard_key(key, &keylen);
  char *b64 = NULL;
  char *out = NULL;

  if (k == NULL) {
    return NULL;
  }
  signed_content(parts, id, timestamp_s, ts_text, body, len);
  if (hk_hmac(HK_HASH_SHA256, k, keylen, parts, SIGNED_PARTS, mac) == 0) {
    size_t n;
    b64 = hk_b64_encode(mac, hk_hash_size(HK_HASH_SHA256));
    n = strlen(b64);
    out = hk_xmalloc(n + 4);
    memcpy(out, "v1,", 3);
    memcpy(out + 3, b64, n);
    out[n + 3] = '\0';
  }
  free(b64);
  hk_wipe(k, keylen);
  free(k);
  return out;
}
