/*
 * notify.c -- sends one alert request (built by alert.c) with libcurl. The
 * only file of handoff that includes libcurl (STYLE.md).
 *
 * One easy handle per call: alerts are rare, and a handle of its own keeps
 * every call thread-safe without locks. libcurl is initialized once per
 * process. The request is fenced in: a hard timeout, no redirect followed
 * (an alert endpoint that moves is a configuration to fix, and following
 * one could carry a signed body elsewhere), only http and https, no signals
 * (the worker has threads), and the answer's body thrown away unread.
 *
 * A notifier's URL may be a secret (Slack puts its key in the path), so no
 * message written here names it: a failure says the HTTP status or
 * libcurl's text for its error code, which never holds a URL.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include <curl/curl.h>

#include "workers/workers.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void init_curl(void) {
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Discards the answer's body. */
static size_t discard(char *data, size_t size, size_t n, void *user) {
  return size * n;
}

/* The headers of r, plus an empty Expect: so libcurl never waits for a
 * "100 Continue" that many receivers do not send. Returns NULL when
 * libcurl runs out of memory. */
static struct curl_slist *header_list(const struct hk_alert_request *r) {
  struct curl_slist *list = NULL;
  size_t i;
  for (i = 0; i <= r->nheaders; i++) {
    const char *h = i < r->nheaders ? r->headers[i] : "Expect:";
    struct curl_slist *next = curl_slist_append(list, h);
    if (next == NULL) {
      curl_slist_free_all(list);
      return NULL;
    }
    list = next;
  }
  return list;
}

/* Sets every option; returns the first that failed, or CURLE_OK. */
static CURLcode set_options(CURL *h, const struct hk_alert_request *r,
                            struct curl_slist *headers, int64_t timeout_ms) {
  long timeout = timeout_ms < 1          ? 1
                 : timeout_ms > LONG_MAX ? LONG_MAX
                                         : (long)timeout_ms;
  CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, r->url);
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_POST, 1L);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                          (curl_off_t)r->body_len);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  }
  return rc;
}

enum hk_err hk_alert_send(const struct hk_alert_request *r, int64_t timeout_ms,
                          long *status, struct hk_error *err) {
  CURL *h = NULL;
  struct curl_slist *headers = NULL;
  CURLcode crc;
  enum hk_err rc = HK_E_OK;

  *status = 0;
  pthread_once(&curl_once, init_curl);
  crc = curl_init_rc;
  if (crc == CURLE_OK) {
    h = curl_easy_init();
    headers = header_list(r);
    crc = h == NULL || headers == NULL ? CURLE_OUT_OF_MEMORY
                                       : set_options(h, r, headers, timeout_ms);
  }
  if (crc == CURLE_OK) {
    crc = curl_easy_perform(h);
  }
  if (crc == CURLE_OK) {
    crc = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  }
  if (crc != CURLE_OK) {
    rc = hk_fail(err, HK_E_UNAVAILABLE,
                 "the notifier could not be reached: %s (curl error %d)",
                 curl_easy_strerror(crc), (int)crc);
  } else if (*status < 200 || *status > 299) {
    rc = hk_fail(
        err, HK_E_UNAVAILABLE, "the notifier answered HTTP %ld%s", *status,
        *status >= 300 && *status <= 399 ? " (redirects are not followed)"
                                         : "");
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return rc;
}
