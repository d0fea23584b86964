// Internal to the client library: the retry policy of idempotent requests
// and the check-then-decode step every blocking call shares. Not installed
// for users; included by client.cc and the group code.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "clients/client.h"

namespace muninn::client::detail {

// Reads and offset commits are idempotent: a lost connection or a timeout
// is retried (a fresh connection each time) a few times before it is
// reported. Produces and topic creation are not retried here.
template <class MakeFrame>
result<response, client_error> retrying(client& c, MakeFrame make_frame, std::chrono::milliseconds extra = {}) {
  auto backoff = c.options().reconnect_backoff_min;
  for (int attempt = 1;; ++attempt) {
    const auto corr = c.next_correlation_id();
    auto r = c.request(corr, make_frame(corr), extra);
    if (r || attempt >= 4 || (r.error().kind != error_kind::connection && r.error().kind != error_kind::timeout)) return r;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 4, c.options().reconnect_backoff_max);
  }
}

template <class F>
auto checked(result<response, client_error> r, fb::ResponseBody body, F&& f)
    -> decltype(f(std::declval<const response&>())) {
  if (!r) return unexpected{r.error()};
  if (auto e = check_response(*r, body)) return unexpected{*e};
  return f(*r);
}

}  // namespace muninn::client::detail
