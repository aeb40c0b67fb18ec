/*
 * fcgi.h -- the door to the HTTP side of handoff-fcgi: routing, replies and
 * the request handler, apart from libfcgi's sockets.
 *
 * route.c, reply.c, query.c and headers.c are pure and unit-tested by
 * feeding them strings; handle.c turns one parsed request into one reply,
 * calling webhooks/ for the decision and store/ for the queue; api.c answers
 * the status API (/v1) from what the workers keep in Redis; server.c is the
 * libfcgi shell that reads requests and writes replies, one thread per
 * connection.
 */
#ifndef HK_FCGI_H
#define HK_FCGI_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"
#include "store/store.h"
#include "webhooks/webhooks.h"
#include "journey/journey.h"

/* ---------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------- */
enum hk_route_id {
  HK_ROUTE_NONE,     /* no such path: 404 */
  HK_ROUTE_HOOK,     /* POST /hooks/{source} */
  HK_ROUTE_HEALTHZ,  /* GET /healthz */
  HK_ROUTE_HEALTH,   /* GET /v1/health */
  HK_ROUTE_METRICS,  /* GET /metrics */
  HK_ROUTE_HANDOFFS, /* GET /v1/handoffs */
  HK_ROUTE_HANDOFF,  /* GET /v1/handoffs/{name} */
  HK_ROUTE_CLOCKS,   /* GET /v1/handoffs/{name}/clocks */
  HK_ROUTE_GROUPS,   /* GET /v1/handoffs/{name}/by/{dimension} */
  HK_ROUTE_SERIES,   /* GET /v1/handoffs/{name}/series */
  HK_ROUTE_STAGES,   /* GET /v1/stages */
  HK_ROUTE_STAGE,    /* GET /v1/stages/{name} */
  HK_ROUTE_SUBJECT,  /* GET /v1/subjects/{subject} */
  HK_ROUTE_FORGET,   /* DELETE /v1/subjects/{subject} (scope admin) */
  HK_ROUTE_ASSET     /* GET /dashboard/{asset}: the page, no token */
};

struct hk_route {
  enum hk_route_id id;
  const char *allow; /* the methods the path allows, for 405's Allow */
  /* {source} or a handoff's or stage's {name}; "" when the route has none,
   * or when the segment cannot be a configured name (the caller answers
   * its unknown_* 404 for both). */
  char param[65];
  /* HK_ROUTE_GROUPS: the {dimension}, "" when it cannot be an attribute
   * name. */
  char param2[65];
  /* HK_ROUTE_SUBJECT, HK_ROUTE_FORGET: the {subject} as sent, still
   * percent-encoded (borrowed from the path); HK_ROUTE_ASSET: the asset's
   * name after /dashboard/ ("" for the page itself); else NULL. */
  const char *raw;
};

/*
 * Matches method and path (no query). Returns HK_E_OK with out filled,
 * HK_E_NOT_FOUND for an unknown path, HK_E_METHOD_NOT_ALLOWED (out->allow
 * set) for a known path and the wrong method. HEAD is allowed where GET is.
 * The routes under /v1/ (hk_route_is_api) want the bearer token.
 */
enum hk_err hk_route_match(const char *method, const char *path,
                           struct hk_route *out) HK_MUST_CHECK;

/* 1 for the routes of the status API (/v1/…), which want a token. */
int hk_route_is_api(enum hk_route_id id);

/* ---------------------------------------------------------------------------
 * The status API's inputs and outputs (query.c; pure)
 * ------------------------------------------------------------------------- */

/* The query of GET /v1/handoffs/{name}/clocks. */
struct hk_clocks_query {
  enum hk_clock_state state; /* HK_CLOCK_OPEN unless state= says */
  size_t limit;              /* 1..HK_CAP_PAGE; 100 unless limit= says */
  /* The cursor= as decoded: member is NULL for the first page; score is
   * the due score of the last clock listed (open, at_risk only). */
  char *member; /* owned */
  int64_t score;
};

/*
 * Parses query (the part after "?", "" when none): state, limit and cursor,
 * each at most once. Returns HK_E_OK with out set (fini it), or
 * HK_E_BAD_QUERY with err naming the parameter: an unknown parameter or
 * state, a limit outside 1..HK_CAP_PAGE, a cursor that does not decode or
 * was made for another state.
 */
enum hk_err hk_clocks_query_parse(const char *query,
                                  struct hk_clocks_query *out,
                                  struct hk_error *err) HK_MUST_CHECK;
void hk_clocks_query_fini(struct hk_clocks_query *q);

/* 1 when clocks in state s are listed from the due index (open, at_risk),
 * 0 when from the state index {prefix}cs:HANDOFF:STATE. */
int hk_clocks_query_by_due(enum hk_clock_state s);

/* The cursor of the page after the clock at (score, member) in a listing
 * of state: opaque to clients (base64url). A new string. */
char *hk_clocks_cursor(enum hk_clock_state state, int64_t score,
                       const char *member);

/*
 * Percent-decodes len bytes of a path segment into a new string (*out,
 * caller frees). Returns HK_E_BAD_REQUEST with err set for a "%" not
 * followed by two hex digits, an escaped NUL, bytes that are not UTF-8, or
 * a result over HK_CAP_SUBJECT bytes.
 */
enum hk_err hk_path_unescape(const char *s, size_t len, char **out,
                             struct hk_error *err) HK_MUST_CHECK;

/* ms as RFC 3339 UTC with milliseconds ("2026-11-24T10:00:00.000Z"), a new
 * JSON string; JSON null for 0 and HK_NEVER (no such time). */
json_t *hk_time_json(int64_t ms);

/* The CLOCK object of the status API for one clock of subject in handoff
 * (a new object); with the "link" to the subject, under mount (api.mount),
 * when mount is not NULL. */
json_t *hk_clock_json(const char *subject, const struct hk_clock *c,
                      const char *mount);

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
  /* The dashboard's assets (static strings): Cache-Control (NULL:
   * no-store), an ETag, and the page's Content-Security-Policy. */
  const char *cache;
  const char *etag;
  const char *csp;
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
 * Gathers the figures of GET /metrics into a new object (*out, owned):
 * queue (hk_store_queue_stats), stats, counts, intake (hashes of counters,
 * name to integer), handoffs (each of the nh named handoffs' counters) and
 * p90_ms (each handoff's p90 response time per window, from the KPI
 * document the workers keep; empty before they wrote it).
 * The caller may add memory (hk_memory_json) before formatting.
 * HK_E_UNAVAILABLE with err set when Redis failed.
 */
enum hk_err hk_metrics_gather(struct hk_store *st, const char *const *handoffs,
                              size_t nh, json_t **out,
                              struct hk_error *err) HK_MUST_CHECK;

/*
 * The Prometheus text exposition (format 0.0.4) of the figures
 * (hk_metrics_gather; borrowed, not changed): a new string (caller frees),
 * its length in *len. Pure.
 */
char *hk_metrics_format(json_t *figures, size_t *len);

/*
 * Answers GET /dashboard/{name} ("" for the page itself, index.html) from
 * the files built into the binary: 200 with the file, or 304 when
 * if_none_match (the header, or NULL) names its ETag; with its cache
 * headers and Content-Security-Policy. HK_E_NOT_FOUND for no such file
 * (out untouched). Pure.
 */
enum hk_err hk_asset_reply(const char *name, const char *if_none_match,
                           struct hk_reply *out) HK_MUST_CHECK;

/* Writes the CGI response head ("Status: 202 Accepted\r\n…\r\n\r\n") into
 * buf and returns its length (at most cap - 1; buf is terminated). */
size_t hk_reply_head(const struct hk_reply *r, char *buf, size_t cap);

/* The HTTP reason phrase of a status ("Accepted"). */
const char *hk_reply_reason(int status);

void hk_reply_init(struct hk_reply *r);
void hk_reply_fini(struct hk_reply *r);

/* ---------------------------------------------------------------------------
 * The memory guard (guard.c)
 *
 * Above a share of Redis's maxmemory (redis.memory_guard) the intake
 * refuses deliveries with 503 and Retry-After before Redis refuses writes,
 * /healthz says "degraded", /v1/health turns red with the reason, and
 * /metrics shows the figures.
 * ------------------------------------------------------------------------- */

/* Redis's memory as last read. */
struct hk_memory {
  int known;    /* 0: not read yet, or Redis did not answer */
  int64_t used; /* used_memory, bytes */
  int64_t max;  /* maxmemory, bytes; 0 when Redis has no limit */
};

struct hk_guard;

/* A new guard for the Redis of conf (copied); it connects lazily, on its
 * first reading. Never NULL. */
struct hk_guard *hk_guard_new(const struct hk_redis_conf *conf);

/* NULL-safe. Call it only once no thread is in, or can call,
 * hk_guard_read on g. */
void hk_guard_free(struct hk_guard *g);

/*
 * The latest reading into out. From any number of threads at once: when
 * the reading is a second old (by now_ms) and no other thread is reading
 * it, this call reads Redis (INFO memory) first; the others take the last
 * reading as it is. A failed reading is out->known 0.
 */
void hk_guard_read(struct hk_guard *g, int64_t now_ms, struct hk_memory *out);

/* 1 when m is known, Redis has a maxmemory and m->used is at or above
 * share of it. Pure. */
int hk_memory_over(const struct hk_memory *m, double share);

/* Why intake refuses deliveries, in words, into buf (cap bytes, always
 * terminated); "" when m is not over share. Pure. */
void hk_memory_reason(const struct hk_memory *m, double share, char *buf,
                      size_t cap);

/* {"used_bytes", "max_bytes", "guard", "over"} of m, a new object; JSON
 * null when m is NULL or not known. Pure. */
json_t *hk_memory_json(const struct hk_memory *m, double share);

/* ---------------------------------------------------------------------------
 * Handling one request
 * ------------------------------------------------------------------------- */

/* What the shell read besides the request itself. */
struct hk_req_meta {
  const char *request_id; /* nginx's $request_id, for the logs */
  int body_too_large;     /* the body went over cfg->max_body */
  /* The headers went over a cap (hk_headers_collect): the error to answer
   * for any route, before anything else; NULL when they did not. */
  const struct hk_error *headers_refused;
  /* The memory guard of the config's Redis, shared by the threads; NULL:
   * no guard (the intake then relies on Redis's -OOM alone). */
  struct hk_guard *guard;
};

/*
 * Collects the HTTP_* params of envp (NULL-terminated) as headers: hs[i]
 * and names[i] for i < *n, each name lower-cased with '-' for '_'; values
 * are borrowed from envp. hs and names hold HK_CAP_HEADERS entries. Returns
 * HK_E_OK, or HK_E_HEADERS_TOO_LARGE with err set (and *n 0) when there
 * are more than HK_CAP_HEADERS headers or a name is HK_CAP_HEADER_NAME
 * bytes or longer: never a request with some headers left out. Pure.
 */
enum hk_err hk_headers_collect(char *const *envp, struct hk_header *hs,
                               char (*names)[HK_CAP_HEADER_NAME], size_t *n,
                               struct hk_error *err) HK_MUST_CHECK;

/*
 * Answers one request: routing, intake through webhooks/ and store/, the
 * health endpoints and the status API. Logs one line for the outcome.
 * Never fails: every outcome is a reply (fini it). Deliveries are written
 * through commit (the group commit, shared by all threads) when it is not
 * NULL, else through st (this thread's connection), which also serves the
 * health endpoints and the status API. sla is cfg's handoffs compiled
 * (hk_sla_new), to evaluate the clocks the status API lists.
 */
void hk_fcgi_handle(const struct hk_config *cfg, const struct hk_sla *sla,
                    struct hk_store *st, struct hk_commit *commit,
                    const struct hk_request *req,
                    const struct hk_req_meta *meta, int64_t now_ms,
                    struct hk_reply *out);

/*
 * Answers a route of the status API (hk_route_is_api; api.c) once the
 * token was checked; mem is Redis's memory as the guard last read it, for
 * /v1/health (NULL when unknown): sets out and returns HK_E_OK, or returns
 * the error
 * with err set (out untouched): HK_E_UNKNOWN_HANDOFF, _STAGE, _SUBJECT,
 * HK_E_BAD_QUERY, HK_E_BAD_REQUEST (a bad escape), HK_E_NOT_READY (no
 * worker wrote the document yet), HK_E_UNAVAILABLE (Redis; err says
 * Redis's words, for the log only).
 */
enum hk_err hk_api_handle(const struct hk_config *cfg, const struct hk_sla *sla,
                          struct hk_store *st, const struct hk_route *route,
                          const struct hk_request *req,
                          const struct hk_memory *mem, int64_t now_ms,
                          struct hk_reply *out,
                          struct hk_error *err) HK_MUST_CHECK;

/*
 * DELETE /v1/subjects/{subject}, for a token with scope admin (the caller
 * checked it): queues a request to forget the subject, asked by the token
 * named by (store.h, hk_store_forget_ask), and answers 202 with the
 * request id; a worker carries it out. HK_E_BAD_REQUEST for a subject
 * that does not decode, HK_E_UNAVAILABLE (Redis).
 */
enum hk_err hk_api_forget(struct hk_store *st, const struct hk_route *route,
                          const char *by, int64_t now_ms, struct hk_reply *out,
                          struct hk_error *err) HK_MUST_CHECK;

#endif
