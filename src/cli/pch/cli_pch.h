// Precompiled for every file of the CLI: CLI11 is header-only, and parsing
// it is most of each verb's compile time.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
