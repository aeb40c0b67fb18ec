/*
 * handle.c -- one request in, one reply out.
 *
 * Headers over their caps are 431 on any route, first (server.c read
 * them; a request missing some is not the one that was sent). The order
 * of the checks of POST /hooks/{source} is then the contract's: route
 * (404/405), size (413), then webhooks/ decides content type (415),
 * signature (401) and shape (400), then the memory guard (503 redis_full
 * while Redis is over redis.memory_guard of its maxmemory, guard.c), and
 * only then is the delivery written to Redis; 202 goes out once Redis
 * confirmed the write, 503 with Retry-After when it could not (Redis down,
 * or over its maxmemory: -OOM), so the sender retries and nothing is
 * lost. The write goes through the group commit when the shell has one:
 * the request waits for its own XADD's reply either way.
 *
 * The status API (/v1/…, api.c) checks the route (404/405), then the
 * bearer token (401), and only then names, query and Redis. The
 * dashboard's files (/dashboard/…, assets.c) hold no data: no token.
 */
#include <stdio.h>
#include <string.h>

#include "fcgi/fcgi.h"

static enum hk_log_level level_of(int status) {
  if (status >= 500) {
    return HK_LOG_ERROR;
  }
  return status >= 400 ? HK_LOG_WARN : HK_LOG_INFO;
}

static void log_outcome(const struct hk_request *req,
                        const struct hk_req_meta *meta, const char *source,
                        const struct hk_reply *out, enum hk_err code,
                        const char *detail, const char *extra_key,
                        const char *extra) {
  char status[8];
  snprintf(status, sizeof status, "%d", out->status);
  hk_log(level_of(out->status), code == HK_E_OK ? "request" : detail, "req",
         meta->request_id, "method", req->method, "path", req->path, "source",
         source, "status", status, "code", hk_err_code(code), extra_key, extra,
         (const char *)NULL);
}

static void fail(struct hk_reply *out, enum hk_err e, const char *msg,
                 const struct hk_config *cfg) {
  hk_reply_error(out, e, msg);
  if (hk_err_status(e) == 503) {
    out->retry_after_s = cfg->retry_after_s > 0 ? cfg->retry_after_s : 5;
  }
}

/* The memory guard's verdict for a delivery: HK_E_FULL with err saying
 * why (for the log) while Redis is over the share, else HK_E_OK. */
static enum hk_err guard_check(const struct hk_config *cfg,
                               const struct hk_req_meta *meta, int64_t now_ms,
                               struct hk_error *err) {
  struct hk_memory mem;
  if (meta->guard == NULL) {
    return HK_E_OK;
  }
  hk_guard_read(meta->guard, now_ms, &mem);
  if (!hk_memory_over(&mem, cfg->redis.memory_guard)) {
    return HK_E_OK;
  }
  err->code = HK_E_FULL;
  hk_memory_reason(&mem, cfg->redis.memory_guard, err->msg, sizeof err->msg);
  return HK_E_FULL;
}

/* POST /hooks/{source}; returns the outcome's code (HK_E_OK: 202). */
static enum hk_err handle_hook(const struct hk_config *cfg, struct hk_store *st,
                               struct hk_commit *commit,
                               const struct hk_request *req,
                               const struct hk_req_meta *meta, const char *name,
                               int64_t now_ms, struct hk_reply *out) {
  const struct hk_source *src = hk_config_source(cfg, name);
  struct hk_error err = {HK_E_OK, ""};
  struct hk_delivery d;
  char id[HK_STREAM_ID_MAX];
  enum hk_err rc;

  memset(&d, 0, sizeof d);
  if (src == NULL) {
    rc = hk_fail(&err, HK_E_UNKNOWN_SOURCE, "No source is named \"%s\".", name);
    /* name is shown only when it is a valid source name (route.c). */
    fail(out, rc, *name != '\0' ? err.msg : NULL, cfg);
    log_outcome(req, meta, name, out, rc, hk_err_message(rc), NULL, NULL);
    return rc;
  }
  if (meta->body_too_large) {
    rc = hk_fail(&err, HK_E_TOO_LARGE,
                 "The body is over the limit of %zu bytes.", cfg->max_body);
    fail(out, rc, err.msg, cfg);
    log_outcome(req, meta, name, out, rc, err.msg, NULL, NULL);
    return rc;
  }
  rc = hk_intake_decide(req, src, now_ms, &d, &err);
  if (rc != HK_E_OK) {
    fail(out, rc, err.msg, cfg);
    log_outcome(req, meta, name, out, rc, err.msg, NULL, NULL);
    return rc;
  }
  rc = guard_check(cfg, meta, now_ms, &err);
  if (rc == HK_E_OK) {
    rc = commit != NULL ? hk_commit_enqueue(commit, &d, id, &err)
                        : hk_store_enqueue(st, &d, id, &err);
  }
  if (rc != HK_E_OK) {
    /* The sender gets the contract's words; the log gets Redis's. */
    fail(out, rc, NULL, cfg);
    log_outcome(req, meta, name, out, rc, err.msg, "delivery", d.delivery_id);
  } else {
    hk_reply_json(out, 202,
                  json_pack("{s:s,s:s,s:s}", "status", "queued", "id", id,
                            "delivery_id", d.delivery_id));
    log_outcome(req, meta, name, out, HK_E_OK, NULL, "delivery", d.delivery_id);
  }
  hk_delivery_fini(&d);
  return rc;
}

/* GET /healthz: 200 while Redis answers, "degraded" with the reason while
 * it is over the memory guard (this responder is fine; taking it out of a
 * load balancer would not help), 503 when Redis does not answer. */
static void handle_healthz(const struct hk_config *cfg, struct hk_store *st,
                           const struct hk_request *req,
                           const struct hk_req_meta *meta, int64_t now_ms,
                           struct hk_reply *out) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_memory mem = {0, 0, 0};
  double share = cfg->redis.memory_guard;
  enum hk_err rc = hk_store_ping(st, &err);
  json_t *doc;
  if (rc != HK_E_OK) {
    fail(out, rc, NULL, cfg);
    log_outcome(req, meta, NULL, out, rc, err.msg, NULL, NULL);
    return;
  }
  if (meta->guard != NULL) {
    hk_guard_read(meta->guard, now_ms, &mem);
  }
  doc = json_pack("{s:s,s:s}", "status", "ok", "redis", "ok");
  if (hk_memory_over(&mem, share)) {
    char reason[256];
    hk_memory_reason(&mem, share, reason, sizeof reason);
    json_object_set_new(doc, "status", json_string("degraded"));
    json_object_set_new(doc, "reason", json_string(reason));
  }
  if (mem.known) {
    json_object_set_new(doc, "memory", hk_memory_json(&mem, share));
  }
  hk_reply_json(out, 200, doc);
}

/* A route of the status API: the token first, then api.c. The client
 * gets the error's own words, but for Redis's, which go to the log. */
static void handle_api(const struct hk_config *cfg, const struct hk_sla *sla,
                       struct hk_store *st, const struct hk_route *route,
                       const struct hk_request *req,
                       const struct hk_req_meta *meta, int64_t now_ms,
                       struct hk_reply *out) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_memory mem = {0, 0, 0};
  enum hk_err rc =
      hk_api_authorize(cfg, hk_request_header(req, "authorization"), &err);
  if (rc == HK_E_OK && route->id == HK_ROUTE_HEALTH && meta->guard != NULL) {
    hk_guard_read(meta->guard, now_ms, &mem);
  }
  if (rc == HK_E_OK) {
    rc = hk_api_handle(cfg, sla, st, route, req, mem.known ? &mem : NULL,
                       now_ms, out, &err);
  }
  if (rc != HK_E_OK) {
    fail(out, rc, rc == HK_E_UNAVAILABLE ? NULL : err.msg, cfg);
    log_outcome(req, meta, NULL, out, rc, err.msg, NULL, NULL);
  }
}

/* GET /metrics: Prometheus text, with no token (scrapers rarely carry one;
 * keep it to the monitoring network in nginx if it must not be public). */
static void handle_metrics(const struct hk_config *cfg, struct hk_store *st,
                           const struct hk_request *req,
                           const struct hk_req_meta *meta, int64_t now_ms,
                           struct hk_reply *out) {
  struct hk_error err = {HK_E_OK, ""};
  json_t *handoffs = json_object_get(cfg->doc, "handoffs");
  size_t nh = json_object_size(handoffs);
  const char **names = hk_xcalloc(nh + 1, sizeof(const char *));
  json_t *figures = NULL;
  const char *key;
  json_t *v;
  size_t n = 0;
  enum hk_err rc;

  json_object_foreach(handoffs, key, v) {
    names[n++] = key;
  }
  rc = hk_metrics_gather(st, names, n, &figures, &err);
  if (rc != HK_E_OK) {
    fail(out, rc, NULL, cfg);
    log_outcome(req, meta, NULL, out, rc, err.msg, NULL, NULL);
  } else {
    size_t len = 0;
    char *text;
    if (meta->guard != NULL) {
      struct hk_memory mem;
      hk_guard_read(meta->guard, now_ms, &mem);
      json_object_set_new(figures, "memory",
                          hk_memory_json(&mem, cfg->redis.memory_guard));
    }
    text = hk_metrics_format(figures, &len);
    hk_reply_text(out, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                  len);
  }
  json_decref(figures);
  free(names);
}

/* Counts a refused request to /hooks/{source} in Redis for /metrics. The
 * source is named only when it is configured, so a sender cannot make up
 * label values. Accepted ones are counted with their XADD; when Redis is
 * down there is nowhere to count. A refusal of the memory guard is counted
 * (Redis still takes writes then); one of Redis's -OOM fails to be, at
 * debug level. */
static void count_refusal(const struct hk_config *cfg, struct hk_store *st,
                          const struct hk_route *route, enum hk_err rc,
                          const struct hk_reply *out) {
  struct hk_error err = {HK_E_OK, ""};
  const char *source = "-";
  if (rc == HK_E_OK || rc == HK_E_UNAVAILABLE) {
    return;
  }
  if (route->param[0] != '\0' && hk_config_source(cfg, route->param) != NULL) {
    source = route->param;
  }
  if (hk_store_count_request(st, source, out->status, &err) != HK_E_OK) {
    hk_log(HK_LOG_DEBUG, "request not counted", "error", err.msg,
           (const char *)NULL);
  }
}

void hk_fcgi_handle(const struct hk_config *cfg, const struct hk_sla *sla,
                    struct hk_store *st, struct hk_commit *commit,
                    const struct hk_request *req,
                    const struct hk_req_meta *meta, int64_t now_ms,
                    struct hk_reply *out) {
  struct hk_route route;
  enum hk_err rc;
  if (meta->headers_refused != NULL) {
    /* The headers that were read are not the request that was sent. */
    rc = meta->headers_refused->code;
    fail(out, rc, meta->headers_refused->msg, cfg);
    log_outcome(req, meta, NULL, out, rc, meta->headers_refused->msg, NULL,
                NULL);
    return;
  }
  rc = hk_route_match(req->method, req->path, &route);
  if (rc != HK_E_OK) {
    fail(out, rc, NULL, cfg);
    out->allow = rc == HK_E_METHOD_NOT_ALLOWED ? route.allow : NULL;
    log_outcome(req, meta, NULL, out, rc, hk_err_message(rc), NULL, NULL);
    return;
  }
  if (hk_route_is_api(route.id)) {
    handle_api(cfg, sla, st, &route, req, meta, now_ms, out);
    return;
  }
  switch (route.id) {
  case HK_ROUTE_HOOK:
    rc = handle_hook(cfg, st, commit, req, meta, route.param, now_ms, out);
    count_refusal(cfg, st, &route, rc, out);
    break;
  case HK_ROUTE_HEALTHZ: handle_healthz(cfg, st, req, meta, now_ms, out); break;
  case HK_ROUTE_METRICS: handle_metrics(cfg, st, req, meta, now_ms, out); break;
  case HK_ROUTE_ASSET:
    rc =
        hk_asset_reply(route.raw, hk_request_header(req, "if-none-match"), out);
    if (rc != HK_E_OK) {
      fail(out, rc, NULL, cfg);
      log_outcome(req, meta, NULL, out, rc, hk_err_message(rc), NULL, NULL);
    }
    break;
  default: fail(out, HK_E_NOT_FOUND, NULL, cfg); break;
  }
}
