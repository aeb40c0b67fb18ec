/*
 * assets.h -- internal to fcgi/: the dashboard's files, built into
 * handoff-fcgi from fcgi/dashboard/ by fcgi/embed_assets.cmake, so there is
 * nothing extra to deploy and the page always matches the API it reads.
 */
#ifndef HK_FCGI_ASSETS_H
#define HK_FCGI_ASSETS_H

#include <stddef.h>

struct hk_asset {
  const char *name; /* "index.html", "app.js"… */
  const char *type; /* its Content-Type */
  const unsigned char *bytes;
  size_t len;
  const char *etag; /* of its bytes, without quotes */
};

/* Ends with an entry whose name is NULL. */
extern const struct hk_asset hk_assets[];

#endif
