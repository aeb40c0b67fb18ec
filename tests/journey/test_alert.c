/*
 * test_alert.c -- alerts: the pure builder (suite `alert`: Slack's words and
 * escapes, the webhook's exact body and a signature that verifies, refusals,
 * the backoff table). The libcurl sender is tested in
 * tests/workers/test_notify.c.
 *
 * Notifiers come from hk_config_parse with their secrets read from the
 * environment, set with setenv: Criterion runs each test in its own
 * process, so the variables do not leak between tests.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "webhooks/webhooks.h"
#include "journey/journey.h"
#include "tests/journey/alert_fixture.h"

static struct hk_config *default_config(void) {
  return config_with("https://hooks.slack.com/services/" SLACK_KEY,
                     "https://example.com/alerts");
}

/* Builds a's request for the named notifier; it must succeed. */
static void must_build(const struct hk_config *cfg, const char *notifier,
                       const struct hk_alert *a, struct hk_alert_request *out) {
  struct hk_error err = {HK_E_OK, ""};
  enum hk_err rc =
      hk_alert_build(hk_config_notifier(cfg, notifier), a, NOW_MS, out, &err);
  cr_assert_eq(rc, HK_E_OK, "build: %s", err.msg);
}

/* The value of the named header of r, or NULL. Borrowed. */
static const char *header_of(const struct hk_alert_request *r,
                             const char *name) {
  size_t i;
  size_t n = strlen(name);
  for (i = 0; i < r->nheaders; i++) {
    if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':') {
      return r->headers[i] + n + 2;
    }
  }
  return NULL;
}

/* The Slack body's fallback text and its section's mrkdwn, checked for
 * shape; *doc is the parsed body (caller decrefs). */
static void slack_texts(const struct hk_alert_request *r, json_t **doc,
                        const char **text, const char **section) {
  json_t *block;
  *doc = json_loads(r->body, 0, NULL);
  cr_assert_not_null(*doc, "the body is not JSON: %s", r->body);
  cr_assert_eq(strlen(r->body), r->body_len);
  *text = json_string_value(json_object_get(*doc, "text"));
  cr_assert_not_null(*text);
  cr_assert_eq(json_array_size(json_object_get(*doc, "blocks")), 1);
  block = json_array_get(json_object_get(*doc, "blocks"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(block, "type")),
                   "section");
  cr_assert_str_eq(json_string_value(
                       json_object_get(json_object_get(block, "text"), "type")),
                   "mrkdwn");
  *section = json_string_value(
      json_object_get(json_object_get(block, "text"), "text"));
  cr_assert_not_null(*section);
}

/* ---------------------------------------------------------------------------
 * Slack
 * ------------------------------------------------------------------------- */

Test(alert, slack_says_at_risk_in_words) {
  struct hk_config *cfg = default_config();
  struct hk_alert_request r;
  json_t *doc;
  const char *text;
  const char *section;
  must_build(cfg, "slack", &lead_alert, &r);
  cr_assert_str_eq(r.url, "https://hooks.slack.com/services/" SLACK_KEY);
  cr_assert_eq(r.nheaders, 2);
  cr_assert_str_eq(header_of(&r, "Content-Type"), "application/json");
  cr_assert_str_eq(header_of(&r, "User-Agent"), "handoff/" HK_VERSION);
  slack_texts(&r, &doc, &text, &section);
  cr_assert_str_eq(
      text, ":warning: lead_response for company:8812 is at "
            "risk: 11 minutes left, deadline 2026-11-24 10:05 UTC (owner: SDR "
            "team)");
  cr_assert_str_eq(section,
                   ":warning: lead_response for company:8812 is at risk: "
                   "11 minutes left, deadline 2026-11-24 10:05 UTC (owner: "
                   "SDR team)\n"
                   "*Started:* 2026-11-24 09:05 UTC\n"
                   "*Clock:* /v1/subjects/company%3A8812");
  json_decref(doc);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
}

Test(alert, slack_says_breached_and_links_an_absolute_url) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  struct hk_alert_request r;
  json_t *doc;
  const char *text;
  const char *section;
  a.state = "breached";
  a.link = "https://handoff.example/v1/subjects/company%3A8812?a=1&b=2";
  must_build(cfg, "slack", &a, &r);
  slack_texts(&r, &doc, &text, &section);
  cr_assert_str_eq(text, ":rotating_light: lead_response for company:8812 "
                         "breached its SLA: overdue by less than a minute, "
                         "deadline was 2026-11-24 10:05 "
                         "UTC (owner: SDR team)");
  cr_assert_str_eq(section,
                   ":rotating_light: lead_response for company:8812 "
                   "breached its SLA: overdue by less than a minute, "
                   "deadline was 2026-11-24 10:05 UTC "
                   "(owner: SDR team)\n"
                   "*Started:* 2026-11-24 09:05 UTC\n"
                   "<https://handoff.example/v1/subjects/company%3A8812?a=1"
                   "&amp;b=2|Open the clock>");
  json_decref(doc);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
}

Test(alert, slack_escapes_control_characters_of_values) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  struct hk_alert_request r;
  json_t *doc;
  const char *text;
  const char *section;
  a.handoff = "a>b";
  a.subject = "<!channel> & co";
  a.owner = "<@U123|boss>";
  a.link = "<https://evil.example|click>";
  must_build(cfg, "slack", &a, &r);
  slack_texts(&r, &doc, &text, &section);
  cr_assert_str_eq(
      text, ":warning: a&gt;b for &lt;!channel&gt; &amp; co is "
            "at risk: 11 minutes left, deadline 2026-11-24 10:05 UTC (owner: "
            "&lt;@U123|boss&gt;)");
  cr_assert(strstr(section, "*Clock:* &lt;https://evil.example|click&gt;") !=
                NULL,
            "%s", section);
  cr_assert_null(strchr(section, '<'), "%s", section);
  json_decref(doc);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
}

Test(alert, slack_without_owner_or_link) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  struct hk_alert_request r;
  json_t *doc;
  const char *text;
  const char *section;
  a.owner = NULL;
  a.link = NULL;
  a.deadline_ms = HK_NEVER;
  must_build(cfg, "slack", &a, &r);
  slack_texts(&r, &doc, &text, &section);
  cr_assert_str_eq(text, ":warning: lead_response for company:8812 is at "
                         "risk: deadline none (owner: none)");
  cr_assert_null(strstr(section, "Clock"));
  json_decref(doc);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
}

Test(alert, slack_refuses_an_alert_over_its_limit) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  struct hk_alert_request r;
  struct hk_error err = {HK_E_OK, ""};
  char *big = malloc(4001);
  memset(big, 'x', 4000);
  big[4000] = '\0';
  a.subject = big;
  cr_assert_eq(
      hk_alert_build(hk_config_notifier(cfg, "slack"), &a, NOW_MS, &r, &err),
      HK_E_TOO_LARGE);
  cr_assert_eq(err.code, HK_E_TOO_LARGE);
  cr_assert_null(r.body);
  cr_assert_eq(r.nheaders, 0);
  free(big);
  hk_config_free(cfg);
}

/* ---------------------------------------------------------------------------
 * Webhook
 * ------------------------------------------------------------------------- */

Test(alert, webhook_body_is_exact) {
  struct hk_config *cfg = default_config();
  struct hk_alert_request r;
  must_build(cfg, "hook", &lead_alert, &r);
  cr_assert_str_eq(r.url, "https://example.com/alerts");
  cr_assert_str_eq(
      r.body,
      "{\"type\":\"handoff.at_risk\",\"timestamp\":\"2026-11-24T09:53:20."
      "250Z\",\"data\":{\"id\":\"lead_response.company:8812.0.at_risk\","
      "\"handoff\":\"lead_response\",\"subject\":\"company:8812\","
      "\"state\":\"at_risk\",\"owner\":\"SDR team\",\"started_at\":\"2026-"
      "11-24T09:05:00Z\",\"deadline\":\"2026-11-24T10:05:00Z\",\"link\":"
      "\"/v1/subjects/company%3A8812\",\"step\":0,\"owner_name\":null,"
      "\"subject_name\":null,\"recipients\":[],\"left\":\"11 minutes\","
      "\"left_ms\":699750}}");
  cr_assert_eq(r.body_len, strlen(r.body));
  cr_assert_eq(r.nheaders, 5);
  cr_assert_str_eq(header_of(&r, "Content-Type"), "application/json");
  cr_assert_str_eq(header_of(&r, "User-Agent"), "handoff/" HK_VERSION);
  cr_assert_str_eq(header_of(&r, "webhook-id"),
                   "lead_response.company:8812.0.at_risk");
  cr_assert_str_eq(header_of(&r, "webhook-timestamp"), "1795514000");
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
}

Test(alert, webhook_breached_with_nulls) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  struct hk_alert_request r;
  json_t *doc;
  json_t *data;
  a.state = "breached";
  a.owner = NULL;
  a.link = NULL;
  a.deadline_ms = HK_NEVER;
  must_build(cfg, "hook", &a, &r);
  doc = json_loads(r.body, 0, NULL);
  cr_assert_not_null(doc);
  data = json_object_get(doc, "data");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "type")),
                   "handoff.breached");
  cr_assert_str_eq(json_string_value(json_object_get(data, "state")),
                   "breached");
  cr_assert(json_is_null(json_object_get(data, "owner")));
  cr_assert(json_is_null(json_object_get(data, "link")));
  cr_assert(json_is_null(json_object_get(data, "deadline")));
  json_decref(doc);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
}

/* The request as the intake would read it, checked by the
 * standard-webhooks verifier with the same key. */
static enum hk_err verify(const struct hk_config *cfg,
                          const struct hk_alert_request *r, int64_t now_ms) {
  struct hk_header h[3] = {
      {"webhook-id", header_of(r, "webhook-id")},
      {"webhook-timestamp", header_of(r, "webhook-timestamp")},
      {"webhook-signature", header_of(r, "webhook-signature")},
  };
  struct hk_request req = {"POST",  "/hooks/demo", "", "application/json", h, 3,
                           r->body, r->body_len};
  struct hk_error err = {HK_E_OK, ""};
  int64_t signed_ms = 0;
  enum hk_err rc =
      hk_verify(&req, hk_config_source(cfg, "demo"), now_ms, &signed_ms, &err);
  if (rc == HK_E_OK) {
    cr_assert_eq(signed_ms, NOW_MS / 1000 * 1000);
  }
  return rc;
}

Test(alert, webhook_signature_verifies) {
  struct hk_config *cfg = default_config();
  struct hk_alert_request r;
  char *want;
  must_build(cfg, "hook", &lead_alert, &r);
  want = hk_sign_standard(&hk_config_notifier(cfg, "hook")->secret,
                          lead_alert.id, NOW_MS / 1000, r.body, r.body_len);
  cr_assert_str_eq(header_of(&r, "webhook-signature"), want);
  cr_assert_eq(verify(cfg, &r, NOW_MS), HK_E_OK);
  /* One changed byte of the body no longer verifies. */
  r.body[2] = 'T';
  cr_assert_eq(verify(cfg, &r, NOW_MS), HK_E_BAD_SIGNATURE);
  free(want);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
}

/* ---------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------- */

/* Builds a with the named notifier, expecting want; out must stay empty. */
static void must_refuse(const struct hk_config *cfg, const char *notifier,
                        const struct hk_alert *a, enum hk_err want,
                        const char *msg) {
  struct hk_alert_request r;
  struct hk_error err = {HK_E_OK, ""};
  cr_assert_eq(
      hk_alert_build(hk_config_notifier(cfg, notifier), a, NOW_MS, &r, &err),
      want);
  cr_assert_eq(err.code, want);
  cr_assert_str_eq(err.msg, msg);
  cr_assert_null(r.url);
  cr_assert_null(r.body);
  cr_assert_eq(r.nheaders, 0);
}

Test(alert, disabled_notifier_is_refused) {
  struct hk_config *cfg = default_config();
  cr_assert_null(hk_config_notifier(cfg, "off")->url);
  must_refuse(cfg, "off", &lead_alert, HK_E_CONFIG,
              "notifier off is disabled: its URL or secret is not set");
  hk_config_free(cfg);
}

Test(alert, unknown_state_is_refused) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  a.state = "met";
  must_refuse(cfg, "hook", &a, HK_E_INTERNAL,
              "an alert is sent for at_risk or breached, not another state");
  hk_config_free(cfg);
}

Test(alert, id_that_would_split_a_header_is_refused) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  a.id = "x\r\nX-Injected: 1";
  must_refuse(cfg, "hook", &a, HK_E_INTERNAL,
              "the alert id is empty or holds a control character");
  hk_config_free(cfg);
}

Test(alert, text_that_is_not_utf8_is_refused) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  a.subject = "company:\xff";
  must_refuse(cfg, "hook", &a, HK_E_INTERNAL,
              "the alert holds text that is not UTF-8");
  must_refuse(cfg, "slack", &a, HK_E_INTERNAL,
              "the alert holds text that is not UTF-8");
  hk_config_free(cfg);
}

Test(alert, secret_that_cannot_sign_is_refused) {
  struct hk_notifier n = {0};
  unsigned char bad[] = "whsec_***";
  char name[] = "n";
  char url[] = "https://example.com/a";
  n.name = name;
  n.kind = HK_NOTIFIER_WEBHOOK;
  n.kind_name = "webhook";
  n.url = url;
  n.secret.bytes = bad;
  n.secret.len = sizeof bad - 1;
  {
    struct hk_alert_request r;
    struct hk_error err = {HK_E_OK, ""};
    cr_assert_eq(hk_alert_build(&n, &lead_alert, NOW_MS, &r, &err),
                 HK_E_CONFIG);
    cr_assert_str_eq(err.msg, "the secret of notifier n cannot sign: it is "
                              "not \"whsec_\" followed by base64");
    cr_assert_null(r.body);
  }
}

/* ---------------------------------------------------------------------------
 * Backoff
 * ------------------------------------------------------------------------- */

struct backoff_case {
  int64_t backoff_ms;
  int retry;
  int64_t want_ms;
};

#define HOUR_MS INT64_C(3600000)

ParameterizedTestParameters(alert, backoff_doubles_up_to_an_hour) {
  static struct backoff_case cases[] = {
      {2000, 1, 2000},
      {2000, 2, 4000},
      {2000, 3, 8000},
      {2000, 11, 2048000},
      {2000, 12, HOUR_MS}, /* 4096000 is over the cap */
      {2000, 100, HOUR_MS},
      {2000, INT_MAX, HOUR_MS},
      {2000, 0, 2000},  /* before the first retry: the first delay */
      {2000, -5, 2000}, /* likewise */
      {1, 63, HOUR_MS}, /* 2^62 would be in range, 2^63 not */
      {1, 64, HOUR_MS},
      {HOUR_MS, 1, HOUR_MS},
      {2 * HOUR_MS, 1, HOUR_MS},
      {INT64_MAX, 1, HOUR_MS},
      {INT64_MAX, INT_MAX, HOUR_MS},
      {0, 5, 0},
      {-1000, 5, 0},
  };
  return cr_make_param_array(struct backoff_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct backoff_case *c, alert,
                  backoff_doubles_up_to_an_hour) {
  struct hk_notifier n = {0};
  n.backoff_ms = c->backoff_ms;
  cr_assert_eq(hk_alert_backoff_ms(&n, c->retry), c->want_ms,
               "backoff %lld, retry %d: got %lld", (long long)c->backoff_ms,
               c->retry, (long long)hk_alert_backoff_ms(&n, c->retry));
}

Test(alert, backoff_of_a_configured_notifier) {
  struct hk_config *cfg = default_config();
  const struct hk_notifier *n = hk_config_notifier(cfg, "hook");
  cr_assert_eq(n->backoff_ms, 2000);
  cr_assert_eq(hk_alert_backoff_ms(n, 1), 2000);
  cr_assert_eq(hk_alert_backoff_ms(n, 5), 32000);
  hk_config_free(cfg);
}

/* ---------------------------------------------------------------------------
 * The queued alert (suite `alert_queued`): what the SLA engine hands the
 * sender, encoded by hk_alert_dump and read back by hk_alert_parse
 * ------------------------------------------------------------------------- */

Test(alert_queued, id_and_link_of_a_clock) {
  char *id =
      hk_alert_id_new("lead_response", "company:8812", STARTED_MS, "at_risk");
  char *link = hk_alert_link_new(NULL, "/handoff/", "company:8812 é");
  cr_assert_str_eq(id, "lead_response:company:8812:1795511100000:at_risk");
  cr_assert_str_eq(link, "/handoff/v1/subjects/company%3A8812%20%C3%A9");
  free(id);
  free(link);
}

Test(alert_queued, dump_is_exact_and_parses_back) {
  char *text = hk_alert_dump(&lead_alert, "slack");
  struct hk_alert a;
  struct hk_error err = {HK_E_OK, ""};
  const char *notifier;
  json_t *doc;
  cr_assert_str_eq(text, "{\"id\":\"lead_response.company:8812.0.at_risk\","
                         "\"notifier\":\"slack\",\"handoff\":\"lead_response\","
                         "\"subject\":\"company:8812\",\"state\":\"at_risk\","
                         "\"owner\":\"SDR team\",\"started\":1795511100000,"
                         "\"deadline\":1795514700000,"
                         "\"link\":\"/v1/subjects/company%3A8812\"}");
  cr_assert_eq(hk_alert_parse(text, &doc, &a, &notifier, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_str_eq(notifier, "slack");
  cr_assert_str_eq(a.id, lead_alert.id);
  cr_assert_str_eq(a.handoff, lead_alert.handoff);
  cr_assert_str_eq(a.subject, lead_alert.subject);
  cr_assert_str_eq(a.state, lead_alert.state);
  cr_assert_str_eq(a.owner, lead_alert.owner);
  cr_assert_str_eq(a.link, lead_alert.link);
  cr_assert_eq(a.started_ms, STARTED_MS);
  cr_assert_eq(a.deadline_ms, DEADLINE_MS);
  json_decref(doc);
  free(text);
}

Test(alert_queued, no_owner_or_link_round_trips_as_null) {
  struct hk_alert in = lead_alert;
  struct hk_alert a;
  struct hk_error err = {HK_E_OK, ""};
  const char *notifier;
  json_t *doc;
  char *text;
  in.owner = NULL;
  in.link = NULL;
  in.deadline_ms = HK_NEVER;
  text = hk_alert_dump(&in, "hook");
  cr_assert_not_null(strstr(text, "\"owner\":null"));
  cr_assert_eq(hk_alert_parse(text, &doc, &a, &notifier, &err), HK_E_OK);
  cr_assert_null(a.owner);
  cr_assert_null(a.link);
  cr_assert_eq(a.deadline_ms, HK_NEVER);
  json_decref(doc);
  free(text);
}

Test(alert_queued, dump_refuses_what_it_cannot_write) {
  struct hk_alert in = lead_alert;
  cr_assert_null(hk_alert_dump(&lead_alert, NULL));
  in.subject = "\xff\xfe";
  cr_assert_null(hk_alert_dump(&in, "slack"));
  in = lead_alert;
  in.state = NULL;
  cr_assert_null(hk_alert_dump(&in, "slack"));
}

struct bad_alert {
  char text[200];
  enum hk_err code;
  char msg[96];
  char notifier[16]; /* read even so; "" when it cannot be */
};

#define GOOD_TAIL                                                              \
  "\"handoff\":\"h\",\"subject\":\"s\",\"state\":\"breached\","                \
  "\"started\":1,\"deadline\":2"

ParameterizedTestParameters(alert_queued, malformed_alert_is_an_error) {
  static struct bad_alert cases[] = {
      {"", HK_E_BAD_JSON, "the queued alert is not a JSON object", ""},
      {"{\"id\":", HK_E_BAD_JSON, "the queued alert is not a JSON object", ""},
      {"[\"id\"]", HK_E_BAD_JSON, "the queued alert is not a JSON object", ""},
      {"{\"notifier\":\"n\"," GOOD_TAIL "}", HK_E_MISSING_FIELD,
       "the queued alert's id is missing or of the wrong type", "n"},
      {"{\"id\":7,\"notifier\":\"n\"," GOOD_TAIL "}", HK_E_MISSING_FIELD,
       "the queued alert's id is missing or of the wrong type", "n"},
      {"{\"id\":\"i\"," GOOD_TAIL "}", HK_E_MISSING_FIELD,
       "the queued alert's notifier is missing or of the wrong type", ""},
      {"{\"id\":\"i\",\"notifier\":\"n\",\"handoff\":null,"
       "\"subject\":\"s\",\"state\":\"breached\",\"started\":1,"
       "\"deadline\":2}",
       HK_E_MISSING_FIELD,
       "the queued alert's handoff is missing or of the wrong type", "n"},
      {"{\"id\":\"i\",\"notifier\":\"n\",\"handoff\":\"h\","
       "\"subject\":\"s\",\"state\":\"breached\",\"started\":\"1\","
       "\"deadline\":2}",
       HK_E_MISSING_FIELD,
       "the queued alert's started is missing or of the wrong type", "n"},
      {"{\"id\":\"i\",\"notifier\":\"n\",\"handoff\":\"h\","
       "\"subject\":\"s\",\"state\":\"breached\",\"started\":1,"
       "\"deadline\":2.5}",
       HK_E_MISSING_FIELD,
       "the queued alert's deadline is missing or of the wrong type", "n"},
      {"{\"id\":\"i\",\"notifier\":\"n\"," GOOD_TAIL ",\"owner\":[]}",
       HK_E_MISSING_FIELD,
       "the queued alert's owner is missing or of the wrong type", "n"},
      {"{\"id\":\"i\",\"notifier\":\"n\"," GOOD_TAIL ",\"link\":5}",
       HK_E_MISSING_FIELD,
       "the queued alert's link is missing or of the wrong type", "n"},
      /* Past 64 bits jansson refuses the whole text. */
      {"{\"id\":\"i\",\"notifier\":\"n\",\"handoff\":\"h\","
       "\"subject\":\"s\",\"state\":\"breached\","
       "\"started\":99999999999999999999999,\"deadline\":2}",
       HK_E_BAD_JSON, "the queued alert is not a JSON object", ""},
  };
  return cr_make_param_array(struct bad_alert, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_alert *c, alert_queued,
                  malformed_alert_is_an_error) {
  struct hk_alert a;
  struct hk_error err = {HK_E_OK, ""};
  const char *notifier;
  json_t *doc;
  cr_assert_eq(hk_alert_parse(c->text, &doc, &a, &notifier, &err), c->code,
               "%s", c->text);
  cr_assert_eq(err.code, c->code);
  cr_assert_str_eq(err.msg, c->msg);
  if (c->notifier[0] != '\0') {
    cr_assert_str_eq(notifier, c->notifier);
  } else {
    cr_assert_null(notifier);
  }
  json_decref(doc);
}

Test(alert_queued, parse_of_null_is_bad_json) {
  struct hk_alert a;
  struct hk_error err = {HK_E_OK, ""};
  const char *notifier = "x";
  json_t *doc;
  cr_assert_eq(hk_alert_parse(NULL, &doc, &a, &notifier, &err), HK_E_BAD_JSON);
  cr_assert_null(doc);
  cr_assert_null(notifier);
  cr_assert_null(a.id);
}

/* ---------------------------------------------------------------------------
 * Escalation: the people called on, the subject's name, words, links
 * ------------------------------------------------------------------------- */

static const char people[] =
    "[{\"id\": \"ana\", \"name\": \"Ana Lima\", \"slack\": \"U0ANA1\"},"
    " {\"id\": \"bo\", \"name\": \"Bo Chen\", \"slack\": \"@bo\"},"
    " {\"id\": \"cy\", \"name\": \"Cy <Diaz>\"}]";

Test(alert, slack_mentions_people_names_the_subject_and_links_absolutely) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  struct hk_alert_request r;
  json_t *to = json_loads(people, 0, NULL);
  char *link =
      hk_alert_link_new("https://handoff.example.com/", "/hk/", "company:8812");
  json_t *doc;
  const char *text;
  const char *section;
  cr_assert_str_eq(link,
                   "https://handoff.example.com/hk/v1/subjects/company%3A8812");
  a.state = "breached";
  a.deadline_ms = NOW_MS - 65 * 60000;
  a.owner = "ana";
  a.owner_name = "Ana Lima";
  a.subject_name = "Acme <Ltd>";
  a.recipients = to;
  a.link = link;
  must_build(cfg, "slack", &a, &r);
  slack_texts(&r, &doc, &text, &section);
  cr_assert_str_eq(text,
                   ":rotating_light: lead_response for Acme &lt;Ltd&gt; "
                   "(company:8812) breached its SLA: overdue by 1 hour "
                   "5 minutes, deadline was 2026-11-24 08:48 UTC (owner: "
                   "Ana Lima) <@U0ANA1> (Ana Lima), @bo, Cy &lt;Diaz&gt;");
  cr_assert_str_eq(section,
                   ":rotating_light: lead_response for Acme &lt;Ltd&gt; "
                   "(company:8812) breached its SLA: overdue by 1 hour 5 "
                   "minutes, deadline was 2026-11-24 08:48 UTC (owner: Ana "
                   "Lima)\n"
                   "*To:* <@U0ANA1> (Ana Lima), @bo, Cy &lt;Diaz&gt;\n"
                   "*Started:* 2026-11-24 09:05 UTC\n"
                   "<https://handoff.example.com/hk/v1/subjects/company%3A8812"
                   "|Open the clock>");
  json_decref(doc);
  hk_alert_request_fini(&r);
  free(link);
  json_decref(to);
  hk_config_free(cfg);
}

Test(alert, without_public_url_the_link_is_the_path) {
  char *link = hk_alert_link_new(NULL, NULL, "deal:1 2");
  cr_assert_str_eq(link, "/v1/subjects/deal%3A1%202");
  free(link);
  link = hk_alert_link_new(NULL, "/handoff/", "deal:1");
  cr_assert_str_eq(link, "/handoff/v1/subjects/deal%3A1");
  free(link);
}

Test(alert, durations_read_as_words) {
  char w[48];
  cr_assert_str_eq(hk_alert_words(59999, w, sizeof w), "less than a minute");
  cr_assert_str_eq(hk_alert_words(60000, w, sizeof w), "1 minute");
  cr_assert_str_eq(hk_alert_words(4 * 60000 + 59999, w, sizeof w), "4 minutes");
  cr_assert_str_eq(hk_alert_words(3600000, w, sizeof w), "1 hour");
  cr_assert_str_eq(hk_alert_words(3900000, w, sizeof w), "1 hour 5 minutes");
  cr_assert_str_eq(
      hk_alert_words(2 * 86400000 + 3 * 3600000 + 60000, w, sizeof w),
      "2 days 3 hours");
  cr_assert_str_eq(hk_alert_words(86400000 + 60000, w, sizeof w), "1 day");
}

Test(alert, the_webhook_carries_the_same_fields) {
  struct hk_config *cfg = default_config();
  struct hk_alert a = lead_alert;
  struct hk_alert_request r;
  json_t *to = json_loads(people, 0, NULL);
  json_t *doc;
  json_t *data;
  a.step = 2;
  a.owner = "ana";
  a.owner_name = "Ana Lima";
  a.subject_name = "Acme <Ltd>";
  a.recipients = to;
  must_build(cfg, "hook", &a, &r);
  doc = json_loads(r.body, 0, NULL);
  data = json_object_get(doc, "data");
  cr_assert_eq(json_integer_value(json_object_get(data, "step")), 2);
  cr_assert_str_eq(json_string_value(json_object_get(data, "owner_name")),
                   "Ana Lima");
  cr_assert_str_eq(json_string_value(json_object_get(data, "subject_name")),
                   "Acme <Ltd>");
  cr_assert(json_equal(json_object_get(data, "recipients"), to));
  cr_assert_str_eq(json_string_value(json_object_get(data, "left")),
                   "11 minutes");
  json_decref(doc);
  hk_alert_request_fini(&r);
  json_decref(to);
  hk_config_free(cfg);
}

Test(alert, escalation_members_survive_the_queue) {
  struct hk_alert a = lead_alert;
  struct hk_alert b;
  json_t *to = json_loads(people, 0, NULL);
  json_t *doc = NULL;
  const char *notifier;
  struct hk_error err = {HK_E_OK, ""};
  char *text;
  a.step = 3;
  a.owner_name = "Ana Lima";
  a.subject_name = "Acme";
  a.recipients = to;
  text = hk_alert_dump(&a, "revops");
  cr_assert_eq(hk_alert_parse(text, &doc, &b, &notifier, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(b.step, 3);
  cr_assert_str_eq(b.owner_name, "Ana Lima");
  cr_assert_str_eq(b.subject_name, "Acme");
  cr_assert(json_equal(b.recipients, to));
  json_decref(doc);
  free(text);
  json_decref(to);
}
