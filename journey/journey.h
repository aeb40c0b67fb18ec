/*
 * journey.h -- the door to the domain of handoff: what a journey is and how
 * it is judged, with no I/O. The mapping from a queued delivery to journey
 * events (map.c, presets.c), business calendars (calendar.c, zone.c), SLA
 * clocks (clock.c), the clock record's format (record.c), the stage
 * record's format (stages.c), the KPI documents (kpi.c), and the alerts:
 * the queued alert's JSON and the notifier requests (alert.c).
 *
 * Pure: time is an argument, nothing here logs, talks to Redis or the
 * network, or reads the environment beyond the zoneinfo files a calendar
 * is compiled from. Every compiled value (mapper, calendar, sla) is
 * immutable once built, so threads share it with no lock. workers/, fcgi/
 * and ctl/ include this header; it includes none of theirs.
 */
#ifndef HK_JOURNEY_H
#define HK_JOURNEY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"

/* ---------------------------------------------------------------------------
 * Mapping: a queued delivery to journey events
 *
 * Pure: no I/O, no clock (the receive time is an argument), no logging. The
 * rule language is the config's `events` (docs/config.md); the built-in
 * presets are written in the same language and compiled by the same code.
 * map.c opens with the design.
 * ------------------------------------------------------------------------- */

/* A journey event; every member owned (hk_event_fini). */
struct hk_event {
  /* Idempotence key material: "<source>:<rule>:<provider key>", the same
   * for every redelivery of the same provider event; may be long. */
  char *id;
  char *source;
  char *type;
  char *subject;
  int64_t at_ms; /* event time at the source */
  json_t *attrs; /* object (owned reference) */
  char *rule;    /* name of the rule that made it */
};

enum hk_map_status { HK_MAP_EVENT, HK_MAP_IGNORED, HK_MAP_DEAD };

struct hk_map_out {
  enum hk_map_status status;
  struct hk_event ev; /* HK_MAP_EVENT only */
  char *rule;         /* HK_MAP_DEAD: the rule that failed */
  /* HK_MAP_DEAD: a sentence, e.g. "field data.object.customer is missing
   * (required by subject)". */
  char *reason;
  /* The provider's own event type of the item (Stripe `type`, HubSpot
   * `subscriptionType`, Paddle `event_type`, Pipedrive `meta.action` "."
   * `meta.entity`, Chargebee `event_type`, standard `type`), "unknown" when
   * none. Set for every status; meant for IGNORED and DEAD. */
  char *ptype;
  json_t *item; /* HK_MAP_DEAD: the payload item (owned reference) */
};

struct hk_map_result {
  struct hk_map_out *items;
  size_t n;
};

struct hk_mapper;

/*
 * Compiles cfg's rules and the presets its sources use. Returns a new
 * mapper (free with hk_mapper_free; it borrows nothing from cfg), or NULL
 * with err set (HK_E_CONFIG, the message naming $.events[i] or the preset)
 * when e.g. `extends` names an unknown preset rule.
 */
struct hk_mapper *hk_mapper_new(const struct hk_config *cfg,
                                struct hk_error *err);

/* NULL-safe. */
void hk_mapper_free(struct hk_mapper *m);

/*
 * Maps one delivery: body is the raw JSON as queued; headers_json the kept
 * headers object (may be NULL or "{}"; unused today); received_ms the
 * fallback time. HubSpot bodies are arrays of up to 100 events, each mapped
 * on its own; an array body of a generic sender (hmac, basic, token) is one
 * item per element; other kinds are one item. For each item every matching
 * rule yields an HK_MAP_EVENT (or an HK_MAP_DEAD when it lacks a required
 * value: type and subject are always required); an item no rule matches
 * yields one HK_MAP_IGNORED. *out is always initialized and owned by the
 * caller (hk_map_result_fini). Returns HK_E_BAD_JSON when the body does not
 * parse, HK_E_UNKNOWN_SOURCE when source is not configured (err set in
 * both cases), else HK_E_OK.
 */
enum hk_err hk_map_delivery(const struct hk_mapper *m, const char *source,
                            const char *delivery_id, const char *headers_json,
                            const char *body, size_t len, int64_t received_ms,
                            struct hk_map_result *out,
                            struct hk_error *err) HK_MUST_CHECK;

/* Frees every item; r is empty afterwards. */
void hk_map_result_fini(struct hk_map_result *r);

/* Frees the members of ev (not ev itself) and zeroes it. */
void hk_event_fini(struct hk_event *ev);

/* The event as a new JSON object {id, source, type, subject, at (ms),
 * attrs, rule}. */
json_t *hk_event_json(const struct hk_event *ev);

/*
 * The history of a subject ({prefix}journey:SUBJECT, scored by event time;
 * history.c). hk_history_member: ev's member, [id, type] and its attrs when
 * it has any (the source and the rule are the first two parts of the id);
 * a new string, NULL only out of memory. hk_history_read: a member back
 * into ev (every member owned: hk_event_fini; subject and at_ms are the
 * caller's, from the key and the score); ev->attrs is NULL when the member
 * was written before attrs were kept. Returns 0 when member is not one.
 */
char *hk_history_member(const struct hk_event *ev);
int hk_history_read(const char *member, struct hk_event *ev);

/*
 * Parses an RFC 3339 date-time ("2026-11-22T09:30:00.250+01:00"; a space
 * or lowercase t and z are accepted, fractions past milliseconds are
 * truncated) into milliseconds since the epoch, in plain UTC arithmetic.
 * Returns 0, or -1 when s is not such a time.
 */
int hk_map_rfc3339_ms(const char *s, int64_t *ms) HK_MUST_CHECK;

/* ---------------------------------------------------------------------------
 * Calendars: business time (calendar.c)
 *
 * Pure: the zone comes from the system's zoneinfo, read once by
 * hk_calendar_new (zone.c); no clock, no logging, no TZ. A compiled
 * calendar is immutable, so threads may share it with no lock. A NULL
 * calendar stands for calendar time.
 * ------------------------------------------------------------------------- */

/* An instant that never comes: a deadline that cannot be computed, or
 * open time that no opening within HK_CAP_CALENDAR_DAYS can provide. */
#define HK_NEVER INT64_MAX

struct hk_calendar;

/*
 * Compiles one calendar of the config ($.calendars.NAME as loaded, defaults
 * filled: timezone, hours, holidays). Returns a new calendar (free with
 * hk_calendar_free; it borrows nothing), or NULL with err set (HK_E_CONFIG,
 * naming the calendar) when its zone is not in the system's zoneinfo.
 */
struct hk_calendar *hk_calendar_new(const char *name, const json_t *conf,
                                    struct hk_error *err);

/* NULL-safe. */
void hk_calendar_free(struct hk_calendar *c);

/*
 * The instant at which open_ms of open time has passed since from_ms.
 * Counting starts at from_ms when the calendar is open then, else at the
 * next opening; open_ms 0 gives that start. HK_NEVER when no opening comes
 * within HK_CAP_CALENDAR_DAYS. A NULL calendar gives from_ms + open_ms.
 */
int64_t hk_calendar_add(const struct hk_calendar *c, int64_t from_ms,
                        int64_t open_ms);

/* The open time between a_ms and b_ms; 0 when b_ms <= a_ms. A NULL
 * calendar gives b_ms - a_ms. */
int64_t hk_calendar_between(const struct hk_calendar *c, int64_t a_ms,
                            int64_t b_ms);

/* ---------------------------------------------------------------------------
 * SLA clocks (clock.c)
 *
 * A clock is one handoff for one subject, and a pure function of the events
 * of that subject the handoff listens to: the same set of events, in any
 * order and with any duplicates, gives the same clocks. clock.c opens with
 * the design.
 * ------------------------------------------------------------------------- */

enum hk_clock_state {
  HK_CLOCK_OPEN,
  HK_CLOCK_AT_RISK, /* open, past warn_at */
  HK_CLOCK_PAUSED,
  HK_CLOCK_MET,
  HK_CLOCK_BREACHED, /* open, past its deadline */
  HK_CLOCK_MET_LATE,
  HK_CLOCK_CANCELLED
};

#define HK_CLOCK_STATES 7

/* "open", "at_risk", "paused", "met", "breached", "met_late",
 * "cancelled". */
const char *hk_clock_state_name(enum hk_clock_state s);

/* One event as a clock sees it; every pointer borrowed. */
struct hk_clock_event {
  const char *id;
  const char *type;
  int64_t at_ms;
  const json_t *attrs; /* object; may be NULL */
};

/* One clock as of the now given to hk_clock_eval; members owned. */
struct hk_clock {
  enum hk_clock_state state;
  int64_t started_ms;
  int64_t deadline_ms; /* HK_NEVER when it cannot be computed */
  int64_t warn_ms;     /* HK_NEVER likewise */
  int64_t stopped_ms;  /* met, met_late, cancelled: when; else 0 */
  int64_t elapsed_ms;  /* handoff's own time from start to stop or now,
                          pauses left out */
  int goal;            /* index in the handoff's goals, -1: the SLA's own */
  int ever_breached;   /* breached now, or met late */
  json_t *missing;     /* array of `requires` attributes the start lacked;
                          non-empty means incomplete */
  char *start_id;      /* the event that started it */
  char *stop_id;       /* the event that stopped or cancelled it, or NULL */
  char *owner;         /* the start event's "owner" attribute, or the
                          handoff's owner */
  char *owner_unknown; /* the owner id the directory did not know (the
                          start's "owner_unknown"), or NULL */
  char *subject_name;  /* the start's "subject_name" (a company name, a
                          deal title), or NULL */
};

struct hk_clocks {
  struct hk_clock *items; /* in order of start */
  size_t n;
};

void hk_clocks_fini(struct hk_clocks *c);

struct hk_handoff;
struct hk_sla;

/*
 * Compiles every handoff of cfg with its calendar. Returns a new hk_sla
 * (free with hk_sla_free; it borrows nothing from cfg), or NULL with err
 * (HK_E_CONFIG) when a calendar does not compile.
 */
struct hk_sla *hk_sla_new(const struct hk_config *cfg, struct hk_error *err);

/* NULL-safe. */
void hk_sla_free(struct hk_sla *sla);

size_t hk_sla_count(const struct hk_sla *sla);
/* Borrowed; NULL when out of range or unknown. */
const struct hk_handoff *hk_sla_at(const struct hk_sla *sla, size_t i);
const struct hk_handoff *hk_sla_find(const struct hk_sla *sla,
                                     const char *name);

const char *hk_handoff_name(const struct hk_handoff *h);
const char *hk_handoff_owner(const struct hk_handoff *h);

/* t plus ms of h's time: business time when h has a calendar and a
 * `within` SLA, else calendar time (saturating; HK_NEVER stays). */
int64_t hk_handoff_after(const struct hk_handoff *h, int64_t t, int64_t ms);

/* ---------------------------------------------------------------------------
 * Escalation ladders (ladder.c): who is told what, when, about a clock
 * ------------------------------------------------------------------------- */

/* One step: when a clock has been in `state` for `after` of its handoff's
 * time, an alert goes to `notify` naming `to`. */
struct hk_step {
  enum hk_clock_state state; /* HK_CLOCK_AT_RISK or HK_CLOCK_BREACHED */
  int64_t after_ms;
  json_t *notify; /* array of notifier names (owned) */
  json_t *to;     /* array of "owner", "manager" or owner keys (owned) */
  int first;      /* the first step of its state: its alert id is the
                     plain "HANDOFF:SUBJECT:STARTED:STATE" */
};

struct hk_ladder {
  struct hk_step *steps; /* at most HK_CAP_LADDER_STEPS, in firing order */
  size_t n;
};

/* The ladder of handoff h (conf: $.handoffs.NAME; root: the config's doc):
 * its `ladder`, else $.ladders.default, else the one of two steps that
 * alerts `notify` naming the owner when the clock is at risk and when it
 * breaches. Fills *l (hk_ladder_fini). */
void hk_ladder_init(struct hk_ladder *l, const json_t *conf,
                    const json_t *root);
void hk_ladder_fini(struct hk_ladder *l);

/* h's ladder (borrowed). */
const struct hk_ladder *hk_handoff_ladder(const struct hk_handoff *h);

/* When step k of h's ladder comes due for clock c: its state's instant
 * (warning or deadline) plus its `after` in h's time; HK_NEVER when c has
 * no such instant. */
int64_t hk_ladder_step_at(const struct hk_handoff *h, const struct hk_clock *c,
                          size_t k);

/*
 * Which steps of h's ladder go out now for clock c, whose steps `alerted`
 * (bit k: step k) went out already: a running clock in a step's state at
 * or past its time. Steps of at_risk that a breached clock did not send are
 * skipped (marked, not sent), as a clock found breached at once skips its
 * warning. Sets *fire to the bits to send; returns the new alerted bits.
 * Stopped and paused clocks send nothing.
 */
int hk_ladder_decide(const struct hk_handoff *h, const struct hk_clock *c,
                     int alerted, int64_t now_ms, unsigned *fire);

/* The earliest time a step not in `alerted` may come due for c (which may
 * yet reach its state), or HK_NEVER. */
int64_t hk_ladder_next(const struct hk_handoff *h, const struct hk_clock *c,
                       int alerted);

/* The recipients of step k for a clock of owner (a key of $.owners or any
 * name): a new array of {"id", "name", "slack"?, "email"?}, each once,
 * "manager" being the owner's manager in $.owners (none: left out). */
json_t *hk_ladder_recipients(const struct hk_step *step, const char *owner,
                             const json_t *root);

/* 1 when h listens to events of that type (start, stop, cancel, pause or
 * resume), else 0. */
int hk_handoff_wants(const struct hk_handoff *h, const char *type);

/*
 * The event as h keeps it: a new object {id, type, at, attrs} whose attrs
 * hold only what h reads (the goals' `when` keys, the deadline attribute,
 * and "owner", with their values; an attribute only `requires` reads as
 * 1 when it is there), so stored clocks stay small.
 */
json_t *hk_handoff_slim(const struct hk_handoff *h, const char *id,
                        const char *type, int64_t at_ms, const json_t *attrs);

/*
 * Evaluates h over events (any order; duplicates by id count once) as of
 * now_ms: every clock they make, in order of start. *out is always
 * initialized and owned by the caller (hk_clocks_fini).
 */
void hk_clock_eval(const struct hk_handoff *h,
                   const struct hk_clock_event *events, size_t n,
                   int64_t now_ms, struct hk_clocks *out);

/* The values clock c of the handoff conf ($.handoffs.NAME; root: the
 * config's doc) counts under, one per dimension of its `group_by`: a new
 * object DIMENSION -> value ("other" outside the dimension's bounded
 * values), or NULL when the handoff groups by nothing. start_attrs: the
 * attrs of c's start event as kept (may be NULL). group.c. */
json_t *hk_group_values(const json_t *conf, const json_t *root,
                        const struct hk_clock *c, const json_t *start_attrs);

/* ---------------------------------------------------------------------------
 * Clock records (record.c): the text kept for one handoff and subject
 *
 *   {"e": [[id, type, at, attrs?]…], "s": [[state, missing, alerted,
 *    start, bucket, goal, unknown_owner, groups]…]}
 *
 * "e": every event of the subject the handoff listens to, slimmed
 * (hk_handoff_slim) and kept once per id; "s": the summary of the clocks as
 * last written, in order of start, trailing zeros left out (record.c opens
 * with the details). The worker writes them (workers/sla.c); the status
 * API and handoffctl read them.
 * ------------------------------------------------------------------------- */

/* A record's two parts; both arrays owned. */
struct hk_clock_record {
  json_t *events;
  json_t *summary;
};

/* The bits of a summary entry's "alerted". */
#define HK_RECORD_ALERTED_WARNING 1
#define HK_RECORD_ALERTED_BREACH 2

/* Decodes text (may be NULL); an absent or unreadable record is empty, so
 * *r is always initialized (hk_record_fini). */
void hk_record_parse(const char *text, struct hk_clock_record *r);

void hk_record_fini(struct hk_clock_record *r);

/* Encodes r as compact JSON: a new string (free). */
char *hk_record_dump(const struct hk_clock_record *r);

/* Appends the slim event (hk_handoff_slim's object, borrowed) in the
 * record's form, unless the record holds that very event already. Returns
 * 1 when it was appended, else 0. */
int hk_record_add(struct hk_clock_record *r, const json_t *slim);

/* The clocks of r's events as of now_ms; *out is always initialized
 * (hk_clocks_fini). */
void hk_record_eval(const struct hk_handoff *h, const struct hk_clock_record *r,
                    int64_t now_ms, struct hk_clocks *out);

/*
 * The clocks of a stored clock record as of now_ms. An unreadable record
 * has no clocks. *out is always initialized (hk_clocks_fini).
 */
void hk_record_clocks(const struct hk_handoff *h, const char *record,
                      int64_t now_ms, struct hk_clocks *out);

/* Sets a summary entry's groups (member 7, after member 6: the owner id
 * the directory did not know), padding the members before it with 0;
 * takes groups (NULL: nothing). */
void hk_record_entry_groups(json_t *entry, json_t *groups);

/* The kept attrs of the event of r whose id is id (borrowed), or NULL. */
const json_t *hk_record_event_attrs(const struct hk_clock_record *r,
                                    const char *id);

/* A summary entry's integer member i (0: state, 2: alerted, 3: start,
 * 4: bucket); 0 when absent. */
int64_t hk_record_entry_int(const json_t *entry, size_t i);

/* The start time of a summary entry: the time of the event at its start
 * index; -1 when there is no such event. */
int64_t hk_record_entry_start(const json_t *events, const json_t *entry);

/* The alerted bits the summary records for the clock started at
 * started_ms (0 when none). */
int hk_record_alerted(const struct hk_clock_record *r, int64_t started_ms);

/*
 * The summary entry of clock c: a new array [state, missing, alerted,
 * start, bucket, goal] with trailing zeros left out. start is the index in
 * r's events of c's start event; bucket is c's response time bucket when
 * met or met late; goal (borrowed, may be NULL) is written only for a
 * clock at risk or breached.
 */
json_t *hk_record_entry_new(const struct hk_clock_record *r,
                            const struct hk_clock *c, int alerted,
                            const char *goal);

/* ---------------------------------------------------------------------------
 * Stage records (stages.c): the text kept per subject in {prefix}stages
 *
 *   {"STAGE": [at_ms, "event id", amount | null, "CUR" | null], …}
 *
 * One entry per stage the subject entered: the earliest event of the
 * stage's `entered_on` types by (time, id), so any order of events gives
 * the same record (stages.c opens with the details). The worker writes
 * them (workers/stages.c); the status API reads them.
 * ------------------------------------------------------------------------- */

/* The stages of a config, compiled; immutable. */
struct hk_stage_list;

/* The stages of cfg ($.stages, in the config's order). Returns a new list
 * (free with hk_stage_list_free; it borrows nothing). */
struct hk_stage_list *hk_stage_list_new(const struct hk_config *cfg);

/* NULL-safe. */
void hk_stage_list_free(struct hk_stage_list *s);

size_t hk_stage_list_count(const struct hk_stage_list *s);
/* Borrowed; NULL when out of range. */
const char *hk_stage_list_name(const struct hk_stage_list *s, size_t i);
/* 1 when events of that type enter some stage, else 0. */
int hk_stage_list_wants(const struct hk_stage_list *s, const char *type);

/* A decoded stage record: an object (owned), never NULL once parsed. */
struct hk_stage_record {
  json_t *stages;
};

/* Decodes text (may be NULL); an absent or unreadable record, or one that
 * is not an object, is empty, so *r is always initialized
 * (hk_stage_record_fini). */
void hk_stage_record_parse(const char *text, struct hk_stage_record *r);

void hk_stage_record_fini(struct hk_stage_record *r);

/* Encodes r as compact JSON, keys sorted: a new string (free). */
char *hk_stage_record_dump(const struct hk_stage_record *r);

/* Enters ev (borrowed; id and type set) into every stage of s it enters
 * and comes first in. Returns 1 when r changed, else 0. Adding the same
 * events again, in any order, changes nothing. */
int hk_stage_record_add(const struct hk_stage_list *s,
                        struct hk_stage_record *r, const struct hk_event *ev);

/* 1 when adding ev could change r (some stage it enters is absent, or ev
 * may come before its entry), else 0. Entries only ever move earlier, so
 * a stale copy of a record answers safely for the newer one. */
int hk_stage_record_takes(const struct hk_stage_list *s,
                          const struct hk_stage_record *r,
                          const struct hk_event *ev);

/* What a record counts of one stage (the KPI buckets move by these). */
struct hk_stage_fact {
  int entered;     /* the record has the stage */
  int64_t at_ms;   /* entry */
  int moved;       /* entered a later stage of the `next` chain at or
                      after at_ms */
  int64_t took_ms; /* until then */
  int to;          /* moved: the stage it reached first (its index), skips
                      included */
  int has_amount;
  int64_t cents;
  const char *currency; /* borrowed from the record; "XXX" when none */
};

/* The facts of r per stage of s: f has hk_stage_list_count(s) items. */
void hk_stage_record_facts(const struct hk_stage_list *s,
                           const struct hk_stage_record *r,
                           struct hk_stage_fact *f);

/* One stage the subject entered; strings borrowed from the record. */
struct hk_stage_entry {
  const char *stage;
  int64_t at_ms;
  const char *event_id; /* the event that entered it; "" when none */
};

/* The entries of r whose time is an integer, by time then stage, in a
 * new array *out (free; its strings borrowed from r). Returns how many. */
size_t hk_stage_record_entries(const struct hk_stage_record *r,
                               struct hk_stage_entry **out);

/* ---------------------------------------------------------------------------
 * KPIs (kpi.c)
 *
 * Durations (response times, time in stage) are counted in buckets whose
 * bounds grow by 10%: bucket k >= 1 holds [1.1^(k-1), 1.1^k) ms (k = 1
 * also holds 0), and stands for the geometric middle, so a percentile read
 * from the buckets is within 5% of the exact one.
 * ------------------------------------------------------------------------- */

/* The bucket of a duration (>= 1). */
int hk_kpi_bucket(int64_t ms);
/* The value a bucket stands for, in ms. */
int64_t hk_kpi_bucket_ms(int bucket);

/*
 * Every document of the status API as of now_ms, from the config's
 * document (handoffs, stages, kpis) and data:
 *   {"handoffs": {NAME: {"running": {hcount fields},
 *                        "days": {DAY: {"HH|field": n}}}},
 *    "stages":   {NAME: {"days": {DAY: {"HH|field": n}}}}}
 * A new object of key (without the prefix: "kpi:health", "kpi:handoffs",
 * "kpi:handoff:NAME", "kpi:stages", "kpi:stage:NAME") to document.
 */
json_t *hk_kpi_documents(const json_t *cfg_doc, const json_t *data,
                         int64_t now_ms);

/* ---------------------------------------------------------------------------
 * Alerts (alert.c encodes and decodes the alert queued for the sender and
 * builds the notifier's request; workers/notify.c sends it with libcurl)
 * ------------------------------------------------------------------------- */

/* One alert; every pointer borrowed. */
struct hk_alert {
  const char *id; /* unique per clock and state; the webhook-id */
  const char *handoff;
  const char *subject;
  const char *state; /* "at_risk" or "breached" */
  const char *owner;
  int64_t started_ms;
  int64_t deadline_ms;
  const char *link; /* the subject's page: absolute under api.public_url,
                       e.g. "https://handoff.example.com/v1/subjects/
                       company%3A8812", else the path alone */
  /* Escalation (each NULL or 0 in alerts queued before ladders): */
  int step;                 /* the ladder step (0 for the first) */
  const char *owner_name;   /* the owner's display name, or NULL */
  const char *subject_name; /* the subject's name, or NULL */
  const json_t *recipients; /* array of {id, name, slack?, email?}, or
                               NULL (hk_ladder_recipients) */
};

/*
 * The alert as queued for the sender ({prefix}alerts), one per notifier:
 * compact JSON {id, notifier, handoff, subject, state, owner, started,
 * deadline, link} (alert.c has the details). Returns a new string (free),
 * or NULL when id, notifier, handoff, subject or state is NULL or a member
 * is not UTF-8. owner and link may be NULL (written as null).
 */
char *hk_alert_dump(const struct hk_alert *a, const char *notifier);

/*
 * Decodes a queued alert. *doc is set to a new reference (json_decref it
 * whatever the return; NULL when text is not a JSON object) that *a's
 * strings and *notifier borrow. *a and *notifier are always initialized,
 * with what members could be read (NULL, 0 when not). Returns HK_E_OK;
 * HK_E_BAD_JSON when text (may be NULL) is not a JSON object; or
 * HK_E_MISSING_FIELD, err naming the member, when id, notifier, handoff,
 * subject or state is not a string, started or deadline not an integer,
 * or owner or link neither a string nor null.
 */
enum hk_err hk_alert_parse(const char *text, json_t **doc, struct hk_alert *a,
                           const char **notifier,
                           struct hk_error *err) HK_MUST_CHECK;

/* An alert's id, "HANDOFF:SUBJECT:STARTED_MS:STATE": unique per clock (a
 * subject's clocks of a handoff differ in start) and state. A new string
 * (free), never cut. */
char *hk_alert_id_new(const char *handoff, const char *subject,
                      int64_t started_ms, const char *state);

/* The subject's page in the status API: public_url (api.public_url, an
 * origin such as "https://handoff.example.com"; a trailing '/' dropped;
 * NULL: the path alone), mount (api.mount, "/handoff/"; "/" when NULL),
 * "v1/subjects/" and the subject escaped as one path segment: the one function
 * that builds a link. A new string (free). */
char *hk_alert_link_new(const char *public_url, const char *mount,
                        const char *subject);

/* A duration in words for a person: "less than a minute", "4 minutes",
 * "1 hour 5 minutes", "2 days 3 hours" (the two largest units). Writes
 * into out (cap bytes); returns out. */
const char *hk_alert_words(int64_t ms, char *out, size_t cap);

/* The HTTP request a notifier sends; members owned. */
struct hk_alert_request {
  char *url;
  char *headers[6]; /* "Name: value" */
  size_t nheaders;
  char *body;
  size_t body_len;
};

/*
 * Builds the request n sends for a: Slack incoming-webhook JSON, or the
 * webhook kind's JSON signed with the Standard Webhooks scheme (webhook-id
 * a->id, webhook-timestamp now_ms / 1000). Returns HK_E_OK with *out set
 * (hk_alert_request_fini), or an error with err set when n is disabled (url
 * NULL) or its secret cannot sign.
 */
enum hk_err hk_alert_build(const struct hk_notifier *n,
                           const struct hk_alert *a, int64_t now_ms,
                           struct hk_alert_request *out,
                           struct hk_error *err) HK_MUST_CHECK;

void hk_alert_request_fini(struct hk_alert_request *r);

/* The delay before retry number `retry` (1 for the first): the notifier's
 * backoff doubled on each retry, capped at one hour. */
int64_t hk_alert_backoff_ms(const struct hk_notifier *n, int retry);

/* ---------------------------------------------------------------------------
 * The weekly review (digest.c: its period and document; digest_text.c: its
 * words and its notifier's request). workers/digest.c posts it once per
 * period; handoffctl digest --preview prints it.
 * ------------------------------------------------------------------------- */

struct hk_digest;

/* "Mon 09:00": *weekday 0 (Monday) to 6, *minute of the day. 0, or -1 when
 * s is not one (three-letter English day, a space, HH:MM). */
int hk_digest_schedule_parse(const char *s, int *weekday, int *minute);

/* Compiles digests.NAME of the validated config document: its schedule in
 * the zone of its calendar (UTC without one; the zone file is read here).
 * NULL with err set when there is no such digest or its zone cannot be
 * read. */
struct hk_digest *hk_digest_new(const char *name, const json_t *cfg_doc,
                                struct hk_error *err);
void hk_digest_free(struct hk_digest *d);
const char *hk_digest_name(const struct hk_digest *d);
const char *hk_digest_notifier(const struct hk_digest *d);

/* The start of the period now_ms falls in: the latest instant at or before
 * it that the schedule names, in its zone (UTC ms). */
int64_t hk_digest_period(const struct hk_digest *d, int64_t now_ms);

/*
 * The digest document from the health document (GET /v1/health's, as
 * stored): the covered handoffs' and stages' status and reason ("parts"),
 * and their KPIs ("kpis"), red first, then amber, no data, green, each
 * with owner, target, value, verdict, text, action plan, and what it was
 * in previous (a snapshot of the last digest posted, hk_digest_snapshot;
 * may be NULL): "was" and "change" (better, worse, same, new). A new
 * object.
 */
json_t *hk_digest_build(const struct hk_digest *d, const json_t *health,
                        const json_t *previous, int64_t period_ms,
                        int64_t now_ms);

/* What the next digest compares with: KPI name -> {value, status, unit}. */
json_t *hk_digest_snapshot(const json_t *doc);

/* The digest as plain text, as --preview prints it. A new string. */
char *hk_digest_text(const json_t *doc);

/*
 * The request n sends for the digest document doc: Slack Block Kit (a
 * header, the summary, one section per KPI, reds first, with their action
 * plans), or the webhook kind's {"type": "handoff.digest", "timestamp",
 * "data": doc} signed with the Standard Webhooks scheme, webhook-id id.
 */
enum hk_err hk_digest_request(const struct hk_notifier *n, const json_t *doc,
                              const char *id, int64_t now_ms,
                              struct hk_alert_request *out,
                              struct hk_error *err) HK_MUST_CHECK;

#endif
