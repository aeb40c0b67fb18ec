/*
 * test_providers.c -- real providers in, journey events out, through nginx.
 *
 * Signatures are made by the providers' own libraries (tests/npm/sign.js:
 * stripe's test header generator, @hubspot/api-client's Signature helper,
 * standardwebhooks), so these tests check handoff against the signers that
 * really post to it, not against our own reading of their docs. Valid
 * deliveries are 202; each kind of tampering is 401 with its exact code and
 * queues nothing. A worker then maps what was queued into journey events:
 * a HubSpot batch of 100 gives 100 events, and the same batch again gives
 * no more; a delivery a rule cannot map completely goes to the dead-letter
 * stream, which `handoffctl dlq` lists and retries.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define STRIPE_SECRET "whsec_test_5Nc8tR3mWqZt0pLx"
#define HUBSPOT_SECRET "hubspot-client-secret-7f3a91"
#define HUBSPOT_URL "https://hooks.example.com/hooks/hubspot"

static const char sources[] =
    ",\n    \"stripe\": {\"kind\": \"stripe\", \"secret\": ["
    "{\"env\": \"HK_TEST_STRIPE_OLD\"}, {\"env\": \"HK_TEST_STRIPE\"}]},\n"
    "    \"hubspot\": {\"kind\": \"hubspot\", \"secret\": {\"env\": "
    "\"HK_TEST_HUBSPOT\"}, \"public_url\": \"" HUBSPOT_URL "\"}";

static const char rules[] =
    "\"events\": ["
    "{\"name\": \"cs-kickoff\", \"source\": \"demo\","
    " \"match\": {\"type\": \"kickoff.held\"}, \"type\": "
    "\"onboarding.kickoff\","
    " \"subject\": \"company:{company_id}\","
    " \"at\": {\"path\": \"occurred_at\", \"format\": \"rfc3339\"}},"
    "{\"name\": \"hs-lifecycle\", \"source\": \"hubspot\","
    " \"match\": {\"subscriptionType\": \"company.propertyChange\","
    " \"propertyName\": \"lifecyclestage\"},"
    " \"type\": \"lead.{propertyValue}\", \"subject\": \"company:{objectId}\","
    " \"at\": {\"path\": \"occurredAt\", \"format\": \"unix_ms\"}},"
    "{\"name\": \"stripe-paid\", \"source\": \"stripe\","
    " \"match\": {\"type\": \"invoice.paid\"}, \"type\": \"invoice.paid\","
    " \"subject\": \"customer:{data.object.customer}\","
    " \"attrs\": {\"amount\": {\"path\": \"data.object.amount_paid\","
    " \"scale\": 0.01, \"required\": true},"
    " \"currency\": \"data.object.currency\"}}],";

static void up(void) {
  setenv("HK_TEST_STRIPE", STRIPE_SECRET, 1);
  setenv("HK_TEST_STRIPE_OLD", "whsec_test_rolled_away_0000", 1);
  setenv("HK_TEST_HUBSPOT", HUBSPOT_SECRET, 1);
  hk_stack_up_with(rules, sources);
}

TestSuite(providers, .init = up, .fini = hk_stack_down, .timeout = 120);

/* The headers the provider's library makes for body, one "Name: value"
 * each, into lines[] (n of them). */
struct signed_headers {
  char buf[2048];
  const char *lines[8];
  size_t n;
};

static void sign_with_library(const char *argv_tail, const char *body,
                              struct signed_headers *h) {
  char path[300];
  char cmd[1200];
  FILE *f;
  size_t len;
  char *line;
  char *save = NULL;

  snprintf(path, sizeof path, "%s/body.json", stack.dir);
  f = fopen(path, "wb");
  cr_assert(f != NULL);
  fputs(body, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "node '%s/tests/npm/sign.js' %s < '%s'",
           HK_SOURCE_DIR, argv_tail, path);
  f = popen(cmd, "r");
  cr_assert(f != NULL);
  len = fread(h->buf, 1, sizeof h->buf - 1, f);
  cr_assert_eq(pclose(f), 0, "the signer failed: %s", cmd);
  h->buf[len] = '\0';
  h->n = 0;
  for (line = strtok_r(h->buf, "\n", &save); line != NULL && h->n < 7;
       line = strtok_r(NULL, "\n", &save)) {
    h->lines[h->n++] = line;
  }
  h->lines[h->n] = NULL;
}

/* Posts body to /hooks/source with the signed headers, leaving out the
 * header named drop (or none). */
static void post(const char *source, const struct signed_headers *h,
                 const char *drop, const char *body, struct hk_resp *r) {
  const char *headers[10];
  size_t n = 0;
  headers[n++] = "Content-Type: application/json";
  for (size_t i = 0; i < h->n; i++) {
    if (drop == NULL || strncasecmp(h->lines[i], drop, strlen(drop)) != 0) {
      headers[n++] = h->lines[i];
    }
  }
  headers[n] = NULL;
  cr_assert_eq(hk_http("POST", source, headers, body, strlen(body), r), 0);
}

static void assert_status(const struct hk_resp *r, long status,
                          const char *code) {
  char buf[64];
  cr_assert_eq(r->status, status, "status %ld, body %s", r->status, r->body);
  if (code != NULL) {
    cr_assert_str_eq(hk_error_code(r, buf, sizeof buf), code, "body %s",
                     r->body);
  }
}

static long long queued(void) {
  return hk_redis_int("XLEN handoff:intake");
}

/* ---------------------------------------------------------------------------
 * Stripe
 * ------------------------------------------------------------------------- */

#define STRIPE_EVENT(id, type, object)                                         \
  "{\"id\":\"" id "\",\"object\":\"event\",\"api_version\":\"2025-03-31."      \
  "basil\",\"created\":1764000000,\"type\":\"" type "\",\"livemode\":false,"   \
  "\"data\":{\"object\":" object "}}"

#define INVOICE                                                                \
  "{\"id\":\"in_1\",\"object\":\"invoice\",\"customer\":\"cus_9\","            \
  "\"amount_paid\":4900,\"currency\":\"eur\"}"

static void stripe_sign(const char *secret, int64_t ts, const char *body,
                        struct signed_headers *h) {
  char tail[300];
  snprintf(tail, sizeof tail, "stripe '%s' %lld", secret, (long long)ts);
  sign_with_library(tail, body, h);
}

Test(providers, stripe_signed_by_stripe_library_is_queued) {
  const char *body = STRIPE_EVENT("evt_1", "invoice.paid", INVOICE);
  struct signed_headers h;
  struct hk_resp r;
  stripe_sign(STRIPE_SECRET, hk_now_s(), body, &h);
  post("/hooks/stripe", &h, NULL, body, &r);
  assert_status(&r, 202, NULL);
  cr_assert(strstr(r.body, "\"delivery_id\":\"evt_1\"") != NULL, "%s", r.body);
  cr_assert_eq(queued(), 1);
}

Test(providers, stripe_refuses_each_kind_of_tampering) {
  const char *body = STRIPE_EVENT("evt_2", "invoice.paid", INVOICE);
  const char *other = STRIPE_EVENT("evt_2", "invoice.paid", "{\"x\":1}");
  int64_t now = hk_now_s();
  struct signed_headers h;
  struct hk_resp r;
  char *t;

  stripe_sign(STRIPE_SECRET, now, body, &h);
  post("/hooks/stripe", &h, NULL, other, &r);
  assert_status(&r, 401, "bad_signature"); /* body */
  post("/hooks/stripe", &h, "Stripe-Signature", body, &r);
  assert_status(&r, 401, "missing_signature"); /* header missing */
  t = strstr(h.buf, "t=");
  cr_assert(t != NULL);
  t[2] = t[2] == '1' ? '2' : '1'; /* timestamp */
  post("/hooks/stripe", &h, NULL, body, &r);
  cr_assert_eq(r.status, 401, "%s", r.body);

  stripe_sign("whsec_test_not_ours_1234", now, body, &h);
  post("/hooks/stripe", &h, NULL, body, &r);
  assert_status(&r, 401, "bad_signature"); /* secret */
  stripe_sign(STRIPE_SECRET, now - 600, body, &h);
  post("/hooks/stripe", &h, NULL, body, &r);
  assert_status(&r, 401, "stale_timestamp"); /* replayed 10 minutes later */
  cr_assert_eq(queued(), 0, "a refused delivery was queued");
}

Test(providers, stripe_accepts_every_secret_in_rotation) {
  const char *body = STRIPE_EVENT("evt_3", "invoice.paid", INVOICE);
  struct signed_headers h;
  struct hk_resp r;
  stripe_sign("whsec_test_rolled_away_0000", hk_now_s(), body, &h);
  post("/hooks/stripe", &h, NULL, body, &r);
  assert_status(&r, 202, NULL);
}

/* ---------------------------------------------------------------------------
 * HubSpot
 * ------------------------------------------------------------------------- */

static void hubspot_sign(const char *secret, int64_t ts_ms, const char *body,
                         struct signed_headers *h) {
  char tail[400];
  snprintf(tail, sizeof tail, "hubspot '%s' '%s' %lld", secret, HUBSPOT_URL,
           (long long)ts_ms);
  sign_with_library(tail, body, h);
}

/* A batch of n lifecycle changes, as HubSpot posts them. Caller frees. */
static char *hubspot_batch(int n) {
  size_t cap = (size_t)n * 400 + 16;
  char *s = malloc(cap);
  size_t len = 0;
  cr_assert(s != NULL);
  s[len++] = '[';
  for (int i = 0; i < n; i++) {
    len += (size_t)snprintf(
        s + len, cap - len,
        "%s{\"eventId\":%d,\"subscriptionId\":2146,\"portalId\":62515,"
        "\"appId\":1160452,\"occurredAt\":%lld,\"subscriptionType\":"
        "\"company.propertyChange\",\"attemptNumber\":0,\"objectId\":%d,"
        "\"propertyName\":\"lifecyclestage\",\"propertyValue\":"
        "\"marketingqualifiedlead\",\"changeSource\":\"CRM_UI\"}",
        i == 0 ? "" : ",", 1000 + i, 1764000000000LL + i, 8800 + i);
  }
  s[len++] = ']';
  s[len] = '\0';
  return s;
}

Test(providers, hubspot_v3_signed_by_hubspot_library_is_queued) {
  char *body = hubspot_batch(3);
  struct signed_headers h;
  struct hk_resp r;
  hubspot_sign(HUBSPOT_SECRET, hk_now_s() * 1000, body, &h);
  post("/hooks/hubspot", &h, NULL, body, &r);
  assert_status(&r, 202, NULL);
  cr_assert_eq(queued(), 1);
  free(body);
}

Test(providers, hubspot_refuses_each_kind_of_tampering) {
  char *body = hubspot_batch(2);
  char *other = hubspot_batch(3);
  int64_t now = hk_now_s() * 1000;
  struct signed_headers h;
  struct hk_resp r;
  char forged[64];

  hubspot_sign(HUBSPOT_SECRET, now, body, &h);
  post("/hooks/hubspot", &h, NULL, other, &r);
  assert_status(&r, 401, "bad_signature"); /* body */
  post("/hooks/hubspot", &h, "X-HubSpot-Signature-v3", body, &r);
  assert_status(&r, 401, "missing_signature"); /* header missing */
  /* The timestamp is signed: another one, still fresh, is refused. */
  snprintf(forged, sizeof forged, "X-HubSpot-Request-Timestamp: %lld",
           (long long)(now - 1000));
  h.lines[1] = forged;
  post("/hooks/hubspot", &h, NULL, body, &r);
  assert_status(&r, 401, "bad_signature");

  hubspot_sign("not-the-client-secret", now, body, &h);
  post("/hooks/hubspot", &h, NULL, body, &r);
  assert_status(&r, 401, "bad_signature"); /* secret */
  hubspot_sign(HUBSPOT_SECRET, now - 10 * 60 * 1000, body, &h);
  post("/hooks/hubspot", &h, NULL, body, &r);
  assert_status(&r, 401, "stale_timestamp"); /* replayed 10 minutes later */
  cr_assert_eq(queued(), 0, "a refused delivery was queued");
  free(body);
  free(other);
}

static long long events_wanted;

static int events_written(void) {
  return hk_redis_int("XLEN handoff:events") == events_wanted &&
         hk_redis_int("EVAL %s 1 handoff:intake",
                      "return redis.call('XPENDING', KEYS[1], 'workers')[1]") ==
             0;
}

/* The worker logs after the journal script returned: wait for the line. */
static int logged_all_duplicates(void) {
  return hk_worker_log_has(0, "events=100", "duplicates=100");
}

static int processed_two(void) {
  return hk_redis_int("HGET handoff:stats processed") == 2;
}

Test(providers, hubspot_batch_of_100_gives_100_events_once) {
  char *body = hubspot_batch(100);
  struct signed_headers h;
  struct hk_resp r;

  hubspot_sign(HUBSPOT_SECRET, hk_now_s() * 1000, body, &h);
  post("/hooks/hubspot", &h, NULL, body, &r);
  assert_status(&r, 202, NULL);
  hk_worker_start(0, NULL);
  events_wanted = 100;
  cr_assert(hk_wait_until(events_written, 15000), "events %lld",
            hk_redis_int("XLEN handoff:events"));
  cr_assert_eq(hk_redis_int("HGET handoff:counts "
                            "mapped:hubspot:lead.marketingqualifiedlead"),
               100);
  /* Each event has its own subject and the event time HubSpot gave. */
  cr_assert_eq(
      hk_redis_int(
          "EVAL %s 1 handoff:events",
          "local n = 0 for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', "
          "'+')) do local ev = cjson.decode(e[2][2]) if ev.subject == "
          "'company:' .. (8800 + ev.at - 1764000000000) and ev.type == "
          "'lead.marketingqualifiedlead' and ev.source == 'hubspot' then n = "
          "n + 1 end end return n"),
      100);

  /* HubSpot retries the same batch: a new signature, the same events. */
  hubspot_sign(HUBSPOT_SECRET, hk_now_s() * 1000, body, &h);
  post("/hooks/hubspot", &h, NULL, body, &r);
  assert_status(&r, 202, NULL);
  cr_assert(hk_wait_until(processed_two, 15000));
  cr_assert_eq(hk_redis_int("XLEN handoff:events"), 100);
  cr_assert(hk_wait_until(logged_all_duplicates, 5000));
  free(body);
}

static int processed_both(void) {
  return hk_redis_int("HGET handoff:stats processed") == 2;
}

/* A delivery that makes more outcomes than one journal step holds (here a
 * HubSpot batch of 1001 queued before intake capped batches) becomes one
 * dead letter; it neither blocks the batch it came in nor is lost. */
Test(providers, a_delivery_of_too_many_outcomes_is_dead_lettered_not_stuck) {
  char *big = hubspot_batch(1001);
  char *small = hubspot_batch(2);
  struct signed_headers h;
  struct hk_resp r;
  char out[4096];

  hk_redis_int("XADD handoff:intake * source hubspot kind hubspot delivery_id "
               "legacy received_ms 1764000000000 signed_ms 0 headers {} body "
               "%s",
               big);
  hubspot_sign(HUBSPOT_SECRET, hk_now_s() * 1000, small, &h);
  post("/hooks/hubspot", &h, NULL, small, &r);
  assert_status(&r, 202, NULL);
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(processed_both, 15000), "processed %lld",
            hk_redis_int("HGET handoff:stats processed"));
  cr_assert_eq(hk_redis_int("XLEN handoff:events"), 2);
  cr_assert_eq(hk_redis_int("XLEN handoff:dlq"), 1);
  cr_assert_eq(hk_ctl("dlq list", out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "delivery=legacy") != NULL, "%s", out);
  cr_assert(strstr(out, "1001 outcomes") != NULL, "%s", out);
  free(big);
  free(small);
}

/* ---------------------------------------------------------------------------
 * Standard Webhooks
 * ------------------------------------------------------------------------- */

Test(providers, standard_webhooks_signed_by_its_library_is_queued) {
  const char *body = "{\"type\":\"lead.created\",\"data\":{\"id\":7}}";
  const char *other = "{\"type\":\"lead.created\",\"data\":{\"id\":8}}";
  char tail[300];
  struct signed_headers h;
  struct hk_resp r;

  snprintf(tail, sizeof tail, "standard '%s' msg_lib_1 %lld", HK_TEST_SECRET,
           (long long)hk_now_s());
  sign_with_library(tail, body, &h);
  post("/hooks/demo", &h, NULL, other, &r);
  assert_status(&r, 401, "bad_signature");
  post("/hooks/demo", &h, "webhook-signature", body, &r);
  assert_status(&r, 401, "missing_signature");
  post("/hooks/demo", &h, NULL, body, &r);
  assert_status(&r, 202, NULL);
  snprintf(tail, sizeof tail, "standard '%s' msg_lib_2 %lld", HK_TEST_SECRET,
           (long long)hk_now_s() - 600);
  sign_with_library(tail, body, &h);
  post("/hooks/demo", &h, NULL, body, &r);
  assert_status(&r, 401, "stale_timestamp");
  cr_assert_eq(queued(), 1);
}

static int one_processed(void) {
  return hk_redis_int("HGET handoff:stats processed") == 1;
}

/*
 * A customer-success tool that follows the spec but puts its data at the
 * top level (no "data", no "timestamp"): signed by the standardwebhooks
 * library, queued, and mapped by a config rule that reads the top-level
 * fields into a journey event with the tool's own event time.
 */
Test(providers, standard_webhooks_top_level_body_is_queued_and_mapped) {
  const char *body = "{\"type\": \"kickoff.held\", \"company_id\": \"9046\", "
                     "\"occurred_at\": \"2026-11-24T10:00:00Z\"}";
  char tail[300];
  struct signed_headers h;
  struct hk_resp r;

  snprintf(tail, sizeof tail, "standard '%s' msg_cs_1 %lld", HK_TEST_SECRET,
           (long long)hk_now_s());
  sign_with_library(tail, body, &h);
  post("/hooks/demo", &h, NULL, body, &r);
  assert_status(&r, 202, NULL);
  cr_assert(strstr(r.body, "\"delivery_id\":\"msg_cs_1\"") != NULL, "%s",
            r.body);
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(one_processed, 15000), "processed %lld",
            hk_redis_int("HGET handoff:stats processed"));
  cr_assert_eq(hk_redis_int("XLEN handoff:dlq"), 0);
  cr_assert_eq(hk_redis_int("XLEN handoff:events"), 1);
  cr_assert_eq(
      hk_redis_int(
          "EVAL %s 1 handoff:events",
          "local ev = cjson.decode(redis.call('XRANGE', KEYS[1], '-', "
          "'+')[1][2][2]) if ev.type == 'onboarding.kickoff' and ev.subject "
          "== 'company:9046' and ev.source == 'demo' and ev.at == "
          "1795514400000 then return 1 end return 0"),
      1);
}

/* ---------------------------------------------------------------------------
 * Headers: as many as a real sender and its proxies send, and a clear
 * error past the caps, never 401 missing_signature, never 5xx
 * ------------------------------------------------------------------------- */

/* Posts body signed for demo with npad X-Pad headers (each pad_len bytes
 * of value) before the signature headers. */
static void post_padded(size_t npad, size_t pad_len, const char *id,
                        const char *body, struct hk_resp *r) {
  const char **headers = calloc(npad + 8, sizeof *headers);
  char **pads = calloc(npad + 1, sizeof *pads);
  char tail[300];
  struct signed_headers h;
  size_t n = 0;

  cr_assert(headers != NULL && pads != NULL);
  snprintf(tail, sizeof tail, "standard '%s' %s %lld", HK_TEST_SECRET, id,
           (long long)hk_now_s());
  sign_with_library(tail, body, &h);
  headers[n++] = "Content-Type: application/json";
  for (size_t i = 0; i < npad; i++) {
    pads[i] = malloc(pad_len + 32);
    cr_assert_not_null(pads[i]);
    int k = snprintf(pads[i], pad_len + 32, "X-Pad-%zu: ", i);
    cr_assert(k > 0);
    memset(pads[i] + k, 'p', pad_len);
    pads[i][(size_t)k + pad_len] = '\0';
    headers[n++] = pads[i];
  }
  for (size_t i = 0; i < h.n; i++) {
    headers[n++] = h.lines[i];
  }
  headers[n] = NULL;
  cr_assert_eq(hk_http("POST", "/hooks/demo", headers, body, strlen(body), r),
               0);
  for (size_t i = 0; i < npad; i++) {
    free(pads[i]);
  }
  free(pads);
  free(headers);
}

Test(providers, seventy_headers_before_the_signature_are_read) {
  struct hk_resp r;

  post_padded(70, 40, "msg_pad_70", "{\"type\":\"lead.created\"}", &r);
  assert_status(&r, 202, NULL);
  cr_assert_eq(queued(), 1);
}

/* More than handoff-fcgi reads (256): its own 431. Far more than nginx's
 * buffers hold (4 × 8k): nginx's 431, in JSON too. */
Test(providers, absurdly_many_headers_get_a_clear_431) {
  struct hk_resp r;
  char buf[64];

  post_padded(300, 8, "msg_pad_300", "{\"type\":\"lead.created\"}", &r);
  assert_status(&r, 431, "headers_too_large");
  cr_assert(strstr(r.content_type, "application/json") != NULL, "%s",
            r.content_type);
  post_padded(4000, 8, "msg_pad_4000", "{\"type\":\"lead.created\"}", &r);
  cr_assert_eq(r.status, 431, "status %ld, body %s", r.status, r.body);
  cr_assert_str_eq(hk_error_code(&r, buf, sizeof buf), "headers_too_large",
                   "%s", r.body);
  cr_assert_eq(queued(), 0);
}

/* ---------------------------------------------------------------------------
 * nginx's own errors are JSON (deploy/nginx/handoff.conf)
 * ------------------------------------------------------------------------- */

/* Sends request (len bytes, ending the connection) to nginx over a plain
 * socket and reads the status, Content-Type and body of its answer: for
 * requests libcurl or hk_http would not send as they are. */
static void raw_http(const char *request, size_t len, struct hk_resp *r) {
  static char in[131072];
  size_t got = 0;
  ssize_t n;
  int fd = hk_connect_loopback(stack.http_port);
  const char *ct;
  const char *body;

  memset(r, 0, sizeof *r);
  cr_assert(fd >= 0, "cannot connect to nginx");
  /* nginx may answer and close before reading all: a short write is
   * fine, the answer is what counts. */
  (void)!write(fd, request, len);
  while (got < sizeof in - 1 &&
         (n = read(fd, in + got, sizeof in - 1 - got)) > 0) {
    got += (size_t)n;
  }
  close(fd);
  in[got] = '\0';
  cr_assert(sscanf(in, "HTTP/1.%*c %ld", &r->status) == 1, "%s", in);
  ct = strstr(in, "\r\nContent-Type: "); /* as nginx writes it */
  if (ct != NULL) {
    snprintf(r->content_type, sizeof r->content_type, "%.*s",
             (int)strcspn(ct + 16, "\r\n"), ct + 16);
  }
  body = strstr(in, "\r\n\r\n");
  snprintf(r->body, sizeof r->body, "%s", body != NULL ? body + 4 : "");
}

/* A request line over nginx's large_client_header_buffers (8k). */
Test(providers, nginx_answers_an_overlong_request_line_with_json_414) {
  static char req[10100];
  struct hk_resp r;
  int k = snprintf(req, sizeof req, "GET /v1/health?x=");

  memset(req + k, 'a', 10000);
  snprintf(req + k + 10000, sizeof req - (size_t)k - 10000,
           " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  raw_http(req, strlen(req), &r);
  assert_status(&r, 414, "uri_too_long");
  cr_assert(strstr(r.content_type, "application/json") != NULL, "%s",
            r.content_type);
}

/* A request nginx cannot parse: its own 400, in JSON. */
Test(providers, nginx_answers_a_malformed_request_with_json_400) {
  static const char req[] = "POST /hooks/demo HTTP/1.1\r\nHost: x\r\n"
                            "Content-Length: 1\r\nContent-Length: 2\r\n"
                            "Connection: close\r\n\r\nab";
  static const char garbage[] = "\x01\x02 nonsense\r\n\r\n";
  struct hk_resp r;

  raw_http(req, sizeof req - 1, &r);
  assert_status(&r, 400, "bad_request");
  cr_assert(strstr(r.content_type, "application/json") != NULL, "%s",
            r.content_type);
  /* No URI at all: still JSON, never nginx's 500. */
  raw_http(garbage, sizeof garbage - 1, &r);
  assert_status(&r, 400, "bad_request");
  cr_assert_eq(queued(), 0);
}

Test(providers, nginx_answers_trace_with_json_405) {
  struct hk_resp r;

  cr_assert_eq(hk_http("TRACE", "/hooks/demo", NULL, NULL, 0, &r), 0);
  assert_status(&r, 405, "method_not_allowed");
  cr_assert(strstr(r.content_type, "application/json") != NULL, "%s",
            r.content_type);
}

/* ---------------------------------------------------------------------------
 * Mapping outcomes: events, ignored deliveries, dead letters
 * ------------------------------------------------------------------------- */

static int three_processed(void) {
  return hk_redis_int("HGET handoff:stats processed") == 3;
}

Test(providers, stripe_events_are_mapped_ignored_or_dead_lettered) {
  const char *paid = STRIPE_EVENT("evt_paid", "invoice.paid", INVOICE);
  const char *other =
      STRIPE_EVENT("evt_cus", "customer.created",
                   "{\"id\":\"cus_9\",\"object\":\"customer\"}");
  const char *short_of_amount = STRIPE_EVENT(
      "evt_short", "invoice.paid",
      "{\"id\":\"in_2\",\"customer\":\"cus_9\",\"currency\":\"eur\"}");
  const char *bodies[] = {paid, other, short_of_amount};
  struct signed_headers h;
  struct hk_resp r;
  char out[4096];
  char id[64];
  char *p;

  for (size_t i = 0; i < 3; i++) {
    stripe_sign(STRIPE_SECRET, hk_now_s(), bodies[i], &h);
    post("/hooks/stripe", &h, NULL, bodies[i], &r);
    assert_status(&r, 202, NULL);
  }
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(three_processed, 15000));

  /* The paid invoice: one event, amount in major units, Stripe's time. */
  cr_assert_eq(hk_redis_int("XLEN handoff:events"), 1);
  cr_assert_eq(
      hk_redis_int("EVAL %s 1 handoff:events",
                   "local ev = cjson.decode(redis.call('XRANGE', KEYS[1], "
                   "'-', '+')[1][2][2]) if ev.type == 'invoice.paid' and "
                   "ev.subject == 'customer:cus_9' and ev.attrs.amount == 49 "
                   "and ev.attrs.currency == 'eur' and ev.at == "
                   "1764000000000 then return 1 end return 0"),
      1);
  /* The customer event: no rule maps it; acknowledged and counted. */
  cr_assert_eq(
      hk_redis_int("HGET handoff:counts ignored:stripe:customer.created"), 1);
  /* The invoice without its amount: a dead letter naming the rule. */
  cr_assert_eq(hk_redis_int("XLEN handoff:dlq"), 1);
  cr_assert_eq(hk_ctl("dlq list", out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "rule=stripe-paid") != NULL, "%s", out);
  cr_assert(strstr(out, "delivery=evt_short") != NULL, "%s", out);
  cr_assert(strstr(out, "amount_paid") != NULL, "%s", out);
  cr_assert(strstr(out, STRIPE_SECRET) == NULL);

  /* Retried: queued again as it was, and gone from the dead letters (the
   * rule still fails, so it comes back as a new letter). */
  /* The letter's line: "ID  kind=delivery source=stripe rule=…". */
  p = strstr(out, "  kind=delivery source=stripe");
  cr_assert(p != NULL, "%s", out);
  while (p > out && p[-1] != '\n') {
    p--;
  }
  snprintf(id, sizeof id, "%.*s", (int)strcspn(p, " "), p);
  {
    char args[128];
    snprintf(args, sizeof args, "dlq retry %s", id);
    cr_assert_eq(hk_ctl(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "queued again") != NULL, "%s", out);
    cr_assert_eq(hk_ctl(args, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "no dead letter") != NULL, "%s", out);
  }
  cr_assert_eq(queued(), 4);
  cr_assert_eq(hk_ctl("dlq retry not-an-id", out, sizeof out), 2, "%s", out);
}
