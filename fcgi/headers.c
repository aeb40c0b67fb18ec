/*
 * headers.c -- the request headers out of the FastCGI params: every
 * HTTP_* param nginx passed, its name lower-cased with '-' for '_', as
 * webhooks/ reads them.
 *
 * Pure (an envp in, headers out), so the decision is unit-tested without a
 * socket. Nothing is dropped silently: a request with more headers than
 * HK_CAP_HEADERS, or a header name over HK_CAP_HEADER_NAME, is refused
 * whole (431 headers_too_large), because the header left out could be the
 * one that carries the signature, and a 401 missing_signature would send
 * the sender looking for a fault it does not have.
 */
#include <string.h>

#include "fcgi/fcgi.h"

enum hk_err hk_headers_collect(char *const *envp, struct hk_header *hs,
                               char (*names)[HK_CAP_HEADER_NAME], size_t *n,
                               struct hk_error *err) {
  enum hk_err rc = HK_E_OK;
  size_t count = 0;

  for (char *const *e = envp; rc == HK_E_OK && e != NULL && *e != NULL; e++) {
    const char *eq;
    size_t len;
    if (strncmp(*e, "HTTP_", 5) != 0 || (eq = strchr(*e, '=')) == NULL) {
      continue;
    }
    len = (size_t)(eq - (*e + 5));
    if (len == 0) {
      continue; /* "HTTP_=…" names no header; nginx never sends it */
    }
    if (count == HK_CAP_HEADERS) {
      rc = hk_fail(err, HK_E_HEADERS_TOO_LARGE,
                   "The request has more than %u headers.", HK_CAP_HEADERS);
    } else if (len >= HK_CAP_HEADER_NAME) {
      rc = hk_fail(err, HK_E_HEADERS_TOO_LARGE,
                   "A header name is longer than %u bytes.",
                   HK_CAP_HEADER_NAME - 1);
    } else {
      for (size_t i = 0; i < len; i++) {
        char c = (*e)[5 + i];
        if (c == '_') {
          c = '-';
        } else if (c >= 'A' && c <= 'Z') {
          c = (char)(c - 'A' + 'a');
        }
        names[count][i] = c;
      }
      names[count][len] = '\0';
      hs[count].name = names[count];
      hs[count].value = eq + 1;
      count++;
    }
  }
  *n = rc == HK_E_OK ? count : 0;
  return rc;
}
