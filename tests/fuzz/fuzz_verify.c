/*
 * fuzz_verify.c -- every signature scheme and the intake decision: one POST
 * to one source of each kind (stripe, hubspot, standard-webhooks, paddle,
 * hmac, basic, token), at a fixed time, through hk_intake_decide (content
 * type, hk_verify, the body checks), and the API's bearer token check.
 *
 * The input is a request as fuzz.h decodes it: a selector byte, a header
 * block, an empty line, the body. The seeds (tests/fuzz/seeds) are the
 * signed requests of tests/fixtures re-signed at FZ_NOW_MS, so the fuzzer
 * starts inside the body checks; finding valid signatures is not the aim,
 * sanitizer reports and crashes are.
 */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fz_request r;
  struct hk_delivery d;
  struct hk_error err = {HK_E_OK, ""};
  const char *auth;

  fz_request_init(&r, data, size);
  if (hk_intake_decide(&r.req, r.src, FZ_NOW_MS, &d, &err) == HK_E_OK) {
    hk_delivery_fini(&d);
  }
  auth = hk_request_header(&r.req, "authorization");
  if (auth != NULL) {
    (void)!hk_api_authorize(fz_config(), auth, &err);
  }
  fz_request_fini(&r);
  return 0;
}
