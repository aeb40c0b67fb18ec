/*
 * test_clock_business.c -- SLA clocks that count business time: handoffs
 * with a `calendar`, compiled by hk_sla_new from a parsed config and
 * evaluated by hk_clock_eval. calendar.c's arithmetic is tested on its own
 * in test_calendar.c; here the point is that the clocks use it right: the
 * deadline and the warning, the state as of now, the verdict of a stop, the
 * elapsed time, pauses, goals by segment, holidays, both DST changes in
 * London and New York, a zone east of UTC at a half hour, and a calendar
 * whose zone cannot be compiled.
 *
 * The suite is clock_business rather than clock so that its test names
 * cannot collide with test_clock.c's in the same executable.
 *
 * Every expected instant was worked out by hand and is written as an RFC
 * 3339 UTC literal (parsed by the mapper's parser, not by the calendar),
 * with the local time and the reason beside it. Rules used: Europe/London
 * is GMT (+00:00) in winter and BST (+01:00) from 01:00 UTC on the last
 * Sunday of March to 01:00 UTC on the last Sunday of October;
 * America/New_York is EST (-05:00), and EDT (-04:00) from 02:00 local on
 * the second Sunday of March to 02:00 local on the first Sunday of
 * November; Asia/Kolkata is +05:30 all year. In 2026 those Sundays are
 * 29 March and 25 October (London), 8 March and 1 November (New York);
 * 16 January 2026 is a Friday, and 4 May 2026 (the Early May bank holiday)
 * a Monday. warn_at is left to its default, 0.8, everywhere.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "journey/journey.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS (60 * MIN_MS)

#define WEEKDAYS(range)                                                        \
  "'mon': [" range "], 'tue': [" range "], 'wed': [" range "], 'thu': [" range \
  "], 'fri': [" range "]"
#define EVERY_DAY(range)                                                       \
  WEEKDAYS(range) ", 'sat': [" range "], 'sun': [" range "]"

/* The handoff part every handoff shares: the two stages and the events. */
#define EVENTS                                                                 \
  "'from': 'mql', 'to': 'sql', 'start': ['lead.mql'],"                         \
  "'stop': ['lead.contacted'], 'cancel': ['lead.disqualified'],"               \
  "'pause': ['lead.hold'], 'resume': ['lead.unhold']"

/* Written with ' for ", turned into JSON by config_text. */
#define CONFIG                                                                                                                                                                                            \
  "{'sources': {'demo': {'kind': 'standard-webhooks',"                                                                                                                                                    \
  "  'secret': {'env': 'S'}}},"                                                                                                                                                                           \
  "'stages': {"                                                                                                                                                                                           \
  "  'mql': {'owner': 'Marketing', 'entered_on': ['lead.mql']},"                                                                                                                                          \
  "  'sql': {'owner': 'SDR', 'entered_on': ['lead.contacted']}},"                                                                                                                                         \
  "'calendars': {"                                                                                                                                                                                        \
  "  'london': {'timezone': 'Europe/London',"                                                                                                                                                             \
  "    'hours': {" WEEKDAYS(                                                                                                                                                                              \
      "['09:00', '18:00']") "},"                                                                                                                                                                          \
                            "    'holidays': ['2026-05-04']},"                                                                                                                                            \
                            "  'london_9_17': {'timezone': 'Europe/London',"                                                                                                                              \
                            "    'hours': {" WEEKDAYS(                                                                                                                                                    \
                                "['09:00', '17:00']") "}},"                                                                                                                                               \
                                                      "  'new_york_9_17': "                                                                                                                               \
                                                      "{'timezone': "                                                                                                                                     \
                                                      "'America/New_York',"                                                                                                                               \
                                                      "    'hours': "                                                                                                                                     \
                                                      "{" WEEKDAYS(                                                                                                                                       \
                                                          "['09:00', "                                                                                                                                    \
                                                          "'17:00']") "}},"                                                                                                                               \
                                                                      "  "                                                                                                                                \
                                                                      "'londo"                                                                                                                            \
                                                                      "n_"                                                                                                                                \
                                                                      "always"                                                                                                                            \
                                                                      "': "                                                                                                                               \
                                                                      "{'"                                                                                                                                \
                                                                      "timezo"                                                                                                                            \
                                                                      "ne': "                                                                                                                             \
                                                                      "'Europ"                                                                                                                            \
                                                                      "e/"                                                                                                                                \
                                                                      "London"                                                                                                                            \
                                                                      "',"                                                                                                                                \
                                                                      "    "                                                                                                                              \
                                                                      "'hours"                                                                                                                            \
                                                                      "': "                                                                                                                               \
                                                                      "{" EVERY_DAY(                                                                                                                      \
                                                                          "['"                                                                                                                            \
                                                                          "00"                                                                                                                            \
                                                                          ":0"                                                                                                                            \
                                                                          "0'"                                                                                                                            \
                                                                          ", "                                                                                                                            \
                                                                          "'2"                                                                                                                            \
                                                                          "4:"                                                                                                                            \
                                                                          "00"                                                                                                                            \
                                                                          "'"                                                                                                                             \
                                                                          "]") "}},"                                                                                                                      \
                                                                               "  'new_york_always': {'timezone': 'America/New_York',"                                                                    \
                                                                               "    'hours': {" EVERY_DAY(                                                                                                \
                                                                                   "['00:00', '24:00']") "}},"                                                                                            \
                                                                                                         "  'kolkata': {'timezone': 'Asia/Kolkata',"                                                      \
                                                                                                         "    'hours': {" WEEKDAYS(                                                                       \
                                                                                                             "['09:30', '18:30']") "}}},"                                                                 \
                                                                                                                                   "'handoffs': {"                                                        \
                                                                                                                                   "  'five_london': {'owner': 'SDR team', " EVENTS                       \
                                                                                                                                   ","                                                                    \
                                                                                                                                   "    'calendar': 'london', 'sla': {'within': '5m'}},"                  \
                                                                                                                                   "  'hour_london': {'owner': 'SDR team', " EVENTS                       \
                                                                                                                                   ","                                                                    \
                                                                                                                                   "    'calendar': 'london', 'sla': {'within': '1h'}},"                  \
                                                                                                                                   "  'tiered_london': {'owner': 'SDR team', " EVENTS                     \
                                                                                                                                   ","                                                                    \
                                                                                                                                   "    'calendar': 'london', 'sla': {'within': '1h'},"                   \
                                                                                                                                   "    'goals': [{'when': {'segment': 'enterprise'}, 'within': '5m'}]}," \
                                                                                                                                   "  'day_london': {'owner': 'Support', " EVENTS                         \
                                                                                                                                   ","                                                                    \
                                                                                                                                   "    'calendar': 'london_always', 'sla': {'within': '24h'}},"          \
                                                                                                                                   "  'day_new_york': {'owner': 'Support', " EVENTS                       \
                                                                                                                                   ","                                                                    \
                                                                                                                                   "    'calendar': 'new_york_always', 'sla': {'within': '24h'}},"        \
                                                                                                                                   "  'kickoff_london': {'owner': 'Onboarding', " EVENTS                  \
                                                                                                                                   ","                                                                    \
                                                                                                                                   "    'calendar': 'london_9_17', 'sla': {'within': '2h'}},"             \
                                                                                                                                   "  'kickoff_new_york': {'owner': 'Onboarding', " EVENTS                \
                                                                                                                                   ","                                                                    \
                                                                                                                                   "    'calendar': 'new_york_9_17', 'sla': {'within': '2h'}},"           \
                                                                                                                                   "  'hour_kolkata': {'owner': 'SDR India', " EVENTS                     \
                                                                                                                                   ","                                                                    \
                                                                                                                                   "    'calendar': 'kolkata', 'sla': {'within': '1h'}}}}"

/* An RFC 3339 time in ms; the test fails when it does not parse. */
static int64_t at(const char *iso) {
  int64_t ms = 0;
  cr_assert_eq(hk_map_rfc3339_ms(iso, &ms), 0, "bad time in test: %s", iso);
  return ms;
}

/* text with every ' turned into " (the caller frees). */
static char *config_text(const char *text) {
  char *json = strdup(text);
  size_t i;
  cr_assert_not_null(json);
  for (i = 0; json[i] != '\0'; i++) {
    if (json[i] == '\'') {
      json[i] = '"';
    }
  }
  return json;
}

/* Parses text (with ' for ") as a config, without reading secrets. Returns
 * the config (the caller frees) and fails the test when it does not load. */
static struct hk_config *config_new(const char *text) {
  char *json = config_text(text);
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  enum hk_err rc = hk_config_parse(json, strlen(json), "test.json",
                                   HK_CONFIG_NO_SECRETS, &cfg, &diag);
  cr_assert_eq(rc, HK_E_OK, "config: %s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  free(json);
  return cfg;
}

/* The handoffs of CONFIG (the caller frees with hk_sla_free). */
static struct hk_sla *sla_new(void) {
  struct hk_config *cfg = config_new(CONFIG);
  struct hk_error err = {HK_E_OK, ""};
  struct hk_sla *sla = hk_sla_new(cfg, &err);
  cr_assert_not_null(sla, "hk_sla_new: %s", err.msg);
  hk_config_free(cfg);
  return sla;
}

/* ---------------------------------------------------------------------------
 * Hand-made events
 * ------------------------------------------------------------------------- */

#define MAX_EVENTS 8

struct events {
  struct hk_clock_event e[MAX_EVENTS];
  json_t *attrs[MAX_EVENTS];
  size_t n;
};

/* Adds an event at an RFC 3339 time; attrs is JSON text or NULL. */
static void add(struct events *evs, const char *id, const char *type,
                const char *when, const char *attrs) {
  json_error_t jerr;
  size_t i = evs->n++;
  cr_assert_lt(i, MAX_EVENTS);
  evs->attrs[i] = attrs != NULL ? json_loads(attrs, 0, &jerr) : NULL;
  cr_assert(attrs == NULL || evs->attrs[i] != NULL, "bad attrs %s", attrs);
  evs->e[i].id = id;
  evs->e[i].type = type;
  evs->e[i].at_ms = at(when);
  evs->e[i].attrs = evs->attrs[i];
}

static void events_fini(struct events *evs) {
  size_t i;
  for (i = 0; i < evs->n; i++) {
    json_decref(evs->attrs[i]);
  }
  evs->n = 0;
}

/* Evaluates the named handoff of sla over evs as of now, and fails the test
 * unless exactly one clock comes out. */
static void eval1(const struct hk_sla *sla, const char *handoff,
                  const struct events *evs, const char *now,
                  struct hk_clocks *out) {
  const struct hk_handoff *h = hk_sla_find(sla, handoff);
  cr_assert_not_null(h, "no handoff %s", handoff);
  hk_clock_eval(h, evs->e, evs->n, at(now), out);
  cr_assert_eq(out->n, 1, "%s as of %s: %zu clocks", handoff, now, out->n);
}

static void expect_instant(const char *what, int64_t got, const char *want) {
  cr_expect_eq(got, at(want), "%s %lld, want %s (%lld)", what, (long long)got,
               want, (long long)at(want));
}

static void expect_elapsed(const struct hk_clock *c, int64_t want) {
  cr_expect_eq(c->elapsed_ms, want, "elapsed %lld ms, want %lld ms",
               (long long)c->elapsed_ms, (long long)want);
}

static void expect_state(const struct hk_clock *c, enum hk_clock_state s) {
  cr_expect_eq(c->state, s, "state %s, want %s", hk_clock_state_name(c->state),
               hk_clock_state_name(s));
}

/* The state and elapsed time of the one clock of evs as of now. */
static void expect_as_of(const struct hk_sla *sla, const char *handoff,
                         const struct events *evs, const char *now,
                         enum hk_clock_state s, int64_t elapsed) {
  struct hk_clocks out;
  eval1(sla, handoff, evs, now, &out);
  cr_expect_eq(out.items[0].state, s, "as of %s: state %s, want %s", now,
               hk_clock_state_name(out.items[0].state), hk_clock_state_name(s));
  cr_expect_eq(out.items[0].elapsed_ms, elapsed,
               "as of %s: elapsed %lld ms, want %lld ms", now,
               (long long)out.items[0].elapsed_ms, (long long)elapsed);
  hk_clocks_fini(&out);
}

/* ---------------------------------------------------------------------------
 * Five minutes from Friday 17:58 (London, 09:00-18:00 on weekdays, GMT)
 * ------------------------------------------------------------------------- */

Test(clock_business, five_minutes_from_friday_1758_end_at_monday_0903) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-01-16T17:59:00Z", &out);
  expect_instant("started", out.items[0].started_ms, "2026-01-16T17:58:00Z");
  /* Friday 17:58-18:00 holds 2 of the 5 minutes; Monday 19 January opens
   * at 09:00 GMT and the other 3 end at 09:03 GMT. */
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:03:00Z");
  /* 0.8 of 5 minutes is 4: 2 on Friday, 2 on Monday, 09:02 GMT. Not
   * Friday 18:00: that is only 2 business minutes in. */
  expect_instant("warn", out.items[0].warn_ms, "2026-01-19T09:02:00Z");
  cr_expect_eq(out.items[0].goal, -1);
  cr_expect_str_eq(out.items[0].owner, "SDR team");
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, five_minutes_from_friday_1758_states_as_of_now) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", NULL);
  /* Friday 17:59 GMT: one business minute in. */
  expect_as_of(sla, "five_london", &evs, "2026-01-16T17:59:00Z", HK_CLOCK_OPEN,
               MIN_MS);
  /* Saturday noon: 5 wall minutes are long gone, but the office closed at
   * 18:00 after 2 business minutes. */
  expect_as_of(sla, "five_london", &evs, "2026-01-17T12:00:00Z", HK_CLOCK_OPEN,
               2 * MIN_MS);
  /* Monday 09:01:59.999 GMT: just before the warning. */
  expect_as_of(sla, "five_london", &evs, "2026-01-19T09:01:59.999Z",
               HK_CLOCK_OPEN, 4 * MIN_MS - 1);
  /* Monday 09:02 GMT: 4 business minutes, the warning. */
  expect_as_of(sla, "five_london", &evs, "2026-01-19T09:02:00Z",
               HK_CLOCK_AT_RISK, 4 * MIN_MS);
  expect_as_of(sla, "five_london", &evs, "2026-01-19T09:02:59.999Z",
               HK_CLOCK_AT_RISK, 5 * MIN_MS - 1);
  /* Monday 09:03 GMT: the deadline. */
  expect_as_of(sla, "five_london", &evs, "2026-01-19T09:03:00Z",
               HK_CLOCK_BREACHED, 5 * MIN_MS);
  /* Monday 10:00 GMT: 2 minutes on Friday and 60 on Monday. */
  expect_as_of(sla, "five_london", &evs, "2026-01-19T10:00:00Z",
               HK_CLOCK_BREACHED, 62 * MIN_MS);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, five_minutes_from_friday_1758_stopped_monday_0902_met) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-01-19T09:02:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-01-19T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_instant("stopped", out.items[0].stopped_ms, "2026-01-19T09:02:00Z");
  /* 2 minutes on Friday, 2 on Monday: 4, not the 63 wall hours. */
  expect_elapsed(&out.items[0], 4 * MIN_MS);
  cr_expect_eq(out.items[0].ever_breached, 0);
  cr_expect_str_eq(out.items[0].stop_id, "c1");
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, five_minutes_from_friday_1758_stopped_at_0903_met) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", NULL);
  /* Monday 09:03 GMT, the deadline itself. */
  add(&evs, "c1", "lead.contacted", "2026-01-19T09:03:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-01-19T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_elapsed(&out.items[0], 5 * MIN_MS);
  cr_expect_eq(out.items[0].ever_breached, 0);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, five_minutes_from_friday_1758_stopped_monday_0904_late) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-01-19T09:04:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-01-19T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET_LATE);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:03:00Z");
  expect_instant("stopped", out.items[0].stopped_ms, "2026-01-19T09:04:00Z");
  /* 2 minutes on Friday, 4 on Monday. */
  expect_elapsed(&out.items[0], 6 * MIN_MS);
  cr_expect_eq(out.items[0].ever_breached, 1);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * Closed time
 * ------------------------------------------------------------------------- */

Test(clock_business, deadline_in_closed_time_moves_to_the_next_opening) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Tuesday 20 January 17:30 GMT, 1 hour: in calendar time 18:30, when
   * the office is closed. 30 minutes are left at 18:00, and they run from
   * Wednesday's opening: 09:30 GMT. */
  add(&evs, "m1", "lead.mql", "2026-01-20T17:30:00Z", NULL);
  eval1(sla, "hour_london", &evs, "2026-01-20T17:31:00Z", &out);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-21T09:30:00Z");
  /* 48 minutes: 30 on Tuesday, 18 on Wednesday, 09:18 GMT. */
  expect_instant("warn", out.items[0].warn_ms, "2026-01-21T09:18:00Z");
  hk_clocks_fini(&out);
  /* At 18:30 GMT, the calendar-time deadline, the clock is not late. */
  expect_as_of(sla, "hour_london", &evs, "2026-01-20T18:30:00Z", HK_CLOCK_OPEN,
               30 * MIN_MS);
  expect_as_of(sla, "hour_london", &evs, "2026-01-21T09:17:59.999Z",
               HK_CLOCK_OPEN, 48 * MIN_MS - 1);
  expect_as_of(sla, "hour_london", &evs, "2026-01-21T09:29:59.999Z",
               HK_CLOCK_AT_RISK, HOUR_MS - 1);
  expect_as_of(sla, "hour_london", &evs, "2026-01-21T09:30:00Z",
               HK_CLOCK_BREACHED, HOUR_MS);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, deadline_over_a_weekend_moves_to_monday) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Friday 16 January 17:30 GMT, 1 hour: 30 minutes on Friday, 30 from
   * Monday 09:00 GMT. */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:30:00Z", NULL);
  eval1(sla, "hour_london", &evs, "2026-01-17T12:00:00Z", &out);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:30:00Z");
  expect_instant("warn", out.items[0].warn_ms, "2026-01-19T09:18:00Z");
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_elapsed(&out.items[0], 30 * MIN_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, started_while_closed_counts_from_the_opening) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Saturday 17 January 11:00 GMT: nothing counts until Monday 09:00 GMT,
   * so the hour ends at 10:00 and the warning comes at 09:48. */
  add(&evs, "m1", "lead.mql", "2026-01-17T11:00:00Z", NULL);
  eval1(sla, "hour_london", &evs, "2026-01-19T08:59:59Z", &out);
  expect_instant("started", out.items[0].started_ms, "2026-01-17T11:00:00Z");
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T10:00:00Z");
  expect_instant("warn", out.items[0].warn_ms, "2026-01-19T09:48:00Z");
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_elapsed(&out.items[0], 0);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, deadline_that_uses_up_the_day_is_closing_time) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Tuesday 20 January 17:00 GMT, 1 hour: exactly the rest of the day.
   * calendar.c puts such a deadline at the closing time, 18:00 GMT, not
   * at Wednesday's opening, so the breach shows at the close. */
  add(&evs, "m1", "lead.mql", "2026-01-20T17:00:00Z", NULL);
  eval1(sla, "hour_london", &evs, "2026-01-20T18:00:00Z", &out);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-20T18:00:00Z");
  expect_state(&out.items[0], HK_CLOCK_BREACHED);
  expect_elapsed(&out.items[0], HOUR_MS);
  hk_clocks_fini(&out);
  /* Overnight the clock stays breached, and no business time passes. */
  expect_as_of(sla, "hour_london", &evs, "2026-01-21T03:00:00Z",
               HK_CLOCK_BREACHED, HOUR_MS);
  hk_sla_free(sla);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * Elapsed time
 * ------------------------------------------------------------------------- */

Test(clock_business, elapsed_of_a_met_clock_is_business_time) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Friday 16 January 17:40 GMT to Monday 09:30 GMT: 63 h 50 min on the
   * wall, 20 + 30 = 50 minutes of business time, inside the hour (the
   * deadline is Monday 09:40 GMT). */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:40:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-01-19T09:30:00Z", NULL);
  eval1(sla, "hour_london", &evs, "2026-01-20T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:40:00Z");
  expect_elapsed(&out.items[0], 50 * MIN_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, elapsed_of_a_late_clock_is_business_time) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Friday 17:40 GMT to Tuesday 20 January 09:10 GMT: 20 minutes on
   * Friday, 9 hours on Monday, 10 minutes on Tuesday. */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:40:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-01-20T09:10:00Z", NULL);
  eval1(sla, "hour_london", &evs, "2026-01-20T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET_LATE);
  expect_elapsed(&out.items[0], 9 * HOUR_MS + 30 * MIN_MS);
  cr_expect_eq(out.items[0].ever_breached, 1);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, started_and_stopped_while_closed_took_no_time) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Saturday 17 January 10:00 to Sunday 18 January 20:00 GMT. */
  add(&evs, "m1", "lead.mql", "2026-01-17T10:00:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-01-18T20:00:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-01-19T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_elapsed(&out.items[0], 0);
  /* Counting would have started on Monday 09:00 GMT. */
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:05:00Z");
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * Holidays
 * ------------------------------------------------------------------------- */

Test(clock_business, holiday_monday_moves_the_deadline_to_tuesday) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Friday 1 May 2026 17:58 BST (16:58 UTC); Monday 4 May is a holiday of
   * the calendar. 2 minutes on Friday, 3 from Tuesday 5 May 09:00 BST:
   * 09:03 BST, 08:03 UTC. */
  add(&evs, "m1", "lead.mql", "2026-05-01T16:58:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-05-01T17:00:00Z", &out);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-05-05T08:03:00Z");
  /* 4 minutes: Tuesday 09:02 BST. */
  expect_instant("warn", out.items[0].warn_ms, "2026-05-05T08:02:00Z");
  hk_clocks_fini(&out);
  /* Monday 4 May 12:00 BST: open hours on a weekday, but the holiday. */
  expect_as_of(sla, "five_london", &evs, "2026-05-04T11:00:00Z", HK_CLOCK_OPEN,
               2 * MIN_MS);
  /* Tuesday 09:02 BST: at risk; 09:03 BST: breached. */
  expect_as_of(sla, "five_london", &evs, "2026-05-05T08:02:00Z",
               HK_CLOCK_AT_RISK, 4 * MIN_MS);
  expect_as_of(sla, "five_london", &evs, "2026-05-05T08:03:00Z",
               HK_CLOCK_BREACHED, 5 * MIN_MS);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, stopped_after_the_holiday_counts_no_holiday_time) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  add(&evs, "m1", "lead.mql", "2026-05-01T16:58:00Z", NULL);
  /* Tuesday 5 May 09:01 BST: 2 minutes on Friday and 1 on Tuesday. */
  add(&evs, "c1", "lead.contacted", "2026-05-05T08:01:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-05-06T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_elapsed(&out.items[0], 3 * MIN_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * DST: both changes, London and New York
 * ------------------------------------------------------------------------- */

/* Arrays, not pointers: Criterion runs each parameter in a new process,
 * where a pointer to a literal of this one means nothing. */
struct dst_case {
  char handoff[32];
  char start[32];
  char deadline[32];
  char warn[32];
  int64_t within; /* also the elapsed time at the deadline */
};

/* Times in UTC; the comments give the local wall clock. */
ParameterizedTestParameters(clock_business, deadline_across_a_dst_change) {
  static struct dst_case cases[] = {
      /* 24 hours, open all day: always 24 real hours, whatever the wall
       * clock says. The warning is 0.8 of 24 h = 19 h 12 min later. */
      /* London spring: Sat 28 Mar 12:00 GMT; Sun 29 Mar 13:00 BST (a day
       * of 23 wall hours, so 25 on the wall); warn 08:12 BST. */
      {"day_london", "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z",
       "2026-03-29T07:12:00Z", 24 * HOUR_MS},
      /* London autumn: Sat 24 Oct 12:00 BST; Sun 25 Oct 11:00 GMT (a day
       * of 25 wall hours); warn 06:12 GMT. */
      {"day_london", "2026-10-24T11:00:00Z", "2026-10-25T11:00:00Z",
       "2026-10-25T06:12:00Z", 24 * HOUR_MS},
      /* New York spring: Sat 7 Mar 12:00 EST; Sun 8 Mar 13:00 EDT; warn
       * 08:12 EDT. */
      {"day_new_york", "2026-03-07T17:00:00Z", "2026-03-08T17:00:00Z",
       "2026-03-08T12:12:00Z", 24 * HOUR_MS},
      /* New York autumn: Sat 31 Oct 12:00 EDT; Sun 1 Nov 11:00 EST; warn
       * 06:12 EST. */
      {"day_new_york", "2026-10-31T16:00:00Z", "2026-11-01T16:00:00Z",
       "2026-11-01T11:12:00Z", 24 * HOUR_MS},
      /* 2 hours, 09:00-17:00 on weekdays, from Friday 16:00 local: 1 hour
       * on Friday, 1 on Monday, so Monday 10:00 local at the offset of
       * after the change. The warning (96 min) is Monday 09:36 local. */
      /* London spring: Fri 27 Mar 16:00 GMT; Mon 30 Mar 10:00 BST. */
      {"kickoff_london", "2026-03-27T16:00:00Z", "2026-03-30T09:00:00Z",
       "2026-03-30T08:36:00Z", 2 * HOUR_MS},
      /* London autumn: Fri 23 Oct 16:00 BST; Mon 26 Oct 10:00 GMT. */
      {"kickoff_london", "2026-10-23T15:00:00Z", "2026-10-26T10:00:00Z",
       "2026-10-26T09:36:00Z", 2 * HOUR_MS},
      /* New York spring: Fri 6 Mar 16:00 EST; Mon 9 Mar 10:00 EDT. */
      {"kickoff_new_york", "2026-03-06T21:00:00Z", "2026-03-09T14:00:00Z",
       "2026-03-09T13:36:00Z", 2 * HOUR_MS},
      /* New York autumn: Fri 30 Oct 16:00 EDT; Mon 2 Nov 10:00 EST. */
      {"kickoff_new_york", "2026-10-30T20:00:00Z", "2026-11-02T15:00:00Z",
       "2026-11-02T14:36:00Z", 2 * HOUR_MS},
  };
  return cr_make_param_array(struct dst_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct dst_case *k, clock_business,
                  deadline_across_a_dst_change) {
  struct hk_sla *sla = sla_new();
  const struct hk_handoff *h = hk_sla_find(sla, k->handoff);
  struct hk_clock_event start = {"m1", "lead.mql", at(k->start), NULL};
  int64_t deadline = at(k->deadline);
  int64_t warn = at(k->warn);
  struct hk_clocks out;
  cr_assert_not_null(h, "no handoff %s", k->handoff);

  hk_clock_eval(h, &start, 1, deadline - 1, &out);
  cr_assert_eq(out.n, 1);
  cr_expect_eq(out.items[0].deadline_ms, deadline,
               "%s from %s: deadline %lld, want %s (%lld)", k->handoff,
               k->start, (long long)out.items[0].deadline_ms, k->deadline,
               (long long)deadline);
  cr_expect_eq(out.items[0].warn_ms, warn,
               "%s from %s: warn %lld, want %s (%lld)", k->handoff, k->start,
               (long long)out.items[0].warn_ms, k->warn, (long long)warn);
  cr_expect_eq(out.items[0].state, HK_CLOCK_AT_RISK,
               "%s from %s: a millisecond before the deadline: %s", k->handoff,
               k->start, hk_clock_state_name(out.items[0].state));
  hk_clocks_fini(&out);

  hk_clock_eval(h, &start, 1, warn - 1, &out);
  cr_assert_eq(out.n, 1);
  cr_expect_eq(out.items[0].state, HK_CLOCK_OPEN,
               "%s from %s: a millisecond before the warning: %s", k->handoff,
               k->start, hk_clock_state_name(out.items[0].state));
  hk_clocks_fini(&out);

  /* At the deadline, exactly the allowed business time has passed. */
  hk_clock_eval(h, &start, 1, deadline, &out);
  cr_assert_eq(out.n, 1);
  cr_expect_eq(out.items[0].state, HK_CLOCK_BREACHED,
               "%s from %s: at the deadline: %s", k->handoff, k->start,
               hk_clock_state_name(out.items[0].state));
  cr_expect_eq(out.items[0].elapsed_ms, k->within,
               "%s from %s: elapsed at the deadline %lld ms, want %lld ms",
               k->handoff, k->start, (long long)out.items[0].elapsed_ms,
               (long long)k->within);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
}

Test(clock_business, spring_day_of_23_hours_same_wall_time_is_in_time) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Saturday 28 March 12:00 GMT to Sunday 29 March 12:00 BST (11:00 UTC):
   * the same wall time a day later, but only 23 real hours, so inside the
   * 24 (the deadline is 13:00 BST). */
  add(&evs, "m1", "lead.mql", "2026-03-28T12:00:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-03-29T11:00:00Z", NULL);
  eval1(sla, "day_london", &evs, "2026-03-30T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_elapsed(&out.items[0], 23 * HOUR_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, autumn_day_of_25_hours_same_wall_time_is_late) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Saturday 31 October 12:00 EDT (16:00 UTC) to Sunday 1 November 12:00
   * EST (17:00 UTC): the same wall time a day later, but 25 real hours,
   * an hour past the deadline (11:00 EST). */
  add(&evs, "m1", "lead.mql", "2026-10-31T16:00:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-11-01T17:00:00Z", NULL);
  eval1(sla, "day_new_york", &evs, "2026-11-02T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET_LATE);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-11-01T16:00:00Z");
  expect_elapsed(&out.items[0], 25 * HOUR_MS);
  cr_expect_eq(out.items[0].ever_breached, 1);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, office_hours_elapsed_across_the_change) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Friday 27 March 16:00 GMT to Monday 30 March 09:30 BST (08:30 UTC):
   * an hour on Friday and half an hour on Monday. Counted in UTC hours of
   * the old offset, Monday would open at 09:00 UTC and give nothing. */
  add(&evs, "m1", "lead.mql", "2026-03-27T16:00:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-03-30T08:30:00Z", NULL);
  eval1(sla, "kickoff_london", &evs, "2026-03-30T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_elapsed(&out.items[0], 90 * MIN_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, one_sla_evaluates_later_then_earlier_years) {
  struct hk_sla *sla = sla_new();
  const struct hk_handoff *h = hk_sla_find(sla, "kickoff_new_york");
  /* A clock years later and then one years earlier must both see their
   * own offsets (the calendar once cached the zone's changes around the
   * instants asked about). */
  struct hk_clock_event late = {"m1", "lead.mql", at("2030-10-25T20:00:00Z"),
                                NULL};
  struct hk_clock_event early = {"m2", "lead.mql", at("2026-03-06T21:00:00Z"),
                                 NULL};
  struct hk_clocks out;
  cr_assert_not_null(h);
  /* Friday 25 October 2030 16:00 EDT; New York falls back on Sunday 3
   * November 2030, so Monday 28 October is still EDT: 10:00 EDT. */
  hk_clock_eval(h, &late, 1, at("2030-10-25T20:00:00Z"), &out);
  cr_assert_eq(out.n, 1);
  expect_instant("deadline", out.items[0].deadline_ms, "2030-10-28T14:00:00Z");
  hk_clocks_fini(&out);
  /* Friday 6 March 2026 16:00 EST; Monday 9 March 10:00 EDT. */
  hk_clock_eval(h, &early, 1, at("2026-03-06T21:00:00Z"), &out);
  cr_assert_eq(out.n, 1);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-03-09T14:00:00Z");
  hk_clocks_fini(&out);
  hk_sla_free(sla);
}

/* ---------------------------------------------------------------------------
 * A zone east of UTC: Asia/Kolkata, +05:30, 09:30-18:30 on weekdays
 * ------------------------------------------------------------------------- */

Test(clock_business, kolkata_evening_runs_into_the_next_morning) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Monday 19 January 18:00 IST (12:30 UTC), 1 hour: 30 minutes to the
   * 18:30 close, 30 from Tuesday 09:30 IST: 10:00 IST, 04:30 UTC. */
  add(&evs, "m1", "lead.mql", "2026-01-19T12:30:00Z", NULL);
  eval1(sla, "hour_kolkata", &evs, "2026-01-19T13:00:00Z", &out);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-20T04:30:00Z");
  /* 48 minutes: 30 on Monday, 18 on Tuesday: 09:48 IST. */
  expect_instant("warn", out.items[0].warn_ms, "2026-01-20T04:18:00Z");
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_elapsed(&out.items[0], 30 * MIN_MS);
  hk_clocks_fini(&out);
  /* Tuesday 09:47:59.999 IST: still open; 09:48 IST (04:18 UTC): at
   * risk, 48 minutes in. */
  expect_as_of(sla, "hour_kolkata", &evs, "2026-01-20T04:17:59.999Z",
               HK_CLOCK_OPEN, 48 * MIN_MS - 1);
  expect_as_of(sla, "hour_kolkata", &evs, "2026-01-20T04:18:00Z",
               HK_CLOCK_AT_RISK, 48 * MIN_MS);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, kolkata_saturday_is_a_utc_friday) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Friday 23 January 20:30 UTC is Saturday 24 January 02:00 IST: the
   * weekend in Kolkata. Counting starts on Monday 26 January 09:30 IST
   * (04:00 UTC): deadline 10:30 IST, warning 10:18 IST. */
  add(&evs, "m1", "lead.mql", "2026-01-23T20:30:00Z", NULL);
  eval1(sla, "hour_kolkata", &evs, "2026-01-26T03:59:59.999Z", &out);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-26T05:00:00Z");
  expect_instant("warn", out.items[0].warn_ms, "2026-01-26T04:48:00Z");
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_elapsed(&out.items[0], 0);
  hk_clocks_fini(&out);
  /* Monday 10:00 IST. */
  expect_as_of(sla, "hour_kolkata", &evs, "2026-01-26T04:30:00Z", HK_CLOCK_OPEN,
               30 * MIN_MS);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, kolkata_early_monday_is_a_utc_sunday) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Sunday 18 January 19:00 UTC is Monday 19 January 00:30 IST, before
   * the 09:30 IST opening (04:00 UTC); stopped at 09:40 IST (04:10 UTC),
   * 10 business minutes in. */
  add(&evs, "m1", "lead.mql", "2026-01-18T19:00:00Z", NULL);
  add(&evs, "c1", "lead.contacted", "2026-01-19T04:10:00Z", NULL);
  eval1(sla, "hour_kolkata", &evs, "2026-01-19T12:00:00Z", &out);
  /* 10:30 IST. */
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T05:00:00Z");
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_elapsed(&out.items[0], 10 * MIN_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * Pause and resume
 * ------------------------------------------------------------------------- */

Test(clock_business, paused_over_the_weekend_holds_still) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  /* Started Friday 16 January 17:58 GMT, paused at 17:59 GMT after one
   * business minute, not resumed yet. (A resume is left out: events later
   * than now still apply, by design, so a resume given here would count
   * as already in.) */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", NULL);
  add(&evs, "h1", "lead.hold", "2026-01-16T17:59:00Z", NULL);
  /* Saturday noon: paused, with Friday's minute. */
  expect_as_of(sla, "five_london", &evs, "2026-01-17T12:00:00Z",
               HK_CLOCK_PAUSED, MIN_MS);
  /* Monday 10:00 GMT, past the unpaused deadline (09:03): still paused,
   * not breached, and no business time counted. */
  expect_as_of(sla, "five_london", &evs, "2026-01-19T10:00:00Z",
               HK_CLOCK_PAUSED, MIN_MS);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, paused_over_the_weekend_the_rest_counts_from_resume) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* As above, resumed Monday 19 January 09:30 GMT: the other 4 minutes
   * run from 09:30, to 09:34 GMT, and the warning's 3 left to 09:33 GMT.
   * Without the pause the deadline would have been 09:03. */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", NULL);
  add(&evs, "h1", "lead.hold", "2026-01-16T17:59:00Z", NULL);
  add(&evs, "u1", "lead.unhold", "2026-01-19T09:30:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-01-19T09:31:00Z", &out);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:34:00Z");
  expect_instant("warn", out.items[0].warn_ms, "2026-01-19T09:33:00Z");
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  /* 1 minute on Friday, 1 since the resume. */
  expect_elapsed(&out.items[0], 2 * MIN_MS);
  hk_clocks_fini(&out);
  expect_as_of(sla, "five_london", &evs, "2026-01-19T09:32:59.999Z",
               HK_CLOCK_OPEN, 4 * MIN_MS - 1);
  expect_as_of(sla, "five_london", &evs, "2026-01-19T09:33:00Z",
               HK_CLOCK_AT_RISK, 4 * MIN_MS);
  expect_as_of(sla, "five_london", &evs, "2026-01-19T09:34:00Z",
               HK_CLOCK_BREACHED, 5 * MIN_MS);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, paused_then_stopped_after_resume_is_met) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* As above, stopped at Monday 09:33:30 GMT: 1 minute on Friday and
   * 3.5 after the resume, before the 09:34 deadline. Given in reverse
   * order: the events' own times decide. */
  add(&evs, "c1", "lead.contacted", "2026-01-19T09:33:30Z", NULL);
  add(&evs, "u1", "lead.unhold", "2026-01-19T09:30:00Z", NULL);
  add(&evs, "h1", "lead.hold", "2026-01-16T17:59:00Z", NULL);
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", NULL);
  eval1(sla, "five_london", &evs, "2026-01-19T12:00:00Z", &out);
  expect_state(&out.items[0], HK_CLOCK_MET);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:34:00Z");
  expect_elapsed(&out.items[0], 4 * MIN_MS + 30000);
  cr_expect_eq(out.items[0].ever_breached, 0);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, pause_in_closed_time_changes_nothing) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Friday 16 January 17:30 GMT, 1 hour; paused Saturday 10:00, resumed
   * Sunday 10:00: no business time in the pause, so the deadline is still
   * Monday 09:30 GMT and the warning 09:18 GMT. */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:30:00Z", NULL);
  add(&evs, "h1", "lead.hold", "2026-01-17T10:00:00Z", NULL);
  add(&evs, "u1", "lead.unhold", "2026-01-18T10:00:00Z", NULL);
  eval1(sla, "hour_london", &evs, "2026-01-19T09:00:00Z", &out);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:30:00Z");
  expect_instant("warn", out.items[0].warn_ms, "2026-01-19T09:18:00Z");
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_elapsed(&out.items[0], 30 * MIN_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * Goals by segment
 * ------------------------------------------------------------------------- */

Test(clock_business, enterprise_goal_counts_its_own_business_minutes) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Friday 16 January 17:58 GMT, enterprise: 5 minutes, Monday 09:03 GMT,
   * warned at 4 minutes, 09:02 GMT. */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z",
      "{\"segment\": \"enterprise\"}");
  eval1(sla, "tiered_london", &evs, "2026-01-19T09:30:00Z", &out);
  cr_expect_eq(out.items[0].goal, 0);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:03:00Z");
  expect_instant("warn", out.items[0].warn_ms, "2026-01-19T09:02:00Z");
  /* Monday 09:30 GMT: 2 + 30 minutes, breached. */
  expect_state(&out.items[0], HK_CLOCK_BREACHED);
  expect_elapsed(&out.items[0], 32 * MIN_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, other_segments_get_the_sla_in_business_time) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* The same start, smb: the SLA's hour, 2 minutes on Friday and 58 from
   * Monday 09:00 GMT: 09:58 GMT; warned at 48 minutes: 09:46 GMT. */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z", "{\"segment\": \"smb\"}");
  eval1(sla, "tiered_london", &evs, "2026-01-19T09:30:00Z", &out);
  cr_expect_eq(out.items[0].goal, -1);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:58:00Z");
  expect_instant("warn", out.items[0].warn_ms, "2026-01-19T09:46:00Z");
  expect_state(&out.items[0], HK_CLOCK_OPEN);
  expect_elapsed(&out.items[0], 32 * MIN_MS);
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

Test(clock_business, enterprise_goal_after_a_pause_keeps_its_budget) {
  struct hk_sla *sla = sla_new();
  struct events evs = {0};
  struct hk_clocks out;
  /* Enterprise, Friday 17:58 GMT, paused at 17:59 after 1 minute, resumed
   * Monday 09:30 GMT: the goal's 4 minutes left run to 09:34 GMT (the
   * SLA's hour would have left 59, to 10:29). */
  add(&evs, "m1", "lead.mql", "2026-01-16T17:58:00Z",
      "{\"segment\": \"enterprise\"}");
  add(&evs, "h1", "lead.hold", "2026-01-16T17:59:00Z", NULL);
  add(&evs, "u1", "lead.unhold", "2026-01-19T09:30:00Z", NULL);
  eval1(sla, "tiered_london", &evs, "2026-01-19T09:31:00Z", &out);
  cr_expect_eq(out.items[0].goal, 0);
  expect_instant("deadline", out.items[0].deadline_ms, "2026-01-19T09:34:00Z");
  expect_instant("warn", out.items[0].warn_ms, "2026-01-19T09:33:00Z");
  hk_clocks_fini(&out);
  hk_sla_free(sla);
  events_fini(&evs);
}

/* ---------------------------------------------------------------------------
 * A calendar whose zone cannot be compiled
 * ------------------------------------------------------------------------- */

/* CONFIG's shape with one calendar in zone tz and one handoff using it. */
#define ONE_CALENDAR(tz)                                                       \
  "{'sources': {'demo': {'kind': 'standard-webhooks',"                         \
  "  'secret': {'env': 'S'}}},"                                                \
  "'stages': {"                                                                \
  "  'mql': {'owner': 'Marketing', 'entered_on': ['lead.mql']},"               \
  "  'sql': {'owner': 'SDR', 'entered_on': ['lead.contacted']}},"              \
  "'calendars': {'support_emea': {'timezone': '" tz "',"                       \
  "  'hours': {" WEEKDAYS(                                                     \
      "['09:00', '18:00']") "}}},"                                             \
                            "'handoffs': {'lead': {'owner': 'SDR "             \
                            "team', " EVENTS ","                               \
                            "  'calendar': 'support_emea', 'sla': {'within': " \
                            "'5m'}}}}"

Test(clock_business, unknown_zone_is_refused_by_the_config_loader) {
  /* The schema already checks that the zone exists, so a config naming a
   * zone that does not never reaches hk_sla_new. */
  char *json = config_text(ONE_CALENDAR("Mars/Olympus_Mons"));
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  enum hk_err rc = hk_config_parse(json, strlen(json), "test.json",
                                   HK_CONFIG_NO_SECRETS, &cfg, &diag);
  cr_expect_eq(rc, HK_E_CONFIG);
  cr_expect_null(cfg);
  cr_assert_eq(diag.n, 1);
  cr_expect_not_null(strstr(diag.lines[0], "$.calendars.support_emea.timezone"),
                     "diag: %s", diag.lines[0]);
  cr_expect_not_null(strstr(diag.lines[0], "Mars/Olympus_Mons"), "diag: %s",
                     diag.lines[0]);
  hk_config_diag_fini(&diag);
  hk_config_free(cfg);
  free(json);
}

/* Loads ONE_CALENDAR text, which the schema accepts, and expects
 * hk_sla_new to refuse it with HK_E_CONFIG naming the calendar. */
static void expect_sla_refused(const char *text) {
  struct hk_config *cfg = config_new(text);
  struct hk_error err = {HK_E_OK, ""};
  cr_expect_null(hk_sla_new(cfg, &err));
  cr_expect_eq(err.code, HK_E_CONFIG);
  cr_expect_not_null(strstr(err.msg, "support_emea"), "message: %s", err.msg);
  hk_config_free(cfg);
}

Test(clock_business, zone_file_that_is_not_a_zone_fails_hk_sla_new) {
  /* The schema only asks that the file be readable, so a folder of the
   * zoneinfo and its text file leapseconds load; the calendar insists on a
   * TZif file, and hk_sla_new fails. (handoffctl check-config therefore
   * passes these configs, and the worker refuses them at start.) */
  expect_sla_refused(ONE_CALENDAR("America"));
  expect_sla_refused(ONE_CALENDAR("leapseconds"));
}

Test(clock_business, zone_gone_from_zoneinfo_fails_hk_sla_new) {
  /* The config loads against the system's zoneinfo, then the zoneinfo no
   * longer has the zone when the handoffs are compiled (TZDIR now points
   * elsewhere; each Criterion test runs in its own process). */
  struct hk_config *cfg = config_new(ONE_CALENDAR("Europe/London"));
  struct hk_error err = {HK_E_OK, ""};
  cr_assert_eq(setenv("TZDIR", "/nonexistent/zoneinfo", 1), 0);
  cr_expect_null(hk_sla_new(cfg, &err));
  cr_expect_eq(err.code, HK_E_CONFIG);
  cr_expect_not_null(strstr(err.msg, "support_emea"), "message: %s", err.msg);
  cr_assert_eq(unsetenv("TZDIR"), 0);
  hk_config_free(cfg);
}
