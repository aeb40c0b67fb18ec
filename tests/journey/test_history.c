/*
 * test_history.c -- the history member's codec (history.c): what the
 * worker writes reads back with the source and the rule from the id, an
 * event with no attrs is two elements, and the members written before
 * (with the source stored, with or without attrs) still read.
 *
 * Expected texts are written out by hand, never produced by the code under
 * test.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

static struct hk_event event(const char *attrs) {
  struct hk_event ev;
  memset(&ev, 0, sizeof ev);
  ev.id = hk_xstrdup("stripe:stripe.invoice_paid:evt_1QxY");
  ev.type = hk_xstrdup("invoice.paid");
  ev.source = hk_xstrdup("stripe");
  ev.rule = hk_xstrdup("stripe.invoice_paid");
  ev.subject = hk_xstrdup("customer:cus_R2d2");
  ev.at_ms = 1732431600000;
  ev.attrs = attrs != NULL ? json_loads(attrs, 0, NULL) : NULL;
  return ev;
}

Test(history, member_is_id_type_and_attrs_only) {
  struct hk_event ev = event("{\"amount\":4990,\"currency\":\"eur\"}");
  char *m = hk_history_member(&ev);
  cr_assert_str_eq(m,
                   "[\"stripe:stripe.invoice_paid:evt_1QxY\","
                   "\"invoice.paid\",{\"amount\":4990,\"currency\":\"eur\"}]");
  free(m);
  hk_event_fini(&ev);
}

Test(history, no_attrs_is_two_elements) {
  struct hk_event ev = event("{}");
  char *m = hk_history_member(&ev);
  cr_assert_str_eq(m, "[\"stripe:stripe.invoice_paid:evt_1QxY\","
                      "\"invoice.paid\"]");
  free(m);
  hk_event_fini(&ev);
}

Test(history, reads_source_and_rule_back_from_the_id) {
  struct hk_event ev;
  cr_assert(hk_history_read("[\"stripe:stripe.invoice_paid:evt_1QxY\","
                            "\"invoice.paid\",{\"amount\":49.9}]",
                            &ev));
  cr_assert_str_eq(ev.id, "stripe:stripe.invoice_paid:evt_1QxY");
  cr_assert_str_eq(ev.type, "invoice.paid");
  cr_assert_str_eq(ev.source, "stripe");
  cr_assert_str_eq(ev.rule, "stripe.invoice_paid");
  cr_assert_eq(json_real_value(json_object_get(ev.attrs, "amount")), 49.9);
  hk_event_fini(&ev);
  cr_assert(hk_history_read("[\"demo:journey:k:with:colons\",\"t\"]", &ev));
  cr_assert_str_eq(ev.source, "demo");
  cr_assert_str_eq(ev.rule, "journey");
  cr_assert_eq(json_object_size(ev.attrs), 0);
  hk_event_fini(&ev);
}

Test(history, members_written_before_still_read) {
  struct hk_event ev;
  /* [id, type, source]: no attrs known (NULL, not empty). */
  cr_assert(hk_history_read("[\"old-1\",\"lead.seen\",\"demo\"]", &ev));
  cr_assert_str_eq(ev.source, "demo");
  cr_assert_null(ev.attrs);
  hk_event_fini(&ev);
  /* [id, type, source, attrs, rule] */
  cr_assert(hk_history_read("[\"a:b:c\",\"t\",\"src\",{\"x\":1},\"r\"]", &ev));
  cr_assert_str_eq(ev.source, "src");
  cr_assert_str_eq(ev.rule, "r");
  cr_assert_eq(json_integer_value(json_object_get(ev.attrs, "x")), 1);
  hk_event_fini(&ev);
}

Test(history, not_a_member_reads_as_none) {
  struct hk_event ev;
  cr_assert_not(hk_history_read("{\"id\":\"x\"}", &ev));
  cr_assert_not(hk_history_read("[\"only-id\"]", &ev));
  cr_assert_not(hk_history_read("not json", &ev));
  cr_assert_not(hk_history_read(NULL, &ev));
}
