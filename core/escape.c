/*
 * escape.c -- hex digits and percent-encoding, shared by the intake's
 * signatures, the status API's paths and the alerts' links.
 */
#include <string.h>

#include "core/core.h"

int hk_hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

char *hk_path_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t len = strlen(s);
  char *out = hk_xmalloc(3 * len + 1);
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out[n++] = (char)c;
    } else {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 15];
    }
  }
  out[n] = '\0';
  return out;
}
