/*
 * test_retention.c -- the retention duty's pure parts: the lifetimes read
 * from the config, and the horizon (workers/retention.h). What a pass
 * removes is tested against real Redis (tests/integration/test_retention.c,
 * tests/store/scripts).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "workers/retention.h"

#define DAY 86400000LL

static struct hk_config *load(const char *extra) {
  char text[512];
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag = {NULL, 0};
  snprintf(text, sizeof text,
           "{%s \"sources\": {\"demo\": {\"kind\": \"standard-webhooks\", "
           "\"secret\": {\"env\": \"S\"}}}}",
           extra);
  cr_assert_eq(hk_config_parse(text, strlen(text), "t.json",
                               HK_CONFIG_NO_SECRETS, &cfg, &diag),
               HK_E_OK, "%s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  return cfg;
}

Test(retention, lifetimes_default_and_zero) {
  struct hk_config *cfg = load("");
  struct hk_keep k;
  hk_keep_of(cfg, &k);
  cr_assert_eq(k.intake_ms, 3 * DAY);
  cr_assert_eq(k.history_ms, 400 * DAY);
  cr_assert_eq(k.dlq_ms, 30 * DAY);
  hk_config_free(cfg);
  cfg = load("\"intake\": {\"keep\": \"0\"}, \"history\": {\"keep\": "
             "\"90d\"}, \"dlq\": {\"keep\": \"12h\"},");
  hk_keep_of(cfg, &k);
  cr_assert_eq(k.intake_ms, 0);
  cr_assert_eq(k.history_ms, 90 * DAY);
  cr_assert_eq(k.dlq_ms, DAY / 2);
  hk_config_free(cfg);
}

Test(retention, the_horizon_follows_the_newest_event_never_the_future) {
  int64_t now = 1000 * DAY;
  /* No event yet: from now. */
  cr_assert_eq(hk_retention_horizon(now, 0, 400 * DAY), 600 * DAY);
  /* History played at an accelerated event time, behind the wall clock:
   * from its own newest event. */
  cr_assert_eq(hk_retention_horizon(now, 500 * DAY, 400 * DAY), 100 * DAY);
  /* An event dated in the future does not move it past now. */
  cr_assert_eq(hk_retention_horizon(now, 5000 * DAY, 400 * DAY), 600 * DAY);
}
