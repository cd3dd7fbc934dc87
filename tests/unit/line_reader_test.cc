#include <doctest.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "adapters/line_reader.h"

using namespace kappa;

namespace {
std::vector<std::string> lines_of(const std::string& input, size_t max_line, std::vector<int>* too_long = nullptr) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::thread writer([&] {
    (void)!::write(fds[1], input.data(), input.size());
    ::close(fds[1]);
  });
  line_reader r(fds[0], max_line);
  std::vector<std::string> out;
  std::string_view line;
  for (;;) {
    auto res = r.next(&line);
    if (res == line_reader::result::eof) break;
    if (res == line_reader::result::too_long) {
      if (too_long) too_long->push_back(static_cast<int>(r.line_number()));
      continue;
    }
    REQUIRE(res == line_reader::result::line);
    out.emplace_back(line);
  }
  writer.join();
  ::close(fds[0]);
  return out;
}
}  // namespace

TEST_CASE("lines keep tabs, carriage returns and empty lines byte for byte") {
  auto got = lines_of("a\tb\r\n\n\xc3\xa9t\xc3\xa9\nlast", 1 << 20);
  REQUIRE(got.size() == 4);
  CHECK(got[0] == "a\tb\r");
  CHECK(got[1] == "");
  CHECK(got[2] == "\xc3\xa9t\xc3\xa9");
  CHECK(got[3] == "last");
}

TEST_CASE("a line longer than the buffer chunk survives whole") {
  std::string big(3 << 20, 'x');
  auto got = lines_of("a\n" + big + "\nb\n", 8 << 20);
  REQUIRE(got.size() == 3);
  CHECK(got[1] == big);
  CHECK(got[2] == "b");
}

TEST_CASE("a line over the limit is skipped and numbered, not buffered") {
  std::vector<int> too_long;
  auto got = lines_of("a\n" + std::string(5000, 'y') + "\nb\n", 1000, &too_long);
  REQUIRE(got.size() == 2);
  CHECK(got[1] == "b");
  REQUIRE(too_long.size() == 1);
  CHECK(too_long[0] == 2);
}
