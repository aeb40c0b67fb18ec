/*
 * verify_hubspot.c -- the HubSpot scheme, signature versions v3, v2 and v1
 * (developers.hubspot.com, "Validating requests").
 *
 * v3: X-HubSpot-Signature-v3 is the base64 HMAC-SHA256, keyed by the app's
 * client secret, of method + URI + body + timestamp, where the timestamp
 * is X-HubSpot-Request-Timestamp (Unix milliseconds, as sent) and the URI
 * is the one HubSpot posted to with some percent-escapes decoded (below).
 * v2: X-HubSpot-Signature is the hex SHA-256 (no HMAC) of secret + method
 * + URI + body, the URI as it was requested. v1: the hex SHA-256 of secret
 * + body. X-HubSpot-Signature-Version says "v1" or "v2".
 *
 * Behind nginx the service cannot know the URL HubSpot used, so the
 * source's public_url stands for it, followed by "?" and the query when
 * the request has one.
 *
 * Decisions:
 * - Only the versions in the source's signature_versions (default ["v3"])
 *   are accepted. When v3 is accepted and its header is present, v3
 *   decides: a failed v3 never falls back to v2 or v1, which would let an
 *   attacker pick the weakest version.
 * - v3's URI decodes exactly the escapes HubSpot lists: %3A : %2F / %3F ?
 *   %40 @ %21 ! %24 $ %27 ' %28 ( %29 ) %2A * %2C , %3B ; (hex digits in
 *   either case). Any other escape, %20 and %2B and %3D and %26 included,
 *   stays as it is.
 * - The timestamp must be 1 to 15 digits (else a bad signature) and within
 *   tolerance_ms of now either way, bounds included; HubSpot's own
 *   libraries refuse only the past, after 5 minutes.
 * - v1 and v2 sign no time: they are replayable, which is why they are off
 *   by default; signed_ms is then 0.
 * - A present X-HubSpot-Signature with a version that is not "v1" or "v2",
 *   or that the source does not accept, counts as no signature of an
 *   accepted version: missing_signature, naming what is expected.
 * - HubSpot sends no delivery id: a delivery is a batch of events, each
 *   with its own eventId, and later stages dedupe by event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/verify.h"

#define V3_HEADER "x-hubspot-signature-v3"
#define TS_HEADER "x-hubspot-request-timestamp"
#define SIG_HEADER "x-hubspot-signature"
#define VERSION_HEADER "x-hubspot-signature-version"

/* The most pieces of any version's signed content. */
#define MAX_PARTS 4

static const char *const keep_headers[] = {TS_HEADER, NULL};

/* 1 when the source accepts version ("v1", "v2", "v3"), else 0. */
static int accepts(const struct hk_source *src, const char *version) {
  const json_t *list = src->conf != NULL
                           ? json_object_get(src->conf, "signature_versions")
                           : NULL;
  size_t i;
  const json_t *v;
  int found = 0;

  if (!json_is_array(list)) {
    return strcmp(version, "v3") == 0;
  }
  json_array_foreach(list, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), version) == 0) {
      found = 1;
    }
  }
  return found;
}

static int hex_digit(char c) {
  int v = -1;

  if (c >= '0' && c <= '9') {
    v = c - '0';
  } else if (c >= 'a' && c <= 'f') {
    v = c - 'a' + 10;
  } else if (c >= 'A' && c <= 'F') {
    v = c - 'A' + 10;
  }
  return v;
}

/*
 * The URI url, then "?" and query when query is not empty, with (when
 * decode is 1) the escapes of v3's list decoded. Returns a new string the
 * caller frees.
 */
static char *request_uri(const char *url, const char *query, int decode) {
  static const char decoded[] = ":/?@!$'()*,;";
  size_t ulen = strlen(url);
  size_t qlen = query != NULL ? strlen(query) : 0;
  char *in = hk_xmalloc(ulen + qlen + 2);
  char *out = hk_xmalloc(ulen + qlen + 2);
  size_t o = 0;

  memcpy(in, url, ulen);
  in[ulen] = '\0';
  if (qlen > 0) {
    in[ulen] = '?';
    memcpy(in + ulen + 1, query, qlen + 1);
  }
  for (size_t i = 0; in[i] != '\0'; i++) {
    int hi = in[i] == '%' ? hex_digit(in[i + 1]) : -1;
    int lo = hi >= 0 ? hex_digit(in[i + 2]) : -1;
    int c = lo >= 0 ? hi * 16 + lo : 0;
    const char *hit = decode && c != 0 ? strchr(decoded, c) : NULL;
    if (hit != NULL) {
      out[o++] = *hit;
      i += 2;
    } else {
      out[o++] = in[i];
    }
  }
  out[o] = '\0';
  free(in);
  return out;
}

/* Points parts at v3's "method uri body timestamp". Borrowed. */
static void v3_content(struct hk_span *parts, const char *method,
                       const char *uri, const void *body, size_t len,
                       const char *ts) {
  parts[0] = (struct hk_span){method, strlen(method)};
  parts[1] = (struct hk_span){uri, strlen(uri)};
  parts[2] = (struct hk_span){body, len};
  parts[3] = (struct hk_span){ts, strlen(ts)};
}

static enum hk_err verify_v3(const struct hk_request *req,
                             const struct hk_source *src, const char *sig,
                             const char *url, int64_t now_ms,
                             int64_t *signed_ms, struct hk_error *err) {
  const char *ts = hk_request_header(req, TS_HEADER);
  struct hk_candidates c;
  struct hk_span parts[MAX_PARTS];
  char *uri = NULL;
  int64_t ts_ms = 0;
  enum hk_err rc = HK_E_OK;
  int m;

  memset(&c, 0, sizeof c);
  if (ts == NULL || ts[0] == '\0') {
    rc = hk_fail(err, HK_E_MISSING_SIGNATURE,
                 "The request lacks the X-HubSpot-Request-Timestamp header.");
  } else if (hk_parse_digits(ts, strlen(ts), &ts_ms) != 0) {
    rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                 "The X-HubSpot-Request-Timestamp header is not a Unix time "
                 "in milliseconds.");
  } else {
    rc = hk_check_skew(ts_ms, now_ms, src->tolerance_ms,
                       "X-HubSpot-Request-Timestamp", err);
  }
  if (rc == HK_E_OK && ts != NULL) {
    (void)hk_candidates_add(&c, sig, strlen(sig), HK_ENC_BASE64,
                            hk_hash_size(HK_HASH_SHA256));
    uri = request_uri(url, req->query, 1);
    v3_content(parts, req->method != NULL ? req->method : "", uri, req->body,
               req->body_len, ts);
    m = hk_candidates_match_hmac(&c, src, HK_HASH_SHA256, parts, MAX_PARTS);
    if (m < 0) {
      rc = hk_fail(err, HK_E_INTERNAL, "The signature could not be computed.");
    } else if (m == 0) {
      rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                   "The X-HubSpot-Signature-v3 header does not match the "
                   "request.");
    } else {
      *signed_ms = ts_ms;
    }
  }
  free(uri);
  return rc;
}

/* v1 and v2: the hex SHA-256 of the secret followed by the request parts
 * (for v2 the method and URI, then the body). */
static enum hk_err verify_digest(const struct hk_request *req,
                                 const struct hk_source *src, const char *sig,
                                 const char *url, int v2,
                                 struct hk_error *err) {
  unsigned char digest[HK_HMAC_MAX];
  struct hk_candidates c;
  struct hk_span parts[MAX_PARTS];
  size_t nparts = 0;
  char *uri = v2 ? request_uri(url, req->query, 0) : NULL;
  const char *method = req->method != NULL ? req->method : "";
  int match = 0;
  int failed = 0;
  enum hk_err rc = HK_E_OK;

  memset(&c, 0, sizeof c);
  (void)hk_candidates_add(&c, sig, strlen(sig), HK_ENC_HEX,
                          hk_hash_size(HK_HASH_SHA256));
  parts[nparts++] = (struct hk_span){NULL, 0}; /* the secret, below */
  if (v2) {
    parts[nparts++] = (struct hk_span){method, strlen(method)};
    parts[nparts++] = (struct hk_span){uri, strlen(uri)};
  }
  parts[nparts++] = (struct hk_span){req->body, req->body_len};
  for (size_t s = 0; s < src->nsecrets; s++) {
    const struct hk_secret *key = &src->secrets[s];
    if (key->bytes == NULL || key->len == 0) {
      continue;
    }
    parts[0] = (struct hk_span){key->bytes, key->len};
    if (hk_sha256(parts, nparts, digest) != 0) {
      failed = 1;
    } else {
      match |= hk_candidates_match(&c, digest, hk_hash_size(HK_HASH_SHA256));
    }
  }
  hk_wipe(digest, sizeof digest);
  if (!match && failed) {
    rc = hk_fail(err, HK_E_INTERNAL, "The signature could not be computed.");
  } else if (!match) {
    rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                 "The X-HubSpot-Signature header (%s) does not match the "
                 "request.",
                 v2 ? "v2" : "v1");
  }
  free(uri);
  return rc;
}

static enum hk_err verify(const struct hk_request *req,
                          const struct hk_source *src, int64_t now_ms,
                          int64_t *signed_ms, struct hk_error *err) {
  const char *url = hk_conf_string(src, "public_url", NULL);
  const char *v3 = hk_request_header(req, V3_HEADER);
  const char *sig = hk_request_header(req, SIG_HEADER);
  const char *version = hk_request_header(req, VERSION_HEADER);
  int is_v1 = version != NULL && strcmp(version, "v1") == 0;
  int is_v2 = version != NULL && strcmp(version, "v2") == 0;
  enum hk_err rc;

  *signed_ms = 0;
  if (url == NULL) {
    rc = hk_fail(err, HK_E_INTERNAL, "The source has no public_url.");
  } else if (accepts(src, "v3") && v3 != NULL && v3[0] != '\0') {
    rc = verify_v3(req, src, v3, url, now_ms, signed_ms, err);
  } else if (sig != NULL && sig[0] != '\0' &&
             ((is_v2 && accepts(src, "v2")) || (is_v1 && accepts(src, "v1")))) {
    rc = verify_digest(req, src, sig, url, is_v2, err);
  } else {
    rc = hk_fail(err, HK_E_MISSING_SIGNATURE,
                 "The request lacks a HubSpot signature of an accepted "
                 "version (%s%s%s).",
                 accepts(src, "v3") ? " v3" : "",
                 accepts(src, "v2") ? " v2" : "",
                 accepts(src, "v1") ? " v1" : "");
  }
  return rc;
}

/*
 * Two shapes come signed by HubSpot. The webhooks API posts a batch: an
 * array of 1 to HK_CAP_HUBSPOT_BATCH event objects, each with "eventId" (a
 * number), "subscriptionType" (a string) and "occurredAt" (Unix
 * milliseconds), all of which HubSpot guarantees; over the cap is a bad
 * request, not bad JSON. A workflow's "Send a webhook" action (signature
 * v2, and v3) posts one object whose members the workflow's author chose:
 * any object is accepted.
 */
static enum hk_err check_body(const json_t *doc, struct hk_error *err) {
  static const struct {
    const char *key;
    json_type type;
  } fields[] = {{"eventId", JSON_REAL},
                {"subscriptionType", JSON_STRING},
                {"occurredAt", JSON_REAL}};
  enum hk_err rc = HK_E_OK;
  char path[64];
  size_t n = json_array_size(doc);

  if (json_is_object(doc)) {
    n = 0; /* a workflow action's record: nothing to check */
  } else if (!json_is_array(doc)) {
    rc = hk_fail(err, HK_E_BAD_JSON,
                 "The body is a JSON %s; HubSpot sends an array of events or "
                 "an object.",
                 hk_json_type_name(doc));
  } else if (n == 0) {
    rc = hk_fail(err, HK_E_MISSING_FIELD,
                 "The body lacks the field \"[0]\" (an event object).");
  } else if (n > HK_CAP_HUBSPOT_BATCH) {
    rc = hk_fail(err, HK_E_BAD_REQUEST,
                 "The body holds %zu events, more than the %u of one "
                 "HubSpot batch.",
                 n, HK_CAP_HUBSPOT_BATCH);
  }
  for (size_t i = 0; rc == HK_E_OK && i < n; i++) {
    const json_t *ev = json_array_get(doc, i);
    if (!json_is_object(ev)) {
      rc = hk_fail(err, HK_E_MISSING_FIELD,
                   "The body lacks the field \"[%zu]\" (an event object).", i);
    }
    for (size_t f = 0; rc == HK_E_OK && f < sizeof fields / sizeof fields[0];
         f++) {
      (void)snprintf(path, sizeof path, "[%zu].%s", i, fields[f].key);
      rc = hk_check_member(ev, fields[f].key, fields[f].type, path, err);
    }
  }
  return rc;
}

const struct hk_scheme hk_scheme_hubspot = {
    .kind = HK_SOURCE_HUBSPOT,
    .verify = verify,
    .check_body = check_body,
    .id_header = NULL,
    .keep_headers = keep_headers,
    .body_id = NULL,
};

char *hk_sign_hubspot_v3(const struct hk_secret *key, const char *method,
                         const char *uri, int64_t timestamp_ms,
                         const char *body, size_t len) {
  unsigned char mac[HK_HMAC_MAX];
  struct hk_span parts[MAX_PARTS];
  char ts[HK_TS_TEXT];
  char *decoded = request_uri(uri, "", 1);
  char *out = NULL;

  (void)snprintf(ts, sizeof ts, "%lld", (long long)timestamp_ms);
  v3_content(parts, method, decoded, body, len, ts);
  if (key->bytes != NULL && key->len > 0 &&
      hk_hmac(HK_HASH_SHA256, key->bytes, key->len, parts, MAX_PARTS, mac) ==
          0) {
    out = hk_b64_encode(mac, hk_hash_size(HK_HASH_SHA256));
  }
  free(decoded);
  return out;
}
