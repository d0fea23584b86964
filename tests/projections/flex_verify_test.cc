#include <catch2/catch.hpp>

#include <flatbuffers/flexbuffers.h>

#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "broker/projections/flex_verify.h"
#include "tests/projections/flex_reference.h"

namespace mp = muninn::projections;
using mp::testing::read_everything;
using mp::testing::reference_flex_verify;

namespace {

// Random FlexBuffers of every kind the builder makes, nested.
class random_flex {
 public:
  explicit random_flex(std::uint64_t seed) : rng_(seed) {}

  std::vector<std::uint8_t> make() {
    static constexpr flexbuffers::BuilderFlag flags[] = {
        flexbuffers::BUILDER_FLAG_NONE,          flexbuffers::BUILDER_FLAG_SHARE_KEYS,
        flexbuffers::BUILDER_FLAG_SHARE_STRINGS, flexbuffers::BUILDER_FLAG_SHARE_KEYS_AND_STRINGS,
        flexbuffers::BUILDER_FLAG_SHARE_KEY_VECTORS, flexbuffers::BUILDER_FLAG_SHARE_ALL};
    flexbuffers::Builder b(256, flags[pick(std::size(flags))]);
    if (pick(4) != 0) {
      map(b, 0);
    } else {
      value(b, 0);
    }
    b.Finish();
    return b.GetBuffer();
  }

  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::int64_t some_int() {
    switch (pick(4)) {
      case 0: return static_cast<std::int64_t>(pick(200)) - 100;
      case 1: return static_cast<std::int16_t>(rng_());
      case 2: return static_cast<std::int32_t>(rng_());
      default: return static_cast<std::int64_t>(rng_());
    }
  }

  std::string some_string() {
    static const char* pool[] = {"", "a", "status", "AKSEPTERT", "amountMinor", "forsendelse-1"};
    if (pick(3) == 0) return pool[pick(std::size(pool))];
    // Now and then long enough for a 16-bit size field.
    std::string s(pick(8) == 0 ? 200 + pick(200) : pick(24), 'x');
    for (auto& c : s) c = static_cast<char>('a' + pick(26));
    return s;
  }

  void map(flexbuffers::Builder& b, int depth) {
    std::set<std::string> keys;
    const std::size_t n = pick(8);
    for (std::size_t i = 0; i < n; ++i) keys.insert(some_string());
    b.Map([&] {
      for (const auto& k : keys) {
        b.Key(k.c_str());
        value(b, depth + 1);
      }
    });
  }

  void value(flexbuffers::Builder& b, int depth) {
    switch (pick(depth > 4 ? 9 : 15)) {
      case 0: b.Int(some_int()); break;
      case 1: b.UInt(static_cast<std::uint64_t>(some_int())); break;
      case 2: b.Float(static_cast<float>(some_int()) / 3.0f); break;
      case 3: b.Double(static_cast<double>(some_int()) / 7.0); break;
      case 4: b.Bool(pick(2) == 0); break;
      case 5: b.Null(); break;
      case 6: b.String(some_string()); break;
      case 7: {
        const auto s = some_string();
        b.Blob(s.data(), s.size());
        break;
      }
      case 8:
        if (pick(2) == 0) {
          b.IndirectInt(some_int());
        } else {
          b.IndirectDouble(static_cast<double>(some_int()) / 5.0);
        }
        break;
      case 9:
      case 10: map(b, depth); break;
      case 11:
        b.Vector([&] {
          for (std::size_t i = pick(6); i > 0; --i) value(b, depth + 1);
        });
        break;
      case 12: typed_vector(b); break;
      case 13: {
        const std::int64_t ints[4] = {some_int(), some_int(), some_int(), some_int()};
        const double doubles[4] = {1.5, -2.25, 3.0, 4.5};
        if (pick(2) == 0) {
          b.FixedTypedVector(ints, 2 + pick(3));
        } else {
          b.FixedTypedVector(doubles, 2 + pick(3));
        }
        break;
      }
      default:  // maps of the same keys: shared keys and key vectors
        b.Vector([&] {
          for (std::size_t i = pick(5); i > 0; --i) {
            b.Map([&] {
              b.String("kind", some_string());
              b.Int("n", some_int());
            });
          }
        });
        break;
    }
  }

  void typed_vector(flexbuffers::Builder& b) {
    const std::size_t n = pick(6);
    switch (pick(5)) {
      case 0:
        b.TypedVector([&] {
          for (std::size_t i = 0; i < n; ++i) b.Int(some_int());
        });
        break;
      case 1:
        b.TypedVector([&] {
          for (std::size_t i = 0; i < n; ++i) b.UInt(static_cast<std::uint64_t>(some_int()));
        });
        break;
      case 2:
        b.TypedVector([&] {
          for (std::size_t i = 0; i < n; ++i) b.Double(static_cast<double>(some_int()));
        });
        break;
      case 3:
        b.TypedVector([&] {
          for (std::size_t i = 0; i < n; ++i) b.Bool(pick(2) == 0);
        });
        break;
      default:
        b.TypedVector([&] {
          for (std::size_t i = 0; i < n; ++i) b.Key(some_string());
        });
        break;
    }
  }

  std::mt19937_64 rng_;
};

// A copy in an allocation of exactly its size (new[] is 16-aligned), so a
// sanitizer catches the first byte read past it.
struct exact_copy {
  std::unique_ptr<std::uint8_t[]> bytes;
  std::size_t size;
  explicit exact_copy(const std::vector<std::uint8_t>& v) : bytes(new std::uint8_t[v.empty() ? 1 : v.size()]), size(v.size()) {
    if (!v.empty()) std::memcpy(bytes.get(), v.data(), v.size());
  }
};

struct tally {
  std::size_t both = 0, neither = 0, only_reference = 0;
};

// The one property: whatever flex_verifier accepts, the old two-pass check
// accepted, and every accessor reads it within bounds.
void check(mp::flex_verifier& v, const std::vector<std::uint8_t>& buf, tally& t) {
  const exact_copy c(buf);
  const bool ours = v.verify(c.bytes.get(), c.size);
  const bool reference = reference_flex_verify(c.bytes.get(), c.size);
  if (ours) {
    REQUIRE(reference);
    read_everything(flexbuffers::GetRoot(c.bytes.get(), c.size));
    ++t.both;
  } else if (reference) {
    ++t.only_reference;
  } else {
    ++t.neither;
  }
}

std::vector<std::uint8_t> mutate(random_flex& g, std::vector<std::uint8_t> buf) {
  if (buf.empty()) return buf;
  static constexpr std::uint8_t notable[] = {0, 1, 2, 3, 4, 8, 0x7f, 0x80, 0xff, 36, 40, 100};
  switch (g.pick(6)) {
    case 0:  // a few random bytes
      for (std::size_t i = 1 + g.pick(3); i > 0; --i) buf[g.pick(buf.size())] = static_cast<std::uint8_t>(g.rng()());
      break;
    case 1:  // one bit
      buf[g.pick(buf.size())] ^= static_cast<std::uint8_t>(1u << g.pick(8));
      break;
    case 2:  // a byte that means something: widths, types, limits
      buf[g.pick(buf.size())] = notable[g.pick(std::size(notable))];
      break;
    case 3:  // cut at the end (the root moves)
      buf.resize(g.pick(buf.size()));
      break;
    case 4:  // cut at the start (every offset shifts)
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(1 + g.pick(buf.size())));
      break;
    default: {  // a byte copied from elsewhere (offsets and types that exist)
      buf[g.pick(buf.size())] = buf[g.pick(buf.size())];
      break;
    }
  }
  return buf;
}

}  // namespace

TEST_CASE("flex_verifier: builder output is accepted exactly when the old check accepts it",
          "[projections][flex]") {
  random_flex g(20261124);
  mp::flex_verifier v;
  std::size_t accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    const auto buf = g.make();
    const exact_copy c(buf);
    const bool ours = v.verify(c.bytes.get(), c.size);
    REQUIRE(ours == reference_flex_verify(c.bytes.get(), c.size));
    if (ours) {
      ++accepted;
      read_everything(flexbuffers::GetRoot(c.bytes.get(), c.size));
    }
  }
  // Only the reference's depth accounting of shared strings refuses any.
  CHECK(accepted > 4900);
}

TEST_CASE("flex_verifier: never accepts a mutated buffer the old check refuses", "[projections][flex]") {
  random_flex g(7);
  mp::flex_verifier v;
  tally t;
  for (int i = 0; i < 3000; ++i) {
    auto buf = g.make();
    check(v, buf, t);
    for (int m = 0; m < 40; ++m) {
      buf = m % 8 == 0 ? g.make() : buf;
      auto bad = mutate(g, buf);
      if (g.pick(3) == 0) bad = mutate(g, bad);
      check(v, bad, t);
    }
  }
  INFO("both " << t.both << ", neither " << t.neither << ", only the old check " << t.only_reference);
  // Both sides refuse plenty, and the stricter side is rare.
  CHECK(t.neither > 10000);
  CHECK(t.only_reference * 100 < t.both + t.neither);
}

TEST_CASE("flex_verifier: a key without its NUL inside the buffer is refused", "[projections][flex]") {
  // A root key whose bytes run to the end of the buffer: VerifyBuffer's own
  // key check passes it (it stops at the first non-NUL byte).
  const std::vector<std::uint8_t> buf = {'a', 'b', 'c', 3, flexbuffers::FBT_KEY << 2, 1};
  const exact_copy c(buf);
  CHECK(flexbuffers::VerifyBuffer(c.bytes.get(), c.size));
  mp::flex_verifier v;
  CHECK_FALSE(v.verify(c.bytes.get(), c.size));
  CHECK_FALSE(reference_flex_verify(c.bytes.get(), c.size));
}

TEST_CASE("flex_verifier: a shared sub-vector is walked once per use, within the size budget",
          "[projections][flex]") {
  // outer: n untyped elements, all pointing at one inner vector of m ints.
  auto make = [](std::size_t n, std::size_t m) {
    std::vector<std::uint8_t> b;
    b.push_back(static_cast<std::uint8_t>(m));
    const std::size_t inner = b.size();
    for (std::size_t i = 0; i < m; ++i) b.push_back(static_cast<std::uint8_t>(i));
    for (std::size_t i = 0; i < m; ++i) b.push_back(flexbuffers::FBT_INT << 2);
    b.push_back(static_cast<std::uint8_t>(n));
    const std::size_t outer = b.size();
    for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(b.size() - inner));
    for (std::size_t i = 0; i < n; ++i) b.push_back(flexbuffers::FBT_VECTOR << 2);
    b.push_back(static_cast<std::uint8_t>(b.size() - outer));
    b.push_back(flexbuffers::FBT_VECTOR << 2);
    b.push_back(1);
    return b;
  };
  mp::flex_verifier v;
  const auto small = make(2, 10);
  const exact_copy s(small);
  CHECK(reference_flex_verify(s.bytes.get(), s.size));
  CHECK(v.verify(s.bytes.get(), s.size));
  const auto blown = make(60, 40);  // 2,461 values from 203 bytes
  const exact_copy l(blown);
  CHECK(flexbuffers::VerifyBuffer(l.bytes.get(), l.size));
  CHECK_FALSE(reference_flex_verify(l.bytes.get(), l.size));
  CHECK_FALSE(v.verify(l.bytes.get(), l.size));
}
