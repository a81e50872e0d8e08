// The retailer's assortment and store network: a three-level category tree
// (8 top categories, "服饰 > 女装 > 连衣裙"), brands, Chinese/English item
// titles, prices (lognormal per category), Zipf-like popularity (exponent 1,
// so a few items dominate), complementary items that are bought together, and
// which items each channel and store sells and has in stock.
//
// Memory is O(items + stores): titles and per-store availability are derived
// from a hash of (seed, item, store) when needed, never stored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/demo/random.h"

namespace omni::demo {

// A leaf category with what shoppers do in it.
struct Leaf {
  std::string_view top, mid, leaf;
  std::string_view nouns[3];    // product words for titles
  std::string_view specs[4];    // sizes, volumes, variants
  std::string_view queries[3];  // what people type into search
  double median_price;          // CNY
  double price_sigma;           // lognormal sigma of price
  double share;                 // relative number of items
  double refund_rate;           // share of purchased units returned
  bool repeat;                  // bought again and again (food, beauty, baby, personal care)
  bool store_only;              // fresh food: not sold online
  int complement;               // leaf whose items go in the same basket, -1 none
};

struct Store {
  std::string id;    // "SH-01"
  std::string name;  // "上海 南京西路店"
  std::string city;  // "上海"
  int city_index = 0;
  bool flagship = false;
  double traffic = 1.0;     // relative visits
  double assortment = 1.0;  // share of the store-sold range carried
  int kiosks = 0;           // self-service screens shared by every shopper
};

struct Item {
  int32_t price_cents = 0;
  int32_t partner = -1;  // an item often bought with this one, -1 none
  uint8_t leaf = 0;
  uint8_t brand = 0;
  bool sold_online = true;
  bool sold_in_stores = true;
  int32_t online_stock = 0;  // warehouse units; 0 = out of stock online
};

class Catalogue {
 public:
  // Builds `items` items over `stores` stores. Draws from `rng`.
  Catalogue(int64_t items, int stores, uint64_t seed, Rng& rng);

  static const std::vector<Leaf>& Leaves();
  static int TopCount();
  // Index of a leaf's top category (0..TopCount()-1).
  static int TopOf(int leaf);
  static std::string_view TopName(int top);
  static int CityCount();
  static std::string_view CityName(int city);
  static double CityWeight(int city);

  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  const Item& item(int32_t i) const { return items_[static_cast<size_t>(i)]; }
  const std::vector<Store>& stores() const { return stores_; }
  // Stores of a city, or all stores when the city has none.
  const std::vector<int>& StoresIn(int city) const { return stores_by_city_[static_cast<size_t>(city)]; }

  // "SKU-100042".
  std::string ItemId(int32_t i) const;
  void AppendItemId(std::string& out, int32_t i) const;
  std::string Title(int32_t i) const;
  std::string_view Brand(int32_t i) const;
  std::string CategoryPath(int32_t i) const;

  // Popularity-weighted draws (Zipf over a random ranking).
  int32_t SampleItem(Rng& rng) const;
  int32_t SampleItemInLeaf(int leaf, Rng& rng) const;
  int32_t SampleItemInTop(int top, Rng& rng) const;
  // A store-sold item of `store` from `leaf`'s top category, or -1 after a
  // few misses (store assortments are partial).
  int32_t SampleStoreItem(int store, int top, Rng& rng) const;
  int SampleStoreIn(int city, Rng& rng) const;

  // Whether `store` carries the item, and has it on the shelf now.
  bool SoldInStore(int32_t item, int store) const;
  bool OutOfStockInStore(int32_t item, int store) const;

  // CSV writers: see generator.h for the formats. Each returns the rows written.
  StatusOr<int64_t> WriteCatalogueCsv(const std::string& path) const;
  StatusOr<int64_t> WriteAvailabilityCsv(const std::string& path) const;
  StatusOr<int64_t> WriteStoresCsv(const std::string& path) const;

 private:
  uint64_t seed_;
  std::vector<Item> items_;
  std::vector<Store> stores_;
  std::vector<std::vector<int>> stores_by_city_;
  std::vector<AliasTable> store_by_city_traffic_;
  AliasTable global_;
  std::vector<std::vector<int32_t>> leaf_items_;
  std::vector<AliasTable> leaf_alias_;
  std::vector<std::vector<int>> top_leaves_;
  std::vector<AliasTable> top_leaf_alias_;
  std::vector<uint32_t> rank_;  // popularity rank of each item, 0 = most popular
};

}  // namespace omni::demo
