/*
 * scripts.h -- private to store/: the Lua scripts of store/lua/, one file
 * each, embedded at build time (embed_lua.cmake writes hk_lua_NAME in the
 * build tree) and run by EVALSHA through one loader (conn.c).
 *
 * HK_SCRIPTS is the list: enum constant and file name. A script named here
 * without its file, or a file left out of the list, fails the link or the
 * build, not a call at run time.
 */
#ifndef HK_STORE_SCRIPTS_H
#define HK_STORE_SCRIPTS_H

#define HK_SCRIPTS(X)                                                          \
  X(HK_SCRIPT_JOURNAL, journal)                                                \
  X(HK_SCRIPT_CAS_PUT, cas_put)                                                \
  X(HK_SCRIPT_CONSUMER_LEAVE, consumer_leave)                                  \
  X(HK_SCRIPT_DLQ_RETRY, dlq_retry)                                            \
  X(HK_SCRIPT_DUE_TAKE, due_take)                                              \
  X(HK_SCRIPT_DUE_NEXT, due_next)                                              \
  X(HK_SCRIPT_DUE_PAGE, due_page)                                              \
  X(HK_SCRIPT_DUE_MOVE, due_move)                                              \
  X(HK_SCRIPT_ALERTS_DUE, alerts_due)                                          \
  X(HK_SCRIPT_RESTATE_BEGIN, restate_begin)                                    \
  X(HK_SCRIPT_RESTATE_TAKE, restate_take)                                      \
  X(HK_SCRIPT_RESTATE_DONE, restate_done)                                      \
  X(HK_SCRIPT_RESTATE_STATE, restate_state)                                    \
  X(HK_SCRIPT_RESTATE_SWITCH, restate_switch)                                  \
  X(HK_SCRIPT_STREAM_TRIM, stream_trim)                                        \
  X(HK_SCRIPT_HISTORY_TRIM, history_trim)                                      \
  X(HK_SCRIPT_SUBJECT_DROP, subject_drop)                                      \
  X(HK_SCRIPT_INTAKE_SETTLED, intake_settled)

#define HK_SCRIPT_ENUM(e, name) e,
enum hk_script { HK_SCRIPTS(HK_SCRIPT_ENUM) HK_SCRIPT__COUNT };
#undef HK_SCRIPT_ENUM

#define HK_SCRIPT_EXTERN(e, name) extern const char hk_lua_##name[];
HK_SCRIPTS(HK_SCRIPT_EXTERN)
#undef HK_SCRIPT_EXTERN

/* The text of a script (static storage). */
const char *hk_script_text(enum hk_script which);
/* Its file name without ".lua", for messages. */
const char *hk_script_name(enum hk_script which);

#endif
