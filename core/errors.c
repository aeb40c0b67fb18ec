/*
 * errors.c -- the strings and statuses of the HK_ERRORS table.
 */
#include <stdio.h>

#include "core/core.h"

static const struct {
  int status;
  const char *code;
  const char *msg;
} table[HK_E__COUNT] = {
#define HK_X_ROW(name, status, code, msg) {status, code, msg},
    HK_ERRORS(HK_X_ROW)
#undef HK_X_ROW
};

const char *hk_err_code(enum hk_err e) {
  return (unsigned)e < HK_E__COUNT ? table[e].code : "internal";
}

int hk_err_status(enum hk_err e) {
  return (unsigned)e < HK_E__COUNT ? table[e].status : 500;
}

const char *hk_err_message(enum hk_err e) {
  return (unsigned)e < HK_E__COUNT ? table[e].msg : "internal error";
}

enum hk_err hk_fail(struct hk_error *err, enum hk_err code, const char *fmt,
                    ...) {
  if (err != NULL) {
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}
