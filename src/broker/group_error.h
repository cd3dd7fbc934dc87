// The Kafka error codes the group coordinator answers with (Kafka's
// org.apache.kafka.common.protocol.Errors). Only these: the server's other
// APIs keep their own.
#pragma once

#include <cstdint>

namespace kappa::broker::group_error {

inline constexpr int16_t kNone = 0;
inline constexpr int16_t kIllegalGeneration = 22;
inline constexpr int16_t kInconsistentGroupProtocol = 23;
inline constexpr int16_t kInvalidGroupId = 24;
inline constexpr int16_t kUnknownMemberId = 25;
inline constexpr int16_t kInvalidSessionTimeout = 26;
inline constexpr int16_t kRebalanceInProgress = 27;

}  // namespace kappa::broker::group_error
