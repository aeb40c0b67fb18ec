/*
 * alert_fixture.h -- what the alert tests of journey/ (building the
 * requests) and workers/ (sending them) share: one alert of a lead
 * response clock and a config of notifiers. Included by one test file
 * each, so its definitions are static.
 */
#ifndef HK_TESTS_ALERT_FIXTURE_H
#define HK_TESTS_ALERT_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "journey/journey.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
/* The path of a Slack URL is its key: it must never reach a message. */
#define SLACK_KEY "T0000/B0000/s3cr3tK3y"

#define STARTED_MS INT64_C(1795511100000)  /* 2026-11-24T09:05:00Z */
#define DEADLINE_MS INT64_C(1795514700000) /* 2026-11-24T10:05:00Z */
#define NOW_MS INT64_C(1795514000250)      /* 2026-11-24T09:53:20.250Z */

static const struct hk_alert lead_alert = {
    .id = "lead_response.company:8812.0.at_risk",
    .handoff = "lead_response",
    .subject = "company:8812",
    .state = "at_risk",
    .owner = "SDR team",
    .started_ms = STARTED_MS,
    .deadline_ms = DEADLINE_MS,
    .link = "/v1/subjects/company%3A8812",
};

/* A config with a Slack notifier "slack" posting to slack_url, a webhook
 * notifier "hook" posting to hook_url, a disabled one "off", and a
 * standard-webhooks source "demo" with the webhook's key (to verify what
 * the notifier signs). Caller frees. */
static struct hk_config *config_with(const char *slack_url,
                                     const char *hook_url) {
  char text[2048];
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  enum hk_err rc;
  setenv("HK_T_SLACK", slack_url, 1);
  setenv("HK_T_WHSEC", WHSEC, 1);
  unsetenv("HK_T_UNSET");
  snprintf(text, sizeof text,
           "{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\", "
           "\"secret\": {\"env\": \"HK_T_WHSEC\"}}},"
           " \"notifiers\": {"
           "\"slack\": {\"kind\": \"slack\", \"url\": {\"env\": "
           "\"HK_T_SLACK\"}},"
           "\"hook\": {\"kind\": \"webhook\", \"url\": \"%s\", \"secret\": "
           "{\"env\": \"HK_T_WHSEC\"}, \"timeout\": \"2s\"},"
           "\"off\": {\"kind\": \"slack\", \"url\": {\"env\": \"HK_T_UNSET\", "
           "\"optional\": true}}}}",
           hook_url);
  rc = hk_config_parse(text, strlen(text), "t.json", 0, &cfg, &diag);
  cr_assert_eq(rc, HK_E_OK, "config: %s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  return cfg;
}

#endif
