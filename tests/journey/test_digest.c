/*
 * test_digest.c -- the weekly review's schedule, period (in a zone with
 * clock changes), document and words.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

/* 2026-03-30 is a Monday; Berlin moved to summer time (UTC+2) on the 29th.
 * 2026-03-23, a Monday of winter time (UTC+1). */
#define MON_30_MAR_0000_UTC 1774828800000LL
#define HOUR 3600000LL
#define DAY (24 * HOUR)

static json_t *config(const char *schedule, const char *calendar) {
  json_t *doc = json_pack(
      "{s:{s:{s:s,s:{}}},s:{s:{s:s,s:s,s:[s],s:[]}}}", "calendars", "office",
      "timezone", "Europe/Berlin", "hours", "digests", "weekly", "notifier",
      "hook", "schedule", schedule, "handoffs", "lead_response", "stages");
  if (calendar != NULL) {
    json_object_set_new(
        json_object_get(json_object_get(doc, "digests"), "weekly"), "calendar",
        json_string(calendar));
  }
  return doc;
}

Test(digest, schedule_is_a_day_and_a_time) {
  int d;
  int m;
  cr_assert_eq(hk_digest_schedule_parse("Mon 09:00", &d, &m), 0);
  cr_assert_eq(d, 0);
  cr_assert_eq(m, 540);
  cr_assert_eq(hk_digest_schedule_parse("Sun 23:59", &d, &m), 0);
  cr_assert_eq(d, 6);
  cr_assert_eq(hk_digest_schedule_parse("mon 09:00", &d, &m), -1);
  cr_assert_eq(hk_digest_schedule_parse("Mon 24:00", &d, &m), -1);
  cr_assert_eq(hk_digest_schedule_parse("Mon 9:00", &d, &m), -1);
  cr_assert_eq(hk_digest_schedule_parse("Monday 09:00", &d, &m), -1);
}

Test(digest, the_period_starts_at_the_scheduled_local_time) {
  struct hk_error err = {HK_E_OK, ""};
  json_t *cfg = config("Mon 09:00", "office");
  struct hk_digest *d = hk_digest_new("weekly", cfg, &err);
  cr_assert_not_null(d, "%s", err.msg);
  /* Summer time: 09:00 in Berlin is 07:00 UTC. */
  cr_assert_eq(hk_digest_period(d, MON_30_MAR_0000_UTC + 7 * HOUR),
               MON_30_MAR_0000_UTC + 7 * HOUR);
  cr_assert_eq(hk_digest_period(d, MON_30_MAR_0000_UTC + 3 * DAY),
               MON_30_MAR_0000_UTC + 7 * HOUR);
  /* A second before: last week's, winter time, 08:00 UTC. */
  cr_assert_eq(hk_digest_period(d, MON_30_MAR_0000_UTC + 7 * HOUR - 1000),
               MON_30_MAR_0000_UTC - 7 * DAY + 8 * HOUR);
  hk_digest_free(d);
  json_decref(cfg);
}

Test(digest, without_a_calendar_the_zone_is_utc) {
  struct hk_error err = {HK_E_OK, ""};
  json_t *cfg = config("Wed 06:30", NULL);
  struct hk_digest *d = hk_digest_new("weekly", cfg, &err);
  cr_assert_not_null(d, "%s", err.msg);
  cr_assert_eq(hk_digest_period(d, MON_30_MAR_0000_UTC + 3 * DAY),
               MON_30_MAR_0000_UTC + 2 * DAY + 6 * HOUR + 30 * 60000LL);
  hk_digest_free(d);
  json_decref(cfg);
}

static json_t *health(void) {
  return json_loads(
      "{\"status\":\"red\",\"reason\":\"x\",\"computed_at\":"
      "\"2026-03-30T07:00:00.000Z\",\"handoffs\":["
      "{\"name\":\"lead_response\",\"status\":\"red\",\"owner\":\"SDR\","
      "\"reason\":\"attainment 40% vs 95%\",\"kpis\":["
      "{\"name\":\"p90\",\"status\":\"green\",\"owner\":\"A\",\"window\":"
      "\"7d\",\"unit\":\"ms\",\"target\":60000,\"value\":30000,\"text\":"
      "\"p90 30s\",\"action\":\"Act.\"},"
      "{\"name\":\"att\",\"status\":\"red\",\"owner\":\"Head of SDR\","
      "\"window\":\"7d\",\"unit\":\"share\",\"target\":0.95,\"value\":0.4,"
      "\"text\":\"attainment 40%\",\"action\":\"Rebalance.\"}]},"
      "{\"name\":\"kickoff\",\"status\":\"red\",\"owner\":\"CS\",\"reason\":"
      "\"r\",\"kpis\":[{\"name\":\"k\",\"status\":\"red\",\"owner\":\"B\","
      "\"window\":\"7d\",\"unit\":\"share\",\"target\":0.9,\"value\":0.1,"
      "\"text\":\"t\",\"action\":\"a\"}]}],\"stages\":[]}",
      0, NULL);
}

Test(digest, reds_first_only_what_it_covers_and_what_changed) {
  struct hk_error err = {HK_E_OK, ""};
  json_t *cfg = config("Mon 09:00", "office");
  struct hk_digest *d = hk_digest_new("weekly", cfg, &err);
  json_t *h = health();
  json_t *prev = json_loads("{\"att\":{\"value\":0.92,\"status\":\"amber\","
                            "\"unit\":\"share\"}}",
                            0, NULL);
  json_t *doc = hk_digest_build(d, h, prev, MON_30_MAR_0000_UTC,
                                MON_30_MAR_0000_UTC + 1000);
  json_t *kpis = json_object_get(doc, "kpis");
  char *text;
  cr_assert_eq(json_array_size(kpis), 2);
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(kpis, 0), "name")),
      "att");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(kpis, 0), "change")),
      "worse");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(kpis, 1), "change")),
      "new");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "red");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "reason")),
                   "lead_response: attainment 40% vs 95%");
  text = hk_digest_text(doc);
  cr_assert(strstr(text, "RED     att (handoff lead_response), owner Head of "
                         "SDR") != NULL,
            "%s", text);
  cr_assert(strstr(text, "last digest 92.0% (amber): worse") != NULL, "%s",
            text);
  cr_assert(strstr(text, "action plan: Rebalance.") != NULL, "%s", text);
  cr_assert(strstr(text, "kickoff") == NULL, "%s", text);
  free(text);
  json_decref(doc);
  json_decref(prev);
  json_decref(h);
  hk_digest_free(d);
  json_decref(cfg);
}

Test(digest, slack_gets_block_kit_with_the_reds_first) {
  struct hk_error err = {HK_E_OK, ""};
  json_t *cfg = config("Mon 09:00", NULL);
  struct hk_digest *d = hk_digest_new("weekly", cfg, &err);
  json_t *h = health();
  json_t *doc =
      hk_digest_build(d, h, NULL, MON_30_MAR_0000_UTC, MON_30_MAR_0000_UTC);
  struct hk_notifier n;
  char name[] = "slack";
  char url[] = "https://hooks.slack.com/services/T/B/x";
  struct hk_alert_request rq;
  json_t *body;
  json_t *blocks;
  memset(&n, 0, sizeof n);
  n.name = name;
  n.kind = HK_NOTIFIER_SLACK;
  n.url = url;
  cr_assert_eq(hk_digest_request(&n, doc, "digest:weekly:1", 0, &rq, &err),
               HK_E_OK, "%s", err.msg);
  body = json_loads(rq.body, 0, NULL);
  blocks = json_object_get(body, "blocks");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(blocks, 0), "type")),
      "header");
  cr_assert(
      strstr(json_string_value(json_object_get(
                 json_object_get(json_array_get(blocks, 3), "text"), "text")),
             ":red_circle: *RED* att") != NULL);
  cr_assert(strstr(rq.body, "*Action plan:* Rebalance.") != NULL, "%s",
            rq.body);
  json_decref(body);
  hk_alert_request_fini(&rq);
  json_decref(doc);
  json_decref(h);
  hk_digest_free(d);
  json_decref(cfg);
}
