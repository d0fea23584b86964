// reskontra's field_reader finds a field the way its first version did
// (the first key equal to the name, in key order, for maps of up to 24
// keys; flexbuffers' own lookup beyond), on builder maps and on hostile
// ones: keys out of order, the same key twice, names sharing their first
// bytes or ending early. And the in-place normal form of identifiers.
#include <catch2/catch.hpp>

#include <flatbuffers/flexbuffers.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "broker/projections/flex_verify.h"
#include "broker/projections/identifiers.h"
#include "broker/projections/reskontra_prepare.h"

namespace mp = muninn::projections;
namespace rd = muninn::projections::reskontra_detail;

namespace {

// Where a typed vector's elements are, which flexbuffers keeps protected.
struct keys_at : flexbuffers::TypedVector {
  explicit keys_at(const flexbuffers::TypedVector& v) : flexbuffers::TypedVector(v) {}
  std::uint8_t* elems() const { return const_cast<std::uint8_t*>(data_); }
  std::uint8_t width() const { return byte_width_; }
};

const char* const names[] = {"invoiceId", "invoiceNo", "issueDate", "id",       "i",       "in",
                             "inv",       "",          "amountMinor", "amount", "currency", "customer",
                             "dueDate",   "d",         "type",      "value",    "invoiceIdx", "invoiceI",
                             "reason",    "lines",     "paymentId", "party",    "payer",   "ocr",
                             "vatMinor",  "account",   "a",         "ab",       "abc"};

// The first version's lookup: the first equal key when there are at most
// 24, else flexbuffers' binary search.
flexbuffers::Reference reference_get(const flexbuffers::Map& m, const char* name) {
  const auto keys = m.Keys();
  if (keys.size() > 24) return m[name];
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (std::strcmp(keys[i].AsKey(), name) == 0) return m.Values()[i];
  }
  return flexbuffers::Reference();
}

// Points key slot `i` of the root map at `key` (a pointer into buf); false
// when the offset does not fit the slot's width.
bool point_key(const keys_at& k, std::size_t i, const std::uint8_t* key) {
  std::uint8_t* slot = k.elems() + i * k.width();
  if (key > slot) return false;
  const auto off = static_cast<std::uint64_t>(slot - key);
  if (k.width() < 8 && off >> (8 * k.width()) != 0) return false;
  std::memcpy(slot, &off, k.width());  // little-endian, as flexbuffers
  return true;
}

}  // namespace

TEST_CASE("reskontra field_reader: finds the first equal key, in any key order", "[projections][reskontra]") {
  std::mt19937_64 rng(20261124);
  mp::flex_verifier verifier;
  std::size_t hostile = 0;
  for (int round = 0; round < 4000; ++round) {
    // A map of distinct keys (the builder sorts them), values the slot's
    // number so that a found value names its slot.
    std::vector<std::string> pool(std::begin(names), std::end(names));
    std::shuffle(pool.begin(), pool.end(), rng);
    const std::size_t n = rng() % (round % 5 == 0 ? 29 : 14);
    flexbuffers::Builder b;
    b.Map([&] {
      for (std::size_t i = 0; i < n; ++i) b.Int(pool[i].c_str(), static_cast<std::int64_t>(i));
    });
    b.Finish();
    std::vector<std::uint8_t> buf = b.GetBuffer();
    auto m = flexbuffers::GetRoot(buf).AsMap();
    const keys_at k(m.Keys());
    std::vector<const std::uint8_t*> key_ptrs;
    for (std::size_t i = 0; i < k.size(); ++i) {
      key_ptrs.push_back(reinterpret_cast<const std::uint8_t*>(k[i].AsKey()));
    }
    // Most rounds hostile: keys out of order, some the same key twice.
    if (n > 1 && rng() % 4 != 0) {
      std::shuffle(key_ptrs.begin(), key_ptrs.end(), rng);
      if (rng() % 2 == 0) key_ptrs[rng() % n] = key_ptrs[rng() % n];
      bool fits = true;
      for (std::size_t i = 0; i < n; ++i) fits = fits && point_key(k, i, key_ptrs[i]);
      if (!fits) continue;
      ++hostile;
    }
    REQUIRE(verifier.verify(buf.data(), buf.size()));
    m = flexbuffers::GetRoot(buf).AsMap();
    const rd::field_reader f(m);
    for (const char* name : names) {
      const auto want = reference_get(m, name);
      const auto got = f.get(rd::field_name{name, std::strlen(name)});
      INFO("round " << round << " name '" << name << "'");
      REQUIRE(got.IsNull() == want.IsNull());
      if (!want.IsNull()) REQUIRE(got.AsInt64() == want.AsInt64());
    }
  }
  CHECK(hostile > 1000);
}

TEST_CASE("reskontra field_reader: a missing or ill-typed field is the first fault", "[projections][reskontra]") {
  flexbuffers::Builder b;
  b.Map([&] {
    b.String("invoiceId", "inv-1");
    b.Int("amountMinor", 0);
    b.Int("invoiceNo", 7);
    b.String("issueDate", "2026-02-30");
  });
  b.Finish();
  const auto buf = b.GetBuffer();
  const auto m = flexbuffers::GetRoot(buf).AsMap();
  {
    rd::field_reader f(m);
    CHECK(f.id("invoiceId").s == "inv-1");
    CHECK(f.text("invoiceNo").empty());
    CHECK(f.failed());
    CHECK(rd::describe(f.first_fault()) == "field 'invoiceNo': must be a string");
    f.integer("amountMinor", 1);  // after a fault: no second one
    CHECK(rd::describe(f.first_fault()) == "field 'invoiceNo': must be a string");
  }
  {
    rd::field_reader f(m, "lines", 3);
    f.integer("amountMinor", 1);
    CHECK(rd::describe(f.first_fault()) == "field 'lines[3].amountMinor': must be >= 1");
  }
  {
    rd::field_reader f(m);
    f.date("issueDate");
    CHECK(rd::describe(f.first_fault()) == "field 'issueDate': must be a date YYYY-MM-DD");
  }
  {
    rd::field_reader f(m);
    f.text("invoiceI");  // a prefix of a key is not the key
    CHECK(rd::describe(f.first_fault()) == "field 'invoiceI': is required");
  }
  {
    rd::field_reader f(m);
    f.id("invoiceIdx");  // nor is a longer name
    CHECK(rd::describe(f.first_fault()) == "field 'invoiceIdx': is required");
  }
}

TEST_CASE("normal_form: the same spelling as the std::string normal form", "[projections][identifiers]") {
  struct example {
    mp::id_kind kind;
    const char* value;
    mp::civil_date reference;
    const char* normal;  // nullptr: refused
  };
  const example examples[] = {
      {mp::id_kind::se_pnr, "811228-9874", {2026, 1, 1}, "198112289874"},
      {mp::id_kind::se_pnr, "8112289874", {2026, 1, 1}, "198112289874"},
      {mp::id_kind::se_pnr, "811228+9874", {2026, 1, 1}, "188112289874"},
      {mp::id_kind::se_pnr, "19811228-9874", {2026, 1, 1}, "198112289874"},
      {mp::id_kind::se_pnr, "198112289874", {2026, 1, 1}, "198112289874"},
      {mp::id_kind::se_pnr, "811228-9874", {1850, 1, 1}, "178112289874"},
      {mp::id_kind::se_pnr, "811228-9874", {150, 1, 1}, "008112289874"},   // century 0: two digits
      {mp::id_kind::se_pnr, "811228-9874", {100, 1, 1}, "008112289874"},
      {mp::id_kind::se_pnr, "811228+9874", {50, 1, 1}, nullptr},  // born before year 1
      {mp::id_kind::se_pnr, "811228-9875", {2026, 1, 1}, nullptr},
      {mp::id_kind::se_pnr, "19811228+9874", {2026, 1, 1}, nullptr},
      {mp::id_kind::se_orgnr, "556036-0793", {2026, 1, 1}, "5560360793"},
      {mp::id_kind::se_orgnr, "165560360793", {2026, 1, 1}, "5560360793"},
      {mp::id_kind::se_orgnr, "5560360793", {2026, 1, 1}, "5560360793"},
      {mp::id_kind::se_orgnr, "551036-0793", {2026, 1, 1}, nullptr},
      {mp::id_kind::no_orgnr, "123456785", {2026, 1, 1}, "123456785"},
      {mp::id_kind::no_orgnr, "12345678", {2026, 1, 1}, nullptr},
  };
  for (const auto& e : examples) {
    INFO(e.value);
    const auto s = mp::normalise_identifier(e.kind, e.value, e.reference);
    mp::normal_form n;
    const bool ok = mp::normalise_identifier(e.kind, e.value, e.reference, n);
    if (e.normal == nullptr) {
      CHECK_FALSE(s);
      CHECK_FALSE(ok);
    } else {
      REQUIRE(s);
      REQUIRE(ok);
      CHECK(*s == e.normal);
      CHECK(n.view() == e.normal);
    }
  }
}
