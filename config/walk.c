/*
 * walk.c -- the one generic walker that checks a JSON value against a
 * schema node (config_internal.h), and the diagnostics it writes.
 *
 * The walker never stops at the first problem: it reports each one at its
 * JSON path and goes on with the siblings. It does not descend into a value
 * of the wrong type, and runs a node's validator only when everything below
 * it was clean, so one mistake gives one line, not a cascade.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* ---------------------------------------------------------------------------
 * Diagnostics and paths
 * ------------------------------------------------------------------------- */

void hk_config_diag_addf(struct hk_config_diag *diag, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  diag->lines = hk_xrealloc(diag->lines, (diag->n + 1) * sizeof *diag->lines);
  diag->lines[diag->n++] = hk_xstrdup(line);
}

void hk_config_errf(struct walk *w, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  hk_config_diag_addf(w->diag, "%s: %s: %s", w->file, w->path, msg);
}

const char *hk_config_quote(char *out, size_t cap, const char *s) {
  size_t o = 0;
  size_t i;
  out[o++] = '"';
  for (i = 0; s[i] != '\0' && o + 8 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (i == 64) {
      o += (size_t)snprintf(out + o, cap - o, "...");
      break;
    }
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20 || c >= 0x7f) {
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
  return out;
}

static void path_append(struct walk *w, const char *s) {
  size_t n = strlen(s);
  if (w->plen + n > PATH_MAX_LEN) {
    /* Keep the prefix and mark the cut; pop restores the old length. */
    memcpy(w->path + w->plen, "...", 4);
    w->plen += 3;
    return;
  }
  memcpy(w->path + w->plen, s, n + 1);
  w->plen += n;
}

size_t hk_config_path_key(struct walk *w, const char *key) {
  size_t old = w->plen;
  char buf[160];
  size_t n = strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_-");
  if (w->plen >= PATH_MAX_LEN) {
    return old;
  }
  if (key[0] != '\0' && key[n] == '\0' && n < 120) {
    (void)snprintf(buf, sizeof buf, ".%s", key);
  } else {
    char q[128];
    (void)snprintf(buf, sizeof buf, "[%s]", hk_config_quote(q, sizeof q, key));
  }
  path_append(w, buf);
  return old;
}

size_t hk_config_path_index(struct walk *w, size_t i) {
  size_t old = w->plen;
  char buf[32];
  if (w->plen >= PATH_MAX_LEN) {
    return old;
  }
  (void)snprintf(buf, sizeof buf, "[%zu]", i);
  path_append(w, buf);
  return old;
}

void hk_config_path_pop(struct walk *w, size_t len) {
  w->plen = len;
  w->path[len] = '\0';
}

/* ---------------------------------------------------------------------------
 * The walker
 * ------------------------------------------------------------------------- */

static unsigned type_of(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return T_OBJECT;
  case JSON_ARRAY: return T_ARRAY;
  case JSON_STRING: return T_STRING;
  case JSON_INTEGER: return T_INT;
  case JSON_REAL: return T_REAL;
  case JSON_TRUE:
  case JSON_FALSE: return T_BOOL;
  case JSON_NULL:
  default: return T_NULL;
  }
}

static const struct {
  unsigned type;
  const char *name;
} type_names[] = {
    {T_OBJECT, "an object"}, {T_ARRAY, "an array"}, {T_STRING, "a string"},
    {T_NUMBER, "a number"},  {T_INT, "an integer"}, {T_REAL, "a number"},
    {T_BOOL, "a boolean"},   {T_NULL, "null"},
};

/* "a string or an object" for a mask of accepted types. */
static void types_text(char *out, size_t cap, unsigned types) {
  size_t i;
  size_t o = 0;
  unsigned left = types;
  out[0] = '\0';
  if ((types & T_SCALAR) == T_SCALAR) {
    o += (size_t)snprintf(out, cap, "a string, number, boolean or null");
    left &= ~T_SCALAR;
  }
  for (i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
    unsigned t = type_names[i].type;
    if ((left & t) == t && left != 0) {
      o += (size_t)snprintf(out + o, cap - o, "%s%s", o > 0 ? " or " : "",
                            type_names[i].name);
      left &= ~t;
    }
  }
}

static void walk_object(struct walk *w, json_t *obj, const struct node *n);

static void walk_map(struct walk *w, json_t *obj, const struct node *n) {
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    size_t mark = hk_config_path_key(w, key);
    if (n->keycheck != NULL) {
      n->keycheck(w, key);
    }
    if (n->items != NULL) {
      hk_config_walk(w, val, n->items);
    }
    hk_config_path_pop(w, mark);
  }
}

static const struct field *find_field(const struct field *f, const char *k) {
  for (; f != NULL && f->key != NULL; f++) {
    if (strcmp(f->key, k) == 0) {
      return f;
    }
  }
  return NULL;
}

static void walk_object(struct walk *w, json_t *obj, const struct node *n) {
  const struct field *f;
  const char *key;
  json_t *val;
  char q[160];
  /* The document's keys, in document order. */
  json_object_foreach(obj, key, val) {
    size_t mark = hk_config_path_key(w, key);
    f = find_field(n->fields, key);
    if (f == NULL) {
      hk_config_path_pop(w, mark);
      hk_config_errf(w, "unknown key %s", hk_config_quote(q, sizeof q, key));
      continue;
    }
    hk_config_walk(w, val, f->node);
    hk_config_path_pop(w, mark);
  }
  /* Then what is missing: an error when required, else the default. */
  for (f = n->fields; f != NULL && f->key != NULL; f++) {
    json_t *def;
    size_t mark;
    if (json_object_get(obj, f->key) != NULL) {
      continue;
    }
    if (f->flags & F_REQUIRED) {
      hk_config_errf(w, "missing required key %s",
                     hk_config_quote(q, sizeof q, f->key));
      continue;
    }
    if (f->def == NULL) {
      continue;
    }
    def = json_loads(f->def, JSON_DECODE_ANY, NULL);
    if (def == NULL) {
      abort(); /* a bad default in the table is a programmer error */
    }
    json_object_set_new(obj, f->key, def);
    mark = hk_config_path_key(w, f->key);
    hk_config_walk(w, def, f->node);
    hk_config_path_pop(w, mark);
  }
}

static void walk_string(struct walk *w, json_t *v, const struct node *n) {
  const char *s = json_string_value(v);
  char q[160];
  if (n->oneof != NULL) {
    size_t i;
    char list[256];
    size_t o = 0;
    for (i = 0; n->oneof[i] != NULL; i++) {
      if (strcmp(n->oneof[i], s) == 0) {
        return;
      }
    }
    for (i = 0; n->oneof[i] != NULL && o < sizeof list; i++) {
      o += (size_t)snprintf(list + o, sizeof list - o, "%s%s",
                            i > 0 ? ", " : "", n->oneof[i]);
    }
    hk_config_errf(w, "%s is not one of: %s", hk_config_quote(q, sizeof q, s),
                   list);
    return;
  }
  if (n->ref != NULL) {
    json_t *section = json_object_get(w->root, n->ref);
    if (json_object_get(section, s) == NULL) {
      hk_config_errf(w, "%s is not defined in $.%s",
                     hk_config_quote(q, sizeof q, s), n->ref);
    }
  }
}

void hk_config_walk(struct walk *w, json_t *v, const struct node *n) {
  unsigned t = type_of(v);
  size_t before = w->diag->n;
  char want[128];
  char got[64];
  if ((n->types & t) == 0) {
    types_text(want, sizeof want, n->types);
    if (t == T_REAL && (n->types & T_INT)) {
      (void)snprintf(got, sizeof got, "a fractional number");
    } else {
      types_text(got, sizeof got, t);
    }
    hk_config_errf(w, "expected %s, got %s", want, got);
    return;
  }
  if ((n->flags & N_NONEMPTY) &&
      ((t == T_STRING && json_string_length(v) == 0) ||
       (t == T_ARRAY && json_array_size(v) == 0) ||
       (t == T_OBJECT && json_object_size(v) == 0))) {
    hk_config_errf(w, "must not be empty");
    return;
  }
  if (t == T_STRING) {
    if (strlen(json_string_value(v)) != json_string_length(v)) {
      hk_config_errf(w, "must not contain NUL bytes");
      return;
    }
    walk_string(w, v, n);
  } else if (t == T_INT && n->max > n->min) {
    json_int_t i = json_integer_value(v);
    if (i < n->min || i > n->max) {
      hk_config_errf(w, "must be between %lld and %lld", n->min, n->max);
    }
  } else if (t == T_ARRAY && n->items != NULL) {
    size_t i;
    json_t *el;
    json_array_foreach(v, i, el) {
      size_t mark = hk_config_path_index(w, i);
      hk_config_walk(w, el, n->items);
      hk_config_path_pop(w, mark);
    }
  } else if (t == T_OBJECT) {
    if (n->flags & N_MAP) {
      walk_map(w, v, n);
    } else if (n->fields != NULL) {
      walk_object(w, v, n);
    }
  }
  if (n->check != NULL && w->diag->n == before) {
    n->check(w, v);
  }
}
