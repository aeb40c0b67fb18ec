/*
 * test_ladder.c -- escalation ladders (journey/ladder.c): which step goes
 * out when, in business time, to whom, and the default ladder.
 *
 * The handoff counts business time in London, open 09:00-17:00 on
 * weekdays (in November London time is UTC). A lead on Friday 20 November
 * 2026 at 15:30 with one business hour and warn_at 0.5 is at risk at 16:00
 * and breached at 16:30; "breached for 1h" is then 30 minutes on Friday
 * and 30 on Monday: Monday 23 November 09:30, not Friday 17:30.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "journey/journey.h"

#define FRI_1530 INT64_C(1795188600000)
#define FRI_1600 INT64_C(1795190400000)
#define FRI_1630 INT64_C(1795192200000)
#define FRI_1700 INT64_C(1795194000000)
#define MON_0930 INT64_C(1795426200000)
#define MON_1000 INT64_C(1795428000000)

static const char config_text[] =
    "{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\","
    "  \"secret\": {\"env\": \"S\"}}},"
    " \"calendars\": {\"office\": {\"timezone\": \"Europe/London\","
    "  \"hours\": {\"mon\": [[\"09:00\", \"17:00\"]], \"tue\": [[\"09:00\","
    "  \"17:00\"]], \"wed\": [[\"09:00\", \"17:00\"]], \"thu\": [[\"09:00\","
    "  \"17:00\"]], \"fri\": [[\"09:00\", \"17:00\"]]}}},"
    " \"owners\": {\"ana\": {\"name\": \"Ana Lima\", \"slack\": \"U0ANA1\","
    "  \"email\": \"ana@example.com\", \"manager\": \"bo\"},"
    "  \"bo\": {\"name\": \"Bo Chen\", \"slack\": \"@bo\", \"manager\": "
    "\"cy\"},"
    "  \"cy\": {\"name\": \"Cy Diaz\"}},"
    " \"notifiers\": {\"sdr\": {\"kind\": \"webhook\", \"url\":"
    "  \"https://example.com/a\", \"secret\": {\"env\": \"S\"}},"
    "  \"revops\": {\"kind\": \"webhook\", \"url\": \"https://example.com/b\","
    "  \"secret\": {\"env\": \"S\"}}},"
    " \"ladders\": {\"three\": ["
    "  {\"state\": \"at_risk\"},"
    "  {\"state\": \"breached\", \"to\": [\"owner\", \"manager\"]},"
    "  {\"state\": \"breached\", \"after\": \"1h\", \"to\": [\"cy\"],"
    "   \"notify\": [\"revops\"]}]},"
    " \"handoffs\": {"
    "  \"lead\": {\"owner\": \"sdr-team\", \"start\": [\"lead.mql\"],"
    "   \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"1h\"},"
    "   \"warn_at\": 0.5, \"calendar\": \"office\", \"notify\": [\"sdr\"],"
    "   \"ladder\": \"three\"},"
    "  \"plain\": {\"owner\": \"sdr-team\", \"start\": [\"lead.mql\"],"
    "   \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"1h\"},"
    "   \"notify\": [\"sdr\"]}}}";

static struct hk_config *cfg;
static struct hk_sla *sla;

static void setup(void) {
  struct hk_config_diag diag;
  struct hk_error err = {HK_E_OK, ""};
  enum hk_err rc = hk_config_parse(config_text, strlen(config_text), "t.json",
                                   HK_CONFIG_NO_SECRETS, &cfg, &diag);
  cr_assert_eq(rc, HK_E_OK, "%s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  sla = hk_sla_new(cfg, &err);
  cr_assert_not_null(sla, "%s", err.msg);
}

static void teardown(void) {
  hk_sla_free(sla);
  hk_config_free(cfg);
}

TestSuite(ladder, .init = setup, .fini = teardown);

/* The clock of a lead started Friday 15:30 by ana (and stopped at stop_ms
 * unless 0), as of now_ms. */
static void lead_clock(const char *handoff, int64_t stop_ms, int64_t now_ms,
                       struct hk_clocks *out) {
  json_t *attrs = json_pack("{s:s}", "owner", "ana");
  struct hk_clock_event evs[2] = {
      {"e1", "lead.mql", FRI_1530, attrs},
      {"e2", "lead.contacted", stop_ms, NULL},
  };
  hk_clock_eval(hk_sla_find(sla, handoff), evs, stop_ms != 0 ? 2 : 1, now_ms,
                out);
  cr_assert_eq(out->n, 1);
  json_decref(attrs);
}

/* Decides the lead's steps as of now with `alerted` gone out; returns the
 * new bits, *fire the ones to send. */
static int decide(int alerted, int64_t now_ms, unsigned *fire) {
  struct hk_clocks cs;
  int out;
  lead_clock("lead", 0, now_ms, &cs);
  out = hk_ladder_decide(hk_sla_find(sla, "lead"), &cs.items[0], alerted,
                         now_ms, fire);
  hk_clocks_fini(&cs);
  return out;
}

Test(ladder, each_step_goes_out_once_at_its_business_time) {
  const struct hk_handoff *h = hk_sla_find(sla, "lead");
  struct hk_clocks cs;
  unsigned fire;

  cr_assert_eq(decide(0, FRI_1600 - 1, &fire), 0);
  cr_assert_eq(fire, 0u);
  cr_assert_eq(decide(0, FRI_1600, &fire), 1);
  cr_assert_eq(fire, 1u);
  cr_assert_eq(decide(1, FRI_1600 + 1000, &fire), 1);
  cr_assert_eq(fire, 0u, "a step goes out once");
  cr_assert_eq(decide(1, FRI_1630, &fire), 3);
  cr_assert_eq(fire, 2u);
  /* Friday 17:29: an hour of calendar time, half an hour of business. */
  cr_assert_eq(decide(3, FRI_1630 + 3600000 - 60000, &fire), 3);
  cr_assert_eq(fire, 0u);
  lead_clock("lead", 0, FRI_1700, &cs);
  cr_assert_eq(hk_ladder_step_at(h, &cs.items[0], 2), MON_0930);
  cr_assert_eq(hk_ladder_next(h, &cs.items[0], 3), MON_0930,
               "the clock is woken on Monday 09:30");
  cr_assert_eq(hk_ladder_next(h, &cs.items[0], 7), HK_NEVER);
  hk_clocks_fini(&cs);
  cr_assert_eq(decide(3, MON_0930 - 1, &fire), 3);
  cr_assert_eq(fire, 0u);
  cr_assert_eq(decide(3, MON_0930, &fire), 7);
  cr_assert_eq(fire, 4u);
}

Test(ladder, a_clock_found_late_skips_its_warning_and_sends_what_is_due) {
  unsigned fire;
  cr_assert_eq(decide(0, MON_1000, &fire), 7);
  cr_assert_eq(fire, 6u, "both breach steps, not the warning");
  cr_assert_eq(decide(0, FRI_1630, &fire), 3);
  cr_assert_eq(fire, 2u);
}

Test(ladder, a_stop_before_a_step_cancels_it_whatever_the_order) {
  const struct hk_handoff *h = hk_sla_find(sla, "lead");
  struct hk_clocks cs;
  unsigned fire;
  /* Stopped on Friday at 17:00, after the breach step: met late, and the
   * Monday step never goes out, even if the stop is seen only then. */
  lead_clock("lead", FRI_1700, MON_1000, &cs);
  cr_assert_eq(cs.items[0].state, HK_CLOCK_MET_LATE);
  cr_assert_eq(hk_ladder_decide(h, &cs.items[0], 3, MON_1000, &fire), 3);
  cr_assert_eq(fire, 0u);
  cr_assert_eq(hk_ladder_next(h, &cs.items[0], 3), HK_NEVER);
  hk_clocks_fini(&cs);
}

Test(ladder, recipients_are_resolved_through_the_directory) {
  const struct hk_ladder *l = hk_handoff_ladder(hk_sla_find(sla, "lead"));
  json_t *to;
  char *text;
  cr_assert_eq(l->n, 3);
  to = hk_ladder_recipients(&l->steps[1], "ana", cfg->doc);
  text = json_dumps(to, JSON_COMPACT | JSON_SORT_KEYS);
  cr_assert_str_eq(text,
                   "[{\"email\":\"ana@example.com\",\"id\":\"ana\",\"name\":"
                   "\"Ana Lima\",\"slack\":\"U0ANA1\"},{\"id\":\"bo\","
                   "\"name\":\"Bo Chen\",\"slack\":\"@bo\"}]");
  free(text);
  json_decref(to);
  /* An owner outside the directory (the handoff's team) has no manager. */
  to = hk_ladder_recipients(&l->steps[1], "sdr-team", cfg->doc);
  text = json_dumps(to, JSON_COMPACT | JSON_SORT_KEYS);
  cr_assert_str_eq(text, "[{\"id\":\"sdr-team\",\"name\":\"sdr-team\"}]");
  free(text);
  json_decref(to);
  cr_assert_str_eq(json_string_value(json_array_get(l->steps[2].notify, 0)),
                   "revops");
  cr_assert_str_eq(json_string_value(json_array_get(l->steps[0].notify, 0)),
                   "sdr", "a step without notify uses the handoff's");
  cr_assert(l->steps[0].first && l->steps[1].first && !l->steps[2].first);
}

Test(ladder, without_a_ladder_the_old_two_alerts_remain) {
  const struct hk_ladder *l = hk_handoff_ladder(hk_sla_find(sla, "plain"));
  cr_assert_eq(l->n, 2);
  cr_assert_eq(l->steps[0].state, HK_CLOCK_AT_RISK);
  cr_assert_eq(l->steps[1].state, HK_CLOCK_BREACHED);
  cr_assert_eq(l->steps[0].after_ms, 0);
  cr_assert_eq(1u << 0, (unsigned)HK_RECORD_ALERTED_WARNING);
  cr_assert_eq(1u << 1, (unsigned)HK_RECORD_ALERTED_BREACH);
}
