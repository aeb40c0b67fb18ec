/*
 * verify.h -- internal to webhooks/: the verification schemes behind
 * hk_verify, one per source kind.
 *
 * A scheme says how a kind's requests are verified and what its accepted
 * deliveries must carry. Each lives in its own file (verify_standard.c,
 * verify_stripe.c, verify_hubspot.c, verify_paddle.c, verify_hmac.c,
 * verify_basic.c, verify_token.c), exports one const struct hk_scheme, and
 * is listed once in the table of verify.c. intake.c knows nothing of any
 * particular kind. The pieces several schemes share (parsing timestamps,
 * the tolerance check, matching candidate signatures against every secret,
 * body checks) are in verify_common.c.
 */
#ifndef HK_WEBHOOKS_VERIFY_H
#define HK_WEBHOOKS_VERIFY_H

#include <jansson.h>
#include <stdint.h>

#include "config/config.h"
#include "core/caps.h"
#include "core/core.h"
#include "webhooks/hmac.h"
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
   * must have. Returns HK_E_OK, or HK_E_BAD_JSON (wrong top-level type),
   * HK_E_MISSING_FIELD (naming the field, absent or of the wrong type) or
   * HK_E_BAD_REQUEST (a batch over its cap) with err set.
   */
  enum hk_err (*check_body)(const json_t *doc, struct hk_error *err);
  /* The header that holds the sender's delivery id, or NULL when none. */
  const char *id_header;
  /* The headers kept in the delivery for later stages, NULL-terminated.
   * Never a signature or a credential. */
  const char *const *keep_headers;
  /*
   * The top-level member of the body (a non-empty string) that holds the
   * sender's delivery id when the request carries no id_header, or NULL:
   * "id" for Stripe events, "event_id" for Paddle's.
   */
  const char *body_id;
};

/* The scheme of a kind, or NULL for a value outside enum hk_source_kind.
 * Borrowed (static). */
const struct hk_scheme *hk_scheme_find(enum hk_source_kind kind);

/* The schemes, one per file (verify_<kind>.c). */
extern const struct hk_scheme hk_scheme_standard;
extern const struct hk_scheme hk_scheme_stripe;
extern const struct hk_scheme hk_scheme_hubspot;
extern const struct hk_scheme hk_scheme_paddle;
extern const struct hk_scheme hk_scheme_hmac;
extern const struct hk_scheme hk_scheme_basic;
extern const struct hk_scheme hk_scheme_token;

/*
 * The HMAC key of a Standard Webhooks secret: "whsec_" (optional) then
 * base64. Returns a new buffer the caller frees (length in *len, never 0),
 * or NULL when the secret is not base64 or decodes to nothing.
 */
unsigned char *hk_standard_key(const struct hk_secret *secret, size_t *len);

/* ---- Shared by the schemes (verify_common.c) ---- */

/* Unix seconds of up to 15 digits: far beyond any clock, and * 1000 fits
 * in int64_t. Also the most digits of a millisecond timestamp. */
#define HK_TS_MAX_DIGITS 15
/* Room for an int64_t in decimal. */
#define HK_TS_TEXT 24

/*
 * Parses len bytes of s as a run of 1 to HK_TS_MAX_DIGITS decimal digits
 * (nothing else: no sign, no space). Returns 0 with *out set, or -1.
 */
int hk_parse_digits(const char *s, size_t len, int64_t *out) HK_MUST_CHECK;

/*
 * Checks a signed time against now: accepted when within tolerance_ms in
 * either direction, bounds included. Returns HK_E_OK, or
 * HK_E_STALE_TIMESTAMP with err set, naming header (the timestamp's
 * header) and the skew in seconds.
 */
enum hk_err hk_check_skew(int64_t signed_ms, int64_t now_ms,
                          int64_t tolerance_ms, const char *header,
                          struct hk_error *err) HK_MUST_CHECK;

/* The signatures of one header, decoded: candidate i is usable (ok[i] is
 * 1) only when it decoded to a MAC of the expected size. */
struct hk_candidates {
  unsigned char mac[HK_CAP_SIGNATURES][HK_HMAC_MAX];
  unsigned char ok[HK_CAP_SIGNATURES];
  size_t n;
};

enum hk_encoding { HK_ENC_HEX, HK_ENC_BASE64 };

/*
 * Adds the len characters at s, in enc, as one candidate expected to
 * decode to maclen bytes; one that does not is still counted but never
 * matches. Returns 0, or -1 (adding nothing) when c already holds
 * HK_CAP_SIGNATURES; callers that bound their items first may ignore it.
 */
int hk_candidates_add(struct hk_candidates *c, const char *s, size_t len,
                      enum hk_encoding enc, size_t maclen);

/*
 * Compares one computed MAC (maclen bytes) with every candidate, without
 * stopping at a match. Returns 1 when any matches, else 0.
 */
int hk_candidates_match(const struct hk_candidates *c, const unsigned char *mac,
                        size_t maclen);

/*
 * Computes the HMAC of parts under each secret of src, its bytes used as
 * they are (the key of every scheme but Standard Webhooks), and compares it
 * with every candidate. Returns 1 when any pair matches, 0 when none does,
 * -1 when the HMAC itself failed.
 */
int hk_candidates_match_hmac(const struct hk_candidates *c,
                             const struct hk_source *src, enum hk_hash hash,
                             const struct hk_span *parts, size_t nparts);

/*
 * Parses a header of "key=value" items split by sep, as Stripe's
 * ("t=…,v1=…,v1=…,v0=…") and Paddle's ("ts=…;h1=…") are: ts_key must
 * appear exactly once with Unix seconds, and every sig_key item becomes a
 * hex candidate of a SHA-256 MAC; other keys are skipped. Returns HK_E_OK,
 * or HK_E_BAD_SIGNATURE with err set (naming header) when the header is
 * malformed, lists more than HK_CAP_SIGNATURES items, or holds no
 * signature.
 */
enum hk_err hk_parse_ts_sigs(const char *h, char sep, const char *ts_key,
                             const char *sig_key, const char *header,
                             int64_t *ts_s, struct hk_candidates *c,
                             struct hk_error *err) HK_MUST_CHECK;

/*
 * Compares a credential sent (len bytes) with every secret of src with
 * hk_ct_equal_secret: the time taken depends on len and the number of
 * secrets only. Returns 1 when any secret matches, else 0.
 */
int hk_match_credential(const struct hk_source *src, const void *sent,
                        size_t len);

/* The JSON type of v in words ("object", "array", "number", …). */
const char *hk_json_type_name(const json_t *v);

/*
 * Checks that doc is an object (HK_E_BAD_JSON otherwise) or, with
 * allow_array, an object or an array. Returns HK_E_OK or the error with
 * err set.
 */
enum hk_err hk_check_container(const json_t *doc, int allow_array,
                               struct hk_error *err) HK_MUST_CHECK;

/* The check_body of schemes that know nothing of the payload (hmac, basic,
 * token): hk_check_container allowing arrays. */
enum hk_err hk_check_object_or_array(const json_t *doc, struct hk_error *err);

/*
 * Checks that obj (an object) has the member key of type type (JSON_STRING
 * means a non-empty string; JSON_REAL means any number). path names the
 * field in the message, such as "data.object" or "[3].eventId". Returns
 * HK_E_OK, or HK_E_MISSING_FIELD with err set.
 */
enum hk_err hk_check_member(const json_t *obj, const char *key, json_type type,
                            const char *path,
                            struct hk_error *err) HK_MUST_CHECK;

/* 1 when s starts with prefix, ASCII case ignored (not the locale's), else
 * 0. For scheme words and configured prefixes, which are not secret. */
int hk_has_prefix(const char *s, const char *prefix);

/* A string member of the source's conf, or dflt when absent (or conf is
 * NULL). Borrowed from the config. */
const char *hk_conf_string(const struct hk_source *src, const char *key,
                           const char *dflt);

/*
 * A scheme that signs "timestamp SEP body" with a hex HMAC-SHA256 and sends
 * the timestamp and one or more signatures in one header: Stripe
 * ("t=…,v1=…", joined by '.') and Paddle ("ts=…;h1=…", joined by ':').
 */
struct hk_ts_scheme {
  const char *header; /* "Stripe-Signature", as it is named to people */
  char list_sep;      /* between the header's key=value items */
  const char *ts_key;
  const char *sig_key;
  char joiner; /* between the timestamp and the body */
};

/* hk_verify for such a scheme (tolerance from src). */
enum hk_err hk_verify_ts_signed(const struct hk_ts_scheme *ts,
                                const struct hk_request *req,
                                const struct hk_source *src, int64_t now_ms,
                                int64_t *signed_ms,
                                struct hk_error *err) HK_MUST_CHECK;

/* The header value such a sender sends for body at ts_s: a new string
 * (caller frees), or NULL when the key is empty. */
char *hk_sign_ts_signed(const struct hk_ts_scheme *ts,
                        const struct hk_secret *key, int64_t ts_s,
                        const char *body, size_t len);

#endif
