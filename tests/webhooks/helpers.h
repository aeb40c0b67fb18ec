/*
 * helpers.h -- shared by the webhooks tests: a signed Standard Webhooks
 * request and its source, built by hand (no config loading), turned into a
 * source of any other kind with fx_source, and assertions for errors.
 */
#ifndef HK_TEST_WEBHOOKS_HELPERS_H
#define HK_TEST_WEBHOOKS_HELPERS_H

#include <stdint.h>

#include "core/caps.h"
#include "webhooks/webhooks.h"

/* The secret of the reference libraries' tests (standard-webhooks
 * libraries/go/webhook_test.go) and a second one for rotation. */
#define SECRET_A "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
/* base64 of "second-secret-for-tests-0123456789" */
#define SECRET_B "whsec_c2Vjb25kLXNlY3JldC1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="

#define NOW_MS INT64_C(1700000000000)
#define NOW_S (NOW_MS / 1000)
#define TOLERANCE_MS INT64_C(300000)
#define TEST_ID "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
#define GOOD_BODY "{\"type\":\"contact.created\",\"data\":{\"id\":\"c1\"}}"

#define MAX_HEADERS 8

/* A request to a standard-webhooks source, signed with SECRET_A at NOW_S.
 * Everything the request points to lives in the struct. */
struct fx {
  struct hk_secret secrets[3];
  char secret_text[3][128];
  struct hk_source src;
  char src_name[16];
  struct hk_header headers[MAX_HEADERS];
  char names[MAX_HEADERS][64];
  char values[MAX_HEADERS][1024];
  struct hk_request req;
  json_t *conf; /* the source's conf, owned (fx_fini) */
};

/* Fills f with a valid request for body (NUL-terminated). */
void fx_init(struct fx *f, const char *body);

/*
 * Turns f's source into one of kind, with its conf parsed from conf_json
 * (NULL for none) and one secret, and removes every header: the test then
 * signs the request as that kind's sender would. Release with fx_fini.
 */
void fx_source(struct fx *f, enum hk_source_kind kind, const char *kind_name,
               const char *conf_json, const char *secret);

/* Releases what fx_source took. */
void fx_fini(struct fx *f);

/* Replaces the body (borrowed, NUL-terminated). */
void fx_body(struct fx *f, const char *body);

/* hk_verify of f's request and source at now_ms. */
enum hk_err fx_verify(struct fx *f, int64_t now_ms, int64_t *signed_ms,
                      struct hk_error *err);

/* The check_body of kind's scheme on the JSON text json; aborts the test
 * when json does not parse. */
enum hk_err fx_check_body(enum hk_source_kind kind, const char *json,
                          struct hk_error *err);

/* Sets the source's secrets in rotation to the n texts given. */
void fx_secrets(struct fx *f, size_t n, const char *const *texts);

/* Sets (value copied) or, with value NULL, removes a header by exact name. */
void fx_header(struct fx *f, const char *name, const char *value);

/* Sets webhook-id and webhook-timestamp and signs the current body with
 * secret, replacing webhook-signature. */
void fx_sign(struct fx *f, const char *id, int64_t ts_s, const char *secret);

/* The "v1,…" signature of the current body under these fields (owned by a
 * static buffer: copy it before the next call). */
const char *fx_signature(const struct fx *f, const char *id, int64_t ts_s,
                         const char *secret);

/* Points key at a copy of text held in buf (cap bytes): struct hk_secret
 * holds non-const bytes. */
void fx_key(struct hk_secret *key, char *buf, size_t cap, const char *text);

/* Reads a fixture file under HK_FIXTURES (caller frees); aborts the test
 * when it cannot. */
char *fx_read_fixture(const char *rel, size_t *len);

/* Asserts a failure: rc and err->code are e, with that HTTP status and
 * JSON code, and a message. */
void assert_fails(enum hk_err rc, const struct hk_error *err, enum hk_err e,
                  int status, const char *code);

#endif
