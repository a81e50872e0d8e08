// The "jsonl" format: one canonical event (DESIGN.md, "The canonical event")
// per line.
//
//   auto format = MakeJsonlFormat(config);
//   format->Parse(line, line_no, batch);   // appends one event or one rejection
//
// What a line must hold, and the reject reason when it does not (the field is
// named in RejectedRecord::field):
//   event_id    non-empty string, at most 256 bytes      missing_field / wrong_type
//   ts          RFC 3339 string with offset, or epoch     missing_field / bad_timestamp
//               seconds / milliseconds (number or digits)
//   channel     a configured channel                      missing_field / wrong_type / unknown_channel
//   type        a configured event type or custom prefix  missing_field / wrong_type / unknown_event_type
//   identities  object of identity type → string; numbers missing_field / wrong_type /
//               are accepted for customer_id, member_card invalid_identity / missing_identities
//               and phone; "" and null values are skipped
//   item_id     string or integer (stored as text)        wrong_type
//   quantity,   number or numeric string ("59.0")         bad_number, negative_quantity
//   price                                                 (purchases), negative_price
//   currency, order_id, store_id, campaign_id: strings    wrong_type
//   properties  object, stored as compact JSON text       wrong_type
//   consent     events need properties.channel (a         missing_field / unknown_channel
//               configured channel) and properties.granted (bool)
// Whole-record problems: longer than max_record_bytes → oversized_record (not
// parsed); invalid UTF-8 → invalid_utf8; not a JSON object, or a known key
// given twice → invalid_json.
//
// Lenient on purpose: unknown top-level keys are ignored (a newer producer
// may send fields this omni does not know yet); null on an optional field
// means absent; a UTF-8 byte-order mark at the start of a line is skipped;
// a line holding only whitespace is not a record and yields nothing.
//
// Identities are normalised and pseudonymised (pii.h) before the event is
// appended, so no raw phone or e-mail reaches the batch. Rejection messages
// name line, field and the offending value, except identity values, which
// may be PII; the quarantined raw text has phone- and e-mail-like runs masked.
//
// Thread-compatible: one format object per thread (it reuses a parser and a
// pseudonymisation cache).
#pragma once

#include <memory>

#include "omni/ingest/config.h"
#include "omni/ingest/format.h"

namespace omni::ingest {

std::unique_ptr<Format> MakeJsonlFormat(const IngestConfig& config);

}  // namespace omni::ingest
