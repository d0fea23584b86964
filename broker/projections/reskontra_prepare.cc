// The reskontra projection's event reading that needs no state
// (reskontra_prepare.h): fault texts, parties, lists of lines.
#include "broker/projections/reskontra_prepare.h"

#include "broker/projections/reskontra_apply.h"

namespace muninn::projections::reskontra_detail {

std::string describe(const fault& f) {
  std::string out = "field '";
  if (f.list != nullptr) {
    out += f.list;
    out += '[';
    out += std::to_string(f.index);
    out += "].";
  }
  out += f.key;
  out += "': ";
  switch (f.kind) {
    case fault_kind::rule: out += f.rule; break;
    case fault_kind::at_least: out += "must be >= " + std::to_string(f.number); break;
    case fault_kind::not_valid: out += "is not a valid "; out += f.text; break;
    case fault_kind::element_object: out += "element " + std::to_string(f.number) + " must be an object"; break;
    case fault_kind::element_string: out += "element " + std::to_string(f.number) + " must be a string"; break;
    case fault_kind::element_id: out += "element " + std::to_string(f.number) + " must be an id"; break;
  }
  return out;
}

party_ref field_reader::party(field_name key, const civil_date& reference) {
  if (failed()) return {};
  const auto pr = get(key);
  if (!pr.IsMap()) {
    fail(key.s, pr.IsNull() ? "is required" : "must be an object {type, value}");
    return {};
  }
  const field_reader p(pr.AsMap());
  const auto type = as_string(p.get("type"));
  const auto value = as_string(p.get("value"));
  const auto kind = type ? parse_id_kind(*type) : std::nullopt;
  if (!kind || !value) {
    fail(key.s, "must be {type: SE_PNR|SE_ORGNR|NO_FNR|NO_ORGNR, value}");
    return {};
  }
  normal_form norm;
  // A normal form is 9-12 digits and the type at most 8 letters: the key
  // always fits; the length check only keeps a bug from writing past it.
  if (!normalise_identifier(*kind, *value, reference, norm) ||
      type->size() + 1 + norm.len > party_ref::capacity) {
    fail(key.s, nullptr, fault_kind::not_valid, 0, *type);
    return {};
  }
  party_ref out;
  out.len = static_cast<std::uint8_t>(type->size() + 1 + norm.len);
  std::memcpy(out.key, type->data(), type->size());
  out.key[type->size()] = ':';
  std::memcpy(out.key + type->size() + 1, norm.text, norm.len);
  out.h = hash_id(out.view());
  return out;
}

std::uint64_t hash_prefixed(std::string_view prefix, std::string_view id) noexcept {
  char key[128];
  if (prefix.size() + id.size() > sizeof key) return 0;  // not an id: never looked up
  std::memcpy(key, prefix.data(), prefix.size());
  std::memcpy(key + prefix.size(), id.data(), id.size());
  return hash_id(std::string_view(key, prefix.size() + id.size()));
}

std::optional<field_reader> element_reader(const flexbuffers::Vector& v, std::size_t i, const char* list, fault& f) {
  const auto r = v[i];
  if (!r.IsMap()) {
    f = fault{list, nullptr, 0, fault_kind::element_object, nullptr, static_cast<std::int64_t>(i), {}};
    return std::nullopt;
  }
  return field_reader(r.AsMap(), list, i);
}

bool read_line(const flexbuffers::Vector& v, std::size_t i, const char* list, line_fields& out, fault& f) {
  auto lf = element_reader(v, i, list, f);
  if (!lf) return false;
  out.invoice = lf->id("invoiceId");
  out.amount = lf->integer("amountMinor", 1);
  if (lf->failed()) f = lf->first_fault();
  return !lf->failed();
}

void prepare_lines(flexbuffers::Reference ref, const char* list, line_list& out, prepared& p) {
  const auto v = ref.AsVector();
  out.ref = ref;
  out.size = static_cast<std::uint32_t>(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    line_fields l;
    fault f;
    if (!read_line(v, i, list, l, f)) {
      record_fault(p, f, static_cast<std::uint32_t>(i));
      return;
    }
    if (i < inline_lines) out.first[i] = l;
  }
}

line_fields line_at(const line_list& l, std::size_t i, const char* list) {
  if (i < inline_lines) return l.first[i];
  line_fields out;
  fault ignored;
  read_line(l.ref.AsVector(), i, list, out, ignored);  // read once before: it reads
  return out;
}

}  // namespace muninn::projections::reskontra_detail
