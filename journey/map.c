/*
 * map.c -- the pure mapping from a queued delivery to journey events.
 *
 * Design
 * ------
 * Compilation. hk_mapper_new turns the config's `events` rules and the
 * built-in presets (presets.c) into one list of compiled rules per enabled
 * source. Presets are text in the same rule language and go through the same
 * compiler, so a preset and a config rule cannot drift apart. A source's
 * rules are its config rules in document order, then the preset rules its
 * `presets` enable, in table order. A config rule that `extends` a preset
 * rule starts from a copy of it: `match` and `attrs` are merged key by key
 * (the config wins), any other key given replaces the preset's, and the
 * preset rule is then not run on its own for that source. An unknown preset
 * (in `presets` or `extends`) fails the whole mapper with HK_E_CONFIG, so a
 * typo stops the worker at start rather than dropping events for days.
 *
 * The provider. What a payload means beyond the rules (its event type, its
 * event id, its default event time, where "previous" values live) depends
 * on the provider, not on the verification kind. The stripe, hubspot, paddle
 * and standard-webhooks kinds name their provider. Pipedrive and Chargebee
 * post with basic auth (or any generic kind), so a generic source takes the
 * provider of its first preset, else of the first rule that extends a
 * preset, else it is plain generic.
 *
 * Items. A HubSpot body is an array of events; an array body of a generic
 * kind is one item per element; any other body is one item. Every rule is
 * tried on every item and every matching rule yields an event, so one item
 * may give several events (a preset and a config rule both matching, say);
 * they differ in their rule, so in their id. An item that no rule matches
 * yields one "ignored" outcome carrying the provider's type, for counters.
 *
 * Values. A field path walks objects by key and arrays by a numeric
 * segment. Wherever a rule takes a path (a value, an attribute, a
 * template's braces, `at`, a `match` key) it may give fallbacks, "a | b":
 * the first alternative present is used (in a template, the first with
 * non-empty text), since providers move fields between API versions.
 * JSON null counts as missing everywhere, so fallbacks and defaults
 * apply to Stripe's many nullable fields. A value object is evaluated in
 * this order: the raw value (the first present path, the rendered template,
 * or the constant), then `lookup` (keyed by the raw value as text; an entry
 * of null leaves the value out; a miss takes the default, and without one
 * it is a dead letter naming the lookup and the value, for an optional
 * attribute too, since what needs fixing is the table), then `scale` (numbers
 * and numeric strings, as Paddle sends amounts; the product is rounded to six
 * decimals so 1999 * 0.01 is 19.99), then the preset-only `time`
 * conversion, and only when the value is still missing, `default` (a
 * default of null leaves the value out without a dead letter). A
 * template is missing when any field in it is missing, empty, or not a
 * scalar. A missing attribute is left out unless required; a missing type,
 * subject or required attribute makes the outcome dead, with a sentence
 * naming the first missing field.
 *
 * Conditions. `equals` and `one_of` compare scalars by JSON equality, or by
 * text when one side is a string and the other a number, since providers
 * send ids either way ("1029" against 1029). `exists: true` holds when the
 * field is present and not null. `changed_from` and `changed_to` look at the
 * previous value the provider reports for the field: for Stripe, a path
 * data.object.X has its previous value at data.previous_attributes.X; for
 * Pipedrive (webhooks v2), data.X has it at previous.X. The field counts as
 * changed only when that previous key is present (null included, since the
 * providers list only the fields that changed). `changed_from: A` then holds
 * when the previous value equals A; `changed_to: B` when the current value
 * equals B and differs from the previous one. Other providers report no
 * previous values, so those conditions never hold there.
 *
 * Ids and time. An event's id is "<source>:<rule>:<provider key>", where
 * the key is the provider's own event id (Stripe `id`, Paddle `event_id`,
 * Pipedrive `meta.id`, Chargebee `id`, Standard Webhooks the webhook-id),
 * for HubSpot subscriptionId.portalId.eventId.occurredAt.objectId (never
 * attemptNumber, which changes on retries), and for generic senders the
 * delivery id, else the item's canonical JSON; items of an array body add
 * "#<index>". The same redelivery therefore gives the same ids. The event
 * time is the rule's `at`, else the provider's own time field, else the
 * receive time; a rule's `at` that is missing or unreadable falls back the
 * same way rather than killing the event.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/map.h"
#include "journey/journey.h"

/* ---------------------------------------------------------------------------
 * Providers
 * ------------------------------------------------------------------------- */

enum tfmt { TF_AUTO, TF_UNIX, TF_UNIX_MS, TF_RFC3339 };

enum prov {
  P_GENERIC,
  P_STANDARD,
  P_STRIPE,
  P_HUBSPOT,
  P_PADDLE,
  P_PIPEDRIVE,
  P_CHARGEBEE
};

struct provider {
  const char *name;        /* as in preset names */
  const char *at_path;     /* default event time, or NULL */
  enum tfmt at_fmt;        /* its format */
  const char *ptype_path;  /* the provider's event type, or NULL */
  const char *key_path;    /* the provider's event id, or NULL */
  const char *cur_prefix;  /* fields that have a previous value… */
  const char *prev_prefix; /* …and where it is */
};

static const struct provider providers[] = {
    [P_GENERIC] = {"generic", NULL, TF_AUTO, "type", NULL, NULL, NULL},
    [P_STANDARD] = {"standard-webhooks", "timestamp", TF_RFC3339, "type", NULL,
                    NULL, NULL},
    [P_STRIPE] = {"stripe", "created", TF_UNIX, "type", "id", "data.object.",
                  "data.previous_attributes."},
    [P_HUBSPOT] = {"hubspot", "occurredAt", TF_UNIX_MS, "subscriptionType",
                   NULL, NULL, NULL},
    [P_PADDLE] = {"paddle", "occurred_at", TF_RFC3339, "event_type", "event_id",
                  NULL, NULL},
    [P_PIPEDRIVE] = {"pipedrive", "meta.timestamp", TF_AUTO, NULL, "meta.id",
                     "data.", "previous."},
    [P_CHARGEBEE] = {"chargebee", "occurred_at", TF_UNIX, "event_type", "id",
                     NULL, NULL},
};

/* The provider a preset name ("stripe.invoices") belongs to. */
static enum prov provider_of_preset(const char *name) {
  size_t plen = strcspn(name, ".");
  enum prov p = P_GENERIC;
  for (int i = P_STRIPE; i <= P_CHARGEBEE; i++) {
    if (strlen(providers[i].name) == plen &&
        strncmp(providers[i].name, name, plen) == 0) {
      p = (enum prov)i;
    }
  }
  return p;
}

/* ---------------------------------------------------------------------------
 * Compiled rules
 * ------------------------------------------------------------------------- */

enum vkind { V_PATH, V_TEMPLATE, V_CONST };

struct value {
  enum vkind kind;
  char **paths; /* V_PATH: tried in order */
  size_t npaths;
  char *text;       /* V_TEMPLATE */
  json_t *constant; /* V_CONST */
  json_t *lookup;   /* object, or NULL */
  json_t *def;      /* scalar, or NULL */
  double scale;     /* 0: none */
  int time;         /* -1: none, else an enum tfmt */
  int required;
};

struct cond {
  char *path;
  json_t *equals;
  json_t *one_of;
  json_t *changed_from;
  json_t *changed_to;
  int exists; /* -1: not given */
};

struct attr {
  char *name;
  struct value v;
};

struct rule {
  char *name;
  struct cond *conds;
  size_t nconds;
  struct value type;
  struct value subject;
  char *at_path; /* NULL: the provider's time */
  enum tfmt at_fmt;
  struct attr *attrs;
  size_t nattrs;
};

struct msource {
  char *name;
  enum prov prov;
  int split; /* an array body is one item per element */
  struct rule *rules;
  size_t nrules;
  json_t *owners; /* $.owners (owned copy): resolve_owner */
};

struct hk_mapper {
  struct msource *src;
  size_t n;
};

static void value_fini(struct value *v) {
  for (size_t i = 0; i < v->npaths; i++) {
    free(v->paths[i]);
  }
  free(v->paths);
  free(v->text);
  json_decref(v->constant);
  json_decref(v->lookup);
  json_decref(v->def);
  memset(v, 0, sizeof *v);
}

static void rule_fini(struct rule *r) {
  for (size_t i = 0; i < r->nconds; i++) {
    struct cond *c = &r->conds[i];
    free(c->path);
    json_decref(c->equals);
    json_decref(c->one_of);
    json_decref(c->changed_from);
    json_decref(c->changed_to);
  }
  free(r->conds);
  for (size_t i = 0; i < r->nattrs; i++) {
    free(r->attrs[i].name);
    value_fini(&r->attrs[i].v);
  }
  free(r->attrs);
  value_fini(&r->type);
  value_fini(&r->subject);
  free(r->at_path);
  free(r->name);
  memset(r, 0, sizeof *r);
}

static int parse_tfmt(const char *s, enum tfmt *out) {
  static const char *const names[] = {"auto", "unix", "unix_ms", "rfc3339"};
  int ok = 0;
  for (int i = 0; i < 4 && s != NULL; i++) {
    if (strcmp(s, names[i]) == 0) {
      *out = (enum tfmt)i;
      ok = 1;
    }
  }
  return ok;
}

/* json_incref of v, or NULL when v is NULL. */
static json_t *ref(json_t *v) {
  return v != NULL ? json_incref(v) : NULL;
}

/*
 * Compiles a type, subject (plain string: a template) or attribute (plain
 * string: a path) into v. Returns 0, or -1 with why set. v is always safe
 * to value_fini.
 */
static int compile_value(json_t *spec, int plain_template, struct value *v,
                         char *why, size_t cap) {
  json_t *p;
  int rc = 0;
  memset(v, 0, sizeof *v);
  v->time = -1;
  if (json_is_string(spec)) {
    spec = json_pack("{s:O}", plain_template ? "template" : "path", spec);
  } else {
    json_incref(spec);
  }
  p = json_object_get(spec, "path");
  if (json_is_string(p)) {
    v->kind = V_PATH;
    v->paths = hk_xcalloc(1, sizeof *v->paths);
    v->paths[v->npaths++] = hk_xstrdup(json_string_value(p));
  } else if (json_is_array(p) && json_array_size(p) > 0) {
    size_t i;
    json_t *e;
    v->kind = V_PATH;
    v->paths = hk_xcalloc(json_array_size(p), sizeof *v->paths);
    json_array_foreach(p, i, e) {
      if (!json_is_string(e)) {
        rc = -1;
        break;
      }
      v->paths[v->npaths++] = hk_xstrdup(json_string_value(e));
    }
  } else if (json_is_string(json_object_get(spec, "template"))) {
    v->kind = V_TEMPLATE;
    v->text = hk_xstrdup(json_string_value(json_object_get(spec, "template")));
  } else if (json_object_get(spec, "value") != NULL) {
    v->kind = V_CONST;
    v->constant = ref(json_object_get(spec, "value"));
  } else {
    rc = -1;
  }
  if (rc != 0) {
    snprintf(why, cap, "is not a template, path or value object");
  }
  v->lookup = ref(json_object_get(spec, "lookup"));
  v->def = ref(json_object_get(spec, "default"));
  v->required = json_is_true(json_object_get(spec, "required"));
  if (json_is_number(json_object_get(spec, "scale"))) {
    v->scale = json_number_value(json_object_get(spec, "scale"));
  }
  if (json_object_get(spec, "time") != NULL) {
    enum tfmt f = TF_AUTO;
    if (!parse_tfmt(json_string_value(json_object_get(spec, "time")), &f)) {
      snprintf(why, cap, "has an unknown time format");
      rc = -1;
    }
    v->time = (int)f;
  }
  json_decref(spec);
  return rc;
}

static int compile_cond(const char *path, json_t *spec, struct cond *c) {
  memset(c, 0, sizeof *c);
  c->path = hk_xstrdup(path);
  c->exists = -1;
  if (!json_is_object(spec)) {
    c->equals = json_incref(spec);
  } else {
    json_t *e = json_object_get(spec, "exists");
    c->equals = ref(json_object_get(spec, "equals"));
    c->one_of = ref(json_object_get(spec, "one_of"));
    c->changed_from = ref(json_object_get(spec, "changed_from"));
    c->changed_to = ref(json_object_get(spec, "changed_to"));
    if (e != NULL) {
      c->exists = json_is_true(e);
    }
  }
  return 0;
}

/* Compiles one (merged) rule object. Returns 0, or -1 with why set. */
static int compile_rule(json_t *obj, const char *name, struct rule *r,
                        char *why, size_t cap) {
  json_t *match = json_object_get(obj, "match");
  json_t *attrs = json_object_get(obj, "attrs");
  json_t *at = json_object_get(obj, "at");
  int rc = 0;
  char sub[200] = "";
  memset(r, 0, sizeof *r);
  r->name = hk_xstrdup(name);
  r->type.time = -1;
  r->subject.time = -1;
  if (json_is_object(match)) {
    const char *k;
    json_t *v;
    r->conds = hk_xcalloc(json_object_size(match) + 1, sizeof *r->conds);
    json_object_foreach(match, k, v) {
      (void)compile_cond(k, v, &r->conds[r->nconds++]);
    }
  }
  if (json_object_get(obj, "type") == NULL) {
    snprintf(why, cap, "needs a type");
    rc = -1;
  } else if (json_object_get(obj, "subject") == NULL) {
    snprintf(why, cap, "needs a subject");
    rc = -1;
  } else if (compile_value(json_object_get(obj, "type"), 1, &r->type, sub,
                           sizeof sub) != 0) {
    snprintf(why, cap, "type %s", sub);
    rc = -1;
  } else if (compile_value(json_object_get(obj, "subject"), 1, &r->subject, sub,
                           sizeof sub) != 0) {
    snprintf(why, cap, "subject %s", sub);
    rc = -1;
  }
  if (rc == 0 && at != NULL) {
    json_t *path = json_is_string(at) ? at : json_object_get(at, "path");
    json_t *fmt = json_object_get(at, "format");
    r->at_fmt = TF_AUTO;
    if (!json_is_string(path) ||
        (fmt != NULL && !parse_tfmt(json_string_value(fmt), &r->at_fmt))) {
      snprintf(why, cap, "at is not a path or {path, format}");
      rc = -1;
    } else {
      r->at_path = hk_xstrdup(json_string_value(path));
    }
  }
  if (rc == 0 && json_is_object(attrs)) {
    const char *k;
    json_t *v;
    r->attrs = hk_xcalloc(json_object_size(attrs) + 1, sizeof *r->attrs);
    json_object_foreach(attrs, k, v) {
      struct attr *a = &r->attrs[r->nattrs++];
      a->name = hk_xstrdup(k);
      if (compile_value(v, 0, &a->v, sub, sizeof sub) != 0) {
        snprintf(why, cap, "attrs.%s %s", k, sub);
        rc = -1;
        break;
      }
    }
  }
  return rc;
}

/* ---------------------------------------------------------------------------
 * Building the mapper
 * ------------------------------------------------------------------------- */

/* The preset rule of that exact name, or NULL. */
static const struct hk_preset *preset_rule(const char *name) {
  size_t n;
  const struct hk_preset *t = hk_presets(&n);
  const struct hk_preset *found = NULL;
  for (size_t i = 0; i < n && found == NULL; i++) {
    if (strcmp(t[i].name, name) == 0) {
      found = &t[i];
    }
  }
  return found;
}

/* Whether the `presets` entry sel ("stripe", "stripe.invoices",
 * "stripe.invoice_paid") selects preset p. */
static int preset_selected(const char *sel, const struct hk_preset *p) {
  size_t plen = strcspn(p->name, ".");
  const char *rest = p->name + plen + 1;
  int hit = 0;
  if (strncmp(sel, p->name, plen) == 0) {
    if (sel[plen] == '\0') {
      hit = 1;
    } else if (sel[plen] == '.') {
      hit = strcmp(sel + plen + 1, rest) == 0 ||
            strcmp(sel + plen + 1, p->group) == 0;
    }
  }
  return hit;
}

/* The preset text parsed: single quotes become double quotes. Returns a new
 * reference, or NULL when the text is not JSON (a bug of presets.c). */
static json_t *preset_json(const struct hk_preset *p) {
  char *text = hk_xstrdup(p->text);
  json_t *doc;
  for (char *c = text; *c != '\0'; c++) {
    if (*c == '\'') {
      *c = '"';
    }
  }
  doc = json_loads(text, 0, NULL);
  free(text);
  return doc;
}

/* A new rule object: preset `base` with the keys of `over` applied, match
 * and attrs merged key by key. */
static json_t *merge_rule(json_t *base, json_t *over) {
  json_t *out = json_deep_copy(base);
  const char *k;
  json_t *v;
  json_object_foreach(over, k, v) {
    json_t *have = json_object_get(out, k);
    if (strcmp(k, "extends") == 0 || strcmp(k, "source") == 0 ||
        strcmp(k, "description") == 0 || strcmp(k, "name") == 0) {
      continue;
    }
    if ((strcmp(k, "match") == 0 || strcmp(k, "attrs") == 0) &&
        json_is_object(have) && json_is_object(v)) {
      json_object_update(have, v);
    } else {
      json_object_set(out, k, v);
    }
  }
  return out;
}

static void add_rule(struct msource *s, const struct rule *r) {
  s->rules = hk_xrealloc(s->rules, (s->nrules + 1) * sizeof *s->rules);
  s->rules[s->nrules++] = *r;
}

/* The provider of an enabled source (see the design comment). */
static enum prov source_provider(const struct hk_source *src, json_t *events) {
  enum prov p = P_GENERIC;
  json_t *presets = json_object_get(src->conf, "presets");
  size_t i;
  json_t *e;
  switch (src->kind) {
  case HK_SOURCE_STANDARD_WEBHOOKS: p = P_STANDARD; break;
  case HK_SOURCE_STRIPE: p = P_STRIPE; break;
  case HK_SOURCE_HUBSPOT: p = P_HUBSPOT; break;
  case HK_SOURCE_PADDLE: p = P_PADDLE; break;
  case HK_SOURCE_HMAC:
  case HK_SOURCE_BASIC:
  case HK_SOURCE_TOKEN:
    if (json_array_size(presets) > 0) {
      p = provider_of_preset(json_string_value(json_array_get(presets, 0)));
    }
    json_array_foreach(events, i, e) {
      const char *ext = json_string_value(json_object_get(e, "extends"));
      const char *s = json_string_value(json_object_get(e, "source"));
      if (p == P_GENERIC && ext != NULL && s != NULL &&
          strcmp(s, src->name) == 0) {
        p = provider_of_preset(ext);
      }
    }
    break;
  }
  return p;
}

/*
 * Compiles the rules of one enabled source into s. Returns HK_E_OK, or
 * HK_E_CONFIG with err set.
 */
static enum hk_err build_source(const struct hk_source *src, json_t *events,
                                struct msource *s, struct hk_error *err) {
  size_t np;
  const struct hk_preset *table = hk_presets(&np);
  char *on = hk_xcalloc(np + 1, 1); /* 1: enabled, 2: replaced by a rule */
  json_t *presets = json_object_get(src->conf, "presets");
  enum hk_err rc = HK_E_OK;
  char why[200];
  size_t i;
  json_t *e;

  s->name = hk_xstrdup(src->name);
  s->prov = source_provider(src, events);
  s->split = src->kind == HK_SOURCE_HUBSPOT || src->kind == HK_SOURCE_HMAC ||
             src->kind == HK_SOURCE_BASIC || src->kind == HK_SOURCE_TOKEN ||
             src->kind == HK_SOURCE_STANDARD_WEBHOOKS;
  json_array_foreach(presets, i, e) {
    const char *sel = json_string_value(e);
    int hits = 0;
    for (size_t j = 0; j < np && sel != NULL; j++) {
      if (preset_selected(sel, &table[j])) {
        on[j] = 1;
        hits++;
      }
    }
    if (hits == 0 && rc == HK_E_OK) {
      rc = hk_fail(err, HK_E_CONFIG,
                   "$.sources.%s.presets[%zu]: \"%s\" is not a preset: no "
                   "rule or group of that name",
                   src->name, i, sel != NULL ? sel : "");
    }
  }
  json_array_foreach(events, i, e) {
    const char *sname = json_string_value(json_object_get(e, "source"));
    const char *ext = json_string_value(json_object_get(e, "extends"));
    const char *name = json_string_value(json_object_get(e, "name"));
    char fallback[48];
    json_t *obj;
    struct rule r;
    if (rc != HK_E_OK || sname == NULL || strcmp(sname, src->name) != 0) {
      continue;
    }
    snprintf(fallback, sizeof fallback, "events[%zu]", i);
    if (ext != NULL) {
      const struct hk_preset *p = preset_rule(ext);
      json_t *base = p != NULL ? preset_json(p) : NULL;
      obj = base != NULL ? merge_rule(base, e) : json_incref(e);
      json_decref(base);
      if (p != NULL) {
        on[p - table] = 2;
      }
      if (name == NULL) {
        name = ext;
      }
    } else {
      obj = json_incref(e);
    }
    if (compile_rule(obj, name != NULL ? name : fallback, &r, why,
                     sizeof why) != 0) {
      rc = hk_fail(err, HK_E_CONFIG, "$.events[%zu]: %s", i, why);
    }
    add_rule(s, &r);
    json_decref(obj);
  }
  for (size_t j = 0; j < np && rc == HK_E_OK; j++) {
    json_t *obj;
    struct rule r;
    if (on[j] != 1) {
      continue;
    }
    obj = preset_json(&table[j]);
    if (obj == NULL ||
        compile_rule(obj, table[j].name, &r, why, sizeof why) != 0) {
      rc = hk_fail(err, HK_E_CONFIG, "preset %s: %s", table[j].name,
                   obj == NULL ? "is not JSON" : why);
    }
    if (obj != NULL) {
      add_rule(s, &r);
    }
    json_decref(obj);
  }
  free(on);
  return rc;
}

/* Every `extends` must name a preset rule, whether or not its source is
 * enabled. Returns HK_E_OK, or HK_E_CONFIG with err set. */
static enum hk_err check_extends(json_t *events, struct hk_error *err) {
  enum hk_err rc = HK_E_OK;
  size_t i;
  json_t *e;
  json_array_foreach(events, i, e) {
    const char *ext = json_string_value(json_object_get(e, "extends"));
    if (rc == HK_E_OK && ext != NULL && preset_rule(ext) == NULL) {
      rc =
          hk_fail(err, HK_E_CONFIG,
                  "$.events[%zu].extends: \"%s\" is not a preset rule", i, ext);
    }
  }
  return rc;
}

void hk_mapper_free(struct hk_mapper *m) {
  if (m == NULL) {
    return;
  }
  for (size_t i = 0; i < m->n; i++) {
    for (size_t j = 0; j < m->src[i].nrules; j++) {
      rule_fini(&m->src[i].rules[j]);
    }
    free(m->src[i].rules);
    free(m->src[i].name);
    json_decref(m->src[i].owners);
  }
  free(m->src);
  free(m);
}

struct hk_mapper *hk_mapper_new(const struct hk_config *cfg,
                                struct hk_error *err) {
  struct hk_mapper *m = hk_xcalloc(1, sizeof *m);
  json_t *events = json_object_get(cfg->doc, "events");
  enum hk_err rc = check_extends(events, err);
  m->src = hk_xcalloc(cfg->nsources + 1, sizeof *m->src);
  for (size_t i = 0; i < cfg->nsources && rc == HK_E_OK; i++) {
    rc = build_source(&cfg->sources[i], events, &m->src[m->n], err);
    m->src[m->n++].owners = json_deep_copy(json_object_get(cfg->doc, "owners"));
  }
  if (rc != HK_E_OK) {
    hk_mapper_free(m);
    m = NULL;
  }
  return m;
}

/* ---------------------------------------------------------------------------
 * Reading payloads
 * ------------------------------------------------------------------------- */

/* The value at the dot path of n bytes (borrowed), or NULL when absent or
 * null. */
static json_t *get_pathn(json_t *root, const char *path, size_t len) {
  json_t *cur = root;
  const char *p = path;
  const char *end = path + len;
  char seg[257];
  while (cur != NULL && p < end) {
    const char *dot = memchr(p, '.', (size_t)(end - p));
    size_t n = dot != NULL ? (size_t)(dot - p) : (size_t)(end - p);
    if (n >= sizeof seg) {
      cur = NULL;
      break;
    }
    memcpy(seg, p, n);
    seg[n] = '\0';
    if (json_is_object(cur)) {
      cur = json_object_get(cur, seg);
    } else if (json_is_array(cur) && n > 0 && strspn(seg, "0123456789") == n) {
      cur = json_array_get(cur, strtoul(seg, NULL, 10));
    } else {
      cur = NULL;
    }
    p += n;
    if (p < end && *p == '.') {
      p++;
    }
  }
  return json_is_null(cur) ? NULL : cur;
}

static json_t *get_path(json_t *root, const char *path) {
  return get_pathn(root, path, strlen(path));
}

static const char *scalar_text(json_t *v, char *buf, size_t cap);

/*
 * The value of the first present alternative of spec, "a | b" (borrowed),
 * or NULL when none is. A spec without "|" is one path. With need_text, a
 * value counts as present only when it is a scalar of non-empty text (what
 * a template can use). *used and *used_len (when used is not NULL) give the
 * alternative that answered, else the first one, so that a caller can find
 * its previous value.
 */
static json_t *get_alt_as(json_t *root, const char *spec, size_t len,
                          int need_text, const char **used, size_t *used_len) {
  const char *p = spec;
  const char *end = spec + len;
  json_t *v = NULL;
  int first = 1;
  while (v == NULL && p <= end) {
    const char *bar = memchr(p, '|', (size_t)(end - p));
    const char *stop = bar != NULL ? bar : end;
    const char *a = p;
    const char *b = stop;
    while (a < b && *a == ' ') {
      a++;
    }
    while (b > a && b[-1] == ' ') {
      b--;
    }
    v = b > a ? get_pathn(root, a, (size_t)(b - a)) : NULL;
    if (v != NULL && need_text) {
      char nb[40];
      const char *t = scalar_text(v, nb, sizeof nb);
      v = t != NULL && *t != '\0' ? v : NULL;
    }
    if (used != NULL && (v != NULL || first)) {
      *used = a;
      *used_len = (size_t)(b - a);
    }
    first = 0;
    p = stop + 1;
  }
  return v;
}

static json_t *get_alt(json_t *root, const char *spec, size_t len,
                       const char **used, size_t *used_len) {
  return get_alt_as(root, spec, len, 0, used, used_len);
}

/*
 * A scalar as text: a string as is, a number in its shortest exact form,
 * true or false. buf (at least 32 bytes) holds the text of non-strings.
 * Returns NULL for null, objects and arrays.
 */
static const char *scalar_text(json_t *v, char *buf, size_t cap) {
  const char *out = buf;
  if (json_is_string(v)) {
    out = json_string_value(v);
  } else if (json_is_integer(v)) {
    snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    snprintf(buf, cap, "%.15g", d);
    if (strtod(buf, NULL) != d) {
      snprintf(buf, cap, "%.17g", d);
    }
  } else if (json_is_boolean(v)) {
    snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
  } else {
    out = NULL;
  }
  return out;
}

/* Scalar equality: JSON equality, or the same text when one side is a
 * string and the other a number. */
static int same(json_t *a, json_t *b) {
  char ba[40];
  char bb[40];
  int eq = json_equal(a, b);
  if (!eq && a != NULL && b != NULL &&
      ((json_is_string(a) && json_is_number(b)) ||
       (json_is_number(a) && json_is_string(b)))) {
    const char *ta = scalar_text(a, ba, sizeof ba);
    const char *tb = scalar_text(b, bb, sizeof bb);
    eq = ta != NULL && tb != NULL && strcmp(ta, tb) == 0;
  }
  return eq;
}

static int in_list(json_t *v, json_t *list) {
  size_t i;
  json_t *e;
  int hit = 0;
  json_array_foreach(list, i, e) {
    hit = hit || same(v, e);
  }
  return hit;
}

/* The previous value of path as the provider reports it (borrowed), and
 * whether it is reported at all (*present; JSON null counts). */
static json_t *previous(enum prov pv, json_t *item, const char *path,
                        int *present) {
  const struct provider *p = &providers[pv];
  json_t *out = NULL;
  *present = 0;
  if (p->cur_prefix != NULL &&
      strncmp(path, p->cur_prefix, strlen(p->cur_prefix)) == 0) {
    const char *rest = path + strlen(p->cur_prefix);
    const char *dot = strrchr(rest, '.');
    struct hk_buf b;
    json_t *parent;
    hk_buf_init(&b, 1024);
    if (hk_buf_add(&b, p->prev_prefix, strlen(p->prev_prefix) - 1) == HK_E_OK &&
        (dot == NULL ||
         hk_buf_addf(&b, ".%.*s", (int)(dot - rest), rest) == HK_E_OK)) {
      parent = get_path(item, b.data);
      out = json_object_get(parent, dot != NULL ? dot + 1 : rest);
      *present = out != NULL;
    }
    hk_buf_fini(&b);
  }
  return json_is_null(out) ? NULL : out;
}

static int cond_holds(enum prov pv, json_t *item, const struct cond *c) {
  const char *used = c->path;
  size_t ulen = strlen(c->path);
  json_t *v = get_alt(item, c->path, ulen, &used, &ulen);
  int ok = 1;
  if (c->exists >= 0) {
    ok = ok && (v != NULL) == (c->exists == 1);
  }
  if (c->equals != NULL) {
    ok = ok && v != NULL && same(v, c->equals);
  }
  if (c->one_of != NULL) {
    ok = ok && v != NULL && in_list(v, c->one_of);
  }
  if (ok && (c->changed_from != NULL || c->changed_to != NULL)) {
    int present;
    char one[257];
    json_t *prev;
    snprintf(one, sizeof one, "%.*s", (int)ulen, used);
    prev = previous(pv, item, one, &present);
    ok = present;
    if (c->changed_from != NULL) {
      ok = ok && prev != NULL && same(prev, c->changed_from);
    }
    if (c->changed_to != NULL) {
      ok = ok && v != NULL && same(v, c->changed_to) &&
           (prev == NULL || !same(prev, v));
    }
  }
  return ok;
}

/* ---------------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------------- */

/* Reads exactly n digits at *p into *out and advances. Returns 0 or -1. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9') {
      rc = -1;
      break;
    }
    v = v * 10 + (c - '0');
  }
  if (rc == 0) {
    *p += n;
    *out = v;
  }
  return rc;
}

static int is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (y >= 1), in the proleptic Gregorian
 * calendar: whole years since 1970 plus the leap days between, then the
 * days of the months before m. */
static int64_t days_since_epoch(int y, int m, int d) {
  static const int before[12] = {0,   31,  59,  90,  120, 151,
                                 181, 212, 243, 273, 304, 334};
  int64_t yy = (int64_t)y - 1;
  int64_t leaps =
      (yy / 4 - yy / 100 + yy / 400) - (1969 / 4 - 1969 / 100 + 1969 / 400);
  int64_t days = 365 * ((int64_t)y - 1970) + leaps + before[m - 1] + d - 1;
  if (m > 2 && is_leap(y)) {
    days++;
  }
  return days;
}

int hk_map_rfc3339_ms(const char *s, int64_t *ms) {
  const char *p = s;
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int sec = 0;
  int frac = 0;
  int off = 0;
  int ok;
  ok = digits(&p, 4, &y) == 0 && *p++ == '-' && digits(&p, 2, &mo) == 0 &&
       *p++ == '-' && digits(&p, 2, &d) == 0 &&
       (*p == 'T' || *p == 't' || *p == ' ');
  if (ok) {
    p++;
    ok = digits(&p, 2, &h) == 0 && *p++ == ':' && digits(&p, 2, &mi) == 0 &&
         *p++ == ':' && digits(&p, 2, &sec) == 0;
  }
  if (ok && *p == '.') {
    int n = 0;
    p++;
    while (*p >= '0' && *p <= '9') {
      if (n < 3) {
        frac = frac * 10 + (*p - '0');
      }
      n++;
      p++;
    }
    for (int k = n; k < 3; k++) {
      frac *= 10;
    }
    ok = n > 0;
  }
  if (ok && (*p == 'Z' || *p == 'z')) {
    p++;
  } else if (ok && (*p == '+' || *p == '-')) {
    int sign = *p == '-' ? -1 : 1;
    int oh = 0;
    int om = 0;
    p++;
    ok = digits(&p, 2, &oh) == 0 && *p++ == ':' && digits(&p, 2, &om) == 0 &&
         oh <= 23 && om <= 59;
    off = sign * (oh * 60 + om);
  } else {
    ok = 0;
  }
  ok = ok && *p == '\0' && y >= 1 && mo >= 1 && mo <= 12 && d >= 1 &&
       d <= month_days(y, mo) && h <= 23 && mi <= 59 && sec <= 60;
  if (ok) {
    int64_t secs = days_since_epoch(y, mo, d) * 86400 + (int64_t)h * 3600 +
                   (int64_t)mi * 60 + sec - (int64_t)off * 60;
    *ms = secs * 1000 + frac;
  }
  return ok ? 0 : -1;
}

/* A number, or a string that is wholly a number, as a double. */
static int number_of(json_t *v, double *out) {
  int ok = 0;
  if (json_is_number(v)) {
    *out = json_number_value(v);
    ok = 1;
  } else if (json_is_string(v) && json_string_length(v) > 0) {
    const char *s = json_string_value(v);
    char *end = NULL;
    *out = strtod(s, &end);
    ok = end != NULL && *end == '\0' && isfinite(*out);
  }
  return ok;
}

/* The time v holds, in format f, as milliseconds. Returns 0 or -1. */
static int time_of(json_t *v, enum tfmt f, int64_t *ms) {
  double x = 0;
  int ok = 0;
  if (json_is_string(v) && (f == TF_AUTO || f == TF_RFC3339) &&
      hk_map_rfc3339_ms(json_string_value(v), ms) == 0) {
    return 0;
  }
  if (f != TF_RFC3339 && number_of(v, &x)) {
    if (f == TF_UNIX || (f == TF_AUTO && fabs(x) <= 1e11)) {
      x *= 1000.0;
    }
    ok = fabs(x) < 1e17;
    if (ok) {
      *ms = (int64_t)floor(x);
    }
  }
  return ok ? 0 : -1;
}

/* ---------------------------------------------------------------------------
 * Evaluating values
 * ------------------------------------------------------------------------- */

/* A number as JSON: rounded to six decimals, and an integer when whole. */
static json_t *number_json(double x) {
  double r = fabs(x) < 1e12 ? round(x * 1e6) / 1e6 : x;
  json_t *out;
  if (r == floor(r) && fabs(r) < 9007199254740992.0) {
    out = json_integer((json_int_t)r);
  } else {
    out = json_real(r);
  }
  return out;
}

/* Renders a template; returns a new string, or NULL with why set. */
static json_t *render(const char *tpl, json_t *item, char *why, size_t cap) {
  struct hk_buf b;
  const char *p = tpl;
  json_t *out = NULL;
  int ok = 1;
  hk_buf_init(&b, HK_CAP_BODY_MAX);
  while (ok && *p != '\0') {
    const char *open = strchr(p, '{');
    const char *close = open != NULL ? strchr(open, '}') : NULL;
    size_t lit = open != NULL && close != NULL ? (size_t)(open - p) : strlen(p);
    ok = hk_buf_add(&b, p, lit) == HK_E_OK;
    p += lit;
    if (ok && *p == '{') {
      char path[HK_CONFIG_PATH_SPEC_MAX + 1];
      char nb[40];
      size_t n = (size_t)(close - open - 1);
      const char *t = NULL;
      if (n < sizeof path) {
        memcpy(path, open + 1, n);
        path[n] = '\0';
        t = scalar_text(get_alt_as(item, path, n, 1, NULL, NULL), nb,
                        sizeof nb);
      } else {
        snprintf(path, sizeof path, "%.*s", 200, open + 1);
      }
      if (t == NULL || *t == '\0') {
        snprintf(why, cap, "field %.200s is missing", path);
        ok = 0;
      } else {
        ok = hk_buf_add(&b, t, strlen(t)) == HK_E_OK;
        if (!ok) {
          snprintf(why, cap, "field %.200s is too long", path);
        }
      }
      p = close + 1;
    }
  }
  if (ok) {
    out = json_stringn(b.data != NULL ? b.data : "", b.len);
  }
  hk_buf_fini(&b);
  return out;
}

/*
 * Evaluates v on item (see the design comment). Returns a new reference, or
 * NULL with why set to the reason it is missing. *miss is set to 1 when the
 * reason is a lookup that has no entry for the value and no `default`: the
 * caller makes that a dead letter even for an optional attribute, since the
 * field was there and the table is what needs fixing. A `default` of null,
 * like an entry of null, leaves the value out without a dead letter.
 */
static json_t *eval_value(const struct value *v, json_t *item, char *why,
                          size_t cap, int *miss) {
  json_t *raw = NULL;
  char nb[40];
  *miss = 0;
  switch (v->kind) {
  case V_PATH:
    for (size_t i = 0; i < v->npaths && raw == NULL; i++) {
      raw = ref(get_alt(item, v->paths[i], strlen(v->paths[i]), NULL, NULL));
    }
    if (raw == NULL) {
      snprintf(why, cap, "field %s is missing", v->paths[0]);
    }
    break;
  case V_TEMPLATE: raw = render(v->text, item, why, cap); break;
  case V_CONST: raw = ref(v->constant); break;
  }
  if (raw != NULL && v->lookup != NULL) {
    const char *key = scalar_text(raw, nb, sizeof nb);
    json_t *hit = key != NULL ? json_object_get(v->lookup, key) : NULL;
    if (hit == NULL || json_is_null(hit)) {
      snprintf(why, cap, "value \"%.60s\" of %s %.100s", key != NULL ? key : "",
               v->kind == V_PATH ? "field" : "template",
               v->kind == V_PATH ? v->paths[0] : v->text);
      *miss = hit == NULL && v->def == NULL;
      hit = NULL;
    }
    json_decref(raw);
    raw = ref(hit);
  }
  if (raw != NULL && v->scale != 0 && v->kind == V_PATH) {
    double x = 0;
    json_t *scaled = number_of(raw, &x) ? number_json(x * v->scale) : NULL;
    if (scaled == NULL) {
      snprintf(why, cap, "field %s is not a number", v->paths[0]);
    }
    json_decref(raw);
    raw = scaled;
  }
  if (raw != NULL && v->time >= 0) {
    int64_t ms = 0;
    json_t *t =
        time_of(raw, (enum tfmt)v->time, &ms) == 0 ? json_integer(ms) : NULL;
    if (t == NULL) {
      snprintf(why, cap, "field %s is not a time",
               v->kind == V_PATH ? v->paths[0] : "value");
    }
    json_decref(raw);
    raw = t;
  }
  if (raw == NULL && v->def != NULL && !json_is_null(v->def)) {
    raw = json_incref(v->def);
  }
  return raw;
}

/* The reason of a dead letter for a value of `where` (type, subject,
 * attrs.NAME) that eval_value left missing with why and miss. */
static void dead_reason(char *reason, size_t cap, const char *why, int miss,
                        const char *where) {
  if (miss) {
    snprintf(reason, cap, "%s is not in the lookup of %s, which has no default",
             why, where);
  } else {
    snprintf(reason, cap, "%s (required by %s)", why, where);
  }
}

/* ---------------------------------------------------------------------------
 * Mapping
 * ------------------------------------------------------------------------- */

static struct hk_map_out *push(struct hk_map_result *r) {
  struct hk_map_out *o;
  r->items = hk_xrealloc(r->items, (r->n + 1) * sizeof *r->items);
  o = &r->items[r->n++];
  memset(o, 0, sizeof *o);
  return o;
}

/* The provider's event type of item (new string). */
static char *item_ptype(enum prov pv, json_t *item) {
  const char *t = NULL;
  char *out = NULL;
  if (pv == P_PIPEDRIVE) {
    const char *a = json_string_value(get_path(item, "meta.action"));
    const char *e = json_string_value(get_path(item, "meta.entity"));
    if (a != NULL && e != NULL) {
      size_t n = strlen(a) + strlen(e) + 2;
      out = hk_xmalloc(n);
      snprintf(out, n, "%s.%s", a, e);
    }
  } else if (providers[pv].ptype_path != NULL) {
    t = json_string_value(get_path(item, providers[pv].ptype_path));
  }
  if (out == NULL) {
    out = hk_xstrdup(t != NULL && *t != '\0' ? t : "unknown");
  }
  return out;
}

/* Appends the text of the scalar at path (or nothing) and a separator. */
static void add_part(struct hk_buf *b, json_t *item, const char *path,
                     const char *sep) {
  char nb[40];
  const char *t = scalar_text(get_path(item, path), nb, sizeof nb);
  if (hk_buf_addf(b, "%s%s", t != NULL ? t : "", sep) != HK_E_OK) {
    /* The key only grows past the cap on absurd input; a truncated key is
     * still stable across redeliveries. */
  }
}

/* The provider key of an item (new string): see the design comment. */
static char *item_key(const struct msource *s, json_t *item, size_t idx,
                      int in_array, const char *delivery_id) {
  struct hk_buf b;
  const char *key = NULL;
  const char *kpath = providers[s->prov].key_path;
  char nb[40];
  char *out;
  int indexed = 0;
  size_t len;
  hk_buf_init(&b, HK_CAP_BODY_MAX);
  if (s->prov == P_HUBSPOT) {
    add_part(&b, item, "subscriptionId", ".");
    add_part(&b, item, "portalId", ".");
    add_part(&b, item, "eventId", ".");
    add_part(&b, item, "occurredAt", ".");
    add_part(&b, item, "objectId", "");
    key = strspn(b.data, ".") == b.len ? NULL : b.data;
  } else if (kpath != NULL) {
    key = scalar_text(get_path(item, kpath), nb, sizeof nb);
  }
  if ((key == NULL || *key == '\0') && delivery_id != NULL &&
      *delivery_id != '\0') {
    key = delivery_id;
    indexed = in_array;
  }
  if (key == NULL || *key == '\0') {
    char *canon =
        json_dumps(item, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    hk_buf_fini(&b);
    hk_buf_init(&b, HK_CAP_BODY_MAX);
    if (hk_buf_add(&b, canon != NULL ? canon : "",
                   canon != NULL ? strlen(canon) : 0) != HK_E_OK) {
      /* Cannot happen: the item came from a body under the same cap. */
    }
    free(canon);
    key = b.data != NULL ? b.data : "";
    indexed = 1;
  }
  len = strlen(key) + 24;
  out = hk_xmalloc(len);
  if (indexed) {
    snprintf(out, len, "%s#%zu", key, idx);
  } else {
    snprintf(out, len, "%s", key);
  }
  hk_buf_fini(&b);
  return out;
}

/* The event time of item under rule r: its `at`, else the provider's own
 * time field, else the receive time. */
static int64_t event_time(const struct msource *s, const struct rule *r,
                          json_t *item, int64_t received_ms) {
  int64_t ms = received_ms;
  const struct provider *p = &providers[s->prov];
  if ((r->at_path == NULL ||
       time_of(get_alt(item, r->at_path, strlen(r->at_path), NULL, NULL),
               r->at_fmt, &ms) != 0) &&
      (p->at_path == NULL ||
       time_of(get_path(item, p->at_path), p->at_fmt, &ms) != 0)) {
    ms = received_ms;
  }
  return ms;
}

static char *joined_id(const char *source, const char *rule, const char *key) {
  size_t n = strlen(source) + strlen(rule) + strlen(key) + 3;
  char *id = hk_xmalloc(n);
  snprintf(id, n, "%s:%s:%s", source, rule, key);
  return id;
}

/* The key of the owner in the directory (borrowed) whose ids of that system
 * hold id as text, or NULL. */
static const char *owner_by_id(json_t *owners, const char *system,
                               const char *id) {
  const char *key;
  json_t *o;
  char buf[40];
  json_object_foreach(owners, key, o) {
    json_t *ids = json_object_get(json_object_get(o, "ids"), system);
    size_t n = json_is_array(ids) ? json_array_size(ids) : 1;
    for (size_t i = 0; i < n; i++) {
      json_t *x = json_is_array(ids) ? json_array_get(ids, i) : ids;
      const char *t = x != NULL ? scalar_text(x, buf, sizeof buf) : NULL;
      if (t != NULL && strcmp(t, id) == 0) {
        return key;
      }
    }
  }
  return NULL;
}

/*
 * With an owners directory, the event's "owner" becomes the key of the
 * person it names: a key of the directory as is, else the one whose ids of
 * the provider's system (the source's name for a generic provider, so a
 * source named "salesforce" reads Salesforce ids) hold it. An id nobody
 * holds is moved to "owner_unknown", so the clock falls back to the
 * handoff's owner and the id is counted.
 */
static void resolve_owner(const struct msource *s, json_t *attrs) {
  json_t *v = json_object_get(attrs, "owner");
  const char *system = s->prov == P_GENERIC ? s->name : providers[s->prov].name;
  char buf[40];
  const char *text = v != NULL ? scalar_text(v, buf, sizeof buf) : NULL;
  const char *key;
  if (text == NULL || *text == '\0' || json_object_size(s->owners) == 0) {
    return;
  }
  key = json_object_get(s->owners, text) != NULL
            ? text
            : owner_by_id(s->owners, system, text);
  if (key != NULL) {
    json_object_set_new(attrs, "owner", json_string(key));
  } else {
    json_object_set_new(attrs, "owner_unknown", json_string(text));
    json_object_del(attrs, "owner");
  }
}

/* Applies rule r to item; pushes an event or a dead letter. */
static void apply(const struct msource *s, const struct rule *r, json_t *item,
                  const char *key, const char *ptype, int64_t received_ms,
                  struct hk_map_result *out) {
  char why[300] = "";
  char reason[400] = "";
  int miss = 0;
  json_t *type = eval_value(&r->type, item, why, sizeof why, &miss);
  json_t *subject = NULL;
  json_t *attrs = json_object();
  struct hk_map_out *o;
  if (type == NULL) {
    dead_reason(reason, sizeof reason, why, miss, "type");
  } else if (!json_is_string(type)) {
    snprintf(reason, sizeof reason, "the type is not text (required by type)");
  } else {
    subject = eval_value(&r->subject, item, why, sizeof why, &miss);
    if (subject == NULL) {
      dead_reason(reason, sizeof reason, why, miss, "subject");
    } else if (!json_is_string(subject)) {
      snprintf(reason, sizeof reason,
               "the subject is not text (required by subject)");
    } else if (json_string_length(subject) > HK_CAP_SUBJECT) {
      /* The status API names a subject in a path: keep it one it takes. */
      snprintf(reason, sizeof reason, "the subject is over %u bytes (%zu)",
               HK_CAP_SUBJECT, json_string_length(subject));
    }
  }
  for (size_t i = 0; i < r->nattrs && reason[0] == '\0'; i++) {
    json_t *v = eval_value(&r->attrs[i].v, item, why, sizeof why, &miss);
    if (v != NULL) {
      json_object_set_new(attrs, r->attrs[i].name, v);
    } else if (r->attrs[i].v.required || miss) {
      char where[80];
      snprintf(where, sizeof where, "attrs.%s", r->attrs[i].name);
      dead_reason(reason, sizeof reason, why, miss, where);
    }
  }
  o = push(out);
  o->ptype = hk_xstrdup(ptype);
  if (reason[0] != '\0') {
    o->status = HK_MAP_DEAD;
    o->rule = hk_xstrdup(r->name);
    o->reason = hk_xstrdup(reason);
    o->item = json_incref(item);
    json_decref(attrs);
  } else {
    resolve_owner(s, attrs);
    o->status = HK_MAP_EVENT;
    o->ev.id = joined_id(s->name, r->name, key);
    o->ev.source = hk_xstrdup(s->name);
    o->ev.type = hk_xstrdup(json_string_value(type));
    o->ev.subject = hk_xstrdup(json_string_value(subject));
    o->ev.at_ms = event_time(s, r, item, received_ms);
    o->ev.attrs = attrs;
    o->ev.rule = hk_xstrdup(r->name);
  }
  json_decref(type);
  json_decref(subject);
}

static void map_item(const struct msource *s, json_t *item, size_t idx,
                     int in_array, const char *delivery_id, int64_t received_ms,
                     struct hk_map_result *out) {
  char *ptype = item_ptype(s->prov, item);
  char *key = item_key(s, item, idx, in_array, delivery_id);
  int matched = 0;
  for (size_t i = 0; i < s->nrules; i++) {
    const struct rule *r = &s->rules[i];
    int ok = 1;
    for (size_t j = 0; j < r->nconds && ok; j++) {
      ok = cond_holds(s->prov, item, &r->conds[j]);
    }
    if (ok) {
      matched = 1;
      apply(s, r, item, key, ptype, received_ms, out);
    }
  }
  if (!matched) {
    struct hk_map_out *o = push(out);
    o->status = HK_MAP_IGNORED;
    o->ptype = hk_xstrdup(ptype);
  }
  free(key);
  free(ptype);
}

enum hk_err hk_map_delivery(const struct hk_mapper *m, const char *source,
                            const char *delivery_id, const char *headers_json,
                            const char *body, size_t len, int64_t received_ms,
                            struct hk_map_result *out, struct hk_error *err) {
  const struct msource *s = NULL;
  json_t *doc = NULL;
  json_error_t jerr;
  enum hk_err rc = HK_E_OK;
  (void)headers_json;
  out->items = NULL;
  out->n = 0;
  for (size_t i = 0; i < m->n && s == NULL; i++) {
    if (strcmp(m->src[i].name, source) == 0) {
      s = &m->src[i];
    }
  }
  if (s == NULL) {
    rc = hk_fail(err, HK_E_UNKNOWN_SOURCE, "source \"%.64s\" is not configured",
                 source);
  } else if ((doc = json_loadb(body, len, JSON_DECODE_ANY, &jerr)) == NULL) {
    rc = hk_fail(err, HK_E_BAD_JSON, "the body is not JSON: %s at %d:%d",
                 jerr.text, jerr.line, jerr.column);
  } else if (s->split && json_is_array(doc)) {
    size_t i;
    json_t *item;
    json_array_foreach(doc, i, item) {
      map_item(s, item, i, 1, delivery_id, received_ms, out);
    }
  } else {
    map_item(s, doc, 0, 0, delivery_id, received_ms, out);
  }
  json_decref(doc);
  return rc;
}

void hk_event_fini(struct hk_event *ev) {
  free(ev->id);
  free(ev->source);
  free(ev->type);
  free(ev->subject);
  free(ev->rule);
  json_decref(ev->attrs);
  memset(ev, 0, sizeof *ev);
}

void hk_map_result_fini(struct hk_map_result *r) {
  for (size_t i = 0; i < r->n; i++) {
    struct hk_map_out *o = &r->items[i];
    hk_event_fini(&o->ev);
    free(o->rule);
    free(o->reason);
    free(o->ptype);
    json_decref(o->item);
  }
  free(r->items);
  r->items = NULL;
  r->n = 0;
}

json_t *hk_event_json(const struct hk_event *ev) {
  return json_pack("{s:s, s:s, s:s, s:s, s:I, s:O, s:s}", "id", ev->id,
                   "source", ev->source, "type", ev->type, "subject",
                   ev->subject, "at", (json_int_t)ev->at_ms, "attrs", ev->attrs,
                   "rule", ev->rule);
}
