/*
 * alert.c -- builds the HTTP request a notifier sends for one alert: a Slack
 * incoming-webhook message, or a JSON event signed with the Standard
 * Webhooks scheme. Pure: the time is an argument, nothing is sent and
 * nothing is logged; workers/notify.c does the sending.
 *
 * Slack reads its `text` and mrkdwn as markup, so every value taken from an
 * event (handoff, subject, owner, link) has &, < and > escaped: a subject
 * cannot ping a channel or forge a link. The webhook body is built with
 * jansson, which escapes JSON itself, and is signed over exactly the bytes
 * sent. Header values come from the alert id, so an id holding a control
 * character is refused rather than allowed to split a header.
 *
 * It also encodes and decodes the alert as queued for the sender
 * (hk_alert_dump, hk_alert_parse), the one place that format lives.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "webhooks/webhooks.h"
#include "journey/journey.h"

/* Slack refuses a section whose text is over 3000 characters. Counting
 * bytes instead errs on the safe side; an alert over it is refused whole,
 * never cut. This is Slack's limit, not one of ours, so it lives here
 * rather than in core/caps.h. */
#define SLACK_SECTION_MAX 3000u

/* The longest delay between retries: one hour. */
#define BACKOFF_CAP_MS INT64_C(3600000)

/* "2026-11-24T10:05:00Z" and the like: room for any year gmtime_r gives. */
#define TIME_TEXT 48

/* ---------------------------------------------------------------------------
 * Times
 * ------------------------------------------------------------------------- */

/* Splits ms into whole seconds, rounded down, and the milliseconds left. */
static void split_ms(int64_t ms, time_t *secs, int *rem) {
  int64_t s = ms / 1000;
  int64_t r = ms % 1000;
  if (r < 0) {
    s--;
    r += 1000;
  }
  *secs = (time_t)s;
  *rem = (int)r;
}

/* The broken-down UTC time of ms; returns -1 when ms is HK_NEVER or outside
 * the years RFC 3339 can write (0000 to 9999). */
static int utc_of(int64_t ms, struct tm *tm, int *rem) {
  time_t secs;
  if (ms == HK_NEVER) {
    return -1;
  }
  split_ms(ms, &secs, rem);
  if (gmtime_r(&secs, tm) == NULL || tm->tm_year < -1900 ||
      tm->tm_year > 9999 - 1900) {
    return -1;
  }
  return 0;
}

/* Writes ms as RFC 3339 in UTC, with milliseconds only when there are some.
 * Returns -1 (out untouched) when ms cannot be written. */
static int format_rfc3339(int64_t ms, char out[TIME_TEXT]) {
  struct tm tm;
  int rem;
  if (utc_of(ms, &tm, &rem) != 0) {
    return -1;
  }
  if (rem != 0) {
    snprintf(out, TIME_TEXT, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, rem);
  } else {
    snprintf(out, TIME_TEXT, "%04d-%02d-%02dT%02d:%02d:%02dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
  }
  return 0;
}

/* Writes ms for a person, "2026-11-24 10:05 UTC", or "none" when there is
 * no such time. */
static void format_human(int64_t ms, char out[TIME_TEXT]) {
  struct tm tm;
  int rem;
  if (utc_of(ms, &tm, &rem) != 0) {
    snprintf(out, TIME_TEXT, "none");
    return;
  }
  snprintf(out, TIME_TEXT, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* ---------------------------------------------------------------------------
 * Checks shared by both kinds
 * ------------------------------------------------------------------------- */

/* 1 when s is fit for a header value: not empty, no control character. */
static int header_safe(const char *s) {
  const unsigned char *p;
  if (s == NULL || *s == '\0') {
    return 0;
  }
  for (p = (const unsigned char *)s; *p != '\0'; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      return 0;
    }
  }
  return 1;
}

static enum hk_err check_alert(const struct hk_notifier *n,
                               const struct hk_alert *a, struct hk_error *err) {
  if (n->url == NULL) {
    return hk_fail(err, HK_E_CONFIG,
                   "notifier %s is disabled: its URL or secret is not set",
                   n->name);
  }
  if (a->handoff == NULL || a->subject == NULL || a->state == NULL) {
    return hk_fail(err, HK_E_INTERNAL,
                   "the alert lacks its handoff, subject or state");
  }
  if (strcmp(a->state, "at_risk") != 0 && strcmp(a->state, "breached") != 0) {
    return hk_fail(err, HK_E_INTERNAL,
                   "an alert is sent for at_risk or breached, not another "
                   "state");
  }
  if (!header_safe(a->id)) {
    return hk_fail(err, HK_E_INTERNAL,
                   "the alert id is empty or holds a control character");
  }
  return HK_E_OK;
}

static void add_header(struct hk_alert_request *r, const char *name,
                       const char *value) {
  size_t n = strlen(name) + strlen(value) + 3;
  char *h;
  /* Five headers at most are added here; the array holds six. */
  assert(r->nheaders < sizeof r->headers / sizeof r->headers[0]);
  h = hk_xmalloc(n);
  snprintf(h, n, "%s: %s", name, value);
  r->headers[r->nheaders++] = h;
}

static void add_common_headers(struct hk_alert_request *r) {
  add_header(r, "Content-Type", "application/json");
  add_header(r, "User-Agent", "handoff/" HK_VERSION);
}

/* Moves the text of a JSON document into r; returns -1 when it does not
 * encode (a string that is not UTF-8). Steals doc. */
static int take_body(struct hk_alert_request *r, json_t *doc) {
  char *text = NULL;
  if (doc != NULL) {
    text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
  }
  if (text == NULL) {
    return -1;
  }
  r->body = text;
  r->body_len = strlen(text);
  return 0;
}

/* ---------------------------------------------------------------------------
 * Slack
 * ------------------------------------------------------------------------- */

/* Appends s with Slack's three control characters escaped. */
static enum hk_err add_escaped(struct hk_buf *b, const char *s) {
  enum hk_err rc = HK_E_OK;
  for (; rc == HK_E_OK && *s != '\0'; s++) {
    switch (*s) {
    case '&': rc = hk_buf_add(b, "&amp;", 5); break;
    case '<': rc = hk_buf_add(b, "&lt;", 4); break;
    case '>': rc = hk_buf_add(b, "&gt;", 4); break;
    default: rc = hk_buf_add(b, s, 1); break;
    }
  }
  return rc;
}

/* The one-line summary: the notification's fallback text, and the first
 * line of the section. The subject shows by its name beside its id when a
 * rule gave one, the time left or overdue in words as of now_ms, and the
 * owner by their display name from the owners directory. */
static enum hk_err add_summary(struct hk_buf *b, const struct hk_alert *a,
                               int64_t now_ms) {
  int breached = strcmp(a->state, "breached") == 0;
  char deadline[TIME_TEXT];
  char words[64] = "";
  const char *owner = a->owner_name != NULL ? a->owner_name : a->owner;
  enum hk_err rc;
  format_human(a->deadline_ms, deadline);
  if (a->deadline_ms != HK_NEVER) {
    int64_t d = breached ? now_ms - a->deadline_ms : a->deadline_ms - now_ms;
    char w[48];
    snprintf(words, sizeof words, breached ? "overdue by %s, " : "%s left, ",
             hk_alert_words(d > 0 ? d : 0, w, sizeof w));
  }
  rc = hk_buf_addf(b, "%s ", breached ? ":rotating_light:" : ":warning:");
  if (rc == HK_E_OK) {
    rc = add_escaped(b, a->handoff);
  }
  if (rc == HK_E_OK) {
    rc = hk_buf_addf(b, " for ");
  }
  if (rc == HK_E_OK && a->subject_name != NULL) {
    rc = add_escaped(b, a->subject_name);
    if (rc == HK_E_OK) {
      rc = hk_buf_add(b, " (", 2);
    }
  }
  if (rc == HK_E_OK) {
    rc = add_escaped(b, a->subject);
  }
  if (rc == HK_E_OK && a->subject_name != NULL) {
    rc = hk_buf_add(b, ")", 1);
  }
  if (rc == HK_E_OK) {
    rc = hk_buf_addf(b, "%s%s%s%s (owner: ",
                     breached ? " breached its SLA: " : " is at risk: ", words,
                     breached ? "deadline was " : "deadline ", deadline);
  }
  if (rc == HK_E_OK) {
    rc = add_escaped(b, owner != NULL && *owner != '\0' ? owner : "none");
  }
  if (rc == HK_E_OK) {
    rc = hk_buf_add(b, ")", 1);
  }
  return rc;
}

/* 1 when s is a Slack member id: U or W and capitals and digits. */
static int member_id(const char *s) {
  size_t n = s != NULL ? strlen(s) : 0;
  return n >= 3 && (s[0] == 'U' || s[0] == 'W') &&
         strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* The recipients for Slack: "<@U…>" for a member id, which notifies them,
 * else "@handle" or the name as text. */
static enum hk_err add_mentions(struct hk_buf *b, const json_t *recipients) {
  enum hk_err rc = HK_E_OK;
  size_t i;
  const json_t *r;
  json_array_foreach(recipients, i, r) {
    const char *slack = json_string_value(json_object_get(r, "slack"));
    const char *name = json_string_value(json_object_get(r, "name"));
    if (rc == HK_E_OK && i > 0) {
      rc = hk_buf_add(b, ", ", 2);
    }
    if (rc == HK_E_OK && member_id(slack)) {
      rc = hk_buf_addf(b, "<@%s>", slack);
    } else if (rc == HK_E_OK) {
      rc = add_escaped(b, slack != NULL ? slack : name != NULL ? name : "");
    }
    if (rc == HK_E_OK && member_id(slack) && name != NULL) {
      rc = hk_buf_add(b, " (", 2);
      if (rc == HK_E_OK) {
        rc = add_escaped(b, name);
      }
      if (rc == HK_E_OK) {
        rc = hk_buf_add(b, ")", 1);
      }
    }
  }
  return rc;
}

/* 1 when link can be a Slack link: absolute http(s), no '|' to end it. */
static int linkable(const char *link) {
  return (strncmp(link, "https://", 8) == 0 ||
          strncmp(link, "http://", 7) == 0) &&
         strchr(link, '|') == NULL;
}

/* The section: the summary, who is called on, when the clock started, and
 * the link. */
static enum hk_err add_section(struct hk_buf *b, const struct hk_alert *a,
                               int64_t now_ms) {
  char started[TIME_TEXT];
  enum hk_err rc = add_summary(b, a, now_ms);
  format_human(a->started_ms, started);
  if (rc == HK_E_OK && json_array_size(a->recipients) > 0) {
    rc = hk_buf_addf(b, "\n*To:* ");
    if (rc == HK_E_OK) {
      rc = add_mentions(b, a->recipients);
    }
  }
  if (rc == HK_E_OK) {
    rc = hk_buf_addf(b, "\n*Started:* %s", started);
  }
  if (rc == HK_E_OK && a->link != NULL && *a->link != '\0') {
    int url = linkable(a->link);
    rc = hk_buf_addf(b, url ? "\n<" : "\n*Clock:* ");
    if (rc == HK_E_OK) {
      rc = add_escaped(b, a->link);
    }
    if (rc == HK_E_OK && url) {
      rc = hk_buf_addf(b, "|Open the clock>");
    }
  }
  return rc;
}

static enum hk_err build_slack(const struct hk_notifier *n,
                               const struct hk_alert *a, int64_t now_ms,
                               struct hk_alert_request *out,
                               struct hk_error *err) {
  struct hk_buf text;
  struct hk_buf section;
  enum hk_err rc;
  hk_buf_init(&text, SLACK_SECTION_MAX);
  hk_buf_init(&section, SLACK_SECTION_MAX);
  rc = add_summary(&text, a, now_ms);
  if (rc == HK_E_OK && json_array_size(a->recipients) > 0) {
    rc = hk_buf_add(&text, " ", 1);
    if (rc == HK_E_OK) {
      rc = add_mentions(&text, a->recipients);
    }
  }
  if (rc == HK_E_OK) {
    rc = add_section(&section, a, now_ms);
  }
  if (rc != HK_E_OK) {
    rc = hk_fail(err, HK_E_TOO_LARGE,
                 "the alert is over Slack's limit of %u characters",
                 SLACK_SECTION_MAX);
  } else {
    json_t *doc = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}]}", "text", text.data,
                            "blocks", "type", "section", "text", "type",
                            "mrkdwn", "text", section.data);
    if (take_body(out, doc) != 0) {
      rc =
          hk_fail(err, HK_E_INTERNAL, "the alert holds text that is not UTF-8");
    }
  }
  if (rc == HK_E_OK) {
    add_common_headers(out);
  }
  hk_buf_fini(&section);
  hk_buf_fini(&text);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Webhook (Standard Webhooks)
 * ------------------------------------------------------------------------- */

/* A JSON string of s, or null when s is NULL. New reference; NULL when s is
 * not UTF-8. */
static json_t *string_or_null(const char *s) {
  return s != NULL ? json_string(s) : json_null();
}

/* A JSON string of the RFC 3339 form of ms, or null when it has none. */
static json_t *time_or_null(int64_t ms) {
  char text[TIME_TEXT];
  return format_rfc3339(ms, text) == 0 ? json_string(text) : json_null();
}

static json_t *webhook_doc(const struct hk_alert *a, int64_t now_ms) {
  char type[32];
  char words[48];
  int breached = strcmp(a->state, "breached") == 0;
  int64_t d = a->deadline_ms == HK_NEVER ? 0
              : breached                 ? now_ms - a->deadline_ms
                                         : a->deadline_ms - now_ms;
  json_t *doc;
  json_t *data;
  snprintf(type, sizeof type, "handoff.%s", a->state);
  /* "o" steals each value; a NULL one (not UTF-8) fails the whole pack,
   * which then frees the others. */
  doc =
      json_pack("{s:s, s:o, s:{s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o}}",
                "type", type, "timestamp", time_or_null(now_ms), "data", "id",
                string_or_null(a->id), "handoff", string_or_null(a->handoff),
                "subject", string_or_null(a->subject), "state", a->state,
                "owner", string_or_null(a->owner), "started_at",
                time_or_null(a->started_ms), "deadline",
                time_or_null(a->deadline_ms), "link", string_or_null(a->link));
  data = json_object_get(doc, "data");
  if (data != NULL) {
    /* The fields the Slack message shows, for a receiver that routes or
     * words them itself. */
    json_object_set_new(data, "step", json_integer(a->step));
    json_object_set_new(data, "owner_name", string_or_null(a->owner_name));
    json_object_set_new(data, "subject_name", string_or_null(a->subject_name));
    json_object_set_new(data, "recipients",
                        a->recipients != NULL ? json_deep_copy(a->recipients)
                                              : json_array());
    json_object_set_new(
        data, breached ? "overdue" : "left",
        a->deadline_ms == HK_NEVER
            ? json_null()
            : json_string(hk_alert_words(d > 0 ? d : 0, words, sizeof words)));
    json_object_set_new(
        data, breached ? "overdue_ms" : "left_ms",
        a->deadline_ms == HK_NEVER ? json_null() : json_integer(d > 0 ? d : 0));
  }
  return doc;
}

static enum hk_err build_webhook(const struct hk_notifier *n,
                                 const struct hk_alert *a, int64_t now_ms,
                                 struct hk_alert_request *out,
                                 struct hk_error *err) {
  char ts[24];
  char *sig = NULL;
  enum hk_err rc = HK_E_OK;
  if (n->secret.bytes == NULL || n->secret.len == 0) {
    rc =
        hk_fail(err, HK_E_CONFIG, "notifier %s has no signing secret", n->name);
  } else if (take_body(out, webhook_doc(a, now_ms)) != 0) {
    rc = hk_fail(err, HK_E_INTERNAL, "the alert holds text that is not UTF-8");
  } else {
    sig = hk_sign_standard(&n->secret, a->id, now_ms / 1000, out->body,
                           out->body_len);
    if (sig == NULL) {
      rc = hk_fail(err, HK_E_CONFIG,
                   "the secret of notifier %s cannot sign: it is not "
                   "\"whsec_\" followed by base64",
                   n->name);
    }
  }
  if (sig != NULL) { /* exactly when rc is HK_E_OK */
    snprintf(ts, sizeof ts, "%lld", (long long)(now_ms / 1000));
    add_common_headers(out);
    add_header(out, "webhook-id", a->id);
    add_header(out, "webhook-timestamp", ts);
    add_header(out, "webhook-signature", sig);
  }
  free(sig);
  return rc;
}

/* ---------------------------------------------------------------------------
 * The queued alert: what the SLA engine hands the sender
 *
 * One compact JSON object per alert and notifier, queued in
 * {prefix}alerts by the same script that records the alert in the clock's
 * summary (workers/sla.c), read back by the sender (workers/deliver.c), and
 * kept as is in a dead letter (handoffctl dlq shows its id and notifier):
 *
 *   {"id": "HANDOFF:SUBJECT:STARTED_MS:STATE", "notifier": N,
 *    "handoff": H, "subject": S, "state": "at_risk" | "breached",
 *    "owner": O | null, "started": ms, "deadline": ms,
 *    "link": "/handoff/v1/subjects/S-escaped" | null}
 * ------------------------------------------------------------------------- */

char *hk_alert_id_new(const char *handoff, const char *subject,
                      int64_t started_ms, const char *state) {
  /* Sized to fit, never cut: a cut could split a UTF-8 character, and
   * would make the two alerts of a clock share an id. */
  size_t n = strlen(handoff) + strlen(subject) + strlen(state) + 32;
  char *id = hk_xmalloc(n);
  snprintf(id, n, "%s:%s:%lld:%s", handoff, subject, (long long)started_ms,
           state);
  return id;
}

char *hk_alert_link_new(const char *public_url, const char *mount,
                        const char *subject) {
  char *escaped = hk_path_escape(subject);
  size_t blen = public_url != NULL ? strlen(public_url) : 0;
  const char *m = mount != NULL && mount[0] == '/' ? mount : "/";
  size_t n;
  char *link;
  while (blen > 0 && public_url[blen - 1] == '/') {
    blen--;
  }
  n = blen + strlen(m) + strlen(escaped) + 16;
  link = hk_xmalloc(n);
  snprintf(link, n, "%.*s%sv1/subjects/%s", (int)blen,
           blen > 0 ? public_url : "", m, escaped);
  free(escaped);
  return link;
}

const char *hk_alert_words(int64_t ms, char *out, size_t cap) {
  static const struct {
    const char *name;
    int64_t ms;
  } units[] = {{"day", 86400000}, {"hour", 3600000}, {"minute", 60000}};
  size_t o = 0;
  int parts = 0;
  if (ms < 60000) {
    snprintf(out, cap, "less than a minute");
    return out;
  }
  out[0] = '\0';
  for (size_t i = 0; i < 3 && parts < 2; i++) {
    int64_t q = ms / units[i].ms;
    if (q == 0 && parts == 0) {
      continue;
    }
    if (q > 0 && o < cap) {
      o += (size_t)snprintf(out + o, cap - o, "%s%lld %s%s",
                            parts > 0 ? " " : "", (long long)q, units[i].name,
                            q == 1 ? "" : "s");
    }
    parts++;
    ms -= q * units[i].ms;
  }
  return out;
}

char *hk_alert_dump(const struct hk_alert *a, const char *notifier) {
  json_t *doc;
  char *text;
  if (a->id == NULL || notifier == NULL || a->handoff == NULL ||
      a->subject == NULL || a->state == NULL) {
    return NULL;
  }
  /* "o" steals each value; a NULL one (not UTF-8) fails the whole pack,
   * which then frees the others. */
  doc = json_pack(
      "{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o}", "id", json_string(a->id),
      "notifier", json_string(notifier), "handoff", json_string(a->handoff),
      "subject", json_string(a->subject), "state", json_string(a->state),
      "owner", string_or_null(a->owner), "started", (json_int_t)a->started_ms,
      "deadline", (json_int_t)a->deadline_ms, "link", string_or_null(a->link));
  if (doc != NULL && a->step > 0) {
    json_object_set_new(doc, "step", json_integer(a->step));
  }
  if (doc != NULL && a->owner_name != NULL) {
    json_object_set_new(doc, "owner_name", json_string(a->owner_name));
  }
  if (doc != NULL && a->subject_name != NULL) {
    json_object_set_new(doc, "subject_name", json_string(a->subject_name));
  }
  if (doc != NULL && a->recipients != NULL) {
    json_object_set_new(doc, "recipients", json_deep_copy(a->recipients));
  }
  text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  return text;
}

/* The string member key of doc into *out; 0, or -1 when it is absent or
 * not a string (null too, unless nullable). */
static int get_string(const json_t *doc, const char *key, int nullable,
                      const char **out) {
  const json_t *v = json_object_get(doc, key);
  *out = json_string_value(v);
  return *out != NULL || (nullable && (v == NULL || json_is_null(v))) ? 0 : -1;
}

static int get_int(const json_t *doc, const char *key, int64_t *out) {
  const json_t *v = json_object_get(doc, key);
  *out = (int64_t)json_integer_value(v);
  return json_is_integer(v) ? 0 : -1;
}

enum hk_err hk_alert_parse(const char *text, json_t **doc, struct hk_alert *a,
                           const char **notifier, struct hk_error *err) {
  const char *bad = NULL;
  memset(a, 0, sizeof *a);
  *notifier = NULL;
  *doc = text != NULL ? json_loads(text, 0, NULL) : NULL;
  if (!json_is_object(*doc)) {
    json_decref(*doc);
    *doc = NULL;
    return hk_fail(err, HK_E_BAD_JSON, "the queued alert is not a JSON object");
  }
  /* Every member is read, whatever fails, so the caller can still name
   * the alert and its notifier in a log line or a dead letter. */
  if (get_string(*doc, "link", 1, &a->link) != 0) {
    bad = "link";
  }
  /* The escalation members, absent from alerts queued before ladders. */
  a->step = (int)json_integer_value(json_object_get(*doc, "step"));
  if (get_string(*doc, "owner_name", 1, &a->owner_name) != 0) {
    bad = "owner_name";
  }
  if (get_string(*doc, "subject_name", 1, &a->subject_name) != 0) {
    bad = "subject_name";
  }
  a->recipients = json_object_get(*doc, "recipients");
  if (a->recipients != NULL && !json_is_array(a->recipients)) {
    bad = "recipients";
  }
  if (get_string(*doc, "owner", 1, &a->owner) != 0) {
    bad = "owner";
  }
  if (get_int(*doc, "deadline", &a->deadline_ms) != 0) {
    bad = "deadline";
  }
  if (get_int(*doc, "started", &a->started_ms) != 0) {
    bad = "started";
  }
  if (get_string(*doc, "state", 0, &a->state) != 0) {
    bad = "state";
  }
  if (get_string(*doc, "subject", 0, &a->subject) != 0) {
    bad = "subject";
  }
  if (get_string(*doc, "handoff", 0, &a->handoff) != 0) {
    bad = "handoff";
  }
  if (get_string(*doc, "notifier", 0, notifier) != 0) {
    bad = "notifier";
  }
  if (get_string(*doc, "id", 0, &a->id) != 0) {
    bad = "id";
  }
  if (bad != NULL) {
    return hk_fail(err, HK_E_MISSING_FIELD,
                   "the queued alert's %s is missing or of the wrong type",
                   bad);
  }
  return HK_E_OK;
}

/* ---------------------------------------------------------------------------
 * The interface
 * ------------------------------------------------------------------------- */

enum hk_err hk_alert_build(const struct hk_notifier *n,
                           const struct hk_alert *a, int64_t now_ms,
                           struct hk_alert_request *out, struct hk_error *err) {
  enum hk_err rc;
  memset(out, 0, sizeof *out);
  rc = check_alert(n, a, err);
  if (rc == HK_E_OK) {
    rc = n->kind == HK_NOTIFIER_SLACK ? build_slack(n, a, now_ms, out, err)
                                      : build_webhook(n, a, now_ms, out, err);
  }
  if (rc == HK_E_OK) {
    out->url = hk_xstrdup(n->url);
  } else {
    hk_alert_request_fini(out);
  }
  return rc;
}

void hk_alert_request_fini(struct hk_alert_request *r) {
  size_t i;
  free(r->url);
  for (i = 0; i < r->nheaders; i++) {
    free(r->headers[i]);
  }
  free(r->body);
  memset(r, 0, sizeof *r);
}

int64_t hk_alert_backoff_ms(const struct hk_notifier *n, int retry) {
  int64_t d = n->backoff_ms;
  int i;
  if (d <= 0) {
    return 0;
  }
  if (d > BACKOFF_CAP_MS) {
    d = BACKOFF_CAP_MS;
  }
  /* d stays under the cap before each doubling, so it cannot overflow, and
   * the loop ends after at most about 22 rounds whatever retry is. */
  for (i = 1; i < retry && d < BACKOFF_CAP_MS; i++) {
    d *= 2;
  }
  return d < BACKOFF_CAP_MS ? d : BACKOFF_CAP_MS;
}
