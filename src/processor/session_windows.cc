#include "processor/session_windows.h"

#include <algorithm>

namespace kappa {

void session_aggregate::merge(const session_aggregate& o) {
  count += o.count;
  for (const auto& [value, n] : o.counts) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == value; });
    if (it == counts.end())
      counts.emplace_back(value, n);
    else
      it->second += n;
  }
  if (o.sum_is_float && !sum_is_float) {
    sum_float = static_cast<double>(sum_int);
    sum_is_float = true;
  }
  if (sum_is_float)
    sum_float += o.sum_is_float ? o.sum_float : static_cast<double>(o.sum_int);
  else
    sum_int += o.sum_int;
}

int64_t session_windows::cleanup_time(const window& w) const {
  int64_t max_ts = w.end - 1;
  return max_ts > INT64_MAX - o_.allowed_lateness ? INT64_MAX : max_ts + o_.allowed_lateness;
}

session_windows::window* session_windows::find(const std::string& key, int64_t start, int64_t end) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return nullptr;
  for (auto& w : it->second)
    if (w.start == start && w.end == end) return &w;
  return nullptr;
}

void session_windows::fire(const std::string& key, window& w, std::vector<fired_session>* fired) {
  fired->push_back(fired_session{key, w.start, w.end, w.agg, w.emitted});
  w.pending = false;
  w.emitted = true;
}

bool session_windows::add(const session_event& e, std::vector<fired_session>* fired) {
  int64_t end = e.time > INT64_MAX - o_.gap ? INT64_MAX : e.time + o_.gap;
  auto [it, created] = keys_.try_emplace(std::string(e.key));
  auto& ws = it->second;
  // The run of existing windows the new one intersects (touching counts).
  auto first = std::find_if(ws.begin(), ws.end(), [&](const window& w) { return w.end >= e.time; });
  auto last = first;
  while (last != ws.end() && last->start <= end) ++last;
  window m{e.time, end, false, false, {}};
  for (auto w = first; w != last; ++w) {
    m.start = std::min(m.start, w->start);
    m.end = std::max(m.end, w->end);
    m.emitted |= w->emitted;
    m.agg.merge(w->agg);
  }
  // Late only when nothing live was joined (a live window is never late).
  if (first == last && cleanup_time(m) <= wm_) {
    if (created) keys_.erase(it);
    return false;
  }
  m.agg.count++;
  if (e.has_count_value) {
    auto c = std::find_if(m.agg.counts.begin(), m.agg.counts.end(),
                          [&](const auto& p) { return p.first == e.count_value; });
    if (c == m.agg.counts.end())
      m.agg.counts.emplace_back(std::string(e.count_value), 1);
    else
      c->second++;
  }
  if (e.has_sum) {
    session_aggregate one;
    one.sum_is_float = e.sum_is_float;
    one.sum_int = e.sum_int;
    one.sum_float = e.sum_float;
    m.agg.merge(one);
  }
  open_ -= static_cast<size_t>(last - first);
  auto pos = ws.erase(first, last);
  window& w = *ws.insert(pos, std::move(m));
  open_++;
  if (w.end - 1 <= wm_) {
    fire(it->first, w, fired);  // a late firing, within allowed lateness
  } else {
    w.pending = true;
    fire_timers_.push(timer{w.end - 1, it->first, w.start, w.end});
  }
  cleanup_timers_.push(timer{cleanup_time(w), it->first, w.start, w.end});
  return true;
}

void session_windows::advance_watermark(int64_t wm, std::vector<fired_session>* fired) {
  if (wm <= wm_) return;
  wm_ = wm;
  // Fire first: a window whose fire and cleanup come in the same step
  // emits before it goes.
  while (!fire_timers_.empty() && fire_timers_.top().time <= wm_) {
    timer t = fire_timers_.top();
    fire_timers_.pop();
    window* w = find(t.key, t.start, t.end);
    if (w && w->pending) fire(t.key, *w, fired);
  }
  while (!cleanup_timers_.empty() && cleanup_timers_.top().time <= wm_) {
    timer t = cleanup_timers_.top();
    cleanup_timers_.pop();
    auto it = keys_.find(t.key);
    if (it == keys_.end()) continue;
    auto& ws = it->second;
    auto w = std::find_if(ws.begin(), ws.end(), [&](const window& x) { return x.start == t.start && x.end == t.end; });
    if (w == ws.end()) continue;
    ws.erase(w);
    open_--;
    if (ws.empty()) keys_.erase(it);
  }
}

}  // namespace kappa
