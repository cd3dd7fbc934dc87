#include "processor/session_task.h"

namespace kappa {

session_task::session_task(const session_task_options& o, session_fn on_session, rejected_fn on_rejected)
    : json_{!o.fields.count_by.empty(), !o.fields.sum.empty()},
      parser_(o.fields),
      windows_(session_windows::options{o.gap, o.allowed_lateness}),
      wm_(o.max_out_of_orderness),
      on_session_(std::move(on_session)),
      on_rejected_(std::move(on_rejected)) {}

void session_task::emit(std::vector<fired_session>& fired) {
  for (const auto& s : fired) {
    value_.clear();
    append_session_json(s, json_, &value_);
    on_session_(s.key, s.end - 1, value_);
    stats_.sessions++;
  }
  fired.clear();
}

void session_task::feed(std::string_view line) {
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
      stats_.events++;
      if (!windows_.add(e, &fired_)) {
        stats_.late++;
        on_rejected_(line, nullptr);
      }
      emit(fired_);  // a late firing comes before this record's watermark step
      wm_.observe(e.time);
      break;
  }
  windows_.advance_watermark(wm_.current(), &fired_);
  emit(fired_);
}

void session_task::finish() {
  windows_.advance_watermark(INT64_MAX, &fired_);
  emit(fired_);
}

void session_task::restore_watermark(int64_t wm) {
  wm_.punctuate(wm);
  windows_.restore_watermark(wm);
}

}  // namespace kappa
