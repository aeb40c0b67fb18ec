/*
 * test_map.c -- the mapping from deliveries to journey events: real provider
 * payloads (tests/fixtures/payloads, see NOTES.md there) through the presets
 * to exact events, HubSpot batches and idempotent ids, the rule language
 * (conditions, value objects, extends), dead letters, ignored items, and
 * the errors of hk_mapper_new and hk_map_delivery.
 *
 * Configurations are parsed with HK_CONFIG_NO_SECRETS: the mapper needs the
 * shape only, and sources stay enabled without their secrets.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "journey/journey.h"

#define SOURCES                                                                \
  "\"sources\": {"                                                             \
  "\"stripe\": {\"kind\": \"stripe\", \"secret\": {\"env\": \"S\"},"           \
  "  \"presets\": [\"stripe\"]},"                                              \
  "\"hubspot\": {\"kind\": \"hubspot\", \"secret\": {\"env\": \"S\"},"         \
  "  \"public_url\": \"https://h.example/hooks/hubspot\","                     \
  "  \"presets\": [\"hubspot\"]},"                                             \
  "\"pipedrive\": {\"kind\": \"basic\", \"secret\": {\"env\": \"S\"},"         \
  "  \"presets\": [\"pipedrive\"]},"                                           \
  "\"chargebee\": {\"kind\": \"basic\", \"secret\": {\"env\": \"S\"},"         \
  "  \"presets\": [\"chargebee\"]},"                                           \
  "\"paddle\": {\"kind\": \"paddle\", \"secret\": {\"env\": \"S\"},"           \
  "  \"presets\": [\"paddle\"]},"                                              \
  "\"bare\": {\"kind\": \"stripe\", \"secret\": {\"env\": \"S\"}},"            \
  "\"demo\": {\"kind\": \"standard-webhooks\", \"secret\": {\"env\": \"S\"}}," \
  "\"tool\": {\"kind\": \"hmac\", \"secret\": {\"env\": \"S\"},"               \
  "  \"header\": \"X-Sig\"}}"

/* The config of SOURCES with the given sections, such as
 * "\"events\": [...]" (caller frees). */
static struct hk_config *config_of(const char *sections) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  size_t n = strlen(SOURCES) + strlen(sections) + 32;
  char *text = malloc(n);
  enum hk_err rc;
  snprintf(text, n, "{" SOURCES ", %s}", sections);
  rc = hk_config_parse(text, strlen(text), "t.json", HK_CONFIG_NO_SECRETS, &cfg,
                       &diag);
  cr_assert_eq(rc, HK_E_OK, "config: %s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  free(text);
  return cfg;
}

/* The config of SOURCES with the given events array (caller frees). */
static struct hk_config *config_with(const char *events) {
  size_t n = strlen(events) + 16;
  char *sections = malloc(n);
  struct hk_config *cfg;
  snprintf(sections, n, "\"events\": %s", events);
  cfg = config_of(sections);
  free(sections);
  return cfg;
}

/* A mapper of SOURCES and events; it must compile. */
static struct hk_mapper *mapper_with(const char *events) {
  struct hk_config *cfg = config_with(events);
  struct hk_error err = {HK_E_OK, ""};
  struct hk_mapper *m = hk_mapper_new(cfg, &err);
  cr_assert_not_null(m, "mapper: %s", err.msg);
  hk_config_free(cfg);
  return m;
}

/* Reads a fixture under tests/fixtures/payloads (caller frees). */
static char *fixture(const char *rel, size_t *len) {
  char path[512];
  FILE *f;
  char *buf;
  long n;
  snprintf(path, sizeof path, "%s/payloads/%s", HK_FIXTURES, rel);
  f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void map_text(const struct hk_mapper *m, const char *source,
                     const char *delivery, const char *body,
                     struct hk_map_result *r) {
  struct hk_error err = {HK_E_OK, ""};
  enum hk_err rc = hk_map_delivery(m, source, delivery, "{}", body,
                                   strlen(body), 1000, r, &err);
  cr_assert_eq(rc, HK_E_OK, "map: %s", err.msg);
}

static void map_fixture(const struct hk_mapper *m, const char *source,
                        const char *rel, struct hk_map_result *r) {
  size_t len;
  char *body = fixture(rel, &len);
  map_text(m, source, "dlv_1", body, r);
  free(body);
}

/* The outcome of rule `rule`; it must be there. */
static const struct hk_map_out *by_rule(const struct hk_map_result *r,
                                        const char *rule) {
  for (size_t i = 0; i < r->n; i++) {
    const char *name = r->items[i].status == HK_MAP_EVENT ? r->items[i].ev.rule
                                                          : r->items[i].rule;
    if (name != NULL && strcmp(name, rule) == 0) {
      return &r->items[i];
    }
  }
  cr_assert_fail("no outcome of rule %s among %zu", rule, r->n);
  return NULL;
}

/* Asserts one event exactly; attrs is its attrs object as JSON text. */
static void expect_event(const struct hk_map_out *o, const char *id,
                         const char *type, const char *subject, int64_t at,
                         const char *attrs) {
  json_t *want = json_loads(attrs, 0, NULL);
  char *got;
  cr_assert_not_null(want, "bad expectation %s", attrs);
  cr_assert_eq(o->status, HK_MAP_EVENT, "status %d: %s", (int)o->status,
               o->reason != NULL ? o->reason : "");
  cr_expect_str_eq(o->ev.id, id);
  cr_expect_str_eq(o->ev.type, type);
  cr_expect_str_eq(o->ev.subject, subject);
  cr_expect_eq(o->ev.at_ms, at, "at %lld, want %lld", (long long)o->ev.at_ms,
               (long long)at);
  got = json_dumps(o->ev.attrs, JSON_SORT_KEYS | JSON_COMPACT);
  cr_expect(json_equal(o->ev.attrs, want), "attrs %s, want %s", got, attrs);
  free(got);
  json_decref(want);
}

/* ---------------------------------------------------------------------------
 * Stripe
 * ------------------------------------------------------------------------- */

Test(map_stripe, invoice_paid_reads_the_subscription_before_basil) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "stripe", "stripe/invoice_paid_2024.json", &r);
  cr_assert_eq(r.n, 2);
  expect_event(by_rule(&r, "stripe.invoice_paid"),
               "stripe:stripe.invoice_paid:evt_1P8xJqLkdIwHu7ixQm3zU5rT",
               "invoice.paid", "customer:cus_Q0a1b2c3d4e5f6", 1718000000000,
               "{\"amount\": 49, \"currency\": \"eur\","
               " \"invoice\": \"in_1P8xJnLkdIwHu7ixAbc12345\","
               " \"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\"}");
  expect_event(
      by_rule(&r, "stripe.subscription_renewed"),
      "stripe:stripe.subscription_renewed:evt_1P8xJqLkdIwHu7ixQm3zU5rT",
      "subscription.renewed", "customer:cus_Q0a1b2c3d4e5f6", 1718000000000,
      "{\"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\","
      " \"renews_at\": 1720592000000}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_stripe, invoice_paid_reads_the_subscription_from_parent_since_basil) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "stripe", "stripe/invoice_paid_basil.json", &r);
  cr_assert_eq(r.n, 1); /* subscription_create: not a renewal */
  expect_event(&r.items[0],
               "stripe:stripe.invoice_paid:evt_1R3kVbLkdIwHu7ixN8pQwXyZ",
               "invoice.paid", "customer:cus_R9z8y7x6w5v4u3", 1746000000000,
               "{\"amount\": 120, \"currency\": \"usd\","
               " \"invoice\": \"in_1R3kVZLkdIwHu7ixDef67890\","
               " \"subscription\": \"sub_1R3kVYLkdIwHu7ixSub00002\"}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_stripe, subscription_period_end_at_the_top_before_basil) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "stripe", "stripe/subscription_created_2024.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(
      &r.items[0],
      "stripe:stripe.subscription_created:evt_1OzYxXLkdIwHu7ixKk4Lm5No",
      "subscription.created", "customer:cus_Q0a1b2c3d4e5f6", 1712000000000,
      "{\"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\","
      " \"status\": \"active\", \"currency\": \"eur\","
      " \"renews_at\": 1714592000000}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_stripe, subscription_period_end_on_the_item_since_basil) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "stripe", "stripe/subscription_created_basil.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(
      &r.items[0],
      "stripe:stripe.subscription_created:evt_1R3kVaLkdIwHu7ixPp0Qq1Rr",
      "subscription.created", "customer:cus_R9z8y7x6w5v4u3", 1746000000000,
      "{\"subscription\": \"sub_1R3kVYLkdIwHu7ixSub00002\","
      " \"status\": \"active\", \"currency\": \"usd\","
      " \"renews_at\": 1777536000000}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_stripe, subscription_updated_reports_the_previous_status) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "stripe", "stripe/subscription_updated.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(
      &r.items[0],
      "stripe:stripe.subscription_updated:evt_1PAbCdLkdIwHu7ixUpd00001",
      "subscription.updated", "customer:cus_Q0a1b2c3d4e5f6", 1714600000000,
      "{\"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\","
      " \"status\": \"past_due\", \"previous_status\": \"active\","
      " \"renews_at\": 1717192000000}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_stripe, checkout_completed_in_major_units) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "stripe", "stripe/checkout_session_completed.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "stripe:stripe.checkout_completed:evt_1PCsEsLkdIwHu7ixChk00001",
               "checkout.completed", "customer:cus_Q0a1b2c3d4e5f6",
               1711999990000,
               "{\"amount\": 49, \"currency\": \"eur\","
               " \"email\": \"billing@acme.example\","
               " \"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\","
               " \"mode\": \"subscription\"}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* ---------------------------------------------------------------------------
 * HubSpot
 * ------------------------------------------------------------------------- */

Test(map_hubspot, maps_each_event_of_a_batch) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "hubspot", "hubspot/batch.json", &r);
  cr_assert_eq(r.n, 9);
  expect_event(
      &r.items[0],
      "hubspot:hubspot.company_lifecycle:234567.12345678.1001.1763803800000."
      "8812",
      "lead.marketingqualifiedlead", "company:8812", 1763803800000,
      "{\"lifecyclestage\": \"marketingqualifiedlead\","
      " \"change_source\": \"CRM_UI\"}");
  expect_event(
      &r.items[1],
      "hubspot:hubspot.company_property:234567.12345678.1001.1763803800000."
      "8812",
      "company.changed.lifecyclestage", "company:8812", 1763803800000,
      "{\"property\": \"lifecyclestage\", \"value\": "
      "\"marketingqualifiedlead\", \"change_source\": \"CRM_UI\"}");
  expect_event(&r.items[2],
               "hubspot:hubspot.company_lead_status:234568.12345678.1002."
               "1763804100000.8812",
               "lead_status.CONNECTED", "company:8812", 1763804100000,
               "{\"lead_status\": \"CONNECTED\", \"change_source\": "
               "\"CRM_UI\"}");
  expect_event(&r.items[3],
               "hubspot:hubspot.company_property:234568.12345678.1002."
               "1763804100000.8812",
               "company.changed.hs_lead_status", "company:8812", 1763804100000,
               "{\"property\": \"hs_lead_status\", \"value\": "
               "\"CONNECTED\", \"change_source\": \"CRM_UI\"}");
  expect_event(&r.items[4],
               "hubspot:hubspot.deal_created:234569.12345678.1003."
               "1763890200000.5550101",
               "deal.created", "deal:5550101", 1763890200000,
               "{\"change_source\": \"CRM_UI\"}");
  expect_event(&r.items[5],
               "hubspot:hubspot.deal_property:234570.12345678.1004."
               "1764500000000.5550101",
               "deal.changed.dealstage", "deal:5550101", 1764500000000,
               "{\"property\": \"dealstage\", \"value\": \"closedwon\","
               " \"change_source\": \"CRM_UI\"}");
  expect_event(&r.items[6],
               "hubspot:hubspot.deal_stage:234570.12345678.1004."
               "1764500000000.5550101",
               "deal.stage_changed", "deal:5550101", 1764500000000,
               "{\"stage\": \"closedwon\", \"change_source\": \"CRM_UI\"}");
  expect_event(&r.items[7],
               "hubspot:hubspot.deal_won:234570.12345678.1004.1764500000000."
               "5550101",
               "deal.won", "deal:5550101", 1764500000000,
               "{\"change_source\": \"CRM_UI\"}");
  cr_expect_eq(r.items[8].status, HK_MAP_IGNORED);
  cr_expect_str_eq(r.items[8].ptype, "contact.deletion");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* Object creation and any property change, with a lifecycle stage
 * translated through a lookup whose default keeps the stages it does not
 * list out of the dead letters, and a config rule that matches on the
 * property name and uses it in a template. */
Test(map_hubspot, creation_and_any_property_change) {
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"lifecycle\", \"source\": \"hubspot\","
      " \"extends\": \"hubspot.contact_lifecycle\","
      " \"type\": {\"path\": \"propertyValue\", \"lookup\": "
      "{\"marketingqualifiedlead\": \"lead.mql\", \"salesqualifiedlead\": "
      "\"lead.sql\"}, \"default\": \"lead.lifecycle_changed\"}},"
      "{\"name\": \"deal-amount\", \"source\": \"hubspot\","
      " \"match\": {\"subscriptionType\": \"deal.propertyChange\","
      " \"propertyName\": \"amount\"},"
      " \"type\": \"deal.{propertyName}_changed\", \"subject\": "
      "\"deal:{objectId}\", \"attrs\": {\"amount\": {\"path\": "
      "\"propertyValue\", \"scale\": 1}}}]");
  struct hk_map_result r;
  map_fixture(m, "hubspot", "hubspot/objects.json", &r);
  cr_assert_eq(r.n, 8);
  expect_event(&r.items[0],
               "hubspot:hubspot.contact_created:345601.12345678.2001."
               "1763900000000.5101",
               "contact.created", "contact:5101", 1763900000000,
               "{\"change_source\": \"FORM\"}");
  expect_event(&r.items[1],
               "hubspot:hubspot.company_created:345602.12345678.2002."
               "1763900060000.9046",
               "company.created", "company:9046", 1763900060000,
               "{\"change_source\": \"CRM_UI\"}");
  expect_event(&r.items[2],
               "hubspot:lifecycle:345603.12345678.2003.1763900120000.5101",
               "lead.mql", "contact:5101", 1763900120000,
               "{\"lifecyclestage\": \"marketingqualifiedlead\","
               " \"change_source\": \"AUTOMATION_PLATFORM\"}");
  expect_event(&r.items[3],
               "hubspot:hubspot.contact_property:345603.12345678.2003."
               "1763900120000.5101",
               "contact.changed.lifecyclestage", "contact:5101", 1763900120000,
               "{\"property\": \"lifecyclestage\", \"value\": "
               "\"marketingqualifiedlead\","
               " \"change_source\": \"AUTOMATION_PLATFORM\"}");
  /* subscriber is not in the lookup: its default, no dead letter. */
  expect_event(&r.items[4],
               "hubspot:lifecycle:345603.12345678.2004.1763900180000.5102",
               "lead.lifecycle_changed", "contact:5102", 1763900180000,
               "{\"lifecyclestage\": \"subscriber\","
               " \"change_source\": \"FORM\"}");
  cr_expect_str_eq(r.items[5].ev.type, "contact.changed.lifecyclestage");
  expect_event(&r.items[6],
               "hubspot:deal-amount:345604.12345678.2005.1763900240000."
               "5550102",
               "deal.amount_changed", "deal:5550102", 1763900240000,
               "{\"amount\": 25000}");
  expect_event(&r.items[7],
               "hubspot:hubspot.deal_property:345604.12345678.2005."
               "1763900240000.5550102",
               "deal.changed.amount", "deal:5550102", 1763900240000,
               "{\"property\": \"amount\", \"value\": \"25000\","
               " \"change_source\": \"CRM_UI\"}");
  for (size_t i = 0; i < r.n; i++) {
    cr_expect_eq(r.items[i].status, HK_MAP_EVENT, "outcome %zu: %s", i,
                 r.items[i].reason != NULL ? r.items[i].reason : "");
  }
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* A batch of 100 deal creations whose eventIds repeat across
 * subscriptions, as HubSpot's do; attempt is the attemptNumber. */
static char *batch_of_100(int attempt) {
  json_t *arr = json_array();
  char *text;
  for (int i = 0; i < 100; i++) {
    json_array_append_new(
        arr, json_pack("{s:i, s:i, s:i, s:i, s:I, s:s, s:i, s:I, s:s}",
                       "eventId", 100 + i % 10, "subscriptionId", 5000 + i / 10,
                       "portalId", 62515, "appId", 1160452, "occurredAt",
                       (json_int_t)1763803800000 + i / 20, "subscriptionType",
                       "deal.creation", "attemptNumber", attempt, "objectId",
                       (json_int_t)900000 + i % 50, "changeSource", "CRM_UI"));
  }
  text = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return text;
}

Test(map_hubspot, batch_of_100_gives_100_distinct_stable_ids) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result a;
  struct hk_map_result b;
  char *first = batch_of_100(0);
  char *retry = batch_of_100(3);
  map_text(m, "hubspot", "", first, &a);
  map_text(m, "hubspot", "", retry, &b);
  cr_assert_eq(a.n, 100);
  cr_assert_eq(b.n, 100);
  for (size_t i = 0; i < 100; i++) {
    cr_assert_eq(a.items[i].status, HK_MAP_EVENT);
    cr_expect_str_eq(a.items[i].ev.id, b.items[i].ev.id);
    for (size_t j = 0; j < i; j++) {
      cr_assert_str_neq(a.items[i].ev.id, a.items[j].ev.id, "%zu and %zu", i,
                        j);
    }
  }
  free(first);
  free(retry);
  hk_map_result_fini(&a);
  hk_map_result_fini(&b);
  hk_mapper_free(m);
}

/* ---------------------------------------------------------------------------
 * Pipedrive, Chargebee, Paddle
 * ------------------------------------------------------------------------- */

Test(map_pipedrive, deal_stage_change_compares_previous) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "pipedrive", "pipedrive/deal_stage_change.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "pipedrive:pipedrive.deal_stage:3f6b8e2a-9c1d-4e5f-8a7b-"
               "1c2d3e4f5a6b",
               "deal.stage_changed", "deal:42", 1795428930250,
               "{\"stage_id\": 3, \"previous_stage_id\": 2, \"pipeline_id\": "
               "1, \"amount\": 12000, \"currency\": \"EUR\", \"owner\": "
               "\"9001\"}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* Pipedrive owners are numeric ids: the preset gives them as text, and a
 * config maps them to names with a lookup. Either way the clock the event
 * starts is owned by that owner, not by the handoff's. */
Test(map_pipedrive, deal_created_owner_becomes_the_clock_owner) {
  struct hk_config *cfg = config_of(
      "\"events\": [{\"name\": \"deal-named\", \"source\": \"pipedrive\","
      " \"extends\": \"pipedrive.deal_created\", \"attrs\": {\"owner\": "
      "{\"path\": \"data.owner_id\", \"lookup\": {\"9001\": \"Ana Lima\"},"
      " \"default\": null}}}],"
      " \"handoffs\": {\"first_call\": {\"owner\": \"Sales\","
      " \"start\": [\"deal.created\"], \"stop\": [\"deal.called\"],"
      " \"sla\": {\"within\": \"1h\"}}}");
  struct hk_error err = {HK_E_OK, ""};
  struct hk_mapper *named = hk_mapper_new(cfg, &err);
  struct hk_mapper *preset = mapper_with("[]");
  struct hk_sla *sla = hk_sla_new(cfg, &err);
  const struct hk_handoff *h;
  struct hk_map_result r;
  struct hk_clocks clocks;
  struct hk_clock_event ev;
  cr_assert_not_null(named, "%s", err.msg);
  cr_assert_not_null(sla, "%s", err.msg);
  h = hk_sla_find(sla, "first_call");
  cr_assert_not_null(h);

  map_fixture(preset, "pipedrive", "pipedrive/deal_create.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "pipedrive:pipedrive.deal_created:4d5e6f70-8192-4a3b-9c4d-"
               "5e6f70819203",
               "deal.created", "deal:57", 1796120101000,
               "{\"stage_id\": 1, \"pipeline_id\": 1, \"amount\": 8400,"
               " \"currency\": \"EUR\", \"owner\": \"9001\","
               " \"person\": 81, \"org\": 14}");
  ev = (struct hk_clock_event){r.items[0].ev.id, r.items[0].ev.type,
                               r.items[0].ev.at_ms, r.items[0].ev.attrs};
  hk_clock_eval(h, &ev, 1, 1796120101000 + 60000, &clocks);
  cr_assert_eq(clocks.n, 1);
  cr_expect_str_eq(clocks.items[0].owner, "9001");
  hk_clocks_fini(&clocks);
  hk_map_result_fini(&r);

  map_fixture(named, "pipedrive", "pipedrive/deal_create.json", &r);
  cr_assert_eq(r.n, 1);
  cr_assert_eq(r.items[0].status, HK_MAP_EVENT);
  cr_expect_str_eq(
      json_string_value(json_object_get(r.items[0].ev.attrs, "owner")),
      "Ana Lima");
  ev = (struct hk_clock_event){r.items[0].ev.id, r.items[0].ev.type,
                               r.items[0].ev.at_ms, r.items[0].ev.attrs};
  hk_clock_eval(h, &ev, 1, 1796120101000 + 60000, &clocks);
  cr_assert_eq(clocks.n, 1);
  cr_expect_str_eq(clocks.items[0].owner, "Ana Lima");
  hk_clocks_fini(&clocks);
  hk_map_result_fini(&r);

  hk_sla_free(sla);
  hk_mapper_free(named);
  hk_mapper_free(preset);
  hk_config_free(cfg);
}

Test(map_pipedrive, deal_won_on_status_change) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "pipedrive", "pipedrive/deal_won.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "pipedrive:pipedrive.deal_won:9a8b7c6d-5e4f-4a3b-9c2d-"
               "1e0f9a8b7c6d",
               "deal.won", "deal:42", 1796054401000,
               "{\"amount\": 12000, \"currency\": \"EUR\", \"owner\": \"9001\","
               " \"person\": 77, \"org\": 12}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_pipedrive, person_created_is_a_lead) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "pipedrive", "pipedrive/person_create.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "pipedrive:pipedrive.person_created:2c3d4e5f-6a7b-4c8d-9e0f-"
               "1a2b3c4d5e6f",
               "lead.created", "person:77", 1795338000000,
               "{\"email\": \"ana@acme.example\", \"owner\": \"9001\", "
               "\"org\": 12}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_chargebee, subscription_created_with_term_end) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "chargebee", "chargebee/subscription_created.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "chargebee:chargebee.subscription_created:ev_169vvoU3YUvqS75n",
               "subscription.created", "customer:16CRpYTwv1YYb63b",
               1707265233000,
               "{\"subscription\": \"169vvoU3YUvoI75i\", \"status\": "
               "\"active\", \"currency\": \"USD\", \"renews_at\": "
               "1709770833000}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_chargebee, payment_succeeded_in_major_units) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "chargebee", "chargebee/payment_succeeded.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "chargebee:chargebee.payment_succeeded:ev_AzZtfcU3YV1mD8Jk",
               "payment.succeeded", "customer:16CRpYTwv1YYb63b", 1709770900000,
               "{\"amount\": 79, \"currency\": \"USD\", \"subscription\": "
               "\"169vvoU3YUvoI75i\", \"invoice\": \"inv_1042\"}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_paddle, subscription_created_with_rfc3339_times) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "paddle", "paddle/subscription_created.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "paddle:paddle.subscription_created:evt_"
               "01hv8x2a3b4c5d6e7f8g9h0j1k",
               "subscription.created",
               "customer:ctm_01hv6y1jedq4p1n0yqn5ba3ky4", 1712917129621,
               "{\"subscription\": \"sub_01hv8x2a1b2c3d4e5f6g7h8j9k\","
               " \"status\": \"active\", \"currency\": \"USD\","
               " \"renews_at\": 1715509127635}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_paddle, transaction_completed_scales_string_amounts) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "paddle", "paddle/transaction_completed.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "paddle:paddle.transaction_completed:evt_"
               "01hv8wt4fpcxd1b8h1fbfq1hpw",
               "transaction.completed",
               "customer:ctm_01hv6y1jedq4p1n0yqn5ba3ky4", 1712909933135,
               "{\"amount\": 357, \"currency\": \"USD\","
               " \"transaction\": \"txn_01hv8wptq8987qeep44cyrewp9\","
               " \"subscription\": \"sub_01hv8x2a1b2c3d4e5f6g7h8j9k\"}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* ---------------------------------------------------------------------------
 * The rule language
 * ------------------------------------------------------------------------- */

/* Maps body with one rule on the generic source "tool"; returns whether it
 * made an event. */
static int tool_matches(const char *match, const char *body) {
  char events[1024];
  struct hk_mapper *m;
  struct hk_map_result r;
  int hit;
  snprintf(events, sizeof events,
           "[{\"name\": \"r\", \"source\": \"tool\", \"match\": %s,"
           " \"type\": \"t\", \"subject\": \"s\"}]",
           match);
  m = mapper_with(events);
  map_text(m, "tool", "d1", body, &r);
  cr_assert_eq(r.n, 1);
  hit = r.items[0].status == HK_MAP_EVENT;
  hk_map_result_fini(&r);
  hk_mapper_free(m);
  return hit;
}

Test(map_rules, equals_compares_scalars_and_numeric_text) {
  cr_expect(tool_matches("{\"a\": \"x\"}", "{\"a\": \"x\"}"));
  cr_expect(!tool_matches("{\"a\": \"x\"}", "{\"a\": \"y\"}"));
  cr_expect(!tool_matches("{\"a\": \"x\"}", "{}"));
  cr_expect(tool_matches("{\"a.b\": {\"equals\": 1029}}",
                         "{\"a\": {\"b\": \"1029\"}}"));
  cr_expect(tool_matches("{\"a.1\": true}", "{\"a\": [false, true]}"));
}

Test(map_rules, one_of_matches_any_listed_value) {
  const char *c = "{\"s\": {\"one_of\": [\"ATTEMPTED\", \"CONNECTED\", 3]}}";
  cr_expect(tool_matches(c, "{\"s\": \"CONNECTED\"}"));
  cr_expect(tool_matches(c, "{\"s\": 3}"));
  cr_expect(!tool_matches(c, "{\"s\": \"NEW\"}"));
  cr_expect(!tool_matches(c, "{}"));
}

Test(map_rules, exists_treats_null_as_absent) {
  cr_expect(tool_matches("{\"a\": {\"exists\": true}}", "{\"a\": 0}"));
  cr_expect(!tool_matches("{\"a\": {\"exists\": true}}", "{\"a\": null}"));
  cr_expect(tool_matches("{\"a\": {\"exists\": false}}", "{\"a\": null}"));
  cr_expect(tool_matches("{\"a\": {\"exists\": false}}", "{\"b\": 1}"));
  cr_expect(!tool_matches("{\"a\": {\"exists\": false}}", "{\"a\": \"\"}"));
}

Test(map_rules, changed_from_and_to_read_stripe_previous_attributes) {
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"at-risk\", \"source\": \"bare\", \"match\": "
      "{\"data.object.status\": {\"changed_from\": \"active\", \"changed_to\": "
      "\"past_due\"}}, \"type\": \"account.at_risk\", \"subject\": "
      "\"customer:{data.object.customer}\"},"
      "{\"name\": \"from-trial\", \"source\": \"bare\", \"match\": "
      "{\"data.object.status\": {\"changed_from\": \"trialing\"}},"
      " \"type\": \"x\", \"subject\": \"y\"},"
      "{\"name\": \"currency\", \"source\": \"bare\", \"match\": "
      "{\"data.object.currency\": {\"changed_to\": \"eur\"}},"
      " \"type\": \"x\", \"subject\": \"y\"}]");
  struct hk_map_result r;
  map_fixture(m, "bare", "stripe/subscription_updated.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0], "bare:at-risk:evt_1PAbCdLkdIwHu7ixUpd00001",
               "account.at_risk", "customer:cus_Q0a1b2c3d4e5f6", 1714600000000,
               "{}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_rules, changed_to_reads_pipedrive_previous) {
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"moved\", \"source\": \"pipedrive\", \"match\": "
      "{\"data.stage_id\": {\"changed_from\": 2, \"changed_to\": 3}},"
      " \"type\": \"deal.moved\", \"subject\": \"deal:{data.id}\"},"
      "{\"name\": \"never\", \"source\": \"pipedrive\", \"match\": "
      "{\"data.stage_id\": {\"changed_to\": 2}}, \"type\": \"x\", "
      "\"subject\": \"y\"}]");
  struct hk_map_result r;
  map_fixture(m, "pipedrive", "pipedrive/deal_stage_change.json", &r);
  cr_assert_eq(r.n, 2); /* moved, and the preset deal_stage */
  cr_expect_str_eq(by_rule(&r, "moved")->ev.type, "deal.moved");
  by_rule(&r, "pipedrive.deal_stage");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_rules, lookup_default_and_scale) {
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"v\", \"source\": \"tool\","
      " \"type\": {\"path\": \"stage\", \"lookup\": {\"1029\": \"deal.won\","
      " \"1030\": \"deal.lost\"}, \"default\": \"deal.other\"},"
      " \"subject\": {\"template\": \"deal:{id}\"},"
      " \"attrs\": {\"amount\": {\"path\": \"cents\", \"scale\": 0.01},"
      "  \"text_amount\": {\"path\": \"text\", \"scale\": 0.01},"
      "  \"segment\": {\"path\": \"seg\", \"default\": \"smb\"},"
      "  \"tier\": {\"path\": \"seg\", \"lookup\": {\"ent\": \"enterprise\"},"
      "   \"default\": \"other\"},"
      "  \"const\": {\"value\": 7}, \"absent\": \"nope\"}}]");
  struct hk_map_result r;
  map_text(m, "tool", "d1",
           "{\"stage\": 1029, \"id\": 5, \"cents\": 1999, \"text\": \"35700\","
           " \"seg\": \"ent\"}",
           &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0], "tool:v:d1", "deal.won", "deal:5", 1000,
               "{\"amount\": 19.99, \"text_amount\": 357, \"segment\": "
               "\"ent\", \"tier\": \"enterprise\", \"const\": 7}");
  hk_map_result_fini(&r);
  map_text(m, "tool", "d2", "{\"stage\": \"1023\", \"id\": \"x\", \"seg\": 1}",
           &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0], "tool:v:d2", "deal.other", "deal:x", 1000,
               "{\"segment\": 1, \"tier\": \"other\", \"const\": 7}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_rules, missing_subject_is_dead_with_reason) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_text(m, "stripe", "",
           "{\"id\": \"evt_1\", \"type\": \"customer.subscription.deleted\","
           " \"created\": 1, \"data\": {\"object\": {\"id\": \"sub_1\"}}}",
           &r);
  cr_assert_eq(r.n, 1);
  cr_expect_eq(r.items[0].status, HK_MAP_DEAD);
  cr_expect_str_eq(r.items[0].rule, "stripe.subscription_deleted");
  cr_expect_str_eq(r.items[0].reason,
                   "field data.object.customer is missing (required by "
                   "subject)");
  cr_expect_str_eq(r.items[0].ptype, "customer.subscription.deleted");
  cr_expect_str_eq(json_string_value(json_object_get(r.items[0].item, "id")),
                   "evt_1");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* The status API names a subject in a path of at most 1024 bytes: a
 * longer one is a dead letter, not a clock nobody can look up. */
Test(map_rules, a_subject_over_the_cap_is_dead) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  char body[2048];
  char customer[1100];
  memset(customer, 'c', sizeof customer - 1);
  customer[sizeof customer - 1] = '\0';
  snprintf(body, sizeof body,
           "{\"id\": \"evt_3\", \"type\": \"customer.subscription.deleted\","
           " \"created\": 1, \"data\": {\"object\": {\"id\": \"sub_1\","
           " \"customer\": \"%s\"}}}",
           customer);
  map_text(m, "stripe", "", body, &r);
  cr_assert_eq(r.n, 1);
  cr_expect_eq(r.items[0].status, HK_MAP_DEAD);
  cr_expect(strstr(r.items[0].reason, "the subject is over 1024 bytes") != NULL,
            "%s", r.items[0].reason);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_rules, missing_required_attribute_is_dead) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_text(m, "stripe", "",
           "{\"id\": \"evt_2\", \"type\": \"invoice.paid\", \"created\": 1,"
           " \"data\": {\"object\": {\"customer\": \"cus_1\","
           " \"currency\": \"eur\"}}}",
           &r);
  cr_assert_eq(r.n, 1);
  cr_expect_eq(r.items[0].status, HK_MAP_DEAD);
  cr_expect_str_eq(r.items[0].rule, "stripe.invoice_paid");
  cr_expect_str_eq(r.items[0].reason,
                   "field data.object.amount_paid is missing (required by "
                   "attrs.amount)");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_rules, lookup_miss_without_default_is_dead) {
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"stage\", \"source\": \"tool\", \"type\": {\"path\": "
      "\"s\", \"lookup\": {\"1\": \"a\"}}, \"subject\": \"x\"}]");
  struct hk_map_result r;
  map_text(m, "tool", "d", "{\"s\": 2}", &r);
  cr_assert_eq(r.n, 1);
  cr_expect_eq(r.items[0].status, HK_MAP_DEAD);
  cr_expect_str_eq(r.items[0].reason,
                   "value \"2\" of field s is not in the lookup of type, "
                   "which has no default");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_rules, unmatched_item_is_ignored_with_its_provider_type) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_text(m, "stripe", "",
           "{\"id\": \"evt_3\", \"type\": \"charge.refunded\"}", &r);
  cr_assert_eq(r.n, 1);
  cr_expect_eq(r.items[0].status, HK_MAP_IGNORED);
  cr_expect_str_eq(r.items[0].ptype, "charge.refunded");
  hk_map_result_fini(&r);
  map_text(m, "pipedrive", "",
           "{\"meta\": {\"action\": \"delete\", \"entity\": \"deal\"}}", &r);
  cr_expect_eq(r.items[0].status, HK_MAP_IGNORED);
  cr_expect_str_eq(r.items[0].ptype, "delete.deal");
  hk_map_result_fini(&r);
  map_text(m, "tool", "", "{\"a\": 1}", &r);
  cr_expect_eq(r.items[0].status, HK_MAP_IGNORED);
  cr_expect_str_eq(r.items[0].ptype, "unknown");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_rules, extends_merges_match_and_attrs_and_replaces_the_preset) {
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"eur-invoices\", \"source\": \"bare\","
      " \"extends\": \"stripe.invoice_paid\","
      " \"match\": {\"data.object.currency\": \"eur\"},"
      " \"subject\": \"sub:{data.object.subscription}\","
      " \"attrs\": {\"amount\": {\"path\": \"data.object.amount_due\","
      "  \"scale\": 0.01}, \"email\": \"data.object.customer_email\"}}]");
  struct hk_map_result r;
  map_fixture(m, "bare", "stripe/invoice_paid_2024.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0], "bare:eur-invoices:evt_1P8xJqLkdIwHu7ixQm3zU5rT",
               "invoice.paid", "sub:sub_1OzYxWLkdIwHu7ixSub00001",
               1718000000000,
               "{\"amount\": 49, \"currency\": \"eur\","
               " \"email\": \"billing@acme.example\","
               " \"invoice\": \"in_1P8xJnLkdIwHu7ixAbc12345\","
               " \"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\"}");
  hk_map_result_fini(&r);
  map_fixture(m, "bare", "stripe/invoice_paid_basil.json", &r);
  cr_assert_eq(r.n, 1);
  cr_expect_eq(r.items[0].status, HK_MAP_IGNORED); /* usd */
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* Fallbacks "a | b" (the first present) in a config rule's match key,
 * template, `at` and attribute paths, on both of Stripe's invoice shapes. */
#define FALLBACK_RULE                                                          \
  "[{\"name\": \"paid\", \"source\": \"bare\","                                \
  " \"match\": {\"type\": \"invoice.paid\", \"data.object.subscription | "     \
  "data.object.parent.subscription_details.subscription\": {\"exists\": "      \
  "true}},"                                                                    \
  " \"type\": \"invoice.paid\", \"subject\": \"company:{"                      \
  "data.object.parent.subscription_details.metadata.hubspot_company_id | "     \
  "data.object.subscription_details.metadata.hubspot_company_id}\","           \
  " \"at\": {\"path\": \"data.object.status_transitions.paid_at | created\","  \
  " \"format\": \"unix\"},"                                                    \
  " \"attrs\": {\"subscription\": \"data.object.subscription | "               \
  "data.object.parent.subscription_details.subscription\","                    \
  " \"segment\": {\"path\": "                                                  \
  "\"data.object.parent.subscription_details.metadata.segment | "              \
  "data.object.subscription_details.metadata.segment\", \"default\": "         \
  "\"smb\"}}}]"

Test(map_rules, fallback_paths_read_both_stripe_invoice_shapes) {
  struct hk_mapper *m = mapper_with(FALLBACK_RULE);
  struct hk_map_result r;
  map_fixture(m, "bare", "stripe/invoice_paid_2024.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0], "bare:paid:evt_1P8xJqLkdIwHu7ixQm3zU5rT",
               "invoice.paid", "company:8812", 1718000000000,
               "{\"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\","
               " \"segment\": \"enterprise\"}");
  hk_map_result_fini(&r);
  map_fixture(m, "bare", "stripe/invoice_paid_basil.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0], "bare:paid:evt_1R3kVbLkdIwHu7ixN8pQwXyZ",
               "invoice.paid", "company:9046", 1746000000000,
               "{\"subscription\": \"sub_1R3kVYLkdIwHu7ixSub00002\","
               " \"segment\": \"smb\"}");
  hk_map_result_fini(&r);
  /* Neither place: the dead letter names the whole fallback. */
  map_text(m, "bare", "",
           "{\"id\": \"evt_9\", \"type\": \"invoice.paid\", \"created\": 1,"
           " \"data\": {\"object\": {\"subscription\": \"sub_9\"}}}",
           &r);
  cr_assert_eq(r.n, 1);
  cr_expect_eq(r.items[0].status, HK_MAP_DEAD);
  cr_expect_str_eq(
      r.items[0].reason,
      "field data.object.parent.subscription_details.metadata."
      "hubspot_company_id | data.object.subscription_details.metadata."
      "hubspot_company_id is missing (required by subject)");
  hk_map_result_fini(&r);
  /* A guest invoice without a subscription in either place: no match. */
  map_text(m, "bare", "",
           "{\"id\": \"evt_8\", \"type\": \"invoice.paid\", \"created\": 1,"
           " \"data\": {\"object\": {\"parent\": null}}}",
           &r);
  cr_expect_eq(r.items[0].status, HK_MAP_IGNORED);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* Pipedrive owner ids through a lookup: a hit names the owner; a miss is a
 * dead letter naming the lookup and the value, unless the value object
 * gives a default, or a default of null, which leaves the owner out. */
#define OWNER_RULE(name, table, def)                                           \
  "{\"name\": \"" name "\", \"source\": \"pipedrive\","                        \
  " \"extends\": \"pipedrive.deal_created\", \"attrs\": {\"owner\": "          \
  "{\"path\": \"data.owner_id\", \"lookup\": " table def "}}}"

Test(map_rules, lookup_miss_takes_the_default_else_is_dead) {
  struct hk_mapper *m = mapper_with(
      "[" OWNER_RULE("named", "{\"9001\": \"Ana Lima\", \"9002\": \"Ben Okafor\"}", "") "," OWNER_RULE(
          "no-default", "{\"9002\": \"Ben Okafor\"}",
          "") "," OWNER_RULE("with-default", "{\"9002\": \"Ben Okafor\"}",
                             ", \"default\": \"Unassigned\"") "," OWNER_RULE("l"
                                                                             "e"
                                                                             "f"
                                                                             "t"
                                                                             "-"
                                                                             "o"
                                                                             "u"
                                                                             "t",
                                                                             "{"
                                                                             "\"9002\": \"Ben Okafor\"}",
                                                                             ","
                                                                             " "
                                                                             "\"default\": null") "]");
  struct hk_map_result r;
  const char *rest = "\"stage_id\": 1, \"pipeline_id\": 1, \"amount\": 8400,"
                     " \"currency\": \"EUR\", \"person\": 81, \"org\": 14";
  char want[512];
  map_fixture(m, "pipedrive", "pipedrive/deal_create.json", &r);
  cr_assert_eq(r.n, 4);
  snprintf(want, sizeof want, "{%s, \"owner\": \"Ana Lima\"}", rest);
  expect_event(&r.items[0],
               "pipedrive:named:4d5e6f70-8192-4a3b-9c4d-5e6f70819203",
               "deal.created", "deal:57", 1796120101000, want);
  cr_expect_eq(r.items[1].status, HK_MAP_DEAD);
  cr_expect_str_eq(r.items[1].rule, "no-default");
  cr_expect_str_eq(r.items[1].reason,
                   "value \"9001\" of field data.owner_id is not in the lookup "
                   "of attrs.owner, which has no default");
  cr_expect_str_eq(r.items[1].ptype, "create.deal");
  snprintf(want, sizeof want, "{%s, \"owner\": \"Unassigned\"}", rest);
  expect_event(&r.items[2],
               "pipedrive:with-default:4d5e6f70-8192-4a3b-9c4d-5e6f70819203",
               "deal.created", "deal:57", 1796120101000, want);
  snprintf(want, sizeof want, "{%s}", rest);
  expect_event(&r.items[3],
               "pipedrive:left-out:4d5e6f70-8192-4a3b-9c4d-5e6f70819203",
               "deal.created", "deal:57", 1796120101000, want);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_rules, example_config_maps_stripe_and_hubspot) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_mapper *m;
  struct hk_map_result r;
  cr_assert_eq(hk_config_load(HK_SOURCE_DIR "/config/examples/saas.json",
                              HK_CONFIG_NO_SECRETS, &cfg, &diag),
               HK_E_OK);
  hk_config_diag_fini(&diag);
  m = hk_mapper_new(cfg, &err);
  cr_assert_not_null(m, "%s", err.msg);
  hk_config_free(cfg);
  map_fixture(m, "stripe", "stripe/subscription_created_2024.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "stripe:stripe-subscription:evt_1OzYxXLkdIwHu7ixKk4Lm5No",
               "subscription.created", "company:8812", 1712000000000,
               "{\"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\","
               " \"status\": \"active\", \"currency\": \"eur\","
               " \"renews_at\": 1714592000000, \"plan\": \"pro_monthly\","
               " \"segment\": \"enterprise\"}");
  hk_map_result_fini(&r);
  /* The same paid-invoice rule reads both of Stripe's invoice shapes: the
   * company id in subscription_details before 2025-03-31, in
   * parent.subscription_details since. Neither is a dead letter. */
  map_fixture(m, "stripe", "stripe/invoice_paid_2024.json", &r);
  cr_assert_eq(r.n, 2); /* and stripe.subscription_renewed */
  expect_event(by_rule(&r, "stripe-invoice-paid"),
               "stripe:stripe-invoice-paid:evt_1P8xJqLkdIwHu7ixQm3zU5rT",
               "invoice.paid", "company:8812", 1718000000000,
               "{\"amount\": 49, \"currency\": \"eur\","
               " \"invoice\": \"in_1P8xJnLkdIwHu7ixAbc12345\","
               " \"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\"}");
  hk_map_result_fini(&r);
  map_fixture(m, "stripe", "stripe/invoice_paid_basil.json", &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0],
               "stripe:stripe-invoice-paid:evt_1R3kVbLkdIwHu7ixN8pQwXyZ",
               "invoice.paid", "company:9046", 1746000000000,
               "{\"amount\": 120, \"currency\": \"usd\","
               " \"invoice\": \"in_1R3kVZLkdIwHu7ixDef67890\","
               " \"subscription\": \"sub_1R3kVYLkdIwHu7ixSub00002\"}");
  hk_map_result_fini(&r);
  map_fixture(m, "hubspot", "hubspot/batch.json", &r);
  cr_expect_str_eq(by_rule(&r, "hubspot-mql")->ev.type, "lead.mql");
  cr_expect_str_eq(by_rule(&r, "hubspot-contacted")->ev.type, "lead.contacted");
  cr_expect_eq(by_rule(&r, "hubspot-contacted")->ev.at_ms, 1763804100000);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* ---------------------------------------------------------------------------
 * Ids, times and errors
 * ------------------------------------------------------------------------- */

Test(map_ids, generic_items_use_delivery_id_and_index) {
  struct hk_mapper *m =
      mapper_with("[{\"name\": \"r\", \"source\": \"tool\", \"type\": \"t\","
                  " \"subject\": \"s:{k}\"}]");
  struct hk_map_result r;
  map_text(m, "tool", "d1", "[{\"k\": 1}, {\"k\": 2}]", &r);
  cr_assert_eq(r.n, 2);
  cr_expect_str_eq(r.items[0].ev.id, "tool:r:d1#0");
  cr_expect_str_eq(r.items[1].ev.id, "tool:r:d1#1");
  hk_map_result_fini(&r);
  map_text(m, "tool", "", "{\"k\": 1, \"b\": [true]}", &r);
  cr_assert_eq(r.n, 1);
  cr_expect_str_eq(r.items[0].ev.id, "tool:r:{\"b\":[true],\"k\":1}#0");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_ids, standard_webhooks_use_the_delivery_and_its_timestamp) {
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"copy\", \"source\": \"demo\", \"type\": \"{type}\","
      " \"subject\": \"company:{data.company_id}\"}]");
  struct hk_map_result r;
  map_text(m, "demo", "msg_2Lf1",
           "{\"type\": \"lead.created\", \"timestamp\": "
           "\"2026-11-22T09:30:00Z\", \"data\": {\"company_id\": \"8812\"}}",
           &r);
  cr_assert_eq(r.n, 1);
  expect_event(&r.items[0], "demo:copy:msg_2Lf1", "lead.created",
               "company:8812", 1795339800000, "{}");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_ids, a_standard_webhooks_array_is_one_item_per_element) {
  /* The spec leaves the payload's shape to the sender: an array of
   * events is mapped as the generic kinds map theirs. */
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"copy\", \"source\": \"demo\", \"type\": \"{type}\","
      " \"subject\": \"company:{company_id}\", \"at\": \"occurred_at\"}]");
  struct hk_map_result r;
  map_text(m, "demo", "msg_3",
           "[{\"type\": \"kickoff.held\", \"company_id\": \"9046\","
           " \"occurred_at\": \"2026-11-22T09:30:00Z\"},"
           " {\"type\": \"kickoff.held\", \"company_id\": \"9047\","
           " \"occurred_at\": \"2026-11-22T09:31:00Z\"}]",
           &r);
  cr_assert_eq(r.n, 2);
  expect_event(&r.items[0], r.items[0].ev.id, "kickoff.held", "company:9046",
               1795339800000, "{}");
  expect_event(&r.items[1], r.items[1].ev.id, "kickoff.held", "company:9047",
               1795339860000, "{}");
  cr_expect_str_neq(r.items[0].ev.id, r.items[1].ev.id);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_ids, unreadable_at_falls_back_to_receive_time) {
  struct hk_mapper *m = mapper_with(
      "[{\"name\": \"r\", \"source\": \"tool\", \"type\": \"t\","
      " \"subject\": \"s\", \"at\": {\"path\": \"when\", \"format\": "
      "\"rfc3339\"}}]");
  struct hk_map_result r;
  map_text(m, "tool", "d", "{\"when\": \"yesterday\"}", &r);
  cr_expect_eq(r.items[0].ev.at_ms, 1000);
  hk_map_result_fini(&r);
  map_text(m, "tool", "d", "{\"when\": \"2026-11-22T09:30:00Z\"}", &r);
  cr_expect_eq(r.items[0].ev.at_ms, 1795339800000);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_ids, event_json_has_every_member) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  json_t *j;
  json_t *want = json_loads(
      "{\"id\": \"stripe:stripe.subscription_created:evt_"
      "1OzYxXLkdIwHu7ixKk4Lm5No\", \"source\": \"stripe\", \"type\": "
      "\"subscription.created\", \"subject\": "
      "\"customer:cus_Q0a1b2c3d4e5f6\", \"at\": 1712000000000, \"attrs\": "
      "{\"subscription\": \"sub_1OzYxWLkdIwHu7ixSub00001\", \"status\": "
      "\"active\", \"currency\": \"eur\", \"renews_at\": 1714592000000}, "
      "\"rule\": \"stripe.subscription_created\"}",
      0, NULL);
  map_fixture(m, "stripe", "stripe/subscription_created_2024.json", &r);
  j = hk_event_json(&r.items[0].ev);
  cr_expect(json_equal(j, want));
  json_decref(j);
  json_decref(want);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

Test(map_errors, unknown_preset_in_extends_fails_the_mapper) {
  struct hk_config *cfg =
      config_with("[{\"source\": \"stripe\", \"extends\": \"stripe.nope\"}]");
  struct hk_error err = {HK_E_OK, ""};
  cr_expect_null(hk_mapper_new(cfg, &err));
  cr_expect_eq(err.code, HK_E_CONFIG);
  cr_expect_str_eq(err.msg,
                   "$.events[0].extends: \"stripe.nope\" is not a preset rule");
  hk_config_free(cfg);
}

Test(map_errors, unknown_preset_in_sources_fails_the_mapper) {
  const char *text =
      "{\"sources\": {\"s\": {\"kind\": \"stripe\", \"secret\": {\"env\": "
      "\"S\"}, \"presets\": [\"stripe.invoices\", \"stripe.nope\"]}}}";
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  struct hk_error err = {HK_E_OK, ""};
  cr_assert_eq(hk_config_parse(text, strlen(text), "t.json",
                               HK_CONFIG_NO_SECRETS, &cfg, &diag),
               HK_E_OK);
  hk_config_diag_fini(&diag);
  cr_expect_null(hk_mapper_new(cfg, &err));
  cr_expect_eq(err.code, HK_E_CONFIG);
  cr_expect_str_eq(err.msg, "$.sources.s.presets[1]: \"stripe.nope\" is not "
                            "a preset: no rule or group of that name");
  hk_config_free(cfg);
}

Test(map_errors, bad_json_and_unknown_source) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  struct hk_error err = {HK_E_OK, ""};
  cr_expect_eq(
      hk_map_delivery(m, "stripe", "", NULL, "{\"id\":", 6, 0, &r, &err),
      HK_E_BAD_JSON);
  cr_expect_eq(err.code, HK_E_BAD_JSON);
  cr_expect_eq(r.n, 0);
  hk_map_result_fini(&r);
  cr_expect_eq(hk_map_delivery(m, "nope", "", NULL, "{}", 2, 0, &r, &err),
               HK_E_UNKNOWN_SOURCE);
  cr_expect_eq(err.code, HK_E_UNKNOWN_SOURCE);
  cr_expect_eq(r.n, 0);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}

/* ---------------------------------------------------------------------------
 * The owners directory
 * ------------------------------------------------------------------------- */

#define OWNERS                                                                 \
  "\"owners\": {"                                                              \
  " \"ana\": {\"name\": \"Ana Lima\", \"slack\": \"U024BE7LH\","               \
  "  \"ids\": {\"pipedrive\": 9001, \"hubspot\": \"52550153\"},"               \
  "  \"manager\": \"bo\"},"                                                    \
  " \"bo\": {\"name\": \"Bo Chen\", \"ids\": {\"pipedrive\": [\"9002\"]}}},"   \
  " \"handoffs\": {\"first_call\": {\"owner\": \"sales\","                     \
  " \"start\": [\"deal.created\", \"lead.assigned\"],"                         \
  " \"stop\": [\"deal.called\"], \"sla\": {\"within\": \"1h\"}}}"

/* The clock an event starts in the config's first_call handoff. */
static void clock_of(const struct hk_config *cfg, const struct hk_event *e,
                     struct hk_clocks *out) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_sla *sla = hk_sla_new(cfg, &err);
  struct hk_clock_event ev = {e->id, e->type, e->at_ms, e->attrs};
  cr_assert_not_null(sla, "%s", err.msg);
  hk_clock_eval(hk_sla_find(sla, "first_call"), &ev, 1, e->at_ms, out);
  cr_assert_eq(out->n, 1);
  hk_sla_free(sla);
}

/* Pipedrive names the owner by its user id (a number): the directory
 * gives the person, and the clock is theirs. */
Test(map_owners, a_pipedrive_owner_id_resolves_through_the_directory) {
  struct hk_config *cfg = config_of("\"events\": []," OWNERS);
  struct hk_error err = {HK_E_OK, ""};
  struct hk_mapper *m = hk_mapper_new(cfg, &err);
  struct hk_map_result r;
  struct hk_clocks cs;
  cr_assert_not_null(m, "%s", err.msg);
  map_fixture(m, "pipedrive", "pipedrive/deal_create.json", &r);
  cr_assert_eq(r.n, 1);
  cr_assert_eq(r.items[0].status, HK_MAP_EVENT);
  cr_assert_str_eq(
      json_string_value(json_object_get(r.items[0].ev.attrs, "owner")), "ana");
  cr_assert_null(json_object_get(r.items[0].ev.attrs, "owner_unknown"));
  clock_of(cfg, &r.items[0].ev, &cs);
  cr_assert_str_eq(cs.items[0].owner, "ana");
  cr_assert_null(cs.items[0].owner_unknown);
  hk_clocks_fini(&cs);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
  hk_config_free(cfg);
}

/* HubSpot sends the owner property's new value as a string: one contact
 * gets an owner the directory holds, the other an id nobody holds, which
 * stays named on the clock (owner_unknown) while the handoff's owner takes
 * it. */
Test(map_owners, hubspot_owner_ids_resolve_and_an_unknown_one_is_named) {
  struct hk_config *cfg = config_of(
      "\"events\": [{\"name\": \"assigned\", \"source\": \"hubspot\","
      " \"match\": {\"subscriptionType\": \"contact.propertyChange\","
      "  \"propertyName\": \"hubspot_owner_id\"},"
      " \"type\": \"lead.assigned\", \"subject\": \"contact:{objectId}\","
      " \"attrs\": {\"owner\": \"propertyValue\"}}]," OWNERS);
  struct hk_error err = {HK_E_OK, ""};
  struct hk_mapper *m = hk_mapper_new(cfg, &err);
  struct hk_map_result r;
  struct hk_clocks cs;
  cr_assert_not_null(m, "%s", err.msg);
  map_fixture(m, "hubspot", "hubspot/owner_assigned.json", &r);
  /* The preset's contact.changed.hubspot_owner_id events come too: every
   * event with an owner is resolved, whatever rule made it. */
  const struct hk_map_out *got[2] = {NULL, NULL};
  size_t n = 0;
  for (size_t i = 0; i < r.n; i++) {
    if (r.items[i].status == HK_MAP_EVENT &&
        strcmp(r.items[i].ev.rule, "assigned") == 0 && n < 2) {
      got[n++] = &r.items[i];
    }
  }
  cr_assert_eq(n, 2, "%zu outcomes", r.n);
  expect_event(
      got[0], "hubspot:assigned:234580.12345678.2001.1763806200000.4401",
      "lead.assigned", "contact:4401", 1763806200000, "{\"owner\": \"ana\"}");
  expect_event(got[1],
               "hubspot:assigned:234580.12345678.2002.1763806260000.4402",
               "lead.assigned", "contact:4402", 1763806260000,
               "{\"owner_unknown\": \"61230001\"}");
  clock_of(cfg, &got[1]->ev, &cs);
  cr_assert_str_eq(cs.items[0].owner, "sales");
  cr_assert_str_eq(cs.items[0].owner_unknown, "61230001");
  hk_clocks_fini(&cs);
  hk_map_result_fini(&r);
  hk_mapper_free(m);
  hk_config_free(cfg);
}

/* Without a directory, owners pass as the rules give them. */
Test(map_owners, without_a_directory_the_owner_is_kept_as_given) {
  struct hk_mapper *m = mapper_with("[]");
  struct hk_map_result r;
  map_fixture(m, "pipedrive", "pipedrive/deal_create.json", &r);
  cr_assert_str_eq(
      json_string_value(json_object_get(r.items[0].ev.attrs, "owner")), "9001");
  hk_map_result_fini(&r);
  hk_mapper_free(m);
}
