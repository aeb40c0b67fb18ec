/*
 * test_calendar.c -- business time (hk_calendar_add, hk_calendar_between):
 * weekends, lunch breaks, ranges across midnight, holidays, DST changes in
 * both directions in London and New York, a zone east of UTC at a half
 * hour, DST after 2037 (from the zone file's rule), one calendar shared by
 * threads, the agreement of add and between, and the errors of
 * hk_calendar_new.
 *
 * Every expected instant was worked out by hand from the zone's rules and
 * is written as an RFC 3339 time (parsed by the mapper's parser, not by the
 * calendar), usually in UTC with the local time beside it in a comment.
 * Rules used: Europe/London is GMT (+00:00) in winter and BST (+01:00) from
 * 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
 * October; America/New_York is EST (-05:00), and EDT (-04:00) from 02:00
 * local on the second Sunday of March to 02:00 local on the first Sunday of
 * November; Asia/Kolkata is +05:30 all year. In 2026 those Sundays are
 * 29 March and 25 October (London), 8 March and 1 November (New York), and
 * 16 January 2026 is a Friday.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS (60 * MIN_MS)

/* An RFC 3339 time in ms; the test fails when it does not parse. */
static int64_t at(const char *iso) {
  int64_t ms = 0;
  cr_assert_eq(hk_map_rfc3339_ms(iso, &ms), 0, "bad time in test: %s", iso);
  return ms;
}

/* A calendar from JSON written with ' for " (the caller frees). */
static struct hk_calendar *cal(const char *text) {
  char json[1024];
  struct hk_error err = {HK_E_OK, ""};
  json_error_t jerr;
  json_t *conf;
  struct hk_calendar *c;
  size_t i;
  cr_assert_lt(strlen(text), sizeof json);
  for (i = 0; text[i] != '\0'; i++) {
    json[i] = text[i];
    if (json[i] == '\'') {
      json[i] = '"';
    }
  }
  json[i] = '\0';
  conf = json_loads(json, 0, &jerr);
  cr_assert_not_null(conf, "bad JSON in test: %s", jerr.text);
  c = hk_calendar_new("test", conf, &err);
  cr_assert_not_null(c, "calendar: %s", err.msg);
  json_decref(conf);
  return c;
}

#define WEEKDAYS(range)                                                        \
  "'mon': [" range "], 'tue': [" range "], 'wed': [" range "], 'thu': [" range \
  "], 'fri': [" range "]"
#define EVERY_DAY(range)                                                       \
  WEEKDAYS(range) ", 'sat': [" range "], 'sun': [" range "]"

#define OFFICE_UTC                                                             \
  "{'timezone': 'UTC', 'hours': {" WEEKDAYS("['09:00', '18:00']") "}}"

static void expect_add(const struct hk_calendar *c, const char *from,
                       int64_t open_ms, const char *want) {
  int64_t got = hk_calendar_add(c, at(from), open_ms);
  cr_expect_eq(got, at(want), "add(%s, %lld ms): %lld, want %s (%lld)", from,
               (long long)open_ms, (long long)got, want, (long long)at(want));
}

static void expect_between(const struct hk_calendar *c, const char *a,
                           const char *b, int64_t want) {
  int64_t got = hk_calendar_between(c, at(a), at(b));
  cr_expect_eq(got, want, "between(%s, %s): %lld ms, want %lld ms", a, b,
               (long long)got, (long long)want);
}

/* ---------------------------------------------------------------------------
 * Weekly hours
 * ------------------------------------------------------------------------- */

Test(calendar, five_minutes_from_friday_1758_end_three_minutes_into_monday) {
  struct hk_calendar *c =
      cal("{'timezone': 'Europe/London', 'hours': {" WEEKDAYS(
          "['09:00', '18:00']") "}}");
  /* Friday 17:58 GMT; Monday 19 January 09:03 GMT. */
  expect_add(c, "2026-01-16T17:58:00Z", 5 * MIN_MS, "2026-01-19T09:03:00Z");
  hk_calendar_free(c);
}

Test(calendar, lunch_break_is_not_counted) {
  struct hk_calendar *c =
      cal("{'timezone': 'Europe/London', 'hours': {" WEEKDAYS(
          "['09:00', '12:30'], ['13:30', '18:00']") "}}");
  /* 30 minutes before lunch, 30 after. */
  expect_add(c, "2026-01-19T12:00:00Z", HOUR_MS, "2026-01-19T14:00:00Z");
  /* Started during lunch: counts from 13:30. */
  expect_add(c, "2026-01-19T12:45:00Z", 10 * MIN_MS, "2026-01-19T13:40:00Z");
  expect_between(c, "2026-01-19T00:00:00Z", "2026-01-20T00:00:00Z",
                 8 * HOUR_MS);
  hk_calendar_free(c);
}

Test(calendar, range_across_midnight_runs_into_the_next_day) {
  struct hk_calendar *c =
      cal("{'timezone': 'UTC', 'hours': {" WEEKDAYS("['22:00', '06:00']") "}}");
  /* Monday 23:00 to Tuesday 06:00 is 7 h; the 8th is Tuesday 22:00-23:00. */
  expect_add(c, "2026-01-19T23:00:00Z", 8 * HOUR_MS, "2026-01-20T23:00:00Z");
  /* Friday's range runs into Saturday 06:00, then nothing until Monday. */
  expect_add(c, "2026-01-24T05:00:00Z", 2 * HOUR_MS, "2026-01-26T23:00:00Z");
  /* Monday 00:00-06:00 belongs to Sunday's range, and Sunday is closed. */
  expect_between(c, "2026-01-19T00:00:00Z", "2026-01-19T22:00:00Z", 0);
  hk_calendar_free(c);
}

Test(calendar, start_in_closed_time_counts_from_the_next_opening) {
  struct hk_calendar *c = cal(OFFICE_UTC);
  /* Saturday 10:00: the hour is Monday 09:00-10:00. */
  expect_add(c, "2026-01-17T10:00:00Z", HOUR_MS, "2026-01-19T10:00:00Z");
  /* Monday 07:00, before opening. */
  expect_add(c, "2026-01-19T07:00:00Z", 30 * MIN_MS, "2026-01-19T09:30:00Z");
  /* Monday 18:00 is closing time: Tuesday. */
  expect_add(c, "2026-01-19T18:00:00Z", MIN_MS, "2026-01-20T09:01:00Z");
  hk_calendar_free(c);
}

Test(calendar, zero_open_time_gives_the_start_of_counting) {
  struct hk_calendar *c = cal(OFFICE_UTC);
  expect_add(c, "2026-01-19T10:15:00Z", 0, "2026-01-19T10:15:00Z");
  expect_add(c, "2026-01-17T10:00:00Z", 0, "2026-01-19T09:00:00Z");
  expect_add(c, "2026-01-19T09:00:00Z", 0, "2026-01-19T09:00:00Z");
  hk_calendar_free(c);
}

Test(calendar, deadline_at_closing_time_is_closing_time) {
  struct hk_calendar *c = cal(OFFICE_UTC);
  expect_add(c, "2026-01-16T17:00:00Z", HOUR_MS, "2026-01-16T18:00:00Z");
  hk_calendar_free(c);
}

Test(calendar, deadline_in_closed_time_counts_only_open_time) {
  struct hk_calendar *c = cal(OFFICE_UTC);
  /* From Friday 17:00 to Sunday noon: one open hour. */
  expect_between(c, "2026-01-16T17:00:00Z", "2026-01-18T12:00:00Z", HOUR_MS);
  /* To Monday 09:30: and half an hour more. */
  expect_between(c, "2026-01-16T17:00:00Z", "2026-01-19T09:30:00Z",
                 90 * MIN_MS);
  hk_calendar_free(c);
}

/* ---------------------------------------------------------------------------
 * Holidays
 * ------------------------------------------------------------------------- */

Test(calendar, holiday_monday_pushes_to_tuesday) {
  struct hk_calendar *c =
      cal("{'timezone': 'Europe/London', 'hours': {" WEEKDAYS(
          "['09:00', '18:00']") "}, 'holidays': ['2025-12-25', '2026-01-19']}");
  expect_add(c, "2026-01-16T17:58:00Z", 5 * MIN_MS, "2026-01-20T09:03:00Z");
  expect_between(c, "2026-01-19T00:00:00Z", "2026-01-20T00:00:00Z", 0);
  hk_calendar_free(c);
}

Test(calendar, holiday_closes_its_local_date_across_midnight) {
  struct hk_calendar *c = cal("{'timezone': 'UTC', 'hours': {" EVERY_DAY(
      "['22:00', '06:00']") "}, 'holidays': ['2026-01-20']}");
  /* Monday 22:00-24:00 is open (2 h); Tuesday 00:00-06:00 and 22:00-24:00
   * are the holiday; Wednesday 00:00-06:00, the rest of Tuesday's range, is
   * open again. */
  expect_add(c, "2026-01-19T22:00:00Z", 4 * HOUR_MS, "2026-01-21T02:00:00Z");
  expect_between(c, "2026-01-19T12:00:00Z", "2026-01-21T12:00:00Z",
                 8 * HOUR_MS);
  hk_calendar_free(c);
}

Test(calendar, holiday_in_the_zone_date_not_the_utc_date) {
  struct hk_calendar *c =
      cal("{'timezone': 'Asia/Kolkata', 'hours': {" EVERY_DAY(
          "['00:00', '24:00']") "}, 'holidays': ['2026-01-20']}");
  /* The holiday is 2026-01-19T18:30Z to 2026-01-20T18:30Z. */
  expect_add(c, "2026-01-19T18:00:00Z", HOUR_MS, "2026-01-20T19:00:00Z");
  hk_calendar_free(c);
}

/* ---------------------------------------------------------------------------
 * DST
 * ------------------------------------------------------------------------- */

#define SUNDAY(range) "'sun': [" range "]"

Test(calendar, london_spring_forward_shortens_the_day) {
  struct hk_calendar *early =
      cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
          "['00:00', '04:00']") "}}");
  struct hk_calendar *allday =
      cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
          "['00:00', '24:00']") "}}");
  struct hk_calendar *gap =
      cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
          "['01:30', '03:00']") "}}");
  /* 00:00-01:00 GMT is 00:00Z-01:00Z; 02:00-04:00 BST is 01:00Z-03:00Z. */
  expect_between(early, "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z",
                 3 * HOUR_MS);
  expect_add(early, "2026-03-28T12:00:00Z", 150 * MIN_MS,
             "2026-03-29T02:30:00Z");
  /* 00:00 GMT (00:00Z) to Monday 00:00 BST (2026-03-29T23:00Z). */
  expect_between(allday, "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z",
                 23 * HOUR_MS);
  expect_add(allday, "2026-03-28T12:00:00Z", 23 * HOUR_MS,
             "2026-03-29T23:00:00Z");
  /* 01:30 does not exist: it opens at 02:00 BST (01:00Z), closes at 03:00
   * BST (02:00Z). */
  expect_add(gap, "2026-03-28T12:00:00Z", 0, "2026-03-29T01:00:00Z");
  expect_between(gap, "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z", HOUR_MS);
  hk_calendar_free(early);
  hk_calendar_free(allday);
  hk_calendar_free(gap);
}

Test(calendar, london_fall_back_repeats_an_hour) {
  struct hk_calendar *early =
      cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
          "['00:00', '04:00']") "}}");
  struct hk_calendar *allday =
      cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
          "['00:00', '24:00']") "}}");
  struct hk_calendar *twice =
      cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
          "['01:00', '02:00']") "}}");
  struct hk_calendar *before =
      cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
          "['00:00', '01:00']") "}}");
  /* 00:00 BST (2026-10-24T23:00Z) to 04:00 GMT (04:00Z). */
  expect_between(early, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z",
                 5 * HOUR_MS);
  expect_add(early, "2026-10-24T12:00:00Z", 0, "2026-10-24T23:00:00Z");
  /* Sunday 00:00 BST to Monday 00:00 GMT (2026-10-26T00:00Z). */
  expect_between(allday, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z",
                 25 * HOUR_MS);
  expect_add(allday, "2026-10-24T12:00:00Z", 25 * HOUR_MS,
             "2026-10-26T00:00:00Z");
  /* 01:00-02:00 BST (00:00Z-01:00Z), then 01:00-02:00 GMT (01:00Z-02:00Z);
   * 90 minutes end at 01:30 GMT, the second 01:30 of the day. */
  expect_between(twice, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z",
                 2 * HOUR_MS);
  expect_add(twice, "2026-10-24T12:00:00Z", 90 * MIN_MS,
             "2026-10-25T01:30:00+00:00");
  /* 00:00-01:00 shows once: 00:00 BST to 01:00 BST (00:00Z). */
  expect_between(before, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z",
                 HOUR_MS);
  hk_calendar_free(early);
  hk_calendar_free(allday);
  hk_calendar_free(twice);
  hk_calendar_free(before);
}

Test(calendar, new_york_spring_forward_shortens_the_day) {
  struct hk_calendar *early =
      cal("{'timezone': 'America/New_York', 'hours': {" SUNDAY(
          "['00:00', '04:00']") "}}");
  struct hk_calendar *allday =
      cal("{'timezone': 'America/New_York', 'hours': {" SUNDAY(
          "['00:00', '24:00']") "}}");
  /* 00:00 EST (05:00Z) to 04:00 EDT (08:00Z). */
  expect_between(early, "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z",
                 3 * HOUR_MS);
  /* 2 h run 00:00-02:00 EST (05:00Z-07:00Z); the third starts at 03:00 EDT
   * (07:00Z) and ends at 03:30 EDT. */
  expect_add(early, "2026-03-07T12:00:00Z", 150 * MIN_MS,
             "2026-03-08T03:30:00-04:00");
  /* 00:00 EST (05:00Z) to Monday 00:00 EDT (2026-03-09T04:00Z). */
  expect_between(allday, "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z",
                 23 * HOUR_MS);
  hk_calendar_free(early);
  hk_calendar_free(allday);
}

Test(calendar, new_york_fall_back_repeats_an_hour) {
  struct hk_calendar *early =
      cal("{'timezone': 'America/New_York', 'hours': {" SUNDAY(
          "['00:00', '04:00']") "}}");
  struct hk_calendar *allday =
      cal("{'timezone': 'America/New_York', 'hours': {" SUNDAY(
          "['00:00', '24:00']") "}}");
  /* 00:00 EDT (04:00Z) to 04:00 EST (09:00Z). */
  expect_between(early, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z",
                 5 * HOUR_MS);
  expect_add(early, "2026-10-31T12:00:00Z", 5 * HOUR_MS,
             "2026-11-01T09:00:00Z");
  /* 00:00 EDT (04:00Z) to Monday 00:00 EST (2026-11-02T05:00Z). */
  expect_between(allday, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z",
                 25 * HOUR_MS);
  expect_add(allday, "2026-10-31T12:00:00Z", 0, "2026-11-01T04:00:00Z");
  hk_calendar_free(early);
  hk_calendar_free(allday);
}

Test(calendar, half_hour_zone_east_of_utc) {
  struct hk_calendar *c =
      cal("{'timezone': 'Asia/Kolkata', 'hours': {" WEEKDAYS(
          "['09:00', '18:00']") "}}");
  /* Friday 17:58 IST is 12:28Z; Monday 09:03 IST is 03:33Z. */
  expect_add(c, "2026-01-16T12:28:00Z", 5 * MIN_MS, "2026-01-19T03:33:00Z");
  /* Sunday 22:00Z is already Monday 03:30 IST, before opening. */
  expect_add(c, "2026-01-18T22:00:00Z", 0, "2026-01-19T03:30:00Z");
  /* Monday 05:30 IST to Tuesday 05:30 IST: Monday's 9 hours. */
  expect_between(c, "2026-01-19T00:00:00Z", "2026-01-20T00:00:00Z",
                 9 * HOUR_MS);
  hk_calendar_free(c);
}

Test(calendar, earlier_years_after_later_ones_keep_their_dst) {
  struct hk_calendar *c = cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
      "['00:00', '24:00']") "}}");
  /* Ask about 2026 first, then 2020 (DST began Sunday 2020-03-29 at 01:00Z),
   * then 2030 (it ends Sunday 2030-10-27 at 01:00Z). */
  expect_between(c, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z",
                 25 * HOUR_MS);
  expect_between(c, "2020-03-28T12:00:00Z", "2020-03-30T12:00:00Z",
                 23 * HOUR_MS);
  expect_between(c, "2030-10-26T12:00:00Z", "2030-10-28T12:00:00Z",
                 25 * HOUR_MS);
  /* An ordinary Sunday between them: 24 h. */
  expect_between(c, "2024-01-06T12:00:00Z", "2024-01-08T12:00:00Z",
                 24 * HOUR_MS);
  hk_calendar_free(c);
}

Test(calendar, dst_after_2037_follows_the_zone_rule) {
  /* Debian's zone files list changes up to 2037; later ones come from the
   * rule at the file's end. London: Sunday 25 March 2040 has 23 hours,
   * Sunday 28 October 2040 25. New York: Sunday 13 March 2050 has 23. */
  struct hk_calendar *london =
      cal("{'timezone': 'Europe/London', 'hours': {" SUNDAY(
          "['00:00', '24:00']") "}}");
  struct hk_calendar *new_york =
      cal("{'timezone': 'America/New_York', 'hours': {" SUNDAY(
          "['00:00', '24:00']") "}}");
  expect_between(london, "2040-03-24T12:00:00Z", "2040-03-26T12:00:00Z",
                 23 * HOUR_MS);
  expect_between(london, "2040-10-27T12:00:00Z", "2040-10-29T12:00:00Z",
                 25 * HOUR_MS);
  /* Sunday 00:00 EST is 05:00Z; Monday 00:00 EDT is 04:00Z. */
  expect_add(new_york, "2050-03-12T12:00:00Z", 23 * HOUR_MS,
             "2050-03-14T04:00:00Z");
  hk_calendar_free(london);
  hk_calendar_free(new_york);
}

/* ---------------------------------------------------------------------------
 * Threads: a compiled calendar is immutable, so threads share it
 * ------------------------------------------------------------------------- */

#define SHARED_N 2000

struct shared {
  const struct hk_calendar *c;
  int64_t from[SHARED_N];
  int64_t want[SHARED_N];
  int wrong;
};

/* An instant every 4 days and 7 hours from 2026 to 2049, so that the
 * instants asked about cross many changes of offset, before and after
 * 2037. */
static int64_t shared_from(int i) {
  return at("2026-01-01T00:00:00Z") + (int64_t)i * (103 * HOUR_MS);
}

static void *ask_shared(void *arg) {
  struct shared *s = arg;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < SHARED_N; i++) {
      int64_t got = hk_calendar_add(s->c, s->from[i], 10 * HOUR_MS);
      if (got != s->want[i] ||
          hk_calendar_between(s->c, s->from[i], got) != 10 * HOUR_MS) {
        __atomic_add_fetch(&s->wrong, 1, __ATOMIC_RELAXED);
      }
    }
  }
  return NULL;
}

Test(calendar, one_calendar_answers_many_threads_at_once) {
  struct hk_calendar *c =
      cal("{'timezone': 'America/New_York', 'hours': {" WEEKDAYS(
          "['09:00', '18:00']") "}}");
  static struct shared s;
  pthread_t threads[4];
  s.c = c;
  s.wrong = 0;
  for (int i = 0; i < SHARED_N; i++) {
    s.from[i] = shared_from(i);
    s.want[i] = hk_calendar_add(c, s.from[i], 10 * HOUR_MS);
  }
  for (int t = 0; t < 4; t++) {
    cr_assert_eq(pthread_create(&threads[t], NULL, ask_shared, &s), 0);
  }
  for (int t = 0; t < 4; t++) {
    cr_assert_eq(pthread_join(threads[t], NULL), 0);
  }
  cr_expect_eq(s.wrong, 0, "%d answers differed between threads", s.wrong);
  hk_calendar_free(c);
}

/* ---------------------------------------------------------------------------
 * add and between agree
 * ------------------------------------------------------------------------- */

/* Inline text: Criterion hands parameters to the test process as bytes. */
struct agree_case {
  char conf[512];
  char from[32];
  int64_t open_ms;
};

#define LONDON_LUNCH                                                           \
  "{'timezone': 'Europe/London', 'hours': {" WEEKDAYS(                         \
      "['09:00', '12:30'], ['13:30', '18:00']") "}, 'holidays': "              \
                                                "['2026-12-25']}"
#define NY_NIGHTS                                                              \
  "{'timezone': 'America/New_York', 'hours': {" EVERY_DAY(                     \
      "['22:00', '03:00']") "}}"
#define KOLKATA_OFFICE                                                         \
  "{'timezone': 'Asia/Kolkata', 'hours': {" WEEKDAYS("['09:30', '18:30']") "}" \
                                                                           "}"

ParameterizedTestParameters(calendar, between_undoes_add) {
  static struct agree_case cases[] = {
      {LONDON_LUNCH, "2026-01-16T17:58:00Z", 5 * MIN_MS},
      {LONDON_LUNCH, "2026-01-19T12:00:00Z", 0},
      {LONDON_LUNCH, "2026-03-27T16:00:00Z", 8 * HOUR_MS},
      {LONDON_LUNCH, "2026-10-23T10:00:00Z", 40 * HOUR_MS},
      {LONDON_LUNCH, "2026-12-24T17:00:00Z", 3 * HOUR_MS},
      {NY_NIGHTS, "2026-03-07T12:00:00Z", 6 * HOUR_MS},
      {NY_NIGHTS, "2026-10-31T23:00:00Z", 7 * HOUR_MS + 1},
      {NY_NIGHTS, "2026-11-01T05:30:00Z", 90 * MIN_MS},
      {KOLKATA_OFFICE, "2026-01-18T20:00:00Z", 100 * HOUR_MS},
      {KOLKATA_OFFICE, "2026-06-01T12:59:59.999Z", 1},
  };
  return cr_make_param_array(struct agree_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct agree_case *k, calendar, between_undoes_add) {
  char conf[512];
  struct hk_calendar *c;
  int64_t a = at(k->from);
  int64_t b;
  memcpy(conf, k->conf, sizeof conf);
  c = cal(conf);
  b = hk_calendar_add(c, a, k->open_ms);
  cr_assert_neq(b, HK_NEVER, "%s: never", k->from);
  cr_expect_eq(hk_calendar_between(c, a, b), k->open_ms,
               "%s + %lld ms: between gives %lld", k->from,
               (long long)k->open_ms, (long long)hk_calendar_between(c, a, b));
  hk_calendar_free(c);
}

Test(calendar, between_over_closed_time_is_zero) {
  struct hk_calendar *c = cal(OFFICE_UTC);
  expect_between(c, "2026-01-17T00:00:00Z", "2026-01-19T09:00:00Z", 0);
  expect_between(c, "2026-01-19T18:00:00Z", "2026-01-20T09:00:00Z", 0);
  expect_between(c, "2026-01-20T12:00:00Z", "2026-01-19T12:00:00Z", 0);
  hk_calendar_free(c);
}

Test(calendar, null_calendar_is_calendar_time) {
  int64_t a = at("2026-01-17T10:00:00Z");
  cr_expect_eq(hk_calendar_add(NULL, a, 5 * MIN_MS), a + 5 * MIN_MS);
  cr_expect_eq(hk_calendar_between(NULL, a, a + HOUR_MS), HOUR_MS);
  cr_expect_eq(hk_calendar_between(NULL, a + HOUR_MS, a), 0);
  cr_expect_eq(hk_calendar_add(NULL, HK_NEVER, 1), HK_NEVER);
}

/* ---------------------------------------------------------------------------
 * Errors and empty calendars
 * ------------------------------------------------------------------------- */

static void expect_refused(const char *json) {
  struct hk_error err = {HK_E_OK, ""};
  json_t *conf = json_loads(json, 0, NULL);
  cr_assert_not_null(conf);
  cr_expect_null(hk_calendar_new("support_emea", conf, &err));
  cr_expect_eq(err.code, HK_E_CONFIG);
  cr_expect_not_null(strstr(err.msg, "support_emea"), "message: %s", err.msg);
  json_decref(conf);
}

Test(calendar, unknown_zone_is_a_config_error_naming_the_calendar) {
  expect_refused("{\"timezone\": \"Mars/Olympus_Mons\", \"hours\": {}}");
  /* A folder of the zoneinfo is not a zone. */
  expect_refused("{\"timezone\": \"America\", \"hours\": {}}");
  expect_refused("{\"timezone\": \"../zoneinfo/UTC\", \"hours\": {}}");
  /* A text file of the zoneinfo folder is not a zone either. */
  expect_refused("{\"timezone\": \"leapseconds\", \"hours\": {}}");
}

Test(calendar, calendar_without_hours_never_opens) {
  struct hk_calendar *c = cal("{'timezone': 'UTC', 'hours': {}}");
  cr_expect_eq(hk_calendar_add(c, at("2026-01-19T10:00:00Z"), 0), HK_NEVER);
  cr_expect_eq(hk_calendar_add(c, at("2026-01-19T10:00:00Z"), MIN_MS),
               HK_NEVER);
  expect_between(c, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", 0);
  hk_calendar_free(c);
}

Test(calendar, open_time_past_the_cap_never_comes) {
  struct hk_calendar *c = cal(OFFICE_UTC);
  int64_t a = at("2026-01-19T09:00:00Z");
  /* HK_CAP_CALENDAR_DAYS (3660 days, 522 weeks and 6 days) hold a little
   * over 522 * 45 = 23490 open hours of this office. */
  cr_expect_neq(hk_calendar_add(c, a, 23000 * HOUR_MS), HK_NEVER);
  cr_expect_eq(hk_calendar_add(c, a, 24000 * HOUR_MS), HK_NEVER);
  cr_expect_eq(hk_calendar_add(c, HK_NEVER, 0), HK_NEVER);
  cr_expect_eq(hk_calendar_between(c, a, HK_NEVER), HK_NEVER);
  hk_calendar_free(c);
}

Test(calendar, free_accepts_null) {
  hk_calendar_free(NULL);
}

Test(calendar, leaves_the_process_time_zone_as_it_was) {
  struct hk_calendar *c = cal("{'timezone': 'Asia/Kolkata', 'hours': {" SUNDAY(
      "['00:00', '24:00']") "}}");
  cr_assert_eq(setenv("TZ", "America/Los_Angeles", 1), 0);
  expect_add(c, "2026-01-16T12:28:00Z", 0, "2026-01-17T18:30:00Z");
  cr_expect_str_eq(getenv("TZ"), "America/Los_Angeles");
  cr_assert_eq(unsetenv("TZ"), 0);
  /* Years later: the zone's rule, not a file read again. */
  expect_add(c, "2036-01-16T12:28:00Z", 0, "2036-01-19T18:30:00Z");
  cr_expect_null(getenv("TZ"));
  hk_calendar_free(c);
}
