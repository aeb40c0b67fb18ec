/*
 * query.c -- the inputs and outputs of the status API that need no Redis:
 * the clocks query and its cursor, percent-encoding of subjects, times and
 * the CLOCK object. Pure.
 *
 * A cursor is the position of the last clock of a page, as the listing
 * reads it: for the due index (open, at_risk) its score and member, for a
 * state index its member ("%013lld %s", start and subject). It travels as
 * base64url of "STATE\nSCORE\nMEMBER" (or "STATE\nMEMBER"), so a client
 * cannot tell one from the other, and a cursor made for another state is
 * refused rather than misread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/fcgi.h"

#define DEFAULT_LIMIT 100

/* ---------------------------------------------------------------------------
 * Percent-encoding
 * ------------------------------------------------------------------------- */

/* Decodes %XX escapes of s[0, len) into a new string; returns NULL on a
 * bad escape or an escaped NUL. '+' stays '+': these are paths and
 * values that never carry spaces. */
static char *unescape(const char *s, size_t len, size_t *out_len) {
  char *out = hk_xmalloc(len + 1);
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '%') {
      out[n++] = s[i];
      continue;
    }
    {
      int hi = i + 2 < len ? hk_hex_digit(s[i + 1]) : -1;
      int lo = hi >= 0 ? hk_hex_digit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        free(out);
        return NULL;
      }
      out[n++] = (char)(hi * 16 + lo);
      i += 2;
    }
  }
  out[n] = '\0';
  *out_len = n;
  return out;
}

enum hk_err hk_path_unescape(const char *s, size_t len, char **out,
                             struct hk_error *err) {
  size_t n = 0;
  char *text = unescape(s, len, &n);
  json_t *check;
  *out = NULL;
  if (text == NULL) {
    return hk_fail(err, HK_E_BAD_REQUEST,
                   "The path has a bad percent-escape: %% must be followed by "
                   "two hex digits, and %%00 is not allowed.");
  }
  if (n > HK_CAP_SUBJECT) {
    free(text);
    return hk_fail(err, HK_E_BAD_REQUEST,
                   "The subject is over %u bytes once decoded.",
                   HK_CAP_SUBJECT);
  }
  /* Subjects come from JSON payloads: they are UTF-8, and jansson checks
   * it when it makes a string. */
  check = json_stringn(text, n);
  if (check == NULL) {
    free(text);
    return hk_fail(err, HK_E_BAD_REQUEST,
                   "The subject is not UTF-8 once decoded.");
  }
  json_decref(check);
  *out = text;
  return HK_E_OK;
}

/* ---------------------------------------------------------------------------
 * base64url, without padding
 * ------------------------------------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(const unsigned char *p, size_t len) {
  char *out = hk_xmalloc(4 * (len / 3) + 5);
  size_t n = 0;
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
    out[n++] = b64[v >> 18];
    out[n++] = b64[(v >> 12) & 63];
    out[n++] = b64[(v >> 6) & 63];
    out[n++] = b64[v & 63];
  }
  if (len - i == 1) {
    unsigned v = (unsigned)p[i] << 16;
    out[n++] = b64[v >> 18];
    out[n++] = b64[(v >> 12) & 63];
  } else if (len - i == 2) {
    unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
    out[n++] = b64[v >> 18];
    out[n++] = b64[(v >> 12) & 63];
    out[n++] = b64[(v >> 6) & 63];
  }
  out[n] = '\0';
  return out;
}

static int b64_value(char c) {
  const char *p = c != '\0' ? strchr(b64, c) : NULL;
  return p != NULL ? (int)(p - b64) : -1;
}

/* Decodes s into a new NUL-terminated buffer; NULL when s is not
 * base64url (or decodes to a NUL). */
static char *b64_decode(const char *s, size_t *out_len) {
  size_t len = strlen(s);
  char *out;
  size_t n = 0;
  unsigned acc = 0;
  int bits = 0;
  if (len % 4 == 1) {
    return NULL;
  }
  out = hk_xmalloc(len + 1);
  for (size_t i = 0; i < len; i++) {
    int v = b64_value(s[i]);
    if (v < 0) {
      free(out);
      return NULL;
    }
    acc = (acc << 6 | (unsigned)v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n] = (char)((acc >> bits) & 0xff);
      if (out[n] == '\0') {
        free(out);
        return NULL;
      }
      n++;
    }
  }
  /* The bits left over must be zero, so each cursor has one spelling. */
  if ((acc & ((1u << bits) - 1)) != 0) {
    free(out);
    return NULL;
  }
  out[n] = '\0';
  *out_len = n;
  return out;
}

/* ---------------------------------------------------------------------------
 * The clocks query
 * ------------------------------------------------------------------------- */

int hk_clocks_query_by_due(enum hk_clock_state s) {
  return s == HK_CLOCK_OPEN || s == HK_CLOCK_AT_RISK;
}

char *hk_clocks_cursor(enum hk_clock_state state, int64_t score,
                       const char *member) {
  const char *name = hk_clock_state_name(state);
  size_t cap = strlen(name) + strlen(member) + 32;
  char *plain = hk_xmalloc(cap);
  char *out;
  if (hk_clocks_query_by_due(state)) {
    snprintf(plain, cap, "%s\n%" PRId64 "\n%s", name, score, member);
  } else {
    snprintf(plain, cap, "%s\n%s", name, member);
  }
  out = b64_encode((const unsigned char *)plain, strlen(plain));
  free(plain);
  return out;
}

/* Parses a decimal int64 of s[0, len) (an optional '-', then digits). */
static int parse_i64(const char *s, size_t len, int64_t *v) {
  int64_t x = 0;
  size_t i = 0;
  int neg = len > 0 && s[0] == '-';
  if (neg) {
    i++;
  }
  if (i == len || len - i > 18) {
    return -1;
  }
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    x = x * 10 + (s[i] - '0');
  }
  *v = neg ? -x : x;
  return 0;
}

/* 1 when m is a state index's member: 13 digits, a space, a subject. */
static int is_state_member(const char *m) {
  size_t i = 0;
  for (; i < 13; i++) {
    if (m[i] < '0' || m[i] > '9') {
      return 0;
    }
  }
  return m[13] == ' ' && m[14] != '\0';
}

/* Decodes text, the cursor= of a listing of state, into q. */
static enum hk_err decode_cursor(const char *text, struct hk_clocks_query *q,
                                 struct hk_error *err) {
  size_t len = 0;
  char *plain = strlen(text) <= HK_CAP_CURSOR ? b64_decode(text, &len) : NULL;
  const char *name = hk_clock_state_name(q->state);
  size_t nlen = strlen(name);
  const char *p;
  enum hk_err rc = HK_E_BAD_QUERY;

  if (plain == NULL || len <= nlen || strncmp(plain, name, nlen) != 0 ||
      plain[nlen] != '\n') {
    /* Not a cursor, or one of another state's listing. */
    goto done;
  }
  p = plain + nlen + 1;
  if (hk_clocks_query_by_due(q->state)) {
    const char *nl = strchr(p, '\n');
    if (nl == NULL || nl[1] == '\0' ||
        parse_i64(p, (size_t)(nl - p), &q->score) != 0) {
      goto done;
    }
    p = nl + 1;
  } else if (!is_state_member(p)) {
    goto done;
  }
  q->member = hk_xstrdup(p);
  rc = HK_E_OK;
done:
  free(plain);
  if (rc != HK_E_OK) {
    hk_fail(err, HK_E_BAD_QUERY,
            "cursor is not one this listing returned (state=%s); start "
            "again without it.",
            name);
  }
  return rc;
}

static enum hk_err parse_state(const char *v, struct hk_clocks_query *q,
                               struct hk_error *err) {
  for (int s = 0; s < HK_CLOCK_STATES; s++) {
    if (strcmp(v, hk_clock_state_name((enum hk_clock_state)s)) == 0) {
      q->state = (enum hk_clock_state)s;
      return HK_E_OK;
    }
  }
  return hk_fail(err, HK_E_BAD_QUERY,
                 "state must be one of open, at_risk, paused, breached, met, "
                 "met_late, cancelled.");
}

static enum hk_err parse_limit(const char *v, struct hk_clocks_query *q,
                               struct hk_error *err) {
  int64_t n = 0;
  if (*v == '-' || parse_i64(v, strlen(v), &n) != 0 || n < 1 ||
      n > (int64_t)HK_CAP_PAGE) {
    return hk_fail(err, HK_E_BAD_QUERY,
                   "limit must be a whole number from 1 to %u.", HK_CAP_PAGE);
  }
  q->limit = (size_t)n;
  return HK_E_OK;
}

enum hk_err hk_clocks_query_parse(const char *query,
                                  struct hk_clocks_query *out,
                                  struct hk_error *err) {
  /* The value of each parameter (decoded, owned); NULL when not given. */
  char *state = NULL;
  char *limit = NULL;
  char *cursor = NULL;
  const char *p = query != NULL ? query : "";
  enum hk_err rc = HK_E_OK;

  memset(out, 0, sizeof *out);
  out->state = HK_CLOCK_OPEN;
  out->limit = DEFAULT_LIMIT;
  while (rc == HK_E_OK && *p != '\0') {
    size_t len = strcspn(p, "&");
    const char *eq = memchr(p, '=', len);
    size_t klen = eq != NULL ? (size_t)(eq - p) : len;
    char **slot = NULL;
    if (len == 0) { /* "a=1&&b=2", or a trailing & */
      p++;
      continue;
    }
    if (klen == 5 && strncmp(p, "state", 5) == 0) {
      slot = &state;
    } else if (klen == 5 && strncmp(p, "limit", 5) == 0) {
      slot = &limit;
    } else if (klen == 6 && strncmp(p, "cursor", 6) == 0) {
      slot = &cursor;
    }
    if (slot == NULL) {
      char *name = unescape(p, klen, &klen);
      rc = hk_fail(err, HK_E_BAD_QUERY,
                   "%.64s is not a parameter of this listing: use state, "
                   "limit and cursor.",
                   name != NULL ? name : "a parameter");
      free(name);
    } else if (*slot != NULL) {
      rc = hk_fail(err, HK_E_BAD_QUERY, "%.*s is given more than once.",
                   (int)klen, p);
    } else {
      const char *v = eq != NULL ? eq + 1 : p + len;
      size_t vlen = (size_t)(p + len - v);
      *slot = unescape(v, vlen, &vlen);
      if (*slot == NULL) {
        rc = hk_fail(err, HK_E_BAD_QUERY,
                     "%.*s has a bad percent-escape: %% must be followed by "
                     "two hex digits.",
                     (int)klen, p);
      }
    }
    p += len;
  }
  if (rc == HK_E_OK && state != NULL) {
    rc = parse_state(state, out, err);
  }
  if (rc == HK_E_OK && limit != NULL) {
    rc = parse_limit(limit, out, err);
  }
  /* An empty cursor= is the first page, as no cursor is. */
  if (rc == HK_E_OK && cursor != NULL && *cursor != '\0') {
    rc = decode_cursor(cursor, out, err);
  }
  free(state);
  free(limit);
  free(cursor);
  if (rc != HK_E_OK) {
    hk_clocks_query_fini(out);
  }
  return rc;
}

void hk_clocks_query_fini(struct hk_clocks_query *q) {
  free(q->member);
  q->member = NULL;
}

/* ---------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------- */

json_t *hk_time_json(int64_t ms) {
  char buf[HK_TIME_TEXT];
  if (ms == 0 || ms == HK_NEVER) {
    return json_null();
  }
  hk_time_format_ms(ms, buf);
  return json_string(buf);
}

json_t *hk_clock_json(const char *subject, const struct hk_clock *c,
                      const char *mount) {
  json_t *o = json_object();
  json_object_set_new(o, "subject", json_string(subject));
  json_object_set_new(o, "state", json_string(hk_clock_state_name(c->state)));
  json_object_set_new(o, "started_at", hk_time_json(c->started_ms));
  json_object_set_new(o, "deadline", hk_time_json(c->deadline_ms));
  json_object_set_new(o, "stopped_at", hk_time_json(c->stopped_ms));
  json_object_set_new(o, "owner",
                      c->owner != NULL ? json_string(c->owner) : json_null());
  json_object_set_new(o, "missing",
                      c->missing != NULL ? json_deep_copy(c->missing)
                                         : json_array());
  if (mount != NULL) {
    char *esc = hk_path_escape(subject);
    size_t n = strlen(mount) + strlen(esc) + 16;
    char *path = hk_xmalloc(n);
    snprintf(path, n, "%sv1/subjects/%s", mount, esc);
    json_object_set_new(o, "link", json_string(path));
    free(path);
    free(esc);
  }
  return o;
}
