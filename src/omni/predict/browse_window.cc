#include "omni/predict/browse_window.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "omni/predict/features.h"
#include "omni/profile/event_pipeline.h"
#include "omni/profile/interning.h"

namespace omni::predict {
namespace {

constexpr double kHourMs = 3'600'000.0;
enum Kind : uint8_t { kView = 0, kCart = 1, kPurchase = 2 };

struct Touch {
  uint32_t customer;
  int32_t item;
  int64_t ts_ms;
  uint8_t kind;
  uint8_t channel;
};

// Delays (hours) of the converted anchors of a group, plus the anchor count.
struct Group {
  int64_t anchors = 0;
  std::vector<float> delays;
};

double Quantile(const std::vector<float>& sorted, double q) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(sorted.size() - 1, lo + 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

StatusOr<WindowGrouping> ParseWindowGrouping(std::string_view text) {
  if (text == "channel") return WindowGrouping::kChannel;
  if (text == "category") return WindowGrouping::kCategory;
  if (text == "channel,category" || text == "category,channel") return WindowGrouping::kChannelCategory;
  return InvalidArgument("--by must be channel, category or channel,category (got '" + std::string(text) + "')");
}

struct BrowseWindowBuilder::State {
  State(const identity::CustomerDirectory& d, WindowOptions o) : directory(d), options(std::move(o)) {}
  const identity::CustomerDirectory& directory;
  WindowOptions options;
  WindowReport report;
  profile::ChannelInterner channels;
  profile::NameInterner items;
  std::vector<int32_t> item_category;  // by item id: category id, -1 = none
  profile::NameInterner categories;
  std::vector<Touch> touches;
  bool finished = false;

  int ChannelIndex(std::string_view name) { return channels.Index(name); }
  int32_t ItemIndex(std::string_view item_id) {
    const int32_t id = items.Index(item_id);
    if (id >= 0 && static_cast<size_t>(id) == item_category.size()) item_category.push_back(-1);
    return id;
  }
};

BrowseWindowBuilder::BrowseWindowBuilder(const identity::CustomerDirectory& directory, WindowOptions options)
    : s_(std::make_unique<State>(directory, std::move(options))) {}
BrowseWindowBuilder::~BrowseWindowBuilder() = default;

void BrowseWindowBuilder::AddItem(const ingest::Item& item) {
  State& s = *s_;
  if (item.item_id.empty()) return;
  const int32_t id = s.ItemIndex(item.item_id);
  if (item.category_path.empty()) return;
  std::string_view cat = CategoryAtLevel(item.category_path, std::max(1, s.options.category_level));
  s.item_category[static_cast<size_t>(id)] = s.categories.Index(cat);
}

void BrowseWindowBuilder::AddEvent(const ingest::Event& e) {
  State& s = *s_;
  ++s.report.events_read;
  s.report.last_event_ms = std::max(s.report.last_event_ms, e.ts_ms);
  uint8_t kind;
  if (e.type == "view") {
    kind = kView;
  } else if (e.type == "add_to_cart") {
    kind = kCart;
  } else if (e.type == "purchase") {
    kind = kPurchase;
  } else {
    return;
  }
  if (e.item_id.empty()) return;
  const std::optional<int32_t> c = s.directory.CustomerOfEvent(e);
  if (!c || *c < 0) return;
  const int ch = s.ChannelIndex(e.channel);
  if (ch < 0) return;
  ++s.report.events_used;
  s.touches.push_back(Touch{static_cast<uint32_t>(*c), s.ItemIndex(e.item_id), e.ts_ms, kind, static_cast<uint8_t>(ch)});
}

StatusOr<WindowReport> BrowseWindowBuilder::Finish() {
  State& s = *s_;
  const WindowOptions& o = s.options;
  if (s.finished) return FailedPrecondition("browse window: Finish() called twice");
  s.finished = true;
  if (!(o.max_hours > 0)) return InvalidArgument("--max-hours must be positive");
  if (o.min_remaining_per_1000 < 0) return InvalidArgument("--min-remaining must be >= 0");
  WindowReport& report = s.report;
  for (double h : o.hours) {
    if (h > 0 && h <= o.max_hours) report.hours.push_back(h);
  }
  // Same instant: views and cart adds before the purchase they led to.
  std::sort(s.touches.begin(), s.touches.end(), [](const Touch& a, const Touch& b) {
    return std::tie(a.customer, a.item, a.ts_ms, a.kind) < std::tie(b.customer, b.item, b.ts_ms, b.kind);
  });
  std::vector<uint8_t> online(s.channels.size()), in_store(s.channels.size());
  for (size_t i = 0; i < s.channels.size(); ++i) {
    online[i] = std::find(o.online_channels.begin(), o.online_channels.end(), s.channels[i]) != o.online_channels.end();
    in_store[i] =
        std::find(o.in_store_channels.begin(), o.in_store_channels.end(), s.channels[i]) != o.in_store_channels.end();
  }

  // Groups keyed (anchor kind, channel or -1 = all / -2 = online→store, category or -1 = all).
  const int kAll = -1, kCross = -2;
  std::map<std::tuple<int, int, int>, Group> groups;
  const bool by_channel = o.by != WindowGrouping::kCategory;
  const bool by_category = o.by != WindowGrouping::kChannel;
  const bool by_both = o.by == WindowGrouping::kChannelCategory;
  const int64_t observed_until = report.last_event_ms - static_cast<int64_t>(o.max_hours * kHourMs);
  const double max_ms = o.max_hours * kHourMs;

  auto record = [&](uint8_t kind, const Touch& anchor, const Touch* purchase) {
    if (anchor.ts_ms > observed_until) {
      ++report.censored;
      return;
    }
    const double delay_ms = purchase ? static_cast<double>(purchase->ts_ms - anchor.ts_ms) : -1;
    const bool converted = purchase && delay_ms <= max_ms;
    const float hours = static_cast<float>(delay_ms / kHourMs);
    const int cat = s.item_category[static_cast<size_t>(anchor.item)];
    auto add = [&](int ch, int category) {
      Group& g = groups[{kind, ch, category}];
      ++g.anchors;
      if (converted) g.delays.push_back(hours);
    };
    add(kAll, kAll);
    if (by_channel) add(anchor.channel, kAll);
    if (by_category && cat >= 0) add(kAll, cat);
    if (by_both && cat >= 0) add(anchor.channel, cat);
    if (online[anchor.channel]) {
      Group& g = groups[{kind, kCross, kAll}];
      ++g.anchors;
      if (converted && in_store[purchase->channel]) g.delays.push_back(hours);
    }
  };

  for (size_t i = 0; i < s.touches.size();) {
    const uint32_t customer = s.touches[i].customer;
    const int32_t item = s.touches[i].item;
    const Touch* open_view = nullptr;
    const Touch* open_cart = nullptr;
    for (; i < s.touches.size() && s.touches[i].customer == customer && s.touches[i].item == item; ++i) {
      const Touch& t = s.touches[i];
      if (t.kind == kView) {
        if (!open_view) open_view = &t;
      } else if (t.kind == kCart) {
        if (!open_cart) open_cart = &t;
      } else {
        if (open_view) record(kView, *open_view, &t);
        if (open_cart) record(kCart, *open_cart, &t);
        open_view = open_cart = nullptr;
      }
    }
    if (open_view) record(kView, *open_view, nullptr);
    if (open_cart) record(kCart, *open_cart, nullptr);
  }

  for (auto& [key, g] : groups) {
    const auto [kind, ch, cat] = key;
    WindowCurve c;
    c.anchor = kind == kView ? "view" : "add_to_cart";
    c.channel = ch == kAll ? kAllGroup : ch == kCross ? kOnlineToStore : s.channels[static_cast<size_t>(ch)];
    c.category = cat == kAll ? kAllGroup : s.categories.names()[static_cast<size_t>(cat)];
    c.anchors = g.anchors;
    c.converted = static_cast<int64_t>(g.delays.size());
    std::sort(g.delays.begin(), g.delays.end());
    const double a = static_cast<double>(std::max<int64_t>(1, g.anchors));
    for (double h : report.hours) {
      const auto within = std::upper_bound(g.delays.begin(), g.delays.end(), static_cast<float>(h)) - g.delays.begin();
      c.p_within.push_back(static_cast<double>(within) / a);
    }
    c.median_hours = Quantile(g.delays, 0.5);
    c.p90_hours = Quantile(g.delays, 0.9);
    // Largest number of purchases still to come that is below the threshold:
    // remaining(t) = #delays > t must be < min_remaining_per_1000 * anchors / 1000.
    const double limit = o.min_remaining_per_1000 * static_cast<double>(g.anchors) / 1000.0;
    const auto allowed = static_cast<int64_t>(std::max(0.0, std::ceil(limit) - 1));
    const int64_t n = c.converted;
    c.window_close_hours = n - allowed <= 0 ? 0.0 : static_cast<double>(g.delays[static_cast<size_t>(n - allowed - 1)]);
    report.curves.push_back(std::move(c));
  }
  // all first; then view curves before cart curves, each by channel then category.
  std::stable_sort(report.curves.begin(), report.curves.end(), [](const WindowCurve& x, const WindowCurve& y) {
    auto rank = [](const WindowCurve& c) {
      return std::make_tuple(c.anchor != "view", c.channel != kAllGroup || c.category != kAllGroup,
                             c.channel == kOnlineToStore);
    };
    return rank(x) < rank(y);
  });
  return std::move(report);
}

StatusOr<WindowReport> ComputeBrowseWindow(store::Store& store, const identity::CustomerDirectory& directory,
                                           const WindowOptions& options) {
  BrowseWindowBuilder builder(directory, options);
  OMNI_RETURN_IF_ERROR(store.ScanItems([&](const ingest::Item& item) {
    builder.AddItem(item);
    return true;
  }));
  OMNI_RETURN_IF_ERROR(profile::ScanEventsPipelined(
      store, 0, [&](int64_t, const ingest::Event& e) { builder.AddEvent(e); },
      profile::PipelineOptions{4096, /*full_events=*/false}));
  return builder.Finish();
}

namespace {

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string HourLabel(double h) {
  if (h >= 168 && std::fmod(h, 168) == 0) return h == 168 ? "1 week" : fmt::format("{:g} weeks", h / 168);
  if (h >= 24 && std::fmod(h, 24) == 0) return h == 24 ? "1 day" : fmt::format("{:g} days", h / 24);
  return fmt::format("{:g}h", h);
}

}  // namespace

std::string BrowseWindowSvg(const WindowReport& report, const std::string& title) {
  // Lines: view curves over all categories (all, each channel, online→store);
  // when the grouping had no channel rows, each category instead.
  std::vector<const WindowCurve*> lines;
  for (const WindowCurve& c : report.curves) {
    if (c.anchor == "view" && c.category == kAllGroup && c.anchors > 0) lines.push_back(&c);
  }
  if (lines.size() <= 2) {
    for (const WindowCurve& c : report.curves) {
      if (c.anchor == "view" && c.channel == kAllGroup && c.category != kAllGroup && c.anchors > 0) lines.push_back(&c);
    }
  }
  if (lines.size() > 12) lines.resize(12);
  const double W = 880, H = 520, left = 80, right = 220, top = 60, bottom = 70;
  const double pw = W - left - right, ph = H - top - bottom;
  const std::vector<double>& hours = report.hours;
  const double x0 = hours.empty() ? 0 : std::log(hours.front());
  const double x1 = hours.empty() ? 1 : std::log(hours.back());
  double ymax = 0.01;
  for (const WindowCurve* c : lines) {
    for (double p : c->p_within) ymax = std::max(ymax, p);
  }
  // A round top for the y axis: 1, 2, 5 x 10^k percent.
  double ytop = 1e-4;
  for (double step : {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0}) {
    ytop = step;
    if (step >= ymax * 1.05) break;
  }
  auto X = [&](double h) { return left + (x1 > x0 ? (std::log(h) - x0) / (x1 - x0) : 0.5) * pw; };
  auto Y = [&](double p) { return top + ph - p / ytop * ph; };
  static const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                   "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939"};
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H);
  svg += fmt::format("<text x=\"{}\" y=\"30\" font-size=\"17\" font-weight=\"bold\">{}</text>\n", left, XmlEscape(title));
  // Grid and axes.
  for (int k = 0; k <= 5; ++k) {
    const double p = ytop * k / 5;
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left, Y(p),
                       left + pw, Y(p));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}%</text>\n", left - 8, Y(p) + 4,
                       std::round(p * 1000) / 10);
  }
  for (double h : hours) {
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#eee\"/>\n", X(h), top,
                       top + ph);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", X(h), top + ph + 20,
                       XmlEscape(HourLabel(h)));
  }
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, top, top + ph);
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, top + ph, left + pw);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">hours after the view (log scale)</text>\n",
                     left + pw / 2, H - 20);
  svg += fmt::format(
      "<text transform=\"translate(22 {:.1f}) rotate(-90)\" text-anchor=\"middle\">% of viewed items bought "
      "(by then)</text>\n",
      top + ph / 2);
  // Lines, a dot where the reminder window closes, and the legend.
  for (size_t i = 0; i < lines.size(); ++i) {
    const WindowCurve& c = *lines[i];
    const char* colour = kColours[i % std::size(kColours)];
    const bool dashed = c.channel == kOnlineToStore;
    std::string points;
    for (size_t k = 0; k < hours.size() && k < c.p_within.size(); ++k) {
      points += fmt::format("{:.1f},{:.1f} ", X(hours[k]), Y(c.p_within[k]));
    }
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{} points=\"{}\"/>\n", colour,
                       c.channel == kAllGroup && c.category == kAllGroup ? 3 : 2,
                       dashed ? " stroke-dasharray=\"6 4\"" : "", points);
    const double close = std::clamp(c.window_close_hours, hours.empty() ? 1.0 : hours.front(),
                                    hours.empty() ? 1.0 : hours.back());
    // P at the closing hour, interpolated on the log-hour grid.
    double p_close = c.p_within.empty() ? 0 : c.p_within.back();
    for (size_t k = 0; k + 1 < hours.size() && k + 1 < c.p_within.size(); ++k) {
      if (close <= hours[k + 1]) {
        const double f = close <= hours[k] ? 0 : (std::log(close) - std::log(hours[k])) / (std::log(hours[k + 1]) - std::log(hours[k]));
        p_close = c.p_within[k] + f * (c.p_within[k + 1] - c.p_within[k]);
        break;
      }
    }
    svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"white\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                       X(close), Y(p_close), colour);
    const double ly = top + 10 + static_cast<double>(i) * 22;
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"3\"{}/>\n",
                       left + pw + 15, ly, left + pw + 40, ly, colour, dashed ? " stroke-dasharray=\"6 4\"" : "");
    const std::string name = c.channel == kAllGroup ? (c.category == kAllGroup ? "all channels" : c.category) : c.channel;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{} ({}h)</text>\n", left + pw + 46, ly + 4, XmlEscape(name),
                       fmt::format("{:.0f}", c.window_close_hours));
  }
  const double ny = top + 10 + static_cast<double>(lines.size()) * 22 + 10;
  svg += fmt::format(
      "<text x=\"{0:.1f}\" y=\"{1:.1f}\" font-size=\"11\" fill=\"#555\">○ = reminder window closes</text>\n"
      "<text x=\"{0:.1f}\" y=\"{2:.1f}\" font-size=\"11\" fill=\"#555\">(hours in brackets)</text>\n",
      left + pw + 15, ny, ny + 15);
  svg += "</svg>\n";
  return svg;
}

}  // namespace omni::predict
