/*
 * route.c -- method and path to a route. Pure.
 *
 * The paths are matched as sent (REQUEST_URI without the query): a name
 * segment is taken only when it can be a configured name, and the subject
 * of /v1/subjects/ is left encoded for the handler to decode.
 */
#include <string.h>

#include "fcgi/fcgi.h"

static int is_get(const char *m) {
  return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* A name segment: [a-z0-9][a-z0-9_-]{0,63}, as sources, handoffs and
 * stages are named. n is the segment's length. */
static int valid_name(const char *s, size_t n) {
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

/* Copies the segment into out->param when it can be a name. */
static void take_name(struct hk_route *out, const char *s, size_t n) {
  if (valid_name(s, n)) {
    memcpy(out->param, s, n);
    out->param[n] = '\0';
  }
}

/* Starts with prefix: returns what follows, else NULL. */
static const char *after(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(path, prefix, n) == 0 ? path + n : NULL;
}

/* The routes under /v1/; HK_ROUTE_NONE when none matches. */
static enum hk_route_id match_api(const char *path, struct hk_route *out) {
  const char *rest;
  if (strcmp(path, "/v1/health") == 0) {
    return HK_ROUTE_HEALTH;
  }
  if (strcmp(path, "/v1/handoffs") == 0) {
    return HK_ROUTE_HANDOFFS;
  }
  if (strcmp(path, "/v1/stages") == 0) {
    return HK_ROUTE_STAGES;
  }
  if ((rest = after(path, "/v1/handoffs/")) != NULL && *rest != '\0') {
    const char *slash = strchr(rest, '/');
    if (slash == NULL) {
      take_name(out, rest, strlen(rest));
      return HK_ROUTE_HANDOFF;
    }
    if (slash > rest && strcmp(slash, "/clocks") == 0) {
      take_name(out, rest, (size_t)(slash - rest));
      return HK_ROUTE_CLOCKS;
    }
    if (slash > rest && strncmp(slash, "/by/", 4) == 0 && slash[4] != '\0' &&
        strchr(slash + 4, '/') == NULL) {
      size_t n = strlen(slash + 4);
      take_name(out, rest, (size_t)(slash - rest));
      if (n < sizeof out->param2 &&
          strspn(slash + 4, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                            "WXYZ0123456789_") == n) {
        memcpy(out->param2, slash + 4, n + 1);
      }
      return HK_ROUTE_GROUPS;
    }
    if (slash > rest && strcmp(slash, "/series") == 0) {
      take_name(out, rest, (size_t)(slash - rest));
      return HK_ROUTE_SERIES;
    }
    return HK_ROUTE_NONE;
  }
  if ((rest = after(path, "/v1/stages/")) != NULL && *rest != '\0' &&
      strchr(rest, '/') == NULL) {
    take_name(out, rest, strlen(rest));
    return HK_ROUTE_STAGE;
  }
  /* A subject may hold any byte, "/" included when the client did not
   * escape it: the whole rest of the path is the subject. */
  if ((rest = after(path, "/v1/subjects/")) != NULL && *rest != '\0') {
    out->raw = rest;
    return HK_ROUTE_SUBJECT;
  }
  return HK_ROUTE_NONE;
}

int hk_route_is_api(enum hk_route_id id) {
  switch (id) {
  case HK_ROUTE_HEALTH:
  case HK_ROUTE_HANDOFFS:
  case HK_ROUTE_HANDOFF:
  case HK_ROUTE_CLOCKS:
  case HK_ROUTE_GROUPS:
  case HK_ROUTE_SERIES:
  case HK_ROUTE_STAGES:
  case HK_ROUTE_STAGE:
  case HK_ROUTE_SUBJECT:
  case HK_ROUTE_FORGET: return 1;
  case HK_ROUTE_NONE:
  case HK_ROUTE_HOOK:
  case HK_ROUTE_HEALTHZ:
  case HK_ROUTE_METRICS:
  case HK_ROUTE_ASSET: return 0;
  }
  return 0;
}

enum hk_err hk_route_match(const char *method, const char *path,
                           struct hk_route *out) {
  const char *name;
  memset(out, 0, sizeof *out);
  out->id = HK_ROUTE_NONE;

  if ((name = after(path, "/hooks/")) != NULL) {
    out->allow = "POST";
    if (strcmp(method, "POST") != 0) {
      return HK_E_METHOD_NOT_ALLOWED;
    }
    /* A name that can't be a source's is an unknown source too; the
     * caller answers 404 unknown_source for both. */
    take_name(out, name, strlen(name));
    out->id = HK_ROUTE_HOOK;
    return HK_E_OK;
  }
  if (strcmp(path, "/healthz") == 0) {
    out->id = HK_ROUTE_HEALTHZ;
  } else if (strcmp(path, "/metrics") == 0) {
    out->id = HK_ROUTE_METRICS;
  } else if (after(path, "/v1/") != NULL) {
    out->id = match_api(path, out);
  } else if ((name = after(path, "/dashboard/")) != NULL &&
             strchr(name, '/') == NULL) {
    /* Which asset is handle.c's to say (404 for none). */
    out->id = HK_ROUTE_ASSET;
    out->raw = name;
  }
  if (out->id == HK_ROUTE_NONE) {
    memset(out, 0, sizeof *out);
    return HK_E_NOT_FOUND;
  }
  out->allow = "GET, HEAD";
  if (out->id == HK_ROUTE_SUBJECT) {
    out->allow = "GET, HEAD, DELETE";
    if (strcmp(method, "DELETE") == 0) {
      out->id = HK_ROUTE_FORGET;
      return HK_E_OK;
    }
  }
  if (!is_get(method)) {
    out->id = HK_ROUTE_NONE;
    out->param[0] = '\0';
    out->raw = NULL;
    return HK_E_METHOD_NOT_ALLOWED;
  }
  return HK_E_OK;
}
