// labrpc/codec.h
//
// How RPC arguments and replies become bytes and back, so that peers share
// no memory and the network can count what it carries. A message declares
// its fields once, as for cereal:
//
//   struct RequestVoteArgs {
//     int64_t term = 0;
//     int candidate_id = 0;
//     template <class A> void serialize(A& a) { a(term, candidate_id); }
//   };
//
//   std::string bytes = labrpc::Encode(args);
//   RequestVoteArgs copy;
//   absl::Status s = labrpc::Decode(bytes, &copy);
//
// Fields may be numbers, bool, std::string, and std::vector, std::map,
// std::set, std::deque, std::array, std::pair, std::tuple, std::optional
// and std::variant of those (and of messages). Pointers, references and
// types without serialize() do not compile: the error names the type (see
// the static_assert below).

#ifndef LABRPC_CODEC_H_
#define LABRPC_CODEC_H_

#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cereal/archives/binary.hpp"
#include "cereal/types/array.hpp"
#include "cereal/types/deque.hpp"
#include "cereal/types/map.hpp"
#include "cereal/types/optional.hpp"
#include "cereal/types/set.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/tuple.hpp"
#include "cereal/types/unordered_map.hpp"
#include "cereal/types/utility.hpp"
#include "cereal/types/variant.hpp"
#include "cereal/types/vector.hpp"

namespace labrpc {

// True if T can cross the network.
template <class T>
inline constexpr bool kEncodable =
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
    cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value &&
    std::is_default_constructible_v<T>;

// The name of T, demangled, for messages.
std::string TypeName(std::type_index type);

template <class T>
std::string Encode(const T& value) {
  static_assert(kEncodable<T>,
                "labrpc: this type cannot be sent over labrpc (see the type in the "
                "'Encode<...>' line above). A message needs a default constructor and "
                "`template <class A> void serialize(A& a) { a(field1, field2, ...); }` "
                "naming every field, and every field must be encodable (numbers, bool, "
                "std::string, standard containers of those, or messages; no pointers).");
  std::ostringstream out;
  {
    cereal::BinaryOutputArchive archive(out);
    archive(value);
  }
  return std::move(out).str();
}

// Decodes `bytes` into `*out`, overwriting every field. Fails if the bytes
// are not a whole encoding of a T.
template <class T>
absl::Status Decode(std::string_view bytes, T* out) {
  static_assert(kEncodable<T>, "labrpc: this type cannot be received over labrpc");
  std::istringstream in{std::string(bytes)};
  try {
    cereal::BinaryInputArchive archive(in);
    archive(*out);
  } catch (const cereal::Exception& e) {
    return absl::DataLossError(absl::StrCat("cannot decode ", bytes.size(), " bytes as ",
                                            TypeName(typeid(T)), ": ", e.what()));
  }
  if (in.peek() != std::char_traits<char>::eof()) {
    return absl::DataLossError(absl::StrCat("decoding ", TypeName(typeid(T)), " left ",
                                            bytes.size() - static_cast<size_t>(in.tellg()),
                                            " of ", bytes.size(), " bytes unread"));
  }
  return absl::OkStatus();
}

}  // namespace labrpc

#endif  // LABRPC_CODEC_H_
