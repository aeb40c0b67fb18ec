/*
 * route.c -- method and path to a route. Pure.
 */
#include <string.h>

#include "fcgi/fcgi.h"

static int is_get(const char *m) {
  return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* A {source} segment: [a-z0-9][a-z0-9_-]{0,63}, as sources are named. */
static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             (i > 0 && (c == '_' || c == '-'));
    if (!ok) {
      return 0;
    }
  }
  return 1;
}

enum hk_err hk_route_match(const char *method, const char *path,
                           struct hk_route *out) {
  static const char hooks[] = "/hooks/";
  memset(out, 0, sizeof *out);
  out->id = HK_ROUTE_NONE;

  if (strncmp(path, hooks, sizeof hooks - 1) == 0) {
    const char *name = path + sizeof hooks - 1;
    out->allow = "POST";
    if (strcmp(method, "POST") != 0) {
      return HK_E_METHOD_NOT_ALLOWED;
    }
    /* A name that can't be a source's is an unknown source too; the
     * caller answers 404 unknown_source for both. */
    if (valid_name(name)) {
      memcpy(out->param, name, strlen(name) + 1);
    }
    out->id = HK_ROUTE_HOOK;
    return HK_E_OK;
  }
  if (strcmp(path, "/healthz") == 0) {
    out->id = HK_ROUTE_HEALTHZ;
  } else if (strcmp(path, "/v1/health") == 0) {
    out->id = HK_ROUTE_HEALTH;
  } else if (strcmp(path, "/metrics") == 0) {
    out->id = HK_ROUTE_METRICS;
  } else {
    return HK_E_NOT_FOUND;
  }
  out->allow = "GET, HEAD";
  if (!is_get(method)) {
    out->id = HK_ROUTE_NONE;
    return HK_E_METHOD_NOT_ALLOWED;
  }
  return HK_E_OK;
}
