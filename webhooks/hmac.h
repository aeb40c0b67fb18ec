/*
 * hmac.h -- internal to webhooks/: the cryptographic primitives the
 * verification schemes share (HMAC, base64, hex, constant-time compare).
 *
 * hmac.c is the only file of handoff that includes OpenSSL; every scheme
 * goes through these few functions.
 */
#ifndef HK_WEBHOOKS_HMAC_H
#define HK_WEBHOOKS_HMAC_H

#include <stddef.h>

#include "core/core.h"

enum hk_hash { HK_HASH_SHA256, HK_HASH_SHA1 };

/* The largest MAC hk_hmac writes (SHA-256). */
#define HK_HMAC_MAX 32u

/* A borrowed run of bytes, one piece of a signed message. */
struct hk_span {
  const void *p;
  size_t len;
};

/* The size of the hash's output in bytes: 32 for SHA-256, 20 for SHA-1. */
size_t hk_hash_size(enum hk_hash hash);

/*
 * Computes the HMAC of the concatenation of parts[0..nparts) keyed by key
 * (keylen > 0) and writes hk_hash_size(hash) bytes to out, which must hold
 * HK_HMAC_MAX. The parts are never copied together, so a large body costs
 * no allocation. Returns 0, or -1 when OpenSSL fails (out is then zeroed).
 */
int hk_hmac(enum hk_hash hash, const unsigned char *key, size_t keylen,
            const struct hk_span *parts, size_t nparts,
            unsigned char *out) HK_MUST_CHECK;

/*
 * Computes the plain SHA-256 digest (no key) of the concatenation of
 * parts[0..nparts) and writes 32 bytes to out, which must hold HK_HMAC_MAX.
 * For HubSpot's v1 and v2 signatures, which hash the secret with the
 * request, and for comparing credentials of unequal lengths in constant
 * time. Returns 0, or -1 when OpenSSL fails (out is then zeroed).
 */
int hk_sha256(const struct hk_span *parts, size_t nparts,
              unsigned char *out) HK_MUST_CHECK;

/* Standard base64 (RFC 4648, with padding) of n bytes: a new string the
 * caller frees. Never NULL. */
char *hk_b64_encode(const unsigned char *p, size_t n);

/*
 * Decodes len characters of standard base64. Padding is optional, but when
 * present it must be right; no whitespace, no URL-safe alphabet. Returns a
 * new buffer the caller frees (its length in *outlen; it may be 0), or NULL
 * when s is not base64.
 */
unsigned char *hk_b64_decode(const char *s, size_t len, size_t *outlen);

/* Lower-case hex of n bytes: a new string the caller frees. Never NULL. */
char *hk_hex_encode(const unsigned char *p, size_t n);

/* Decodes len hex digits (either case): a new buffer the caller frees,
 * length in *outlen, or NULL when s is not an even run of hex digits. */
unsigned char *hk_hex_decode(const char *s, size_t len, size_t *outlen);

/* 1 when the n bytes at a and b are equal, else 0; the time taken depends
 * on n only, never on where the bytes differ. */
int hk_ct_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes at p with zeros in a way the compiler cannot drop:
 * for keys, before they are freed. */
void hk_wipe(void *p, size_t n);

#endif
