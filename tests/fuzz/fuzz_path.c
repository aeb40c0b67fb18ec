/*
 * fuzz_path.c -- the API's path parsers: any method and path through
 * hk_route_match, the {subject} it leaves raw through hk_path_unescape,
 * and the whole path through hk_path_unescape too (its escapes, UTF-8
 * check and cap).
 *
 * Input: a selector byte (the method), then the path. nginx passes paths
 * without NULs, so the path ends at the first one.
 */
#include <stdlib.h>
#include <string.h>

#include "fcgi/fcgi.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET",    "HEAD",    "POST", "PUT",
                                      "DELETE", "OPTIONS", "get",  ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *method = methods[(size > 0 ? data[0] : 0) % 8];
  char *path = fz_strndup(size > 0 ? data + 1 : data, size > 0 ? size - 1 : 0);
  struct hk_route route;
  struct hk_error err = {HK_E_OK, ""};
  char *text = NULL;

  if (hk_route_match(method, path, &route) == HK_E_OK && route.raw != NULL) {
    if (hk_path_unescape(route.raw, strlen(route.raw), &text, &err) ==
        HK_E_OK) {
      free(text);
    }
  }
  if (hk_path_unescape(path, strlen(path), &text, &err) == HK_E_OK) {
    free(text);
  }
  (void)hk_route_is_api(route.id);
  free(path);
  return 0;
}
