/*
 * verify_hmac.c -- the generic HMAC scheme, for GitHub-style senders and
 * home-grown tools: one header holds an HMAC of the raw body.
 *
 * The source's config says which header (`header`, such as
 * X-Hub-Signature-256), which hash (`hash`: sha256, the default, or sha1),
 * how the MAC is written (`encoding`: hex, the default, or base64) and
 * what text comes before it (`prefix`, such as "sha256="). The key is the
 * shared secret, its bytes as they are; any secret in rotation verifies.
 *
 * Decisions:
 * - Nothing signs a time here, so nothing is checked against the clock and
 *   signed_ms is 0; tolerance is ignored. Such senders are replayable, and
 *   later stages dedupe.
 * - The prefix is matched with ASCII case ignored: it is not secret, and
 *   senders differ in how they write it. A value without it is a bad
 *   signature; a header that is absent or empty is a missing one.
 * - The header holds one signature. A value that does not decode to a MAC
 *   of the hash's size matches nothing.
 * - GitHub, the model of this scheme, sends its delivery id in
 *   X-GitHub-Delivery and the event name in X-GitHub-Event, the only place
 *   it says which event a payload is: both are kept. Other senders simply
 *   lack them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/verify.h"

#define ID_HEADER "x-github-delivery"
#define EVENT_HEADER "x-github-event"

static const char *const keep_headers[] = {EVENT_HEADER, ID_HEADER, NULL};

/* Reads a hash and an encoding by name. Returns 0, or -1 when either is
 * unknown. NULL means the default. */
static int parse_options(const char *hash, const char *encoding,
                         enum hk_hash *h, enum hk_encoding *e) {
  int rc = 0;

  *h = HK_HASH_SHA256;
  *e = HK_ENC_HEX;
  if (hash != NULL && strcmp(hash, "sha1") == 0) {
    *h = HK_HASH_SHA1;
  } else if (hash != NULL && strcmp(hash, "sha256") != 0) {
    rc = -1;
  }
  if (encoding != NULL && strcmp(encoding, "base64") == 0) {
    *e = HK_ENC_BASE64;
  } else if (encoding != NULL && strcmp(encoding, "hex") != 0) {
    rc = -1;
  }
  return rc;
}

static enum hk_err verify(const struct hk_request *req,
                          const struct hk_source *src, int64_t now_ms,
                          int64_t *signed_ms, struct hk_error *err) {
  const char *name = hk_conf_string(src, "header", NULL);
  const char *prefix = hk_conf_string(src, "prefix", "");
  const char *value = name != NULL ? hk_request_header(req, name) : NULL;
  struct hk_candidates c;
  struct hk_span body = {req->body, req->body_len};
  enum hk_hash hash;
  enum hk_encoding enc;
  enum hk_err rc = HK_E_OK;
  int m;

  (void)now_ms;
  *signed_ms = 0;
  memset(&c, 0, sizeof c);
  if (name == NULL ||
      parse_options(hk_conf_string(src, "hash", NULL),
                    hk_conf_string(src, "encoding", NULL), &hash, &enc) != 0) {
    rc = hk_fail(err, HK_E_INTERNAL,
                 "The source's header, hash or encoding is not configured.");
  } else if (value == NULL || value[0] == '\0') {
    rc = hk_fail(err, HK_E_MISSING_SIGNATURE,
                 "The request lacks the %s header.", name);
  } else if (!hk_has_prefix(value, prefix)) {
    rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                 "The %s header does not start with the configured prefix.",
                 name);
  } else {
    value += strlen(prefix);
    (void)hk_candidates_add(&c, value, strlen(value), enc, hk_hash_size(hash));
    m = hk_candidates_match_hmac(&c, src, hash, &body, 1);
    if (m < 0) {
      rc = hk_fail(err, HK_E_INTERNAL, "The signature could not be computed.");
    } else if (m == 0) {
      rc = hk_fail(err, HK_E_BAD_SIGNATURE,
                   "The %s header does not match the request.", name);
    }
  }
  return rc;
}

const struct hk_scheme hk_scheme_hmac = {
    .kind = HK_SOURCE_HMAC,
    .verify = verify,
    .check_body = hk_check_object_or_array, /* any JSON object or array */
    .id_header = ID_HEADER,
    .keep_headers = keep_headers,
    .body_id = NULL,
};

char *hk_sign_hmac(const struct hk_secret *key, const char *hash,
                   const char *encoding, const char *prefix, const char *body,
                   size_t len) {
  unsigned char mac[HK_HMAC_MAX];
  struct hk_span part = {body, len};
  enum hk_hash h;
  enum hk_encoding e;
  char *text = NULL;
  char *out = NULL;

  if (parse_options(hash, encoding, &h, &e) == 0 && key->bytes != NULL &&
      key->len > 0 && hk_hmac(h, key->bytes, key->len, &part, 1, mac) == 0) {
    size_t n;
    text = e == HK_ENC_HEX ? hk_hex_encode(mac, hk_hash_size(h))
                           : hk_b64_encode(mac, hk_hash_size(h));
    prefix = prefix != NULL ? prefix : "";
    n = strlen(prefix) + strlen(text) + 1;
    out = hk_xmalloc(n);
    (void)snprintf(out, n, "%s%s", prefix, text);
  }
  free(text);
  return out;
}
