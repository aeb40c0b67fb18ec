/*
 * fcgi.h -- the door to the HTTP side of handoff-fcgi: routing, replies and
 * the request handler, apart from libfcgi's sockets.
 *
 * route.c and reply.c are pure and unit-tested by feeding them strings;
 * handle.c turns one parsed request into one reply, calling webhooks/ for
 * the decision and store/ for the queue; server.c is the libfcgi shell that
 * reads requests and writes replies, one thread per connection.
 */
#ifndef HK_FCGI_H
#define HK_FCGI_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"
#include "store/store.h"
#include "webhooks/webhooks.h"

/* ---------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------- */
enum hk_route_id {
  HK_ROUTE_NONE,    /* no such path: 404 */
  HK_ROUTE_HOOK,    /* POST /hooks/{source} */
  HK_ROUTE_HEALTHZ, /* GET /healthz */
  HK_ROUTE_HEALTH,  /* GET /v1/health */
  HK_ROUTE_METRICS  /* GET /metrics */
};

struct hk_route {
  enum hk_route_id id;
  const char *allow; /* the methods the path allows, for 405's Allow */
  char param[65];    /* {source}; "" when the route has none */
};

/*
 * Matches method and path (no query). Returns HK_E_OK with out filled,
 * HK_E_NOT_FOUND for an unknown path, HK_E_METHOD_NOT_ALLOWED (out->allow
 * set) for a known path and the wrong method. HEAD is allowed where GET is.
 */
enum hk_err hk_route_match(const char *method, const char *path,
                           struct hk_route *out) HK_MUST_CHECK;

/* ---------------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------------- */
struct hk_reply {
  int status;
  char *body; /* owned; JSON text */
  size_t len;
  int64_t retry_after_s;    /* > 0: send Retry-After */
  const char *allow;        /* non-NULL: send Allow (static string) */
  const char *content_type; /* NULL: application/json (static string) */
};

/* Sets out to `{"error":{"code":…,"message":…}}` with the status of e. A
 * NULL msg takes the table's message. Replaces any previous body. */
void hk_reply_error(struct hk_reply *out, enum hk_err e, const char *msg);

/* Sets out to status with doc serialized compactly; steals doc. */
void hk_reply_json(struct hk_reply *out, int status, json_t *doc);

/* Sets out to status with a text body of content_type (static); steals
 * text (len bytes, NUL-terminated). Replaces any previous body. */
void hk_reply_text(struct hk_reply *out, int status, const char *content_type,
                   char *text, size_t len);

/*
 * The Prometheus text exposition (format 0.0.4) of the figures the store
 * gathered (hk_store_metrics; borrowed, not changed): a new string (caller
 * frees), its length in *len. Pure.
 */
char *hk_metrics_format(json_t *figures, size_t *len);

/* Writes the CGI response head ("Status: 202 Accepted\r\n…\r\n\r\n") into
 * buf and returns its length (at most cap - 1; buf is terminated). */
size_t hk_reply_head(const struct hk_reply *r, char *buf, size_t cap);

/* The HTTP reason phrase of a status ("Accepted"). */
const char *hk_reply_reason(int status);

void hk_reply_init(struct hk_reply *r);
void hk_reply_fini(struct hk_reply *r);

/* ---------------------------------------------------------------------------
 * Handling one request
 * ------------------------------------------------------------------------- */

/* What the shell read besides the request itself. */
struct hk_req_meta {
  const char *request_id; /* nginx's $request_id, for the logs */
  int body_too_large;     /* the body went over cfg->max_body */
};

/*
 * Answers one request: routing, intake through webhooks/ and store/, the
 * health endpoints. Logs one line for the outcome. Never fails: every
 * outcome is a reply (fini it). Deliveries are written through commit (the
 * group commit, shared by all threads) when it is not NULL, else through
 * st (this thread's connection), which also serves the health endpoints.
 */
void hk_fcgi_handle(const struct hk_config *cfg, struct hk_store *st,
                    struct hk_commit *commit, const struct hk_request *req,
                    const struct hk_req_meta *meta, int64_t now_ms,
                    struct hk_reply *out);

#endif
