/*
 * hmac.c -- HMAC-SHA256/SHA-1, SHA-256, base64, hex and constant-time
 * compare, with OpenSSL 3.
 *
 * The only file of handoff that includes OpenSSL (STYLE.md). HMAC goes
 * through EVP_MAC, fed part by part, so a signed message such as
 * "id.timestamp.body" is never copied together. The HMAC algorithm is
 * fetched once per process (pthread_once) and shared by every thread: a
 * fetched EVP_MAC is immutable and safe to share.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "webhooks/hmac.h"

static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

/* OSSL_PARAM wants a char *; OpenSSL only reads these. */
static char sha256_name[] = "SHA256";
static char sha1_name[] = "SHA1";

static void fetch_hmac(void) {
  hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

size_t hk_hash_size(enum hk_hash hash) {
  return hash == HK_HASH_SHA1 ? 20u : 32u;
}

int hk_hmac(enum hk_hash hash, const unsigned char *key, size_t keylen,
            const struct hk_span *parts, size_t nparts, unsigned char *out) {
  EVP_MAC_CTX *ctx = NULL;
  OSSL_PARAM params[2];
  size_t outlen = 0;
  int rc = -1;

  memset(out, 0, HK_HMAC_MAX);
  pthread_once(&hmac_once, fetch_hmac);
  if (hmac_alg == NULL || key == NULL || keylen == 0) {
    goto done;
  }
  ctx = EVP_MAC_CTX_new(hmac_alg);
  if (ctx == NULL) {
    goto done;
  }
  params[0] = OSSL_PARAM_construct_utf8_string(
      OSSL_MAC_PARAM_DIGEST, hash == HK_HASH_SHA1 ? sha1_name : sha256_name, 0);
  params[1] = OSSL_PARAM_construct_end();
  if (EVP_MAC_init(ctx, key, keylen, params) != 1) {
    goto done;
  }
  for (size_t i = 0; i < nparts; i++) {
    if (parts[i].len > 0 &&
        EVP_MAC_update(ctx, parts[i].p, parts[i].len) != 1) {
      goto done;
    }
  }
  if (EVP_MAC_final(ctx, out, &outlen, HK_HMAC_MAX) != 1 ||
      outlen != hk_hash_size(hash)) {
    memset(out, 0, HK_HMAC_MAX);
    goto done;
  }
  rc = 0;
done:
  EVP_MAC_CTX_free(ctx);
  return rc;
}

int hk_sha256(const struct hk_span *parts, size_t nparts, unsigned char *out) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned int outlen = 0;
  int rc = -1;

  memset(out, 0, HK_HMAC_MAX);
  if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    goto done;
  }
  for (size_t i = 0; i < nparts; i++) {
    if (parts[i].len > 0 &&
        EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) != 1) {
      goto done;
    }
  }
  if (EVP_DigestFinal_ex(ctx, out, &outlen) != 1 || outlen != 32u) {
    memset(out, 0, HK_HMAC_MAX);
    goto done;
  }
  rc = 0;
done:
  EVP_MD_CTX_free(ctx);
  return rc;
}

char *hk_b64_encode(const unsigned char *p, size_t n) {
  size_t cap;
  char *s;

  /* EVP_EncodeBlock counts in int; our inputs are MACs and keys. */
  if (n > (size_t)INT_MAX / 4 * 3 - 3) {
    abort();
  }
  cap = (n + 2) / 3 * 4 + 1;
  s = hk_xmalloc(cap);
  EVP_EncodeBlock((unsigned char *)s, p, (int)n);
  return s;
}

static int is_b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

unsigned char *hk_b64_decode(const char *s, size_t len, size_t *outlen) {
  size_t data = 0; /* characters before the padding */
  size_t pad;
  size_t full; /* length once padded to a multiple of 4 */
  char *padded = NULL;
  unsigned char *out = NULL;
  int n;

  *outlen = 0;
  while (data < len && is_b64_char(s[data])) {
    data++;
  }
  pad = len - data;
  /* Only '=' may follow the data, at most two, and only to complete the
   * last group of four; one lone character never decodes. */
  for (size_t i = data; i < len; i++) {
    if (s[i] != '=') {
      return NULL;
    }
  }
  if (data % 4 == 1 || pad > 2 || (pad > 0 && (data + pad) % 4 != 0) ||
      len > (size_t)INT_MAX - 4) {
    return NULL;
  }
  pad = (4 - data % 4) % 4;
  full = data + pad;
  out = hk_xmalloc(full / 4 * 3 + 1);
  if (full > 0) {
    padded = hk_xmalloc(full);
    memcpy(padded, s, data);
    memset(padded + data, '=', pad);
    /* EVP_DecodeBlock counts the padding as zero bytes: take them off. */
    n = EVP_DecodeBlock(out, (const unsigned char *)padded, (int)full);
    hk_wipe(padded, full);
    free(padded);
    if (n < 0 || (size_t)n != full / 4 * 3) {
      hk_wipe(out, full / 4 * 3 + 1);
      free(out);
      return NULL;
    }
    *outlen = (size_t)n - pad;
  }
  return out;
}

char *hk_hex_encode(const unsigned char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char *s = hk_xmalloc(2 * n + 1);

  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 0x0f];
  }
  s[2 * n] = '\0';
  return s;
}

unsigned char *hk_hex_decode(const char *s, size_t len, size_t *outlen) {
  unsigned char *out;

  *outlen = 0;
  if (len % 2 != 0) {
    return NULL;
  }
  out = hk_xmalloc(len / 2 + 1);
  for (size_t i = 0; i < len; i += 2) {
    int hi = hk_hex_digit(s[i]);
    int lo = hk_hex_digit(s[i + 1]);
    if (hi < 0 || lo < 0) {
      free(out);
      return NULL;
    }
    out[i / 2] = (unsigned char)(hi << 4 | lo);
  }
  *outlen = len / 2;
  return out;
}

int hk_ct_equal(const void *a, const void *b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

void hk_wipe(void *p, size_t n) {
  if (p != NULL) {
    OPENSSL_cleanse(p, n);
  }
}
