/*
 * store_internal.h -- private to store/: the connection handling of
 * store.c, for the other files of the folder (read.c) that send commands
 * of their own. hiredis appears here and in store/ only.
 *
 * The connection itself (struct hk_store, connect_now, command) stays in
 * store.c; these are thin exports of it, so every file of the folder
 * connects, times out, reconnects and reports errors the same way.
 */
#ifndef HK_STORE_INTERNAL_H
#define HK_STORE_INTERNAL_H

#include <hiredis/hiredis.h>

#include "store/store.h"

/* The key named by suffix under the configured prefix ("clocks:x" ->
 * "handoff:clocks:x"). A new string (caller frees). */
char *hk_store_key(const struct hk_store *st, const char *suffix);

/*
 * Runs one command (connecting when needed, one more try on a fresh
 * connection when a reused one died), as store.c's own calls do. Returns
 * the reply (caller frees with freeReplyObject), or NULL with err set
 * (HK_E_UNAVAILABLE) on an I/O error or an error reply. lens may be NULL
 * for NUL-terminated arguments.
 */
redisReply *hk_store_command(struct hk_store *st, int argc, const char **argv,
                             const size_t *lens, struct hk_error *err);

#endif
