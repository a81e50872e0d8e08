// The profile fields a segment expression may use (`omni segments fields`
// lists them), and a ProfileRow that reads them from a Profile.
//
//   ProfileFields fields(config.channels);
//   auto expr = SegmentExpression::Parse("rfm.recency >= 4 and consent.sms", fields.catalog());
//   ProfileFields::Row row(fields);
//   row.Reset(&profile);
//   if (expr->Matches(row)) ...
//
// Every field is declared once, with its type and a one-line description, in
// profile_fields.cc. Fields that depend on the channel list (channel.web.orders,
// mix.store.events, consent.sms, ...) are declared for each configured
// channel. A value that does not exist for a customer (no purchase: no RFM
// scores, no recency; no consent event: no consent.sms) is missing, and every
// condition on a missing value is false (segment_expression.h).
//
// Scores written back by later stages (scores_store.h: `propensity.purchase_90d`
// from `omni propensity score`) become number fields named as stored when
// the scores are passed in; a customer without a score has the field missing.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "omni/profile/profile.h"
#include "omni/profile/scores_store.h"
#include "omni/profile/segment_expression.h"

namespace omni::profile {

class ProfileFields {
 public:
  // `channels`: the ingest config's channel list; `scores`: optional
  // written-back scores (ScoresStore::LoadAll), one number field per name.
  explicit ProfileFields(const std::vector<std::string>& channels,
                         std::shared_ptr<const CustomerScores> scores = nullptr);

  const FieldCatalog& catalog() const { return catalog_; }

  // Reads one profile's fields. Reset() to the next profile; reuse the row.
  class Row : public ProfileRow {
   public:
    explicit Row(const ProfileFields& fields);
    void Reset(const Profile* profile) { profile_ = profile; }
    bool GetNumber(int field, double* value) const override;
    bool GetBool(int field, bool* value) const override;
    bool GetString(int field, std::string_view* value) const override;
    bool SetContains(int field, std::string_view value) const override;

   private:
    const ProfileFields& fields_;
    const Profile* profile_ = nullptr;
    // Strings computed on demand (dates) live here, one slot per field, so a
    // view stays valid while the row is on the same profile.
    mutable std::vector<std::string> scratch_;
  };

 private:
  struct Accessor {
    std::function<bool(const Profile&, double*)> number;
    std::function<bool(const Profile&, bool*)> boolean;
    std::function<bool(const Profile&, std::string_view*, std::string&)> string;
    std::function<bool(const Profile&, std::string_view)> contains;
  };
  void Number(std::string name, std::string description, std::function<bool(const Profile&, double*)> get);
  void Bool(std::string name, std::string description, std::function<bool(const Profile&, bool*)> get);
  void String(std::string name, std::string description,
              std::function<bool(const Profile&, std::string_view*, std::string&)> get);
  void Set(std::string name, std::string description, std::function<bool(const Profile&, std::string_view)> contains);

  FieldCatalog catalog_;
  std::vector<Accessor> accessors_;
  std::shared_ptr<const CustomerScores> scores_;
};

// "2025-03-01" (UTC) for an epoch-ms time; "" for 0.
std::string DateOf(int64_t ts_ms);

}  // namespace omni::profile
