// The reskontra engine: what each scheduled action does, and the parties and
// ids every event names (model in reskontra_engine.h).
#include "bench/gen/reskontra_engine.h"

namespace muninn::gen::reskontra_model {

namespace {

// ---- texts ------------------------------------------------------------------

constexpr std::string_view fornamn[] = {
    "Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Elin", "Anders", "Sara", "Per", "Emma",
    "Mikael", "Linnea", "Oskar", "Ingrid", "Björn", "Åsa", "Göran", "Fatima", "Ahmed", "Zeynep",
    "Jukka", "Noah", "Alice", "Olle", "Märta"};
constexpr std::string_view efternamn[] = {
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson",
    "Lindqvist", "Lindberg", "Åberg", "Öberg", "Holm", "Sandberg", "Hosseini", "Yilmaz",
    "Virtanen"};
constexpr std::string_view bolag[] = {" Fastigheter AB", " Bygg AB", " & Co HB", " Konsult AB",
                                      " Transport AB", " Städ AB", " El AB", " Handel AB"};

}  // namespace

bool reskontra_engine::handle(const action& a, std::string& out) {
  switch (a.kind) {
    case k_issue: {
      const bool supplier = rng_.below(3) == 0;
      schedule(k_issue, 0, next_arrival());
      if (supplier) {
        register_supplier_invoice(out);
      } else {
        issue(out);
      }
      return true;
    }
    case k_invoice: {
      const bool emitted = invoice_step(a.slot, static_cast<step>(a.arg & 0xff), a.arg >> 8, out);
      inv_.drop(a.slot);
      return emitted;
    }
    case k_payment: {
      const bool emitted = payment_step_(a.slot, static_cast<payment_step>(a.arg), out);
      drop_payment(a.slot);
      return emitted;
    }
    case k_settle: return settle(a.slot, out);
    case k_supplier: {
      const bool emitted = supplier_step_(a.slot, static_cast<supplier_step>(a.arg), out);
      sup_.drop(a.slot);
      return emitted;
    }
    case k_run: return payment_run(static_cast<currency>(a.arg), out);
    case k_order: {
      const bool emitted = reject_order(a.slot, out);
      drop_order(a.slot);
      return emitted;
    }
    default: return false;
  }
}

party reskontra_engine::customer(std::uint32_t c) {
  const std::uint64_t h = mix64(c ^ key_ ^ 0x637573746f6dull);
  party p;
  const unsigned k = static_cast<unsigned>(h % 100);
  if (k < 70) {
    p.type = "SE_PNR";
    const std::int64_t birth = -10957 + static_cast<std::int64_t>((h >> 8) % 23741);  // 1940-2004
    // The 10-digit form only for births before 2000: its century is then
    // unambiguous for any --start this side of 2040.
    const unsigned form = static_cast<unsigned>((h >> 44) % (birth < 10957 ? 3 : 2));
    p.value = se_pnr(birth, h >> 32, form, (h >> 48) % 33 == 0);
  } else if (k < 90) {
    p.type = "SE_ORGNR";
    p.value = se_orgnr(h >> 8);
    if ((h >> 50) % 12 == 0) p.cur = eur;
  } else if (k < 96) {
    p.type = "NO_FNR";
    p.value = no_fnr(-10957 + static_cast<std::int64_t>((h >> 8) % 23741), h >> 32);
    p.cur = nok;
  } else {
    p.type = "NO_ORGNR";
    p.value = no_orgnr(h >> 8);
    p.cur = (h >> 50) % 3 == 0 ? eur : nok;
  }
  p.name.append(fornamn[(h >> 20) % std::size(fornamn)]);
  p.name.push_back(' ');
  p.name.append(efternamn[(h >> 26) % std::size(efternamn)]);
  if (k >= 70 && (k < 90 || k >= 96)) {
    p.name = std::string(efternamn[(h >> 26) % std::size(efternamn)]);
    p.name.append(bolag[(h >> 32) % std::size(bolag)]);
  }
  return p;
}

party reskontra_engine::supplier(std::uint32_t s) {
  const std::uint64_t h = mix64(s ^ key_ ^ 0x737570706c6965ull);
  party p;
  const unsigned k = static_cast<unsigned>(h % 100);
  if (k < 85) {
    p.type = "SE_ORGNR";
    p.value = se_orgnr(h >> 8);
    if ((h >> 50) % 10 == 0) p.cur = eur;
  } else if (k < 93) {
    p.type = "NO_ORGNR";
    p.value = no_orgnr(h >> 8);
    p.cur = nok;
  } else {
    p.type = "SE_PNR";  // enskild firma
    p.value = se_pnr(-10957 + static_cast<std::int64_t>((h >> 8) % 23741), h >> 32, 0, false);
  }
  return p;
}

void reskontra_engine::put_party(std::string& out, const party& p) {
  out.append(R"({"type":")");
  out.append(p.type);
  out.append(R"(","value":")");
  out.append(p.value);
  out.append("\"}");
}

const std::string& reskontra_engine::make_id(std::string_view prefix, std::uint64_t n) {
  id_.clear();
  id_.append(prefix);
  id_.append(tag_);
  id_.push_back('-');
  put_padded(id_, n, 6);
  return id_;
}

void reskontra_engine::put_id(std::string& out, std::string_view key, std::string_view prefix, std::uint64_t n) {
  out.append(key);
  out.push_back('"');
  out.append(prefix);
  out.append(tag_);
  out.push_back('-');
  put_padded(out, n, 6);
  out.push_back('"');
}

void reskontra_engine::refund(std::string& out, const party& p, std::int64_t amount) {
  const std::uint64_t n = refund_n_++;
  begin_event(out, "refund-", make_id("RF-", n), "RefundIssued", -1, now_);
  put_id(out, R"({"refundId":)", "RF-", n);
  out.append(R"(,"party":)");
  put_party(out, p);
  out.append(R"(,"currency":")");
  out.append(currency_code[p.cur]);
  out.append(R"(","amountMinor":)");
  put_int(out, amount);
  out.append("}");
  end_event(out);
}

}  // namespace muninn::gen::reskontra_model

namespace muninn::gen {

std::unique_ptr<scenario::engine> make_reskontra_engine(const options& o) {
  return std::make_unique<reskontra_model::reskontra_engine>(o);
}

}  // namespace muninn::gen
