// The stored form of a profile's maps and lists (the `detail` column of the
// profiles table): channels, categories, brands, recent-behaviour windows,
// consent and recent event seqs. Scalars live in their own columns.
//
// Version 3, binary. The detail is most of the bytes a build writes (a build
// rewrites every customer), and most of a JSON detail was names repeated in
// every profile ("个护清洁 > 纸品 > 抽纸" is 30 bytes) and numbers as text.
// Names are stored once, in the profile_names table, and referred to by id;
// numbers are varints. About a third of the JSON's size, and cheaper to write
// and to read.
//
//   byte 0x03
//   channels:  n, then per channel: (name_id << 1 | has_purchase), events,
//              event_share_bp [, orders, monetary, last_purchase_ms,
//              recency_days, order_share_bp when has_purchase]
//   categories, brands: n, then per entry: name_id, weight, share_bp
//   windows:   browse_without_buy × 3, cart_abandon × 3
//   consent:   n, then per channel: (name_id << 1 | granted), ts_ms
//   recent:    n, the newest seq, then each older seq as its distance to the
//              one before
// Integers are LEB128 varints (zigzag for signed ones); a real is a varint
// whose low two bits say how it is held: an integer, hundredths (prices and
// sums of them), or the 8 bytes of the double — always exactly the value
// written. Shares are basis points (share × 10⁴, rounded), as in version 2.
//
// Versions 1 and 2 were JSON text (ParseProfileDetailJson); stores built by
// an older omni stay readable until their next build.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <absl/functional/function_ref.h>

#include "omni/common/status.h"
#include "omni/profile/profile.h"

namespace omni::profile {

// True when `detail` is a version 3 (binary) detail rather than JSON text.
bool IsBinaryProfileDetail(std::string_view detail);

// Appends the detail of `p` to `out`. `name_id` gives the id of a channel,
// category or brand name (the profile_names table's numbering).
void EncodeProfileDetail(const Profile& p, absl::FunctionRef<int64_t(std::string_view)> name_id, std::string& out);

// Fills p's detail fields from `detail`, names looked up in `names` (id ->
// name). InvalidArgument for bytes that are not a version 3 detail; NotFound
// when an id is not in `names` (a build newer than the caller's copy of the
// table), with *missing_id set to that id.
Status DecodeProfileDetail(std::string_view detail, std::span<const std::string> names, Profile& p,
                           int64_t* missing_id = nullptr);

}  // namespace omni::profile
