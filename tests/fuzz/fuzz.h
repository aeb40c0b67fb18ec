/*
 * fuzz.h -- shared by the libFuzzer harnesses of tests/fuzz: the fixed
 * configuration they run against and the split of one fuzz input into a
 * request's parts.
 *
 * The harnesses fuzz what a sender or an API client controls, never the
 * config: the config is the operator's, loaded once per process through
 * the real loader (hk_config_parse) so that every source has the defaults
 * a running server would give it.
 */
#ifndef HK_TEST_FUZZ_H
#define HK_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "webhooks/webhooks.h"

/* The fixed time of every harness: 2023-11-14T22:13:20Z, the time the seed
 * corpus is signed at (tests/fuzz/seeds). */
#define FZ_NOW_MS INT64_C(1700000000000)

/* The sources of the fixed config, one per kind, in the order a selector
 * byte picks them (fz_source). */
#define FZ_NSOURCES 8

/*
 * The fixed config: one source per kind (demo: standard-webhooks, stripe,
 * hubspot, paddle, tool: hmac, pipedrive and chargebee: basic, crm: token)
 * with the secrets of tests/fixtures, every provider preset, and the rules
 * of config/examples/saas.json. Loaded on first use; aborts when it does
 * not load (a broken harness, not a finding). Never freed.
 */
const struct hk_config *fz_config(void);

/* The source a selector byte picks. Borrowed from fz_config(). */
const struct hk_source *fz_source(uint8_t selector);

/* At most this many headers in one fuzz input; the rest are ignored. */
#define FZ_MAX_HEADERS 32

/*
 * A request decoded from a fuzz input (every pointer into its own copy):
 *
 *   byte 0          selects the source (fz_source)
 *   header block    lines "name: value" up to the first empty line; a
 *                   line "?q" sets the query to q, a "content-type" line
 *                   the content type
 *   body            everything after the empty line ("\n\n")
 */
struct fz_request {
  struct hk_request req;
  const struct hk_source *src;
  struct hk_header headers[FZ_MAX_HEADERS];
  char *text; /* the copy the pointers point into (owned) */
};

/* Decodes data into r; release with fz_request_fini. */
void fz_request_init(struct fz_request *r, const uint8_t *data, size_t size);
void fz_request_fini(struct fz_request *r);

/* A NUL-terminated copy of data (caller frees). */
char *fz_strndup(const uint8_t *data, size_t size);

#endif
