/*
 * map.h -- internal to journey/: the table of built-in preset rules that
 * map.c compiles next to the config's own rules.
 */
#ifndef HK_JOURNEY_MAP_H
#define HK_JOURNEY_MAP_H

#include <stddef.h>

/*
 * One preset rule. Its text is a rule of the config language
 * (docs/config.md, `events[i]` without `source`), written with single
 * quotes so that it reads well inside a C string; the compiler turns every
 * single quote into a double quote before parsing, so no rule text may
 * hold an apostrophe. Two keys that the config schema does not accept are
 * allowed here: a value object's `path` may be an array of paths tried in
 * order (the first present one wins; config rules write "a | b", which
 * presets may use too), and `time` (auto, unix, unix_ms,
 * rfc3339) turns the value into integer milliseconds since the epoch.
 */
struct hk_preset {
  const char *name;  /* "<provider>.<rule>", such as "stripe.invoice_paid" */
  const char *group; /* "invoices": "stripe.invoices" enables the group */
  const char *text;
};

/* The whole table (static storage) and its length in *n. */
const struct hk_preset *hk_presets(size_t *n);

#endif
