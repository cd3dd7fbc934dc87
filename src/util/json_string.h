// JSON string literals: the one escaper every JSON writer in kappa uses.
#pragma once

#include <string>
#include <string_view>

namespace kappa {

// Appends s as a JSON string literal: quotes, escapes, and invalid UTF-8
// bytes replaced by \ufffd (JSON text must be UTF-8).
void append_json_string(std::string& out, std::string_view s);

}  // namespace kappa
