/*
 * metrics.c -- GET /metrics: the figures gathered through the store's
 * door (hk_metrics_gather, the one function here that does I/O) and their
 * Prometheus text exposition (format 0.0.4; pure: figures in, text out).
 *
 * The figures are a JSON object of Redis' own counters:
 *   queue      {length, pending, lag, processed, consumers, workers,
 *              last_read_age_s (absent when no worker ever read),
 *              oldest_waiting_s}
 *   stats      the workers' counters (processed, batches, batch_ms,
 *              alerts_sent, alerts_retried, alerts_dead, alerts_dropped)
 *   counts     the journal's "mapped:SOURCE:TYPE", "ignored:SOURCE:TYPE",
 *              "dead:SOURCE:RULE"
 *   intake     handoff-fcgi's "SOURCE STATUS" per request
 *   handoffs   {HANDOFF: {state: count, started, incomplete}}
 *   p90_ms     {HANDOFF: {WINDOW: ms}}, the p90 response times of the
 *              handoff KPI document ({prefix}kpi:handoffs)
 *   memory     Redis's used_memory and maxmemory as the memory guard last
 *              read them (hk_memory_json; null or absent when unknown)
 * Every instance of handoff-fcgi answers from the same Redis, so a scrape of
 * any one of them is the whole service.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/fcgi.h"

/* The text being written. Past its cap (the figures never come near
 * HK_CAP_RESPONSE) it stops growing and the exposition is cut short at a
 * line's end, which Prometheus reads as fewer samples. */
struct text {
  struct hk_buf b;
  int full;
};

static void add(struct text *t, const char *p, size_t n) {
  if (!t->full && hk_buf_add(&t->b, p, n) != HK_E_OK) {
    t->full = 1;
  }
}

static void put(struct text *t, const char *s) {
  add(t, s, strlen(s));
}

static void putf(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(struct text *t, const char *fmt, ...) {
  char line[512];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0) {
    add(t, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  }
}

/* A label value with \\, " and newline escaped, as the format asks. */
static void put_label(struct text *b, const char *v) {
  for (; *v != '\0'; v++) {
    if (*v == '\\' || *v == '"') {
      add(b, "\\", 1);
      add(b, v, 1);
    } else if (*v == '\n') {
      put(b, "\\n");
    } else {
      add(b, v, 1);
    }
  }
}

static void header(struct text *b, const char *name, const char *type,
                   const char *help) {
  putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(struct text *b, const char *name, const char *k1,
                   const char *v1, const char *k2, const char *v2,
                   json_int_t value) {
  put(b, name);
  if (k1 != NULL) {
    putf(b, "{%s=\"", k1);
    put_label(b, v1);
    put(b, "\"");
    if (k2 != NULL) {
      putf(b, ",%s=\"", k2);
      put_label(b, v2);
      put(b, "\"");
    }
    put(b, "}");
  }
  putf(b, " %" JSON_INTEGER_FORMAT "\n", value);
}

static json_int_t num(const json_t *obj, const char *key) {
  return json_integer_value(json_object_get(obj, key));
}

/* The journal's counters of one kind ("mapped:", …) as name{source,k2}. */
static void journal(struct text *b, json_t *counts, const char *kind,
                    const char *name, const char *k2, const char *help) {
  const char *key;
  json_t *v;
  size_t klen = strlen(kind);
  header(b, name, "counter", help);
  json_object_foreach(counts, key, v) {
    char source[128];
    const char *colon;
    if (strncmp(key, kind, klen) != 0) {
      continue;
    }
    colon = strchr(key + klen, ':');
    if (colon == NULL || (size_t)(colon - key - klen) >= sizeof source) {
      continue;
    }
    memcpy(source, key + klen, (size_t)(colon - key - klen));
    source[colon - key - klen] = '\0';
    sample(b, name, "source", source, k2, colon + 1, json_integer_value(v));
  }
}

/* handoff_response_p90_seconds{handoff,window}: the KPI documents' p90
 * response time (a handoff with no clock met yet in a window has none). */
static void p90(struct text *b, json_t *by_handoff) {
  const char *name;
  json_t *ws;
  header(b, "handoff_response_p90_seconds", "gauge",
         "p90 of the response time of the clocks met, by handoff and window "
         "(24h, 7d, 30d), as the status API's KPI documents compute it.");
  json_object_foreach(by_handoff, name, ws) {
    const char *w;
    json_t *ms;
    json_object_foreach(ws, w, ms) {
      putf(b,
           "handoff_response_p90_seconds{handoff=\"%s\",window=\"%s\"} %.3f\n",
           name, w, (double)json_integer_value(ms) / 1000.0);
    }
  }
}

/* What the workers' heartbeats say: a queue nobody reads shows here even
 * while its dead consumers stay in the group. */
static void readers(struct text *b, const json_t *queue) {
  const json_t *age = json_object_get(queue, "last_read_age_s");
  header(b, "handoff_workers_alive", "gauge",
         "Workers whose heartbeat is alive.");
  sample(b, "handoff_workers_alive", NULL, NULL, NULL, NULL,
         num(queue, "workers"));
  if (json_is_integer(age)) {
    header(b, "handoff_queue_last_read_age_seconds", "gauge",
           "Seconds since any worker last read the queue.");
    sample(b, "handoff_queue_last_read_age_seconds", NULL, NULL, NULL, NULL,
           json_integer_value(age));
  }
  header(b, "handoff_queue_oldest_waiting_seconds", "gauge",
         "Age of the oldest delivery pending or unread (0: none waits).");
  sample(b, "handoff_queue_oldest_waiting_seconds", NULL, NULL, NULL, NULL,
         num(queue, "oldest_waiting_s"));
}

/* Redis's memory, when the guard could read it: the gauges an alert rule
 * compares (used / max against the guard). */
static void memory(struct text *b, const json_t *mem) {
  if (!json_is_object(mem)) {
    return;
  }
  header(b, "handoff_redis_used_memory_bytes", "gauge",
         "Memory Redis uses (INFO memory used_memory).");
  sample(b, "handoff_redis_used_memory_bytes", NULL, NULL, NULL, NULL,
         num(mem, "used_bytes"));
  header(b, "handoff_redis_maxmemory_bytes", "gauge",
         "Redis's maxmemory (0: no limit).");
  sample(b, "handoff_redis_maxmemory_bytes", NULL, NULL, NULL, NULL,
         num(mem, "max_bytes"));
  header(b, "handoff_redis_memory_guard_ratio", "gauge",
         "Share of maxmemory above which intake refuses deliveries with 503 "
         "(redis.memory_guard).");
  putf(b, "handoff_redis_memory_guard_ratio %.15g\n",
       json_number_value(json_object_get(mem, "guard")));
}

char *hk_metrics_format(json_t *figures, size_t *len) {
  static const char *const states[] = {
      "open", "at_risk", "paused", "met", "breached", "met_late", "cancelled"};
  const json_t *queue = json_object_get(figures, "queue");
  const json_t *stats = json_object_get(figures, "stats");
  json_t *counts = json_object_get(figures, "counts");
  json_t *intake = json_object_get(figures, "intake");
  json_t *handoffs = json_object_get(figures, "handoffs");
  struct text b = {{NULL, 0, 0, 0}, 0};
  const char *key;
  json_t *v;

  hk_buf_init(&b.b, HK_CAP_RESPONSE);
  header(&b, "handoff_intake_requests_total", "counter",
         "Requests to POST /hooks/{source}, by source and HTTP status.");
  json_object_foreach(intake, key, v) {
    char source[128];
    const char *sp = strchr(key, ' ');
    if (sp == NULL || (size_t)(sp - key) >= sizeof source) {
      continue;
    }
    memcpy(source, key, (size_t)(sp - key));
    source[sp - key] = '\0';
    sample(&b, "handoff_intake_requests_total", "source", source, "status",
           sp + 1, json_integer_value(v));
  }
  header(&b, "handoff_queue_length", "gauge",
         "Deliveries in the intake stream.");
  sample(&b, "handoff_queue_length", NULL, NULL, NULL, NULL,
         num(queue, "length"));
  header(&b, "handoff_queue_pending", "gauge",
         "Deliveries read by a worker and not yet acknowledged.");
  sample(&b, "handoff_queue_pending", NULL, NULL, NULL, NULL,
         num(queue, "pending"));
  header(&b, "handoff_queue_lag", "gauge",
         "Deliveries no worker has read yet (-1 when Redis cannot say).");
  sample(&b, "handoff_queue_lag", NULL, NULL, NULL, NULL, num(queue, "lag"));
  header(&b, "handoff_queue_consumers", "gauge",
         "Workers (threads) of the consumer group.");
  sample(&b, "handoff_queue_consumers", NULL, NULL, NULL, NULL,
         num(queue, "consumers"));
  readers(&b, queue);
  header(&b, "handoff_deliveries_processed_total", "counter",
         "Deliveries mapped, journaled and acknowledged by the workers.");
  sample(&b, "handoff_deliveries_processed_total", NULL, NULL, NULL, NULL,
         num(stats, "processed"));
  journal(&b, counts, "mapped:", "handoff_events_total", "type",
          "Journey events made, by source and event type.");
  journal(&b, counts, "ignored:", "handoff_ignored_total", "type",
          "Items no mapping rule matched, by source and provider type.");
  journal(&b, counts, "dead:", "handoff_dead_letters_total", "rule",
          "Items a rule could not complete, by source and rule.");
  p90(&b, json_object_get(figures, "p90_ms"));
  header(&b, "handoff_clocks", "gauge", "Clocks by handoff and state now.");
  json_object_foreach(handoffs, key, v) {
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
      sample(&b, "handoff_clocks", "handoff", key, "state", states[i],
             num(v, states[i]));
    }
  }
  header(&b, "handoff_clocks_started_total", "counter",
         "Clocks started, by handoff.");
  json_object_foreach(handoffs, key, v) {
    sample(&b, "handoff_clocks_started_total", "handoff", key, NULL, NULL,
           num(v, "started"));
  }
  header(&b, "handoff_clocks_incomplete", "gauge",
         "Clocks started without an attribute the handoff requires.");
  json_object_foreach(handoffs, key, v) {
    sample(&b, "handoff_clocks_incomplete", "handoff", key, NULL, NULL,
           num(v, "incomplete"));
  }
  header(&b, "handoff_clocks_unknown_owner", "gauge",
         "Running clocks whose owner id the owners directory does not know.");
  json_object_foreach(handoffs, key, v) {
    sample(&b, "handoff_clocks_unknown_owner", "handoff", key, NULL, NULL,
           num(v, "unknown_owner"));
  }
  header(&b, "handoff_alerts_total", "counter",
         "Alert attempts by outcome: sent, retried (an attempt failed and "
         "another is scheduled), dead (the last attempt failed), dropped "
         "(the notifier is disabled).");
  sample(&b, "handoff_alerts_total", "outcome", "sent", NULL, NULL,
         num(stats, "alerts_sent"));
  sample(&b, "handoff_alerts_total", "outcome", "retried", NULL, NULL,
         num(stats, "alerts_retried"));
  sample(&b, "handoff_alerts_total", "outcome", "dead", NULL, NULL,
         num(stats, "alerts_dead"));
  sample(&b, "handoff_alerts_total", "outcome", "dropped", NULL, NULL,
         num(stats, "alerts_dropped"));
  header(&b, "handoff_worker_batches_total", "counter",
         "Batches of deliveries the workers processed.");
  sample(&b, "handoff_worker_batches_total", NULL, NULL, NULL, NULL,
         num(stats, "batches"));
  memory(&b, json_object_get(figures, "memory"));
  header(&b, "handoff_worker_batch_seconds_total", "counter",
         "Time the workers spent processing batches.");
  putf(&b, "handoff_worker_batch_seconds_total %.3f\n",
       (double)num(stats, "batch_ms") / 1000.0);
  return hk_buf_take(&b.b, len);
}

/* ---------------------------------------------------------------------------
 * Gathering the figures
 * ------------------------------------------------------------------------- */

/* The p90 response time of each handoff and window, from the handoff KPI
 * document a worker keeps (one GET, nothing computed here): doc's
 * "p90_ms", handoff -> window -> ms. Nothing before a worker wrote it. */
static enum hk_err gather_p90(struct hk_store *st, json_t *doc,
                              struct hk_error *err) {
  char *text = NULL;
  size_t len = 0;
  json_t *kpis;
  json_t *h;
  size_t i;
  json_t *p90 = json_object();
  enum hk_err rc = hk_store_get(st, "kpi:handoffs", &text, &len, err);
  kpis = text != NULL ? json_loadb(text, len, 0, NULL) : NULL;
  free(text);
  json_array_foreach(json_object_get(kpis, "handoffs"), i, h) {
    const char *name = json_string_value(json_object_get(h, "name"));
    json_t *ws = json_object();
    const char *w;
    json_t *win;
    json_object_foreach(json_object_get(h, "windows"), w, win) {
      json_t *ms = json_object_get(win, "response_p90_ms");
      if (json_is_integer(ms)) {
        json_object_set(ws, w, ms);
      }
    }
    if (name != NULL) {
      json_object_set_new(p90, name, ws);
    } else {
      json_decref(ws);
    }
  }
  json_decref(kpis);
  json_object_set_new(doc, "p90_ms", p90);
  return rc;
}

/* The heartbeats' figures of q added to the queue member. */
static void queue_readers(json_t *queue, const struct hk_queue_stats *q,
                          int64_t now_ms) {
  json_object_set_new(queue, "workers", json_integer((json_int_t)q->workers));
  if (q->last_read_ms >= 0) {
    json_object_set_new(
        queue, "last_read_age_s",
        json_integer((json_int_t)(now_ms > q->last_read_ms
                                      ? (now_ms - q->last_read_ms) / 1000
                                      : 0)));
  }
  json_object_set_new(
      queue, "oldest_waiting_s",
      json_integer((json_int_t)(q->oldest_ms >= 0 && now_ms > q->oldest_ms
                                    ? (now_ms - q->oldest_ms) / 1000
                                    : 0)));
}

enum hk_err hk_metrics_gather(struct hk_store *st, const char *const *handoffs,
                              size_t nh, json_t **out, struct hk_error *err) {
  static const char *const keys[] = {"stats", "counts", "intake:counts"};
  static const char *const fields[] = {"stats", "counts", "intake"};
  struct hk_queue_stats q;
  json_t *doc;
  json_t *hashes = NULL;
  json_t *hs;
  enum hk_err rc;

  *out = NULL;
  rc = hk_store_queue_stats(st, &q, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  doc = json_pack("{s:{s:I,s:I,s:I,s:I,s:I}}", "queue", "length",
                  (json_int_t)q.length, "pending", (json_int_t)q.pending, "lag",
                  (json_int_t)q.lag, "processed", (json_int_t)q.processed,
                  "consumers", (json_int_t)q.consumers);
  queue_readers(json_object_get(doc, "queue"), &q, hk_time_now_ms());
  rc = hk_store_hashes(st, keys, 3, &hashes, err);
  for (size_t i = 0; rc == HK_E_OK && i < 3; i++) {
    json_object_set(doc, fields[i], json_array_get(hashes, i));
  }
  json_decref(hashes);
  hs = json_object();
  for (size_t i = 0; rc == HK_E_OK && i < nh; i++) {
    json_t *c = NULL;
    rc = hk_store_counters(st, handoffs[i], &c, err);
    if (rc == HK_E_OK) {
      json_object_set_new(hs, handoffs[i], c);
    }
  }
  json_object_set_new(doc, "handoffs", hs);
  if (rc == HK_E_OK) {
    rc = gather_p90(st, doc, err);
  }
  if (rc == HK_E_OK) {
    *out = doc;
  } else {
    json_decref(doc);
  }
  return rc;
}
