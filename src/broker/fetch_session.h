// Fetch sessions (KIP-227, Fetch v7+) as a Kafka broker answers them with
// no session slots (max.incremental.fetch.session.cache.slots=0): every
// fetch is a full one and no session is ever opened.
//
// A full fetch has session epoch 0 (open a session) or -1 (no session); it
// is answered in full with session id 0, which tells the client that no
// session exists, so its next fetch is full again (Java's
// FetchSessionHandler, librdkafka). Any other epoch asks for an incremental
// fetch in a session; we never gave one out, so, as Kafka's FetchManager
// does for an unknown session id, the whole request is answered with the
// top-level error FETCH_SESSION_ID_NOT_FOUND, no partitions and session id
// 0, and the client starts over with a full fetch.
#pragma once

#include <cstdint>

namespace kappa::broker {

// Kafka's FETCH_SESSION_ID_NOT_FOUND.
inline constexpr int16_t kFetchSessionIdNotFound = 70;
// The first Fetch version with session fields.
inline constexpr int16_t kFetchSessionsSince = 7;

// The top-level error for a Fetch's session fields: 0 for a full fetch,
// kFetchSessionIdNotFound for an incremental one.
constexpr int16_t fetch_session_error(int32_t session_id, int32_t session_epoch) {
  (void)session_id;  // no id is ever valid here: only the epoch says "full"
  return session_epoch == 0 || session_epoch == -1 ? 0 : kFetchSessionIdNotFound;
}

}  // namespace kappa::broker
