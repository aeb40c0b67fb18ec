/*
 * caps.h -- every hard limit of handoff, in one place.
 *
 * Buffers that grow from input are created with one of these caps; a value
 * over a cap is refused, never truncated silently.
 */
#ifndef HK_CORE_CAPS_H
#define HK_CORE_CAPS_H

/* Default body limit of POST /hooks/{source}; `intake.max_body_bytes`. */
#define HK_CAP_BODY_DEFAULT (1024u * 1024u)
/* The largest body limit a configuration may set. Keep in step with
 * client_max_body_size in deploy/nginx/handoff.conf. */
#define HK_CAP_BODY_MAX ((size_t)8 * 1024 * 1024)
/* A configuration file. */
#define HK_CAP_CONFIG_FILE (4u * 1024u * 1024u)
/* A secret read from a file or the environment. */
#define HK_CAP_SECRET 4096u
/* One log line, escapes included. */
#define HK_CAP_LOG_LINE 4096u
/* One JSON response body of the status API. */
#define HK_CAP_RESPONSE ((size_t)4 * 1024 * 1024)
/* Request headers read per request, and bytes of one header's name
 * (lower-cased, NUL included) and value. Real senders send 10 to 30
 * headers and proxies add a few; nginx's own limit (4 buffers of 8k by
 * default) allows a few hundred short ones. A request over a cap is
 * refused whole with 431 headers_too_large, never cut short: a dropped
 * header could be the signature. */
#define HK_CAP_HEADERS 256u
#define HK_CAP_HEADER_NAME 128u
#define HK_CAP_HEADER_VALUE 8192u
/* Signatures listed in one signature header. */
#define HK_CAP_SIGNATURES 16u
/* Events in one HubSpot webhook delivery (HubSpot batches up to 100). */
#define HK_CAP_HUBSPOT_BATCH 100u
/* Deliveries a worker reads or claims in one batch. */
#define HK_CAP_BATCH 1000u
/* Deliveries the intake's committer writes in one pipelined batch
 * (store/commit.c). Waiters past it go in the next batch, so it bounds the
 * committer's buffers, not the requests in flight. */
#define HK_CAP_COMMIT_BATCH 256u

/* A zone file of the system's zoneinfo (TZif); tzcode's own limits (2000
 * transitions, 256 types) keep one under 40 KiB, and the largest of
 * tzdata 2025b is under 4 KiB. */
#define HK_CAP_ZONE_FILE ((size_t)64 * 1024)
/* Journey events of a subject the status API reads (its newest); the
 * history {prefix}journey:SUBJECT itself is trimmed by time, not count. */
#define HK_CAP_JOURNEY 1000u
/* Distinct event types (and ignored types) counted under their own name
 * per source, the first ones to come; later ones count as "other", so a
 * sender cannot grow /metrics' labels without end. */
#define HK_CAP_SENDER_LABELS 64u
/* Outcomes of one delivery written by one journal call. */
#define HK_CAP_JOURNAL_ITEMS 1000u
/* Items of one array body (generic senders); intake refuses more (400).
 * Kept well under HK_CAP_JOURNAL_ITEMS: an item may match a few rules. */
#define HK_CAP_ITEMS 250u
/* The farthest a calendar looks for its next opening, in days. */
#define HK_CAP_CALENDAR_DAYS 3660u

/* The status API: clocks listed per page (limit=), the bytes of a decoded
 * subject in /v1/subjects/{subject}, and of a paging cursor as sent. */
#define HK_CAP_PAGE 1000u
#define HK_CAP_SUBJECT 1024u
/* Steps of one escalation ladder: each has a bit of a clock's "alerted". */
#define HK_CAP_LADDER_STEPS 16u
/* group_by: dimensions per handoff, and values an attribute dimension
 * lists (each value costs its own KPI buckets). */
#define HK_CAP_GROUP_DIMENSIONS 4u
#define HK_CAP_GROUP_VALUES 200u
#define HK_CAP_CURSOR 4096u

#endif
