#include "broker/validation/reader.h"

#include <algorithm>
#include <cstring>

#include "broker/projections/identifiers.h"
#include "codec/batch.h"

namespace muninn::validation::detail {
namespace {

bool is_int(flexbuffers::Reference r) noexcept {
  if (r.IsInt()) return true;
  // Only a hand-built FlexBuffer has unsigned integers; those within int64
  // are as good as signed ones.
  return r.IsUInt() && r.AsUInt64() <= static_cast<std::uint64_t>(INT64_MAX);
}

std::string range_rule(const text_rule& rule) {
  if (rule.max == unbounded) return "must not be empty";
  if (rule.min == 0) return "must be at most " + std::to_string(rule.max) + " characters";
  return "must be " + std::to_string(rule.min) + "-" + std::to_string(rule.max) + " characters";
}

std::string min_rule(std::int64_t min) {
  return min == 1 ? std::string("must be > 0") : "must be >= " + std::to_string(min);
}

}  // namespace

std::string path_node::render() const {
  std::vector<const path_node*> chain;
  for (const path_node* n = this; n; n = n->parent) chain.push_back(n);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const path_node& n = **it;
    if (n.is_element) {
      out += "[" + std::to_string(n.index) + "]";
    } else {
      if (!out.empty()) out.push_back('.');
      out.append(n.key);
    }
  }
  return out;
}

// ---- checker ----------------------------------------------------------------

checker::checker(const std::uint8_t* buf, std::size_t size, projections::civil_date reference)
    : buf_(buf), size_(size), budget_(size + 4096), reference_(reference) {}

void checker::fail(const path_node& at, std::string rule) {
  if (!fault_) fault_ = field_fault{at.render(), std::move(rule)};
}

void checker::fail(std::string field, std::string rule) {
  if (!fault_) fault_ = field_fault{std::move(field), std::move(rule)};
}

bool checker::spend(std::size_t units) {
  if (units <= budget_) {
    budget_ -= units;
    return true;
  }
  budget_ = 0;
  fail("data", "is too large or too deeply shared to validate");
  return false;
}

std::optional<std::string_view> checker::key(flexbuffers::Reference r) const noexcept {
  if (!r.IsKey()) return std::nullopt;
  const auto* k = reinterpret_cast<const std::uint8_t*>(r.AsKey());
  if (k < buf_ || k >= buf_ + size_) return std::nullopt;
  const void* nul = std::memchr(k, 0, static_cast<std::size_t>(buf_ + size_ - k));
  if (!nul) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(k),
                          static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - k));
}

// ---- free readers -----------------------------------------------------------

std::optional<std::size_t> utf8_length(std::string_view s) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++count) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) { n = 2; cp = b0 & 0x1Fu; }
    else if (b0 >= 0xE0 && b0 <= 0xEF) { n = 3; cp = b0 & 0x0Fu; }
    else if (b0 >= 0xF0 && b0 <= 0xF4) { n = 4; cp = b0 & 0x07u; }
    else return std::nullopt;
    if (s.size() - i < n) return std::nullopt;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0u) != 0x80u) return std::nullopt;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    // Overlong forms, surrogates and code points above U+10FFFF.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return std::nullopt;
    if (cp >= 0xD800 && cp <= 0xDFFF) return std::nullopt;
    i += n;
  }
  return count;
}

bool is_stream_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '@' || c == '-';
}

bool is_entity_id(std::string_view s) noexcept {
  return !s.empty() && s.size() <= 100 && std::all_of(s.begin(), s.end(), is_stream_char);
}

std::optional<std::string_view> read_text(checker& c, flexbuffers::Reference r,
                                          const path_node& at, text_rule rule) {
  if (r.IsNull()) {
    if (rule.presence == need::required) c.fail(at, "is required");
    return std::nullopt;
  }
  if (!r.IsString()) {
    c.fail(at, "must be a string");
    return std::nullopt;
  }
  const auto s = r.AsString();
  const std::string_view text(s.c_str(), s.length());
  const auto chars = utf8_length(text);
  if (!chars) {
    c.fail(at, "must be valid UTF-8");
    return std::nullopt;
  }
  const std::size_t min = rule.presence == need::required ? std::max<std::size_t>(rule.min, 1) : rule.min;
  if (*chars < min || *chars > rule.max) {
    c.fail(at, range_rule({rule.presence, min, rule.max}));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string_view> read_entity_id(checker& c, flexbuffers::Reference r,
                                               const path_node& at) {
  const auto s = read_text(c, r, at, {need::required, 1, unbounded});
  if (!s) return std::nullopt;
  if (!is_entity_id(*s)) {
    c.fail(at, "must be an id of 1-100 characters of A-Z a-z 0-9 . _ : @ -");
    return std::nullopt;
  }
  return s;
}

// ---- object -----------------------------------------------------------------

std::optional<object> object::open(checker& c, flexbuffers::Reference r, path_node at) {
  if (r.GetType() != flexbuffers::FBT_MAP) {
    c.fail(at, "must be an object");
    return std::nullopt;
  }
  object o(c, r.AsMap(), at);
  const auto keys = o.map_.Keys();
  if (!c.spend(keys.size() + 1)) return std::nullopt;
  o.keys_.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto k = c.key(keys[i]);
    // Lookups are binary searches, so keys must be strictly ascending: a
    // duplicate key would make a member's value depend on the reader.
    if (!k || (!o.keys_.empty() && !(o.keys_.back() < *k))) {
      c.fail(at, "must be a map with unique, sorted, well-formed keys");
      return std::nullopt;
    }
    o.keys_.push_back(*k);
  }
  return o;
}

flexbuffers::Reference object::get(std::string_view key) const {
  const auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
  if (it == keys_.end() || *it != key) return flexbuffers::Reference();
  // Values() returns a null reference past its end, should a hostile map
  // have fewer values than keys.
  return map_.Values()[static_cast<std::size_t>(it - keys_.begin())];
}

bool object::missing(std::string_view key, flexbuffers::Reference r, need presence) const {
  if (!r.IsNull()) return false;
  if (presence == need::required) c_->fail(member(key), "is required");
  return true;
}

std::optional<std::string_view> object::text(std::string_view key, text_rule rule) const {
  return read_text(*c_, get(key), member(key), rule);
}

std::optional<std::string_view> object::uuid(std::string_view key, need presence) const {
  const auto s = text(key, {presence, 0, unbounded});
  if (!s) return std::nullopt;
  if (!codec::event_id::parse(*s)) {
    c_->fail(member(key), "must be a UUID");
    return std::nullopt;
  }
  // One spelling per id: the stream, and so the partition, is named after
  // it, and a second spelling would put one entity's events in two
  // partitions whose interleaving the projection must not depend on.
  if (std::any_of(s->begin(), s->end(), [](char c) { return c >= 'A' && c <= 'F'; })) {
    c_->fail(member(key), "must be a UUID in lowercase");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string_view> object::entity_id(std::string_view key) const {
  return read_entity_id(*c_, get(key), member(key));
}

std::optional<std::int64_t> object::checked_integer(std::string_view key, std::int64_t min, need presence,
                                                    std::string_view type_rule) const {
  const auto r = get(key);
  if (missing(key, r, presence)) return std::nullopt;
  if (!is_int(r)) {
    c_->fail(member(key), std::string(type_rule));
    return std::nullopt;
  }
  const std::int64_t v = r.AsInt64();
  if (v < min) {
    c_->fail(member(key), min_rule(min));
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> object::integer(std::string_view key, std::int64_t min,
                                            need presence) const {
  return checked_integer(key, min, presence, "must be an integer");
}

std::optional<std::int64_t> object::money(std::string_view key, std::int64_t min,
                                          need presence) const {
  return checked_integer(key, min, presence, "money must be an integer of minor units");
}

std::optional<bool> object::boolean(std::string_view key, need presence) const {
  const auto r = get(key);
  if (missing(key, r, presence)) return std::nullopt;
  if (!r.IsBool()) {
    c_->fail(member(key), "must be a boolean");
    return std::nullopt;
  }
  return r.AsBool();
}

std::optional<projections::civil_date> object::date(std::string_view key, need presence) const {
  const auto r = get(key);
  if (missing(key, r, presence)) return std::nullopt;
  if (!r.IsString()) {
    c_->fail(member(key), "must be a date YYYY-MM-DD");
    return std::nullopt;
  }
  const auto s = text(key, {presence, 0, unbounded});
  if (!s) return std::nullopt;
  if (const auto d = projections::parse_iso_date(*s)) return d;
  const bool shaped = s->size() == 10 && (*s)[4] == '-' && (*s)[7] == '-' &&
                      std::all_of(s->begin(), s->end(), [](char ch) {
                        return ch == '-' || (ch >= '0' && ch <= '9');
                      });
  c_->fail(member(key), shaped ? "must be a real date" : "must be a date YYYY-MM-DD");
  return std::nullopt;
}

std::optional<std::string_view> object::currency(std::string_view key) const {
  const auto s = text(key, {need::required, 1, unbounded});
  if (!s) return std::nullopt;
  if (s->size() != 3 || !std::all_of(s->begin(), s->end(), [](char ch) {
        return ch >= 'A' && ch <= 'Z';
      })) {
    c_->fail(member(key), "must be an ISO 4217 currency code (3 uppercase letters)");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string_view> object::one_of(std::string_view key,
                                               std::span<const std::string_view> allowed,
                                               need presence) const {
  const auto s = text(key, {presence, 0, unbounded});
  if (!s) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *s) != allowed.end()) return s;
  std::string rule = "must be one of ";
  for (const auto& a : allowed) {
    if (&a != &allowed.front()) rule += ", ";
    rule.append(a);
  }
  c_->fail(member(key), std::move(rule));
  return std::nullopt;
}

std::optional<object> object::child(std::string_view key, need presence) const {
  const auto r = get(key);
  if (missing(key, r, presence)) return std::nullopt;
  return object::open(*c_, r, member(key));
}

std::optional<array> object::list(std::string_view key, std::size_t min_items,
                                  need presence) const {
  const auto r = get(key);
  if (missing(key, r, presence)) return std::nullopt;
  auto a = array::open(*c_, r, member(key));
  if (!a) return std::nullopt;
  if (a->size() < min_items) {
    c_->fail(member(key), "must have at least " + std::to_string(min_items) +
                              (min_items == 1 ? " item" : " items"));
    return std::nullopt;
  }
  return a;
}

void object::party(std::string_view key, std::span<const std::string_view> kinds,
                   need presence) const {
  const auto p = child(key, presence);
  if (!p) return;
  const auto type = p->one_of("type", kinds, need::required);
  const auto value = p->text("value", {need::required, 1, unbounded});
  if (!type || !value) return;
  const auto kind = projections::parse_id_kind(*type);
  if (!kind) {  // a catalog listing a kind the identifier rules do not know
    c_->fail(p->member("type"), "is not a known identifier kind");
    return;
  }
  const auto check = projections::check_identifier(*kind, *value, c_->reference());
  if (!check.ok()) c_->fail(p->member("value"), check.rule);
}

// ---- array ------------------------------------------------------------------

std::optional<array> array::open(checker& c, flexbuffers::Reference r, path_node at) {
  std::size_t n = 0;
  // Typed string vectors are deprecated: the verifier checks their elements
  // as keys, but reading one as a string takes its size from the byte
  // before it, which nothing verified. They are refused, not read.
  if (r.GetType() == flexbuffers::FBT_VECTOR_STRING_DEPRECATED) {
    c.fail(at, "must be an array");
    return std::nullopt;
  }
  if (r.GetType() == flexbuffers::FBT_VECTOR) {
    n = r.AsVector().size();
  } else if (r.IsTypedVector()) {
    n = r.AsTypedVector().size();
  } else if (r.IsFixedTypedVector()) {
    n = r.AsFixedTypedVector().size();
  } else {
    c.fail(at, "must be an array");
    return std::nullopt;
  }
  return array(c, r, n, at);
}

std::optional<flexbuffers::Reference> array::get(std::size_t i) const {
  if (!c_->spend(1)) return std::nullopt;
  if (ref_.GetType() == flexbuffers::FBT_VECTOR) return ref_.AsVector()[i];
  if (ref_.IsTypedVector()) return ref_.AsTypedVector()[i];
  return ref_.AsFixedTypedVector()[i];
}

std::optional<object> array::child(std::size_t i) const {
  const auto r = get(i);
  if (!r) return std::nullopt;
  return object::open(*c_, *r, element(i));
}

}  // namespace muninn::validation::detail
