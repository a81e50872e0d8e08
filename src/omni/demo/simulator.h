// The behaviour model: who shows up when, on which channel, and what they do
// there. One call to RunUnit() simulates one unit of activity — a web/app/
// mini-program session with its view → add_to_cart → purchase funnel, a store
// visit with a basket at the till, a call to the call centre, or a response to
// a marketing touch (e-mail open/click, SMS click, WeChat impression/click)
// that may lead into a session carrying the campaign.
//
// Events later than the unit's own (online-to-offline store visits hours or
// days after browsing, refunds, follow-up sessions) are pushed at once with
// their future timestamps; the EventQueue holds them until the generator's
// clock reaches them. Memory: the queue holds at most the pending future.
//
// Identity linkage (what makes perfect resolution possible): a person's first
// event carries every strong identifier the channel can carry, and an event
// none of whose identifiers is yet connected to the person's others gets one
// connected identifier the channel can carry added (a login, the phone at
// checkout, the CRM id in an e-mail export). Guest checkouts skip this on
// purpose; household and kiosk identifiers never count as connecting.
#pragma once

#include <cstdint>
#include <algorithm>
#include <vector>

#include "omni/demo/calendar.h"
#include "omni/demo/catalogue.h"
#include "omni/demo/demo_event.h"
#include "omni/demo/generator.h"
#include "omni/demo/population.h"
#include "omni/demo/random.h"

namespace omni::demo {

// The reorder window: events wait here, bucketed by the window hour of their
// arrival key, until the generator's clock has passed that hour. Buckets (not
// one heap) because nearly every event lands in the current hour and a small
// sort per hour is cheaper than a heap over everything pending. It also
// enforces the exact event budget and the end of the window.
class EventQueue {
 public:
  EventQueue(int64_t budget, int64_t start_ms, int32_t hours)
      : budget_(budget), start_ms_(start_ms), end_ms_(start_ms + hours * kHourMs),
        buckets_(static_cast<size_t>(hours) + 1) {}
  // Takes `e` (assigning its seq) unless the budget is spent or e.ts_ms is
  // past the window: returns whether it was taken.
  bool Push(DemoEvent& e) {
    if (pushed_ >= budget_ || e.ts_ms >= end_ms_ || e.ts_ms < start_ms_) return false;
    e.seq = static_cast<uint64_t>(pushed_++);
    const int64_t h = std::min<int64_t>((e.key_ms - start_ms_) / kHourMs, static_cast<int64_t>(buckets_.size()) - 1);
    buckets_[static_cast<size_t>(h)].push_back(e);
    return true;
  }
  // Moves the events arriving in window hour `h` into `out`, in arrival
  // order; h == hours (the last bucket) holds everything arriving later.
  void TakeHour(int32_t h, std::vector<DemoEvent>& out) {
    out = std::move(buckets_[static_cast<size_t>(h)]);
    buckets_[static_cast<size_t>(h)] = std::vector<DemoEvent>();  // release, not keep, its memory
    std::sort(out.begin(), out.end(), [](const DemoEvent& a, const DemoEvent& b) {
      return a.key_ms != b.key_ms ? a.key_ms < b.key_ms : a.seq < b.seq;
    });
  }
  int64_t pushed() const { return pushed_; }

 private:
  int64_t budget_;
  int64_t start_ms_;
  int64_t end_ms_;
  std::vector<std::vector<DemoEvent>> buckets_;
  int64_t pushed_ = 0;
};

struct SimCounters {
  int64_t orders = 0;
  int64_t guest_checkouts = 0;
  int64_t o2o_purchases = 0;
};

class Simulator {
 public:
  Simulator(const DemoOptions& options, const Catalogue& catalogue, Population& population,
            const CampaignCalendar& calendar, Rng& rng, EventQueue& queue);

  // Simulates one unit of activity starting in window hour `hour`.
  void RunUnit(int32_t hour);
  const SimCounters& counters() const { return counters_; }

 private:
  struct Session;
  void OnlineSession(int32_t p, Channel ch, int64_t t, int16_t campaign, Via via, int32_t landing);
  void StoreSession(int32_t p, int store, int64_t t, int32_t target);
  void CallSession(int32_t p, int64_t t);
  void MarketingTouch(int64_t t, int32_t hour);
  void EmailTouch(int32_t p, int64_t t);
  void SmsTouch(int32_t p, int64_t t);
  void SocialTouch(int32_t p, int64_t t);
  void FollowUp(int32_t p, int64_t t, int16_t campaign, Via via);

  // Sets the session's identities (and advances cookie churn). `login_first`
  // forces the channel's account id in: a person's first session; the consent
  // events of Onboard() then carry phone and e-mail alongside it.
  void ComposeIds(Session& s, bool login_first);
  // Signup (new customers) and consent capture at a person's first event.
  void Onboard(Session& s);
  void Checkout(Session& s, const int32_t* cart, int n);
  void ScheduleRefund(const DemoEvent& purchase);
  void ScheduleStoreVisit(int32_t p, int32_t item, int64_t t);

  DemoEvent NewEvent(const Session& s, EventType type) const;
  // Applies the linkage rule, sets the arrival key, pushes; updates the
  // person's state only when the queue took the event.
  bool Emit(DemoEvent& e, bool allow_partner = true);
  void AddId(DemoEvent& e, IdKind kind, uint8_t variant = 0, uint16_t sub = 0) const;
  int32_t PickItem(const Person& ps, int leaf);
  int PhoneVariant(Channel ch);
  int EmailVariant(Channel ch);
  int32_t MinuteOf(int64_t t) const { return static_cast<int32_t>((t - start_ms_) / kMinuteMs); }
  int64_t IntoOpenHours(int64_t t, int open_hour, int close_hour);

  const DemoOptions& options_;
  const Catalogue& catalogue_;
  Population& population_;
  const CampaignCalendar& calendar_;
  Rng& rng_;
  EventQueue& queue_;
  int64_t start_ms_;
  int64_t online_orders_ = 0;
  std::vector<int64_t> store_orders_;
  std::vector<bool> batch_upload_store_;
  SimCounters counters_;
};

}  // namespace omni::demo
