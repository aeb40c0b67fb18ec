/*
 * digest_text.c -- the weekly review in words: the plain text of
 * `handoffctl digest --preview` (and Slack's notification text), the Slack
 * Block Kit message, and the signed webhook request. Pure.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/webhooks.h"
#include "journey/journey.h"

/* A line that would pass a buffer's cap is left out (Slack's limit). */
#define ADDF(...) ((void)!hk_buf_addf(__VA_ARGS__))

#define TEXT_MAX 3000 /* Slack's limit on a section's text */
#define SLACK_KPIS 40 /* Slack allows 50 blocks; a few are not KPIs */

static char *take(struct hk_buf *b) {
  size_t len;
  return hk_buf_take(b, &len);
}

static const char *word(const char *status) {
  if (status == NULL) {
    return "UNKNOWN";
  }
  if (strcmp(status, "red") == 0) {
    return "RED";
  }
  if (strcmp(status, "amber") == 0) {
    return "AMBER";
  }
  return strcmp(status, "green") == 0 ? "GREEN" : "UNKNOWN";
}

static const char *emoji(const char *status) {
  if (status != NULL && strcmp(status, "red") == 0) {
    return ":red_circle:";
  }
  if (status != NULL && strcmp(status, "amber") == 0) {
    return ":large_orange_circle:";
  }
  return status != NULL && strcmp(status, "green") == 0 ? ":large_green_circle:"
                                                        : ":white_circle:";
}

/* A value in its unit, as the status API's texts say it. */
static void value_text(const json_t *v, const char *unit, char *out,
                       size_t cap) {
  double x = json_number_value(v);
  if (!json_is_number(v)) {
    snprintf(out, cap, "no data");
  } else if (unit != NULL && strcmp(unit, "share") == 0) {
    snprintf(out, cap, "%.1f%%", x * 100.0);
  } else if (unit != NULL && strcmp(unit, "ms") == 0) {
    int64_t s = llround(x / 1000.0);
    if (s >= 86400) {
      snprintf(out, cap, "%" PRId64 "d %" PRId64 "h", s / 86400,
               s % 86400 / 3600);
    } else if (s >= 3600) {
      snprintf(out, cap, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
    } else {
      snprintf(out, cap, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
    }
  } else if (unit != NULL && strcmp(unit, "money") == 0) {
    snprintf(out, cap, "%.2f", x);
  } else {
    snprintf(out, cap, "%.0f", x);
  }
}

static const char *str(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s != NULL ? s : "";
}

/* "last time 55.0% (red): worse", or "first digest". */
static void change_text(const json_t *k, char *out, size_t cap) {
  const json_t *was = json_object_get(k, "was");
  char then[64];
  if (!json_is_object(was)) {
    snprintf(out, cap, "new since the last digest");
    return;
  }
  value_text(json_object_get(was, "value"), str(k, "unit"), then, sizeof then);
  snprintf(out, cap, "last digest %s (%s): %s", then, str(was, "status"),
           str(k, "change"));
}

/* One KPI in a few lines; bullet "" for text, "*" marks for Slack. */
static void kpi_lines(struct hk_buf *b, const json_t *k, int slack) {
  char target[64];
  char change[160];
  const char *status = str(k, "status");
  value_text(json_object_get(k, "target"), str(k, "unit"), target,
             sizeof target);
  change_text(k, change, sizeof change);
  if (slack) {
    ADDF(b, "%s *%s* %s (%s %s) · owner %s\n%s · target %s · %s", emoji(status),
         word(status), str(k, "name"), str(k, "of"), str(k, "part"),
         str(k, "owner"), str(k, "text"), target, change);
  } else {
    ADDF(b, "%-7s %s (%s %s), owner %s\n        %s; target %s; %s\n",
         word(status), str(k, "name"), str(k, "of"), str(k, "part"),
         str(k, "owner"), str(k, "text"), target, change);
  }
  if (strcmp(status, "red") == 0 || strcmp(status, "amber") == 0) {
    ADDF(b, slack ? "\n*Action plan:* %s" : "        action plan: %s\n",
         str(k, "action"));
  }
}

static void head_lines(struct hk_buf *b, const json_t *doc) {
  const json_t *c = json_object_get(doc, "counts");
  ADDF(b, "Weekly review %s, period from %s (%s, %s)\n", str(doc, "digest"),
       str(doc, "period"), str(doc, "schedule"), str(doc, "zone"));
  ADDF(b, "Overall %s: %s\n", word(str(doc, "status")), str(doc, "reason"));
  ADDF(b,
       "KPIs: %" JSON_INTEGER_FORMAT " red, %" JSON_INTEGER_FORMAT
       " amber, %" JSON_INTEGER_FORMAT " green, %" JSON_INTEGER_FORMAT
       " without data; figures computed at %s\n",
       json_integer_value(json_object_get(c, "red")),
       json_integer_value(json_object_get(c, "amber")),
       json_integer_value(json_object_get(c, "green")),
       json_integer_value(json_object_get(c, "unknown")),
       str(doc, "computed_at"));
}

char *hk_digest_text(const json_t *doc) {
  struct hk_buf b;
  size_t i;
  json_t *k;
  hk_buf_init(&b, 1u << 20);
  head_lines(&b, doc);
  ADDF(&b, "\n");
  json_array_foreach(json_object_get(doc, "kpis"), i, k) {
    kpi_lines(&b, k, 0);
  }
  if (json_array_size(json_object_get(doc, "kpis")) == 0) {
    ADDF(&b, "No KPI covers these handoffs and stages.\n");
  }
  return take(&b);
}

/* Block Kit: a header, the summary, then one section per KPI, reds first
 * (at most SLACK_KPIS; a last line says how many more). */
static json_t *slack_doc(const json_t *doc) {
  struct hk_buf b;
  json_t *blocks = json_array();
  size_t i;
  json_t *k;
  char title[160];
  char *summary;
  snprintf(title, sizeof title, "Weekly review: %s", str(doc, "digest"));
  json_array_append_new(blocks,
                        json_pack("{s:s,s:{s:s,s:s}}", "type", "header", "text",
                                  "type", "plain_text", "text", title));
  hk_buf_init(&b, TEXT_MAX);
  head_lines(&b, doc);
  summary = take(&b);
  json_array_append_new(blocks,
                        json_pack("{s:s,s:{s:s,s:s}}", "type", "section",
                                  "text", "type", "mrkdwn", "text", summary));
  json_array_append_new(blocks, json_pack("{s:s}", "type", "divider"));
  json_array_foreach(json_object_get(doc, "kpis"), i, k) {
    char *text;
    if (i == SLACK_KPIS) {
      char more[96];
      snprintf(more, sizeof more, "… and %zu more KPIs (handoffctl status)",
               json_array_size(json_object_get(doc, "kpis")) - i);
      json_array_append_new(blocks, json_pack("{s:s,s:[{s:s,s:s}]}", "type",
                                              "context", "elements", "type",
                                              "mrkdwn", "text", more));
      break;
    }
    hk_buf_init(&b, TEXT_MAX);
    kpi_lines(&b, k, 1);
    text = take(&b);
    json_array_append_new(blocks,
                          json_pack("{s:s,s:{s:s,s:s}}", "type", "section",
                                    "text", "type", "mrkdwn", "text", text));
    free(text);
  }
  {
    json_t *out = json_pack("{s:s,s:o}", "text", title, "blocks", blocks);
    free(summary);
    return out;
  }
}

static void header(struct hk_alert_request *r, const char *name,
                   const char *value) {
  size_t n = strlen(name) + strlen(value) + 3;
  r->headers[r->nheaders] = hk_xmalloc(n);
  snprintf(r->headers[r->nheaders++], n, "%s: %s", name, value);
}

enum hk_err hk_digest_request(const struct hk_notifier *n, const json_t *doc,
                              const char *id, int64_t now_ms,
                              struct hk_alert_request *out,
                              struct hk_error *err) {
  json_t *body;
  char now_text[HK_TIME_TEXT];
  memset(out, 0, sizeof *out);
  hk_time_format_ms(now_ms, now_text);
  if (n->url == NULL) {
    return hk_fail(err, HK_E_CONFIG, "notifier %s is disabled", n->name);
  }
  body = n->kind == HK_NOTIFIER_SLACK
             ? slack_doc(doc)
             : json_pack("{s:s,s:s,s:O}", "type", "handoff.digest", "timestamp",
                         now_text, "data", doc);
  out->body = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (out->body == NULL) {
    return hk_fail(err, HK_E_INTERNAL, "the digest does not encode");
  }
  out->body_len = strlen(out->body);
  out->url = hk_xstrdup(n->url);
  header(out, "Content-Type", "application/json");
  header(out, "User-Agent", "handoff/" HK_VERSION);
  if (n->kind != HK_NOTIFIER_SLACK) {
    char ts[24];
    char *sig = hk_sign_standard(&n->secret, id, now_ms / 1000, out->body,
                                 out->body_len);
    if (sig == NULL) {
      hk_alert_request_fini(out);
      return hk_fail(err, HK_E_CONFIG, "the secret of notifier %s cannot sign",
                     n->name);
    }
    snprintf(ts, sizeof ts, "%lld", (long long)(now_ms / 1000));
    header(out, "webhook-id", id);
    header(out, "webhook-timestamp", ts);
    header(out, "webhook-signature", sig);
    free(sig);
  }
  return HK_E_OK;
}
