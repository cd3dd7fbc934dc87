#include <doctest.h>
#include <unistd.h>

#include <string>

#include "adapters/record_formatter.h"

using namespace kappa;

namespace {
std::string render(record_formatter::mode m, const std::string& fmt, const record_view& r) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  {
    output_buffer out(fds[1]);
    auto f = record_formatter::make(m, fmt);
    REQUIRE(f.ok());
    f.value().write(out, "clicks", 3, r);
  }
  ::close(fds[1]);
  char buf[4096];
  ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}
}  // namespace

TEST_CASE("kcat tokens render every field") {
  record_view r;
  r.offset = 42;
  r.timestamp = 1700000000000;
  r.key = bytes_view::of("k1");
  r.value = bytes_view::of("v\"1");
  CHECK(render(record_formatter::mode::format, "%t %p %o %T %k %K %s %S %%\\n", r) ==
        "clicks 3 42 1700000000000 k1 2 v\"1 3 %\n");
  CHECK(render(record_formatter::mode::value_line, "", r) == "v\"1\n");
}

TEST_CASE("json envelope escapes and shows null keys") {
  record_view r;
  r.offset = 1;
  r.timestamp = 5;
  r.value = bytes_view::of("a\tb\"c");
  CHECK(render(record_formatter::mode::json, "", r) ==
        "{\"topic\":\"clicks\",\"partition\":3,\"offset\":1,\"timestamp\":5,\"key\":null,\"value\":\"a\\tb\\\"c\"}\n");
}

TEST_CASE("unknown format tokens are refused") {
  auto f = record_formatter::make(record_formatter::mode::format, "%q");
  CHECK_FALSE(f.ok());
  CHECK(f.status().message().find("%q") != std::string::npos);
}
