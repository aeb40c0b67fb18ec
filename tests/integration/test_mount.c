/*
 * test_mount.c -- the product beside a site that is already there: an
 * nginx server block that serves its own /, /v1/, /metrics and a regex
 * location for static files, with the shipped snippet included. Every
 * path of the site answers as before; every path of the product answers
 * under its mount (api.mount, "/handoff/" by default), and nowhere else.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const char site[] =
    "    location / { default_type text/plain; return 200 'site root\\n'; }\n"
    "    location /v1/ { default_type text/plain;"
    " return 200 'site api\\n'; }\n"
    "    location = /metrics { default_type text/plain;"
    " return 200 'site metrics\\n'; }\n"
    "    location ~* \\.(css|js)$ { default_type text/plain;"
    " return 200 'site static\\n'; }\n";

static void up(void) {
  hk_stack_site(site);
  hk_stack_up("");
}

/* GET path of the host (not under the mount): status 200 and body want. */
static void site_answers(const char *method, const char *path,
                         const char *want) {
  struct hk_resp r;
  cr_assert_eq(hk_http_host(method, path, NULL, NULL, 0, &r), 0, "%s", path);
  cr_assert_eq(r.status, 200, "%s %s: %ld %s", method, path, r.status, r.body);
  cr_assert_str_eq(r.body, want, "%s %s", method, path);
}

Test(mount, the_site_keeps_its_paths_and_the_product_lives_under_its_mount,
     .init = up, .fini = hk_stack_down, .timeout = 60) {
  const char *bearer[] = {"Authorization: Bearer " HK_TEST_TOKEN, NULL};
  char code[64];
  struct hk_resp r;

  /* The site's own paths, the product's root paths among them. */
  site_answers("GET", "/", "site root\n");
  site_answers("GET", "/about", "site root\n");
  site_answers("GET", "/v1/handoffs", "site api\n");
  site_answers("GET", "/v1/health", "site api\n");
  site_answers("GET", "/metrics", "site metrics\n");
  site_answers("GET", "/healthz", "site root\n");
  site_answers("POST", "/hooks/demo", "site root\n");
  site_answers("GET", "/app.js", "site static\n");
  /* The mount itself without its "/" is nginx's redirect to it. */
  cr_assert_eq(hk_http_host("GET", "/handoff", NULL, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 301, "%s", r.body);

  /* The product, under /handoff/. */
  cr_assert_eq(hk_http_host("GET", "/handoff/healthz", NULL, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_assert(strstr(r.content_type, "application/json") != NULL);
  cr_assert_eq(hk_http_host("GET", "/handoff/metrics", NULL, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_assert(strstr(r.body, "handoff_") != NULL, "%s", r.body);
  cr_assert_eq(hk_http_host("GET", "/handoff/v1/handoffs", bearer, NULL, 0, &r),
               0);
  cr_assert(r.status == 200 || r.status == 503, "%ld %s", r.status, r.body);
  cr_assert(strstr(r.content_type, "application/json") != NULL);
  cr_assert_eq(hk_http_host("GET", "/handoff/v1/handoffs", NULL, NULL, 0, &r),
               0);
  cr_assert_eq(r.status, 401, "%s", r.body);
  cr_assert_eq(hk_post_signed("demo", HK_TEST_SECRET, "msg_mount_1", hk_now_s(),
                              "{\"type\":\"lead.mql\"}", &r),
               0);
  cr_assert_eq(r.status, 202, "%s", r.body);
  cr_assert_eq(hk_redis_int("XLEN handoff:intake"), 1);
  /* The mount is a prefix that wins over the site's regex: a path under it
   * that the product does not know is the product's JSON 404. */
  cr_assert_eq(hk_http_host("GET", "/handoff/app.js", NULL, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 404, "%s", r.body);
  cr_assert_str_eq(hk_error_code(&r, code, sizeof code), "not_found");
}
