/*
 * test_clock.c -- the SLA clocks (clock.c): the compiled handoffs of a
 * config, and every state a clock reaches from hand-made events: met, met
 * late, breached and at risk as of now, open, paused, cancelled; goals by
 * segment; deadline SLAs from a timestamp attribute; pauses; the handoff
 * gap (`requires`); going round the journey again; and the rules that must
 * hold: duplicates count once and every order of the same events gives the
 * same clocks.
 *
 * Every handoff here counts calendar time (no `calendar` key): business
 * time is calendar.c's to test. Expected instants are written out by hand
 * from T0, never computed by the code under test.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "journey/journey.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2026-01-01T00:00:00Z */
#define T0 1767225600000LL

/* Three handoffs, deliberately not in alphabetical order, to check that
 * hk_sla_at follows the document. `lead` leaves warn_at to its default,
 * 0.8. */
#define CONFIG                                                                 \
  "{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\","                 \
  "  \"secret\": {\"env\": \"S\"}}},"                                          \
  "\"stages\": {"                                                              \
  "  \"mql\": {\"owner\": \"Marketing\", \"entered_on\": [\"lead.mql\"]},"     \
  "  \"sql\": {\"owner\": \"SDR\", \"entered_on\": [\"lead.contacted\"]},"     \
  "  \"customer\": {\"owner\": \"CS\", \"entered_on\": [\"sub.created\"]},"    \
  "  \"renewal\": {\"owner\": \"AM\", \"entered_on\": [\"renewal.call\"]}},"   \
  "\"handoffs\": {"                                                            \
  "  \"lead\": {\"owner\": \"SDR team\", \"from\": \"mql\", \"to\": \"sql\","  \
  "    \"start\": [\"lead.mql\", \"lead.reopened\"],"                          \
  "    \"stop\": [\"lead.contacted\"],"                                        \
  "    \"cancel\": [\"lead.disqualified\"],"                                   \
  "    \"pause\": [\"lead.hold\"], \"resume\": [\"lead.unhold\"],"             \
  "    \"sla\": {\"within\": \"1h\"},"                                         \
  "    \"goals\": ["                                                           \
  "      {\"when\": {\"segment\": \"enterprise\"}, \"within\": \"5m\"},"       \
  "      {\"when\": {\"segment\": [\"smb\", \"mid\"], \"tier\": 2},"           \
  "       \"within\": \"30m\"},"                                               \
  "      {\"when\": {\"segment\": [\"smb\", \"mid\"]}, \"within\": \"45m\"}]," \
  "    \"requires\": [\"email\", \"segment\"]},"                               \
  "  \"renewal\": {\"owner\": \"Account management\","                         \
  "    \"from\": \"customer\", \"to\": \"renewal\","                           \
  "    \"start\": [\"sub.created\"], \"stop\": [\"renewal.call\"],"            \
  "    \"pause\": [\"sub.paused\"], \"resume\": [\"sub.unpaused\"],"           \
  "    \"sla\": {\"deadline\": {\"attr\": \"renews_at\","                      \
  "      \"offset\": \"-90d\"}},"                                              \
  "    \"goals\": [{\"when\": {\"segment\": [\"enterprise\", \"strategic\"]}," \
  "      \"offset\": \"-120d\"}],"                                             \
  "    \"warn_at\": 0.75},"                                                    \
  "  \"audit\": {\"owner\": \"RevOps\","                                       \
  "    \"from\": \"customer\", \"to\": \"renewal\","                           \
  "    \"start\": [\"sub.created\"], \"stop\": [\"renewal.call\"],"            \
  "    \"sla\": {\"deadline\": {\"attr\": \"renews_at\"}},"                    \
  "    \"requires\": [\"renews_at\", \"plan\"]}}}"

/* The handoffs of CONFIG. The config is freed at once: hk_sla borrows
 * nothing from it. */
static struct hk_sla *sla_new(void) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_sla *sla;
  enum hk_err rc = hk_config_parse(CONFIG, strlen(CONFIG), "test.json",
                                   HK_CONFIG_NO_SECRETS, &cfg, &diag);
  cr_assert_eq(rc, HK_E_OK, "config: %s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  sla = hk_sla_new(cfg, &err);
  cr_assert_not_null(sla, "hk_sla_new: %s", err.msg);
  hk_config_free(cfg);
  return sla;
}

/* ---------------------------------------------------------------------------
 * Hand-made events
 * ------------------------------------------------------------------------- */

#define MAX_EVENTS 16

struct events {
  struct hk_clock_event e[MAX_EVENTS];
  json_t *attrs[MAX_EVENTS];
  size_t n;
};

/* Adds an event; attrs is JSON text or NULL. */
static void add(struct events *evs, const char *id, const char *type,
                int64_t at_ms, const char *attrs) {
  json_error_t jerr;
  size_t i = evs->n++;
  cr_assert_lt(i, MAX_EVENTS);
  evs->attrs[i] = attrs != NULL ? json_loads(attrs, 0, &jerr) : NULL;
  cr_assert(attrs == NULL || evs->attrs[i] != NULL, "bad attrs %s", attrs);
  evs->e[i].id = id;
  evs->e[i].type = type;
  evs->e[i].at_ms = at_ms;
  evs->e[i].attrs = evs->attrs[i];
}

static void events_fini(struct events *evs) {
  size_t i;
  for (i = 0; i < evs->n; i++) {
    json_decref(evs->attrs[i]);
  }
  evs->n = 0;
}

/* Evaluates the named handoff of CONFIG over evs as of now. */
static void eval(const char *handoff, const struct events *evs, int64_t now,
                 struct hk_clocks *out) {
  struct hk_sla *sla = sla_new();
  const struct hk_handoff *h = hk_sla_find(sla, handoff);
  cr_assert_not_null(h, "no handoff %s", handoff);
  hk_clock_eval(h, evs->e, evs->n, now, out);
  hk_sla_free(sla);
}

/* The instants of one clock, checked together. */
struct when {
  int64_t started, deadline, warn, stopped, elapsed;
};

static void expect_when(const struct hk_clock *c, struct when w) {
  cr_expect_eq(c->started_ms, w.started, "started %lld, want %lld",
               (long long)c->started_ms, (long long)w.started);
  cr_expect_eq(c->deadline_ms, w.deadline, "deadline %lld, want %lld",
               (long long)c->deadline_ms, (long long)w.deadline);
  cr_expect_eq(c->warn_ms, w.warn, "warn %lld, want %lld",
               (long long)c->warn_ms, (long long)w.warn);
  cr_expect_eq(c->stopped_ms, w.stopped, "stopped %lld, want %lld",
               (long long)c->stopped_ms, (long long)w.stopped);
  cr_expect_eq(c->elapsed_ms, w.elapsed, "elapsed %lld, want %lld",
               (long long)c->elapsed_ms, (long long)w.elapsed);
}

static void expect_state(const struct hk_clock *c, enum hk_clock_state s) {
  cr_expect_eq(c->state, s, "state %s, want %s", hk_clock_state_name(c->state),
               hk_clock_state_name(s));
}

/* missing must equal the JSON array text want. */
static void expect_missing(const struct hk_clock *c, const char *want) {
  json_t *w = json_loads(want, 0, NULL);
  char *got = json_dumps(c->missing, JSON_COMPACT);
  cr_expect(json_equal(c->missing, w), "missing %s, want %s", got, want);
  free(got);
  json_decref(w);
}

/* A complete lead that matches no goal. */
#define PLAIN "{\"email\": \"ana@example.com\", \"segment\": \"partner\"}"

/* ---------------------------------------------------------------------------
 * The states
 * ------------------------------------------------------------------------- */

Test(clock, met_when_stopped_before_the_deadline) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "c1", "lead.contacted", T0 + 30 * MIN, NULL);
  eval("lead", &evs, T0 + 2 * HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_when(&out.items[0], (struct when){T0, T0 + HOUR, T0 + 48 * MIN,
                                           T0 + 30 * MIN, 30 * MIN});
  cr_expect_eq(out.items[0].goal, -1);
  cr_expect_eq(out.items[0].ever_breached, 0);
  cr_expect_str_eq(out.items[0].start_id, "m1");
  cr_expect_str_eq(out.items[0].stop_id, "c1");
  cr_expect_str_eq(out.items[0].owner, "SDR team");
  expect_missing(&out.items[0], "[]");
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, met_at_the_deadline_itself) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "c1", "lead.contacted", T0 + HOUR, NULL);
  eval("lead", &evs, T0 + 2 * HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET);
  cr_expect_eq(out.items[0].ever_breached, 0);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, met_late_when_stopped_after_the_deadline) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "c1", "lead.contacted", T0 + HOUR + 1, NULL);
  eval("lead", &evs, T0 + 2 * HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET_LATE);
  cr_expect_eq(out.items[0].ever_breached, 1);
  expect_when(&out.items[0], (struct when){T0, T0 + HOUR, T0 + 48 * MIN,
                                           T0 + HOUR + 1, HOUR + 1});
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, breached_once_now_reaches_the_deadline) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  eval("lead", &evs, T0 + HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_BREACHED);
  cr_expect_eq(out.items[0].ever_breached, 1);
  expect_when(&out.items[0],
              (struct when){T0, T0 + HOUR, T0 + 48 * MIN, 0, HOUR});
  cr_expect_null(out.items[0].stop_id);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, at_risk_once_now_reaches_warn_at) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  eval("lead", &evs, T0 + 48 * MIN, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_AT_RISK);
  cr_expect_eq(out.items[0].ever_breached, 0);
  cr_expect_eq(out.items[0].elapsed_ms, 48 * MIN);
  hk_clocks_fini(&out);
  eval("lead", &evs, T0 + 48 * MIN - 1, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, open_before_warn_at) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  eval("lead", &evs, T0 + 10 * MIN, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_when(&out.items[0],
              (struct when){T0, T0 + HOUR, T0 + 48 * MIN, 0, 10 * MIN});
  cr_expect_null(out.items[0].stop_id);
  cr_expect_eq(out.items[0].ever_breached, 0);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, cancelled_by_a_cancel_event) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "d1", "lead.disqualified", T0 + 20 * MIN, NULL);
  eval("lead", &evs, T0 + 3 * HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_CANCELLED);
  expect_when(&out.items[0], (struct when){T0, T0 + HOUR, T0 + 48 * MIN,
                                           T0 + 20 * MIN, 20 * MIN});
  cr_expect_str_eq(out.items[0].stop_id, "d1");
  cr_expect_eq(out.items[0].ever_breached, 0);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, no_events_no_clocks) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "c1", "lead.contacted", T0, NULL);
  add(&evs, "x1", "lead.something_else", T0 + MIN, PLAIN);
  eval("lead", &evs, T0 + HOUR, &out);
  cr_expect_eq(out.n, 0);
  hk_clocks_fini(&out);
  eval("lead", &(struct events){0}, T0, &out);
  cr_expect_eq(out.n, 0);
  cr_expect_null(out.items);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock_state, names) {
  cr_expect_str_eq(hk_clock_state_name(HK_CLOCK_OPEN), "open");
  cr_expect_str_eq(hk_clock_state_name(HK_CLOCK_AT_RISK), "at_risk");
  cr_expect_str_eq(hk_clock_state_name(HK_CLOCK_PAUSED), "paused");
  cr_expect_str_eq(hk_clock_state_name(HK_CLOCK_MET), "met");
  cr_expect_str_eq(hk_clock_state_name(HK_CLOCK_BREACHED), "breached");
  cr_expect_str_eq(hk_clock_state_name(HK_CLOCK_MET_LATE), "met_late");
  cr_expect_str_eq(hk_clock_state_name(HK_CLOCK_CANCELLED), "cancelled");
}

/* ---------------------------------------------------------------------------
 * Event time, idempotence, order independence
 * ------------------------------------------------------------------------- */

Test(clock, stop_before_start_in_event_time_is_ignored) {
  struct events evs = {0};
  struct hk_clocks out;
  /* Arrives after the start, but happened before it. */
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "c1", "lead.contacted", T0 - 5 * MIN, NULL);
  eval("lead", &evs, T0 + 10 * MIN, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  cr_expect_null(out.items[0].stop_id);
  cr_expect_eq(out.items[0].stopped_ms, 0);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, events_after_now_still_apply) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0 + HOUR, PLAIN);
  eval("lead", &evs, T0, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_when(&out.items[0], (struct when){T0 + HOUR, T0 + 2 * HOUR,
                                           T0 + HOUR + 48 * MIN, 0, 0});
  hk_clocks_fini(&out);
  add(&evs, "c1", "lead.contacted", T0 + HOUR + 5 * MIN, NULL);
  eval("lead", &evs, T0, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET);
  cr_expect_eq(out.items[0].elapsed_ms, 5 * MIN);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, same_instant_start_then_stop_is_met) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "c1", "lead.contacted", T0, NULL);
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  eval("lead", &evs, T0 + HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET);
  cr_expect_eq(out.items[0].elapsed_ms, 0);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, same_instant_stop_beats_cancel) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "a-cancel", "lead.disqualified", T0 + 10 * MIN, NULL);
  add(&evs, "z-stop", "lead.contacted", T0 + 10 * MIN, NULL);
  eval("lead", &evs, T0 + HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET);
  cr_expect_str_eq(out.items[0].stop_id, "z-stop");
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, duplicates_count_once) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "c1", "lead.contacted", T0 + 30 * MIN, NULL);
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "c1", "lead.contacted", T0 + 30 * MIN, NULL);
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "c1", "lead.contacted", T0 + 30 * MIN, NULL);
  eval("lead", &evs, T0 + 2 * HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_when(&out.items[0], (struct when){T0, T0 + HOUR, T0 + 48 * MIN,
                                           T0 + 30 * MIN, 30 * MIN});
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, a_copy_with_another_time_keeps_the_earliest) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0 + 5 * MIN, PLAIN);
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  eval("lead", &evs, T0 + 10 * MIN, &out);
  cr_assert_eq(out.n, 1);
  cr_expect_eq(out.items[0].started_ms, T0);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, a_start_while_open_belongs_to_the_clock) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "m2", "lead.reopened", T0 + 10 * MIN,
      "{\"segment\": \"enterprise\"}");
  add(&evs, "c1", "lead.contacted", T0 + 20 * MIN, NULL);
  eval("lead", &evs, T0 + HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET);
  cr_expect_str_eq(out.items[0].start_id, "m1");
  cr_expect_eq(out.items[0].goal, -1);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

static int same_clock(const struct hk_clock *a, const struct hk_clock *b) {
  return a->state == b->state && a->started_ms == b->started_ms &&
         a->deadline_ms == b->deadline_ms && a->warn_ms == b->warn_ms &&
         a->stopped_ms == b->stopped_ms && a->elapsed_ms == b->elapsed_ms &&
         a->goal == b->goal && a->ever_breached == b->ever_breached &&
         json_equal(a->missing, b->missing) &&
         strcmp(a->start_id, b->start_id) == 0 &&
         (a->stop_id == NULL) == (b->stop_id == NULL) &&
         (a->stop_id == NULL || strcmp(a->stop_id, b->stop_id) == 0) &&
         strcmp(a->owner, b->owner) == 0;
}

/* The events of every_order_gives_the_same_clocks. */
#define ORDERED 8

/* The next permutation of p in lexicographic order; 0 after the last. */
static int next_permutation(size_t p[ORDERED]) {
  size_t i = ORDERED - 1;
  size_t j = ORDERED - 1;
  size_t t;
  while (i > 0 && p[i - 1] >= p[i]) {
    i--;
  }
  if (i == 0) {
    return 0;
  }
  while (p[j] <= p[i - 1]) {
    j--;
  }
  t = p[i - 1];
  p[i - 1] = p[j];
  p[j] = t;
  for (j = ORDERED - 1; i < j; i++, j--) {
    t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return 1;
}

Test(clock, every_order_gives_the_same_clocks) {
  struct events evs = {0};
  struct hk_clock_event shuffled[ORDERED];
  struct hk_clocks first;
  struct hk_clocks out;
  struct hk_sla *sla = sla_new();
  const struct hk_handoff *h = hk_sla_find(sla, "lead");
  size_t p[ORDERED];
  size_t i;
  size_t orders = 0;

  /* Two rounds: paused and met, then cancelled; a retried start and a
   * second start on the stop's instant, both part of the first clock. Its
   * id sorts after the stop's, so only the kind rank keeps it inside. */
  add(&evs, "s1", "lead.mql", T0, PLAIN);
  add(&evs, "s1", "lead.mql", T0, PLAIN);
  add(&evs, "p1", "lead.hold", T0 + 10 * MIN, NULL);
  add(&evs, "r1", "lead.unhold", T0 + 20 * MIN, NULL);
  add(&evs, "x1", "lead.contacted", T0 + 50 * MIN, NULL);
  add(&evs, "zz1", "lead.mql", T0 + 50 * MIN, PLAIN);
  add(&evs, "s2", "lead.mql", T0 + 2 * HOUR, "{\"segment\": \"enterprise\"}");
  add(&evs, "c2", "lead.disqualified", T0 + 2 * HOUR + 10 * MIN, NULL);

  hk_clock_eval(h, evs.e, evs.n, T0 + 5 * HOUR, &first);
  cr_assert_eq(first.n, 2);
  /* Paused after 10 of its 60 minutes: 50 remain from the resume at 20. */
  expect_state(&first.items[0], HK_CLOCK_MET);
  expect_when(&first.items[0], (struct when){T0, T0 + 70 * MIN, T0 + 58 * MIN,
                                             T0 + 50 * MIN, 40 * MIN});
  cr_expect_str_eq(first.items[0].start_id, "s1");
  cr_expect_str_eq(first.items[0].stop_id, "x1");
  expect_state(&first.items[1], HK_CLOCK_CANCELLED);
  expect_when(&first.items[1],
              (struct when){T0 + 2 * HOUR, T0 + 2 * HOUR + 5 * MIN,
                            T0 + 2 * HOUR + 4 * MIN, T0 + 2 * HOUR + 10 * MIN,
                            10 * MIN});
  cr_expect_eq(first.items[1].goal, 0);
  expect_missing(&first.items[1], "[\"email\"]");

  cr_assert_eq(evs.n, ORDERED);
  for (i = 0; i < ORDERED; i++) {
    p[i] = i;
  }
  do {
    for (i = 0; i < ORDERED; i++) {
      shuffled[i] = evs.e[p[i]];
    }
    hk_clock_eval(h, shuffled, ORDERED, T0 + 5 * HOUR, &out);
    cr_assert_eq(out.n, first.n, "order %zu: %zu clocks", orders, out.n);
    for (i = 0; i < out.n; i++) {
      cr_assert(same_clock(&out.items[i], &first.items[i]),
                "order %zu differs at clock %zu", orders, i);
    }
    hk_clocks_fini(&out);
    orders++;
  } while (next_permutation(p));
  cr_expect_eq(orders, 40320);

  hk_clocks_fini(&first);
  hk_sla_free(sla);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * Goals, requires, owner
 * ------------------------------------------------------------------------- */

/* The goal and deadline of a lead started at T0 with attrs. */
static void expect_goal(const char *attrs, int goal, int64_t within) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, attrs);
  eval("lead", &evs, T0, &out);
  cr_assert_eq(out.n, 1);
  cr_expect_eq(out.items[0].goal, goal, "%s: goal %d, want %d", attrs,
               out.items[0].goal, goal);
  cr_expect_eq(out.items[0].deadline_ms, T0 + within, "%s: deadline", attrs);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, goals_by_segment_first_match_wins) {
  expect_goal("{\"segment\": \"enterprise\"}", 0, 5 * MIN);
  /* Goals 1 and 2 both hold: the first wins. */
  expect_goal("{\"segment\": \"mid\", \"tier\": 2}", 1, 30 * MIN);
  /* A string and a number compare as text. */
  expect_goal("{\"segment\": \"smb\", \"tier\": \"2\"}", 1, 30 * MIN);
  expect_goal("{\"segment\": \"mid\", \"tier\": 3}", 2, 45 * MIN);
  /* One of an array. */
  expect_goal("{\"segment\": \"smb\"}", 2, 45 * MIN);
  expect_goal("{\"segment\": \"Enterprise\"}", -1, HOUR);
  expect_goal("{\"segment\": null}", -1, HOUR);
  expect_goal("{}", -1, HOUR);
}

Test(clock, goal_warns_at_its_own_share) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, "{\"segment\": \"enterprise\"}");
  eval("lead", &evs, T0 + 4 * MIN, &out);
  cr_assert_eq(out.n, 1);
  /* 80% of 5 minutes is 4 minutes. */
  cr_expect_eq(out.items[0].warn_ms, T0 + 4 * MIN);
  expect_state(&out.items[0], HK_CLOCK_AT_RISK);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, requires_lists_what_the_start_lacked) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, "{\"segment\": \"\", \"email\": null}");
  add(&evs, "c1", "lead.contacted", T0 + MIN, NULL);
  add(&evs, "m2", "lead.mql", T0 + HOUR, "{\"segment\": \"partner\"}");
  add(&evs, "c2", "lead.contacted", T0 + HOUR + MIN, NULL);
  add(&evs, "m3", "lead.mql", T0 + 2 * HOUR, PLAIN);
  eval("lead", &evs, T0 + 2 * HOUR, &out);
  cr_assert_eq(out.n, 3);
  expect_missing(&out.items[0], "[\"email\", \"segment\"]");
  expect_missing(&out.items[1], "[\"email\"]");
  expect_missing(&out.items[2], "[]");
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, a_start_without_attrs_lacks_everything) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, NULL);
  eval("lead", &evs, T0, &out);
  cr_assert_eq(out.n, 1);
  expect_missing(&out.items[0], "[\"email\", \"segment\"]");
  cr_expect_eq(out.items[0].goal, -1);
  cr_expect_str_eq(out.items[0].owner, "SDR team");
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, owner_from_the_start_attrs) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, "{\"owner\": \"ana@example.com\"}");
  add(&evs, "c1", "lead.contacted", T0 + MIN, NULL);
  add(&evs, "m2", "lead.mql", T0 + HOUR, "{\"owner\": 42}");
  add(&evs, "c2", "lead.contacted", T0 + HOUR + MIN, NULL);
  add(&evs, "m3", "lead.mql", T0 + 2 * HOUR, "{\"owner\": \"\"}");
  add(&evs, "c3", "lead.contacted", T0 + 2 * HOUR + MIN, NULL);
  add(&evs, "m4", "lead.mql", T0 + 3 * HOUR, "{\"owner\": true}");
  eval("lead", &evs, T0 + 3 * HOUR, &out);
  cr_assert_eq(out.n, 4);
  cr_expect_str_eq(out.items[0].owner, "ana@example.com");
  /* A Pipedrive user id: a number, kept as its decimal text. */
  cr_expect_str_eq(out.items[1].owner, "42");
  cr_expect_str_eq(out.items[2].owner, "SDR team");
  cr_expect_str_eq(out.items[3].owner, "SDR team");
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, going_round_again_opens_a_new_clock) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m2", "lead.mql", T0 + DAY, PLAIN);
  add(&evs, "c1", "lead.contacted", T0 + 10 * MIN, NULL);
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  eval("lead", &evs, T0 + DAY + 5 * MIN, &out);
  cr_assert_eq(out.n, 2);
  expect_state(&out.items[0], HK_CLOCK_MET);
  cr_expect_str_eq(out.items[0].start_id, "m1");
  expect_state(&out.items[1], HK_CLOCK_OPEN);
  cr_expect_str_eq(out.items[1].start_id, "m2");
  expect_when(&out.items[1], (struct when){T0 + DAY, T0 + DAY + HOUR,
                                           T0 + DAY + 48 * MIN, 0, 5 * MIN});
  hk_clocks_fini(&out);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * Pauses
 * ------------------------------------------------------------------------- */

Test(clock, paused_holds_still) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "h1", "lead.hold", T0 + 30 * MIN, NULL);
  eval("lead", &evs, T0 + 3 * HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_PAUSED);
  expect_when(&out.items[0],
              (struct when){T0, T0 + HOUR, T0 + 48 * MIN, 0, 30 * MIN});
  cr_expect_eq(out.items[0].ever_breached, 0);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, pause_and_resume_extend_the_deadline) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "h1", "lead.hold", T0 + 30 * MIN, NULL);
  add(&evs, "u1", "lead.unhold", T0 + 2 * HOUR, NULL);
  /* A resume while running and a second hold while paused change nothing. */
  add(&evs, "u0", "lead.unhold", T0 + 10 * MIN, NULL);
  add(&evs, "h2", "lead.hold", T0 + HOUR, NULL);
  eval("lead", &evs, T0 + 2 * HOUR + 20 * MIN, &out);
  cr_assert_eq(out.n, 1);
  /* 30 of 60 minutes were used; 30 remain from 2h. The warning had 48
   * minutes, so 18 remain. */
  expect_state(&out.items[0], HK_CLOCK_AT_RISK);
  expect_when(&out.items[0],
              (struct when){T0, T0 + 2 * HOUR + 30 * MIN,
                            T0 + 2 * HOUR + 18 * MIN, 0, 50 * MIN});
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, stop_while_paused_is_met) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "h1", "lead.hold", T0 + 30 * MIN, NULL);
  add(&evs, "c1", "lead.contacted", T0 + 3 * HOUR, NULL);
  eval("lead", &evs, T0 + 4 * HOUR, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_when(&out.items[0],
              (struct when){T0, T0 + 3 * HOUR + 30 * MIN,
                            T0 + 3 * HOUR + 18 * MIN, T0 + 3 * HOUR, 30 * MIN});
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock, pause_after_the_deadline_keeps_it) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", T0, PLAIN);
  add(&evs, "h1", "lead.hold", T0 + 70 * MIN, NULL);
  add(&evs, "u1", "lead.unhold", T0 + 2 * HOUR, NULL);
  eval("lead", &evs, T0 + 2 * HOUR + MIN, &out);
  cr_assert_eq(out.n, 1);
  expect_state(&out.items[0], HK_CLOCK_BREACHED);
  expect_when(&out.items[0],
              (struct when){T0, T0 + HOUR, T0 + 48 * MIN, 0, 71 * MIN});
  hk_clocks_fini(&out);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * Deadline SLAs: renews_at - 90 days
 * ------------------------------------------------------------------------- */

/* A renewal started at T0 with attrs, as of now. */
static void renewal(const char *attrs, int64_t now, struct hk_clocks *out) {
  struct events evs = {0};
  add(&evs, "s1", "sub.created", T0, attrs);
  eval("renewal", &evs, now, out);
  cr_assert_eq(out->n, 1);
  events_fini(&evs);
}

/* renews_at is T0 + 365 days (2027-01-01T00:00:00Z): the deadline falls 90
 * days before, at T0 + 275 days, and the warning at 75% of those 275 days:
 * T0 + 206.25 days. */
#define RENEWAL_DEADLINE (T0 + 275 * DAY)
#define RENEWAL_WARN (T0 + 206 * DAY + 6 * HOUR)

Test(clock_deadline, from_milliseconds) {
  struct hk_clocks out;
  renewal("{\"renews_at\": 1798761600000}", T0 + DAY, &out);
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_when(&out.items[0],
              (struct when){T0, RENEWAL_DEADLINE, RENEWAL_WARN, 0, DAY});
  cr_expect_eq(out.items[0].goal, -1);
  expect_missing(&out.items[0], "[]");
  cr_expect_str_eq(out.items[0].owner, "Account management");
  hk_clocks_fini(&out);
}

Test(clock_deadline, from_seconds) {
  struct hk_clocks out;
  renewal("{\"renews_at\": 1798761600}", T0 + DAY, &out);
  expect_when(&out.items[0],
              (struct when){T0, RENEWAL_DEADLINE, RENEWAL_WARN, 0, DAY});
  hk_clocks_fini(&out);
}

Test(clock_deadline, from_rfc3339) {
  struct hk_clocks out;
  renewal("{\"renews_at\": \"2027-01-01T00:00:00Z\"}", T0 + DAY, &out);
  expect_when(&out.items[0],
              (struct when){T0, RENEWAL_DEADLINE, RENEWAL_WARN, 0, DAY});
  hk_clocks_fini(&out);
  renewal("{\"renews_at\": \"2027-01-01T01:00:00+01:00\"}", T0 + DAY, &out);
  cr_expect_eq(out.items[0].deadline_ms, RENEWAL_DEADLINE);
  hk_clocks_fini(&out);
}

Test(clock_deadline, states_around_the_deadline) {
  struct hk_clocks out;
  renewal("{\"renews_at\": 1798761600000}", RENEWAL_WARN, &out);
  expect_state(&out.items[0], HK_CLOCK_AT_RISK);
  hk_clocks_fini(&out);
  renewal("{\"renews_at\": 1798761600000}", RENEWAL_DEADLINE, &out);
  expect_state(&out.items[0], HK_CLOCK_BREACHED);
  cr_expect_eq(out.items[0].ever_breached, 1);
  hk_clocks_fini(&out);
}

Test(clock_deadline, goal_offset_by_segment) {
  struct hk_clocks out;
  renewal("{\"renews_at\": 1798761600000, \"segment\": \"strategic\"}",
          T0 + DAY, &out);
  cr_expect_eq(out.items[0].goal, 0);
  /* 120 days before renewal: T0 + 245 days; 75% of that is 183.75 days. */
  expect_when(&out.items[0], (struct when){T0, T0 + 245 * DAY,
                                           T0 + 183 * DAY + 18 * HOUR, 0, DAY});
  hk_clocks_fini(&out);
}

Test(clock_deadline, missing_attribute_never_breaches) {
  struct hk_clocks out;
  renewal("{\"segment\": \"smb\"}", T0 + 1000 * DAY, &out);
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_when(&out.items[0],
              (struct when){T0, HK_NEVER, HK_NEVER, 0, 1000 * DAY});
  expect_missing(&out.items[0], "[\"renews_at\"]");
  cr_expect_eq(out.items[0].ever_breached, 0);
  hk_clocks_fini(&out);
  renewal("{\"renews_at\": \"next spring\"}", T0 + 1000 * DAY, &out);
  expect_when(&out.items[0],
              (struct when){T0, HK_NEVER, HK_NEVER, 0, 1000 * DAY});
  expect_missing(&out.items[0], "[\"renews_at\"]");
  hk_clocks_fini(&out);
}

Test(clock_deadline, started_after_its_deadline_is_breached) {
  struct hk_clocks out;
  /* renews_at T0 + 30 days: the deadline fell 60 days before the start,
   * and the warning 75% of the way there: 45 days before. */
  renewal("{\"renews_at\": 1769817600000}", T0, &out);
  expect_state(&out.items[0], HK_CLOCK_BREACHED);
  expect_when(&out.items[0],
              (struct when){T0, T0 - 60 * DAY, T0 - 45 * DAY, 0, 0});
  cr_expect_eq(out.items[0].ever_breached, 1);
  hk_clocks_fini(&out);
}

Test(clock_deadline, missing_attribute_listed_once_when_required) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "s1", "sub.created", T0, "{\"plan\": \"pro\"}");
  eval("audit", &evs, T0 + DAY, &out);
  cr_assert_eq(out.n, 1);
  expect_missing(&out.items[0], "[\"renews_at\"]");
  cr_expect_eq(out.items[0].deadline_ms, HK_NEVER);
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock_deadline, default_offset_is_the_attribute_itself) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "s1", "sub.created", T0,
      "{\"renews_at\": 1798761600000, \"plan\": \"pro\"}");
  eval("audit", &evs, T0 + DAY, &out);
  cr_assert_eq(out.n, 1);
  /* warn_at 0.8 of 365 days is 292 days. */
  expect_when(&out.items[0],
              (struct when){T0, T0 + 365 * DAY, T0 + 292 * DAY, 0, DAY});
  expect_missing(&out.items[0], "[]");
  hk_clocks_fini(&out);
  events_fini(&evs);
}

Test(clock_deadline, pause_shifts_deadline_and_warning) {
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "s1", "sub.created", T0, "{\"renews_at\": 1798761600000}");
  add(&evs, "p1", "sub.paused", T0 + 10 * DAY, NULL);
  add(&evs, "r1", "sub.unpaused", T0 + 40 * DAY, NULL);
  add(&evs, "c1", "renewal.call", T0 + 300 * DAY, NULL);
  eval("renewal", &evs, T0 + 400 * DAY, &out);
  cr_assert_eq(out.n, 1);
  /* Both move by the 30 paused days; 10 + 260 running days elapsed. */
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_when(&out.items[0], (struct when){T0, RENEWAL_DEADLINE + 30 * DAY,
                                           RENEWAL_WARN + 30 * DAY,
                                           T0 + 300 * DAY, 270 * DAY});
  hk_clocks_fini(&out);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * The compiled handoffs
 * ------------------------------------------------------------------------- */

Test(sla, handoffs_in_document_order) {
  struct hk_sla *sla = sla_new();
  cr_assert_eq(hk_sla_count(sla), 3);
  cr_expect_str_eq(hk_handoff_name(hk_sla_at(sla, 0)), "lead");
  cr_expect_str_eq(hk_handoff_name(hk_sla_at(sla, 1)), "renewal");
  cr_expect_str_eq(hk_handoff_name(hk_sla_at(sla, 2)), "audit");
  cr_expect_null(hk_sla_at(sla, 3));
  cr_expect_eq(hk_sla_find(sla, "renewal"), hk_sla_at(sla, 1));
  cr_expect_null(hk_sla_find(sla, "nope"));
  cr_expect_str_eq(hk_handoff_owner(hk_sla_find(sla, "lead")), "SDR team");
  hk_sla_free(sla);
  hk_sla_free(NULL);
}

Test(sla, none_configured) {
  const char *text = "{\"sources\": {\"demo\": {\"kind\": "
                     "\"standard-webhooks\", \"secret\": {\"env\": \"S\"}}}}";
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_sla *sla;
  cr_assert_eq(hk_config_parse(text, strlen(text), "test.json",
                               HK_CONFIG_NO_SECRETS, &cfg, &diag),
               HK_E_OK);
  hk_config_diag_fini(&diag);
  sla = hk_sla_new(cfg, &err);
  cr_assert_not_null(sla);
  cr_expect_eq(hk_sla_count(sla), 0);
  cr_expect_null(hk_sla_at(sla, 0));
  hk_sla_free(sla);
  hk_config_free(cfg);
}

Test(sla, wants_the_listed_types) {
  struct hk_sla *sla = sla_new();
  const struct hk_handoff *h = hk_sla_find(sla, "lead");
  cr_expect_eq(hk_handoff_wants(h, "lead.mql"), 1);
  cr_expect_eq(hk_handoff_wants(h, "lead.reopened"), 1);
  cr_expect_eq(hk_handoff_wants(h, "lead.contacted"), 1);
  cr_expect_eq(hk_handoff_wants(h, "lead.disqualified"), 1);
  cr_expect_eq(hk_handoff_wants(h, "lead.hold"), 1);
  cr_expect_eq(hk_handoff_wants(h, "lead.unhold"), 1);
  cr_expect_eq(hk_handoff_wants(h, "deal.won"), 0);
  cr_expect_eq(hk_handoff_wants(h, "lead"), 0);
  hk_sla_free(sla);
}

Test(sla, slim_keeps_only_what_the_handoff_reads) {
  struct hk_sla *sla = sla_new();
  json_t *attrs = json_loads(
      "{\"email\": \"ana@example.com\", \"segment\": \"mid\", \"tier\": 2,"
      " \"owner\": \"ana\", \"amount\": 1200, \"note\": \"long text\","
      " \"renews_at\": 1798761600000}",
      0, NULL);
  json_t *want = json_loads(
      "{\"id\": \"e1\", \"type\": \"lead.mql\", \"at\": 1767225600000,"
      " \"attrs\": {\"email\": 1, \"segment\": \"mid\","
      " \"tier\": 2, \"owner\": \"ana\"}}",
      0, NULL);
  json_t *want_renewal = json_loads(
      "{\"id\": \"e2\", \"type\": \"sub.created\", \"at\": 1767225600000,"
      " \"attrs\": {\"segment\": \"mid\", \"owner\": \"ana\","
      " \"renews_at\": 1798761600000}}",
      0, NULL);
  json_t *got =
      hk_handoff_slim(hk_sla_find(sla, "lead"), "e1", "lead.mql", T0, attrs);
  json_t *got_renewal = hk_handoff_slim(hk_sla_find(sla, "renewal"), "e2",
                                        "sub.created", T0, attrs);
  char *text = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
  cr_expect(json_equal(got, want), "slim: %s", text);
  free(text);
  text = json_dumps(got_renewal, JSON_COMPACT | JSON_SORT_KEYS);
  cr_expect(json_equal(got_renewal, want_renewal), "slim: %s", text);
  free(text);
  json_decref(got);
  json_decref(got_renewal);
  json_decref(want);
  json_decref(want_renewal);
  json_decref(attrs);
  hk_sla_free(sla);
}

Test(sla, slim_of_no_attrs_is_empty) {
  struct hk_sla *sla = sla_new();
  json_t *got = hk_handoff_slim(hk_sla_find(sla, "lead"), "e1",
                                "lead.contacted", T0, NULL);
  cr_expect_eq(json_object_size(json_object_get(got, "attrs")), 0);
  cr_expect_str_eq(json_string_value(json_object_get(got, "type")),
                   "lead.contacted");
  json_decref(got);
  hk_sla_free(sla);
}
