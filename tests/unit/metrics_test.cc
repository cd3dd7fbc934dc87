// kappa serve's metrics page (src/broker/metrics.h): counting from batch
// headers, histogram buckets, and the text format's escaping.
#include <doctest.h>

#include <string>

#include "broker/group_coordinator.h"
#include "broker/metrics.h"
#include "kappa/data_dir.h"
#include "kappa/log/format.h"
#include "util/big_endian.h"

namespace {

// A batch header claiming `records` records, followed by `body` filler bytes
// (the counter reads only the header).
std::string fake_batch(int32_t records, size_t body) {
  std::string b(kappa::format::kBatchHeaderSize + body, '\0');
  kappa::be::store32(b.data() + kappa::format::kBatchLengthOffset,
                     static_cast<uint32_t>(b.size() - kappa::format::kLogOverhead));
  kappa::be::store32(b.data() + kappa::format::kRecordCountOffset, static_cast<uint32_t>(records));
  return b;
}

std::string page(const kappa::broker::metrics& m) {
  auto dd = kappa::data_dir::open("/nonexistent/kappa-metrics-test", false);  // opens empty: no groups, no jobs
  REQUIRE(dd.ok());
  kappa::broker::group_coordinator groups;
  return m.scrape(*dd.value(), groups, 3, 0);
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("label values are escaped: backslash, quote, newline") {
  kappa::broker::exposition e;
  e.sample("x", {{"l", "a\\b\"c\nd"}, {"m", "plain"}}, int64_t{1});
  CHECK(e.text() == "x{l=\"a\\\\b\\\"c\\nd\",m=\"plain\"} 1\n");
}

TEST_CASE("records are counted from batch headers; a torn tail counts bytes only") {
  kappa::broker::metrics m;
  std::string batches = fake_batch(5, 40) + fake_batch(2, 10) + fake_batch(9, 100).substr(0, 70);
  m.produced("t", batches);
  m.fetched("t", 5, fake_batch(5, 40).size());
  m.fetched("u", 0, 0);  // an empty answer makes no series
  std::string text = page(m);
  CHECK(has_line(text, "kappa_records_in_total{topic=\"t\"} 7"));
  CHECK(has_line(text, "kappa_bytes_in_total{topic=\"t\"} " + std::to_string(batches.size())));
  CHECK(has_line(text, "kappa_records_out_total{topic=\"t\"} 5"));
  CHECK(text.find("topic=\"u\"") == std::string::npos);
  CHECK(has_line(text, "kappa_connections 3"));
}

TEST_CASE("a latency equal to a bucket's bound is in that bucket; past the last, only +Inf") {
  kappa::broker::metrics m;
  m.request_answered(0, 1000);        // exactly 1 ms
  m.request_answered(0, 20'000'000);  // 20 s
  m.request_answered(-1, 5);          // no API: ignored
  std::string text = page(m);
  CHECK(has_line(text, "kappa_request_duration_seconds_bucket{api=\"Produce\",le=\"0.0005\"} 0"));
  CHECK(has_line(text, "kappa_request_duration_seconds_bucket{api=\"Produce\",le=\"0.001\"} 1"));
  CHECK(has_line(text, "kappa_request_duration_seconds_bucket{api=\"Produce\",le=\"10\"} 1"));
  CHECK(has_line(text, "kappa_request_duration_seconds_bucket{api=\"Produce\",le=\"+Inf\"} 2"));
  CHECK(has_line(text, "kappa_request_duration_seconds_count{api=\"Produce\"} 2"));
  CHECK(has_line(text, "kappa_request_duration_seconds_sum{api=\"Produce\"} 20.001"));
  CHECK(has_line(text, "kappa_requests_total{api=\"Produce\"} 2"));
}
