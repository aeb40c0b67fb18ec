/*
 * fuzz_map.c -- the mapping of a delivery: a queued body of any source
 * (stripe, hubspot, paddle, pipedrive, chargebee presets; the rules of
 * config/examples/saas.json; the generic kinds' array bodies) through
 * hk_map_delivery, and every event it yields through hk_event_json.
 *
 * Input: a selector byte (the source, fz_source), then the body. Bodies
 * reach the mapper only after intake parsed them, but the mapper parses
 * them again and must not trust that.
 */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "journey/journey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hk_mapper *mapper;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct hk_map_result res;
  struct hk_error err = {HK_E_OK, ""};
  const struct hk_source *src;
  char *body;

  if (mapper == NULL) {
    mapper = hk_mapper_new(fz_config(), &err);
    if (mapper == NULL) {
      abort();
    }
  }
  src = fz_source(size > 0 ? data[0] : 0);
  body = fz_strndup(size > 0 ? data + 1 : data, size > 0 ? size - 1 : 0);
  if (hk_map_delivery(mapper, src->name, "dlv_fuzz", "{}", body,
                      size > 0 ? size - 1 : 0, FZ_NOW_MS, &res,
                      &err) == HK_E_OK) {
    for (size_t i = 0; i < res.n; i++) {
      if (res.items[i].status == HK_MAP_EVENT) {
        json_decref(hk_event_json(&res.items[i].ev));
      }
    }
  }
  hk_map_result_fini(&res);
  free(body);
  return 0;
}
