/*
 * assets.c -- the dashboard's files (assets.h) as replies. Pure.
 *
 * No data is in them: the page reads /v1 from the browser, with the
 * viewer's token or the header the operator's nginx adds. So they are
 * served with no token, under a Content-Security-Policy that lets the page
 * load and fetch from its own origin only, and with an ETag: the page
 * itself is revalidated on every load (no-cache, a 304 when unchanged),
 * its script and style sheet are kept for an hour.
 */
#include <string.h>

#include "fcgi/assets.h"
#include "fcgi/fcgi.h"

#define CSP                                                                    \
  "default-src 'self'; base-uri 'none'; form-action 'none'; "                  \
  "frame-ancestors 'none'"

/* 1 when the If-None-Match header names etag ("*", or one of a list of
 * quoted, possibly weak, tags). */
static int matches(const char *header, const char *etag) {
  size_t n = strlen(etag);
  const char *p = header;
  if (header == NULL) {
    return 0;
  }
  if (strcmp(header, "*") == 0) {
    return 1;
  }
  while ((p = strchr(p, '"')) != NULL) {
    if (strncmp(p + 1, etag, n) == 0 && p[n + 1] == '"') {
      return 1;
    }
    p = strchr(p + 1, '"');
    if (p == NULL) {
      break;
    }
    p++;
  }
  return 0;
}

enum hk_err hk_asset_reply(const char *name, const char *if_none_match,
                           struct hk_reply *out) {
  const struct hk_asset *a = NULL;
  const char *want = *name == '\0' ? "index.html" : name;
  for (size_t i = 0; hk_assets[i].name != NULL; i++) {
    if (strcmp(hk_assets[i].name, want) == 0) {
      a = &hk_assets[i];
      break;
    }
  }
  if (a == NULL) {
    return HK_E_NOT_FOUND;
  }
  if (matches(if_none_match, a->etag)) {
    hk_reply_text(out, 304, a->type, hk_xstrdup(""), 0);
  } else {
    char *body = hk_xmalloc(a->len + 1);
    memcpy(body, a->bytes, a->len + 1);
    hk_reply_text(out, 200, a->type, body, a->len);
  }
  out->etag = a->etag;
  out->cache =
      strcmp(want, "index.html") == 0 ? "no-cache" : "public, max-age=3600";
  out->csp = CSP;
  return HK_E_OK;
}
