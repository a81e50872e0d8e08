// The CSV-family source formats, one .cc file each, built by MakeFormat()
// (format.cc) from a spec string. docs/formats.md describes each mapping onto
// the canonical event, its derived event id and what it rejects.
//
// Every format keeps its own Pseudonymiser and parse buffers, so one instance
// serves one import on one thread.
#pragma once

#include <memory>

#include "omni/common/spec.h"
#include "omni/common/status.h"
#include "omni/ingest/config.h"
#include "omni/ingest/format.h"

namespace omni::ingest {

// "csv:<mapping>": the user's own export, mapped column by column, e.g.
// "csv:ts=Order Time,channel=const:store,type=const:purchase,phone=Mobile".
// InvalidArgument naming the key when the mapping is incomplete or unknown.
StatusOr<std::unique_ptr<Format>> MakeGenericCsvFormat(const Spec& spec, const IngestConfig& config);

// UCI Online Retail (InvoiceNo,StockCode,Description,Quantity,InvoiceDate,...).
std::unique_ptr<Format> MakeOnlineRetailFormat(const IngestConfig& config);

// RetailRocket events.csv (timestamp,visitorid,event,itemid,transactionid).
std::unique_ptr<Format> MakeRetailRocketFormat(const IngestConfig& config);

// MovieLens ratings: u.data, ratings.dat or ratings.csv, detected per record.
std::unique_ptr<Format> MakeMovieLensFormat(const IngestConfig& config);

// Taobao UserBehavior.csv (user_id,item_id,category_id,behavior_type,timestamp).
std::unique_ptr<Format> MakeTaobaoFormat(const IngestConfig& config);

// "catalogue[:delimiter=...]": items with item_id and optional title,
// category, brand, price; other columns become string attributes.
StatusOr<std::unique_ptr<Format>> MakeCatalogueFormat(const Spec& spec, const IngestConfig& config);

// "availability[:delimiter=...]": item_id,channel,store_id,sold,stock.
StatusOr<std::unique_ptr<Format>> MakeAvailabilityFormat(const Spec& spec, const IngestConfig& config);

}  // namespace omni::ingest
