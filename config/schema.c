/*
 * schema.c -- the schema of the configuration file, as tables.
 *
 * Each section is a struct node (config_internal.h): the keys it may hold,
 * which are required, their defaults, and the small validators below. The
 * tables are read bottom-up: scalars, then the nodes built from them, then
 * the sections, then the root. docs/config.md is the prose of these tables:
 * change both together.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"

/* The most secrets one source may hold in rotation. */
#define MAX_SECRETS 8

/* ---------------------------------------------------------------------------
 * Small helpers for validators
 * ------------------------------------------------------------------------- */

static int all_in(const char *s, const char *set) {
  return s[strspn(s, set)] == '\0';
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"

/* [a-z0-9][a-z0-9_-]{0,63}: sources, stages, handoffs and the like. */
static int is_name(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= 64 && strchr(LOWER DIGIT, s[0]) != NULL &&
         all_in(s, LOWER DIGIT "_-");
}

/* [A-Za-z_][A-Za-z0-9_]{0,63}: attributes of journey events. */
static int is_attr(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= 64 && strchr(LOWER UPPER "_", s[0]) != NULL &&
         all_in(s, LOWER UPPER DIGIT "_");
}

/* A field path into a payload: "data.object.id"; segments are non-empty and
 * hold no space, dot or brace. "0" indexes an array. */
static int is_path(const char *s, size_t n) {
  size_t i;
  if (n == 0 || n > 256 || s[0] == '.' || s[n - 1] == '.') {
    return 0;
  }
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= ' ' || c >= 0x7f || c == '{' || c == '}' ||
        (c == '.' && s[i + 1] == '.')) {
      return 0;
    }
  }
  return 1;
}

/* A field path with fallbacks: "a | b | c", each alternative a path as
 * above (spaces around the bars are allowed), the whole at most
 * HK_CONFIG_PATH_SPEC_MAX bytes. One path alone is the common case. */
static int is_path_spec(const char *s, size_t n) {
  const char *end = s + n;
  int ok = n <= HK_CONFIG_PATH_SPEC_MAX;
  while (ok) {
    const char *bar = memchr(s, '|', (size_t)(end - s));
    const char *stop = bar != NULL ? bar : end;
    const char *a = s;
    const char *b = stop;
    while (a < b && *a == ' ') {
      a++;
    }
    while (b > a && b[-1] == ' ') {
      b--;
    }
    ok = is_path(a, (size_t)(b - a));
    if (bar == NULL) {
      break;
    }
    s = bar + 1;
  }
  return ok;
}

static int json_has(json_t *obj, const char *key) {
  return json_object_get(obj, key) != NULL;
}

int hk_config_duration(const char *s, int allow_negative, int64_t *ms) {
  int neg = allow_negative && s[0] == '-';
  if (hk_duration_parse(neg ? s + 1 : s, ms) != 0) {
    return 0;
  }
  if (neg) {
    *ms = -*ms;
  }
  return 1;
}

int hk_config_is_whsec(const char *s, size_t len) {
  size_t i;
  size_t pad = 0;
  if (len >= 6 && memcmp(s, "whsec_", 6) == 0) {
    s += 6;
    len -= 6;
  }
  if (len == 0 || len % 4 != 0) {
    return 0;
  }
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '=') {
      pad++;
    } else if (pad > 0 || !(isalnum(c) || c == '+' || c == '/')) {
      return 0;
    }
  }
  return pad <= 2;
}

/* ---------------------------------------------------------------------------
 * Validators of strings
 * ------------------------------------------------------------------------- */

static void key_name(struct walk *w, const char *key) {
  char q[160];
  if (!is_name(key)) {
    hk_config_errf(w, "%s is not a valid name: use [a-z0-9][a-z0-9_-]{0,63}",
                   hk_config_quote(q, sizeof q, key));
  }
}

static void key_attr(struct walk *w, const char *key) {
  char q[160];
  if (!is_attr(key)) {
    hk_config_errf(w,
                   "%s is not a valid attribute name: use "
                   "[A-Za-z_][A-Za-z0-9_]{0,63}",
                   hk_config_quote(q, sizeof q, key));
  }
}

static void key_path(struct walk *w, const char *key) {
  char q[160];
  if (!is_path_spec(key, strlen(key))) {
    hk_config_errf(w,
                   "%s is not a field path such as \"data.object.id\", or "
                   "paths joined by | such as \"a.id | b.id\"",
                   hk_config_quote(q, sizeof q, key));
  }
}

static void check_attr(struct walk *w, json_t *v) {
  key_attr(w, json_string_value(v));
}

static void check_path(struct walk *w, json_t *v) {
  key_path(w, json_string_value(v));
}

static void check_duration(struct walk *w, json_t *v) {
  int64_t ms;
  char q[160];
  if (!hk_config_duration(json_string_value(v), 0, &ms)) {
    hk_config_errf(w, "%s is not a duration such as 90s, 5m, 48h, 1h30m",
                   hk_config_quote(q, sizeof q, json_string_value(v)));
  } else if (ms == 0) {
    hk_config_errf(w, "must be longer than 0s");
  }
}

/* How long data is kept: a duration, or "0" (not kept once done with). */
static void check_keep(struct walk *w, json_t *v) {
  int64_t ms;
  char q[160];
  const char *s = json_string_value(v);
  if (strcmp(s, "0") != 0 && !hk_config_duration(s, 0, &ms)) {
    hk_config_errf(w, "%s is not \"0\" or a duration such as 3d, 12h, 90m",
                   hk_config_quote(q, sizeof q, s));
  }
}

/* The history's age: a duration of at least a day. */
static void check_history_keep(struct walk *w, json_t *v) {
  int64_t ms;
  char q[160];
  if (!hk_config_duration(json_string_value(v), 0, &ms)) {
    hk_config_errf(w, "%s is not a duration such as 400d, 90d",
                   hk_config_quote(q, sizeof q, json_string_value(v)));
  } else if (ms < (int64_t)86400 * 1000) {
    hk_config_errf(w, "must be at least 1d");
  }
}

static void check_offset(struct walk *w, json_t *v) {
  int64_t ms;
  char q[160];
  if (!hk_config_duration(json_string_value(v), 1, &ms)) {
    hk_config_errf(w, "%s is not a duration such as -90d, 1h30m, 0s",
                   hk_config_quote(q, sizeof q, json_string_value(v)));
  }
}

/* Event types are chosen by the operator: "lead.mql", "deal.won". */
static void check_event_type(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  char q[160];
  if (strlen(s) > 128 || !all_in(s, LOWER UPPER DIGIT "_.:-")) {
    hk_config_errf(w,
                   "%s is not an event type: use letters, digits and _ . : -",
                   hk_config_quote(q, sizeof q, s));
  }
}

/* "company:{data.object.metadata.hubspot_company_id}": literal text with
 * field paths in braces. */
static void check_template(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  const char *p = s;
  char q[160];
  while ((p = strpbrk(p, "{}")) != NULL) {
    const char *end = strchr(p, '}');
    if (*p == '}' || end == NULL ||
        !is_path_spec(p + 1, (size_t)(end - p - 1)) ||
        memchr(p + 1, '{', (size_t)(end - p - 1)) != NULL) {
      hk_config_errf(w,
                     "%s is not a template: put field paths in braces, as "
                     "in \"company:{data.company_id}\"",
                     hk_config_quote(q, sizeof q, s));
      return;
    }
    p = end + 1;
  }
}

static void check_env(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  char q[160];
  if (strchr(UPPER LOWER "_", s[0]) == NULL ||
      !all_in(s, UPPER LOWER DIGIT "_")) {
    hk_config_errf(w, "%s is not an environment variable name",
                   hk_config_quote(q, sizeof q, s));
  }
}

static void check_abs_path(struct walk *w, json_t *v) {
  if (json_string_value(v)[0] != '/') {
    hk_config_errf(w, "must be an absolute path");
  }
}

/* The value is not printed: a URL may carry a token. */
static int is_url(const char *s) {
  return (strncmp(s, "https://", 8) == 0 && s[8] != '\0') ||
         (strncmp(s, "http://", 7) == 0 && s[7] != '\0');
}

static void check_url(struct walk *w, json_t *v) {
  if (!is_url(json_string_value(v))) {
    hk_config_errf(w, "must be an http:// or https:// URL");
  }
}

/* api.mount: "/" or "/seg/…/", each segment of letters, digits and
 * "-._~" (never "." or ".." alone), at most 64 bytes in all. */
static void check_mount(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  size_t n = strlen(s);
  int ok = n >= 1 && n <= 64 && s[0] == '/' && s[n - 1] == '/' &&
           all_in(s, LOWER UPPER DIGIT "-._~/") && strstr(s, "//") == NULL &&
           strstr(s, "/./") == NULL && strstr(s, "/../") == NULL;
  if (!ok) {
    hk_config_errf(w, "must be \"/\" or a path such as \"/handoff/\": it "
                      "starts and ends with \"/\", and its segments are "
                      "letters, digits and -._~ (64 bytes at most)");
  }
}

static void check_header(struct walk *w, json_t *v) {
  char q[160];
  if (!all_in(json_string_value(v), LOWER UPPER DIGIT "-_")) {
    hk_config_errf(w, "%s is not an HTTP header name",
                   hk_config_quote(q, sizeof q, json_string_value(v)));
  }
}

static void check_host(struct walk *w, json_t *v) {
  if (!all_in(json_string_value(v), LOWER UPPER DIGIT ".-_:")) {
    hk_config_errf(w, "must be a host name or an IP address");
  }
}

static void check_prefix(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  for (; *s != '\0'; s++) {
    if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) {
      hk_config_errf(w, "must hold printable characters and no spaces");
      return;
    }
  }
}

static void check_currency(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  if (strlen(s) != 3 || !all_in(s, UPPER)) {
    hk_config_errf(w, "must be an ISO 4217 code such as \"EUR\"");
  }
}

/* An IANA zone that the system's zoneinfo knows ($TZDIR overrides). */
static void check_timezone(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  const char *dir = getenv("TZDIR");
  char file[512];
  char q[160];
  if (dir == NULL || dir[0] == '\0') {
    dir = "/usr/share/zoneinfo";
  }
  if (s[0] == '/' || strstr(s, "..") != NULL ||
      !all_in(s, LOWER UPPER DIGIT "/_+-") ||
      (size_t)snprintf(file, sizeof file, "%s/%s", dir, s) >= sizeof file ||
      access(file, R_OK) != 0) {
    hk_config_errf(w, "%s is not a time zone known to %s",
                   hk_config_quote(q, sizeof q, s), dir);
  }
}

static void check_date(struct walk *w, json_t *v) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const char *s = json_string_value(v);
  int y = 0, m = 0, d = 0;
  char q[160];
  int ok = strlen(s) == 10 && s[4] == '-' && s[7] == '-' &&
           sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3 && all_in(s, DIGIT "-") &&
           m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1];
  if (ok && m == 2 && d == 29) {
    ok = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  }
  if (!ok) {
    hk_config_errf(w, "%s is not a date YYYY-MM-DD",
                   hk_config_quote(q, sizeof q, s));
  }
}

/* "HH:MM" from 00:00 to 24:00, as minutes; -1 when malformed. */
static int hhmm(const char *s) {
  int h;
  int m;
  if (strlen(s) != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) ||
      !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[3]) ||
      !isdigit((unsigned char)s[4])) {
    return -1;
  }
  h = (s[0] - '0') * 10 + (s[1] - '0');
  m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) {
    return -1;
  }
  return h * 60 + m;
}

static void check_hhmm(struct walk *w, json_t *v) {
  char q[160];
  if (hhmm(json_string_value(v)) < 0) {
    hk_config_errf(w, "%s is not a time HH:MM",
                   hk_config_quote(q, sizeof q, json_string_value(v)));
  }
}

/* A digest's schedule: "Mon 09:00", a day of the week (Mon … Sun) and a
 * time of day in the zone of its calendar. */
static void check_schedule(struct walk *w, json_t *v) {
  static const char *const days[] = {"Mon", "Tue", "Wed", "Thu",
                                     "Fri", "Sat", "Sun"};
  const char *s = json_string_value(v);
  char q[160];
  int day = 0;
  for (size_t i = 0; i < 7 && strlen(s) == 9 && s[3] == ' '; i++) {
    day |= strncmp(s, days[i], 3) == 0;
  }
  if (!day || hhmm(s + 4) < 0 || hhmm(s + 4) >= 24 * 60) {
    hk_config_errf(w,
                   "%s is not a schedule: a day Mon … Sun, a space and a "
                   "time HH:MM, as \"Mon 09:00\"",
                   hk_config_quote(q, sizeof q, s));
  }
}

/* ["09:00", "17:00"]; an end before the start runs across midnight. */
static void check_range(struct walk *w, json_t *v) {
  int from;
  int to;
  if (json_array_size(v) != 2) {
    hk_config_errf(w, "must be a pair [\"HH:MM\", \"HH:MM\"]");
    return;
  }
  from = hhmm(json_string_value(json_array_get(v, 0)));
  to = hhmm(json_string_value(json_array_get(v, 1)));
  if (from == 24 * 60) {
    hk_config_errf(w, "a range cannot start at 24:00");
  } else if (from == to) {
    hk_config_errf(w, "the range is empty");
  }
}

static void check_warn_at(struct walk *w, json_t *v) {
  double x = json_number_value(v);
  if (!(x > 0.0 && x < 1.0)) {
    hk_config_errf(w, "must be a share between 0 and 1, such as 0.8");
  }
}

/* A share of Redis's maxmemory; 1 refuses only where Redis would. */
static void check_memory_guard(struct walk *w, json_t *v) {
  double x = json_number_value(v);
  if (!(x > 0.0 && x <= 1.0)) {
    hk_config_errf(w, "must be a share above 0 and at most 1, such as 0.9");
  }
}

static void check_scale(struct walk *w, json_t *v) {
  if (json_number_value(v) == 0.0) {
    hk_config_errf(w, "must not be 0");
  }
}

/* Presets ship with the mapping, named "<provider>" (all of its rules) or
 * "<provider>.<rule>"; this checks the provider and the shape. */
static const char *const providers[] = {"stripe",    "hubspot",   "paddle",
                                        "pipedrive", "chargebee", NULL};

static int preset_ok(const char *s, int need_rule) {
  const char *dot = strchr(s, '.');
  size_t plen = dot != NULL ? (size_t)(dot - s) : strlen(s);
  size_t i;
  if ((dot == NULL && need_rule) || (dot != NULL && !is_name(dot + 1))) {
    return 0;
  }
  for (i = 0; providers[i] != NULL; i++) {
    if (strlen(providers[i]) == plen && strncmp(providers[i], s, plen) == 0) {
      return 1;
    }
  }
  return 0;
}

static void check_preset(struct walk *w, json_t *v) {
  char q[160];
  if (!preset_ok(json_string_value(v), 0)) {
    hk_config_errf(w,
                   "%s is not a preset: use a provider (stripe, hubspot, "
                   "paddle, pipedrive, chargebee) or provider.rule",
                   hk_config_quote(q, sizeof q, json_string_value(v)));
  }
}

static void check_extends(struct walk *w, json_t *v) {
  char q[160];
  if (!preset_ok(json_string_value(v), 1)) {
    hk_config_errf(w, "%s is not a preset rule such as \"stripe.invoice_paid\"",
                   hk_config_quote(q, sizeof q, json_string_value(v)));
  }
}

/* ---------------------------------------------------------------------------
 * Validators of objects and arrays (they run once the children are clean)
 * ------------------------------------------------------------------------- */

/* Exactly one of a and b among the keys of obj; reports and returns 0. */
static int one_of_keys(struct walk *w, json_t *obj, const char *a,
                       const char *b) {
  int n = json_has(obj, a) + json_has(obj, b);
  if (n != 1) {
    hk_config_errf(w, "needs exactly one of \"%s\" and \"%s\"", a, b);
  }
  return n == 1;
}

static void check_ref(struct walk *w, json_t *v) {
  one_of_keys(w, v, "env", "file");
}

static void check_secret(struct walk *w, json_t *v) {
  if (json_is_object(v)) {
    check_ref(w, v);
  } else if (json_array_size(v) > MAX_SECRETS) {
    hk_config_errf(w, "holds more than %d secrets", MAX_SECRETS);
  }
}

static void check_url_or_ref(struct walk *w, json_t *v) {
  if (json_is_string(v)) {
    check_url(w, v);
  } else {
    check_ref(w, v);
  }
}

static void check_redis(struct walk *w, json_t *v) {
  if (json_has(v, "unix") && json_has(v, "host")) {
    hk_config_errf(w, "set \"host\" or \"unix\", not both");
  }
  if (json_has(v, "sentinel") && (json_has(v, "unix") || json_has(v, "host"))) {
    hk_config_errf(w, "set \"sentinel\" or \"host\"/\"unix\", not both");
  }
}

/* "host:port" or "[v6]:port" of a sentinel. */
static void check_node(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  const char *colon = strrchr(s, ':');
  char *end = NULL;
  long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
  size_t hlen = colon != NULL ? (size_t)(colon - s) : 0;
  if (colon == NULL || end == colon + 1 || *end != '\0' || port < 1 ||
      port > 65535 || hlen == 0 ||
      (s[0] == '[' ? s[hlen - 1] != ']' : memchr(s, ':', hlen) != NULL) ||
      !all_in(s, LOWER UPPER DIGIT ".-_:[]")) {
    hk_config_errf(w, "must be \"host:port\" such as \"10.0.0.5:26379\"");
  }
}

static void check_nodes(struct walk *w, json_t *v) {
  if (json_array_size(v) > 16) {
    hk_config_errf(w, "holds more than 16 sentinels");
  }
}

static void check_tokens(struct walk *w, json_t *v) {
  size_t i;
  size_t j;
  char q[160];
  for (i = 0; i < json_array_size(v); i++) {
    const char *a =
        json_string_value(json_object_get(json_array_get(v, i), "name"));
    for (j = 0; j < i; j++) {
      const char *b =
          json_string_value(json_object_get(json_array_get(v, j), "name"));
      if (strcmp(a, b) == 0) {
        size_t mark = hk_config_path_index(w, i);
        hk_config_errf(w, "token name %s is used twice",
                       hk_config_quote(q, sizeof q, a));
        hk_config_path_pop(w, mark);
        break;
      }
    }
  }
}

/* Kinds of source, in the order of enum hk_source_kind, with the keys only
 * that kind takes, the one it requires and its defaults. */
const char *const hk_config_kind_names[] = {"standard-webhooks",
                                            "stripe",
                                            "hubspot",
                                            "paddle",
                                            "hmac",
                                            "basic",
                                            "token",
                                            NULL};

static const struct {
  const char *keys; /* space-separated; each surrounded by spaces */
  const char *required;
  const char *defaults;
} kinds[] = {
    {"", NULL, NULL},
    {"", NULL, NULL},
    {" public_url signature_versions ", "public_url",
     "{\"signature_versions\": [\"v3\"]}"},
    {"", NULL, NULL},
    {" header hash encoding prefix ", "header",
     "{\"hash\": \"sha256\", \"encoding\": \"hex\", \"prefix\": \"\"}"},
    {"", NULL, NULL},
    {" header prefix ", "header", "{\"prefix\": \"\"}"},
};

static const char *const kind_keys = " public_url signature_versions header "
                                     "hash encoding prefix ";

static void check_source(struct walk *w, json_t *v) {
  const char *kind = json_string_value(json_object_get(v, "kind"));
  const char *key;
  json_t *val;
  size_t k;
  int bad = 0;
  char pat[64];
  for (k = 0; hk_config_kind_names[k] != NULL; k++) {
    if (strcmp(hk_config_kind_names[k], kind) == 0) {
      break;
    }
  }
  json_object_foreach(v, key, val) {
    (void)snprintf(pat, sizeof pat, " %s ", key);
    if (strstr(kind_keys, pat) != NULL && strstr(kinds[k].keys, pat) == NULL) {
      hk_config_errf(w, "key \"%s\" does not apply to kind \"%s\"", key, kind);
      bad = 1;
    }
  }
  if (kinds[k].required != NULL && !json_has(v, kinds[k].required)) {
    hk_config_errf(w, "kind \"%s\" requires key \"%s\"", kind,
                   kinds[k].required);
    bad = 1;
  }
  if (!bad && kinds[k].defaults != NULL) {
    json_t *def = json_loads(kinds[k].defaults, 0, NULL);
    json_object_update_missing(v, def);
    json_decref(def);
  }
}

static void check_match(struct walk *w, json_t *v) {
  if (json_is_object(v) && json_object_size(v) == 0) {
    hk_config_errf(w, "needs one of equals, one_of, exists, changed_from, "
                      "changed_to");
  }
}

static void check_value(struct walk *w, json_t *v) {
  int n;
  if (!json_is_object(v)) {
    return;
  }
  n = json_has(v, "path") + json_has(v, "template") + json_has(v, "value");
  if (n != 1) {
    hk_config_errf(w, "needs exactly one of \"path\", \"template\", \"value\"");
  } else if (json_has(v, "scale") && !json_has(v, "path")) {
    hk_config_errf(w, "\"scale\" applies to a \"path\" only");
  }
}

static void check_template_spec(struct walk *w, json_t *v) {
  if (json_is_string(v)) {
    check_template(w, v);
  } else {
    check_value(w, v);
  }
}

static void check_attr_spec(struct walk *w, json_t *v) {
  if (json_is_string(v)) {
    check_path(w, v);
  } else {
    check_value(w, v);
  }
}

static void check_at(struct walk *w, json_t *v) {
  if (json_is_string(v)) {
    check_path(w, v);
  }
}

static void check_rule(struct walk *w, json_t *v) {
  if (!json_has(v, "extends")) {
    if (!json_has(v, "type")) {
      hk_config_errf(w, "missing required key \"type\" (or \"extends\")");
    }
    if (!json_has(v, "subject")) {
      hk_config_errf(w, "missing required key \"subject\" (or \"extends\")");
    }
  }
}

static void check_sla(struct walk *w, json_t *v) {
  one_of_keys(w, v, "within", "deadline");
}

static void check_goal(struct walk *w, json_t *v) {
  one_of_keys(w, v, "within", "offset");
}

static void check_handoff(struct walk *w, json_t *v) {
  json_t *sla = json_object_get(v, "sla");
  json_t *goals = json_object_get(v, "goals");
  const char *want = json_has(sla, "within") ? "within" : "offset";
  size_t i;
  json_t *g;
  if (json_has(v, "pause") != json_has(v, "resume")) {
    hk_config_errf(w, "\"pause\" and \"resume\" go together");
  }
  json_array_foreach(goals, i, g) {
    if (!json_has(g, want)) {
      size_t mark = hk_config_path_key(w, "goals");
      hk_config_path_index(w, i);
      hk_config_errf(w, "a goal of an sla.%s gives \"%s\"",
                     json_has(sla, "within") ? "within" : "deadline", want);
      hk_config_path_pop(w, mark);
    }
  }
}

static void check_notifier(struct walk *w, json_t *v) {
  const char *kind = json_string_value(json_object_get(v, "kind"));
  int slack = strcmp(kind, "slack") == 0;
  if (slack && json_is_string(json_object_get(v, "url"))) {
    hk_config_errf(w, "a Slack webhook URL is a secret: give "
                      "\"url\": {\"env\": ...} or {\"file\": ...}");
  }
  if (slack && json_has(v, "secret")) {
    hk_config_errf(w, "key \"secret\" does not apply to kind \"slack\"");
  }
  if (!slack && !json_has(v, "secret")) {
    hk_config_errf(w, "kind \"webhook\" requires key \"secret\"");
  }
}

/* ---------------------------------------------------------------------------
 * The owners directory and the escalation ladders
 * ------------------------------------------------------------------------- */

/* The systems whose ids an owner may carry: the providers that name owners
 * by their own ids. journey/map.c resolves an event's owner by the
 * provider's name. */
static const char *const owner_systems[] = {"pipedrive", "hubspot",
                                            "salesforce", NULL};

/* A Slack member id (U…, W…) or a handle (@name). */
static void check_slack(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  size_t n = strlen(s);
  int member = n >= 3 && n <= 32 && (s[0] == 'U' || s[0] == 'W') &&
               all_in(s, UPPER DIGIT);
  int handle = n >= 2 && n <= 80 && s[0] == '@' &&
               all_in(s + 1, LOWER UPPER DIGIT "._-");
  if (!member && !handle) {
    hk_config_errf(w, "must be a Slack member id (U…, W…) or a handle (@name)");
  }
}

static void check_email(struct walk *w, json_t *v) {
  const char *s = json_string_value(v);
  const char *at = strchr(s, '@');
  if (at == NULL || at == s || strchr(at + 1, '.') == NULL ||
      strchr(s, ' ') != NULL || strlen(s) > 254) {
    hk_config_errf(w, "must be an email address");
  }
}

static void check_owner_id(struct walk *w, json_t *v) {
  if (json_is_string(v) &&
      (json_string_length(v) == 0 || json_string_length(v) > 64)) {
    hk_config_errf(w, "must be 1 to 64 characters");
  }
}

/* The id as text ("9001" for 9001): how the mapper compares them. */
static const char *owner_id_text(json_t *v, char *buf, size_t cap) {
  if (json_is_integer(v)) {
    snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return buf;
  }
  return json_string_value(v);
}

/* Every id of one system is one owner's, and no owner is their own
 * manager, directly or up the chain. */
static void check_owners(struct walk *w, json_t *v) {
  const char *a;
  const char *b;
  json_t *oa;
  json_t *ob;
  char ta[32];
  char tb[32];
  json_object_foreach(v, a, oa) {
    const char *m = json_string_value(json_object_get(oa, "manager"));
    size_t hops = 0;
    while (m != NULL && strcmp(m, a) != 0 && hops++ <= json_object_size(v)) {
      m = json_string_value(json_object_get(json_object_get(v, m), "manager"));
    }
    if (m != NULL && strcmp(m, a) == 0) {
      hk_config_errf(w, "owner \"%s\" is their own manager", a);
    }
    for (size_t s = 0; owner_systems[s] != NULL; s++) {
      json_t *ia =
          json_object_get(json_object_get(oa, "ids"), owner_systems[s]);
      json_t *ea = json_is_array(ia) ? ia : json_pack("[O]", ia);
      size_t i;
      json_t *x;
      json_array_foreach(ea, i, x) {
        json_object_foreach(v, b, ob) {
          json_t *ib =
              json_object_get(json_object_get(ob, "ids"), owner_systems[s]);
          json_t *eb = json_is_array(ib) ? ib : json_pack("[O]", ib);
          size_t j;
          json_t *y;
          json_array_foreach(eb, j, y) {
            const char *xa = owner_id_text(x, ta, sizeof ta);
            const char *yb = owner_id_text(y, tb, sizeof tb);
            if (strcmp(a, b) < 0 && xa != NULL && yb != NULL &&
                strcmp(xa, yb) == 0) {
              hk_config_errf(w,
                             "%s id \"%s\" belongs to both \"%s\" and \"%s\"",
                             owner_systems[s], xa, a, b);
            }
          }
          if (eb != ib) { /* made here; ib is borrowed */
            json_decref(eb);
          }
        }
      }
      if (ea != ia) {
        json_decref(ea);
      }
    }
  }
}

/* A step's recipient: "owner", "manager" (the clock owner's), or a person
 * or team of $.owners. */
static void check_recipient(struct walk *w, json_t *v) {
  char q[160];
  const char *s = json_string_value(v);
  if (strcmp(s, "owner") != 0 && strcmp(s, "manager") != 0 &&
      json_object_get(json_object_get(w->root, "owners"), s) == NULL) {
    hk_config_errf(w, "%s is not \"owner\", \"manager\" or defined in $.owners",
                   hk_config_quote(q, sizeof q, s));
  }
}

/* The steps go in the order they fire: at_risk before breached, and within
 * a state by `after`. */
static void check_ladder(struct walk *w, json_t *v) {
  int64_t prev_after = -1;
  int prev_state = -1;
  size_t i;
  json_t *step;
  if (json_array_size(v) > HK_CAP_LADDER_STEPS) {
    hk_config_errf(w, "holds more than %u steps", HK_CAP_LADDER_STEPS);
  }
  json_array_foreach(v, i, step) {
    const char *st = json_string_value(json_object_get(step, "state"));
    const char *af = json_string_value(json_object_get(step, "after"));
    int state = st != NULL && strcmp(st, "breached") == 0;
    int64_t after = 0;
    if (st == NULL || (af != NULL && !hk_config_duration(af, 0, &after))) {
      return; /* reported by the step's own fields */
    }
    if (state < prev_state || (state == prev_state && after < prev_after)) {
      hk_config_errf(w,
                     "step %zu comes before step %zu: order the steps "
                     "at_risk then breached, each by \"after\"",
                     i, i - 1);
    }
    prev_state = state;
    prev_after = after;
  }
}

/* A dimension of group_by: "owner" and "source" take their values from
 * the owners directory and the sources; an attribute lists its values, so
 * what is stored per value stays bounded whatever senders send. */
static void check_group(struct walk *w, json_t *v) {
  const char *key;
  json_t *spec;
  json_object_foreach(v, key, spec) {
    int builtin = strcmp(key, "owner") == 0 || strcmp(key, "source") == 0;
    if (builtin && json_has(spec, "values")) {
      hk_config_errf(w,
                     "dimension \"%s\" takes its values from $.%s: "
                     "leave \"values\" out",
                     key, strcmp(key, "owner") == 0 ? "owners" : "sources");
    } else if (!builtin && !json_has(spec, "values")) {
      hk_config_errf(w,
                     "dimension \"%s\" is an attribute: list its "
                     "\"values\" (the others count as \"other\")",
                     key);
    }
  }
  if (json_object_size(v) > HK_CAP_GROUP_DIMENSIONS) {
    hk_config_errf(w, "holds more than %u dimensions", HK_CAP_GROUP_DIMENSIONS);
  }
}

static void check_group_values(struct walk *w, json_t *v) {
  if (json_array_size(v) > HK_CAP_GROUP_VALUES) {
    hk_config_errf(w, "holds more than %u values", HK_CAP_GROUP_VALUES);
  }
}

/* What each KPI metric measures, so its target can be checked. */
enum unit { U_SHARE, U_DURATION, U_COUNT, U_AMOUNT };

static const struct {
  const char *name;
  const char *on; /* "handoff" or "stage" */
  enum unit unit;
  int lower_is_better;
} metrics[] = {
    {"attainment", "handoff", U_SHARE, 0},
    {"incomplete_rate", "handoff", U_SHARE, 1},
    {"p50_response", "handoff", U_DURATION, 1},
    {"p90_response", "handoff", U_DURATION, 1},
    {"breached_open", "handoff", U_COUNT, 1},
    {"at_risk_open", "handoff", U_COUNT, 1},
    {"conversion", "stage", U_SHARE, 0},
    {"median_time_in_stage", "stage", U_DURATION, 1},
    {"revenue", "stage", U_AMOUNT, 0},
    {"entered", "stage", U_COUNT, 0},
};

static const char *const metric_names[] = {"attainment",
                                           "incomplete_rate",
                                           "p50_response",
                                           "p90_response",
                                           "breached_open",
                                           "at_risk_open",
                                           "conversion",
                                           "median_time_in_stage",
                                           "revenue",
                                           "entered",
                                           NULL};

/* A threshold as a number (durations in milliseconds); reports and
 * returns 0 when it does not fit the unit. */
static int threshold(struct walk *w, json_t *kpi, const char *key,
                     enum unit unit, double *out) {
  json_t *v = json_object_get(kpi, key);
  size_t mark = hk_config_path_key(w, key);
  int64_t ms = 0;
  int ok = 1;
  if (unit == U_DURATION) {
    ok = json_is_string(v) && hk_config_duration(json_string_value(v), 0, &ms);
    *out = (double)ms;
    if (!ok) {
      hk_config_errf(w, "this metric takes a duration such as \"5m\"");
    }
  } else {
    ok = json_is_number(v) && json_number_value(v) >= 0;
    *out = json_number_value(v);
    if (!ok) {
      hk_config_errf(w, "this metric takes a number of 0 or more");
    } else if (unit == U_SHARE && *out > 1) {
      hk_config_errf(w, "this metric is a share: 0 to 1, such as 0.95");
      ok = 0;
    }
  }
  hk_config_path_pop(w, mark);
  return ok;
}

static void check_kpi(struct walk *w, json_t *v) {
  const char *metric = json_string_value(json_object_get(v, "metric"));
  double t;
  double a;
  double r;
  size_t i;
  for (i = 0; strcmp(metrics[i].name, metric) != 0; i++) {
  }
  if (!one_of_keys(w, v, "handoff", "stage")) {
    return;
  }
  if (!json_has(v, metrics[i].on)) {
    hk_config_errf(w, "metric \"%s\" is measured on a %s", metric,
                   metrics[i].on);
    return;
  }
  if (metrics[i].unit == U_AMOUNT && !json_has(v, "currency")) {
    hk_config_errf(w, "metric \"revenue\" requires key \"currency\"");
  }
  /* All three are checked, so every bad threshold is reported. */
  int ok_t = threshold(w, v, "target", metrics[i].unit, &t);
  int ok_a = threshold(w, v, "amber", metrics[i].unit, &a);
  int ok_r = threshold(w, v, "red", metrics[i].unit, &r);
  if (!ok_t || !ok_a || !ok_r) {
    return;
  }
  if (metrics[i].lower_is_better ? !(t <= a && a <= r) : !(t >= a && a >= r)) {
    hk_config_errf(w, "for \"%s\" %s is better, so target %s amber %s red",
                   metric, metrics[i].lower_is_better ? "lower" : "higher",
                   metrics[i].lower_is_better ? "<=" : ">=",
                   metrics[i].lower_is_better ? "<=" : ">=");
  }
}

/* ---------------------------------------------------------------------------
 * The tables
 * ------------------------------------------------------------------------- */

static const struct node n_text = {.types = T_STRING};
static const struct node n_word = {.types = T_STRING, .flags = N_NONEMPTY};
static const struct node n_bool = {.types = T_BOOL};
static const struct node n_scalar = {.types = T_SCALAR};
static const struct node n_scalars = {
    .types = T_ARRAY, .flags = N_NONEMPTY, .items = &n_scalar};
static const struct node n_duration = {.types = T_STRING,
                                       .check = check_duration};
static const struct node n_offset = {.types = T_STRING, .check = check_offset};
static const struct node n_keep = {.types = T_STRING, .check = check_keep};
static const struct node n_attr = {.types = T_STRING, .check = check_attr};
static const struct node n_attrs = {.types = T_ARRAY, .items = &n_attr};
static const struct node n_path = {.types = T_STRING, .check = check_path};
static const struct node n_template = {.types = T_STRING,
                                       .check = check_template};
static const struct node n_event_type = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_event_type};
static const struct node n_event_types = {
    .types = T_ARRAY, .flags = N_NONEMPTY, .items = &n_event_type};
static const struct node n_env = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_env};
static const struct node n_file = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_abs_path};
static const struct node n_url = {.types = T_STRING, .check = check_url};
static const struct node n_header = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_header};
static const struct node n_stage_ref = {.types = T_STRING, .ref = "stages"};
static const struct node n_handoff_ref = {.types = T_STRING, .ref = "handoffs"};
static const struct node n_source_ref = {.types = T_STRING, .ref = "sources"};
static const struct node n_calendar_ref = {.types = T_STRING,
                                           .ref = "calendars"};
static const struct node n_notifier_ref = {.types = T_STRING,
                                           .ref = "notifiers"};
static const struct node n_notifier_refs = {.types = T_ARRAY,
                                            .items = &n_notifier_ref};

/* Secret references: {"env": "NAME"} or {"file": "/path"}. */
static const struct field f_ref[] = {
    {"env", &n_env, 0, NULL},
    {"file", &n_file, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_ref = {
    .types = T_OBJECT, .fields = f_ref, .check = check_ref};
/* Sources' and notifiers' references may be optional: when unset, the
 * secret is left out, and a source or notifier left without one is
 * disabled. */
static const struct field f_opt_ref[] = {
    {"env", &n_env, 0, NULL},
    {"file", &n_file, 0, NULL},
    {"optional", &n_bool, 0, "false"},
    {NULL, NULL, 0, NULL},
};
static const struct node n_opt_ref = {
    .types = T_OBJECT, .fields = f_opt_ref, .check = check_ref};
static const struct node n_secret = {.types = T_OBJECT | T_ARRAY,
                                     .flags = N_NONEMPTY,
                                     .fields = f_opt_ref,
                                     .items = &n_opt_ref,
                                     .check = check_secret};
static const struct node n_url_or_ref = {.types = T_STRING | T_OBJECT,
                                         .fields = f_opt_ref,
                                         .check = check_url_or_ref};

/* $.redis */
static const struct node n_port = {.types = T_INT, .min = 1, .max = 65535};
static const struct node n_db = {.types = T_INT, .min = 0, .max = 1000000};
static const struct node n_host = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_host};
static const struct node n_prefix = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_prefix};
static const struct node n_node = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_node};
static const struct node n_nodes = {.types = T_ARRAY,
                                    .flags = N_NONEMPTY,
                                    .items = &n_node,
                                    .check = check_nodes};
static const struct node n_master = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_host};
static const struct field f_sentinel[] = {
    {"master", &n_master, F_REQUIRED, NULL},
    {"nodes", &n_nodes, F_REQUIRED, NULL},
    {"password", &n_ref, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_sentinel = {.types = T_OBJECT, .fields = f_sentinel};
static const struct node n_acked = {.types = T_INT, .min = 0, .max = 16};
static const struct node n_memory_guard = {.types = T_NUMBER,
                                           .check = check_memory_guard};
static const struct field f_redis[] = {
    {"host", &n_host, 0, NULL},
    {"port", &n_port, 0, "6379"},
    {"unix", &n_file, 0, NULL},
    {"password", &n_ref, 0, NULL},
    {"db", &n_db, 0, "0"},
    {"prefix", &n_prefix, 0, "\"handoff:\""},
    {"connect_timeout", &n_duration, 0, "\"500ms\""},
    {"timeout", &n_duration, 0, "\"2s\""},
    {"sentinel", &n_sentinel, 0, NULL},
    {"min_replicas_acked", &n_acked, 0, NULL},
    {"wait_timeout", &n_duration, 0, "\"1s\""},
    {"memory_guard", &n_memory_guard, 0, "0.9"},
    {NULL, NULL, 0, NULL},
};
static const struct node n_redis = {
    .types = T_OBJECT, .fields = f_redis, .check = check_redis};

/* $.intake */
static const struct node n_body = {
    .types = T_INT, .min = 1, .max = (long long)HK_CAP_BODY_MAX};
static const struct field f_intake[] = {
    {"max_body_bytes", &n_body, 0, "1048576"},
    {"retry_after", &n_duration, 0, "\"5s\""},
    {"dedupe_ttl", &n_duration, 0, "\"7d\""},
    {"stall_amber", &n_duration, 0, "\"30s\""},
    {"stall_red", &n_duration, 0, "\"2m\""},
    {"keep", &n_keep, 0, "\"3d\""},
    {NULL, NULL, 0, NULL},
};
static void check_intake(struct walk *w, json_t *v) {
  int64_t amber = 0;
  int64_t red = 0;
  if (hk_config_duration(json_string_value(json_object_get(v, "stall_amber")),
                         0, &amber) &&
      hk_config_duration(json_string_value(json_object_get(v, "stall_red")), 0,
                         &red) &&
      red < amber) {
    hk_config_errf(w, "\"stall_red\" must not be shorter than \"stall_amber\"");
  }
}
static const struct node n_intake = {
    .types = T_OBJECT, .fields = f_intake, .check = check_intake};

/* $.history */
static const struct node n_history_keep = {.types = T_STRING,
                                           .check = check_history_keep};
static const struct field f_history[] = {
    {"keep", &n_history_keep, 0, "\"400d\""},
    {NULL, NULL, 0, NULL},
};
static const struct node n_history = {.types = T_OBJECT, .fields = f_history};

/* $.dlq */
static const struct field f_dlq[] = {
    {"keep", &n_keep, 0, "\"30d\""},
    {NULL, NULL, 0, NULL},
};
static const struct node n_dlq = {.types = T_OBJECT, .fields = f_dlq};

/* $.sources.NAME */
static const char *const hashes[] = {"sha256", "sha1", NULL};
static const char *const encodings[] = {"hex", "base64", NULL};
static const char *const hubspot_versions[] = {"v1", "v2", "v3", NULL};
static const struct node n_hash = {.types = T_STRING, .oneof = hashes};
static const struct node n_encoding = {.types = T_STRING, .oneof = encodings};
static const struct node n_hubspot_version = {.types = T_STRING,
                                              .oneof = hubspot_versions};
static const struct node n_hubspot_versions = {
    .types = T_ARRAY, .flags = N_NONEMPTY, .items = &n_hubspot_version};
static const struct node n_kind = {.types = T_STRING,
                                   .oneof = hk_config_kind_names};
static const struct node n_preset = {.types = T_STRING, .check = check_preset};
static const struct node n_presets = {.types = T_ARRAY, .items = &n_preset};
static const struct field f_source[] = {
    {"description", &n_text, 0, NULL},
    {"kind", &n_kind, F_REQUIRED, NULL},
    {"secret", &n_secret, F_REQUIRED, NULL},
    {"tolerance", &n_duration, 0, "\"5m\""},
    {"presets", &n_presets, 0, "[]"},
    {"public_url", &n_url, 0, NULL},
    {"signature_versions", &n_hubspot_versions, 0, NULL},
    {"header", &n_header, 0, NULL},
    {"hash", &n_hash, 0, NULL},
    {"encoding", &n_encoding, 0, NULL},
    {"prefix", &n_text, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_source = {
    .types = T_OBJECT, .fields = f_source, .check = check_source};
static const struct node n_sources = {.types = T_OBJECT,
                                      .flags = N_MAP,
                                      .items = &n_source,
                                      .keycheck = key_name};

/* $.api */
static const char *const scope_names[] = {"read", "admin", NULL};
static const struct node n_scope = {.types = T_STRING, .oneof = scope_names};
static const struct node n_scopes = {
    .types = T_ARRAY, .flags = N_NONEMPTY, .items = &n_scope};
static const struct field f_token[] = {
    {"name", &n_word, F_REQUIRED, NULL},
    {"description", &n_text, 0, NULL},
    {"scopes", &n_scopes, 0, "[\"read\"]"},
    {"env", &n_env, 0, NULL},
    {"file", &n_file, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_token = {
    .types = T_OBJECT, .fields = f_token, .check = check_ref};
static const struct node n_tokens = {
    .types = T_ARRAY, .items = &n_token, .check = check_tokens};
static const struct node n_mount = {.types = T_STRING, .check = check_mount};
static const struct field f_api[] = {
    {"tokens", &n_tokens, 0, "[]"},
    {"mount", &n_mount, 0, "\"/handoff/\""},
    {"public_url", &n_url, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_api = {.types = T_OBJECT, .fields = f_api};

/* $.events[i]: mapping rules. */
static const struct field f_match_op[] = {
    {"equals", &n_scalar, 0, NULL},     {"one_of", &n_scalars, 0, NULL},
    {"exists", &n_bool, 0, NULL},       {"changed_from", &n_scalar, 0, NULL},
    {"changed_to", &n_scalar, 0, NULL}, {NULL, NULL, 0, NULL},
};
static const struct node n_match_op = {
    .types = T_SCALAR | T_OBJECT, .fields = f_match_op, .check = check_match};
static const struct node n_match = {.types = T_OBJECT,
                                    .flags = N_MAP,
                                    .items = &n_match_op,
                                    .keycheck = key_path};
static const struct node n_lookup = {
    .types = T_OBJECT, .flags = N_MAP | N_NONEMPTY, .items = &n_scalar};
static const struct node n_scale = {.types = T_NUMBER, .check = check_scale};
static const struct field f_value[] = {
    {"path", &n_path, 0, NULL},      {"template", &n_template, 0, NULL},
    {"value", &n_scalar, 0, NULL},   {"lookup", &n_lookup, 0, NULL},
    {"default", &n_scalar, 0, NULL}, {"scale", &n_scale, 0, NULL},
    {"required", &n_bool, 0, NULL},  {NULL, NULL, 0, NULL},
};
static const struct node n_template_spec = {.types = T_STRING | T_OBJECT,
                                            .fields = f_value,
                                            .check = check_template_spec};
static const struct node n_attr_spec = {
    .types = T_STRING | T_OBJECT, .fields = f_value, .check = check_attr_spec};
static const struct node n_attr_specs = {.types = T_OBJECT,
                                         .flags = N_MAP,
                                         .items = &n_attr_spec,
                                         .keycheck = key_attr};
static const char *const time_formats[] = {"auto", "unix", "unix_ms", "rfc3339",
                                           NULL};
static const struct node n_time_format = {.types = T_STRING,
                                          .oneof = time_formats};
static const struct field f_at[] = {
    {"path", &n_path, F_REQUIRED, NULL},
    {"format", &n_time_format, 0, "\"auto\""},
    {NULL, NULL, 0, NULL},
};
static const struct node n_at = {
    .types = T_STRING | T_OBJECT, .fields = f_at, .check = check_at};
static const struct node n_extends = {.types = T_STRING,
                                      .check = check_extends};
static const struct field f_rule[] = {
    {"name", &n_word, 0, NULL},
    {"description", &n_text, 0, NULL},
    {"source", &n_source_ref, F_REQUIRED, NULL},
    {"extends", &n_extends, 0, NULL},
    {"match", &n_match, 0, NULL},
    {"type", &n_template_spec, 0, NULL},
    {"subject", &n_template_spec, 0, NULL},
    {"at", &n_at, 0, NULL},
    {"attrs", &n_attr_specs, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_rule = {
    .types = T_OBJECT, .fields = f_rule, .check = check_rule};
static const struct node n_events = {.types = T_ARRAY, .items = &n_rule};

/* $.stages.NAME */
static const struct field f_stage[] = {
    {"description", &n_text, 0, NULL},
    {"owner", &n_word, F_REQUIRED, NULL},
    {"entered_on", &n_event_types, F_REQUIRED, NULL},
    {"next", &n_stage_ref, 0, NULL},
    {"amount_attr", &n_attr, 0, NULL},
    {"currency_attr", &n_attr, 0, "\"currency\""},
    {NULL, NULL, 0, NULL},
};
static const struct node n_stage = {.types = T_OBJECT, .fields = f_stage};
static const struct node n_stages = {
    .types = T_OBJECT, .flags = N_MAP, .items = &n_stage, .keycheck = key_name};

/* $.calendars.NAME */
static const struct node n_tz = {.types = T_STRING, .check = check_timezone};
static const struct node n_hhmm = {.types = T_STRING, .check = check_hhmm};
static const struct node n_range = {
    .types = T_ARRAY, .items = &n_hhmm, .check = check_range};
static const struct node n_day = {.types = T_ARRAY, .items = &n_range};
static const struct field f_week[] = {
    {"mon", &n_day, 0, "[]"}, {"tue", &n_day, 0, "[]"},
    {"wed", &n_day, 0, "[]"}, {"thu", &n_day, 0, "[]"},
    {"fri", &n_day, 0, "[]"}, {"sat", &n_day, 0, "[]"},
    {"sun", &n_day, 0, "[]"}, {NULL, NULL, 0, NULL},
};
static const struct node n_week = {.types = T_OBJECT, .fields = f_week};
static const struct node n_date = {.types = T_STRING, .check = check_date};
static const struct node n_dates = {.types = T_ARRAY, .items = &n_date};
static const struct field f_calendar[] = {
    {"description", &n_text, 0, NULL},
    {"timezone", &n_tz, F_REQUIRED, NULL},
    {"hours", &n_week, F_REQUIRED, NULL},
    {"holidays", &n_dates, 0, "[]"},
    {NULL, NULL, 0, NULL},
};
static const struct node n_calendar = {.types = T_OBJECT, .fields = f_calendar};
static const struct node n_calendars = {.types = T_OBJECT,
                                        .flags = N_MAP,
                                        .items = &n_calendar,
                                        .keycheck = key_name};

/* $.owners.NAME */
static const struct node n_owner_ref = {.types = T_STRING, .ref = "owners"};
static const struct node n_slack = {.types = T_STRING, .check = check_slack};
static const struct node n_email = {.types = T_STRING, .check = check_email};
static const struct node n_owner_id = {.types = T_STRING | T_INT,
                                       .check = check_owner_id};
static const struct node n_owner_ids = {.types = T_STRING | T_INT | T_ARRAY,
                                        .flags = N_NONEMPTY,
                                        .items = &n_owner_id,
                                        .check = check_owner_id};
static const struct field f_owner_ids[] = {
    {"pipedrive", &n_owner_ids, 0, NULL},
    {"hubspot", &n_owner_ids, 0, NULL},
    {"salesforce", &n_owner_ids, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_owner_idmap = {.types = T_OBJECT,
                                          .fields = f_owner_ids};
static const struct field f_owner[] = {
    {"name", &n_word, F_REQUIRED, NULL},
    {"description", &n_text, 0, NULL},
    {"slack", &n_slack, 0, NULL},
    {"email", &n_email, 0, NULL},
    {"ids", &n_owner_idmap, 0, "{}"},
    {"manager", &n_owner_ref, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_owner = {.types = T_OBJECT, .fields = f_owner};
static const struct node n_owners = {.types = T_OBJECT,
                                     .flags = N_MAP,
                                     .items = &n_owner,
                                     .keycheck = key_name,
                                     .check = check_owners};

/* $.ladders.NAME */
static const char *const step_states[] = {"at_risk", "breached", NULL};
static const struct node n_step_state = {.types = T_STRING,
                                         .oneof = step_states};
static const struct node n_recipient = {
    .types = T_STRING, .flags = N_NONEMPTY, .check = check_recipient};
static const struct node n_recipients = {.types = T_ARRAY,
                                         .items = &n_recipient};
static const struct field f_step[] = {
    {"description", &n_text, 0, NULL},
    {"state", &n_step_state, F_REQUIRED, NULL},
    {"after", &n_duration, 0, NULL},
    {"notify", &n_notifier_refs, 0, NULL},
    {"to", &n_recipients, 0, "[\"owner\"]"},
    {NULL, NULL, 0, NULL},
};
static const struct node n_step = {.types = T_OBJECT, .fields = f_step};
static const struct node n_ladder = {.types = T_ARRAY,
                                     .flags = N_NONEMPTY,
                                     .items = &n_step,
                                     .check = check_ladder};
static const struct node n_ladders = {.types = T_OBJECT,
                                      .flags = N_MAP,
                                      .items = &n_ladder,
                                      .keycheck = key_name};
static const struct node n_ladder_ref = {.types = T_STRING, .ref = "ladders"};

/* $.handoffs.NAME.group_by */
static const struct node n_group_values = {.types = T_ARRAY,
                                           .flags = N_NONEMPTY,
                                           .items = &n_scalar,
                                           .check = check_group_values};
static const struct field f_group[] = {
    {"values", &n_group_values, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_group = {.types = T_OBJECT, .fields = f_group};
static const struct node n_group_by = {.types = T_OBJECT,
                                       .flags = N_MAP,
                                       .items = &n_group,
                                       .keycheck = key_attr,
                                       .check = check_group};
static const struct node n_group_top = {.types = T_INT, .min = 1, .max = 50};

/* $.handoffs.NAME */
static const struct field f_deadline[] = {
    {"attr", &n_attr, F_REQUIRED, NULL},
    {"offset", &n_offset, 0, "\"0s\""},
    {NULL, NULL, 0, NULL},
};
static const struct node n_deadline = {.types = T_OBJECT, .fields = f_deadline};
static const struct field f_sla[] = {
    {"within", &n_duration, 0, NULL},
    {"deadline", &n_deadline, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_sla = {
    .types = T_OBJECT, .fields = f_sla, .check = check_sla};
static const struct node n_when_value = {.types = T_SCALAR | T_ARRAY,
                                         .items = &n_scalar};
static const struct node n_when = {.types = T_OBJECT,
                                   .flags = N_MAP | N_NONEMPTY,
                                   .items = &n_when_value,
                                   .keycheck = key_attr};
static const struct field f_goal[] = {
    {"description", &n_text, 0, NULL},
    {"when", &n_when, F_REQUIRED, NULL},
    {"within", &n_duration, 0, NULL},
    {"offset", &n_offset, 0, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_goal = {
    .types = T_OBJECT, .fields = f_goal, .check = check_goal};
static const struct node n_goals = {.types = T_ARRAY, .items = &n_goal};
static const struct node n_warn_at = {.types = T_NUMBER,
                                      .check = check_warn_at};
static const struct field f_handoff[] = {
    {"description", &n_text, 0, NULL},
    {"owner", &n_word, F_REQUIRED, NULL},
    /* Optional: a handoff whose stop enters no stage (a first reply, a
     * kickoff call) is normal. */
    {"from", &n_stage_ref, 0, NULL},
    {"to", &n_stage_ref, 0, NULL},
    {"start", &n_event_types, F_REQUIRED, NULL},
    {"stop", &n_event_types, F_REQUIRED, NULL},
    {"cancel", &n_event_types, 0, NULL},
    {"pause", &n_event_types, 0, NULL},
    {"resume", &n_event_types, 0, NULL},
    {"sla", &n_sla, F_REQUIRED, NULL},
    {"calendar", &n_calendar_ref, 0, NULL},
    {"goals", &n_goals, 0, "[]"},
    {"warn_at", &n_warn_at, 0, "0.8"},
    {"requires", &n_attrs, 0, "[]"},
    {"notify", &n_notifier_refs, 0, "[]"},
    {"ladder", &n_ladder_ref, 0, NULL},
    {"group_by", &n_group_by, 0, NULL},
    {"group_top", &n_group_top, 0, "10"},
    {NULL, NULL, 0, NULL},
};
static const struct node n_handoff = {
    .types = T_OBJECT, .fields = f_handoff, .check = check_handoff};
static const struct node n_handoffs = {.types = T_OBJECT,
                                       .flags = N_MAP,
                                       .items = &n_handoff,
                                       .keycheck = key_name};

/* $.notifiers.NAME */
static const char *const notifier_kinds[] = {"slack", "webhook", NULL};
static const struct node n_notifier_kind = {.types = T_STRING,
                                            .oneof = notifier_kinds};
static const struct node n_retries = {.types = T_INT, .min = 0, .max = 20};
static const struct field f_notifier[] = {
    {"description", &n_text, 0, NULL},
    {"kind", &n_notifier_kind, F_REQUIRED, NULL},
    {"url", &n_url_or_ref, F_REQUIRED, NULL},
    {"secret", &n_opt_ref, 0, NULL},
    {"retries", &n_retries, 0, "5"},
    {"backoff", &n_duration, 0, "\"2s\""},
    {"timeout", &n_duration, 0, "\"5s\""},
    {NULL, NULL, 0, NULL},
};
static const struct node n_notifier = {
    .types = T_OBJECT, .fields = f_notifier, .check = check_notifier};
static const struct node n_notifiers = {.types = T_OBJECT,
                                        .flags = N_MAP,
                                        .items = &n_notifier,
                                        .keycheck = key_name};

/* $.digests.NAME */
static const struct node n_schedule = {.types = T_STRING,
                                       .check = check_schedule};
static const struct node n_stage_refs = {.types = T_ARRAY,
                                         .items = &n_stage_ref};
static const struct node n_handoff_refs = {.types = T_ARRAY,
                                           .items = &n_handoff_ref};
static const struct field f_digest[] = {
    {"description", &n_text, 0, NULL},
    {"notifier", &n_notifier_ref, F_REQUIRED, NULL},
    {"schedule", &n_schedule, F_REQUIRED, NULL},
    {"calendar", &n_calendar_ref, 0, NULL},
    {"stages", &n_stage_refs, 0, "[]"},
    {"handoffs", &n_handoff_refs, 0, "[]"},
    {NULL, NULL, 0, NULL},
};
static const struct node n_digest = {.types = T_OBJECT, .fields = f_digest};
static const struct node n_digests = {.types = T_OBJECT,
                                      .flags = N_MAP,
                                      .items = &n_digest,
                                      .keycheck = key_name};

/* $.kpis.NAME */
static const struct node n_metric = {.types = T_STRING, .oneof = metric_names};
static const struct node n_threshold = {.types = T_NUMBER | T_STRING};
static const char *const windows[] = {"24h", "7d", "30d", NULL};
static const struct node n_window = {.types = T_STRING, .oneof = windows};
static const struct node n_currency = {.types = T_STRING,
                                       .check = check_currency};
static const struct field f_kpi[] = {
    {"description", &n_text, 0, NULL},
    {"handoff", &n_handoff_ref, 0, NULL},
    {"stage", &n_stage_ref, 0, NULL},
    {"metric", &n_metric, F_REQUIRED, NULL},
    {"target", &n_threshold, F_REQUIRED, NULL},
    {"amber", &n_threshold, F_REQUIRED, NULL},
    {"red", &n_threshold, F_REQUIRED, NULL},
    {"window", &n_window, 0, "\"7d\""},
    {"currency", &n_currency, 0, NULL},
    {"owner", &n_word, F_REQUIRED, NULL},
    {"action", &n_word, F_REQUIRED, NULL},
    {NULL, NULL, 0, NULL},
};
static const struct node n_kpi = {
    .types = T_OBJECT, .fields = f_kpi, .check = check_kpi};
static const struct node n_kpis = {
    .types = T_OBJECT, .flags = N_MAP, .items = &n_kpi, .keycheck = key_name};

/* $ */
static const struct field f_root[] = {
    {"description", &n_text, 0, NULL},
    {"redis", &n_redis, 0, "{}"},
    {"intake", &n_intake, 0, "{}"},
    {"history", &n_history, 0, "{}"},
    {"dlq", &n_dlq, 0, "{}"},
    {"sources", &n_sources, F_REQUIRED, NULL},
    {"api", &n_api, 0, "{}"},
    {"events", &n_events, 0, "[]"},
    {"stages", &n_stages, 0, "{}"},
    {"calendars", &n_calendars, 0, "{}"},
    {"handoffs", &n_handoffs, 0, "{}"},
    {"notifiers", &n_notifiers, 0, "{}"},
    {"owners", &n_owners, 0, "{}"},
    {"ladders", &n_ladders, 0, "{}"},
    {"kpis", &n_kpis, 0, "{}"},
    {"digests", &n_digests, 0, "{}"},
    {NULL, NULL, 0, NULL},
};
const struct node hk_config_schema = {.types = T_OBJECT, .fields = f_root};
