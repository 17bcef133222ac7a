// kvraft/common.h
//
// What your Clerk and KV servers say to each other (Lab 3,
// labs/3A/README.md): the RPC messages and their error codes. Add the
// fields and codes your protocol needs (in 3A, what lets a server recognize
// a retried request); the tester uses only the Clerk and KVServer APIs.
//
// Each message declares its fields once, for labrpc's codec, and only the
// fields listed there travel:
//   template <class A> void serialize(A& a) { a(key, value); }

#ifndef KVRAFT_COMMON_H_
#define KVRAFT_COMMON_H_

#include <cstdint>
#include <string>

namespace kvraft {

// The outcome of an RPC, as in the Go lab.
using Err = std::string;
inline const Err kOK = "OK";
inline const Err kErrNoKey = "ErrNoKey";
inline const Err kErrWrongLeader = "ErrWrongLeader";
// BEGIN SOLUTION 3A
// The server's leadership did not end, but the operation did not commit in
// time (a partitioned leader): the clerk tries another server.
inline const Err kErrTimeout = "ErrTimeout";
// END SOLUTION

// Put or Append: op is "Put" or "Append".
struct PutAppendArgs {
  std::string key;
  std::string value;
  std::string op;
  // BEGIN SOLUTION 3A
  // Which clerk sent it, and its number in that clerk's sequence: a server
  // applies each (client_id, seq) at most once (duplicate detection).
  int64_t client_id = 0;
  int64_t seq = 0;
  // END SOLUTION
  template <class A>
  void serialize(A& a) {
    // BEGIN SOLUTION 3A
    a(key, value, op, client_id, seq);
    // END SOLUTION
    // HANDOUT: a(key, value, op);
  }
};

struct PutAppendReply {
  Err err;
  template <class A>
  void serialize(A& a) {
    a(err);
  }
};

struct GetArgs {
  std::string key;
  // BEGIN SOLUTION 3A
  int64_t client_id = 0;
  int64_t seq = 0;
  // END SOLUTION
  template <class A>
  void serialize(A& a) {
    // BEGIN SOLUTION 3A
    a(key, client_id, seq);
    // END SOLUTION
    // HANDOUT: a(key);
  }
};

struct GetReply {
  Err err;
  std::string value;
  template <class A>
  void serialize(A& a) {
    a(err, value);
  }
};

}  // namespace kvraft

#endif  // KVRAFT_COMMON_H_
