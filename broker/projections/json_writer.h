// A small JSON writer for projection query answers: compact output, keys in
// the order written, integers as integers, strings escaped (invalid UTF-8
// becomes U+FFFD), so the same state always gives the same bytes.
// Not thread-safe (one writer per answer); no allocation beyond its string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace muninn::projections {

class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  // The next value is this member of the enclosing object.
  json_writer& key(std::string_view k);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(const std::string& s) { return value(std::string_view(s)); }
  json_writer& value(std::int64_t v);
  json_writer& value(std::uint64_t v);
  json_writer& value(std::int32_t v) { return value(static_cast<std::int64_t>(v)); }
  json_writer& value(std::uint32_t v) { return value(static_cast<std::uint64_t>(v)); }
  json_writer& value(bool v);
  json_writer& null();
  // Already-encoded JSON (the caller vouches for it).
  json_writer& raw(std::string_view json);

  // Shorthands for `key(k).value(v)`.
  template <class T>
  json_writer& member(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& str() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();

  std::string out_;
  // One entry per open container: true until its first element is written.
  std::vector<bool> first_;
  bool after_key_ = false;
};

// Appends `s` as a JSON string literal (quotes included) to `out`.
void append_json_string(std::string& out, std::string_view s);

}  // namespace muninn::projections
