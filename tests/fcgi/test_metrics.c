/*
 * test_metrics.c -- the Prometheus exposition of GET /metrics, from figures
 * as the store gathers them: every family, the exact samples, and label
 * values escaped as the text format asks.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/fcgi.h"

static char *format(const char *figures) {
  json_t *doc = json_loads(figures, 0, NULL);
  size_t len = 0;
  char *text;
  cr_assert(doc != NULL);
  text = hk_metrics_format(doc, &len);
  cr_assert_eq(strlen(text), len);
  json_decref(doc);
  return text;
}

static void has_line(const char *text, const char *line) {
  const char *p = text;
  size_t n = strlen(line);
  int found = 0;
  while (!found && (p = strstr(p, line)) != NULL) {
    found = (p == text || p[-1] == '\n') && p[n] == '\n';
    p += n;
  }
  cr_assert(found, "no line \"%s\" in:\n%s", line, text);
}

Test(metrics, writes_every_family_with_its_samples) {
  char *text = format(
      "{\"queue\": {\"length\": 12, \"pending\": 2, \"lag\": 3,"
      " \"processed\": 40, \"consumers\": 4},"
      " \"stats\": {\"processed\": 40, \"batches\": 7, \"batch_ms\": 1500,"
      " \"alerts_sent\": 5, \"alerts_dead\": 1},"
      " \"counts\": {\"mapped:stripe:invoice.paid\": 9,"
      " \"ignored:stripe:customer.created\": 2,"
      " \"dead:hubspot:hs-lifecycle\": 1},"
      " \"intake\": {\"stripe 202\": 11, \"- 404\": 1},"
      " \"handoffs\": {\"lead_response\": {\"breached\": 3, \"open\": 2,"
      " \"started\": 9, \"incomplete\": 1}}}");
  has_line(text, "# TYPE handoff_intake_requests_total counter");
  has_line(
      text,
      "handoff_intake_requests_total{source=\"stripe\",status=\"202\"} 11");
  has_line(text,
           "handoff_intake_requests_total{source=\"-\",status=\"404\"} 1");
  has_line(text, "handoff_queue_length 12");
  has_line(text, "handoff_queue_pending 2");
  has_line(text, "handoff_queue_lag 3");
  has_line(text, "handoff_queue_consumers 4");
  has_line(text, "handoff_deliveries_processed_total 40");
  has_line(text,
           "handoff_events_total{source=\"stripe\",type=\"invoice.paid\"} 9");
  has_line(
      text,
      "handoff_ignored_total{source=\"stripe\",type=\"customer.created\"} 2");
  has_line(
      text,
      "handoff_dead_letters_total{source=\"hubspot\",rule=\"hs-lifecycle\"} 1");
  has_line(text,
           "handoff_clocks{handoff=\"lead_response\",state=\"breached\"} 3");
  has_line(text, "handoff_clocks{handoff=\"lead_response\",state=\"open\"} 2");
  has_line(text, "handoff_clocks{handoff=\"lead_response\",state=\"met\"} 0");
  has_line(text, "handoff_clocks_started_total{handoff=\"lead_response\"} 9");
  has_line(text, "handoff_clocks_incomplete{handoff=\"lead_response\"} 1");
  has_line(text, "handoff_alerts_total{outcome=\"sent\"} 5");
  has_line(text, "handoff_alerts_total{outcome=\"dead\"} 1");
  has_line(text, "handoff_alerts_total{outcome=\"retried\"} 0");
  has_line(text, "handoff_worker_batches_total 7");
  has_line(text, "handoff_worker_batch_seconds_total 1.500");
  cr_assert_eq(text[strlen(text) - 1], '\n');
  free(text);
}

Test(metrics, escapes_label_values) {
  char *text = format("{\"counts\": {\"mapped:demo:a\\\"b\\\\c\\nd\": 1}}");
  has_line(text,
           "handoff_events_total{source=\"demo\",type=\"a\\\"b\\\\c\\nd\"} 1");
  free(text);
}

Test(metrics, figures_that_are_missing_read_as_zero) {
  char *text = format("{}");
  has_line(text, "handoff_queue_length 0");
  has_line(text, "handoff_alerts_total{outcome=\"sent\"} 0");
  free(text);
}

Test(metrics, writes_redis_memory_when_the_guard_read_it) {
  char *text = format("{\"memory\": {\"used_bytes\": 7340032,"
                      " \"max_bytes\": 8388608, \"guard\": 0.9,"
                      " \"over\": false}}");
  has_line(text, "# TYPE handoff_redis_used_memory_bytes gauge");
  has_line(text, "handoff_redis_used_memory_bytes 7340032");
  has_line(text, "# TYPE handoff_redis_maxmemory_bytes gauge");
  has_line(text, "handoff_redis_maxmemory_bytes 8388608");
  has_line(text, "handoff_redis_memory_guard_ratio 0.9");
  free(text);
  /* Unknown (Redis did not answer INFO): the families are left out, not
   * written as a misleading 0. */
  text = format("{\"memory\": null}");
  cr_assert_null(strstr(text, "handoff_redis_used_memory_bytes"));
  free(text);
}
