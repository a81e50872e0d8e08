#include "omni/demo/catalogue.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "omni/demo/json_out.h"
#include "omni/demo/output_file.h"

namespace omni::demo {
namespace {

constexpr std::string_view kTops[] = {"服饰", "食品", "美妆", "家居", "数码", "母婴", "运动户外", "个护清洁"};
constexpr int kTopCount = 8;

// Index comments are referenced by `complement`.
const std::vector<Leaf> kLeaves = {
    /*0*/ {"服饰", "女装", "连衣裙", {"碎花连衣裙", "针织连衣裙", "法式长裙"}, {"S码", "M码", "L码", "XL码"},
           {"连衣裙", "碎花裙 夏", "dress"}, 299, 0.5, 1.4, 0.20, false, false, 4},
    /*1*/ {"服饰", "女装", "T恤", {"纯棉T恤", "印花短袖", "宽松上衣"}, {"S码", "M码", "L码", "XL码"},
           {"T恤 女", "短袖", "t-shirt"}, 99, 0.4, 1.2, 0.14, false, false, 4},
    /*2*/ {"服饰", "男装", "衬衫", {"商务衬衫", "牛津纺衬衫", "免烫衬衫"}, {"39码", "40码", "41码", "42码"},
           {"衬衫 男", "免烫衬衫", "shirt"}, 199, 0.45, 1.0, 0.12, false, false, 3},
    /*3*/ {"服饰", "男装", "夹克", {"休闲夹克", "冲锋衣", "羽绒服"}, {"M码", "L码", "XL码", "XXL码"},
           {"夹克", "羽绒服 男", "jacket"}, 499, 0.55, 0.9, 0.12, false, false, 2},
    /*4*/ {"服饰", "鞋靴", "运动鞋", {"跑步鞋", "板鞋", "休闲运动鞋"}, {"38码", "40码", "42码", "44码"},
           {"运动鞋", "跑鞋", "sneakers"}, 459, 0.5, 1.1, 0.16, false, false, 24},
    /*5*/ {"食品", "饮料", "茶饮", {"无糖乌龙茶", "茉莉花茶", "柠檬茶"}, {"500ml×15瓶", "330ml×24罐", "1L×6瓶", "450ml×12瓶"},
           {"乌龙茶", "无糖茶", "tea"}, 59, 0.35, 1.2, 0.02, true, false, 8},
    /*6*/ {"食品", "饮料", "咖啡", {"冷萃咖啡液", "挂耳咖啡", "速溶咖啡"}, {"20杯装", "30条装", "12颗装", "500g"},
           {"咖啡", "冷萃", "coffee"}, 79, 0.4, 1.0, 0.02, true, false, 8},
    /*7*/ {"食品", "零食", "坚果", {"每日坚果", "夏威夷果", "碧根果"}, {"750g/30袋", "500g", "1kg礼盒", "25g×20袋"},
           {"坚果", "每日坚果", "nuts"}, 89, 0.35, 1.0, 0.03, true, false, 5},
    /*8*/ {"食品", "零食", "饼干", {"苏打饼干", "曲奇饼干", "全麦饼干"}, {"400g", "1kg", "礼盒装", "8包"},
           {"饼干", "曲奇", "cookies"}, 39, 0.4, 0.8, 0.02, true, false, 6},
    /*9*/ {"食品", "生鲜", "水果", {"阳光玫瑰葡萄", "赣南脐橙", "智利车厘子"}, {"2.5kg", "5斤装", "1kg", "JJ级 2斤"},
           {"水果", "车厘子", "fruit"}, 69, 0.5, 0.6, 0.04, true, true, 7},
    /*10*/ {"美妆", "护肤", "面霜", {"修护面霜", "保湿霜", "抗皱紧致霜"}, {"50ml", "30ml", "75ml", "15ml"},
            {"面霜", "保湿 面霜", "cream"}, 399, 0.6, 1.0, 0.06, true, false, 12},
    /*11*/ {"美妆", "护肤", "精华", {"小棕瓶精华", "烟酰胺精华", "玻尿酸精华"}, {"30ml", "50ml", "100ml", "7ml×4"},
            {"精华", "小棕瓶", "serum"}, 599, 0.6, 0.9, 0.06, true, false, 10},
    /*12*/ {"美妆", "护肤", "面膜", {"补水面膜", "修护面膜", "泥膜"}, {"10片装", "5片装", "100g", "20片装"},
            {"面膜", "补水面膜", "mask"}, 129, 0.4, 0.9, 0.04, true, false, 11},
    /*13*/ {"美妆", "彩妆", "口红", {"丝绒哑光口红", "滋润唇膏", "唇釉"}, {"#999", "#316", "#888", "#520"},
            {"口红", "唇膏 \"哑光\"", "lipstick"}, 289, 0.35, 0.9, 0.08, false, false, 10},
    /*14*/ {"家居", "厨房", "锅具", {"不粘炒锅", "电饭煲", "铸铁锅"}, {"30cm", "4L", "28cm", "3L"},
            {"炒锅", "电饭煲", "wok"}, 329, 0.5, 0.8, 0.08, false, false, 15},
    /*15*/ {"家居", "厨房", "餐具", {"陶瓷碗碟套装", "保温杯", "玻璃密封罐"}, {"4人份", "500ml", "10件套", "1.2L"},
            {"餐具", "保温杯", "mug"}, 129, 0.5, 0.8, 0.07, false, false, 14},
    /*16*/ {"家居", "家纺", "床品", {"纯棉四件套", "乳胶枕", "蚕丝被"}, {"1.5m床", "1.8m床", "单人", "200×230cm"},
            {"四件套", "乳胶枕", "bedding"}, 499, 0.55, 0.8, 0.09, false, false, -1},
    /*17*/ {"数码", "手机配件", "充电器", {"氮化镓快充充电器", "无线充电器", "车载充电器"}, {"65W", "20W", "100W", "30W"},
            {"充电器", "氮化镓", "charger"}, 129, 0.4, 1.0, 0.06, false, false, 18},
    /*18*/ {"数码", "手机配件", "数据线", {"Type-C 数据线", "编织快充线", "Lightning 数据线"}, {"1m", "2m", "0.5m", "1.5m"},
            {"数据线", "type-c", "cable"}, 39, 0.35, 0.9, 0.05, false, false, 17},
    /*19*/ {"数码", "手机配件", "手机壳", {"磁吸手机壳", "透明防摔壳", "硅胶手机壳"}, {"iPhone 16 Pro", "Mate 70", "iPhone 15", "小米15"},
            {"手机壳", "iPhone 16 壳", "case"}, 59, 0.4, 1.1, 0.07, false, false, 17},
    /*20*/ {"数码", "耳机", "蓝牙耳机", {"真无线降噪耳机", "运动蓝牙耳机", "头戴式耳机"}, {"黑色", "白色", "星空蓝", "限定色"},
            {"蓝牙耳机", "降噪耳机", "airpods"}, 399, 0.6, 0.9, 0.08, false, false, 17},
    /*21*/ {"数码", "智能穿戴", "手环", {"智能手环", "运动手表", "儿童手表"}, {"NFC版", "标准版", "eSIM版", "46mm"},
            {"手环", "智能手表", "smart watch"}, 299, 0.6, 0.7, 0.08, false, false, 20},
    /*22*/ {"母婴", "奶粉", "婴儿奶粉", {"婴幼儿配方奶粉", "有机奶粉", "A2奶粉"}, {"1段 800g", "2段 800g", "3段 800g", "3段 400g"},
            {"奶粉", "3段奶粉", "formula"}, 329, 0.25, 0.8, 0.02, true, false, 23},
    /*23*/ {"母婴", "纸尿裤", "纸尿裤", {"纸尿裤", "拉拉裤", "夜用纸尿裤"}, {"NB码", "M码", "L码", "XL码"},
            {"纸尿裤", "拉拉裤", "diapers"}, 139, 0.3, 0.8, 0.02, true, false, 22},
    /*24*/ {"运动户外", "健身", "瑜伽垫", {"加厚瑜伽垫", "弹力带", "泡沫轴"}, {"10mm", "6mm", "套装", "183cm"},
            {"瑜伽垫", "健身", "yoga mat"}, 89, 0.5, 0.7, 0.05, false, false, 21},
    /*25*/ {"运动户外", "户外", "帐篷", {"自动速开帐篷", "露营天幕", "折叠椅"}, {"3-4人", "2人", "5-8人", "单人"},
            {"帐篷", "露营", "camping"}, 599, 0.6, 0.6, 0.09, false, false, -1},
    /*26*/ {"个护清洁", "洗护", "洗发水", {"去屑洗发水", "氨基酸洗发水", "护发素"}, {"750ml", "500ml", "1L", "400ml×2"},
            {"洗发水", "去屑\t洗发水", "shampoo"}, 69, 0.35, 0.9, 0.02, true, false, 28},
    /*27*/ {"个护清洁", "纸品", "抽纸", {"抽纸", "卷纸", "湿巾"}, {"24包", "10卷", "80抽×3包", "整箱"},
            {"抽纸", "卷纸", "tissue"}, 49, 0.3, 0.8, 0.01, true, false, 26},
    /*28*/ {"个护清洁", "口腔", "牙膏", {"美白牙膏", "电动牙刷", "漱口水"}, {"120g×3支", "标准版", "500ml", "刷头×4"},
            {"牙膏", "电动牙刷", "toothpaste"}, 29, 0.6, 0.8, 0.03, true, false, 27},
};

const std::vector<std::vector<std::string_view>> kBrands = {
    {"UNIQLO 优衣库", "ZARA", "太平鸟 PEACEBIRD", "森马 Semir", "李宁 LI-NING", "安踏 ANTA", "Nike 耐克",
     "adidas 阿迪达斯", "波司登 BOSIDENG"},
    {"农夫山泉", "元气森林", "三只松鼠", "良品铺子", "伊利", "雀巢 Nestlé", "三顿半 Saturnbird", "百草味",
     "佳沛 Zespri"},
    {"兰蔻 Lancôme", "欧莱雅 L'Oréal Paris", "雅诗兰黛 Estée Lauder", "珀莱雅 PROYA", "薇诺娜 Winona",
     "花西子 Florasis", "完美日记 Perfect Diary", "SK-II"},
    {"苏泊尔 SUPOR", "九阳 Joyoung", "美的 Midea", "无印良品 MUJI", "乐扣乐扣 LocknLock", "罗莱 LUOLAI",
     "膳魔师 THERMOS"},
    {"小米 Xiaomi", "华为 HUAWEI", "Anker 安克", "绿联 UGREEN", "倍思 Baseus", "Apple", "漫步者 EDIFIER", "OPPO"},
    {"飞鹤 Feihe", "爱他美 Aptamil", "帮宝适 Pampers", "花王 Merries", "君乐宝", "好奇 Huggies"},
    {"迪卡侬 Decathlon", "Keep", "牧高笛 MOBI GARDEN", "凯乐石 KAILAS", "李宁 LI-NING"},
    {"海飞丝 Head & Shoulders", "舒肤佳 Safeguard", "维达 Vinda", "清风 Breeze", "云南白药", "高露洁 Colgate",
     "飞利浦 Philips"},
};

constexpr std::string_view kAdjectives[] = {"", "", "2025新款 ", "经典款 ", "升级版 ", "轻奢 ", "网红同款 ", "官方正品 "};
// A few tags carry a quote or a comma on purpose: real titles do, and they
// exercise CSV quoting in the importer.
constexpr std::string_view kTags[] = {"", "", "", "", "Pro", "Max", "Lite", "Classic", "Limited Edition",
                                      "Plus", "\"Prime\"系列", "买2件, 享9折"};

struct CityDef {
  std::string_view code;
  std::string_view name;
  double weight;
  std::vector<std::string_view> districts;
};

const std::vector<CityDef> kCities = {
    {"SH", "上海", 7, {"南京西路店", "徐家汇店", "陆家嘴店", "静安寺店", "五角场店", "中山公园店", "七宝店", "虹桥天地店"}},
    {"BJ", "北京", 6, {"三里屯店", "国贸店", "西单店", "中关村店", "望京店", "五道口店", "朝阳大悦城店"}},
    {"GZ", "广州", 5, {"天河城店", "北京路店", "珠江新城店", "正佳广场店", "番禺万达店"}},
    {"SZ", "深圳", 5, {"福田店", "南山海岸城店", "万象城店", "宝安中心店", "龙华店"}},
    {"HZ", "杭州", 4, {"湖滨银泰店", "西溪店", "滨江店", "武林店"}},
    {"CD", "成都", 3, {"春熙路店", "太古里店", "高新店"}},
    {"WH", "武汉", 2, {"江汉路店", "光谷店"}},
    {"NJ", "南京", 2, {"新街口店", "河西万达店"}},
    {"CQ", "重庆", 2, {"解放碑店", "观音桥店"}},
    {"XA", "西安", 2, {"钟楼店", "小寨店"}},
    {"SU", "苏州", 1, {"观前街店", "园区店"}},
    {"TJ", "天津", 1, {"滨江道店", "大悦城店"}},
};

int TopIndex(std::string_view top) {
  for (int t = 0; t < kTopCount; ++t) {
    if (kTops[t] == top) return t;
  }
  OMNI_CHECK(false);
  return 0;
}

// Deterministic uniform in [0,1) from a hash, for facts derived on demand.
double HashUnit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

}  // namespace

const std::vector<Leaf>& Catalogue::Leaves() { return kLeaves; }
int Catalogue::TopCount() { return kTopCount; }
int Catalogue::TopOf(int leaf) { return TopIndex(kLeaves[static_cast<size_t>(leaf)].top); }
std::string_view Catalogue::TopName(int top) { return kTops[top]; }
int Catalogue::CityCount() { return static_cast<int>(kCities.size()); }
std::string_view Catalogue::CityName(int city) { return kCities[static_cast<size_t>(city)].name; }
double Catalogue::CityWeight(int city) { return kCities[static_cast<size_t>(city)].weight; }

Catalogue::Catalogue(int64_t items, int stores, uint64_t seed, Rng& rng) : seed_(seed) {
  // Stores: split over cities by weight (largest remainder), flagship first.
  const size_t ncity = kCities.size();
  double total_w = 0;
  for (const auto& c : kCities) total_w += c.weight;
  std::vector<int> per_city(ncity, 0);
  std::vector<std::pair<double, size_t>> remainders;
  int assigned = 0;
  for (size_t c = 0; c < ncity; ++c) {
    const double exact = stores * kCities[c].weight / total_w;
    per_city[c] = static_cast<int>(exact);
    assigned += per_city[c];
    remainders.push_back({exact - per_city[c], c});
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; assigned < stores; k = (k + 1) % ncity, ++assigned) per_city[remainders[k].second]++;
  stores_by_city_.resize(ncity);
  for (size_t c = 0; c < ncity; ++c) {
    const CityDef& def = kCities[c];
    for (int k = 0; k < per_city[c]; ++k) {
      Store s;
      char id[16];
      std::snprintf(id, sizeof id, "%.*s-%02d", static_cast<int>(def.code.size()), def.code.data(), k + 1);
      s.id = id;
      s.city = std::string(def.name);
      s.name = s.city + " " +
               (static_cast<size_t>(k) < def.districts.size() ? std::string(def.districts[static_cast<size_t>(k)])
                                                               : std::to_string(k + 1) + "号店");
      s.city_index = static_cast<int>(c);
      s.flagship = k == 0 && def.weight >= 5;
      s.traffic = s.flagship ? 2.0 : rng.LogNormal(0, 0.35);
      s.assortment = s.flagship ? 1.0 : 0.7 + 0.25 * rng.Uniform();
      s.kiosks = s.flagship ? 2 : (rng.Chance(0.4) ? 1 : 0);
      stores_by_city_[c].push_back(static_cast<int>(stores_.size()));
      stores_.push_back(std::move(s));
    }
  }
  for (size_t c = 0; c < ncity; ++c) {
    // A city without a store sends its shoppers to any store (they travel).
    if (stores_by_city_[c].empty()) {
      for (size_t s = 0; s < stores_.size(); ++s) stores_by_city_[c].push_back(static_cast<int>(s));
    }
    std::vector<double> w;
    for (int s : stores_by_city_[c]) w.push_back(stores_[static_cast<size_t>(s)].traffic);
    store_by_city_traffic_.emplace_back(w);
  }

  // Items: leaf by share, price lognormal around the leaf's median, ending
  // in .9 or .0 as shelf prices do.
  std::vector<double> leaf_share;
  for (const Leaf& l : kLeaves) leaf_share.push_back(l.share);
  const AliasTable leaf_pick(leaf_share);
  items_.resize(static_cast<size_t>(items));
  leaf_items_.resize(kLeaves.size());
  for (int64_t i = 0; i < items; ++i) {
    Item& it = items_[static_cast<size_t>(i)];
    // The first items cover every leaf so tiny catalogues still have all categories.
    it.leaf = static_cast<uint8_t>(i < static_cast<int64_t>(kLeaves.size()) ? i : leaf_pick.Sample(rng));
    const Leaf& leaf = kLeaves[it.leaf];
    const int top = TopIndex(leaf.top);
    it.brand = static_cast<uint8_t>(rng.Below(kBrands[static_cast<size_t>(top)].size()));
    double price = leaf.median_price * rng.LogNormal(0, leaf.price_sigma);
    price = std::max(1.0, std::round(price));
    it.price_cents = static_cast<int32_t>(price * 100) - (rng.Chance(0.5) && price > 2 ? 10 : 0);
    it.sold_online = !leaf.store_only;
    it.sold_in_stores = leaf.store_only || !rng.Chance(0.08);
    it.online_stock = rng.Chance(0.04) ? 0 : static_cast<int32_t>(rng.LogNormal(std::log(300.0), 1.0)) + 1;
    leaf_items_[it.leaf].push_back(static_cast<int32_t>(i));
  }

  // Popularity: Zipf (exponent 1) over a random ranking of the items.
  const Permutation ranking(static_cast<uint64_t>(items), HashOf(seed, 0x52414e4b));
  rank_.resize(static_cast<size_t>(items));
  std::vector<double> weight(static_cast<size_t>(items));
  for (int64_t i = 0; i < items; ++i) {
    rank_[static_cast<size_t>(i)] = static_cast<uint32_t>(ranking(static_cast<uint64_t>(i)));
    weight[static_cast<size_t>(i)] = 1.0 / (1.0 + rank_[static_cast<size_t>(i)]);
  }
  global_ = AliasTable(weight);
  top_leaves_.resize(kTopCount);
  std::vector<std::vector<double>> top_leaf_w(kTopCount);
  for (size_t l = 0; l < kLeaves.size(); ++l) {
    std::vector<double> w;
    double sum = 0;
    for (int32_t i : leaf_items_[l]) {
      w.push_back(weight[static_cast<size_t>(i)]);
      sum += w.back();
    }
    leaf_alias_.push_back(w.empty() ? AliasTable() : AliasTable(w));
    const int top = TopIndex(kLeaves[l].top);
    if (!w.empty()) {
      top_leaves_[static_cast<size_t>(top)].push_back(static_cast<int>(l));
      top_leaf_w[static_cast<size_t>(top)].push_back(sum);
    }
  }
  for (int t = 0; t < kTopCount; ++t) {
    top_leaf_alias_.push_back(top_leaf_w[static_cast<size_t>(t)].empty()
                                  ? AliasTable()
                                  : AliasTable(top_leaf_w[static_cast<size_t>(t)]));
  }
  // Partners: a popular item of the complementary leaf, so baskets show
  // strong "bought together" rules (phone case + charger, formula + diapers).
  for (auto& it : items_) {
    const int c = kLeaves[it.leaf].complement;
    if (c >= 0 && !leaf_items_[static_cast<size_t>(c)].empty() && rng.Chance(0.85)) {
      it.partner = SampleItemInLeaf(c, rng);
    }
  }
}

std::string Catalogue::ItemId(int32_t i) const {
  std::string s;
  AppendItemId(s, i);
  return s;
}

void Catalogue::AppendItemId(std::string& out, int32_t i) const {
  out += "SKU-";
  AppendInt(out, 100001 + static_cast<int64_t>(i));
}

std::string_view Catalogue::Brand(int32_t i) const {
  const Item& it = item(i);
  return kBrands[static_cast<size_t>(TopOf(it.leaf))][it.brand];
}

std::string Catalogue::Title(int32_t i) const {
  const Item& it = item(i);
  const Leaf& leaf = kLeaves[it.leaf];
  const uint64_t h = HashOf(seed_, 0x5449544c45, static_cast<uint64_t>(i));
  std::string title(Brand(i));
  title += ' ';
  title += kAdjectives[h % std::size(kAdjectives)];
  title += leaf.nouns[(h >> 8) % 3];
  const std::string_view tag = kTags[(h >> 16) % std::size(kTags)];
  if (!tag.empty()) {
    title += ' ';
    title += tag;
  }
  title += ' ';
  title += leaf.specs[(h >> 24) % 4];
  return title;
}

std::string Catalogue::CategoryPath(int32_t i) const {
  const Leaf& leaf = kLeaves[item(i).leaf];
  std::string path(leaf.top);
  path += " > ";
  path += leaf.mid;
  path += " > ";
  path += leaf.leaf;
  return path;
}

int32_t Catalogue::SampleItem(Rng& rng) const { return static_cast<int32_t>(global_.Sample(rng)); }

int32_t Catalogue::SampleItemInLeaf(int leaf, Rng& rng) const {
  const auto& items = leaf_items_[static_cast<size_t>(leaf)];
  if (items.empty()) return SampleItem(rng);
  return items[leaf_alias_[static_cast<size_t>(leaf)].Sample(rng)];
}

int32_t Catalogue::SampleItemInTop(int top, Rng& rng) const {
  const auto& leaves = top_leaves_[static_cast<size_t>(top)];
  if (leaves.empty()) return SampleItem(rng);
  return SampleItemInLeaf(leaves[top_leaf_alias_[static_cast<size_t>(top)].Sample(rng)], rng);
}

int32_t Catalogue::SampleStoreItem(int store, int top, Rng& rng) const {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int32_t i = top >= 0 && attempt < 5 ? SampleItemInTop(top, rng) : SampleItem(rng);
    if (SoldInStore(i, store)) return i;
  }
  return -1;
}

int Catalogue::SampleStoreIn(int city, Rng& rng) const {
  const auto& list = stores_by_city_[static_cast<size_t>(city)];
  return list[store_by_city_traffic_[static_cast<size_t>(city)].Sample(rng)];
}

bool Catalogue::SoldInStore(int32_t i, int store) const {
  const Item& it = item(i);
  if (!it.sold_in_stores) return false;
  // Best sellers are everywhere; the long tail only in the bigger ranges.
  if (rank_[static_cast<size_t>(i)] < std::max<uint32_t>(20, static_cast<uint32_t>(items_.size() / 33))) {
    return true;
  }
  const uint64_t h = HashOf(seed_, 0x534f4c44, static_cast<uint64_t>(i), static_cast<uint64_t>(store));
  return HashUnit(h) < stores_[static_cast<size_t>(store)].assortment;
}

bool Catalogue::OutOfStockInStore(int32_t i, int store) const {
  const uint64_t h = HashOf(seed_, 0x4f4f53, static_cast<uint64_t>(i), static_cast<uint64_t>(store));
  return HashUnit(h) < 0.03;
}

StatusOr<int64_t> Catalogue::WriteCatalogueCsv(const std::string& path) const {
  OutputFile f;
  OMNI_RETURN_IF_ERROR(f.Open(path));
  f.buf() += "item_id,title,category,brand,price\n";
  for (int32_t i = 0; i < static_cast<int32_t>(items_.size()); ++i) {
    std::string& b = f.buf();
    AppendItemId(b, i);
    b += ',';
    AppendCsvField(b, Title(i));
    b += ',';
    AppendCsvField(b, CategoryPath(i));
    b += ',';
    AppendCsvField(b, Brand(i));
    b += ',';
    AppendCents(b, item(i).price_cents);
    b += '\n';
    OMNI_RETURN_IF_ERROR(f.MaybeFlush());
  }
  OMNI_RETURN_IF_ERROR(f.Close());
  return static_cast<int64_t>(items_.size());
}

StatusOr<int64_t> Catalogue::WriteAvailabilityCsv(const std::string& path) const {
  OutputFile f;
  OMNI_RETURN_IF_ERROR(f.Open(path));
  f.buf() += "item_id,channel,store_id,sold,stock\n";
  int64_t rows = 0;
  auto row = [&](int32_t i, std::string_view channel, std::string_view store, bool sold, int64_t stock) {
    std::string& b = f.buf();
    AppendItemId(b, i);
    b += ',';
    b += channel;
    b += ',';
    b += store;
    b += sold ? ",1," : ",0,";
    if (stock >= 0) AppendInt(b, stock);
    b += '\n';
    ++rows;
  };
  for (int32_t i = 0; i < static_cast<int32_t>(items_.size()); ++i) {
    const Item& it = item(i);
    // Default for every channel: the online warehouse.
    row(i, "", "", it.sold_online, it.sold_online ? it.online_stock : -1);
    // Stores: shelf stock is not known centrally unless a store row says so.
    row(i, "store", "", it.sold_in_stores, -1);
    if (it.sold_in_stores) {
      for (int s = 0; s < static_cast<int>(stores_.size()); ++s) {
        if (!SoldInStore(i, s)) {
          row(i, "store", stores_[static_cast<size_t>(s)].id, false, -1);
        } else if (OutOfStockInStore(i, s)) {
          row(i, "store", stores_[static_cast<size_t>(s)].id, true, 0);
        }
      }
    }
    OMNI_RETURN_IF_ERROR(f.MaybeFlush());
  }
  OMNI_RETURN_IF_ERROR(f.Close());
  return rows;
}

StatusOr<int64_t> Catalogue::WriteStoresCsv(const std::string& path) const {
  OutputFile f;
  OMNI_RETURN_IF_ERROR(f.Open(path));
  f.buf() += "store_id,name,city,flagship,kiosks\n";
  for (const Store& s : stores_) {
    std::string& b = f.buf();
    b += s.id;
    b += ',';
    AppendCsvField(b, s.name);
    b += ',';
    AppendCsvField(b, s.city);
    b += s.flagship ? ",1," : ",0,";
    AppendInt(b, s.kiosks);
    b += '\n';
  }
  OMNI_RETURN_IF_ERROR(f.Close());
  return static_cast<int64_t>(stores_.size());
}

}  // namespace omni::demo
