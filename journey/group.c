/*
 * group.c -- the values a clock is counted under for a handoff's
 * `group_by`: attainment per owner, source and segment.
 *
 * Each dimension's values are bounded by the config, so a sender cannot
 * make the stored buckets grow without end: "owner" takes the owners
 * directory's names and the handoff's owner, "source" the configured
 * sources, an attribute its listed `values`; anything else counts as
 * "other". The values come from the clock's start event only, so they are
 * a function of the subject's events, in any order. The summary entry keeps
 * them (hk_record_entry_groups), so what was counted under a value is taken
 * out of the same value whatever the config says later.
 *
 * Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <string.h>

#include "journey/journey.h"

/* An attribute's value as text ("9001" for 9001); NULL when not a string
 * or a number. */
static const char *value_text(const json_t *v, char *buf, size_t cap) {
  if (json_is_string(v)) {
    return json_string_value(v);
  }
  if (json_is_integer(v)) {
    snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return buf;
  }
  return NULL;
}

/* 1 when text is one of the values listed (compared as text). */
static int listed(const json_t *values, const char *text) {
  size_t i;
  const json_t *x;
  char buf[32];
  json_array_foreach(values, i, x) {
    const char *t = value_text(x, buf, sizeof buf);
    if (t != NULL && text != NULL && strcmp(t, text) == 0) {
      return 1;
    }
  }
  return 0;
}

json_t *hk_group_values(const json_t *conf, const json_t *root,
                        const struct hk_clock *c, const json_t *start_attrs) {
  json_t *by = json_object_get(conf, "group_by");
  const char *owner = json_string_value(json_object_get(conf, "owner"));
  json_t *out;
  const char *dim;
  json_t *spec;
  if (json_object_size(by) == 0) {
    return NULL;
  }
  out = json_object();
  json_object_foreach(by, dim, spec) {
    const char *v = NULL;
    char buf[32];
    char src[80];
    if (strcmp(dim, "owner") == 0) {
      v = c->owner;
      if (v == NULL ||
          (json_object_get(json_object_get(root, "owners"), v) == NULL &&
           (owner == NULL || strcmp(v, owner) != 0))) {
        v = NULL;
      }
    } else if (strcmp(dim, "source") == 0) {
      /* An event id is "SOURCE:RULE:KEY" (map.c). */
      size_t n = c->start_id != NULL ? strcspn(c->start_id, ":") : 0;
      snprintf(src, sizeof src, "%.*s", (int)(n < 79 ? n : 79),
               c->start_id != NULL ? c->start_id : "");
      v = json_object_get(json_object_get(root, "sources"), src) != NULL ? src
                                                                         : NULL;
    } else {
      v = value_text(json_object_get(start_attrs, dim), buf, sizeof buf);
      if (!listed(json_object_get(spec, "values"), v)) {
        v = NULL;
      }
    }
    json_object_set_new(out, dim, json_string(v != NULL ? v : "other"));
  }
  return out;
}
