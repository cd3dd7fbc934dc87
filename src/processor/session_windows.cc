#include "processor/session_windows.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "util/big_endian.h"
#include "util/varint.h"

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
  changed_.insert(key);
}

void session_windows::schedule(const std::string& key, const window& w) {
  if (w.pending) fire_timers_.push(timer{w.end - 1, key, w.start, w.end});
  cleanup_timers_.push(timer{cleanup_time(w), key, w.start, w.end});
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
  changed_.insert(it->first);
  if (w.end - 1 <= wm_)
    fire(it->first, w, fired);  // a late firing, within allowed lateness
  else
    w.pending = true;
  schedule(it->first, w);
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
    changed_.insert(t.key);
    if (ws.empty()) keys_.erase(it);
  }
}

// Encoding of one key's windows (in checkpoints, never in the log):
//   varint window count, then per window: start, end (varints), flags
//   (bit 0 pending, 1 emitted, 2 float sum), count, sum (varint, or 8-byte
//   IEEE double), varint number of counts, each (varint length, bytes,
//   varint count); then XXH3-64 of all that, 8 bytes big-endian.
static void put_varint(std::string& out, int64_t v) {
  char b[10];
  out.append(b, static_cast<size_t>(varint::put(b, v) - b));
}

void session_windows::take_changes(
    const std::function<void(const std::string& key, const std::string* encoded)>& fn) {
  std::string enc;
  for (const auto& key : changed_) {
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      fn(key, nullptr);
      continue;
    }
    enc.clear();
    put_varint(enc, static_cast<int64_t>(it->second.size()));
    for (const auto& w : it->second) {
      put_varint(enc, w.start);
      put_varint(enc, w.end);
      enc.push_back(static_cast<char>((w.pending ? 1 : 0) | (w.emitted ? 2 : 0) | (w.agg.sum_is_float ? 4 : 0)));
      put_varint(enc, w.agg.count);
      if (w.agg.sum_is_float) {
        char b[8];
        uint64_t bits;
        std::memcpy(&bits, &w.agg.sum_float, 8);
        be::store64(b, bits);
        enc.append(b, 8);
      } else {
        put_varint(enc, w.agg.sum_int);
      }
      put_varint(enc, static_cast<int64_t>(w.agg.counts.size()));
      for (const auto& [value, n] : w.agg.counts) {
        put_varint(enc, static_cast<int64_t>(value.size()));
        enc += value;
        put_varint(enc, n);
      }
    }
    char sum[8];
    be::store64(sum, XXH3_64bits(enc.data(), enc.size()));
    enc.append(sum, 8);
    fn(key, &enc);
  }
  changed_.clear();
}

Status session_windows::restore(const std::string& key, std::string_view encoded) {
  auto bad = [&](const char* why) {
    return Status::Corruption("checkpointed session state of key '" + key + "' is damaged (" + why + ")");
  };
  if (encoded.size() < 8) return bad("too short");
  const char* p = encoded.data();
  const char* end = p + encoded.size() - 8;
  if (XXH3_64bits(p, static_cast<size_t>(end - p)) != be::load64(end)) return bad("checksum mismatch");
  auto get = [&](int64_t* v) { return (p = varint::get64(p, end, v)) != nullptr; };
  int64_t n;
  if (!get(&n) || n < 0 || n > end - p) return bad("window count");
  std::vector<window> ws;
  for (int64_t i = 0; i < n; i++) {
    window w{0, 0, false, false, {}};
    int64_t count_n;
    if (!get(&w.start) || !get(&w.end) || w.end <= w.start || p >= end) return bad("window bounds");
    int flags = static_cast<unsigned char>(*p++);
    w.pending = flags & 1;
    w.emitted = flags & 2;
    w.agg.sum_is_float = flags & 4;
    if (!get(&w.agg.count)) return bad("count");
    if (w.agg.sum_is_float) {
      if (end - p < 8) return bad("sum");
      uint64_t bits = be::load64(p);
      std::memcpy(&w.agg.sum_float, &bits, 8);
      p += 8;
    } else if (!get(&w.agg.sum_int)) {
      return bad("sum");
    }
    if (!get(&count_n) || count_n < 0 || count_n > end - p) return bad("counts");
    for (int64_t c = 0; c < count_n; c++) {
      int64_t len, cnt;
      if (!get(&len) || len < 0 || len > end - p) return bad("count value");
      std::string value(p, static_cast<size_t>(len));
      p += len;
      if (!get(&cnt)) return bad("count");
      w.agg.counts.emplace_back(std::move(value), cnt);
    }
    if (!ws.empty() && ws.back().end >= w.start) return bad("windows out of order");
    ws.push_back(std::move(w));
  }
  if (p != end) return bad("trailing bytes");
  if (ws.empty()) return Status::OK();
  auto& slot = keys_[key];
  slot = std::move(ws);
  open_ += slot.size();
  for (const auto& w : slot) schedule(key, w);
  return Status::OK();
}

}  // namespace kappa
