// Checkpoint blobs of window state: entries, erasures, the chain's
// last-entry-wins rule, damage detection, and full snapshots (take_all)
// restoring the same operator as a chain of deltas.
#include <doctest.h>

#include <string>
#include <vector>

#include "processor/checkpoint_state.h"
#include "processor/session_windows.h"

using namespace kappa;

namespace {

std::string blob_of(state_blob_writer& w) {
  std::string b(w.finish());
  w.clear();
  return b;
}

}  // namespace

TEST_CASE("state chain: the last entry of a key wins, an erasure removes it") {
  state_blob_writer w;
  w.put("a", "A1");
  w.put("b", "B1");
  std::string first = blob_of(w);
  w.put("a", "A2");
  w.erase("b");
  w.put("c", "");
  std::string second = blob_of(w);
  CHECK(w.finish().empty());  // nothing put: no blob

  state_chain chain;
  REQUIRE(chain.add(first, "p0").ok());
  REQUIRE(chain.add(second, "p0").ok());
  const auto& m = chain.latest();
  CHECK(m.size() == 2);
  CHECK(m.at("a") == "A2");
  CHECK(m.at("c") == "");
  CHECK(m.count("b") == 0);
}

TEST_CASE("state chain: a flipped byte or a cut blob is corruption naming the partition") {
  state_blob_writer w;
  w.put("user-1", std::string(40, 'x'));
  w.erase("user-2");
  std::string blob = blob_of(w);
  for (size_t i = 0; i < blob.size(); i++) {
    std::string bad = blob;
    bad[i] ^= 0x20;
    state_chain chain;
    Status st = chain.add(bad, "topic clicks partition 3 in job j");
    REQUIRE(st.is_corruption());
    CHECK(st.message().find("topic clicks partition 3") != std::string::npos);
  }
  for (size_t n = 0; n < blob.size(); n++) {
    state_chain chain;
    CHECK(chain.add(std::string_view(blob).substr(0, n), "p").is_corruption());
  }
}

TEST_CASE("state chain: a full snapshot restores the same operator as the deltas before it") {
  session_windows::options o{100, 50};
  session_windows live(o);
  std::vector<fired_session> fired;
  state_blob_writer w;
  std::vector<std::string> deltas;
  auto delta = [&] {
    live.take_changes([&](const std::string& k, const std::string* e) {
      if (e)
        w.put(k, *e);
      else
        w.erase(k);
    });
    deltas.push_back(blob_of(w));
  };
  int64_t t = 1000;
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < 40; i++) {
      std::string key = "k" + std::to_string((i * 7 + round) % 13);
      session_event e;
      e.key = key;
      e.time = t + (i % 5) * 30;
      live.add(e, &fired);
      t += 9;
      live.advance_watermark(t - 120, &fired);
    }
    delta();
  }
  live.take_all([&](const std::string& k, const std::string& e) { w.put(k, e); });
  std::string full = blob_of(w);

  auto restore = [&](const std::vector<std::string>& chain_blobs) {
    state_chain chain;
    for (const auto& b : chain_blobs) REQUIRE(chain.add(b, "p").ok());
    auto op = std::make_unique<session_windows>(o);
    op->restore_watermark(live.watermark());
    for (const auto& [k, e] : chain.latest()) REQUIRE(op->restore(std::string(k), e).ok());
    return op;
  };
  auto from_deltas = restore(deltas);
  auto from_full = restore({full});
  CHECK(from_full->open_windows() == live.open_windows());
  CHECK(from_deltas->open_windows() == live.open_windows());
  // Both fire the same sessions from here on as the live operator.
  auto finish = [](session_windows& op) {
    std::vector<fired_session> f;
    std::vector<std::string> out;
    op.advance_watermark(INT64_MAX, &f);
    for (const auto& s : f)
      out.push_back(std::string(s.key) + "@" + std::to_string(s.start) + "-" + std::to_string(s.end));
    return out;
  };
  auto want = finish(live);
  CHECK(!want.empty());
  CHECK(finish(*from_full) == want);
  CHECK(finish(*from_deltas) == want);
}

TEST_CASE("state chain: a full snapshot of no windows is a valid, empty blob that clears the chain") {
  state_blob_writer w;
  w.put("a", "A");
  std::string first = blob_of(w);
  std::string empty_full(w.finish(/*always=*/true));
  CHECK(empty_full.size() == 8);  // the checksum alone
  state_chain chain;
  REQUIRE(chain.add(empty_full, "p").ok());
  CHECK(chain.latest().empty());
  CHECK(!first.empty());
}
