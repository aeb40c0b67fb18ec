/*
 * verify_common.c -- the pieces the verification schemes share: timestamps
 * and their tolerance, candidate signatures matched against every secret,
 * "key=value" signature headers, credentials compared in constant time,
 * and the checks of a body's shape.
 *
 * Constant time here means: every candidate is compared with the MAC of
 * every secret, without stopping at the first match, and a credential is
 * compared with hk_ct_equal_secret (core/ct.c), whose work depends on the
 * bytes sent only, so that not even the secret's length decides how long
 * the comparison takes. Only what the sender chose (how many candidates,
 * how long each is) changes the work done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/verify.h"

int hk_parse_digits(const char *s, size_t len, int64_t *out) {
  int64_t v = 0;
  int rc = 0;

  if (len == 0 || len > HK_TS_MAX_DIGITS) {
    rc = -1;
  }
  for (size_t i = 0; rc == 0 && i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      rc = -1;
    } else {
      v = v * 10 + (s[i] - '0');
    }
  }
  if (rc == 0) {
    *out = v;
  }
  return rc;
}

enum hk_err hk_check_skew(int64_t signed_ms, int64_t now_ms,
                          int64_t tolerance_ms, const char *header,
                          struct hk_error *err) {
  int64_t skew_ms = signed_ms - now_ms;
  enum hk_err rc = HK_E_OK;

  if (skew_ms < -tolerance_ms || skew_ms > tolerance_ms) {
    rc = hk_fail(err, HK_E_STALE_TIMESTAMP,
                 "The %s is %lld seconds in the %s, beyond the tolerance of "
                 "%lld seconds.",
                 header, (long long)((skew_ms < 0 ? -skew_ms : skew_ms) / 1000),
                 skew_ms < 0 ? "past" : "future",
                 (long long)(tolerance_ms / 1000));
  }
  return rc;
}

int hk_candidates_add(struct hk_candidates *c, const char *s, size_t len,
                      enum hk_encoding enc, size_t maclen) {
  unsigned char *mac = NULL;
  size_t n = 0;
  /* Only the candidate's own length, public and chosen by the sender,
   * decides whether it is decoded at all. */
  size_t want = enc == HK_ENC_HEX ? 2 * maclen : (maclen + 2) / 3 * 4;

  if (c->n >= HK_CAP_SIGNATURES) {
    return -1;
  }
  c->ok[c->n] = 0;
  memset(c->mac[c->n], 0, HK_HMAC_MAX);
  if (maclen <= HK_HMAC_MAX &&
      (len == want || (enc == HK_ENC_BASE64 && len + 1 == want))) {
    mac = enc == HK_ENC_HEX ? hk_hex_decode(s, len, &n)
                            : hk_b64_decode(s, len, &n);
  }
  if (mac != NULL && n == maclen) {
    memcpy(c->mac[c->n], mac, maclen);
    c->ok[c->n] = 1;
  }
  free(mac);
  c->n++;
  return 0;
}

int hk_candidates_match(const struct hk_candidates *c, const unsigned char *mac,
                        size_t maclen) {
  int match = 0;

  for (size_t i = 0; i < c->n; i++) {
    match |= c->ok[i] & hk_ct_equal(mac, c->mac[i], maclen);
  }
  return match;
}

int hk_candidates_match_hmac(const struct hk_candidates *c,
                             const struct hk_source *src, enum hk_hash hash,
                             const struct hk_span *parts, size_t nparts) {
  unsigned char mac[HK_HMAC_MAX];
  int match = 0;
  int failed = 0;

  for (size_t s = 0; s < src->nsecrets; s++) {
    const struct hk_secret *key = &src->secrets[s];
    if (key->bytes == NULL || key->len == 0) {
      continue; /* config refuses empty secrets; one verifies nothing */
    }
    if (hk_hmac(hash, key->bytes, key->len, parts, nparts, mac) != 0) {
      failed = 1;
    } else {
      match |= hk_candidates_match(c, mac, hk_hash_size(hash));
    }
  }
  hk_wipe(mac, sizeof mac);
  return match ? 1 : failed ? -1 : 0;
}

enum hk_err hk_parse_ts_sigs(const char *h, char sep, const char *ts_key,
                             const char *sig_key, const char *header,
                             int64_t *ts_s, struct hk_candidates *c,
                             struct hk_error *err) {
  const char seps[2] = {sep, '\0'};
  size_t ts_len = strlen(ts_key);
  size_t sig_len = strlen(sig_key);
  size_t items = 0;
  int nts = 0;
  enum hk_err rc = HK_E_OK;

  memset(c, 0, sizeof *c);
  *ts_s = 0;
  while (rc == HK_E_OK && *h != '\0') {
    size_t len = strcspn(h, seps);
    const char *eq = memchr(h, '=', len);
    size_t klen = eq != NULL ? (size_t)(eq - h) : len;
    const char *v = eq != NULL ? eq + 1 : h + len;
    size_t vlen = (size_t)(h + len - v);

    if (len > 0 && ++items > HK_CAP_SIGNATURES) {
      rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                   "The %s header lists more than %u items.", header,
                   HK_CAP_SIGNATURES);
    } else if (klen == ts_len && memcmp(h, ts_key, klen) == 0) {
      if (nts++ > 0 || eq == NULL || hk_parse_digits(v, vlen, ts_s) != 0) {
        rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                     "The %s header needs one %s= item, a Unix time in "
                     "whole seconds.",
                     header, ts_key);
      }
    } else if (eq != NULL && klen == sig_len && memcmp(h, sig_key, klen) == 0) {
      /* The cap on items keeps c from filling up. */
      (void)hk_candidates_add(c, v, vlen, HK_ENC_HEX,
                              hk_hash_size(HK_HASH_SHA256));
    }
    h += len;
    h += *h == sep ? 1 : 0;
  }
  if (rc == HK_E_OK && nts == 0) {
    rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                 "The %s header holds no %s= timestamp.", header, ts_key);
  }
  if (rc == HK_E_OK && c->n == 0) {
    rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                 "The %s header holds no %s= signature.", header, sig_key);
  }
  return rc;
}

int hk_match_credential(const struct hk_source *src, const void *sent,
                        size_t len) {
  int match = 0;

  for (size_t s = 0; s < src->nsecrets; s++) {
    const struct hk_secret *key = &src->secrets[s];
    match |= hk_ct_equal_secret(key->bytes, key->len, sent, len);
  }
  return match;
}

const char *hk_json_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "object";
  case JSON_ARRAY: return "array";
  case JSON_STRING: return "string";
  case JSON_INTEGER:
  case JSON_REAL: return "number";
  case JSON_TRUE:
  case JSON_FALSE: return "boolean";
  case JSON_NULL:
  default: return "null";
  }
}

enum hk_err hk_check_container(const json_t *doc, int allow_array,
                               struct hk_error *err) {
  enum hk_err rc = HK_E_OK;

  if (!json_is_object(doc) && !(allow_array && json_is_array(doc))) {
    rc = hk_fail(
        err, HK_E_BAD_JSON, "The body is a JSON %s; this source sends JSON %s.",
        hk_json_type_name(doc), allow_array ? "objects or arrays" : "objects");
  } else if (json_is_array(doc) && json_array_size(doc) > HK_CAP_ITEMS) {
    /* Each item becomes at least one outcome of the delivery, and a
     * worker journals a delivery's outcomes in one step. */
    rc = hk_fail(err, HK_E_BAD_REQUEST,
                 "The body is an array of %zu items; a delivery holds at most "
                 "%u.",
                 json_array_size(doc), HK_CAP_ITEMS);
  }
  return rc;
}

enum hk_err hk_check_object_or_array(const json_t *doc, struct hk_error *err) {
  return hk_check_container(doc, 1, err);
}

enum hk_err hk_check_member(const json_t *obj, const char *key, json_type type,
                            const char *path, struct hk_error *err) {
  const json_t *v = json_object_get(obj, key);
  enum hk_err rc = HK_E_OK;
  int ok;
  const char *what;

  switch (type) {
  case JSON_STRING:
    ok = json_is_string(v) && json_string_length(v) > 0;
    what = "a non-empty string";
    break;
  case JSON_REAL:
  case JSON_INTEGER:
    ok = json_is_number(v);
    what = "a number";
    break;
  case JSON_ARRAY:
    ok = json_is_array(v);
    what = "an array";
    break;
  case JSON_OBJECT:
  default:
    ok = json_is_object(v);
    what = "an object";
    break;
  }
  if (!ok) {
    rc = hk_fail(err, HK_E_MISSING_FIELD,
                 "The body lacks the field \"%s\" (%s).", path, what);
  }
  return rc;
}

const char *hk_conf_string(const struct hk_source *src, const char *key,
                           const char *dflt) {
  const json_t *v = src->conf != NULL ? json_object_get(src->conf, key) : NULL;

  return json_is_string(v) ? json_string_value(v) : dflt;
}

int hk_has_prefix(const char *s, const char *prefix) {
  int ok = 1;

  for (size_t i = 0; ok && prefix[i] != '\0'; i++) {
    unsigned char a = (unsigned char)s[i];
    unsigned char b = (unsigned char)prefix[i];
    a = a >= 'A' && a <= 'Z' ? (unsigned char)(a - 'A' + 'a') : a;
    b = b >= 'A' && b <= 'Z' ? (unsigned char)(b - 'A' + 'a') : b;
    ok = a == b; /* a NUL in s ends the loop here */
  }
  return ok;
}

/* ---------------------------------------------------------------------------
 * Timestamp-signed schemes (Stripe, Paddle)
 * ------------------------------------------------------------------------- */

#define TS_SIGNED_PARTS 3

/* Points parts at "ts JOINER body"; ts_text holds HK_TS_TEXT bytes and
 * joiner one byte. Everything stays borrowed. */
static void ts_signed_content(struct hk_span *parts, int64_t ts_s,
                              char *ts_text, const char *joiner,
                              const void *body, size_t len) {
  int n = snprintf(ts_text, HK_TS_TEXT, "%lld", (long long)ts_s);
  parts[0] = (struct hk_span){ts_text, n > 0 ? (size_t)n : 0};
  parts[1] = (struct hk_span){joiner, 1};
  parts[2] = (struct hk_span){body, len};
}

enum hk_err hk_verify_ts_signed(const struct hk_ts_scheme *ts,
                                const struct hk_request *req,
                                const struct hk_source *src, int64_t now_ms,
                                int64_t *signed_ms, struct hk_error *err) {
  const char *h = hk_request_header(req, ts->header);
  struct hk_candidates c;
  struct hk_span parts[TS_SIGNED_PARTS];
  char ts_text[HK_TS_TEXT];
  char what[96];
  int64_t ts_s = 0;
  enum hk_err rc;
  int m;

  *signed_ms = 0;
  if (h == NULL || h[0] == '\0') {
    return hk_fail(err, HK_E_MISSING_SIGNATURE,
                   "The request lacks the %s header.", ts->header);
  }
  rc = hk_parse_ts_sigs(h, ts->list_sep, ts->ts_key, ts->sig_key, ts->header,
                        &ts_s, &c, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  snprintf(what, sizeof what, "%s timestamp", ts->header);
  rc = hk_check_skew(ts_s * 1000, now_ms, src->tolerance_ms, what, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  ts_signed_content(parts, ts_s, ts_text, &ts->joiner, req->body,
                    req->body_len);
  m = hk_candidates_match_hmac(&c, src, HK_HASH_SHA256, parts, TS_SIGNED_PARTS);
  if (m < 0) {
    return hk_fail(err, HK_E_INTERNAL, "The signature could not be computed.");
  }
  if (m == 0) {
    return hk_fail(err, HK_E_BAD_SIGNATURE,
                   "No %s signature in the %s header matches the request.",
                   ts->sig_key, ts->header);
  }
  *signed_ms = ts_s * 1000;
  return HK_E_OK;
}

char *hk_sign_ts_signed(const struct hk_ts_scheme *ts,
                        const struct hk_secret *key, int64_t ts_s,
                        const char *body, size_t len) {
  unsigned char mac[HK_HMAC_MAX];
  struct hk_span parts[TS_SIGNED_PARTS];
  char ts_text[HK_TS_TEXT];
  char *hex = NULL;
  char *out = NULL;

  ts_signed_content(parts, ts_s, ts_text, &ts->joiner, body, len);
  if (key->bytes != NULL && key->len > 0 &&
      hk_hmac(HK_HASH_SHA256, key->bytes, key->len, parts, TS_SIGNED_PARTS,
              mac) == 0) {
    size_t n;
    hex = hk_hex_encode(mac, hk_hash_size(HK_HASH_SHA256));
    n = strlen(ts->ts_key) + strlen(ts_text) + strlen(ts->sig_key) +
        strlen(hex) + 4;
    out = hk_xmalloc(n);
    (void)snprintf(out, n, "%s=%s%c%s=%s", ts->ts_key, ts_text, ts->list_sep,
                   ts->sig_key, hex);
  }
  free(hex);
  return out;
}
