// The idempotent producer's checks, as Kafka's broker makes them.
#include <doctest.h>

#include "broker/producer_state.h"

using namespace kappa::broker;

namespace {
producer_batch batch(int64_t pid, int16_t epoch, int32_t first, int32_t count) {
  return {pid, epoch, first, first + count - 1};
}
}  // namespace

TEST_CASE("idempotent producer: in-order batches append, a repeat gets its first offset, a gap is refused") {
  producer_state s;
  int64_t first = -1;
  int16_t err = 0;
  CHECK(s.check(batch(7, 0, 0, 10), &first, &err) == producer_state::verdict::append);
  s.appended(batch(7, 0, 0, 10), 100, 109);
  CHECK(s.check(batch(7, 0, 10, 5), &first, &err) == producer_state::verdict::append);
  s.appended(batch(7, 0, 10, 5), 200, 204);
  // A retry of either kept batch: the offset it got, nothing appended.
  CHECK(s.check(batch(7, 0, 0, 10), &first, &err) == producer_state::verdict::duplicate);
  CHECK(first == 100);
  CHECK(s.check(batch(7, 0, 10, 5), &first, &err) == producer_state::verdict::duplicate);
  CHECK(first == 200);
  // A gap: OUT_OF_ORDER_SEQUENCE_NUMBER.
  CHECK(s.check(batch(7, 0, 16, 1), &first, &err) == producer_state::verdict::refuse);
  CHECK(err == 45);
  // Another producer is independent; an unknown one may start anywhere.
  CHECK(s.check(batch(8, 3, 555, 1), &first, &err) == producer_state::verdict::append);
}

TEST_CASE("idempotent producer: epochs and the five kept batches") {
  producer_state s;
  int64_t first = -1;
  int16_t err = 0;
  for (int i = 0; i < 7; i++) s.appended(batch(1, 2, i * 10, 10), i * 100, i * 100 + 9);
  CHECK(s.check(batch(1, 2, 20, 10), &first, &err) == producer_state::verdict::duplicate);  // the 3rd of 7
  CHECK(first == 200);
  CHECK(s.check(batch(1, 2, 10, 10), &first, &err) == producer_state::verdict::refuse);  // fell out of the five
  CHECK(err == 45);
  CHECK(s.check(batch(1, 1, 70, 1), &first, &err) == producer_state::verdict::refuse);  // an older epoch
  CHECK(err == 47);
  CHECK(s.check(batch(1, 3, 5, 1), &first, &err) == producer_state::verdict::refuse);  // a new epoch not at 0
  CHECK(err == 45);
  CHECK(s.check(batch(1, 3, 0, 1), &first, &err) == producer_state::verdict::append);  // a bumped epoch at 0
  s.appended(batch(1, 3, 0, 1), 900, 900);
  CHECK(s.check(batch(1, 3, 1, 1), &first, &err) == producer_state::verdict::append);
}

TEST_CASE("idempotent producer: sequences wrap past INT32_MAX") {
  producer_state s;
  int64_t first = -1;
  int16_t err = 0;
  s.appended({4, 0, INT32_MAX - 1, INT32_MAX}, 10, 11);
  CHECK(s.check({4, 0, 0, 3}, &first, &err) == producer_state::verdict::append);
  CHECK(s.check({4, 0, 1, 3}, &first, &err) == producer_state::verdict::refuse);
}
