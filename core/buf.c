/*
 * buf.c -- capped growable buffers and allocation that aborts on OOM.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void oom(void) {
  static const char m[] = "level=error proc=handoff msg=\"out of memory\"\n";
  fwrite(m, 1, sizeof m - 1, stderr);
  abort();
}

void *hk_xmalloc(size_t n) {
  void *p = malloc(n == 0 ? 1 : n);
  if (p == NULL) {
    oom();
  }
  return p;
}

void *hk_xcalloc(size_t n, size_t size) {
  void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
  if (p == NULL) {
    oom();
  }
  return p;
}

void *hk_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n == 0 ? 1 : n);
  if (q == NULL) {
    oom();
  }
  return q;
}

char *hk_xstrdup(const char *s) {
  return hk_xstrndup(s, strlen(s));
}

char *hk_xprintf(const char *fmt, ...) {
  va_list ap;
  int n;
  char *s;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    abort(); /* a bad format: a bug, not input */
  }
  s = hk_xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

char *hk_xstrndup(const char *s, size_t n) {
  char *p = hk_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void hk_buf_init(struct hk_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

enum hk_err hk_buf_add(struct hk_buf *b, const void *p, size_t n) {
  if (n > b->max - b->len) {
    return HK_E_TOO_LARGE;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap == 0 ? 256 : b->cap;
    while (cap < b->len + n + 1) {
      cap *= 2;
    }
    if (cap > b->max + 1) {
      cap = b->max + 1;
    }
    b->data = hk_xrealloc(b->data, cap);
    b->cap = cap;
  }
  if (n > 0) {
    memcpy(b->data + b->len, p, n);
  }
  b->len += n;
  b->data[b->len] = '\0';
  return HK_E_OK;
}

enum hk_err hk_buf_addf(struct hk_buf *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  int n;
  enum hk_err rc;
  va_start(ap, fmt);
  n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    return HK_E_INTERNAL;
  }
  if ((size_t)n < sizeof small) {
    return hk_buf_add(b, small, (size_t)n);
  }
  {
    char *big = hk_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rc = hk_buf_add(b, big, (size_t)n);
    free(big);
  }
  return rc;
}

void hk_buf_fini(struct hk_buf *b) {
  free(b->data);
  hk_buf_init(b, b->max);
}

char *hk_buf_take(struct hk_buf *b, size_t *len) {
  char *p = b->data;
  if (p == NULL) {
    p = hk_xstrdup("");
  }
  if (len != NULL) {
    *len = b->len;
  }
  hk_buf_init(b, b->max);
  return p;
}
