// One customer across every channel, as `omni customers show` prints it and
// GET /v1/customers/{identifier} returns it: who (identifiers, hashed ones
// masked), how valuable (RFM, CLV), where they shop, what they like, what we
// may do (consent) and what they did last (a timeline across channels with
// item titles from the catalogue).
//
// The identifier is "type:value" as a person gives it (phone:+86 138 0013
// 8000, email:Wei.Li@163.com, member_card:M0042) or customer:C000000123 for
// a customer key; phones and e-mails are normalised and hashed exactly as
// ingest does before the look-up, so a raw value is never stored, logged or
// echoed back (not even in the NotFound message).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/json_writer.h"
#include "omni/common/status.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config.h"
#include "omni/ingest/pii.h"
#include "omni/profile/profile.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/scores_store.h"
#include "omni/store/store.h"

namespace omni::serve {

struct CustomerView {
  std::string customer_key;
  std::vector<ingest::Identity> identifiers;  // stored form, strongest first
  std::optional<profile::ProfileBuildInfo> build;
  std::optional<profile::Profile> profile;
  struct TimelineEvent {
    int64_t seq = 0;
    ingest::Event event;
  };
  std::vector<TimelineEvent> timeline;  // newest first
  std::map<std::string, std::string> titles;  // item_id -> catalogue title ("" when unknown)
  // Scores written back by models (omni propensity score), by name.
  std::vector<profile::CustomerScore> scores;
  // False when events stored after the profile build were not all scanned
  // (CustomerViewOptions::max_new_events).
  bool timeline_complete = true;
};

struct CustomerViewOptions {
  size_t timeline_events = 20;
  // Events stored since the latest profile build are scanned for the
  // customer's newest activity; at most this many (< 0: all). The server
  // bounds it (0 by default: it only notes that newer events exist) so a
  // look-up stays fast while events stream in between profile builds.
  int64_t max_new_events = -1;
};

// What a look-up reads through; each used by one thread at a time.
struct CustomerSources {
  const ingest::IngestConfig& config;
  ingest::Pseudonymiser& pseudonymiser;
  const identity::CustomerDirectory& directory;
  store::Store& store;
  profile::ProfileStore& profiles;
  // When set, timeline events are read by seq through it: its statements are
  // prepared once per connection, where Store::ScanEvents prepares one per
  // call (a tenth of a millisecond each, twenty per look-up). The server
  // passes the profile store's connection; the CLI leaves it null.
  store::Sql* sql = nullptr;
};

// InvalidArgument (field "identifier") for a malformed identifier or an
// unknown type; NotFound when no resolved customer has it.
StatusOr<CustomerView> LoadCustomerView(const CustomerSources& sources, std::string_view identifier,
                                        const CustomerViewOptions& options = {});

// The view as one JSON object (the CLI's --format json and the API's body).
void WriteCustomerViewJson(JsonWriter& w, const CustomerView& view, const ingest::IngestConfig& config);
// One profile as the "profile" object of that view (also a line of
// `omni profiles export`); `as_of_ms` 0 = unknown.
void WriteProfileJson(JsonWriter& w, const profile::Profile& p, int64_t as_of_ms);

// "#3fa2…9c01" for hashed identifier values, the value itself otherwise.
std::string MaskedIdentifierValue(const ingest::IngestConfig& config, const ingest::Identity& id);

}  // namespace omni::serve
