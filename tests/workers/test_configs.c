/*
 * test_configs.c -- the worker's published configs: a reload frees what no
 * thread runs on any more, and never what one still does.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "config/config.h"
#include "workers/configs.h"

static struct hk_config *load(void) {
  static const char text[] =
      "{\"redis\": {\"host\": \"127.0.0.1\"}, \"sources\": {\"demo\": "
      "{\"kind\": \"standard-webhooks\", \"secret\": {\"env\": \"S\"}}}}";
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag = {NULL, 0};
  cr_assert_eq(hk_config_parse(text, strlen(text), "t.json",
                               HK_CONFIG_NO_SECRETS, &cfg, &diag),
               HK_E_OK, "%s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  return cfg;
}

Test(configs, frees_a_config_no_reader_holds_once_a_newer_one_exists) {
  struct hk_config *first = load();
  struct hk_configs cs;
  hk_configs_init(&cs, first);
  for (int i = 0; i < 100; i++) {
    hk_configs_push(&cs, load());
  }
  /* The caller's first one (never ours to free) and the newest. */
  cr_assert_eq(hk_configs_alive(&cs), 2);
  hk_configs_fini(&cs);
  hk_config_free(first);
}

Test(configs, keeps_a_config_while_a_reader_holds_it) {
  struct hk_config *first = load();
  struct hk_configs cs;
  size_t a;
  size_t b;
  const struct hk_config *held;
  hk_configs_init(&cs, first);
  hk_configs_push(&cs, load());
  held = hk_configs_acquire(&cs, &a);
  cr_assert_eq(a, 1);
  hk_configs_push(&cs, load());
  hk_configs_push(&cs, load());
  /* first, the held generation 1, and the newest (3); 2 went at once. */
  cr_assert_eq(hk_configs_alive(&cs), 3);
  cr_assert_not_null(held);
  /* The reader moves on: it takes the newest, then lets go of the old. */
  cr_assert_not_null(hk_configs_acquire(&cs, &b));
  cr_assert_eq(b, 3);
  hk_configs_release(&cs, a);
  cr_assert_eq(hk_configs_alive(&cs), 2);
  hk_configs_release(&cs, b);
  /* The newest stays even with no reader. */
  cr_assert_eq(hk_configs_alive(&cs), 2);
  hk_configs_release(&cs, HK_CONFIGS_NONE);
  hk_configs_fini(&cs);
  hk_config_free(first);
}
