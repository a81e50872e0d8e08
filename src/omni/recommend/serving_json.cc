#include "omni/recommend/serving_json.h"

namespace omni::recommend {

void WriteRecommendedItemsJson(JsonWriter& w, const std::vector<RecommendedItem>& items) {
  w.Key("items").BeginArray();
  for (const auto& item : items) {
    w.BeginObject().Key("item_id").String(item.item_id).Key("title").String(item.title);
    w.Key("category").String(item.category).Key("score").Double(item.score).Key("reason").String(item.reason);
    w.Key("because").BeginArray();
    for (const auto& b : item.because) w.String(b);
    w.EndArray().Key("explanation").String(item.explanation).EndObject();
  }
  w.EndArray();
}

}  // namespace omni::recommend
