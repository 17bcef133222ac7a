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
// Fields may be numbers, bool, enums, std::string, and std::vector,
// std::map, std::unordered_map, std::set, std::deque, std::array, std::pair,
// std::tuple, std::optional and std::variant of those (and of messages).
// A field of any other type (a pointer, a type without serialize()) does not
// compile: Encode's static_assert says "labrpc: a message field cannot be
// encoded", and the compiler's "required from" lines name the field's type
// and the message it is in.
//
// The encoding is cereal's binary layout written straight into a string,
// and decoding checks every length against the bytes left, so bad input is
// an error (never a crash or a huge allocation).

#ifndef LABRPC_CODEC_H_
#define LABRPC_CODEC_H_

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cereal/cereal.hpp"
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
namespace internal {

// Appends the encoding to a string.
class OutArchive : public cereal::OutputArchive<OutArchive, cereal::AllowEmptyClassElision> {
 public:
  // Appends to *out; the string has its final size once the archive goes.
  explicit OutArchive(std::string* out) : OutputArchive(this), out_(out), len_(out->size()) {}
  ~OutArchive() { out_->resize(len_); }
  OutArchive(const OutArchive&) = delete;
  OutArchive& operator=(const OutArchive&) = delete;

  void saveBinary(const void* data, std::size_t size) {
    if (size == 0) return;
    std::memcpy(Reserve(size), data, size);
    len_ += size;
  }
  // The same for a size known at compile time (numbers): the copy inlines.
  template <std::size_t N>
  void saveFixed(const void* data) {
    std::memcpy(Reserve(N), data, N);
    len_ += N;
  }

 private:
  // Room for `size` more bytes at len_ (the string grows by doubling, and
  // is cut to len_ at the end): many small appends cost a copy each, not a
  // call into std::string each.
  char* Reserve(std::size_t size) {
    if (out_->size() - len_ < size) out_->resize(std::max(2 * out_->size(), len_ + size + 64));
    return out_->data() + len_;
  }

  std::string* out_;
  std::size_t len_;  // bytes written
};

// Reads an encoding, refusing to read past its end.
class InArchive : public cereal::InputArchive<InArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit InArchive(std::string_view in) : InputArchive(this), in_(in) {}
  void loadBinary(void* data, std::size_t size) {
    if (size > remaining()) {
      throw cereal::Exception(absl::StrCat("needs ", size, " more bytes at offset ", pos_,
                                           " but only ", remaining(), " are left"));
    }
    if (size == 0) return;  // data may be null then
    std::memcpy(data, in_.data() + pos_, size);
    pos_ += size;
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(OutArchive& ar, const T& t) {
  ar.saveFixed<sizeof(T)>(std::addressof(t));
}
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(InArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(OutArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(InArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(OutArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
}
// A length can never exceed the bytes left (an element takes at least one),
// so a corrupt length fails here instead of allocating gigabytes.
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(InArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  if (static_cast<unsigned long long>(t.size) > ar.remaining()) {
    throw cereal::Exception(absl::StrCat("a length of ", static_cast<unsigned long long>(t.size),
                                         " with only ", ar.remaining(), " bytes left"));
  }
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(OutArchive& ar, const cereal::BinaryData<T>& bd) {
  ar.saveBinary(bd.data, static_cast<std::size_t>(bd.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(InArchive& ar, cereal::BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

// Whether a field type can cross the network, looking through the standard
// containers (cereal alone accepts a container of anything, and raw
// pointers, and fails later, deep inside).
template <class T, class = void>
struct Encodable
    : std::bool_constant<!std::is_pointer_v<T> && !std::is_reference_v<T> &&
                         cereal::traits::is_output_serializable<T, OutArchive>::value &&
                         cereal::traits::is_input_serializable<T, InArchive>::value> {};
template <class T>
inline constexpr bool kEncodableField = Encodable<std::remove_cv_t<T>>::value;
template <class T, class A>
struct Encodable<std::vector<T, A>> : std::bool_constant<kEncodableField<T>> {};
template <class T, class A>
struct Encodable<std::deque<T, A>> : std::bool_constant<kEncodableField<T>> {};
template <class T, std::size_t N>
struct Encodable<std::array<T, N>> : std::bool_constant<kEncodableField<T>> {};
template <class T, class C, class A>
struct Encodable<std::set<T, C, A>> : std::bool_constant<kEncodableField<T>> {};
template <class K, class V, class C, class A>
struct Encodable<std::map<K, V, C, A>>
    : std::bool_constant<kEncodableField<K> && kEncodableField<V>> {};
template <class K, class V, class H, class E, class A>
struct Encodable<std::unordered_map<K, V, H, E, A>>
    : std::bool_constant<kEncodableField<K> && kEncodableField<V>> {};
template <class T>
struct Encodable<std::optional<T>> : std::bool_constant<kEncodableField<T>> {};
template <class A, class B>
struct Encodable<std::pair<A, B>> : std::bool_constant<kEncodableField<A> && kEncodableField<B>> {
};
template <class... Ts>
struct Encodable<std::tuple<Ts...>> : std::bool_constant<(kEncodableField<Ts> && ...)> {};
template <class... Ts>
struct Encodable<std::variant<Ts...>> : std::bool_constant<(kEncodableField<Ts> && ...)> {};

// Walks a message's fields at compile time: Encode takes the address of
// CheckMessage<T>, which instantiates T::serialize with this archive, whose
// static_assert stops the build at the first field that cannot be encoded.
struct FieldChecker {
  template <class... Fields>
  void operator()(Fields&&... fields);
};

template <class T>
void CheckField() {
  using F = std::remove_cv_t<std::remove_reference_t<T>>;
  static_assert(!std::is_pointer_v<F>,
                "labrpc: a message field cannot be encoded: it is a pointer. Send the value "
                "itself (or a container of values); peers share no memory.");
  static_assert(kEncodableField<F>,
                "labrpc: a message field cannot be encoded. The \"required from\" lines name "
                "its type: give that type `template <class A> void serialize(A& a) { a(...); }`, "
                "or use numbers, bool, std::string and standard containers.");
}

template <class T>
constexpr bool kHasMemberSerialize = requires(T& t, FieldChecker& c) { t.serialize(c); };

// Never run: only instantiated, for the static_asserts.
template <class T>
void CheckMessage() {
  if constexpr (kHasMemberSerialize<T>) {
    FieldChecker checker;
    T* never = nullptr;
    if (never != nullptr) never->serialize(checker);
  }
}

template <class... Fields>
void FieldChecker::operator()(Fields&&...) {
  (CheckField<Fields>(), ...);
  // Messages inside messages are checked the same way.
  ([] {
    using F = std::remove_cv_t<std::remove_reference_t<Fields>>;
    if constexpr (kHasMemberSerialize<F>) {
      [[maybe_unused]] constexpr auto* check_nested = &CheckMessage<F>;
    }
  }(), ...);
}

}  // namespace internal

// True if T can cross the network: it has serialize() (or is a number,
// string or standard container of encodable types), no pointers, and a
// default constructor. (The fields inside a message's serialize() are
// checked when Encode is instantiated; see above.)
template <class T>
inline constexpr bool kEncodable =
    internal::kEncodableField<T> && std::is_default_constructible_v<T>;

// The name of a type, demangled, for messages.
std::string TypeName(std::type_index type);

// size_hint: the bytes to reserve up front (say, the size of the last
// encoding of a large message that is re-encoded often).
template <class T>
std::string Encode(const T& value, std::size_t size_hint = 0) {
  static_assert(kEncodable<T>,
                "labrpc: this type cannot be sent over labrpc (the \"required from\" lines name "
                "it). A message needs a default constructor and "
                "`template <class A> void serialize(A& a) { a(field1, field2, ...); }` naming "
                "every field; fields are numbers, bool, std::string, standard containers of "
                "those, or messages; no pointers.");
  [[maybe_unused]] constexpr auto* check_fields = &internal::CheckMessage<T>;
  std::string out;
  out.reserve(size_hint);
  {
    internal::OutArchive archive(&out);
    archive(value);
  }
  return out;
}

// Decodes `bytes` into `*out`, overwriting every field. Fails (DataLoss,
// naming the type) if the bytes are not exactly one encoding of a T.
template <class T>
absl::Status Decode(std::string_view bytes, T* out) {
  static_assert(kEncodable<T>, "labrpc: this type cannot be received over labrpc");
  try {
    internal::InArchive archive(bytes);
    archive(*out);
    if (archive.remaining() != 0) {
      return absl::DataLossError(absl::StrCat("decoding ", TypeName(typeid(T)), " left ",
                                              archive.remaining(), " of ", bytes.size(),
                                              " bytes unread"));
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("cannot decode ", bytes.size(), " bytes as ",
                                            TypeName(typeid(T)), ": ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace labrpc

CEREAL_REGISTER_ARCHIVE(labrpc::internal::OutArchive)
CEREAL_REGISTER_ARCHIVE(labrpc::internal::InArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(labrpc::internal::InArchive, labrpc::internal::OutArchive)

#endif  // LABRPC_CODEC_H_
