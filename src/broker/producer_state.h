// Kafka's idempotent-producer checks for one partition (Kafka's
// ProducerStateManager / ProducerAppendInfo): per producer id, its epoch and
// the sequence ranges and offsets of its last five batches, so a batch a
// client sends again (a retry after a lost answer) is acknowledged with the
// offset it got the first time instead of being appended twice, and a gap
// in the sequence is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

namespace kappa::broker {

struct producer_batch {
  int64_t producer_id = -1;  // -1: not idempotent, never checked
  int16_t epoch = 0;
  int32_t first_seq = 0;
  int32_t last_seq = 0;  // first_seq + last offset delta, wrapping past INT32_MAX
};

class producer_state {
 public:
  static constexpr size_t kBatchesKept = 5;  // Kafka's NUM_BATCHES_TO_RETAIN

  enum class verdict { append, duplicate, refuse };
  // What to do with a batch of an idempotent producer (producer_id >= 0):
  // append it; or it is a duplicate of a kept batch (*first_offset = the
  // offset that batch got); or refuse it with *error (Kafka's code:
  // 47 INVALID_PRODUCER_EPOCH, 45 OUT_OF_ORDER_SEQUENCE_NUMBER). A producer
  // not seen before (new, or from before what a restart rebuilt) may start
  // at any sequence, as in Kafka.
  verdict check(const producer_batch& b, int64_t* first_offset, int16_t* error) const;
  // Records a batch that was appended at [first_offset, last_offset].
  void appended(const producer_batch& b, int64_t first_offset, int64_t last_offset);

 private:
  struct kept {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
  };
  struct producer {
    int16_t epoch = 0;
    std::deque<kept> batches;  // oldest first
  };
  std::unordered_map<int64_t, producer> producers_;
};

}  // namespace kappa::broker
