/*
 * test_notify.c -- the alert sender (suite `notify`, workers/notify.c, the
 * only libcurl file) against a real one-request HTTP server on a loopback
 * port (http_receiver.c). The pure builder is tested in
 * tests/journey/test_alert.c.
 *
 * Notifiers come from hk_config_parse with their secrets read from the
 * environment, set with setenv: Criterion runs each test in its own
 * process, so the variables do not leak between tests.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "tests/journey/alert_fixture.h"
#include "tests/workers/http_receiver.h"
#include "workers/workers.h"

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

/* ---------------------------------------------------------------------------
 * The sender, against a real HTTP server on a loopback port
 * ------------------------------------------------------------------------- */

/* No proxy of the environment may stand between libcurl and 127.0.0.1. */
static void no_proxies(void) {
  static const char *const vars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                     "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
  size_t i;
  for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    unsetenv(vars[i]);
  }
}

TestSuite(notify, .init = no_proxies, .timeout = 30);

/* Starts a receiver answering status; returns it (caller frees after
 * hk_receiver_stop). */
static struct hk_receiver *receiver(int status) {
  struct hk_receiver *rcv = malloc(sizeof *rcv);
  cr_assert_not_null(rcv);
  cr_assert_eq(hk_receiver_start(rcv, status), 0, "receiver did not start");
  return rcv;
}

static void assert_no_url(const struct hk_error *err, const char *url) {
  cr_assert_null(strstr(err->msg, url), "message names the URL: %s", err->msg);
  cr_assert_null(strstr(err->msg, "s3cr3t"), "message names the key: %s",
                 err->msg);
  cr_assert_null(strstr(err->msg, "/alerts"), "message names the path: %s",
                 err->msg);
}

Test(notify, delivers_the_signed_body_on_2xx) {
  struct hk_receiver *rcv = receiver(204);
  char url[128];
  struct hk_config *cfg;
  struct hk_alert_request r;
  struct hk_error err = {HK_E_OK, ""};
  long status = -1;
  char *h;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/alerts", rcv->port);
  cfg = config_with("https://hooks.slack.com/services/" SLACK_KEY, url);
  must_build(cfg, "hook", &lead_alert, &r);
  cr_assert_eq(hk_alert_send(&r, 5000, &status, &err), HK_E_OK, "send: %s",
               err.msg);
  cr_assert_eq(status, 204);
  hk_receiver_stop(rcv);
  cr_assert(rcv->got);
  cr_assert_str_eq(rcv->method, "POST");
  cr_assert_eq(strncmp(rcv->raw, "POST /alerts HTTP/1.1\r\n", 23), 0);
  cr_assert_eq(rcv->body_len, r.body_len);
  cr_assert_str_eq(rcv->body, r.body);
  h = hk_receiver_header(rcv, "webhook-signature");
  cr_assert_str_eq(h, header_of(&r, "webhook-signature"));
  free(h);
  h = hk_receiver_header(rcv, "webhook-id");
  cr_assert_str_eq(h, lead_alert.id);
  free(h);
  h = hk_receiver_header(rcv, "webhook-timestamp");
  cr_assert_str_eq(h, "1795514000");
  free(h);
  h = hk_receiver_header(rcv, "content-type");
  cr_assert_str_eq(h, "application/json");
  free(h);
  h = hk_receiver_header(rcv, "user-agent");
  cr_assert_str_eq(h, "handoff/" HK_VERSION);
  free(h);
  cr_assert_null(hk_receiver_header(rcv, "expect"));
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
  free(rcv);
}

Test(notify, slack_500_is_unavailable_without_the_url) {
  struct hk_receiver *rcv = receiver(500);
  char url[128];
  struct hk_config *cfg;
  struct hk_alert_request r;
  struct hk_error err = {HK_E_OK, ""};
  long status = -1;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/services/" SLACK_KEY,
           rcv->port);
  cfg = config_with(url, "https://example.com/alerts");
  must_build(cfg, "slack", &lead_alert, &r);
  cr_assert_eq(hk_alert_send(&r, 5000, &status, &err), HK_E_UNAVAILABLE);
  cr_assert_eq(status, 500);
  cr_assert_eq(err.code, HK_E_UNAVAILABLE);
  cr_assert_str_eq(err.msg, "the notifier answered HTTP 500");
  assert_no_url(&err, url);
  hk_receiver_stop(rcv);
  cr_assert(rcv->got);
  cr_assert_str_eq(rcv->body, r.body);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
  free(rcv);
}

Test(notify, redirect_is_not_followed) {
  struct hk_receiver *rcv = receiver(302);
  char url[128];
  struct hk_config *cfg;
  struct hk_alert_request r;
  struct hk_error err = {HK_E_OK, ""};
  long status = -1;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/alerts", rcv->port);
  cfg = config_with("https://hooks.slack.com/services/" SLACK_KEY, url);
  must_build(cfg, "hook", &lead_alert, &r);
  cr_assert_eq(hk_alert_send(&r, 5000, &status, &err), HK_E_UNAVAILABLE);
  cr_assert_eq(status, 302);
  cr_assert_str_eq(err.msg, "the notifier answered HTTP 302 (redirects are not "
                            "followed)");
  hk_receiver_stop(rcv);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
  free(rcv);
}

Test(notify, closed_port_is_unavailable_with_status_0) {
  char url[128];
  struct hk_config *cfg;
  struct hk_alert_request r;
  struct hk_error err = {HK_E_OK, ""};
  long status = -1;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/services/" SLACK_KEY,
           hk_receiver_closed_port());
  cfg = config_with(url, "https://example.com/alerts");
  must_build(cfg, "slack", &lead_alert, &r);
  cr_assert_eq(hk_alert_send(&r, 5000, &status, &err), HK_E_UNAVAILABLE);
  cr_assert_eq(status, 0);
  cr_assert_eq(err.code, HK_E_UNAVAILABLE);
  cr_assert_str_eq(err.msg, "the notifier could not be reached: Couldn't "
                            "connect to server (curl error 7)");
  assert_no_url(&err, url);
  hk_alert_request_fini(&r);
  hk_config_free(cfg);
}

Test(notify, silent_server_times_out) {
  /* A socket that listens but never accepts: the kernel completes the
   * handshake, libcurl sends, and no answer ever comes. */
  int port = 0;
  int fd = hk_receiver_listen_silently(&port);
  char url[128];
  char body[] = "{}";
  struct hk_alert_request r = {0};
  struct hk_error err = {HK_E_OK, ""};
  long status = -1;
  int64_t t0 = hk_time_mono_ms();
  cr_assert_geq(fd, 0);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/alerts", port);
  r.url = url;
  r.body = body;
  r.body_len = 2;
  cr_assert_eq(hk_alert_send(&r, 200, &status, &err), HK_E_UNAVAILABLE);
  cr_assert_lt(hk_time_mono_ms() - t0, 5000);
  cr_assert_eq(status, 0);
  cr_assert_str_eq(err.msg, "the notifier could not be reached: Timeout was "
                            "reached (curl error 28)");
  close(fd);
}

Test(notify, other_protocols_are_refused) {
  struct hk_alert_request r = {0};
  struct hk_error err = {HK_E_OK, ""};
  long status = -1;
  char url[] = "file:///etc/passwd";
  char body[] = "{}";
  r.url = url;
  r.body = body;
  r.body_len = 2;
  cr_assert_eq(hk_alert_send(&r, 1000, &status, &err), HK_E_UNAVAILABLE);
  cr_assert_eq(status, 0);
  cr_assert_str_eq(err.msg, "the notifier could not be reached: Unsupported "
                            "protocol (curl error 1)");
}
