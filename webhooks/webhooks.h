/*
 * webhooks.h -- the door to intake decisions: from one HTTP request, a
 * source's configuration and the time, either a delivery to queue or an
 * error to answer.
 *
 * Everything here is pure: no I/O, no clock, no logging. The FastCGI shell
 * builds a struct hk_request from what nginx passed, calls hk_intake_decide,
 * queues the delivery in Redis and writes the reply. Verification schemes
 * live one per file (verify_standard.c, verify_stripe.c, …) behind hk_verify,
 * and the HMAC itself, with OpenSSL, in hmac.c.
 */
#ifndef HK_WEBHOOKS_H
#define HK_WEBHOOKS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"

/* One request header. name is lower case with '-' (as sent on the wire). */
struct hk_header {
  const char *name;
  const char *value;
};

/* A request as the shell read it; every pointer is borrowed. */
struct hk_request {
  const char *method;       /* "POST" */
  const char *path;         /* "/hooks/demo", without the query */
  const char *query;        /* "" when none */
  const char *content_type; /* NULL when absent */
  const struct hk_header *headers;
  size_t nheaders;
  const char *body; /* NUL-terminated; may hold NULs before body_len */
  size_t body_len;
};

/* The value of the named header (case-insensitive), or NULL. Borrowed. */
const char *hk_request_header(const struct hk_request *req, const char *name);

/*
 * An accepted delivery, ready to queue. Strings are owned by the delivery
 * (release with hk_delivery_fini); body is borrowed from the request.
 */
struct hk_delivery {
  const char *source;  /* borrowed from the config */
  const char *kind;    /* borrowed from the config */
  char *delivery_id;   /* the sender's id (webhook-id, a Stripe event's
                          "id", …); "" when none */
  int64_t received_ms; /* the now given to hk_intake_decide */
  int64_t signed_ms;   /* the signed timestamp; 0 when the scheme has none */
  char *headers;       /* JSON object of the headers later stages need */
  const char *body;
  size_t body_len;
};

void hk_delivery_fini(struct hk_delivery *d);

/*
 * Decides one POST to a known source: content type (415), signature and
 * timestamp (401), JSON and the fields the kind needs (400). On HK_E_OK
 * *out is filled (fini it); on any error err says why and *out is empty.
 * The caller checks the route (404, 405) and body size (413) first.
 */
enum hk_err hk_intake_decide(const struct hk_request *req,
                             const struct hk_source *src, int64_t now_ms,
                             struct hk_delivery *out,
                             struct hk_error *err) HK_MUST_CHECK;

/*
 * Verifies the request against the source's scheme, in constant time,
 * accepting any secret in rotation. On success sets *signed_ms (0 when the
 * scheme signs no time). Returns HK_E_MISSING_SIGNATURE, HK_E_BAD_SIGNATURE
 * or HK_E_STALE_TIMESTAMP with err set, and HK_E_INTERNAL when OpenSSL
 * itself fails or the source lacks a key its kind needs (hubspot
 * public_url, hmac and token header): no fault of the sender.
 */
enum hk_err hk_verify(const struct hk_request *req, const struct hk_source *src,
                      int64_t now_ms, int64_t *signed_ms,
                      struct hk_error *err) HK_MUST_CHECK;

/*
 * Checks an Authorization header against the config's API tokens: it must
 * be "Bearer <token>" and match one token, compared in constant time.
 * Returns HK_E_OK, or HK_E_UNAUTHORIZED with err set (the message never
 * repeats what was sent).
 */
enum hk_err hk_api_authorize(const struct hk_config *cfg,
                             const char *authorization,
                             struct hk_error *err) HK_MUST_CHECK;

/* hk_api_authorize, setting *token (not NULL) to the configured token that
 * matched, for its name and scopes. */
enum hk_err hk_api_token(const struct hk_config *cfg, const char *authorization,
                         const struct hk_api_token **token,
                         struct hk_error *err) HK_MUST_CHECK;

/*
 * Signs as a Standard Webhooks sender does: returns a new string
 * "v1,<base64 HMAC-SHA256 of id.timestamp.body>" (caller frees), keyed by
 * the decoded "whsec_" secret. Returns NULL when the secret is not valid
 * base64. Used by `handoffctl sign` and the webhook notifier.
 */
char *hk_sign_standard(const struct hk_secret *key, const char *id,
                       int64_t timestamp_s, const char *body, size_t len);

/*
 * Signs as Stripe does: returns a new string "t=<t>,v1=<hex HMAC-SHA256 of
 * t.body>" (caller frees), the whole Stripe-Signature value, keyed by the
 * whole "whsec_…" secret as it is. Returns NULL when the key is empty.
 */
char *hk_sign_stripe(const struct hk_secret *key, int64_t t, const char *body,
                     size_t len);

/*
 * Signs as Paddle Billing does: returns a new string "ts=<ts>;h1=<hex
 * HMAC-SHA256 of ts:body>" (caller frees), the whole Paddle-Signature value.
 * Returns NULL when the key is empty.
 */
char *hk_sign_paddle(const struct hk_secret *key, int64_t ts, const char *body,
                     size_t len);

/*
 * Signs as HubSpot's v3 does: returns a new string, the base64
 * HMAC-SHA256 of method + uri + body + timestamp_ms in decimal (caller
 * frees), the value of X-HubSpot-Signature-v3; X-HubSpot-Request-Timestamp
 * must carry the same timestamp_ms. uri is the full URL posted to, query
 * included; the escapes HubSpot decodes before signing are decoded here.
 * Returns NULL when the key is empty.
 */
char *hk_sign_hubspot_v3(const struct hk_secret *key, const char *method,
                         const char *uri, int64_t timestamp_ms,
                         const char *body, size_t len);

/*
 * Signs as an `hmac` source expects: returns a new string, prefix followed
 * by the HMAC of the body under hash ("sha256" or "sha1"; NULL means
 * sha256) in encoding ("hex" or "base64"; NULL means hex) (caller frees).
 * Returns NULL when the hash or encoding is unknown or the key is empty.
 */
char *hk_sign_hmac(const struct hk_secret *key, const char *hash,
                   const char *encoding, const char *prefix, const char *body,
                   size_t len);

#endif
