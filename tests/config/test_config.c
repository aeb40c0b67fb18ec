/*
 * test_config.c -- the configuration loader: every schema rule with its
 * exact message, secrets from the environment and files, defaults, the
 * shipped example, and --redis addresses.
 *
 * Bad configurations are a table (config_rejects): each row is a document
 * and the exact diagnostic lines it must produce, with "t.json" as the file
 * name. Rows are checked with HK_CONFIG_NO_SECRETS, so only the schema
 * speaks; the secret tests set their variables with setenv (Criterion runs
 * each test in its own process).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* The diagnostics joined by newlines (caller frees). */
static char *joined(const struct hk_config_diag *d) {
  size_t i;
  size_t len = 1;
  char *out;
  for (i = 0; i < d->n; i++) {
    len += strlen(d->lines[i]) + 1;
  }
  out = calloc(1, len);
  for (i = 0; i < d->n; i++) {
    strcat(out, d->lines[i]);
    if (i + 1 < d->n) {
      strcat(out, "\n");
    }
  }
  return out;
}

/* Parses text as "t.json"; returns the diagnostics joined (caller frees)
 * and the config in *cfg (caller frees; may be NULL). */
static char *parse(const char *text, unsigned flags, enum hk_err *rc,
                   struct hk_config **cfg) {
  struct hk_config_diag diag;
  char *d;
  *rc = hk_config_parse(text, strlen(text), "t.json", flags, cfg, &diag);
  d = joined(&diag);
  hk_config_diag_fini(&diag);
  return d;
}

/* Parses a document that must load; returns the config (caller frees). */
static struct hk_config *must_load(const char *text, unsigned flags) {
  enum hk_err rc;
  struct hk_config *cfg = NULL;
  char *d = parse(text, flags, &rc, &cfg);
  cr_assert_eq(rc, HK_E_OK, "did not load:\n%s", d);
  cr_assert_not_null(cfg);
  free(d);
  return cfg;
}

/* Asserts that text fails to load with exactly the lines want. */
static void must_fail(const char *text, unsigned flags, const char *want) {
  enum hk_err rc;
  struct hk_config *cfg = (struct hk_config *)1;
  char *d = parse(text, flags, &rc, &cfg);
  cr_expect_eq(rc, HK_E_CONFIG, "loaded: %s", text);
  cr_expect_null(cfg);
  cr_expect_str_eq(d, want, "for %s", text);
  free(d);
}

/* ---------------------------------------------------------------------------
 * The schema, one rule a row
 * ------------------------------------------------------------------------- */

/* Inline text, not pointers: Criterion hands parameters to the test
 * process as bytes, where pointers into the parent need not be valid. */
struct bad {
  char json[512];
  char diag[512];
};

#define SRC "\"sources\": {}"
#define DEMO                                                                   \
  "\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\", "                 \
  "\"secret\": {\"env\": \"X\"}}}"
#define STAGES                                                                 \
  "\"stages\": {\"a\": {\"owner\": \"o\", \"entered_on\": [\"e.a\"]}, "        \
  "\"b\": {\"owner\": \"o\", \"entered_on\": [\"e.b\"]}}"
#define HANDOFF(extra)                                                         \
  "{" SRC ", " STAGES ", \"handoffs\": {\"h\": {\"owner\": \"o\", "            \
  "\"from\": \"a\", \"to\": \"b\", \"start\": [\"e.a\"], "                     \
  "\"stop\": [\"e.b\"]" extra "}}}"
#define WITHIN ", \"sla\": {\"within\": \"1h\"}"
#define KPI(body)                                                              \
  "{" SRC ", " STAGES ", \"handoffs\": {\"h\": {\"owner\": \"o\", "            \
  "\"from\": \"a\", \"to\": \"b\", \"start\": [\"e.a\"], "                     \
  "\"stop\": [\"e.b\"]" WITHIN "}}, \"kpis\": {\"k\": {\"owner\": \"o\", "     \
  "\"action\": \"act\", " body "}}}"
#define RULE(body) "{" DEMO ", \"events\": [{\"source\": \"demo\", " body "}]}"
#define T(s) "{\"type\": \"t\", \"subject\": \"s\", " s

ParameterizedTestParameters(config_rejects, table) {
  static struct bad cases[] = {
      /* Shape: unknown keys, types, required keys. */
      {"{" SRC ", \"bogus\": 1}", "t.json: $: unknown key \"bogus\""},
      {"{\"sources\": []}",
       "t.json: $.sources: expected an object, got an array"},
      {"{}", "t.json: $: missing required key \"sources\""},
      {"[]", "t.json: $: expected an object, got an array"},
      {"{" SRC ", \"redis\": {\"port\": \"6379\"}}",
       "t.json: $.redis.port: expected an integer, got a string"},
      {"{" SRC ", \"redis\": {\"port\": 70000}}",
       "t.json: $.redis.port: must be between 1 and 65535"},
      {"{" SRC ", \"redis\": {\"db\": 1.5}}",
       "t.json: $.redis.db: expected an integer, got a fractional number"},
      {"{" SRC ", \"redis\": {\"host\": \"h\", \"unix\": \"/s\"}}",
       "t.json: $.redis: set \"host\" or \"unix\", not both"},
      {"{" SRC ", \"redis\": {\"host\": \"h\", \"sentinel\": {\"master\": "
       "\"m\", \"nodes\": [\"h:26379\"]}}}",
       "t.json: $.redis: set \"sentinel\" or \"host\"/\"unix\", not both"},
      {"{" SRC ", \"redis\": {\"sentinel\": {\"nodes\": [\"h:26379\"]}}}",
       "t.json: $.redis.sentinel: missing required key \"master\""},
      {"{" SRC ", \"redis\": {\"sentinel\": {\"master\": \"m\", "
       "\"nodes\": []}}}",
       "t.json: $.redis.sentinel.nodes: must not be empty"},
      {"{" SRC ", \"redis\": {\"sentinel\": {\"master\": \"m\", "
       "\"nodes\": [\"h\"]}}}",
       "t.json: $.redis.sentinel.nodes[0]: must be \"host:port\" such as "
       "\"10.0.0.5:26379\""},
      {"{" SRC ", \"redis\": {\"sentinel\": {\"master\": \"m\", "
       "\"nodes\": [\"h:0\"]}}}",
       "t.json: $.redis.sentinel.nodes[0]: must be \"host:port\" such as "
       "\"10.0.0.5:26379\""},
      {"{" SRC ", \"redis\": {\"sentinel\": {\"master\": \"m\", "
       "\"nodes\": [\"::1:26379\"]}}}",
       "t.json: $.redis.sentinel.nodes[0]: must be \"host:port\" such as "
       "\"10.0.0.5:26379\""},
      {"{" SRC ", \"redis\": {\"sentinel\": {\"master\": \"m\", "
       "\"nodes\": [\"h:1\"], \"port\": 1}}}",
       "t.json: $.redis.sentinel: unknown key \"port\""},
      {"{" SRC ", \"redis\": {\"min_replicas_acked\": 17}}",
       "t.json: $.redis.min_replicas_acked: must be between 0 and 16"},
      {"{" SRC ", \"redis\": {\"unix\": \"run/redis.sock\"}}",
       "t.json: $.redis.unix: must be an absolute path"},
      {"{" SRC ", \"redis\": {\"prefix\": \"\"}}",
       "t.json: $.redis.prefix: must not be empty"},
      {"{" SRC
       ", \"redis\": {\"password\": {\"env\": \"A\", \"file\": \"/f\"}}}",
       "t.json: $.redis.password: needs exactly one of \"env\" and \"file\""},
      {"{" SRC
       ", \"redis\": {\"password\": {\"env\": \"A\", \"optional\": true}}}",
       "t.json: $.redis.password: unknown key \"optional\""},
      /* Durations. */
      {"{" SRC ", \"redis\": {\"connect_timeout\": \"5 minutes\"}}",
       "t.json: $.redis.connect_timeout: \"5 minutes\" is not a duration such "
       "as 90s, 5m, 48h, 1h30m"},
      {"{" SRC ", \"redis\": {\"timeout\": \"0s\"}}",
       "t.json: $.redis.timeout: must be longer than 0s"},
      {"{" SRC ", \"redis\": {\"memory_guard\": 0}}",
       "t.json: $.redis.memory_guard: must be a share above 0 and at most 1, "
       "such as 0.9"},
      {"{" SRC ", \"redis\": {\"memory_guard\": 1.01}}",
       "t.json: $.redis.memory_guard: must be a share above 0 and at most 1, "
       "such as 0.9"},
      {"{" SRC ", \"redis\": {\"memory_guard\": \"90%\"}}",
       "t.json: $.redis.memory_guard: expected a number, got a string"},
      {"{" SRC ", \"intake\": {\"retry_after\": 5}}",
       "t.json: $.intake.retry_after: expected a string, got an integer"},
      {"{" SRC ", \"intake\": {\"max_body_bytes\": 9000000}}",
       "t.json: $.intake.max_body_bytes: must be between 1 and 8388608"},
      /* Sources. */
      {"{\"sources\": {\"Demo\": {\"kind\": \"stripe\", \"secret\": {\"env\": "
       "\"X\"}}}}",
       "t.json: $.sources.Demo: \"Demo\" is not a valid name: use "
       "[a-z0-9][a-z0-9_-]{0,63}"},
      {"{\"sources\": {\"s\": {\"kind\": \"svix\", \"secret\": {\"env\": "
       "\"X\"}}}}",
       "t.json: $.sources.s.kind: \"svix\" is not one of: standard-webhooks, "
       "stripe, hubspot, paddle, hmac, basic, token"},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": "
       "\"whsec_x\"}}}",
       "t.json: $.sources.s.secret: expected an object or an array, got a "
       "string"},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\"}}}",
       "t.json: $.sources.s: missing required key \"secret\""},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": []}}}",
       "t.json: $.sources.s.secret: must not be empty"},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": [{\"env\": "
       "\"A\"}, {}]}}}",
       "t.json: $.sources.s.secret[1]: needs exactly one of \"env\" and "
       "\"file\""},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": {\"env\": "
       "\"1X\"}}}}",
       "t.json: $.sources.s.secret.env: \"1X\" is not an environment variable "
       "name"},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": {\"file\": "
       "\"s.txt\"}}}}",
       "t.json: $.sources.s.secret.file: must be an absolute path"},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": {\"env\": "
       "\"X\"}, \"tolerance\": \"5x\"}}}",
       "t.json: $.sources.s.tolerance: \"5x\" is not a duration such as 90s, "
       "5m, 48h, 1h30m"},
      {"{\"sources\": {\"s\": {\"kind\": \"hmac\", \"secret\": {\"env\": "
       "\"X\"}}}}",
       "t.json: $.sources.s: kind \"hmac\" requires key \"header\""},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": {\"env\": "
       "\"X\"}, \"header\": \"X-Sig\"}}}",
       "t.json: $.sources.s: key \"header\" does not apply to kind \"stripe\""},
      {"{\"sources\": {\"s\": {\"kind\": \"hmac\", \"secret\": {\"env\": "
       "\"X\"}, \"header\": \"X-Sig\", \"hash\": \"md5\"}}}",
       "t.json: $.sources.s.hash: \"md5\" is not one of: sha256, sha1"},
      {"{\"sources\": {\"s\": {\"kind\": \"hmac\", \"secret\": {\"env\": "
       "\"X\"}, \"header\": \"X Sig\"}}}",
       "t.json: $.sources.s.header: \"X Sig\" is not an HTTP header name"},
      {"{\"sources\": {\"s\": {\"kind\": \"hubspot\", \"secret\": {\"env\": "
       "\"X\"}, \"public_url\": \"ftp://h/x\"}}}",
       "t.json: $.sources.s.public_url: must be an http:// or https:// URL"},
      {"{\"sources\": {\"s\": {\"kind\": \"hubspot\", \"secret\": {\"env\": "
       "\"X\"}}}}",
       "t.json: $.sources.s: kind \"hubspot\" requires key \"public_url\""},
      {"{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": {\"env\": "
       "\"X\"}, \"presets\": [\"salesforce\"]}}}",
       "t.json: $.sources.s.presets[0]: \"salesforce\" is not a preset: use a "
       "provider (stripe, hubspot, paddle, pipedrive, chargebee) or "
       "provider.rule"},
      /* API tokens. */
      {"{" SRC ", \"api\": {\"tokens\": [{\"env\": \"T\"}]}}",
       "t.json: $.api.tokens[0]: missing required key \"name\""},
      {"{" SRC ", \"api\": {\"tokens\": [{\"name\": \"a\", \"env\": \"T\"}, "
       "{\"name\": \"a\", \"env\": \"U\"}]}}",
       "t.json: $.api.tokens[1]: token name \"a\" is used twice"},
      /* Event rules. */
      {"{" SRC ", \"events\": [{\"source\": \"nope\", \"type\": \"t\", "
       "\"subject\": \"s\"}]}",
       "t.json: $.events[0].source: \"nope\" is not defined in $.sources"},
      {RULE("\"match\": {}"),
       "t.json: $.events[0]: missing required key \"type\" (or \"extends\")\n"
       "t.json: $.events[0]: missing required key \"subject\" (or "
       "\"extends\")"},
      {RULE("\"type\": \"t\", \"subject\": \"company:{data.id\""),
       "t.json: $.events[0].subject: \"company:{data.id\" is not a template: "
       "put field paths in braces, as in \"company:{data.company_id}\""},
      {RULE("\"type\": \"t\", \"subject\": \"s\", \"match\": {\"type\": {}}"),
       "t.json: $.events[0].match.type: needs one of equals, one_of, exists, "
       "changed_from, changed_to"},
      {RULE("\"type\": \"t\", \"subject\": \"s\", \"match\": "
            "{\"data.object.id\": {\"contains\": \"x\"}}"),
       "t.json: $.events[0].match[\"data.object.id\"]: unknown key "
       "\"contains\""},
      {RULE(
           "\"type\": \"t\", \"subject\": \"s\", \"match\": {\"data..id\": 1}"),
       "t.json: $.events[0].match[\"data..id\"]: \"data..id\" is not a field "
       "path such as \"data.object.id\", or paths joined by | such as "
       "\"a.id | b.id\""},
      {RULE("\"type\": \"t\", \"subject\": \"s\", \"match\": {\"a.id | \": 1}"),
       "t.json: $.events[0].match[\"a.id | \"]: \"a.id | \" is not a field "
       "path such as \"data.object.id\", or paths joined by | such as "
       "\"a.id | b.id\""},
      {RULE("\"type\": \"t\", \"subject\": \"s\", \"attrs\": {\"a\": "
            "\"x || y\"}"),
       "t.json: $.events[0].attrs.a: \"x || y\" is not a field path such as "
       "\"data.object.id\", or paths joined by | such as \"a.id | b.id\""},
      {RULE("\"type\": \"t\", \"subject\": \"c:{a |}\""),
       "t.json: $.events[0].subject: \"c:{a |}\" is not a template: put field "
       "paths in braces, as in \"company:{data.company_id}\""},
      {RULE("\"type\": \"t\", \"subject\": \"s\", \"attrs\": {\"amount\": "
            "{\"path\": \"a\", \"value\": 1}}"),
       "t.json: $.events[0].attrs.amount: needs exactly one of \"path\", "
       "\"template\", \"value\""},
      {RULE("\"type\": \"t\", \"subject\": \"s\", \"attrs\": {\"amount\": "
            "{\"template\": \"{a}\", \"scale\": 0.01}}"),
       "t.json: $.events[0].attrs.amount: \"scale\" applies to a \"path\" "
       "only"},
      {RULE("\"type\": \"t\", \"subject\": \"s\", \"attrs\": {\"a b\": \"x\"}"),
       "t.json: $.events[0].attrs[\"a b\"]: \"a b\" is not a valid attribute "
       "name: use [A-Za-z_][A-Za-z0-9_]{0,63}"},
      {RULE("\"type\": \"t\", \"subject\": \"s\", \"at\": {\"path\": \"ts\", "
            "\"format\": \"epoch\"}"),
       "t.json: $.events[0].at.format: \"epoch\" is not one of: auto, unix, "
       "unix_ms, rfc3339"},
      {RULE("\"extends\": \"stripe\""),
       "t.json: $.events[0].extends: \"stripe\" is not a preset rule such as "
       "\"stripe.invoice_paid\""},
      /* Stages. */
      {"{" SRC ", \"stages\": {\"a\": {\"owner\": \"o\", \"entered_on\": "
       "[\"x\"], \"next\": \"nope\"}}}",
       "t.json: $.stages.a.next: \"nope\" is not defined in $.stages"},
      {"{" SRC ", \"stages\": {\"a\": {\"owner\": \"o\", \"entered_on\": []}}}",
       "t.json: $.stages.a.entered_on: must not be empty"},
      {"{" SRC ", \"stages\": {\"a\": {\"owner\": \"o\", \"entered_on\": "
       "[\"lead mql\"]}}}",
       "t.json: $.stages.a.entered_on[0]: \"lead mql\" is not an event type: "
       "use letters, digits and _ . : -"},
      /* Calendars. */
      {"{" SRC ", \"calendars\": {\"c\": {\"timezone\": \"Mars/Olympus\", "
       "\"hours\": {}}}}",
       "t.json: $.calendars.c.timezone: \"Mars/Olympus\" is not a time zone "
       "known to /usr/share/zoneinfo"},
      {"{" SRC ", \"calendars\": {\"c\": {\"timezone\": \"../../etc/passwd\", "
       "\"hours\": {}}}}",
       "t.json: $.calendars.c.timezone: \"../../etc/passwd\" is not a time "
       "zone "
       "known to /usr/share/zoneinfo"},
      {"{" SRC ", \"calendars\": {\"c\": {\"timezone\": \"UTC\", \"hours\": "
       "{\"mon\": [[\"09:00\", \"25:00\"]]}}}}",
       "t.json: $.calendars.c.hours.mon[0][1]: \"25:00\" is not a time HH:MM"},
      {"{" SRC ", \"calendars\": {\"c\": {\"timezone\": \"UTC\", \"hours\": "
       "{\"tue\": [[\"09:00\"]], \"wed\": [[\"10:00\", \"10:00\"]]}}}}",
       "t.json: $.calendars.c.hours.tue[0]: must be a pair [\"HH:MM\", "
       "\"HH:MM\"]\n"
       "t.json: $.calendars.c.hours.wed[0]: the range is empty"},
      {"{" SRC ", \"calendars\": {\"c\": {\"timezone\": \"UTC\", \"hours\": "
       "{\"monday\": []}}}}",
       "t.json: $.calendars.c.hours: unknown key \"monday\""},
      {"{" SRC
       ", \"calendars\": {\"c\": {\"timezone\": \"UTC\", \"hours\": {}, "
       "\"holidays\": [\"2026-02-29\", \"2026-12-25\", \"25/12/2026\"]}}}",
       "t.json: $.calendars.c.holidays[0]: \"2026-02-29\" is not a date "
       "YYYY-MM-DD\n"
       "t.json: $.calendars.c.holidays[2]: \"25/12/2026\" is not a date "
       "YYYY-MM-DD"},
      /* Handoffs. */
      {HANDOFF(""), "t.json: $.handoffs.h: missing required key \"sla\""},
      {"{" SRC ", " STAGES ", \"handoffs\": {\"h\": {\"owner\": \"o\", "
       "\"from\": \"x\", \"to\": \"y\", \"start\": [\"e.a\"], \"stop\": "
       "[\"e.b\"], \"sla\": {\"within\": \"1h\"}, \"calendar\": \"biz\", "
       "\"notify\": [\"slack\"]}}}",
       "t.json: $.handoffs.h.from: \"x\" is not defined in $.stages\n"
       "t.json: $.handoffs.h.to: \"y\" is not defined in $.stages\n"
       "t.json: $.handoffs.h.calendar: \"biz\" is not defined in $.calendars\n"
       "t.json: $.handoffs.h.notify[0]: \"slack\" is not defined in "
       "$.notifiers"},
      {HANDOFF(", \"sla\": {}"),
       "t.json: $.handoffs.h.sla: needs exactly one of \"within\" and "
       "\"deadline\""},
      {HANDOFF(", \"sla\": {\"within\": \"1h\", \"deadline\": {\"attr\": "
               "\"renews_at\"}}"),
       "t.json: $.handoffs.h.sla: needs exactly one of \"within\" and "
       "\"deadline\""},
      {HANDOFF(", \"sla\": {\"deadline\": {\"attr\": \"renews_at\", "
               "\"offset\": \"-90x\"}}"),
       "t.json: $.handoffs.h.sla.deadline.offset: \"-90x\" is not a duration "
       "such as -90d, 1h30m, 0s"},
      {HANDOFF(WITHIN ", \"warn_at\": 1.5"),
       "t.json: $.handoffs.h.warn_at: must be a share between 0 and 1, such as "
       "0.8"},
      {HANDOFF(WITHIN ", \"pause\": [\"p\"]"),
       "t.json: $.handoffs.h: \"pause\" and \"resume\" go together"},
      {HANDOFF(WITHIN ", \"goals\": [{\"when\": {\"segment\": \"smb\"}, "
                      "\"offset\": \"-1d\"}]"),
       "t.json: $.handoffs.h.goals[0]: a goal of an sla.within gives "
       "\"within\""},
      {HANDOFF(WITHIN ", \"goals\": [{\"when\": {\"segment\": \"smb\"}}]"),
       "t.json: $.handoffs.h.goals[0]: needs exactly one of \"within\" and "
       "\"offset\""},
      {HANDOFF(WITHIN ", \"requires\": [\"e-mail\"]"),
       "t.json: $.handoffs.h.requires[0]: \"e-mail\" is not a valid attribute "
       "name: use [A-Za-z_][A-Za-z0-9_]{0,63}"},
      /* Notifiers. */
      {"{" SRC ", \"notifiers\": {\"n\": {\"kind\": \"slack\", \"url\": "
       "\"https://hooks.slack.com/services/T/B/x\"}}}",
       "t.json: $.notifiers.n: a Slack webhook URL is a secret: give \"url\": "
       "{\"env\": ...} or {\"file\": ...}"},
      {"{" SRC ", \"notifiers\": {\"n\": {\"kind\": \"webhook\", \"url\": "
       "\"https://example.com/alerts\"}}}",
       "t.json: $.notifiers.n: kind \"webhook\" requires key \"secret\""},
      {"{" SRC ", \"notifiers\": {\"n\": {\"kind\": \"webhook\", \"url\": "
       "\"example.com/alerts?token=abc\", \"secret\": {\"env\": \"S\"}}}}",
       "t.json: $.notifiers.n.url: must be an http:// or https:// URL"},
      {"{" SRC ", \"notifiers\": {\"n\": {\"kind\": \"email\", \"url\": "
       "{\"env\": \"U\"}}}}",
       "t.json: $.notifiers.n.kind: \"email\" is not one of: slack, webhook"},
      /* Digests. */
      {"{" SRC ", \"digests\": {\"weekly\": {\"notifier\": \"nobody\", "
       "\"schedule\": \"Mon 09:00\"}}}",
       "t.json: $.digests.weekly.notifier: \"nobody\" is not defined in "
       "$.notifiers"},
      {"{" SRC ", \"notifiers\": {\"n\": {\"kind\": \"slack\", \"url\": "
       "{\"env\": \"U\"}}}, \"digests\": {\"weekly\": {\"notifier\": "
       "\"n\", \"schedule\": \"Monday 9am\"}}}",
       "t.json: $.digests.weekly.schedule: \"Monday 9am\" is not a schedule: "
       "a day Mon … Sun, a space and a time HH:MM, as \"Mon 09:00\""},
      /* KPIs. */
      {KPI("\"metric\": \"attainment\", \"target\": 0.9, \"amber\": 0.8, "
           "\"red\": 0.7"),
       "t.json: $.kpis.k: needs exactly one of \"handoff\" and \"stage\""},
      {KPI("\"handoff\": \"nope\", \"metric\": \"attainment\", \"target\": "
           "0.9, \"amber\": 0.8, \"red\": 0.7"),
       "t.json: $.kpis.k.handoff: \"nope\" is not defined in $.handoffs"},
      {KPI("\"stage\": \"zz\", \"metric\": \"conversion\", \"target\": 0.9, "
           "\"amber\": 0.8, \"red\": 0.7"),
       "t.json: $.kpis.k.stage: \"zz\" is not defined in $.stages"},
      {KPI("\"stage\": \"a\", \"metric\": \"attainment\", \"target\": 0.9, "
           "\"amber\": 0.8, \"red\": 0.7"),
       "t.json: $.kpis.k: metric \"attainment\" is measured on a handoff"},
      {KPI("\"handoff\": \"h\", \"metric\": \"attainment\", \"target\": 0.7, "
           "\"amber\": 0.8, \"red\": 0.9"),
       "t.json: $.kpis.k: for \"attainment\" higher is better, so target >= "
       "amber >= red"},
      {KPI("\"handoff\": \"h\", \"metric\": \"attainment\", \"target\": 95, "
           "\"amber\": 0.8, \"red\": 0.7"),
       "t.json: $.kpis.k.target: this metric is a share: 0 to 1, such as 0.95"},
      {KPI("\"handoff\": \"h\", \"metric\": \"p90_response\", \"target\": 300, "
           "\"amber\": \"10m\", \"red\": \"1h\""),
       "t.json: $.kpis.k.target: this metric takes a duration such as \"5m\""},
      {KPI("\"handoff\": \"h\", \"metric\": \"p90_response\", \"target\": "
           "\"1h\", \"amber\": \"10m\", \"red\": \"2h\""),
       "t.json: $.kpis.k: for \"p90_response\" lower is better, so target <= "
       "amber <= red"},
      {KPI("\"stage\": \"a\", \"metric\": \"revenue\", \"target\": 3, "
           "\"amber\": 2, \"red\": 1"),
       "t.json: $.kpis.k: metric \"revenue\" requires key \"currency\""},
      {KPI("\"stage\": \"a\", \"metric\": \"nps\", \"target\": 3, "
           "\"amber\": 2, \"red\": 1"),
       "t.json: $.kpis.k.metric: \"nps\" is not one of: attainment, "
       "incomplete_rate, p50_response, p90_response, breached_open, "
       "at_risk_open, conversion, median_time_in_stage, revenue, entered"},
      {KPI("\"stage\": \"a\", \"metric\": \"entered\", \"target\": 3, "
           "\"amber\": 2, \"red\": 1, \"window\": \"90d\""),
       "t.json: $.kpis.k.window: \"90d\" is not one of: 24h, 7d, 30d"},
      /* Retention and scopes. */
      {"{" SRC ", \"intake\": {\"keep\": \"forever\"}}",
       "t.json: $.intake.keep: \"forever\" is not \"0\" or a duration such "
       "as 3d, 12h, 90m"},
      {"{" SRC ", \"history\": {\"keep\": \"12h\"}}",
       "t.json: $.history.keep: must be at least 1d"},
      {"{" SRC ", \"history\": {\"keep\": \"0\"}}",
       "t.json: $.history.keep: \"0\" is not a duration such as 400d, 90d"},
      {"{" SRC ", \"dlq\": {\"keep\": 30}}",
       "t.json: $.dlq.keep: expected a string, got an integer"},
      {"{" SRC ", \"api\": {\"tokens\": [{\"name\": \"t\", \"env\": "
       "\"T\", \"scopes\": [\"write\"]}]}}",
       "t.json: $.api.tokens[0].scopes[0]: \"write\" is not one of: read, "
       "admin"},
      {"{" SRC ", \"api\": {\"tokens\": [{\"name\": \"t\", \"env\": "
       "\"T\", \"scopes\": []}]}}",
       "t.json: $.api.tokens[0].scopes: must not be empty"},
      /* The owners directory and ladders. */
      {"{" SRC ", \"owners\": {\"ana\": {\"name\": \"Ana\", \"slack\": "
       "\"ana\"}}}",
       "t.json: $.owners.ana.slack: must be a Slack member id (U…, W…) or a "
       "handle (@name)"},
      {"{" SRC ", \"owners\": {\"ana\": {\"name\": \"Ana\", \"ids\": "
       "{\"zoho\": 1}}}}",
       "t.json: $.owners.ana.ids: unknown key \"zoho\""},
      {"{" SRC ", \"owners\": {\"a\": {\"name\": \"A\", \"ids\": "
       "{\"pipedrive\": 9001}}, \"b\": {\"name\": \"B\", \"ids\": "
       "{\"pipedrive\": [\"9001\"]}}}}",
       "t.json: $.owners: pipedrive id \"9001\" belongs to both \"a\" and "
       "\"b\""},
      {"{" SRC ", \"owners\": {\"a\": {\"name\": \"A\", \"manager\": "
       "\"b\"}, \"b\": {\"name\": \"B\", \"manager\": \"a\"}}}",
       "t.json: $.owners: owner \"a\" is their own manager\n"
       "t.json: $.owners: owner \"b\" is their own manager"},
      {"{" SRC ", \"owners\": {\"a\": {\"name\": \"A\", \"manager\": "
       "\"zed\"}}}",
       "t.json: $.owners.a.manager: \"zed\" is not defined in $.owners"},
      {"{" SRC ", \"ladders\": {\"l\": [{\"state\": \"breached\"}, "
       "{\"state\": \"at_risk\"}]}}",
       "t.json: $.ladders.l: step 1 comes before step 0: order the steps "
       "at_risk then breached, each by \"after\""},
      {"{" SRC ", \"ladders\": {\"l\": [{\"state\": \"breached\", "
       "\"to\": [\"boss\"]}]}}",
       "t.json: $.ladders.l[0].to[0]: \"boss\" is not \"owner\", \"manager\" "
       "or defined in $.owners"},
      {"{" SRC ", \"ladders\": {\"l\": [{\"state\": \"open\"}]}}",
       "t.json: $.ladders.l[0].state: \"open\" is not one of: at_risk, "
       "breached"},
      {"{" SRC ", \"api\": {\"public_url\": \"handoff.example.com\"}}",
       "t.json: $.api.public_url: must be an http:// or https:// URL"},
      /* JSON syntax, reported with line and column by jansson. */
      {"{\"sources\": {},\n \"redis\": {\"port\": 1,}}",
       "t.json:2:22: string or '}' expected near '}'"},
      {"{\"sources\": {}, \"sources\": {}}",
       "t.json:1:25: duplicate object key near '\"sources\"'"},
      {"", "t.json:1:0: '[' or '{' expected near end of file"},
  };
  return cr_make_param_array(struct bad, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad *c, config_rejects, table) {
  must_fail(c->json, HK_CONFIG_NO_SECRETS, c->diag);
}

/* ---------------------------------------------------------------------------
 * Behaviours
 * ------------------------------------------------------------------------- */

Test(config_load, minimal_config_gets_defaults) {
  struct hk_config *cfg = must_load("{\"sources\": {}}", 0);
  json_t *doc = cfg->doc;
  cr_assert_str_eq(cfg->redis.host, "127.0.0.1");
  cr_assert_null(cfg->redis.unix_path);
  cr_assert_null(cfg->redis.password);
  cr_assert_eq(cfg->redis.port, 6379);
  cr_assert_eq(cfg->redis.db, 0);
  cr_assert_str_eq(cfg->redis.prefix, "handoff:");
  cr_assert_eq(cfg->redis.connect_timeout_ms, 500);
  cr_assert_eq(cfg->redis.timeout_ms, 2000);
  cr_assert_float_eq(cfg->redis.memory_guard, 0.9, 1e-9);
  cr_assert_eq(cfg->max_body, 1048576);
  cr_assert_eq(cfg->retry_after_s, 5);
  cr_assert_eq(cfg->nsources, 0);
  cr_assert_eq(cfg->ntokens, 0);
  cr_assert_eq(cfg->nnotifiers, 0);
  /* Every section is in the document, defaults filled in. */
  cr_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(doc, "intake"), "dedupe_ttl")),
                   "7d");
  cr_assert(json_is_array(json_object_get(doc, "events")));
  cr_assert(json_is_object(json_object_get(doc, "kpis")));
  cr_assert_str_eq(json_string_value(
                       json_object_get(json_object_get(doc, "intake"), "keep")),
                   "3d");
  cr_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(doc, "history"), "keep")),
                   "400d");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_object_get(doc, "dlq"), "keep")),
      "30d");
  hk_config_free(cfg);
}

Test(config_load, token_scopes_default_to_read) {
  struct hk_config *cfg = must_load(
      "{" SRC ", \"api\": {\"tokens\": [{\"name\": \"r\", \"env\": \"R\"}, "
      "{\"name\": \"a\", \"env\": \"A\", \"scopes\": [\"admin\"]}]}, "
      "\"intake\": {\"keep\": \"0\"}}",
      HK_CONFIG_NO_SECRETS);
  cr_assert_eq(cfg->ntokens, 2);
  cr_assert_eq(cfg->tokens[0].scopes, HK_SCOPE_READ);
  cr_assert_eq(cfg->tokens[1].scopes, HK_SCOPE_ADMIN);
  hk_config_free(cfg);
}

Test(config_load, fills_defaults_of_nested_objects) {
  struct hk_config *cfg = must_load(HANDOFF(WITHIN), 0);
  json_t *h = json_object_get(json_object_get(cfg->doc, "handoffs"), "h");
  cr_assert_float_eq(json_number_value(json_object_get(h, "warn_at")), 0.8,
                     1e-9);
  cr_assert_eq(json_array_size(json_object_get(h, "notify")), 0);
  cr_assert_eq(json_array_size(json_object_get(h, "requires")), 0);
  hk_config_free(cfg);
}

/* A handoff whose stop enters no stage (a first reply, a kickoff call) has
 * no "from" or "to"; nothing is filled in for them. */
Test(config_load, a_handoff_without_from_and_to_loads) {
  struct hk_config *cfg = must_load(
      "{" SRC ", \"handoffs\": {\"first_reply\": {\"owner\": \"Support\", "
      "\"start\": [\"ticket.opened\"], \"stop\": [\"ticket.replied\"], "
      "\"sla\": {\"within\": \"4h\"}}, \"kickoff\": {\"owner\": \"CS\", "
      "\"to\": \"b\", \"start\": [\"deal.won\"], \"stop\": "
      "[\"kickoff.held\"], \"sla\": {\"within\": \"48h\"}}}, " STAGES "}",
      0);
  json_t *all = json_object_get(cfg->doc, "handoffs");
  json_t *h = json_object_get(all, "first_reply");
  cr_assert_not_null(h);
  cr_expect_null(json_object_get(h, "from"));
  cr_expect_null(json_object_get(h, "to"));
  cr_expect_null(json_object_get(json_object_get(all, "kickoff"), "from"));
  cr_expect_str_eq(
      json_string_value(json_object_get(json_object_get(all, "kickoff"), "to")),
      "b");
  hk_config_free(cfg);
}

/* "a | b" (the first present) is a field path wherever one is taken:
 * a value's path, an attribute's plain string, a template's braces, `at`
 * and the keys of `match`. */
Test(config_load, fallback_paths_load_wherever_a_path_is_taken) {
  struct hk_config *cfg = must_load(
      RULE("\"match\": {\"data.object.parent.subscription_details | "
           "data.object.subscription_details\": {\"exists\": true}}, "
           "\"type\": \"invoice.paid\", \"subject\": "
           "\"company:{data.a.id | data.b.id}\", \"at\": \"created|ts\", "
           "\"attrs\": {\"sub\": \"data.object.subscription | "
           "data.object.parent.subscription_details.subscription\", "
           "\"seg\": {\"path\": \"a.seg | b.seg\", \"default\": \"smb\"}}"),
      HK_CONFIG_NO_SECRETS);
  hk_config_free(cfg);
}

Test(config_load, reports_every_error_not_just_the_first) {
  must_fail("{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": "
            "{\"env\": \"X\"}, \"tolerance\": \"soon\"}},\n"
            " \"redis\": {\"port\": 0},\n"
            " \"stages\": {\"a\": {\"owner\": \"o\", \"entered_on\": [\"x\"], "
            "\"next\": \"b\"}}}",
            0,
            "t.json: $.sources.s.tolerance: \"soon\" is not a duration such "
            "as 90s, 5m, 48h, 1h30m\n"
            "t.json: $.redis.port: must be between 1 and 65535\n"
            "t.json: $.stages.a.next: \"b\" is not defined in $.stages");
}

Test(config_load, decodes_redis_intake_and_kind_defaults) {
  struct hk_config *cfg = must_load(
      "{\"redis\": {\"unix\": \"/run/redis/redis.sock\", \"db\": 3, "
      "\"prefix\": \"hk:\", \"timeout\": \"1s500ms\", \"memory_guard\": 1},"
      " \"intake\": {\"max_body_bytes\": 65536, \"retry_after\": \"1500ms\"},"
      " \"sources\": {\"gh\": {\"kind\": \"hmac\", \"secret\": {\"env\": "
      "\"X\"}, \"header\": \"X-Hub-Signature-256\", \"prefix\": \"sha256=\", "
      "\"tolerance\": \"90s\"}}}",
      HK_CONFIG_NO_SECRETS);
  const struct hk_source *gh = hk_config_source(cfg, "gh");
  cr_assert_null(cfg->redis.host);
  cr_assert_str_eq(cfg->redis.unix_path, "/run/redis/redis.sock");
  cr_assert_eq(cfg->redis.db, 3);
  cr_assert_str_eq(cfg->redis.prefix, "hk:");
  cr_assert_eq(cfg->redis.timeout_ms, 1500);
  cr_assert_float_eq(cfg->redis.memory_guard, 1.0, 1e-9);
  cr_assert_eq(cfg->max_body, 65536);
  cr_assert_eq(cfg->retry_after_s, 2, "Retry-After rounds up");
  cr_assert_not_null(gh);
  cr_assert_eq(gh->kind, HK_SOURCE_HMAC);
  cr_assert_str_eq(gh->kind_name, "hmac");
  cr_assert_eq(gh->tolerance_ms, 90000);
  cr_assert_str_eq(json_string_value(json_object_get(gh->conf, "hash")),
                   "sha256");
  cr_assert_str_eq(json_string_value(json_object_get(gh->conf, "encoding")),
                   "hex");
  cr_assert_str_eq(json_string_value(json_object_get(gh->conf, "prefix")),
                   "sha256=");
  cr_assert_null(hk_config_source(cfg, "nope"));
  hk_config_free(cfg);
}

/* ---------------------------------------------------------------------------
 * Secrets
 * ------------------------------------------------------------------------- */

Test(config_load, decodes_the_sentinels_and_their_wait) {
  struct hk_config *cfg =
      must_load("{" SRC ", \"redis\": {\"sentinel\": {\"master\": \"handoff\", "
                "\"nodes\": [\"10.0.0.5:26379\", \"[::1]:26380\"]}}}",
                0);
  struct hk_error err = {HK_E_OK, ""};
  cr_assert_str_eq(cfg->redis.sentinel_master, "handoff");
  cr_assert_eq(cfg->redis.nsentinels, 2);
  cr_assert_str_eq(cfg->redis.sentinel_hosts[0], "10.0.0.5");
  cr_assert_eq(cfg->redis.sentinel_ports[0], 26379);
  cr_assert_str_eq(cfg->redis.sentinel_hosts[1], "::1");
  cr_assert_eq(cfg->redis.sentinel_ports[1], 26380);
  cr_assert_eq(cfg->redis.min_replicas_acked, 1);
  cr_assert_eq(cfg->redis.wait_timeout_ms, 1000);
  /* An explicit address replaces the sentinels and their default wait. */
  cr_assert_eq(hk_config_set_redis(cfg, "127.0.0.1:6380", &err), HK_E_OK);
  cr_assert_null(cfg->redis.sentinel_master);
  cr_assert_eq(cfg->redis.min_replicas_acked, 0);
  hk_config_free(cfg);
  cfg = must_load("{" SRC "}", 0);
  cr_assert_eq(cfg->redis.min_replicas_acked, 0);
  hk_config_free(cfg);
}

Test(config_secrets, reads_env_and_rotation_list) {
  struct hk_config *cfg;
  const struct hk_source *s;
  setenv("T_NEW", WHSEC, 1);
  setenv("T_OLD", "whsec_c2VjcmV0", 1);
  cfg = must_load("{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\", "
                  "\"secret\": [{\"env\": \"T_NEW\"}, {\"env\": \"T_OLD\"}]}}}",
                  0);
  s = hk_config_source(cfg, "demo");
  cr_assert_eq(s->nsecrets, 2);
  cr_assert_eq(s->secrets[0].len, strlen(WHSEC));
  cr_assert_str_eq((const char *)s->secrets[0].bytes, WHSEC);
  cr_assert_str_eq((const char *)s->secrets[1].bytes, "whsec_c2VjcmV0");
  cr_assert_eq(s->tolerance_ms, 300000);
  hk_config_free(cfg);
}

Test(config_secrets, missing_env_var_names_the_variable) {
  unsetenv("T_MISSING");
  must_fail("{" DEMO ", \"api\": {\"tokens\": [{\"name\": \"a\", \"env\": "
            "\"T_MISSING\"}]}}",
            0,
            "t.json: $.sources.demo.secret: environment variable X is not "
            "set\n"
            "t.json: $.api.tokens[0]: environment variable T_MISSING is not "
            "set");
}

Test(config_secrets, empty_env_var_is_an_error) {
  setenv("X", "", 1);
  must_fail("{" DEMO "}", 0,
            "t.json: $.sources.demo.secret: environment variable X is empty");
}

Test(config_secrets, file_drops_one_trailing_newline) {
  struct hk_config *cfg = must_load(
      "{\"sources\": {\"pd\": {\"kind\": \"basic\", \"secret\": {\"file\": "
      "\"" HK_FIXTURES "/config/basic-secret.txt\"}}}}",
      0);
  const struct hk_source *s = hk_config_source(cfg, "pd");
  cr_assert_eq(s->nsecrets, 1);
  cr_assert_eq(s->secrets[0].len, 10);
  cr_assert_str_eq((const char *)s->secrets[0].bytes, "ana:s3cret");
  hk_config_free(cfg);
}

Test(config_secrets, file_drops_only_one_newline) {
  /* The second newline stays, and "whsec_…\n" is not base64. */
  must_fail("{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\", "
            "\"secret\": {\"file\": \"" HK_FIXTURES
            "/config/whsec-two-newlines.txt\"}}}}",
            0,
            "t.json: $.sources.demo.secret: the secret in file " HK_FIXTURES
            "/config/whsec-two-newlines.txt is not \"whsec_\" followed by "
            "base64");
}

Test(config_secrets, unreadable_file_names_the_path) {
  must_fail("{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": "
            "{\"file\": \"/nonexistent/handoff.secret\"}}}}",
            0,
            "t.json: $.sources.s.secret: cannot read "
            "/nonexistent/handoff.secret: No such file or directory");
}

struct text {
  char s[64];
};

ParameterizedTestParameters(config_secrets, bad_whsec_never_printed) {
  static struct text secrets[] = {
      {"whsec_not base64!"}, {"whsec_"},     {"whsec_abc"},
      {"whsec_ab=c"},        {"whsec_a==="}, {"s3cr3t-value"},
  };
  return cr_make_param_array(struct text, secrets,
                             sizeof secrets / sizeof secrets[0]);
}

ParameterizedTest(struct text *secret, config_secrets,
                  bad_whsec_never_printed) {
  setenv("X", secret->s, 1);
  must_fail("{" DEMO "}", 0,
            "t.json: $.sources.demo.secret: the secret in environment "
            "variable X is not \"whsec_\" followed by base64");
}

Test(config_secrets, bare_base64_is_a_standard_webhooks_secret) {
  struct hk_config *cfg;
  setenv("X", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
  cfg = must_load("{" DEMO "}", 0);
  hk_config_free(cfg);
}

Test(config_secrets, basic_needs_user_colon_password) {
  setenv("X", "no-colon-here", 1);
  must_fail("{\"sources\": {\"pd\": {\"kind\": \"basic\", \"secret\": "
            "{\"env\": \"X\"}}}}",
            0,
            "t.json: $.sources.pd.secret: the secret in environment variable "
            "X is not of the form user:password");
}

Test(config_secrets, no_secrets_flag_reads_nothing) {
  struct hk_config *cfg;
  const struct hk_source *s;
  unsetenv("X");
  unsetenv("T");
  cfg = must_load("{" DEMO ", \"redis\": {\"password\": {\"env\": \"X\"}}, "
                  "\"api\": {\"tokens\": [{\"name\": \"a\", \"env\": "
                  "\"T\"}]}}",
                  HK_CONFIG_NO_SECRETS);
  s = hk_config_source(cfg, "demo");
  cr_assert_eq(s->nsecrets, 1);
  cr_assert_null(s->secrets[0].bytes);
  cr_assert_eq(s->secrets[0].len, 0);
  cr_assert_null(cfg->redis.password);
  cr_assert_eq(cfg->ntokens, 1);
  cr_assert_str_eq(cfg->tokens[0].name, "a");
  cr_assert_null(cfg->tokens[0].value);
  hk_config_free(cfg);
}

Test(config_secrets, optional_unset_disables_source_and_notifier) {
  struct hk_config *cfg;
  const struct hk_notifier *n;
  unsetenv("U");
  unsetenv("S");
  setenv("X", WHSEC, 1);
  setenv("SLACK", "https://hooks.slack.com/services/T/B/x", 1);
  cfg = must_load(
      "{\"sources\": {\"a\": {\"kind\": \"stripe\", \"secret\": {\"env\": "
      "\"U\", \"optional\": true}}, \"b\": {\"kind\": \"stripe\", \"secret\": "
      "[{\"env\": \"U\", \"optional\": true}, {\"env\": \"X\"}]}},"
      " \"notifiers\": {\"off\": {\"kind\": \"slack\", \"url\": {\"env\": "
      "\"U\", \"optional\": true}}, \"on\": {\"kind\": \"slack\", \"url\": "
      "{\"env\": \"SLACK\"}, \"retries\": 2}, \"wh\": {\"kind\": \"webhook\", "
      "\"url\": \"https://example.com/a\", \"secret\": {\"env\": \"S\", "
      "\"optional\": true}}}}",
      0);
  cr_assert_null(hk_config_source(cfg, "a"));
  cr_assert_eq(cfg->nsources, 1);
  cr_assert_eq(hk_config_source(cfg, "b")->nsecrets, 1);
  cr_assert_null(hk_config_notifier(cfg, "off")->url);
  n = hk_config_notifier(cfg, "on");
  cr_assert_str_eq(n->url, "https://hooks.slack.com/services/T/B/x");
  cr_assert_eq(n->kind, HK_NOTIFIER_SLACK);
  cr_assert_eq(n->retries, 2);
  cr_assert_eq(n->backoff_ms, 2000);
  cr_assert_eq(n->timeout_ms, 5000);
  cr_assert_null(hk_config_notifier(cfg, "wh")->url,
                 "a webhook without its secret is disabled");
  hk_config_free(cfg);
}

Test(config_secrets, notifier_url_from_env_must_be_a_url) {
  setenv("U", "hooks.slack.com/services/T/B/x", 1);
  must_fail("{" SRC ", \"notifiers\": {\"n\": {\"kind\": \"slack\", "
            "\"url\": {\"env\": \"U\"}}}}",
            0,
            "t.json: $.notifiers.n.url: the URL in environment variable U "
            "is not an http:// or https:// URL");
}

/* ---------------------------------------------------------------------------
 * Files and the shipped example
 * ------------------------------------------------------------------------- */

Test(config_load, load_names_the_file) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  enum hk_err rc = hk_config_load(HK_FIXTURES "/config/unknown-key.json",
                                  HK_CONFIG_NO_SECRETS, &cfg, &diag);
  cr_assert_eq(rc, HK_E_CONFIG);
  cr_assert_null(cfg);
  cr_assert_eq(diag.n, 1);
  cr_assert_str_eq(diag.lines[0], HK_FIXTURES "/config/unknown-key.json: $: "
                                              "unknown key \"bogus\"");
  hk_config_diag_fini(&diag);
}

Test(config_load, missing_file_is_an_io_error) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  enum hk_err rc = hk_config_load("/nonexistent/handoff.json", 0, &cfg, &diag);
  cr_assert_eq(rc, HK_E_IO);
  cr_assert_null(cfg);
  cr_assert_eq(diag.n, 1);
  cr_assert_str_eq(diag.lines[0], "/nonexistent/handoff.json: cannot read: "
                                  "No such file or directory");
  hk_config_diag_fini(&diag);
}

Test(config_load, refuses_text_over_the_cap) {
  size_t len = HK_CAP_CONFIG_FILE + 1;
  char *big = malloc(len);
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  enum hk_err rc;
  memset(big, ' ', len);
  rc = hk_config_parse(big, len, "big.json", 0, &cfg, &diag);
  cr_assert_eq(rc, HK_E_CONFIG);
  cr_assert_eq(diag.n, 1);
  cr_assert_str_eq(diag.lines[0], "big.json: the file is over 4194304 bytes");
  hk_config_diag_fini(&diag);
  free(big);
}

static struct hk_config *load_example(void) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  enum hk_err rc = hk_config_load(HK_SOURCE_DIR "/config/examples/saas.json", 0,
                                  &cfg, &diag);
  char *d = joined(&diag);
  cr_assert_eq(rc, HK_E_OK, "%s", d);
  free(d);
  hk_config_diag_fini(&diag);
  return cfg;
}

Test(config_example, loads_with_the_quick_start_environment) {
  struct hk_config *cfg;
  const struct hk_source *demo;
  unsetenv("HANDOFF_HUBSPOT_SECRET");
  unsetenv("HANDOFF_STRIPE_SECRET");
  unsetenv("HANDOFF_STRIPE_SECRET_PREVIOUS");
  unsetenv("HANDOFF_SLACK_URL");
  setenv("HANDOFF_DEMO_SECRET", WHSEC, 1);
  setenv("HANDOFF_API_TOKEN", "dev-token-0123456789abcdef", 1);
  cfg = load_example();
  demo = hk_config_source(cfg, "demo");
  cr_assert_not_null(demo);
  cr_assert_eq(demo->kind, HK_SOURCE_STANDARD_WEBHOOKS);
  cr_assert_str_eq((const char *)demo->secrets[0].bytes, WHSEC);
  cr_assert_eq(cfg->nsources, 1, "hubspot and stripe are disabled");
  cr_assert_eq(cfg->ntokens, 1);
  cr_assert_str_eq(cfg->tokens[0].name, "dashboard");
  cr_assert_str_eq(cfg->tokens[0].value, "dev-token-0123456789abcdef");
  cr_assert_eq(cfg->nnotifiers, 3);
  cr_assert_null(hk_config_notifier(cfg, "sdr_slack")->url);
  cr_assert_eq(json_object_size(json_object_get(cfg->doc, "handoffs")), 3);
  hk_config_free(cfg);
}

Test(config_example, loads_with_every_secret_set) {
  struct hk_config *cfg;
  setenv("HANDOFF_DEMO_SECRET", WHSEC, 1);
  setenv("HANDOFF_API_TOKEN", "dev-token-0123456789abcdef", 1);
  setenv("HANDOFF_HUBSPOT_SECRET", "hubspot-client-secret", 1);
  setenv("HANDOFF_STRIPE_SECRET", "whsec_new", 1);
  setenv("HANDOFF_STRIPE_SECRET_PREVIOUS", "whsec_old", 1);
  setenv("HANDOFF_SLACK_URL", "https://hooks.slack.com/services/T/B/x", 1);
  setenv("HANDOFF_OPS_WEBHOOK_URL", "https://ops.example.com/handoff", 1);
  setenv("HANDOFF_OPS_WEBHOOK_SECRET", WHSEC, 1);
  cfg = load_example();
  cr_assert_eq(cfg->nsources, 3);
  cr_assert_eq(hk_config_source(cfg, "stripe")->nsecrets, 2);
  cr_assert_eq(hk_config_source(cfg, "hubspot")->kind, HK_SOURCE_HUBSPOT);
  cr_assert_str_eq(hk_config_notifier(cfg, "ops_webhook")->url,
                   "https://ops.example.com/handoff");
  cr_assert_eq(hk_config_notifier(cfg, "ops_webhook")->secret.len,
               strlen(WHSEC));
  hk_config_free(cfg);
}

Test(config_example, checks_without_secrets) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  unsetenv("HANDOFF_DEMO_SECRET");
  cr_assert_eq(hk_config_load(HK_SOURCE_DIR "/config/examples/saas.json",
                              HK_CONFIG_NO_SECRETS, &cfg, &diag),
               HK_E_OK);
  cr_assert_eq(cfg->nsources, 3);
  hk_config_free(cfg);
  hk_config_diag_fini(&diag);
}

/* ---------------------------------------------------------------------------
 * --redis
 * ------------------------------------------------------------------------- */

struct addr_case {
  char addr[64];
  enum hk_err rc;
  char host[64]; /* "" when a unix path is expected */
  int port;
  char unix_path[64];
};

ParameterizedTestParameters(config_set_redis, parses) {
  static struct addr_case cases[] = {
      {"10.0.0.5:6380", HK_E_OK, "10.0.0.5", 6380, ""},
      {"redis.internal", HK_E_OK, "redis.internal", 6379, ""},
      {"[::1]:7000", HK_E_OK, "::1", 7000, ""},
      {"[::1]", HK_E_OK, "::1", 6379, ""},
      {"unix:/run/redis/redis.sock", HK_E_OK, "", 0, "/run/redis/redis.sock"},
      {"unix:run/redis.sock", HK_E_USAGE, "", 0, ""},
      {"::1:6379", HK_E_USAGE, "", 0, ""},
      {"host:0", HK_E_USAGE, "", 0, ""},
      {"host:65536", HK_E_USAGE, "", 0, ""},
      {"host:63x", HK_E_USAGE, "", 0, ""},
      {":6379", HK_E_USAGE, "", 0, ""},
      {"", HK_E_USAGE, "", 0, ""},
      {"[::1", HK_E_USAGE, "", 0, ""},
      {"[::1]x", HK_E_USAGE, "", 0, ""},
  };
  return cr_make_param_array(struct addr_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct addr_case *c, config_set_redis, parses) {
  struct hk_config *cfg = must_load("{\"sources\": {}}", 0);
  struct hk_error err;
  enum hk_err rc = hk_config_set_redis(cfg, c->addr, &err);
  cr_assert_eq(rc, c->rc, "%s", c->addr);
  if (rc == HK_E_OK && c->host[0] != '\0') {
    cr_assert_str_eq(cfg->redis.host, c->host);
    cr_assert_eq(cfg->redis.port, c->port);
    cr_assert_null(cfg->redis.unix_path);
  } else if (rc == HK_E_OK) {
    cr_assert_null(cfg->redis.host);
    cr_assert_str_eq(cfg->redis.unix_path, c->unix_path);
  } else {
    cr_assert_eq(err.code, HK_E_USAGE);
    cr_assert(strncmp(err.msg, "--redis: ", 9) == 0, "%s", err.msg);
    cr_assert_str_eq(cfg->redis.host, "127.0.0.1", "unchanged on error");
  }
  hk_config_free(cfg);
}

/* api.mount: "/handoff/" by default, "/" or a path of safe segments. */
Test(config_load, mount_defaults_and_is_checked) {
  static const char *const bad[] = {"handoff/", "/handoff", "//",    "/a//b/",
                                    "/a/../",   "/a b/",    "/%2e/", ""};
  struct hk_config *cfg = must_load("{\"sources\": {}}", 0);
  cr_assert_str_eq(hk_config_mount(cfg), "/handoff/");
  hk_config_free(cfg);
  cfg = must_load("{\"api\": {\"mount\": \"/\"}, \"sources\": {}}", 0);
  cr_assert_str_eq(hk_config_mount(cfg), "/");
  hk_config_free(cfg);
  cfg = must_load(
      "{\"api\": {\"mount\": \"/ops/hooks-1.x/\"}, \"sources\": {}}", 0);
  cr_assert_str_eq(hk_config_mount(cfg), "/ops/hooks-1.x/");
  hk_config_free(cfg);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256];
    char want[512];
    snprintf(text, sizeof text,
             "{\"api\": {\"mount\": \"%s\"}, \"sources\": {}}", bad[i]);
    snprintf(want, sizeof want,
             "t.json: $.api.mount: must be \"/\" or a path such as "
             "\"/handoff/\": it starts and ends with \"/\", and its segments "
             "are letters, digits and -._~ (64 bytes at most)");
    must_fail(text, 0, want);
  }
}

static const char *public_url(const struct hk_config *cfg, const char *name) {
  return json_string_value(
      json_object_get(hk_config_source(cfg, name)->conf, "public_url"));
}

/* A HubSpot public_url given as an origin follows api.mount; a whole URL
 * is used as written. */
Test(config_load, hubspot_public_url_follows_the_mount) {
  struct hk_config *cfg;
  setenv("HK_CFG_HS", "client-secret", 1);
  cfg = must_load(
      "{\"api\": {\"mount\": \"/crm/\"}, \"sources\": {"
      "\"hs\": {\"kind\": \"hubspot\", \"secret\": {\"env\": \"HK_CFG_HS\"},"
      " \"public_url\": \"https://hooks.example.com\"},"
      "\"hs2\": {\"kind\": \"hubspot\", \"secret\": {\"env\": \"HK_CFG_HS\"},"
      " \"public_url\": \"https://hooks.example.com:8443/\"},"
      "\"hs3\": {\"kind\": \"hubspot\", \"secret\": {\"env\": \"HK_CFG_HS\"},"
      " \"public_url\": \"https://hooks.example.com/in/hubspot\"}}}",
      0);
  cr_assert_str_eq(public_url(cfg, "hs"),
                   "https://hooks.example.com/crm/hooks/hs");
  cr_assert_str_eq(public_url(cfg, "hs2"),
                   "https://hooks.example.com:8443/crm/hooks/hs2");
  cr_assert_str_eq(public_url(cfg, "hs3"),
                   "https://hooks.example.com/in/hubspot");
  hk_config_free(cfg);
}
