/*
 * presets.c -- the built-in mapping rules of each provider, in the config's
 * own rule language (see map.h for the two extensions), compiled by map.c
 * exactly like the rules of a configuration.
 *
 * A source enables them with `presets`: "stripe" turns on every Stripe
 * rule, "stripe.invoices" one group, "stripe.invoice_paid" one rule. A
 * config rule may `extends` one rule (never a group) and then replaces it
 * for its source.
 *
 * The event types follow the journey vocabulary of config/examples:
 * subscription.created, subscription.renewed, subscription.cancelled,
 * deal.created, deal.won, deal.lost, invoice.paid. Timestamps copied into
 * attributes (renews_at) are integer milliseconds since the epoch, like the
 * event time, whatever the provider's own format. Amounts are in major
 * units: every provider here sends minor units (cents), so they are scaled
 * by 0.01, which is wrong for zero-decimal currencies such as JPY; a rule
 * that needs them can extend the preset with its own `amount`.
 *
 * HubSpot (webhooks API v3, one array of events per delivery): the creation
 * of contacts, companies and deals; any property change of each (the type
 * names the property, the attributes carry its name and value); lifecycle
 * stage and lead status changes of contacts and companies, and deal stage
 * changes, with occurredAt as the time.
 * Stripe: checkout, subscriptions and invoices; the subscription id and the
 * period end moved in API version 2025-03-31 (invoice
 * parent.subscription_details.subscription, subscription
 * items.data.0.current_period_end), so both places are read.
 * Pipedrive (webhooks v2: meta, data, previous): new deals, deal stage
 * changes, won and lost deals, new persons and activities; owners as text.
 * Chargebee: subscription lifecycle and successful payments.
 * Paddle Billing: subscription lifecycle and completed transactions.
 */
#include "journey/map.h"

/* clang-format off */
static const struct hk_preset presets[] = {
  /* HubSpot ------------------------------------------------------------- */
  {"hubspot.contact_lifecycle", "lifecycle",
   "{'match': {'subscriptionType': 'contact.propertyChange',"
   "           'propertyName': 'lifecyclestage',"
   "           'propertyValue': {'exists': true}},"
   " 'type': 'lead.{propertyValue}',"
   " 'subject': 'contact:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'lifecyclestage': 'propertyValue',"
   "           'change_source': 'changeSource'}}"},
  {"hubspot.company_lifecycle", "lifecycle",
   "{'match': {'subscriptionType': 'company.propertyChange',"
   "           'propertyName': 'lifecyclestage',"
   "           'propertyValue': {'exists': true}},"
   " 'type': 'lead.{propertyValue}',"
   " 'subject': 'company:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'lifecyclestage': 'propertyValue',"
   "           'change_source': 'changeSource'}}"},
  {"hubspot.contact_lead_status", "lead_status",
   "{'match': {'subscriptionType': 'contact.propertyChange',"
   "           'propertyName': 'hs_lead_status',"
   "           'propertyValue': {'exists': true}},"
   " 'type': 'lead_status.{propertyValue}',"
   " 'subject': 'contact:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'lead_status': 'propertyValue',"
   "           'change_source': 'changeSource'}}"},
  {"hubspot.company_lead_status", "lead_status",
   "{'match': {'subscriptionType': 'company.propertyChange',"
   "           'propertyName': 'hs_lead_status',"
   "           'propertyValue': {'exists': true}},"
   " 'type': 'lead_status.{propertyValue}',"
   " 'subject': 'company:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'lead_status': 'propertyValue',"
   "           'change_source': 'changeSource'}}"},
  {"hubspot.contact_created", "creation",
   "{'match': {'subscriptionType': 'contact.creation'},"
   " 'type': 'contact.created',"
   " 'subject': 'contact:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'change_source': 'changeSource'}}"},
  {"hubspot.company_created", "creation",
   "{'match': {'subscriptionType': 'company.creation'},"
   " 'type': 'company.created',"
   " 'subject': 'company:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'change_source': 'changeSource'}}"},
  {"hubspot.contact_property", "properties",
   "{'match': {'subscriptionType': 'contact.propertyChange',"
   "           'propertyName': {'exists': true}},"
   " 'type': 'contact.changed.{propertyName}',"
   " 'subject': 'contact:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'property': 'propertyName', 'value': 'propertyValue',"
   "           'change_source': 'changeSource'}}"},
  {"hubspot.company_property", "properties",
   "{'match': {'subscriptionType': 'company.propertyChange',"
   "           'propertyName': {'exists': true}},"
   " 'type': 'company.changed.{propertyName}',"
   " 'subject': 'company:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'property': 'propertyName', 'value': 'propertyValue',"
   "           'change_source': 'changeSource'}}"},
  {"hubspot.deal_property", "properties",
   "{'match': {'subscriptionType': 'deal.propertyChange',"
   "           'propertyName': {'exists': true}},"
   " 'type': 'deal.changed.{propertyName}',"
   " 'subject': 'deal:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'property': 'propertyName', 'value': 'propertyValue',"
   "           'change_source': 'changeSource'}}"},
  {"hubspot.deal_created", "deals",
   "{'match': {'subscriptionType': 'deal.creation'},"
   " 'type': 'deal.created',"
   " 'subject': 'deal:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'change_source': 'changeSource'}}"},
  {"hubspot.deal_stage", "deals",
   "{'match': {'subscriptionType': 'deal.propertyChange',"
   "           'propertyName': 'dealstage',"
   "           'propertyValue': {'exists': true}},"
   " 'type': 'deal.stage_changed',"
   " 'subject': 'deal:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'stage': 'propertyValue', 'change_source': 'changeSource'}}"},
  {"hubspot.deal_won", "deals",
   "{'match': {'subscriptionType': 'deal.propertyChange',"
   "           'propertyName': 'dealstage',"
   "           'propertyValue': 'closedwon'},"
   " 'type': 'deal.won',"
   " 'subject': 'deal:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'change_source': 'changeSource'}}"},
  {"hubspot.deal_lost", "deals",
   "{'match': {'subscriptionType': 'deal.propertyChange',"
   "           'propertyName': 'dealstage',"
   "           'propertyValue': 'closedlost'},"
   " 'type': 'deal.lost',"
   " 'subject': 'deal:{objectId}',"
   " 'at': {'path': 'occurredAt', 'format': 'unix_ms'},"
   " 'attrs': {'change_source': 'changeSource'}}"},

  /* Stripe -------------------------------------------------------------- */
  {"stripe.checkout_completed", "checkout",
   "{'match': {'type': 'checkout.session.completed'},"
   " 'type': 'checkout.completed',"
   " 'subject': 'customer:{data.object.customer}',"
   " 'at': {'path': 'created', 'format': 'unix'},"
   " 'attrs': {'amount': {'path': 'data.object.amount_total', 'scale': 0.01},"
   "           'currency': 'data.object.currency',"
   "           'email': 'data.object.customer_details.email',"
   "           'subscription': 'data.object.subscription',"
   "           'mode': 'data.object.mode'}}"},
  {"stripe.subscription_created", "subscriptions",
   "{'match': {'type': 'customer.subscription.created'},"
   " 'type': 'subscription.created',"
   " 'subject': 'customer:{data.object.customer}',"
   " 'at': {'path': 'created', 'format': 'unix'},"
   " 'attrs': {'subscription': 'data.object.id',"
   "           'status': 'data.object.status',"
   "           'currency': 'data.object.currency',"
   "           'renews_at': {'path': ['data.object.current_period_end',"
   "                   'data.object.items.data.0.current_period_end'],"
   "                         'time': 'unix'}}}"},
  {"stripe.subscription_updated", "subscriptions",
   "{'match': {'type': 'customer.subscription.updated'},"
   " 'type': 'subscription.updated',"
   " 'subject': 'customer:{data.object.customer}',"
   " 'at': {'path': 'created', 'format': 'unix'},"
   " 'attrs': {'subscription': 'data.object.id',"
   "           'status': 'data.object.status',"
   "           'previous_status': 'data.previous_attributes.status',"
   "           'renews_at': {'path': ['data.object.current_period_end',"
   "                   'data.object.items.data.0.current_period_end'],"
   "                         'time': 'unix'}}}"},
  {"stripe.subscription_renewed", "subscriptions",
   "{'match': {'type': 'invoice.paid',"
   "           'data.object.billing_reason': 'subscription_cycle'},"
   " 'type': 'subscription.renewed',"
   " 'subject': 'customer:{data.object.customer}',"
   " 'at': {'path': 'created', 'format': 'unix'},"
   " 'attrs': {'subscription': {'path': ['data.object.subscription',"
   "             'data.object.parent.subscription_details.subscription']},"
   "           'renews_at': {'path': 'data.object.lines.data.0.period.end',"
   "                         'time': 'unix'}}}"},
  {"stripe.subscription_deleted", "subscriptions",
   "{'match': {'type': 'customer.subscription.deleted'},"
   " 'type': 'subscription.cancelled',"
   " 'subject': 'customer:{data.object.customer}',"
   " 'at': {'path': 'created', 'format': 'unix'},"
   " 'attrs': {'subscription': 'data.object.id',"
   "           'status': 'data.object.status',"
   "           'reason': 'data.object.cancellation_details.reason'}}"},
  {"stripe.invoice_paid", "invoices",
   "{'match': {'type': 'invoice.paid'},"
   " 'type': 'invoice.paid',"
   " 'subject': 'customer:{data.object.customer}',"
   " 'at': {'path': 'created', 'format': 'unix'},"
   " 'attrs': {'amount': {'path': 'data.object.amount_paid', 'scale': 0.01,"
   "                      'required': true},"
   "           'currency': {'path': 'data.object.currency',"
   "                        'required': true},"
   "           'invoice': 'data.object.id',"
   "           'subscription': {'path': ['data.object.subscription',"
   "             'data.object.parent.subscription_details.subscription']}}}"},
  {"stripe.invoice_payment_failed", "invoices",
   "{'match': {'type': 'invoice.payment_failed'},"
   " 'type': 'invoice.payment_failed',"
   " 'subject': 'customer:{data.object.customer}',"
   " 'at': {'path': 'created', 'format': 'unix'},"
   " 'attrs': {'amount': {'path': 'data.object.amount_due', 'scale': 0.01},"
   "           'currency': 'data.object.currency',"
   "           'invoice': 'data.object.id',"
   "           'attempt_count': 'data.object.attempt_count',"
   "           'subscription': {'path': ['data.object.subscription',"
   "             'data.object.parent.subscription_details.subscription']}}}"},

  /* Pipedrive (webhooks v2) ---------------------------------------------
   * Pipedrive's ids are numbers; `owner` is rendered as text ("9001")
   * because the clock takes an owner only when it is a non-empty string.
   * A config maps ids to names by extending a rule with a lookup. */
  {"pipedrive.deal_created", "deals",
   "{'match': {'meta.entity': 'deal', 'meta.action': 'create'},"
   " 'type': 'deal.created',"
   " 'subject': 'deal:{data.id}',"
   " 'attrs': {'stage_id': 'data.stage_id',"
   "           'pipeline_id': 'data.pipeline_id',"
   "           'amount': 'data.value', 'currency': 'data.currency',"
   "           'owner': {'template': '{data.owner_id}'},"
   "           'person': 'data.person_id', 'org': 'data.org_id'}}"},
  {"pipedrive.deal_stage", "deals",
   "{'match': {'meta.entity': 'deal', 'meta.action': 'change',"
   "           'previous.stage_id': {'exists': true}},"
   " 'type': 'deal.stage_changed',"
   " 'subject': 'deal:{data.id}',"
   " 'attrs': {'stage_id': 'data.stage_id',"
   "           'previous_stage_id': 'previous.stage_id',"
   "           'pipeline_id': 'data.pipeline_id',"
   "           'amount': 'data.value', 'currency': 'data.currency',"
   "           'owner': {'template': '{data.owner_id}'}}}"},
  {"pipedrive.deal_won", "deals",
   "{'match': {'meta.entity': 'deal', 'meta.action': 'change',"
   "           'data.status': {'changed_to': 'won'}},"
   " 'type': 'deal.won',"
   " 'subject': 'deal:{data.id}',"
   " 'attrs': {'amount': 'data.value', 'currency': 'data.currency',"
   "           'owner': {'template': '{data.owner_id}'},"
   "           'person': 'data.person_id', 'org': 'data.org_id'}}"},
  {"pipedrive.deal_lost", "deals",
   "{'match': {'meta.entity': 'deal', 'meta.action': 'change',"
   "           'data.status': {'changed_to': 'lost'}},"
   " 'type': 'deal.lost',"
   " 'subject': 'deal:{data.id}',"
   " 'attrs': {'amount': 'data.value', 'currency': 'data.currency',"
   "           'owner': {'template': '{data.owner_id}'},"
   "           'reason': 'data.lost_reason'}}"},
  {"pipedrive.person_created", "persons",
   "{'match': {'meta.entity': 'person', 'meta.action': 'create'},"
   " 'type': 'lead.created',"
   " 'subject': 'person:{data.id}',"
   " 'attrs': {'email': 'data.emails.0.value',"
   "           'owner': {'template': '{data.owner_id}'},"
   "           'org': 'data.org_id'}}"},
  {"pipedrive.activity_created", "activities",
   "{'match': {'meta.entity': 'activity', 'meta.action': 'create',"
   "           'data.person_id': {'exists': true}},"
   " 'type': 'activity.created',"
   " 'subject': 'person:{data.person_id}',"
   " 'attrs': {'activity_type': 'data.type',"
   "           'owner': {'template': '{data.owner_id}'},"
   "           'deal': 'data.deal_id', 'done': 'data.done'}}"},

  /* Chargebee ----------------------------------------------------------- */
  {"chargebee.subscription_created", "subscriptions",
   "{'match': {'event_type': 'subscription_created'},"
   " 'type': 'subscription.created',"
   " 'subject': 'customer:{content.customer.id}',"
   " 'attrs': {'subscription': 'content.subscription.id',"
   "           'status': 'content.subscription.status',"
   "           'currency': 'content.subscription.currency_code',"
   "           'renews_at': {'path': ['content.subscription.current_term_end',"
   "                           'content.subscription.next_billing_at'],"
   "                         'time': 'unix'}}}"},
  {"chargebee.subscription_activated", "subscriptions",
   "{'match': {'event_type': 'subscription_activated'},"
   " 'type': 'subscription.activated',"
   " 'subject': 'customer:{content.customer.id}',"
   " 'attrs': {'subscription': 'content.subscription.id',"
   "           'status': 'content.subscription.status',"
   "           'renews_at': {'path': ['content.subscription.current_term_end',"
   "                           'content.subscription.next_billing_at'],"
   "                         'time': 'unix'}}}"},
  {"chargebee.subscription_renewed", "subscriptions",
   "{'match': {'event_type': 'subscription_renewed'},"
   " 'type': 'subscription.renewed',"
   " 'subject': 'customer:{content.customer.id}',"
   " 'attrs': {'subscription': 'content.subscription.id',"
   "           'status': 'content.subscription.status',"
   "           'renews_at': {'path': ['content.subscription.current_term_end',"
   "                           'content.subscription.next_billing_at'],"
   "                         'time': 'unix'}}}"},
  {"chargebee.subscription_cancelled", "subscriptions",
   "{'match': {'event_type': 'subscription_cancelled'},"
   " 'type': 'subscription.cancelled',"
   " 'subject': 'customer:{content.customer.id}',"
   " 'attrs': {'subscription': 'content.subscription.id',"
   "           'status': 'content.subscription.status',"
   "           'reason': 'content.subscription.cancel_reason_code'}}"},
  {"chargebee.payment_succeeded", "payments",
   "{'match': {'event_type': 'payment_succeeded'},"
   " 'type': 'payment.succeeded',"
   " 'subject': 'customer:{content.customer.id}',"
   " 'attrs': {'amount': {'path': 'content.transaction.amount',"
   "                      'scale': 0.01, 'required': true},"
   "           'currency': {'path': 'content.transaction.currency_code',"
   "                        'required': true},"
   "           'subscription': 'content.transaction.subscription_id',"
   "           'invoice': 'content.invoice.id'}}"},

  /* Paddle Billing ------------------------------------------------------ */
  {"paddle.subscription_created", "subscriptions",
   "{'match': {'event_type': 'subscription.created'},"
   " 'type': 'subscription.created',"
   " 'subject': 'customer:{data.customer_id}',"
   " 'attrs': {'subscription': 'data.id', 'status': 'data.status',"
   "           'currency': 'data.currency_code',"
   "           'renews_at': {'path': ['data.current_billing_period.ends_at',"
   "                                  'data.next_billed_at'],"
   "                         'time': 'rfc3339'}}}"},
  {"paddle.subscription_activated", "subscriptions",
   "{'match': {'event_type': 'subscription.activated'},"
   " 'type': 'subscription.activated',"
   " 'subject': 'customer:{data.customer_id}',"
   " 'attrs': {'subscription': 'data.id', 'status': 'data.status',"
   "           'renews_at': {'path': ['data.current_billing_period.ends_at',"
   "                                  'data.next_billed_at'],"
   "                         'time': 'rfc3339'}}}"},
  {"paddle.subscription_canceled", "subscriptions",
   "{'match': {'event_type': 'subscription.canceled'},"
   " 'type': 'subscription.cancelled',"
   " 'subject': 'customer:{data.customer_id}',"
   " 'attrs': {'subscription': 'data.id', 'status': 'data.status',"
   "           'canceled_at': {'path': 'data.canceled_at',"
   "                           'time': 'rfc3339'}}}"},
  {"paddle.transaction_completed", "transactions",
   "{'match': {'event_type': 'transaction.completed'},"
   " 'type': 'transaction.completed',"
   " 'subject': 'customer:{data.customer_id}',"
   " 'attrs': {'amount': {'path': 'data.details.totals.grand_total',"
   "                      'scale': 0.01, 'required': true},"
   "           'currency': {'path': 'data.currency_code', 'required': true},"
   "           'transaction': 'data.id',"
   "           'subscription': 'data.subscription_id'}}"},
};
/* clang-format on */

const struct hk_preset *hk_presets(size_t *n) {
  *n = sizeof presets / sizeof presets[0];
  return presets;
}
