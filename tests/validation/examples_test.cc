// The files in examples/ (used by the README walkthrough) stay valid
// against the catalogs they are produced to.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "broker/validation/validate.h"
#include "codec/json.h"

using namespace muninn;

TEST_CASE("examples: forsendelse.jsonl is a valid dispatch lifecycle", "[validation][examples]") {
  std::ifstream in(std::string(MUNINN_SOURCE_DIR) + "/examples/forsendelse.jsonl");
  REQUIRE(in);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    INFO("line " << n + 1);
    auto e = codec::event_from_json(line);
    if (!e) FAIL(e.error().message);
    auto v = validation::validate_event(validation::schema::dispatch, e->view(), std::uint32_t(n));
    if (v) FAIL(v->message());
    ++n;
  }
  CHECK(n == 4);
}
