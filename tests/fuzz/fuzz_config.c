/*
 * fuzz_config.c -- the config loader: any text through hk_config_parse
 * (JSON syntax, the schema walk, durations, every diagnostic line), and a
 * config that loads through hk_mapper_new, the compiler of its rules.
 *
 * HK_CONFIG_NO_SECRETS: the loader would otherwise read whatever files and
 * environment variables the text names, which is the operator's to choose
 * and not input from outside.
 */
#include <stdlib.h>

#include "config/config.h"
#include "tests/fuzz/fuzz.h"
#include "journey/journey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fz_strndup(data, size);
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;

  if (hk_config_parse(text, size, "fuzz.json", HK_CONFIG_NO_SECRETS, &cfg,
                      &diag) == HK_E_OK) {
    struct hk_error err = {HK_E_OK, ""};
    struct hk_mapper *m = hk_mapper_new(cfg, &err);
    hk_mapper_free(m);
  }
  hk_config_free(cfg);
  hk_config_diag_fini(&diag);
  free(text);
  return 0;
}
