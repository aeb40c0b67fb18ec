/*
 * config_internal.h -- the schema machinery shared by the files of config/.
 *
 * The schema is data: a tree of struct node, each saying which JSON types a
 * value may have, which keys an object may hold (struct field, with
 * "required" and a default), what every element of an array or every value
 * of a name-keyed object must be, and a small validator for the rest. One
 * walker (walk.c) checks any value against its node and reports every
 * problem as "FILE: $.json.path: message". The tables themselves are in
 * schema.c; loading and decoding in config.c.
 */
#ifndef HK_CONFIG_INTERNAL_H
#define HK_CONFIG_INTERNAL_H

#include "config/config.h"

/* JSON types a node accepts (a bit mask). */
#define T_NULL 0x01u
#define T_BOOL 0x02u
#define T_INT 0x04u
#define T_REAL 0x08u
#define T_NUMBER (T_INT | T_REAL)
#define T_STRING 0x10u
#define T_ARRAY 0x20u
#define T_OBJECT 0x40u
#define T_SCALAR (T_NULL | T_BOOL | T_NUMBER | T_STRING)

/* Node flags. */
#define N_MAP 0x01u      /* object keyed by free names; values are `items` */
#define N_NONEMPTY 0x02u /* string, array or map must not be empty */

/* Field flags. */
#define F_REQUIRED 0x01u

/* Longest JSON path kept for messages; longer ones end in "...". */
#define PATH_MAX_LEN 256

/* The state of one walk: where we are and where problems go. */
struct walk {
  const char *file;
  struct hk_config_diag *diag;
  json_t *root;
  char path[PATH_MAX_LEN + 4];
  size_t plen;
};

struct field;

/* What one JSON value must be. Every member but `types` is optional. */
struct node {
  unsigned types;             /* T_* accepted */
  unsigned flags;             /* N_* */
  const struct field *fields; /* object: its keys, closed by {NULL} */
  const struct node *items;   /* array: each element; N_MAP: each value */
  /* N_MAP: checks one key (NULL: any key). */
  void (*keycheck)(struct walk *w, const char *key);
  /* Runs once the children are clean; reports its own problems. */
  void (*check)(struct walk *w, json_t *v);
  const char *const *oneof; /* string: one of these, closed by NULL */
  long long min, max;       /* integer: bounds, when max > min */
  const char *ref;          /* string: must name a key of $.<ref> */
};

struct field {
  const char *key;
  const struct node *node;
  unsigned flags;  /* F_* */
  const char *def; /* JSON text put in the document when absent, or NULL */
};

/* The schema of the whole file (schema.c). */
extern const struct node hk_config_schema;

/* "standard-webhooks", "stripe", … in the order of enum hk_source_kind,
 * closed by NULL. */
extern const char *const hk_config_kind_names[];

/* Appends one formatted line to diag. */
void hk_config_diag_addf(struct hk_config_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports "FILE: PATH: message" at the walk's current path. */
void hk_config_errf(struct walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends ".key" (or ["key"] when it needs quoting) or "[i]" to the path
 * and returns the old length, to give back to hk_config_path_pop. */
size_t hk_config_path_key(struct walk *w, const char *key);
size_t hk_config_path_index(struct walk *w, size_t i);
void hk_config_path_pop(struct walk *w, size_t len);

/* Writes s quoted and escaped (at most 64 characters of it) into out, for
 * messages, and returns out. Never use it on a secret. */
const char *hk_config_quote(char *out, size_t cap, const char *s);

/* Checks v against node n at the walk's current path. Fills defaults into
 * the document, so v may be modified. */
void hk_config_walk(struct walk *w, json_t *v, const struct node *n);

/* Whether s is a duration, optionally preceded by '-' (offsets); sets *ms. */
int hk_config_duration(const char *s, int allow_negative, int64_t *ms);

/* Whether s is "whsec_" + base64 or bare base64 (alphabet and padding). */
int hk_config_is_whsec(const char *s, size_t len);

#endif
