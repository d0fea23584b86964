// Internal to broker/validation: bounded, typed reads of a verified
// FlexBuffer for the catalog checks, recording the first rule broken with
// its field path. One checker per event; not thread-safe (no shared state).
#pragma once

#include <flatbuffers/flexbuffers.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/projections/calendar.h"

namespace muninn::validation::detail {

// A field's place in the data, rendered only when a violation names it, so
// honest data costs no string building. Nodes live on the stack of the walk.
struct path_node {
  const path_node* parent = nullptr;
  std::string_view key;  // a member's name (a literal of the catalog code)
  std::size_t index = 0;
  bool is_element = false;

  std::string render() const;  // "data.dokumenter[2].filnavn"
};

struct field_fault {
  std::string field;
  std::string rule;
};

enum class need : std::uint8_t { optional, required };

inline constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

// Lengths count Unicode characters (code points), as the catalog's "1–1000"
// means characters to the people writing titles in Norwegian.
struct text_rule {
  need presence = need::optional;
  std::size_t min = 0;
  std::size_t max = unbounded;
};

class checker {
 public:
  // `buf`/`size`: the verified FlexBuffer (keys are bounded against it).
  checker(const std::uint8_t* buf, std::size_t size, projections::civil_date reference);

  bool failed() const noexcept { return fault_.has_value(); }
  // Keeps the first fault only: the walk goes on harmlessly after one.
  void fail(const path_node& at, std::string rule);
  void fail(std::string field, std::string rule);
  const std::optional<field_fault>& fault() const noexcept { return fault_; }

  // Charges `units` of work; false (and a fault) once the budget is spent.
  // The budget is the buffer's size plus a constant: an honest FlexBuffer
  // spends at most one unit per byte, a shared (DAG) one cannot multiply it.
  bool spend(std::size_t units);

  // The key at `r` if it is NUL-terminated inside the buffer (FlatBuffers
  // 2.0.8's verifier does not check that).
  std::optional<std::string_view> key(flexbuffers::Reference r) const noexcept;

  const projections::civil_date& reference() const noexcept { return reference_; }

 private:
  const std::uint8_t* buf_;
  std::size_t size_;
  std::size_t budget_;
  projections::civil_date reference_;
  std::optional<field_fault> fault_;
};

class array;

// A map of the data with sorted, unique, bounded keys.
class object {
 public:
  // nullopt (and a fault at `at`) unless `r` is such a map.
  static std::optional<object> open(checker& c, flexbuffers::Reference r, path_node at);

  checker& check() const noexcept { return *c_; }
  const path_node& at() const noexcept { return at_; }
  path_node member(std::string_view key) const noexcept { return {&at_, key, 0, false}; }

  // The member's value; a null reference when absent (JSON null reads the same).
  flexbuffers::Reference get(std::string_view key) const;
  bool has(std::string_view key) const { return !get(key).IsNull(); }

  // Typed members: each returns nullopt when the member is absent (a fault
  // if required) or breaks its rule (a fault).
  std::optional<std::string_view> text(std::string_view key, text_rule rule) const;
  std::optional<std::string_view> uuid(std::string_view key, need presence) const;
  std::optional<std::string_view> entity_id(std::string_view key) const;
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, need presence) const;
  std::optional<std::int64_t> money(std::string_view key, std::int64_t min, need presence) const;
  std::optional<bool> boolean(std::string_view key, need presence) const;
  std::optional<projections::civil_date> date(std::string_view key, need presence) const;
  std::optional<std::string_view> currency(std::string_view key) const;
  std::optional<std::string_view> one_of(std::string_view key,
                                         std::span<const std::string_view> allowed,
                                         need presence) const;
  std::optional<std::string_view> one_of(std::string_view key,
                                         std::initializer_list<std::string_view> allowed,
                                         need presence) const {
    return one_of(key, std::span<const std::string_view>(allowed.begin(), allowed.size()), presence);
  }
  std::optional<object> child(std::string_view key, need presence) const;
  std::optional<array> list(std::string_view key, std::size_t min_items, need presence) const;
  // `{type, value}` with type one of `kinds`, value valid for its kind.
  // `kinds` are spelled as in events ("NO_FNR", ...).
  void party(std::string_view key, std::span<const std::string_view> kinds,
             need presence) const;

 private:
  object(checker& c, flexbuffers::Map m, path_node at) : c_(&c), map_(m), at_(at) {}
  bool missing(std::string_view key, flexbuffers::Reference r, need presence) const;
  // integer() and money(): the same checks, with the rule named for the reader.
  std::optional<std::int64_t> checked_integer(std::string_view key, std::int64_t min, need presence,
                                              std::string_view type_rule) const;

  checker* c_;
  flexbuffers::Map map_;
  std::vector<std::string_view> keys_;
  path_node at_;
};

// An array of the data (untyped or typed FlexBuffer vector).
class array {
 public:
  static std::optional<array> open(checker& c, flexbuffers::Reference r, path_node at);

  std::size_t size() const noexcept { return size_; }
  path_node element(std::size_t i) const noexcept { return {&at_, {}, i, true}; }
  const path_node& at() const noexcept { return at_; }
  // Elements charge the budget; nullopt (and a fault) once it is spent.
  std::optional<flexbuffers::Reference> get(std::size_t i) const;
  std::optional<object> child(std::size_t i) const;

 private:
  array(checker& c, flexbuffers::Reference r, std::size_t n, path_node at)
      : c_(&c), ref_(r), size_(n), at_(at) {}

  checker* c_;
  flexbuffers::Reference ref_;
  std::size_t size_;
  path_node at_;
};

// Free-standing readers for a value at a path (array elements use these).
std::optional<std::string_view> read_text(checker& c, flexbuffers::Reference r,
                                          const path_node& at, text_rule rule);
std::optional<std::string_view> read_entity_id(checker& c, flexbuffers::Reference r,
                                               const path_node& at);

// Unicode characters in `s`, or nullopt when it is not valid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view s) noexcept;

// Entity ids of the reskontra catalog become stream names (`invoice-<id>`),
// so they are 1-100 characters of the stream alphabet.
bool is_entity_id(std::string_view s) noexcept;
bool is_stream_char(char c) noexcept;

}  // namespace muninn::validation::detail
