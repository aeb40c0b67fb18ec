/*
 * sign.c -- handoffctl sign: print the headers a source's provider would
 * send with a body, ready for `curl -H @-`, so that a test delivery can be
 * posted by hand.
 *
 * It reads that source's secret and no other (not the API tokens, not the
 * Redis password), the first of its secrets that is set, as a sender
 * rolling secrets would, and wipes it after use. Basic and token sources
 * sign nothing: their credential is the proof, and this never prints one.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "ctl/ctl.h"
#include "webhooks/webhooks.h"

static char *read_all(FILE *f, size_t *len) {
  struct hk_buf b;
  char chunk[8192];
  size_t n;
  hk_buf_init(&b, HK_CAP_BODY_MAX);
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (hk_buf_add(&b, chunk, n) != HK_E_OK) {
      hk_buf_fini(&b);
      return NULL;
    }
  }
  return hk_buf_take(&b, len);
}

static const char *conf_str(const struct hk_source *src, const char *key) {
  return json_string_value(json_object_get(src->conf, key));
}

/* Overwrites and frees the bytes of s (NULL-safe when empty). */
static void secret_wipe(struct hk_secret *s) {
  volatile unsigned char *p = s->bytes;
  for (size_t i = 0; p != NULL && i < s->len; i++) {
    p[i] = 0;
  }
  free(s->bytes);
  s->bytes = NULL;
  s->len = 0;
}

/* Reads the secret one reference names ({"env": NAME} or {"file": PATH}),
 * as the config loader does. Returns 1 when read into *out (wipe it with
 * secret_wipe), 0 when unset, empty or unreadable (why goes in why). */
static int read_ref(const json_t *ref, struct hk_secret *out, char *why,
                    size_t n) {
  const char *env = json_string_value(json_object_get(ref, "env"));
  const char *file = json_string_value(json_object_get(ref, "file"));
  if (env != NULL) {
    const char *v = getenv(env);
    if (v == NULL || v[0] == '\0' || strlen(v) > HK_CAP_SECRET) {
      snprintf(why, n, "environment variable %s is %s", env,
               v == NULL      ? "not set"
               : v[0] == '\0' ? "empty"
                              : "too long");
      return 0;
    }
    out->len = strlen(v);
    out->bytes = (unsigned char *)hk_xstrndup(v, out->len);
    return 1;
  }
  if (file != NULL) {
    FILE *f = fopen(file, "rb");
    char buf[HK_CAP_SECRET + 2];
    size_t len = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL) {
      fclose(f);
    }
    if (len > 0 && buf[len - 1] == '\n') {
      len--;
    }
    if (f == NULL || len == 0 || len > HK_CAP_SECRET) {
      snprintf(why, n, "file %s is %s", file,
               f == NULL  ? "unreadable"
               : len == 0 ? "empty"
                          : "too long");
      memset(buf, 0, sizeof buf);
      return 0;
    }
    out->len = len;
    out->bytes = (unsigned char *)hk_xstrndup(buf, len);
    memset(buf, 0, sizeof buf);
    return 1;
  }
  snprintf(why, n, "it names no env or file");
  return 0;
}

/* Reads the first secret of src that is set, in the config's order (the
 * config was loaded without secrets, so nothing else is read). Returns
 * HK_CTL_EXIT_OK with *out filled, or HK_CTL_EXIT_CONFIG after saying
 * why. */
static enum hk_ctl_exit read_source_secret(const struct hk_source *src,
                                           struct hk_secret *out) {
  const json_t *secret = json_object_get(src->conf, "secret");
  size_t n = json_is_array(secret) ? json_array_size(secret) : 1;
  char why[600] = "";
  for (size_t i = 0; i < n; i++) {
    const json_t *ref =
        json_is_array(secret) ? json_array_get(secret, i) : secret;
    if (read_ref(ref, out, why, sizeof why)) {
      return HK_CTL_EXIT_OK;
    }
  }
  fprintf(stderr,
          "handoffctl: no secret of source %s is set (%s%s); for the dev "
          "stack's: eval \"$(deploy/dev env)\"\n",
          src->name, n > 1 ? "the last: " : "", why);
  return HK_CTL_EXIT_CONFIG;
}

/* Prints the headers src's provider would send with body, signed with key
 * at ts (seconds). Returns an exit status. */
static enum hk_ctl_exit print_signed(const struct hk_source *src,
                                     const struct hk_secret *key,
                                     const char *id, int64_t ts,
                                     const char *body, size_t len) {
  char *sig = NULL;
  enum hk_ctl_exit rc = HK_CTL_EXIT_FAILURE;

  printf("Content-Type: application/json\n");
  switch (src->kind) {
  case HK_SOURCE_STANDARD_WEBHOOKS:
    sig = hk_sign_standard(key, id, ts, body, len);
    if (sig != NULL) {
      printf("webhook-id: %s\nwebhook-timestamp: %" PRId64
             "\nwebhook-signature: %s\n",
             id, ts, sig);
    }
    break;
  case HK_SOURCE_STRIPE:
    sig = hk_sign_stripe(key, ts, body, len);
    if (sig != NULL) {
      printf("Stripe-Signature: %s\n", sig);
    }
    break;
  case HK_SOURCE_PADDLE:
    sig = hk_sign_paddle(key, ts, body, len);
    if (sig != NULL) {
      printf("Paddle-Signature: %s\n", sig);
    }
    break;
  case HK_SOURCE_HUBSPOT:
    sig = hk_sign_hubspot_v3(key, "POST", conf_str(src, "public_url"),
                             ts * 1000, body, len);
    if (sig != NULL) {
      printf("X-HubSpot-Signature-v3: %s\nX-HubSpot-Request-Timestamp: "
             "%" PRId64 "\n",
             sig, ts * 1000);
    }
    break;
  case HK_SOURCE_HMAC:
    sig = hk_sign_hmac(key, conf_str(src, "hash"), conf_str(src, "encoding"),
                       conf_str(src, "prefix"), body, len);
    if (sig != NULL) {
      printf("%s: %s\n", conf_str(src, "header"), sig);
    }
    break;
  case HK_SOURCE_BASIC:
  case HK_SOURCE_TOKEN:
  default: break;
  }
  if (sig != NULL) {
    rc = HK_CTL_EXIT_OK;
  } else {
    fprintf(stderr, "handoffctl: the secret of %s cannot sign (%s)\n",
            src->name, src->kind_name);
  }
  free(sig);
  return rc;
}

enum hk_ctl_exit hk_ctl_sign(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"id", required_argument, NULL, 'i'},
      {"timestamp", required_argument, NULL, 't'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL;
  const char *id = NULL;
  char idbuf[64];
  int64_t ts = hk_time_now_ms() / 1000;
  struct hk_config *cfg;
  const struct hk_source *src;
  struct hk_secret key = {NULL, 0};
  FILE *in = stdin;
  char *body;
  size_t len = 0;
  int c;
  enum hk_ctl_exit rc = HK_CTL_EXIT_FAILURE;

  while ((c = getopt_long(argc, argv, "c:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'i': id = optarg; break;
    case 't': {
      /* Unix seconds, all digits: a typo must not sign for 1970. */
      char *end = NULL;
      errno = 0;
      ts = strtoll(optarg, &end, 10);
      if (errno != 0 || end == optarg || *end != '\0' || ts <= 0) {
        fprintf(stderr, "handoffctl: --timestamp wants unix seconds, not %s\n",
                optarg);
        return hk_ctl_bad_usage();
      }
      break;
    }
    default: return hk_ctl_bad_usage();
    }
  }
  config = hk_ctl_config_or_env(config);
  if (config == NULL || optind >= argc || argc - optind > 2) {
    return hk_ctl_bad_usage();
  }
  /* Only this source's secret is read, below: signing needs no API token,
   * Redis password or other source's secret. */
  cfg = hk_ctl_load(config, HK_CONFIG_NO_SECRETS);
  if (cfg == NULL) {
    return HK_CTL_EXIT_CONFIG;
  }
  src = hk_config_source(cfg, argv[optind]);
  if (src == NULL) {
    fprintf(stderr, "handoffctl: %s is not an enabled source of %s\n",
            argv[optind], config);
    hk_config_free(cfg);
    return HK_CTL_EXIT_USAGE;
  }
  if (src->kind == HK_SOURCE_BASIC || src->kind == HK_SOURCE_TOKEN) {
    /* Nothing to compute: the credential itself is the proof, and this
     * command never prints a secret. */
    fprintf(stderr,
            "handoffctl: %s sources sign nothing; send the credential itself "
            "(curl -u for basic, the configured header for token)\n",
            src->kind_name);
    hk_config_free(cfg);
    return HK_CTL_EXIT_USAGE;
  }
  if (optind + 1 < argc && strcmp(argv[optind + 1], "-") != 0) {
    in = fopen(argv[optind + 1], "rb");
    if (in == NULL) {
      fprintf(stderr, "handoffctl: cannot read %s\n", argv[optind + 1]);
      hk_config_free(cfg);
      return HK_CTL_EXIT_FAILURE;
    }
  }
  body = read_all(in, &len);
  if (in != stdin) {
    fclose(in);
  }
  if (body == NULL) {
    fprintf(stderr, "handoffctl: the body is over %zu bytes\n",
            HK_CAP_BODY_MAX);
    hk_config_free(cfg);
    return HK_CTL_EXIT_FAILURE;
  }
  if (id == NULL) {
    snprintf(idbuf, sizeof idbuf, "msg_%" PRId64 "_%ld", hk_time_now_ms(),
             (long)getpid());
    id = idbuf;
  }
  /* The first secret set signs, as a sender rolling secrets would. */
  rc = read_source_secret(src, &key);
  if (rc == HK_CTL_EXIT_OK) {
    rc = print_signed(src, &key, id, ts, body, len);
  }
  secret_wipe(&key);
  free(body);
  hk_config_free(cfg);
  return rc;
}
