// A vector of T kept in fixed chunks of `Chunk` elements: growing never
// moves an element, so references and pointers into it stay valid and the
// state is never copied whole at a doubling (projection state reaches
// millions of entities). Elements are in creation order. Pure, not
// thread-safe, like the projections that use it.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace muninn::projections {

template <class T, std::size_t Chunk>
class chunked_vector {
 public:
  static constexpr std::size_t chunk = Chunk;
  T& operator[](std::size_t i) noexcept { return chunks_[i / chunk][i % chunk]; }
  const T& operator[](std::size_t i) const noexcept { return chunks_[i / chunk][i % chunk]; }
  std::size_t size() const noexcept { return size_; }
  T& emplace_back() {
    if (size_ == chunks_.size() * chunk) chunks_.push_back(std::make_unique<T[]>(chunk));
    return (*this)[size_++];
  }
  void push_back(T&& v) { emplace_back() = std::move(v); }
  // Resets the last element to T{}; its chunk stays for the next one.
  void pop_back() { (*this)[--size_] = T{}; }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace muninn::projections
