/*
 * api.c -- the status API (/v1): handoff health, KPIs, clocks and one
 * subject's journey, read from what the workers keep in Redis.
 *
 * The KPI documents ({prefix}kpi:…) are computed by one worker every few
 * seconds and served as stored, one GET each, unparsed: reading them costs
 * the same with ten clocks as with a million. /v1/health adds the live
 * queue and Redis's memory (as the guard last read it) to the health
 * document: spliced in as text while both are fine, else parsed. A
 * document no worker has written yet is 503 not_ready, with Retry-After.
 *
 * The clock listings read an index, then the records of one page in one
 * pipeline, and evaluate them now with the pure code of journey/
 * (hk_record_clocks): running clocks (open, at_risk) from the due index
 * {prefix}due:HANDOFF:N, most urgent first, and the others from the state
 * indexes {prefix}cs:HANDOFF:STATE, newest start first. Paging is by key,
 * not offset (query.c has the cursor): a clock that arrives between two
 * pages moves no other clock from one page to the next.
 *
 * A handoff's series is its bucket hashes of the last 30 days, read live
 * and summed per day.
 *
 * A subject's journey is its stage record, its clock record in each
 * handoff, and its journey index ({prefix}journey:SUBJECT, every event the
 * workers journaled for it): one pipeline of HGETs and one ZRANGE.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/fcgi.h"

/* Compiled calendars are immutable (journey/calendar.c): the request
 * threads evaluate clocks side by side, with no lock. */
static void record_clocks(const struct hk_handoff *h, const char *record,
                          int64_t now_ms, struct hk_clocks *out) {
  hk_record_clocks(h, record, now_ms, out);
}

#define NOT_COMPUTED                                                           \
  "handoff health has not been computed yet: no worker has run"
#define QUEUE_STALLED                                                          \
  "deliveries are waiting and no worker is reading the queue"

/* ---------------------------------------------------------------------------
 * Documents
 * ------------------------------------------------------------------------- */

/* GET key (without the prefix) into out as it is; NOT_READY when no
 * worker wrote it yet (what names it in the message). */
static enum hk_err serve_doc(struct hk_store *st, const char *key,
                             const char *what, struct hk_reply *out,
                             struct hk_error *err) {
  char *text = NULL;
  size_t len = 0;
  enum hk_err rc = hk_store_get(st, key, &text, &len, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  if (text == NULL) {
    return hk_fail(err, HK_E_NOT_READY,
                   "No worker has computed %s yet; retry in a few seconds.",
                   what);
  }
  hk_reply_text(out, 200, NULL, text, len);
  return HK_E_OK;
}

/* 1 when cfg's doc has name under section ("handoffs", "stages"). */
static int configured(const struct hk_config *cfg, const char *section,
                      const char *name) {
  return *name != '\0' &&
         json_object_get(json_object_get(cfg->doc, section), name) != NULL;
}

static enum hk_err unknown(enum hk_err code, const char *what, const char *name,
                           struct hk_error *err) {
  /* name is "" when the path's segment could not be a name at all: it is
   * not repeated then. */
  if (*name == '\0') {
    return hk_fail(err, code, "No %s has that name.", what);
  }
  return hk_fail(err, code, "No %s is named \"%s\".", what, name);
}

/* green < amber < red; anything else counts as green. */
static int rank(const char *status) {
  if (status != NULL && strcmp(status, "red") == 0) {
    return 2;
  }
  return status != NULL && strcmp(status, "amber") == 0 ? 1 : 0;
}

/* Seconds since any worker last read, as JSON ("null" when none did). */
static const char *read_age(const struct hk_queue_stats *q, int64_t now_ms,
                            char *buf, size_t cap) {
  if (q->last_read_ms < 0) {
    return "null";
  }
  snprintf(buf, cap, "%lld",
           (long long)(now_ms > q->last_read_ms
                           ? (now_ms - q->last_read_ms) / 1000
                           : 0));
  return buf;
}

/* Adds the workers' figures to the queue member. */
static void queue_readers(json_t *queue, const struct hk_queue_stats *q,
                          int64_t now_ms) {
  char age[24];
  json_object_set_new(queue, "workers", json_integer((json_int_t)q->workers));
  json_object_set_new(
      queue, "last_read_s",
      json_loads(read_age(q, now_ms, age, sizeof age), JSON_DECODE_ANY, NULL));
}

/* doc's status raised to at least worst ("amber", "red") with why joined
 * to its reason (after it when the document is not green already). */
static void health_add(json_t *doc, const char *worst, const char *why) {
  const char *status = json_string_value(json_object_get(doc, "status"));
  const char *reason = json_string_value(json_object_get(doc, "reason"));
  size_t n = (reason != NULL ? strlen(reason) : 0) + strlen(why) + 4;
  char *joined = hk_xmalloc(n);
  if (rank(status) > 0 && reason != NULL && *reason != '\0') {
    snprintf(joined, n, "%s; %s", reason, why);
  } else {
    snprintf(joined, n, "%s", why);
  }
  if (rank(status) < rank(worst)) {
    json_object_set_new(doc, "status", json_string(worst));
  }
  json_object_set_new(doc, "reason", json_string(joined));
  free(joined);
}

/* The "memory" member of /v1/health as text (",\"memory\":{…}"), or ""
 * when mem is unknown. */
static void memory_text(const struct hk_memory *mem, double share, char *buf,
                        size_t cap) {
  if (mem == NULL) {
    snprintf(buf, cap, "%s", "");
    return;
  }
  snprintf(buf, cap,
           ",\"memory\":{\"used_bytes\":%lld,\"max_bytes\":%lld,"
           "\"guard\":%.15g,\"over\":%s}",
           (long long)mem->used, (long long)mem->max, share,
           hk_memory_over(mem, share) ? "true" : "false");
}

/* The queue and memory members as text to splice before the stored
 * document's closing brace (",\"queue\":{…}…}"); returns its length. */
static int queue_text(const struct hk_queue_stats *q, int64_t now_ms,
                      const char *memory, char *buf, size_t cap) {
  char age[24];
  return snprintf(buf, cap,
                  ",\"queue\":{\"length\":%lld,\"pending\":%lld,"
                  "\"lag\":%lld,\"processed\":%lld,\"consumers\":%lld,"
                  "\"workers\":%lld,\"last_read_s\":%s}%s}",
                  (long long)q->length, (long long)q->pending,
                  (long long)q->lag, (long long)q->processed,
                  (long long)q->consumers, (long long)q->workers,
                  read_age(q, now_ms, age, sizeof age), memory);
}

/* The health document, the queue and Redis's memory added: the status the
 * worst of the parts, the reasons of the parts that are not green joined.
 * Deliveries waiting while no worker reads are amber, then red (the
 * workers' heartbeats, hk_queue_stall); Redis over the memory guard is
 * red: deliveries are being refused. */
static enum hk_err health(const struct hk_config *cfg, struct hk_store *st,
                          const struct hk_memory *mem, int64_t now_ms,
                          struct hk_reply *out, struct hk_error *err) {
  struct hk_queue_stats q;
  char *text = NULL;
  size_t len = 0;
  json_t *doc = NULL;
  double share = cfg->redis.memory_guard;
  int stalled;
  int stall;
  char why[160];
  int full = hk_memory_over(mem, share);
  enum hk_err rc = hk_store_get(st, "kpi:health", &text, &len, err);

  if (rc == HK_E_OK) {
    rc = hk_store_queue_stats(st, &q, err);
  }
  if (rc != HK_E_OK) {
    free(text);
    return rc;
  }
  /* Workers that stop cleanly leave the group, and the stream keeps what
   * they processed: what matters is deliveries waiting with nobody to read
   * them (lag, or the whole stream when Redis cannot say). */
  stalled = q.consumers == 0 && (q.lag > 0 || (q.lag < 0 && q.length > 0));
  /* Consumers killed stay in the group: judge from what workers did. */
  stall = hk_queue_stall(&q, now_ms, cfg->stall_amber_ms, cfg->stall_red_ms,
                         why, sizeof why);
  if (text != NULL && !stalled && stall == 0 && !full && len > 2 &&
      text[0] == '{' && text[len - 1] == '}') {
    /* The usual case: the document as stored with the queue spliced in,
     * never parsed, so the answer costs the same however big the
     * document is (a worker wrote it as one compact JSON object). */
    char memory[256];
    char queue[640];
    int qn;
    memory_text(mem, share, memory, sizeof memory);
    qn = queue_text(&q, now_ms, memory, queue, sizeof queue);
    char *body = hk_xmalloc(len - 1 + (size_t)qn + 1);
    memcpy(body, text, len - 1);
    memcpy(body + len - 1, queue, (size_t)qn + 1);
    free(text);
    hk_reply_text(out, 200, NULL, body, len - 1 + (size_t)qn);
    return HK_E_OK;
  }
  if (text != NULL) {
    doc = json_loadb(text, len, 0, NULL);
    free(text);
  }
  if (!json_is_object(doc)) {
    /* Missing, or not a document (never written so by a worker). */
    json_decref(doc);
    doc = json_pack("{s:s,s:n,s:s,s:[],s:[]}", "status", "amber", "computed_at",
                    "reason", NOT_COMPUTED, "handoffs", "stages");
  }
  if (stall > 0) {
    health_add(doc, stall > 1 ? "red" : "amber", why);
  } else if (stalled) {
    health_add(doc, "amber", QUEUE_STALLED);
  }
  if (full) {
    char mwhy[256];
    hk_memory_reason(mem, share, mwhy, sizeof mwhy);
    health_add(doc, "red", mwhy);
  }
  json_object_set_new(doc, "queue",
                      json_pack("{s:I,s:I,s:I,s:I,s:I}", "length",
                                (json_int_t)q.length, "pending",
                                (json_int_t)q.pending, "lag", (json_int_t)q.lag,
                                "processed", (json_int_t)q.processed,
                                "consumers", (json_int_t)q.consumers));
  queue_readers(json_object_get(doc, "queue"), &q, now_ms);
  if (mem != NULL) {
    json_object_set_new(doc, "memory", hk_memory_json(mem, share));
  }
  hk_reply_json(out, 200, doc);
  return HK_E_OK;
}

/* ---------------------------------------------------------------------------
 * Clocks of one handoff
 * ------------------------------------------------------------------------- */

/* The records of subjects[0, n) in handoff's clock hash, one pipeline.
 * records[i] is owned (NULL when none). */
static enum hk_err read_records(struct hk_store *st, const char *handoff,
                                const char *const *subjects, size_t n,
                                char **records, struct hk_error *err) {
  char *key = hk_xprintf("clocks:%s", handoff);
  const char **keys = hk_xcalloc(n + 1, sizeof *keys);
  enum hk_err rc;
  for (size_t i = 0; i < n; i++) {
    keys[i] = key;
  }
  rc = hk_store_cas_get(st, keys, subjects, n, records, err);
  free(keys);
  free(key);
  return rc;
}

/* The running clock of a record (open or at_risk now), or NULL. */
static const struct hk_clock *running(const struct hk_clocks *cs) {
  for (size_t i = cs->n; i > 0; i--) {
    enum hk_clock_state s = cs->items[i - 1].state;
    if (s == HK_CLOCK_OPEN || s == HK_CLOCK_AT_RISK) {
      return &cs->items[i - 1];
    }
  }
  return NULL;
}

/* Index entries past the cursor, as read from the due index. */
struct entries {
  char **members; /* owned */
  int64_t *scores;
  size_t n;
};

static void entries_fini(struct entries *e) {
  for (size_t i = 0; i < e->n; i++) {
    free(e->members[i]);
  }
  free(e->members);
  free(e->scores);
}

/* Reads up to want entries of the due index past q's cursor (its score
 * and member: clocks leased by a worker share a score). */
static enum hk_err due_after(struct hk_store *st, const char *handoff,
                             const struct hk_clocks_query *q, size_t want,
                             struct entries *e, struct hk_error *err) {
  const int64_t *at = q->member != NULL ? &q->score : NULL;
  struct hk_strings m;
  struct hk_strings s;
  enum hk_err rc =
      hk_store_due_page(st, handoff, at, q->member, want, &m, &s, err);
  e->members = hk_xcalloc(want, sizeof *e->members);
  e->scores = hk_xcalloc(want, sizeof *e->scores);
  e->n = 0;
  for (size_t i = 0; rc == HK_E_OK && i < m.n && e->n < want; i++) {
    e->members[e->n] = m.v[i];
    e->scores[e->n] = strtoll(s.v[i], NULL, 10);
    m.v[i] = NULL;
    e->n++;
  }
  hk_strings_fini(&m);
  hk_strings_fini(&s);
  return rc;
}

/*
 * A page is filled by reading the index past the cursor a chunk at a time
 * (limit + 1 entries at first, more when a chunk leaves the page short:
 * below) and keeping the clocks that belong on it, until it holds
 * limit + 1 of them or the index ends: the one past the limit is not
 * listed, it only proves that another page exists. So a page is never
 * empty while a cursor follows it, and a last page that is exactly full
 * carries none. The cursor is the position of the last clock listed.
 * Entries whose record holds no such clock any more (one that changed
 * since its index was read) are skipped, as are open clocks in a listing
 * of at_risk.
 */

#define DUE_CHUNK_MAX 1000

/* Running clocks, from the due index. */
static enum hk_err list_due(struct hk_store *st, const struct hk_handoff *h,
                            const struct hk_clocks_query *q, const char *mount,
                            int64_t now_ms, json_t *list, char **next,
                            struct hk_error *err) {
  struct hk_clocks_query pos = *q; /* where the next chunk starts */
  char *last = NULL;               /* the last member listed (owned) */
  /* A read of the due index past a position reads every bucket, whatever
   * it returns. A chunk that leaves the page short (a listing of at_risk
   * skips the open clocks) makes the next four times larger, up to
   * DUE_CHUNK_MAX: few at risk among many open clocks cost a few reads,
   * not one per page's worth of open clocks. */
  size_t chunk = q->limit + 1;
  int64_t last_score = 0;
  size_t listed = 0;
  int more = 0;
  int exhausted = 0;
  enum hk_err rc = HK_E_OK;

  pos.member = q->member != NULL ? hk_xstrdup(q->member) : NULL;
  while (rc == HK_E_OK && !more && !exhausted) {
    struct entries e = {NULL, NULL, 0};
    char **records = NULL;
    rc = due_after(st, hk_handoff_name(h), &pos, chunk, &e, err);
    if (rc == HK_E_OK) {
      exhausted = e.n < chunk;
      records = hk_xcalloc(e.n + 1, sizeof *records);
      rc = read_records(st, hk_handoff_name(h), (const char *const *)e.members,
                        e.n, records, err);
    }
    for (size_t i = 0; rc == HK_E_OK && i < e.n && !more; i++) {
      struct hk_clocks cs;
      const struct hk_clock *c;
      record_clocks(h, records[i], now_ms, &cs);
      c = running(&cs);
      if (c != NULL && (q->state != HK_CLOCK_AT_RISK || c->state == q->state)) {
        if (listed == q->limit) {
          more = 1;
        } else {
          json_array_append_new(list, hk_clock_json(e.members[i], c, mount));
          free(last);
          last = hk_xstrdup(e.members[i]);
          last_score = e.scores[i];
          listed++;
        }
      }
      hk_clocks_fini(&cs);
    }
    if (rc == HK_E_OK && e.n > 0) {
      free(pos.member);
      pos.member = hk_xstrdup(e.members[e.n - 1]);
      pos.score = e.scores[e.n - 1];
    }
    if (chunk < DUE_CHUNK_MAX) {
      chunk = chunk * 4 < DUE_CHUNK_MAX ? chunk * 4 : DUE_CHUNK_MAX;
    }
    for (size_t i = 0; records != NULL && i < e.n; i++) {
      free(records[i]);
    }
    free(records);
    entries_fini(&e);
  }
  if (rc == HK_E_OK && more) {
    *next = hk_clocks_cursor(q->state, last_score, last);
  }
  free(pos.member);
  free(last);
  return rc;
}

/* Clocks in a state that left the due index, from its state index. */
static enum hk_err list_state(struct hk_store *st, const struct hk_handoff *h,
                              const struct hk_clocks_query *q,
                              const char *mount, int64_t now_ms, json_t *list,
                              char **next, struct hk_error *err) {
  char *key =
      hk_xprintf("cs:%s:%s", hk_handoff_name(h), hk_clock_state_name(q->state));
  char *pos = q->member != NULL ? hk_xstrdup(q->member) : NULL;
  char *last = NULL; /* the last member listed (owned) */
  size_t listed = 0;
  int more = 0;
  int exhausted = 0;
  enum hk_err rc = HK_E_OK;

  while (rc == HK_E_OK && !more && !exhausted) {
    struct hk_strings m = {NULL, 0};
    const char **subjects = NULL;
    int64_t *starts = NULL;
    char **records = NULL;
    rc = hk_store_zrange_lex_rev(st, key, pos, q->limit + 1, &m, err);
    if (rc == HK_E_OK) {
      exhausted = m.n < q->limit + 1;
      subjects = hk_xcalloc(m.n + 1, sizeof *subjects);
      starts = hk_xcalloc(m.n + 1, sizeof *starts);
      records = hk_xcalloc(m.n + 1, sizeof *records);
      for (size_t i = 0; i < m.n; i++) {
        subjects[i] = hk_store_index_subject(m.v[i], &starts[i]);
      }
      rc = read_records(st, hk_handoff_name(h), subjects, m.n, records, err);
    }
    for (size_t i = 0; rc == HK_E_OK && i < m.n && !more; i++) {
      struct hk_clocks cs;
      record_clocks(h, records[i], now_ms, &cs);
      for (size_t j = 0; j < cs.n; j++) {
        if (cs.items[j].started_ms == starts[i]) {
          if (listed == q->limit) {
            more = 1;
          } else {
            json_array_append_new(
                list, hk_clock_json(subjects[i], &cs.items[j], mount));
            free(last);
            last = hk_xstrdup(m.v[i]);
            listed++;
          }
          break;
        }
      }
      hk_clocks_fini(&cs);
    }
    if (rc == HK_E_OK && m.n > 0) {
      free(pos);
      pos = hk_xstrdup(m.v[m.n - 1]);
    }
    for (size_t i = 0; records != NULL && i < m.n; i++) {
      free(records[i]);
    }
    free(records);
    free(starts);
    free(subjects);
    hk_strings_fini(&m);
  }
  if (rc == HK_E_OK && more) {
    *next = hk_clocks_cursor(q->state, 0, last);
  }
  free(pos);
  free(last);
  free(key);
  return rc;
}

static enum hk_err clocks(const struct hk_config *cfg, const struct hk_sla *sla,
                          struct hk_store *st, const char *name,
                          const char *query, int64_t now_ms,
                          struct hk_reply *out, struct hk_error *err) {
  const struct hk_handoff *h =
      configured(cfg, "handoffs", name) ? hk_sla_find(sla, name) : NULL;
  struct hk_clocks_query q;
  json_t *list;
  char *next = NULL;
  enum hk_err rc;

  if (h == NULL) {
    return unknown(HK_E_UNKNOWN_HANDOFF, "handoff", name, err);
  }
  rc = hk_clocks_query_parse(query, &q, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  list = json_array();
  rc = hk_clocks_query_by_due(q.state)
           ? list_due(st, h, &q, hk_config_mount(cfg), now_ms, list, &next, err)
           : list_state(st, h, &q, hk_config_mount(cfg), now_ms, list, &next,
                        err);
  if (rc == HK_E_OK) {
    hk_reply_json(out, 200,
                  json_pack("{s:s,s:s,s:O,s:s?}", "handoff", name, "state",
                            hk_clock_state_name(q.state), "clocks", list,
                            "next_cursor", next));
  }
  json_decref(list);
  free(next);
  hk_clocks_query_fini(&q);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Attainment per day
 * ------------------------------------------------------------------------- */

#define SERIES_DAYS 30
#define DAY_MS 86400000LL

/* Sums the "HH|STATE" fields of one day hash. */
static json_int_t day_sum(json_t *fields, const char *state) {
  json_int_t n = 0;
  const char *f;
  json_t *v;
  json_object_foreach(fields, f, v) {
    const char *bar = strchr(f, '|');
    if (bar != NULL && strcmp(bar + 1, state) == 0) {
      n += json_integer_value(v);
    }
  }
  return n;
}

/* One day of the series from its bucket hash: the clocks started that UTC
 * day, how the judged ones went, and the attainment (null when none was
 * judged). */
static json_t *series_day(int64_t day, json_t *fields) {
  static const char *const states[] = {
      "open", "at_risk", "paused", "met", "met_late", "breached", "cancelled"};
  json_int_t started = 0;
  json_int_t met = day_sum(fields, "met");
  json_int_t late = day_sum(fields, "met_late");
  json_int_t breached = day_sum(fields, "breached");
  json_int_t judged = met + late + breached;
  char date[HK_TIME_TEXT];
  for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
    started += day_sum(fields, states[i]);
  }
  hk_time_format_ms(day * DAY_MS, date);
  date[10] = '\0'; /* YYYY-MM-DD */
  return json_pack(
      "{s:s,s:I,s:I,s:I,s:I,s:o}", "day", date, "started", started, "met", met,
      "met_late", late, "breached", breached, "attainment",
      judged > 0 ? json_real((double)met / (double)judged) : json_null());
}

/* GET /v1/handoffs/{name}/series: attainment per UTC day over the last 30
 * days (today included), from the hourly buckets the workers keep
 * ({prefix}hkpi:HANDOFF:DAY): one pipeline of 30 HGETALLs, read live. */
static enum hk_err series(const struct hk_config *cfg, struct hk_store *st,
                          const char *name, const char *query, int64_t now_ms,
                          struct hk_reply *out, struct hk_error *err) {
  char *keys[SERIES_DAYS];
  int64_t today = now_ms / DAY_MS;
  json_t *hashes = NULL;
  json_t *days;
  enum hk_err rc;
  if (!configured(cfg, "handoffs", name)) {
    return unknown(HK_E_UNKNOWN_HANDOFF, "handoff", name, err);
  }
  if (query != NULL && *query != '\0') {
    return hk_fail(err, HK_E_BAD_QUERY, "This route takes no parameter.");
  }
  for (int i = 0; i < SERIES_DAYS; i++) {
    keys[i] = hk_xprintf("hkpi:%s:%" PRId64, name, today - SERIES_DAYS + 1 + i);
  }
  rc =
      hk_store_hashes(st, (const char *const *)keys, SERIES_DAYS, &hashes, err);
  if (rc == HK_E_OK) {
    days = json_array();
    for (int i = 0; i < SERIES_DAYS; i++) {
      json_array_append_new(days,
                            series_day(today - SERIES_DAYS + 1 + i,
                                       json_array_get(hashes, (size_t)i)));
    }
    hk_reply_json(out, 200,
                  json_pack("{s:s,s:o,s:o}", "handoff", name, "computed_at",
                            hk_time_json(now_ms), "days", days));
  }
  json_decref(hashes);
  for (int i = 0; i < SERIES_DAYS; i++) {
    free(keys[i]);
  }
  return rc;
}

/* ---------------------------------------------------------------------------
 * One subject's journey
 * ------------------------------------------------------------------------- */

/* One item to sort: a stage entry, an event of a record or a clock. */
struct item {
  int64_t at;
  const char *id; /* events: the id; stages: the name; else NULL */
  size_t order;   /* the order it was found in, for a stable sort */
  json_t *doc;    /* borrowed */
  size_t handoff; /* events: the handoff whose record holds it */
};

static int item_cmp(const void *pa, const void *pb) {
  const struct item *a = pa;
  const struct item *b = pb;
  int c;
  if (a->at != b->at) {
    return a->at < b->at ? -1 : 1;
  }
  if (a->id != NULL && b->id != NULL && (c = strcmp(a->id, b->id)) != 0) {
    return c;
  }
  return a->order < b->order ? -1 : a->order > b->order;
}

/* A growable list of items; docs borrowed from `keep` (an array). */
struct items {
  struct item *v;
  size_t n;
  size_t cap;
};

static void items_add(struct items *l, int64_t at, const char *id, json_t *doc,
                      size_t handoff) {
  if (l->n == l->cap) {
    l->cap = l->cap != 0 ? 2 * l->cap : 16;
    l->v = hk_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n].at = at;
  l->v[l->n].id = id;
  l->v[l->n].order = l->n;
  l->v[l->n].doc = doc;
  l->v[l->n].handoff = handoff;
  l->n++;
}

/* The stages the subject entered, by time: from its stage record, decoded
 * by journey/stages.c. */
static json_t *subject_stages(const char *record) {
  struct hk_stage_record rec;
  struct hk_stage_entry *v;
  json_t *out = json_array();
  size_t n;
  hk_stage_record_parse(record, &rec);
  n = hk_stage_record_entries(&rec, &v);
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(out,
                          json_pack("{s:s,s:o}", "stage", v[i].stage,
                                    "entered_at", hk_time_json(v[i].at_ms)));
  }
  free(v);
  hk_stage_record_fini(&rec);
  return out;
}

/* No handoff: an item of the journey index. */
#define FROM_JOURNEY ((size_t)-1)

/*
 * Every journey event of the subject, one per id, by time then id: those
 * of the journey index (journey: history members, hk_history_read; scores: the
 * times) and those the handoffs' clock records keep (records of nh
 * handoffs; the index holds every event journaled since it exists, the
 * records also older ones). Each with its source when the index knows
 * it, the handoffs whose records keep it, and the stages it entered
 * (from the stage record, stage_record). A new array.
 */
static json_t *subject_events(const struct hk_sla *sla, char **records,
                              size_t nh, const struct hk_strings *journey,
                              const struct hk_strings *scores,
                              const char *stage_record) {
  struct items l = {NULL, 0, 0};
  json_t *seen = json_object();
  json_t *docs = json_array(); /* the parsed records the items borrow */
  json_t *events = json_array();
  for (size_t i = 0; i < journey->n; i++) {
    json_t *e = json_loads(journey->v[i], 0, NULL);
    /* [id, type, source] */
    if (json_is_string(json_array_get(e, 0)) &&
        json_is_string(json_array_get(e, 1))) {
      items_add(&l, strtoll(scores->v[i], NULL, 10),
                json_string_value(json_array_get(e, 0)), e, FROM_JOURNEY);
    }
    json_array_append_new(docs, e != NULL ? e : json_null());
  }
  for (size_t i = 0; i < nh; i++) {
    struct hk_clock_record rec;
    size_t k;
    json_t *e;
    hk_record_parse(records[i], &rec);
    json_array_append(docs, rec.events);
    /* [id, type, at, attrs?] */
    json_array_foreach(rec.events, k, e) {
      const char *id = json_string_value(json_array_get(e, 0));
      if (id != NULL && json_is_string(json_array_get(e, 1)) &&
          json_is_integer(json_array_get(e, 2))) {
        items_add(&l, json_integer_value(json_array_get(e, 2)), id, e, i);
      }
    }
    hk_record_fini(&rec);
  }
  if (l.n > 1) {
    qsort(l.v, l.n, sizeof *l.v, item_cmp);
  }
  for (size_t i = 0; i < l.n; i++) {
    json_t *ev = json_object_get(seen, l.v[i].id);
    json_t *hs;
    size_t k;
    json_t *x;
    int listed = 0;
    if (ev == NULL) {
      /* The copy that sorts first stands for the id, as in the clocks. */
      ev = json_pack("{s:s,s:O,s:o,s:[],s:[]}", "id", l.v[i].id, "type",
                     json_array_get(l.v[i].doc, 1), "at",
                     hk_time_json(l.v[i].at), "handoffs", "stages");
      json_array_append_new(events, ev);
      json_object_set(seen, l.v[i].id, ev);
    }
    if (l.v[i].handoff == FROM_JOURNEY) {
      /* The history member's source, through journey's codec (the new
       * members keep it in the id). */
      struct hk_event he;
      char *member = json_dumps(l.v[i].doc, JSON_COMPACT);
      memset(&he, 0, sizeof he);
      if (member != NULL && hk_history_read(member, &he) &&
          he.source[0] != '\0' && json_object_get(ev, "source") == NULL) {
        json_object_set_new(ev, "source", json_string(he.source));
      }
      hk_event_fini(&he);
      free(member);
      continue;
    }
    {
      const char *handoff = hk_handoff_name(hk_sla_at(sla, l.v[i].handoff));
      hs = json_object_get(ev, "handoffs");
      json_array_foreach(hs, k, x) {
        listed |= strcmp(json_string_value(x), handoff) == 0;
      }
      if (!listed) {
        json_array_append_new(hs, json_string(handoff));
      }
    }
  }
  /* Each stage entry names the event that entered it (journey/stages.c
   * owns the record's format). */
  if (stage_record != NULL) {
    struct hk_stage_record rec;
    struct hk_stage_entry *entries = NULL;
    size_t n;
    hk_stage_record_parse(stage_record, &rec);
    n = hk_stage_record_entries(&rec, &entries);
    for (size_t i = 0; i < n; i++) {
      json_t *ev = json_object_get(seen, entries[i].event_id);
      if (ev != NULL) {
        json_array_append_new(json_object_get(ev, "stages"),
                              json_string(entries[i].stage));
      }
    }
    free(entries);
    hk_stage_record_fini(&rec);
  }
  json_decref(seen);
  json_decref(docs);
  free(l.v);
  return events;
}

/* The clocks of the records, by start. */
static json_t *subject_clocks(const struct hk_sla *sla, const char *subject,
                              char **records, size_t nh, int64_t now_ms) {
  struct items l = {NULL, 0, 0};
  json_t *all = json_array();
  json_t *out = json_array();
  for (size_t i = 0; i < nh; i++) {
    const struct hk_handoff *h = hk_sla_at(sla, i);
    struct hk_clocks cs;
    if (records[i] == NULL) {
      continue;
    }
    record_clocks(h, records[i], now_ms, &cs);
    for (size_t j = 0; j < cs.n; j++) {
      json_t *c = hk_clock_json(subject, &cs.items[j], NULL);
      json_object_set_new(c, "handoff", json_string(hk_handoff_name(h)));
      json_array_append_new(all, c);
      items_add(&l, cs.items[j].started_ms, NULL, c, i);
    }
    hk_clocks_fini(&cs);
  }
  if (l.n > 1) {
    qsort(l.v, l.n, sizeof *l.v, item_cmp);
  }
  for (size_t i = 0; i < l.n; i++) {
    json_array_append(out, l.v[i].doc);
  }
  free(l.v);
  json_decref(all);
  return out;
}

static enum hk_err subject(const struct hk_sla *sla, struct hk_store *st,
                           const char *raw, int64_t now_ms,
                           struct hk_reply *out, struct hk_error *err) {
  size_t nh = hk_sla_count(sla);
  char *name = NULL;
  const char **keys = hk_xcalloc(nh + 1, sizeof *keys);
  char **owned = hk_xcalloc(nh + 1, sizeof *owned);
  const char **fields = hk_xcalloc(nh + 1, sizeof *fields);
  char **records = hk_xcalloc(nh + 1, sizeof *records);
  struct hk_strings journey = {NULL, 0};
  struct hk_strings scores = {NULL, 0};
  int found = 0;
  enum hk_err rc = hk_path_unescape(raw, strlen(raw), &name, err);

  if (rc == HK_E_OK) {
    for (size_t i = 0; i < nh; i++) {
      const char *h = hk_handoff_name(hk_sla_at(sla, i));
      size_t n = strlen(h) + 8;
      owned[i] = hk_xmalloc(n);
      snprintf(owned[i], n, "clocks:%s", h);
      keys[i] = owned[i];
      fields[i] = name;
    }
    keys[nh] = "stages";
    fields[nh] = name;
    rc = hk_store_cas_get(st, keys, fields, nh + 1, records, err);
  }
  if (rc == HK_E_OK) {
    rc = hk_store_journey(st, name, &journey, &scores, err);
  }
  for (size_t i = 0; rc == HK_E_OK && i <= nh; i++) {
    found |= records[i] != NULL;
  }
  if (rc == HK_E_OK && !found && journey.n == 0) {
    rc =
        hk_fail(err, HK_E_UNKNOWN_SUBJECT,
                "No event, clock or stage holds the subject \"%.200s\".", name);
  }
  if (rc == HK_E_OK) {
    hk_reply_json(out, 200,
                  json_pack("{s:s,s:o,s:o,s:o}", "subject", name, "stages",
                            subject_stages(records[nh]), "events",
                            subject_events(sla, records, nh, &journey, &scores,
                                           records[nh]),
                            "clocks",
                            subject_clocks(sla, name, records, nh, now_ms)));
  }
  hk_strings_fini(&journey);
  hk_strings_fini(&scores);
  for (size_t i = 0; i <= nh; i++) {
    free(records[i]);
    free(owned[i]);
  }
  free(records);
  free(fields);
  free(owned);
  free(keys);
  free(name);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Forgetting a subject
 * ------------------------------------------------------------------------- */

enum hk_err hk_api_forget(struct hk_store *st, const struct hk_route *route,
                          const char *by, int64_t now_ms, struct hk_reply *out,
                          struct hk_error *err) {
  char *name = NULL;
  char id[HK_STREAM_ID_MAX];
  char *who = hk_xprintf("token:%s", by);
  enum hk_err rc = hk_path_unescape(route->raw, strlen(route->raw), &name, err);
  if (rc == HK_E_OK && name[0] == '\0') {
    rc = hk_fail(err, HK_E_BAD_REQUEST, "The subject is empty.");
  }
  if (rc == HK_E_OK) {
    rc = hk_store_forget_ask(st, name, who, now_ms, id, err);
  }
  if (rc == HK_E_OK) {
    hk_reply_json(out, 202,
                  json_pack("{s:s,s:s}", "request", id, "status", "queued"));
  }
  free(who);
  free(name);
  return rc;
}

/* ---------------------------------------------------------------------------
 * The routes
 * ------------------------------------------------------------------------- */

enum hk_err hk_api_handle(const struct hk_config *cfg, const struct hk_sla *sla,
                          struct hk_store *st, const struct hk_route *route,
                          const struct hk_request *req,
                          const struct hk_memory *mem, int64_t now_ms,
                          struct hk_reply *out, struct hk_error *err) {
  char key[160];
  const char *name = route->param;
  switch (route->id) {
  case HK_ROUTE_HEALTH: return health(cfg, st, mem, now_ms, out, err);
  case HK_ROUTE_HANDOFFS:
    return serve_doc(st, "kpi:handoffs", "the handoff KPIs", out, err);
  case HK_ROUTE_HANDOFF:
    if (!configured(cfg, "handoffs", name)) {
      return unknown(HK_E_UNKNOWN_HANDOFF, "handoff", name, err);
    }
    snprintf(key, sizeof key, "kpi:handoff:%s", name);
    return serve_doc(st, key, "this handoff's KPIs", out, err);
  case HK_ROUTE_GROUPS:
    if (!configured(cfg, "handoffs", name)) {
      return unknown(HK_E_UNKNOWN_HANDOFF, "handoff", name, err);
    }
    if (route->param2[0] == '\0' ||
        json_object_get(
            json_object_get(
                json_object_get(json_object_get(cfg->doc, "handoffs"), name),
                "group_by"),
            route->param2) == NULL) {
      return hk_fail(err, HK_E_NOT_FOUND,
                     "Handoff \"%s\" is not grouped by that dimension: see "
                     "its group_by.",
                     name);
    }
    snprintf(key, sizeof key, "kpi:by:%s:%s", name, route->param2);
    return serve_doc(st, key, "this handoff's figures by that dimension", out,
                     err);
  case HK_ROUTE_CLOCKS:
    return clocks(cfg, sla, st, name, req->query, now_ms, out, err);
  case HK_ROUTE_SERIES:
    return series(cfg, st, name, req->query, now_ms, out, err);
  case HK_ROUTE_STAGES:
    return serve_doc(st, "kpi:stages", "the stage KPIs", out, err);
  case HK_ROUTE_STAGE:
    if (!configured(cfg, "stages", name)) {
      return unknown(HK_E_UNKNOWN_STAGE, "stage", name, err);
    }
    snprintf(key, sizeof key, "kpi:stage:%s", name);
    return serve_doc(st, key, "this stage's KPIs", out, err);
  case HK_ROUTE_SUBJECT: return subject(sla, st, route->raw, now_ms, out, err);
  case HK_ROUTE_FORGET:
  case HK_ROUTE_NONE:
  case HK_ROUTE_HOOK:
  case HK_ROUTE_HEALTHZ:
  case HK_ROUTE_METRICS:
  case HK_ROUTE_ASSET: break;
  }
  return hk_fail(err, HK_E_NOT_FOUND, "%s", hk_err_message(HK_E_NOT_FOUND));
}
