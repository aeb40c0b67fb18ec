/*
 * ladder.c -- escalation ladders: which alert goes out for a clock, to
 * whom, and when.
 *
 * A ladder is a list of steps, each "when the clock has been at risk (or
 * breached) for `after` of the handoff's time, alert these notifiers naming
 * these people". A clock's record keeps which steps went out as bits of
 * its summary's "alerted" (bit k: step k), so each step goes out once per
 * clock. The default ladder, for a handoff that names none when the config
 * has no `default` ladder, is today's pair of alerts: step 0 at risk, step 1
 * breached, both to the handoff's `notify` naming the owner; its bits are
 * the warning and breach bits records always had.
 *
 * A step is decided from the clock as hk_clock_eval gives it as of now, so
 * it depends on the set of the subject's events only: a stop stamped before
 * a step's time makes the clock met (or met late), and the step never goes
 * out, whatever order the events came in. The times are the clock's own
 * warning and deadline, plus `after` in business time when the handoff
 * counts it so (hk_handoff_after).
 *
 * Pure: no I/O, no clock, no logging.
 */
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

static void add_step(struct hk_ladder *l, enum hk_clock_state state,
                     int64_t after_ms, json_t *notify, json_t *to) {
  struct hk_step *s;
  if (l->n >= HK_CAP_LADDER_STEPS) {
    json_decref(notify);
    json_decref(to);
    return;
  }
  l->steps = hk_xrealloc(l->steps, (l->n + 1) * sizeof *l->steps);
  s = &l->steps[l->n];
  s->state = state;
  s->after_ms = after_ms;
  s->notify = notify;
  s->to = to;
  s->first = l->n == 0 || l->steps[l->n - 1].state != state;
  l->n++;
}

void hk_ladder_init(struct hk_ladder *l, const json_t *conf,
                    const json_t *root) {
  const json_t *ladders = json_object_get(root, "ladders");
  const char *name = json_string_value(json_object_get(conf, "ladder"));
  json_t *steps = json_object_get(ladders, name != NULL ? name : "");
  json_t *notify = json_object_get(conf, "notify");
  size_t i;
  json_t *st;

  memset(l, 0, sizeof *l);
  if (steps == NULL) {
    steps = json_object_get(ladders, "default");
  }
  if (!json_is_array(steps)) {
    add_step(l, HK_CLOCK_AT_RISK, 0,
             json_is_array(notify) ? json_copy(notify) : json_array(),
             json_pack("[s]", "owner"));
    add_step(l, HK_CLOCK_BREACHED, 0,
             json_is_array(notify) ? json_copy(notify) : json_array(),
             json_pack("[s]", "owner"));
    return;
  }
  json_array_foreach(steps, i, st) {
    const char *state = json_string_value(json_object_get(st, "state"));
    const char *after = json_string_value(json_object_get(st, "after"));
    json_t *n = json_object_get(st, "notify");
    json_t *to = json_object_get(st, "to");
    int64_t ms = 0;
    if (after != NULL && hk_duration_parse(after, &ms) != 0) {
      ms = 0; /* the schema has checked it */
    }
    add_step(l,
             state != NULL && strcmp(state, "at_risk") == 0 ? HK_CLOCK_AT_RISK
                                                            : HK_CLOCK_BREACHED,
             ms, json_copy(json_is_array(n) ? n : notify),
             json_is_array(to) ? json_copy(to) : json_pack("[s]", "owner"));
  }
}

void hk_ladder_fini(struct hk_ladder *l) {
  for (size_t i = 0; i < l->n; i++) {
    json_decref(l->steps[i].notify);
    json_decref(l->steps[i].to);
  }
  free(l->steps);
  memset(l, 0, sizeof *l);
}

int64_t hk_ladder_step_at(const struct hk_handoff *h, const struct hk_clock *c,
                          size_t k) {
  const struct hk_ladder *l = hk_handoff_ladder(h);
  const struct hk_step *s;
  if (k >= l->n) {
    return HK_NEVER;
  }
  s = &l->steps[k];
  return hk_handoff_after(
      h, s->state == HK_CLOCK_AT_RISK ? c->warn_ms : c->deadline_ms,
      s->after_ms);
}

int hk_ladder_decide(const struct hk_handoff *h, const struct hk_clock *c,
                     int alerted, int64_t now_ms, unsigned *fire) {
  const struct hk_ladder *l = hk_handoff_ladder(h);
  *fire = 0;
  if (c->state != HK_CLOCK_AT_RISK && c->state != HK_CLOCK_BREACHED) {
    return alerted;
  }
  for (size_t k = 0; k < l->n; k++) {
    unsigned bit = 1u << k;
    if ((unsigned)alerted & bit) {
      continue;
    }
    if (c->state == HK_CLOCK_BREACHED &&
        l->steps[k].state == HK_CLOCK_AT_RISK) {
      alerted |= (int)bit; /* skipped: the clock is past it */
    } else if (c->state == l->steps[k].state &&
               now_ms >= hk_ladder_step_at(h, c, k)) {
      alerted |= (int)bit;
      *fire |= bit;
    }
  }
  return alerted;
}

int64_t hk_ladder_next(const struct hk_handoff *h, const struct hk_clock *c,
                       int alerted) {
  const struct hk_ladder *l = hk_handoff_ladder(h);
  int64_t next = HK_NEVER;
  int running = c->state == HK_CLOCK_OPEN || c->state == HK_CLOCK_AT_RISK ||
                c->state == HK_CLOCK_BREACHED;
  for (size_t k = 0; running && k < l->n; k++) {
    int64_t t;
    if (((unsigned)alerted & (1u << k)) ||
        (c->state == HK_CLOCK_BREACHED &&
         l->steps[k].state == HK_CLOCK_AT_RISK)) {
      continue;
    }
    t = hk_ladder_step_at(h, c, k);
    if (t < next) {
      next = t;
    }
  }
  return next;
}

/* Appends owner `key` to out unless there already. */
static void add_person(json_t *out, const char *key, const json_t *owners) {
  json_t *o = json_object_get(owners, key);
  json_t *p;
  size_t i;
  json_t *x;
  json_array_foreach(out, i, x) {
    if (strcmp(json_string_value(json_object_get(x, "id")), key) == 0) {
      return;
    }
  }
  p = json_object();
  json_object_set_new(p, "id", json_string(key));
  json_object_set_new(p, "name",
                      json_is_string(json_object_get(o, "name"))
                          ? json_copy(json_object_get(o, "name"))
                          : json_string(key));
  if (json_object_get(o, "slack") != NULL) {
    json_object_set(p, "slack", json_object_get(o, "slack"));
  }
  if (json_object_get(o, "email") != NULL) {
    json_object_set(p, "email", json_object_get(o, "email"));
  }
  json_array_append_new(out, p);
}

json_t *hk_ladder_recipients(const struct hk_step *step, const char *owner,
                             const json_t *root) {
  const json_t *owners = json_object_get(root, "owners");
  json_t *out = json_array();
  size_t i;
  const json_t *to;
  json_array_foreach(step->to, i, to) {
    const char *t = json_string_value(to);
    const char *who = t;
    if (t == NULL) {
      continue;
    }
    if (strcmp(t, "owner") == 0) {
      who = owner;
    } else if (strcmp(t, "manager") == 0) {
      who = json_string_value(json_object_get(
          json_object_get(owners, owner != NULL ? owner : ""), "manager"));
    }
    if (who != NULL && *who != '\0') {
      add_person(out, who, owners);
    }
  }
  return out;
}
