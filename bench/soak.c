/*
 * soak.c -- bench-soak: a year of a mid-market company's journey traffic,
 * queued straight into the intake stream in event-time order, a simulated
 * day at a time, for bench/soak; and the measure of what Redis holds at the
 * end, key family by key family.
 *
 *   bench-soak load HOST PORT DELIVERIES SUBJECTS END_MS SAMPLES_CSV
 *   bench-soak measure HOST PORT
 *
 * load. The traffic is the example config's journey (config/examples/
 * saas.json, source "demo", rule demo-journey): every subject is a company
 * that arrives as a lead, becomes an MQL, and is contacted by an SDR (85%,
 * most within the lead_response SLA), disqualified (10%) or forgotten (5%:
 * its clock stays open); a third of the contacted open a deal, half of the
 * deals are won (a tenth of them without amount or owner: the handoff gap),
 * onboarding kicks off (a fifth after the 48 hours; some put on hold and
 * resumed), the customer subscribes for a year (renews_at), pays twelve
 * monthly invoices, gets the renewal outreach and renews or cancels. Every
 * subject also logs product activity (activity.logged), as many as it
 * takes to make DELIVERIES in all, spread over its life. Arrivals are
 * uniform over the two years before END_MS, so the year that is queued,
 * [END_MS - 365 d, END_MS), is steady traffic: customers won the year
 * before pay their invoices in it. SUBJECTS is the number of subjects with
 * deliveries in that year (the arrivals of the year before that have none
 * there are not counted). Everything is decided by a PRNG seeded per
 * subject: the same arguments queue the same deliveries.
 *
 * After each simulated day's deliveries are queued, it waits until the
 * workers have acknowledged all of them ({prefix}stats processed) and the
 * alert sender has sent (here: dropped) every alert they queued, then
 * appends "day,date,deliveries,used_memory,intake_length,subjects" (the
 * subjects with a history: {prefix}subjects) to SAMPLES_CSV,
 * so every sample is Redis at rest at the end of that day. Every seventh
 * day, and the last, it also appends to SAMPLES_CSV.keys.jsonl the items
 * and bytes of each single key that holds per-subject data (clock records,
 * stage records, indexes) and of the streams (sample_keys). It prints its
 * progress to stderr every few seconds, and at the end one line of JSON:
 * deliveries, subjects, arrivals, journey (the deliveries of the journeys,
 * before activity), first and last event time, seconds.
 *
 * measure. SCANs every key, and per family (the key without the prefix
 * "handoff:" up to its next ':', "journey:company:1" -> "journey") prints
 * keys, items (entries of a stream, fields of a hash, members of a set or
 * zset, elements of a list, 1 for a string) and bytes (MEMORY USAGE …
 * SAMPLES 0), as one JSON object; and "open/hash", the clock records of
 * the open clocks alone (the subjects of the due indexes), copied into
 * hashes of their own to be measured apart from the finished ones.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define MIN_MS 60000LL
#define PIPELINE 1000

/* The journey event types of the example config, and product activity. */
enum type {
  LEAD_CREATED,
  LEAD_MQL,
  LEAD_CONTACTED,
  LEAD_DISQUALIFIED,
  DEAL_CREATED,
  DEAL_QUALIFIED,
  DEAL_WON,
  DEAL_LOST,
  ONB_ON_HOLD,
  ONB_RESUMED,
  ONB_KICKOFF,
  ONB_COMPLETED,
  SUB_CREATED,
  INVOICE_PAID,
  RENEWAL_OUTREACH,
  SUB_RENEWED,
  SUB_CANCELLED,
  ACTIVITY,
  TYPE_COUNT
};

static const char *const type_names[TYPE_COUNT] = {"lead.created",
                                                   "lead.mql",
                                                   "lead.contacted",
                                                   "lead.disqualified",
                                                   "deal.created",
                                                   "deal.qualified",
                                                   "deal.won",
                                                   "deal.lost",
                                                   "onboarding.on_hold",
                                                   "onboarding.resumed",
                                                   "onboarding.kickoff",
                                                   "onboarding.completed",
                                                   "subscription.created",
                                                   "invoice.paid",
                                                   "renewal.outreach",
                                                   "subscription.renewed",
                                                   "subscription.cancelled",
                                                   "activity.logged"};

/* One delivery to queue. */
struct ev {
  int64_t at;        /* event time, ms */
  int64_t renews_at; /* subscription.*: the renewal, ms; else 0 */
  uint32_t subject;
  uint8_t type;
  uint8_t gap; /* the start event lacks an attribute its handoff requires */
};

struct evs {
  struct ev *v;
  size_t n;
  size_t cap;
};

static void push(struct evs *e, int64_t at, uint32_t subject, enum type t,
                 int64_t renews_at, int gap) {
  if (e->n == e->cap) {
    e->cap = e->cap != 0 ? e->cap * 2 : 1 << 20;
    e->v = realloc(e->v, e->cap * sizeof *e->v);
    if (e->v == NULL) {
      fprintf(stderr, "bench-soak: out of memory\n");
      exit(1);
    }
  }
  e->v[e->n].at = at;
  e->v[e->n].renews_at = renews_at;
  e->v[e->n].subject = subject;
  e->v[e->n].type = (uint8_t)t;
  e->v[e->n].gap = (uint8_t)gap;
  e->n++;
}

/* splitmix64: a small PRNG whose whole state is one word. */
static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double unit(uint64_t *s) {
  return (double)(next(s) >> 11) / 9007199254740992.0;
}

/* Uniform in [lo, hi) ms. */
static int64_t between(uint64_t *s, int64_t lo, int64_t hi) {
  return lo + (int64_t)(unit(s) * (double)(hi - lo));
}

/* ---------------------------------------------------------------------------
 * One subject's journey
 * ------------------------------------------------------------------------- */

/* From the won deal on: onboarding, a year's subscription and its
 * invoices, the renewal. */
static void customer(struct evs *e, uint32_t id, uint64_t *s, int64_t won) {
  int64_t kickoff;
  int64_t sub;
  int64_t renews;
  if (unit(s) < 0.05) {
    int64_t hold = won + between(s, HOUR_MS, 24 * HOUR_MS);
    push(e, hold, id, ONB_ON_HOLD, 0, 0);
    push(e, hold + between(s, DAY_MS, 5 * DAY_MS), id, ONB_RESUMED, 0, 0);
    won = hold + 5 * DAY_MS;
  }
  kickoff = won + (unit(s) < 0.8 ? between(s, 2 * HOUR_MS, 40 * HOUR_MS)
                                 : between(s, 48 * HOUR_MS, 96 * HOUR_MS));
  push(e, kickoff, id, ONB_KICKOFF, 0, 0);
  sub = kickoff + between(s, 14 * DAY_MS, 45 * DAY_MS);
  push(e, sub, id, ONB_COMPLETED, 0, 0);
  renews = sub + 365 * DAY_MS;
  push(e, sub, id, SUB_CREATED, renews, 0);
  for (int m = 1; m <= 12; m++) {
    push(e, sub + (int64_t)m * 30 * DAY_MS + between(s, 0, DAY_MS), id,
         INVOICE_PAID, 0, 0);
  }
  if (unit(s) < 0.8) {
    push(e, renews - between(s, 60 * DAY_MS, 150 * DAY_MS), id,
         RENEWAL_OUTREACH, 0, 0);
  }
  if (unit(s) < 0.85) {
    push(e, renews, id, SUB_RENEWED, renews + 365 * DAY_MS, 0);
  } else {
    push(e, renews - between(s, 0, 30 * DAY_MS), id, SUB_CANCELLED, 0, 0);
  }
}

/* Subject id arriving at `arrive`: every event of its life, in any order
 * (the caller sorts). */
static void journey(struct evs *e, uint32_t id, int64_t arrive) {
  uint64_t s = 0x5eedULL ^ ((uint64_t)id * 0x2545F4914F6CDD1DULL);
  int64_t mql = arrive + between(&s, 0, 7 * DAY_MS);
  double fate = unit(&s);
  int64_t contacted;
  int64_t qualified;
  int64_t won;
  push(e, arrive, id, LEAD_CREATED, 0, 0);
  push(e, mql, id, LEAD_MQL, 0, unit(&s) < 0.05);
  if (fate >= 0.85) {
    if (fate < 0.95) {
      push(e, mql + between(&s, HOUR_MS, 3 * DAY_MS), id, LEAD_DISQUALIFIED, 0,
           0);
    }
    return;
  }
  /* Most first touches within the hour; some after the SLA. */
  contacted = mql + (unit(&s) < 0.9 ? between(&s, MIN_MS, 50 * MIN_MS)
                                    : between(&s, HOUR_MS, 2 * DAY_MS));
  push(e, contacted, id, LEAD_CONTACTED, 0, 0);
  if (unit(&s) >= 0.35) {
    return;
  }
  push(e, contacted + between(&s, DAY_MS, 14 * DAY_MS), id, DEAL_CREATED, 0, 0);
  qualified = contacted + between(&s, 15 * DAY_MS, 28 * DAY_MS);
  push(e, qualified, id, DEAL_QUALIFIED, 0, 0);
  won = qualified + between(&s, 7 * DAY_MS, 45 * DAY_MS);
  if (unit(&s) >= 0.5) {
    push(e, won, id, DEAL_LOST, 0, 0);
    return;
  }
  push(e, won, id, DEAL_WON, 0, unit(&s) < 0.1);
  customer(e, id, &s, won);
}

/* ---------------------------------------------------------------------------
 * The year's deliveries
 * ------------------------------------------------------------------------- */

static int by_time(const void *a, const void *b) {
  const struct ev *x = a;
  const struct ev *y = b;
  if (x->at != y->at) {
    return x->at < y->at ? -1 : 1;
  }
  return x->subject < y->subject ? -1 : x->subject > y->subject;
}

/* Generates `arrivals` subjects over [start - 365 d, end) and keeps the
 * events of [start, end). Sets first[], last[] (each arrival's first and
 * last kept event time, 0 when none) when not NULL. Returns the subjects
 * with events kept. */
static size_t year(struct evs *out, size_t arrivals, int64_t start, int64_t end,
                   int64_t *first, int64_t *last) {
  double step = (double)(end - (start - 365 * DAY_MS)) / (double)arrivals;
  struct evs one = {NULL, 0, 0};
  size_t active = 0;
  for (size_t i = 0; i < arrivals; i++) {
    uint64_t s = (uint64_t)i * 0x9E3779B97F4A7C15ULL;
    int64_t arrive =
        start - 365 * DAY_MS + (int64_t)(((double)i + unit(&s)) * step);
    int64_t lo = 0;
    int64_t hi = 0;
    one.n = 0;
    journey(&one, (uint32_t)i, arrive);
    for (size_t k = 0; k < one.n; k++) {
      struct ev *v = &one.v[k];
      if (v->at < start || v->at >= end) {
        continue;
      }
      lo = lo == 0 || v->at < lo ? v->at : lo;
      hi = v->at > hi ? v->at : hi;
      if (out != NULL) {
        push(out, v->at, v->subject, (enum type)v->type, v->renews_at, v->gap);
      }
    }
    active += lo != 0;
    if (first != NULL) {
      first[i] = lo;
      last[i] = hi;
    }
  }
  free(one.v);
  return active;
}

/* Adds `extra` activity events, spread evenly over the active subjects,
 * each at a random time of the subject's life within [start, end). */
static void activity(struct evs *out, size_t arrivals, const int64_t *first,
                     const int64_t *last, size_t active, size_t extra,
                     int64_t end) {
  size_t given = 0;
  size_t seen = 0;
  for (size_t i = 0; i < arrivals && given < extra; i++) {
    uint64_t s = 0xac71ULL ^ ((uint64_t)i * 0xD1B54A32D192ED03ULL);
    size_t mine;
    int64_t hi;
    if (first[i] == 0) {
      continue;
    }
    seen++;
    /* The first `seen` subjects get extra * seen / active in all. */
    mine = extra * seen / active - given;
    hi = last[i] > first[i] ? last[i] : first[i] + DAY_MS;
    hi = hi < end ? hi : end;
    for (size_t k = 0; k < mine; k++) {
      int64_t at = hi > first[i] ? between(&s, first[i], hi) : first[i];
      push(out, at, (uint32_t)i, ACTIVITY, 0, 0);
    }
    given += mine;
  }
}

/* ---------------------------------------------------------------------------
 * Queueing
 * ------------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ms as "2026-03-14T10:00:00.000Z" (len 25) or, with day set, "2026-03-14". */
static void iso(int64_t ms, char *buf, size_t cap, int day) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  if (day) {
    strftime(buf, cap, "%Y-%m-%d", &tm);
  } else {
    char head[32];
    strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", head, (int)(ms % 1000));
  }
}

/* The body a sender posts for v, as the demo-journey rule reads it. */
static void body_of(const struct ev *v, char *buf, size_t cap) {
  static const char *const segments[] = {"enterprise", "strategic", "smb"};
  uint32_t id = v->subject;
  unsigned h = (id * 2654435761u) >> 24; /* 0..255 */
  const char *segment = segments[h < 38 ? 0 : h < 51 ? 1 : 2];
  long long amount = 5000 + (long long)(id * 7919u % 45000u);
  char at[40];
  int n;
  iso(v->at, at, sizeof at, 0);
  n = snprintf(buf, cap,
               "{\"type\":\"%s\",\"timestamp\":\"%s\",\"data\":{\"company_id\":"
               "\"%" PRIu32 "\"",
               type_names[v->type], at, id);
  switch (v->type) {
  case LEAD_CREATED:
  case LEAD_MQL:
  case LEAD_CONTACTED:
  case LEAD_DISQUALIFIED:
    if (!v->gap) {
      n += snprintf(buf + n, cap - (size_t)n,
                    ",\"email\":\"lead%" PRIu32 "@example.com\"", id);
    }
    n += snprintf(buf + n, cap - (size_t)n,
                  ",\"segment\":\"%s\",\"owner\":\"sdr-%u\"", segment, h % 7);
    break;
  case DEAL_CREATED:
  case DEAL_QUALIFIED:
  case DEAL_WON:
  case DEAL_LOST:
    n += snprintf(buf + n, cap - (size_t)n, ",\"segment\":\"%s\"", segment);
    if (!v->gap) {
      n += snprintf(buf + n, cap - (size_t)n,
                    ",\"owner\":\"ae-%u\",\"amount\":%lld,\"currency\":\"EUR\"",
                    h % 11, amount);
    }
    break;
  case SUB_CREATED:
  case SUB_RENEWED:
    n += snprintf(buf + n, cap - (size_t)n,
                  ",\"segment\":\"%s\",\"amount\":%lld,\"currency\":\"EUR\","
                  "\"renews_at\":%" PRId64,
                  segment, amount, v->renews_at);
    break;
  case INVOICE_PAID:
    n += snprintf(buf + n, cap - (size_t)n,
                  ",\"amount\":%lld,\"currency\":\"EUR\"", amount / 12);
    break;
  case ACTIVITY: break;
  default:
    n += snprintf(buf + n, cap - (size_t)n, ",\"owner\":\"csm-%u\"", h % 5);
    break;
  }
  snprintf(buf + n, cap - (size_t)n, "}}");
}

/* A reply that must not be an error; exits on failure. */
static redisReply *must(redisContext *c, redisReply *r, const char *what) {
  if (r == NULL || r->type == REDIS_REPLY_ERROR) {
    fprintf(stderr, "bench-soak: %s: %s\n", what,
            r != NULL ? r->str : c->errstr);
    exit(1);
  }
  return r;
}

/* An integer reply to the command "A B [C]" (no format: plain words). */
static long long int_of(redisContext *c, const char *a, const char *b,
                        const char *k) {
  const char *argv[] = {a, b, k};
  redisReply *r =
      must(c, redisCommandArgv(c, k != NULL ? 3 : 2, argv, NULL), a);
  long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                : 0;
  freeReplyObject(r);
  return v;
}

static long long used_memory(redisContext *c) {
  redisReply *r = must(c, redisCommand(c, "INFO memory"), "INFO");
  const char *p = strstr(r->str, "\nused_memory:");
  long long v = p != NULL ? atoll(p + 13) : -1;
  freeReplyObject(r);
  return v;
}

/* Queues v[0, n) pipelined; ids are soak_ and the index from `from`. */
static void queue(redisContext *c, const struct ev *v, size_t n, size_t from) {
  char body[1024];
  char received[24];
  snprintf(received, sizeof received, "%lld", (long long)time(NULL) * 1000);
  for (size_t done = 0; done < n;) {
    size_t chunk = n - done < PIPELINE ? n - done : PIPELINE;
    for (size_t k = 0; k < chunk; k++) {
      char id[32];
      snprintf(id, sizeof id, "soak_%zu", from + done + k);
      body_of(&v[done + k], body, sizeof body);
      redisAppendCommand(c,
                         "XADD handoff:intake * source demo kind "
                         "standard-webhooks delivery_id %s received_ms %s "
                         "signed_ms 0 headers {} body %s",
                         id, received, body);
    }
    for (size_t k = 0; k < chunk; k++) {
      void *r = NULL;
      if (redisGetReply(c, &r) != REDIS_OK) {
        fprintf(stderr, "bench-soak: %s\n", c->errstr);
        exit(1);
      }
      must(c, r, "XADD");
      freeReplyObject(r);
    }
    done += chunk;
  }
}

/* Waits until left(c, arg), the work not yet done, is 0 or less; exits
 * when it stays the same for two minutes, naming what and who does it. */
static void wait_done(redisContext *c,
                      long long (*left)(redisContext *, long long),
                      long long arg, const char *what, const char *who) {
  struct timespec pause = {0, 20 * 1000000L};
  double since = now_s();
  long long last = LLONG_MIN;
  for (;;) {
    long long n = left(c, arg);
    if (n <= 0) {
      return;
    }
    if (n != last) {
      last = n;
      since = now_s();
    } else if (now_s() - since > 120) {
      fprintf(stderr, "bench-soak: %lld %s for 2 minutes: is the %s running?\n",
              n, what, who);
      exit(1);
    }
    nanosleep(&pause, NULL);
  }
}

/* The deliveries of `want` the workers have not acknowledged yet. */
static long long unprocessed(redisContext *c, long long want) {
  return want - int_of(c, "HGET", "handoff:stats", "processed");
}

/* The alerts the group "notifiers" has not read or not acknowledged yet:
 * -1 while the stream or the group does not exist. */
static long long alerts_unsent(redisContext *c, long long unused) {
  (void)unused;
  long long unsent = -1;
  redisReply *r = redisCommand(c, "XINFO GROUPS handoff:alerts");
  if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
    if (r != NULL) {
      freeReplyObject(r);
    }
    return -1;
  }
  for (size_t g = 0; g < r->elements; g++) {
    redisReply *f = r->element[g];
    long long pending = 0, lag = -1;
    int notifiers = 0;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
      const char *k = f->element[i]->str;
      redisReply *v = f->element[i + 1];
      if (strcmp(k, "name") == 0 && v->str != NULL) {
        notifiers = strcmp(v->str, "notifiers") == 0;
      } else if (strcmp(k, "pending") == 0) {
        pending = v->integer;
      } else if (strcmp(k, "lag") == 0 && v->type == REDIS_REPLY_INTEGER) {
        lag = v->integer;
      }
    }
    if (notifiers) {
      /* An unknown lag (nil, after a trim past the group) counts as
       * not drained until the sender reads on. */
      unsent = lag < 0 ? pending + 1 : pending + lag;
    }
  }
  freeReplyObject(r);
  return unsent;
}

/* The arrivals that give at least `subjects` subjects with events in the
 * year: a pilot run measures the share that do, then the estimate grows
 * by what it falls short until it is enough. */
static size_t arrivals_for(size_t subjects, int64_t start, int64_t end) {
  size_t pilot = subjects < 100000 ? subjects : 100000;
  size_t arrivals = subjects * 2;
  size_t active;
  for (int round = 0; round < 2; round++) {
    active = year(NULL, pilot, start, end, NULL, NULL);
    arrivals = active > 0
                   ? (size_t)((double)subjects * (double)pilot / (double)active)
                   : arrivals;
    pilot = arrivals;
  }
  while ((active = year(NULL, arrivals, start, end, NULL, NULL)) < subjects) {
    arrivals += (subjects - active) * 2 + 1;
  }
  return arrivals;
}

/* Builds the year's deliveries, sorted; *active the subjects. Exits when
 * the journeys alone need more deliveries than asked. */
static void build(struct evs *out, size_t deliveries, size_t subjects,
                  int64_t start, int64_t end, size_t *active, size_t *arrivals,
                  size_t *journeys) {
  int64_t *first;
  int64_t *last;
  *arrivals = arrivals_for(subjects, start, end);
  first = calloc(*arrivals, sizeof *first);
  last = calloc(*arrivals, sizeof *last);
  if (first == NULL || last == NULL) {
    fprintf(stderr, "bench-soak: out of memory\n");
    exit(1);
  }
  *active = year(out, *arrivals, start, end, first, last);
  if (out->n > deliveries) {
    fprintf(stderr,
            "bench-soak: %zu subjects' journeys make %zu deliveries in the "
            "year: ask for at least that many (SOAK_DELIVERIES), or fewer "
            "subjects\n",
            *active, out->n);
    exit(2);
  }
  *journeys = out->n;
  activity(out, *arrivals, first, last, *active, deliveries - out->n, end);
  if (out->n > 0) {
    qsort(out->v, out->n, sizeof *out->v, by_time);
  }
  free(first);
  free(last);
}

static const char *count_cmd(const char *type);

/* The single keys that hold per-subject data (one hash or sorted set for
 * all subjects: records, indexes) and the streams, with their items and
 * bytes, as one line of JSON: what grows, and what does not, through the
 * year. The histories (one key per subject) are what used_memory holds
 * besides. */
static void sample_keys(redisContext *c, FILE *out, const char *date,
                        long long used) {
  redisReply *keys = must(c, redisCommand(c, "KEYS handoff:[cdsaie]*"), "KEYS");
  int first = 1;
  fprintf(out, "{\"date\": \"%s\", \"used_memory\": %lld, \"keys\": {", date,
          used);
  for (size_t i = 0; i < keys->elements; i++) {
    const char *k = keys->element[i]->str;
    redisReply *t, *m;
    const char *cmd;
    if (strncmp(k, "handoff:clocks:", 15) != 0 &&
        strncmp(k, "handoff:due:", 12) != 0 &&
        strncmp(k, "handoff:cs:", 11) != 0 &&
        strcmp(k, "handoff:stages") != 0 &&
        strcmp(k, "handoff:subjects") != 0 &&
        strcmp(k, "handoff:alerts") != 0 && strcmp(k, "handoff:intake") != 0 &&
        strcmp(k, "handoff:events") != 0) {
      continue;
    }
    t = must(c, redisCommand(c, "TYPE %s", k), "TYPE");
    cmd = count_cmd(t->str);
    m = must(c, redisCommand(c, "MEMORY USAGE %s SAMPLES 0", k), "MEMORY");
    fprintf(out, "%s\"%s\": [%lld, %lld]", first ? "" : ", ", k + 8,
            cmd != NULL ? int_of(c, cmd, k, NULL) : 0,
            m->type == REDIS_REPLY_INTEGER ? m->integer : 0);
    first = 0;
    freeReplyObject(t);
    freeReplyObject(m);
  }
  fprintf(out, "}}\n");
  fflush(out);
  freeReplyObject(keys);
}

static int load(redisContext *c, size_t deliveries, size_t subjects,
                int64_t end, const char *csv) {
  int64_t start = end - 365 * DAY_MS;
  struct evs e = {NULL, 0, 0};
  size_t active = 0;
  size_t arrivals = 0;
  size_t journeys = 0;
  size_t done = 0;
  double t0 = now_s();
  double shown = t0;
  FILE *f = fopen(csv, "w");
  char keys_path[4096];
  FILE *kf;
  snprintf(keys_path, sizeof keys_path, "%s.keys.jsonl", csv);
  kf = fopen(keys_path, "w");
  if (f == NULL || kf == NULL) {
    fprintf(stderr, "bench-soak: cannot write %s\n", csv);
    return 1;
  }
  build(&e, deliveries, subjects, start, end, &active, &arrivals, &journeys);
  fprintf(stderr,
          "bench-soak: %zu deliveries over %zu subjects (%zu arrivals)"
          ", a simulated day at a time\n",
          e.n, active, arrivals);
  fprintf(f, "day,date,deliveries,used_memory,intake_length,subjects\n");
  for (int day = 0; day < 365; day++) {
    int64_t until = start + (day + 1) * DAY_MS;
    size_t n = 0;
    char date[16];
    long long used;
    while (done + n < e.n && e.v[done + n].at < until) {
      n++;
    }
    queue(c, e.v + done, n, done);
    done += n;
    wait_done(c, unprocessed, (long long)done, "deliveries unprocessed",
              "worker");
    /* A year in minutes makes alerts faster than one sender sends them
     * in real time: a backlog of unsent alerts would show in the curve as
     * growth that production, at real speed, never has. */
    wait_done(c, alerts_unsent, 0, "alerts unsent", "alert sender");
    used = used_memory(c);
    iso(until - 1, date, sizeof date, 1);
    fprintf(f, "%d,%s,%zu,%lld,%lld,%lld\n", day + 1, date, done, used,
            int_of(c, "XLEN", "handoff:intake", NULL),
            int_of(c, "ZCARD", "handoff:subjects", NULL));
    fflush(f);
    if (day % 7 == 0 || day == 364) {
      sample_keys(c, kf, date, used);
    }
    if (now_s() - shown >= 3 || day == 364) {
      shown = now_s();
      fprintf(stderr,
              "bench-soak: simulated %s (day %d of 365): %zu of %zu "
              "deliveries processed, used_memory %.1f MB, %.0f/s\n",
              date, day + 1, done, e.n, (double)used / 1e6,
              (double)done / (shown - t0));
    }
  }
  fclose(f);
  fclose(kf);
  printf("{\"deliveries\": %zu, \"subjects\": %zu, \"arrivals\": %zu, "
         "\"journey\": %zu, \"first_ms\": %" PRId64 ", \"last_ms\": %" PRId64
         ", \"seconds\": %.1f}\n",
         e.n, active, arrivals, journeys, e.n > 0 ? e.v[0].at : 0,
         e.n > 0 ? e.v[e.n - 1].at : 0, now_s() - t0);
  free(e.v);
  return 0;
}

/* ---------------------------------------------------------------------------
 * Measuring
 * ------------------------------------------------------------------------- */

struct family {
  char name[64]; /* "journey/zset" */
  long long keys, items, bytes;
};

static struct family *family_of(struct family *fs, size_t *n, const char *key,
                                const char *type) {
  const char *rest = strncmp(key, "handoff:", 8) == 0 ? key + 8 : key;
  size_t len = strcspn(rest, ":");
  size_t klen = strlen(rest);
  char name[64];
  snprintf(name, sizeof name, "%.*s/%s", (int)(len < 40 ? len : 40), rest,
           type);
  /* A due index's list of buckets (due:HANDOFF:next): its members are
   * buckets, not clocks, so it is a family of its own. */
  if (strncmp(rest, "due:", 4) == 0 && klen > 5 &&
      strcmp(rest + klen - 5, ":next") == 0) {
    snprintf(name, sizeof name, "due-next/%s", type);
  }
  for (size_t i = 0; i < *n; i++) {
    if (strcmp(fs[i].name, name) == 0) {
      return &fs[i];
    }
  }
  if (*n == 256) {
    return &fs[255];
  }
  memset(&fs[*n], 0, sizeof fs[*n]);
  memcpy(fs[*n].name, name, sizeof name);
  return &fs[(*n)++];
}

static const char *count_cmd(const char *type) {
  if (strcmp(type, "stream") == 0) {
    return "XLEN";
  }
  if (strcmp(type, "hash") == 0) {
    return "HLEN";
  }
  if (strcmp(type, "zset") == 0) {
    return "ZCARD";
  }
  if (strcmp(type, "set") == 0) {
    return "SCARD";
  }
  return strcmp(type, "list") == 0 ? "LLEN" : NULL;
}

/* One page of SCAN: type, bytes and items of each key, into fs. */
static void measure_page(redisContext *c, const redisReply *keys,
                         struct family *fs, size_t *nf) {
  size_t n = keys->elements;
  char(*types)[16] = calloc(n + 1, sizeof *types);
  long long *bytes = calloc(n + 1, sizeof *bytes);
  for (size_t i = 0; i < n; i++) {
    redisAppendCommand(c, "TYPE %s", keys->element[i]->str);
    redisAppendCommand(c, "MEMORY USAGE %s SAMPLES 0", keys->element[i]->str);
  }
  for (size_t i = 0; i < n; i++) {
    redisReply *t = NULL;
    redisReply *m = NULL;
    if (redisGetReply(c, (void **)&t) != REDIS_OK ||
        redisGetReply(c, (void **)&m) != REDIS_OK) {
      fprintf(stderr, "bench-soak: %s\n", c->errstr);
      exit(1);
    }
    snprintf(types[i], sizeof types[i], "%s",
             t->type == REDIS_REPLY_STATUS ? t->str : "none");
    bytes[i] = m->type == REDIS_REPLY_INTEGER ? m->integer : 0;
    freeReplyObject(t);
    freeReplyObject(m);
  }
  for (size_t i = 0; i < n; i++) {
    const char *cmd = count_cmd(types[i]);
    redisAppendCommand(c, "%s %s", cmd != NULL ? cmd : "EXISTS",
                       keys->element[i]->str);
  }
  for (size_t i = 0; i < n; i++) {
    redisReply *r = NULL;
    struct family *f;
    if (redisGetReply(c, (void **)&r) != REDIS_OK) {
      fprintf(stderr, "bench-soak: %s\n", c->errstr);
      exit(1);
    }
    f = family_of(fs, nf, keys->element[i]->str, types[i]);
    f->keys++;
    f->bytes += bytes[i];
    f->items += r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
  }
  free(types);
  free(bytes);
}

/* The clock records of the open clocks only (the subjects of due:HANDOFF:N,
 * their field of clocks:HANDOFF), copied into a hash of their own and
 * measured there, then deleted: the family "open/hash". clocks:HANDOFF
 * holds finished clocks' records too, with more events each. */
static void measure_open(redisContext *c, struct family *fs, size_t *nf) {
  const char *handoffs[] = {"lead_response", "onboarding_kickoff",
                            "renewal_outreach"};
  struct family *f = family_of(fs, nf, "handoff:open", "hash");
  for (size_t h = 0; h < sizeof handoffs / sizeof *handoffs; h++) {
    char due[64], clocks[64], copy[64];
    redisReply *m;
    snprintf(due, sizeof due, "handoff:due:%s:next", handoffs[h]);
    snprintf(clocks, sizeof clocks, "handoff:clocks:%s", handoffs[h]);
    snprintf(copy, sizeof copy, "handoff:open:%s", handoffs[h]);
    /* Every entry of every bucket of the due index. */
    m = must(c,
             redisCommand(c, "EVAL %s 1 %s",
                          "local out = {} "
                          "local base = string.sub(KEYS[1], 1, -5) "
                          "for _, b in ipairs(redis.call('ZRANGE', KEYS[1], "
                          "0, -1)) do for _, x in ipairs(redis.call("
                          "'ZRANGE', base .. b, 0, -1)) do "
                          "table.insert(out, x) end end return out",
                          due),
             "EVAL");
    for (size_t i = 0; i < m->elements; i++) {
      redisAppendCommand(c, "HGET %s %s", clocks, m->element[i]->str);
    }
    for (size_t i = 0; i < m->elements; i++) {
      redisReply *v = NULL;
      if (redisGetReply(c, (void **)&v) != REDIS_OK) {
        fprintf(stderr, "bench-soak: %s\n", c->errstr);
        exit(1);
      }
      if (v->type == REDIS_REPLY_STRING) {
        freeReplyObject(
            must(c,
                 redisCommand(c, "HSET %s %s %b", copy, m->element[i]->str,
                              v->str, (size_t)v->len),
                 "HSET"));
        f->items++;
      }
      freeReplyObject(v);
    }
    freeReplyObject(m);
    f->keys++;
    m = must(c, redisCommand(c, "MEMORY USAGE %s SAMPLES 0", copy), "MEMORY");
    f->bytes += m->type == REDIS_REPLY_INTEGER ? m->integer : 0;
    freeReplyObject(m);
    freeReplyObject(must(c, redisCommand(c, "DEL %s", copy), "DEL"));
  }
}

static int measure(redisContext *c) {
  struct family *fs = calloc(256, sizeof *fs);
  size_t nf = 0;
  char cursor[32] = "0";
  do {
    redisReply *r =
        must(c, redisCommand(c, "SCAN %s COUNT 1000", cursor), "SCAN");
    snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
    measure_page(c, r->element[1], fs, &nf);
    freeReplyObject(r);
  } while (strcmp(cursor, "0") != 0);
  measure_open(c, fs, &nf);
  printf("{");
  for (size_t i = 0; i < nf; i++) {
    printf("%s\"%s\": {\"keys\": %lld, \"items\": %lld, \"bytes\": %lld}",
           i > 0 ? ", " : "", fs[i].name, fs[i].keys, fs[i].items, fs[i].bytes);
  }
  printf("}\n");
  free(fs);
  return 0;
}

int main(int argc, char **argv) {
  redisContext *c;
  int rc;
  if (argc < 4 || (strcmp(argv[1], "load") == 0 && argc != 8) ||
      (strcmp(argv[1], "load") != 0 && strcmp(argv[1], "measure") != 0)) {
    fprintf(stderr,
            "usage: bench-soak load HOST PORT DELIVERIES SUBJECTS END_MS "
            "SAMPLES_CSV\n       bench-soak measure HOST PORT\n");
    return 2;
  }
  c = redisConnect(argv[2], atoi(argv[3]));
  if (c == NULL || c->err) {
    fprintf(stderr, "bench-soak: cannot connect to redis\n");
    return 1;
  }
  if (strcmp(argv[1], "measure") == 0) {
    rc = measure(c);
  } else if (atoll(argv[4]) <= 0 || atoll(argv[5]) <= 0) {
    fprintf(stderr, "bench-soak: DELIVERIES and SUBJECTS must be positive\n");
    rc = 2;
  } else {
    rc = load(c, (size_t)atoll(argv[4]), (size_t)atoll(argv[5]),
              (int64_t)atoll(argv[6]), argv[7]);
  }
  redisFree(c);
  return rc;
}
