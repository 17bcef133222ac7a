// linearizability/verdict.cc

#include "linearizability/verdict.h"

namespace linearizability {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kIllegal:
      return "illegal";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "?";
}

}  // namespace linearizability
