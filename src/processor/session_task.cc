#include "processor/session_task.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace kappa {

session_task_options task_options_of(const session_job_options& o) {
  session_task_options to;
  to.fields = session_fields{o.key_field, o.time_field, o.count_by, o.sum_field, o.watermark_field};
  to.gap = o.gap_ms;
  to.max_out_of_orderness = o.max_out_of_orderness_ms;
  to.allowed_lateness = o.allowed_lateness_ms;
  to.idle_timeout = o.idle_timeout_ms;
  return to;
}

session_task::session_task(const session_task_options& o, session_fn on_session, rejected_fn on_rejected)
    : json_{!o.fields.count_by.empty(), !o.fields.sum.empty()},
      parser_(o.fields),
      windows_(session_windows::options{o.gap, o.allowed_lateness}),
      wm_(o.max_out_of_orderness),
      idle_(o.idle_timeout),
      on_session_(std::move(on_session)),
      on_rejected_(std::move(on_rejected)),
      key_pattern_("\"" + o.fields.key + "\":\""),
      time_field_(o.fields.time),
      max_time_(INT64_MAX - o.gap) {}

// A guess at the key of the record that starts at or near p (the 64 bytes
// from p are readable): a key field written "key":"..." near a record's
// start is probably that event's key. A wrong guess costs one lookup.
std::string_view session_task::key_at(const char* ahead) const {
  constexpr size_t kAhead = 64;
  size_t n = key_pattern_.size();
  if (n >= kAhead) return {};
  // The quotes in the 64 bytes, then the pattern at each (the first or
  // second quote of a record is usually the key field's).
  uint64_t quotes = 0;
#ifdef __SSE2__
  for (size_t i = 0; i < kAhead; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ahead + i));
    quotes |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')))))
              << i;
  }
#else
  for (size_t i = 0; i < kAhead; i++)
    if (ahead[i] == '"') quotes |= uint64_t{1} << i;
#endif
  for (uint64_t q = quotes; q; q &= q - 1) {
    size_t at = static_cast<size_t>(__builtin_ctzll(q));
    if (at + n >= kAhead) return {};
    if (!key_table::same_bytes(ahead + at, key_pattern_.data(), n)) continue;
    uint64_t after = quotes >> (at + n) << (at + n);  // quotes past the pattern
    if (!after) return {};
    size_t end = static_cast<size_t>(__builtin_ctzll(after));
    return std::string_view(ahead + at + n, end - at - n);
  }
  return {};
}

void session_task::emit(const fired_session& s) {
  value_.clear();
  append_session_json(s, json_, &value_);
  on_session_(s.key, s.end - 1, value_);
  stats_.sessions++;
}

void session_task::emit(std::vector<fired_session>& fired) {
  for (const auto& s : fired) emit(s);
  fired.clear();
}

void session_task::emit_fired(void* task, const fired_session& s) { static_cast<session_task*>(task)->emit(s); }

void session_task::prefetch_key(std::string_view line) {
  std::string_view key = key_at(line.data());
  hint& h = hints_[hints_in_++ % kHints];
  h = hint{line.data(), key.data(), key.size(), 0};
  if (key.empty()) return;
  h.hash = key_table::hash(key);
  windows_.prefetch_slot(h.hash);
}

void session_task::prefetch_state(std::string_view line) {
  const hint& h = hints_[hints_out_ % kHints];
  if (h.line == line.data()) {
    hints_out_++;
    if (h.length) windows_.prefetch_state(std::string_view(h.key, h.length), h.hash);
    return;
  }
  // Out of step with prefetch_key() (a line skipped): find the line in
  // the ring, and go on from there.
  for (size_t i = hints_in_; i-- > 0 && i + kHints >= hints_in_ + 1;) {
    const hint& o = hints_[i % kHints];
    if (o.line != line.data()) continue;
    hints_out_ = i + 1;
    if (o.length) windows_.prefetch_state(std::string_view(o.key, o.length), o.hash);
    return;
  }
  std::string_view key = key_at(line.data());
  if (!key.empty()) windows_.prefetch_state(key, key_table::hash(key));
}

void session_task::feed(std::string_view line, bool look_ahead) {
  // Unless the caller hinted ahead: the padding after a line is often the
  // start of the next record, whose key slot then loads while this line
  // is handled; at the end, its window and counts (the two reads an event
  // waits for).
  std::string_view next = look_ahead ? key_at(line.data() + line.size()) : std::string_view();
  uint64_t next_hash = 0;
  if (!next.empty()) {
    next_hash = key_table::hash(next);
    windows_.prefetch_slot(next_hash);
  }
  session_event e;
  int64_t punctuation = 0;
  std::string why;
  switch (parser_.parse(line, &e, &punctuation, &why)) {
    case session_event_parser::kind::punctuation:
      wm_.punctuate(punctuation);
      break;
    case session_event_parser::kind::malformed:
      stats_.malformed++;
      on_rejected_(line, &why);
      return;
    case session_event_parser::kind::event:
      if (e.time > max_time_) {  // its window [time, time + gap) would end past the largest time
        why = "field '" + time_field_ + "' is too large: the session would end after the largest time (" +
              std::to_string(INT64_MAX) + ")";
        stats_.malformed++;
        on_rejected_(line, &why);
        return;
      }
      stats_.events++;
      if (!windows_.add(e, &fired_)) {
        stats_.late++;
        on_rejected_(line, nullptr);
      }
      emit(fired_);  // a late firing comes before this record's watermark step
      wm_.observe(e.time);
      break;
  }
  windows_.advance_watermark(wm_.current(), &session_task::emit_fired, this);
  if (!next.empty()) windows_.prefetch_state(next, next_hash);
}

void session_task::feed_null() {
  static const std::string kWhy = "record value is null (no JSON event)";
  stats_.malformed++;
  on_rejected_(std::string_view(), &kWhy);
}

bool session_task::advance_idle(int64_t now) {
  int64_t wm = idle_.watermark_at(now);
  if (wm == idle_clock::kNone || wm <= wm_.current()) return false;
  wm_.punctuate(wm);
  windows_.advance_watermark(wm_.current(), &session_task::emit_fired, this);
  return true;
}

void session_task::finish() {
  // The watermark stays at +inf: the input has ended, so whatever comes
  // later is late (it is counted and kept, never folded into a session
  // that was already emitted as final).
  wm_.punctuate(INT64_MAX);
  windows_.advance_watermark(INT64_MAX, &session_task::emit_fired, this);
}

void session_task::restore_watermark(int64_t wm) {
  wm_.punctuate(wm);
  windows_.restore_watermark(wm);
}

}  // namespace kappa
