/*
 * history.c -- the member of a subject's history ({prefix}journey:SUBJECT,
 * scored by event time): what restate recomputes from and what the
 * subject's page lists.
 *
 * A member is the JSON array [id, type] with the event's attrs appended
 * when it has any. The source and the rule are not stored: an event's id
 * is "SOURCE:RULE:KEY" (map.c builds it so, and neither a source nor a
 * rule name may hold a ':'), so both are read back from it. Keeping them
 * out saves about 25 bytes of every retained event, most of what the
 * history costs above its id and attributes.
 *
 * Members written before read as well: [id, type, source] (no attrs:
 * the reader says so, and restate takes them from the clock records) and
 * [id, type, source, attrs, rule].
 */
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

char *hk_history_member(const struct hk_event *ev) {
  json_t *m = json_pack("[s, s]", ev->id != NULL ? ev->id : "",
                        ev->type != NULL ? ev->type : "");
  char *s;
  if (m == NULL) {
    return NULL;
  }
  if (json_is_object(ev->attrs) && json_object_size(ev->attrs) > 0) {
    json_array_append(m, ev->attrs);
  }
  s = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  return s;
}

/* The n-th ':'-separated part of id (0 or 1), a new string; "" when id
 * has fewer parts. */
static char *id_part(const char *id, int n) {
  const char *from = id;
  const char *to;
  for (int i = 0; i < n && from != NULL; i++) {
    from = strchr(from, ':');
    from = from != NULL ? from + 1 : NULL;
  }
  to = from != NULL ? strchr(from, ':') : NULL;
  if (from == NULL || to == NULL) {
    return hk_xstrdup("");
  }
  return hk_xstrndup(from, (size_t)(to - from));
}

int hk_history_read(const char *member, struct hk_event *ev) {
  json_t *m = member != NULL ? json_loads(member, 0, NULL) : NULL;
  const char *id = json_string_value(json_array_get(m, 0));
  const char *type = json_string_value(json_array_get(m, 1));
  json_t *third = json_array_get(m, 2);
  memset(ev, 0, sizeof *ev);
  if (id == NULL || type == NULL) {
    json_decref(m);
    return 0;
  }
  ev->id = hk_xstrdup(id);
  ev->type = hk_xstrdup(type);
  if (json_is_string(third)) { /* written before: the source, stored */
    const char *rule = json_string_value(json_array_get(m, 4));
    json_t *attrs = json_array_get(m, 3);
    ev->source = hk_xstrdup(json_string_value(third));
    ev->rule = rule != NULL ? hk_xstrdup(rule) : id_part(id, 1);
    ev->attrs = json_is_object(attrs) ? json_deep_copy(attrs) : NULL;
  } else {
    ev->source = id_part(id, 0);
    ev->rule = id_part(id, 1);
    ev->attrs = json_is_object(third) ? json_deep_copy(third) : json_object();
  }
  json_decref(m);
  return 1;
}
