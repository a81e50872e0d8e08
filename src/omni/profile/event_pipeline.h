// Reading the event log on one core while the profile stage works on the
// other. Store::ScanEvents spends most of a profile build inside SQLite
// (stepping rows, decoding the identities JSON, copying strings); the
// per-event profile work is a few hash look-ups. On a 2-core server, doing the
// two at once instead of in turn takes the build from their sum to about the
// larger of the two.
#pragma once

#include <cstdint>
#include <functional>

#include "omni/common/status.h"
#include "omni/ingest/event.h"
#include "omni/store/store.h"

namespace omni::profile {

struct PipelineOptions {
  size_t batch_events = 4096;  // events handed over at a time; 3 batches in flight
  // Copying an event to the other thread is a good part of the cost, so a
  // consumer that reads only what the profile needs can skip the rest:
  // false leaves event_id, currency, store_id, campaign_id and line_no empty,
  // and properties_json empty except on consent events.
  bool full_events = true;
};

// Calls `fn` for every stored event with sequence number > after_seq, in
// storage order, on the calling thread, while a second thread runs
// store.ScanEvents ahead of it. Returns the scan's status. `store` must not
// be used by anyone else until this returns.
Status ScanEventsPipelined(store::Store& store, int64_t after_seq,
                           const std::function<void(int64_t seq, const ingest::Event&)>& fn,
                           const PipelineOptions& options = {});

}  // namespace omni::profile
