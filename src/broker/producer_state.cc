#include "broker/producer_state.h"

#include <cstdint>

namespace kappa::broker {

namespace {
constexpr int16_t kOutOfOrderSequence = 45;
constexpr int16_t kInvalidProducerEpoch = 47;

// The sequence after `seq` (Kafka's wrap at INT32_MAX).
int32_t next_seq(int32_t seq) { return seq == INT32_MAX ? 0 : seq + 1; }
}  // namespace

producer_state::verdict producer_state::check(const producer_batch& b, int64_t* first_offset, int16_t* error) const {
  auto it = producers_.find(b.producer_id);
  if (it == producers_.end()) return verdict::append;
  const producer& p = it->second;
  if (b.epoch == p.epoch) {
    for (const kept& k : p.batches)
      if (k.first_seq == b.first_seq && k.last_seq == b.last_seq) {
        *first_offset = k.first_offset;
        return verdict::duplicate;
      }
  }
  if (b.epoch < p.epoch) {
    *error = kInvalidProducerEpoch;
    return verdict::refuse;
  }
  if (b.epoch > p.epoch) {  // a bumped epoch starts again at 0
    if (b.first_seq == 0) return verdict::append;
    *error = kOutOfOrderSequence;
    return verdict::refuse;
  }
  if (p.batches.empty() || b.first_seq == next_seq(p.batches.back().last_seq)) return verdict::append;
  *error = kOutOfOrderSequence;
  return verdict::refuse;
}

void producer_state::appended(const producer_batch& b, int64_t first_offset, int64_t last_offset) {
  producer& p = producers_[b.producer_id];
  if (b.epoch != p.epoch) {
    p.epoch = b.epoch;
    p.batches.clear();
  }
  p.batches.push_back({b.first_seq, b.last_seq, first_offset, last_offset});
  if (p.batches.size() > kBatchesKept) p.batches.pop_front();
}

}  // namespace kappa::broker
