// Member ids the coordinator hands out: "<client_id>-<random uuid>", as Kafka
// does, so tools can tell which client a member is and ids never repeat.
#pragma once

#include <random>
#include <string>
#include <string_view>

namespace kappa::broker {

std::string new_member_id(std::string_view client_id, std::mt19937_64& rng);

}  // namespace kappa::broker
