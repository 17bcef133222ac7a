// kvraft/client.h
//
// The Clerk (Lab 3A, labs/3A/README.md): how the tester's clients use the
// KV service, and yours to write (in client.cc, with your fields below).
// Each call keeps trying servers until one that leads the Raft group has
// applied the operation, so it returns only once the operation has taken
// effect (Put, Append) or been read in log order (Get).
//
//   kvraft::Clerk ck(ends);        // ends[i]: this clerk's end to server i
//   ck.Put("k", "a");
//   ck.Append("k", "b");
//   std::string v = ck.Get("k");   // "ab"; "" for a key never written
//
// Servers offer "KVServer.Get" and "KVServer.PutAppend" (common.h). A Clerk
// is used by one task at a time; make one per concurrent client.

#ifndef KVRAFT_CLIENT_H_
#define KVRAFT_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "labrpc/network.h"

namespace kvraft {

class Clerk {
 public:
  explicit Clerk(std::vector<std::shared_ptr<labrpc::ClientEnd>> servers);
  Clerk(const Clerk&) = delete;
  Clerk& operator=(const Clerk&) = delete;

  // The current value of `key`, or "" if it has none. Keeps trying forever.
  std::string Get(const std::string& key);
  // Sets `key` to `value`.
  void Put(const std::string& key, const std::string& value);
  // Appends `value` to `key`'s value ("" if it has none).
  void Append(const std::string& key, const std::string& value);

 private:
  void PutAppend(const std::string& key, const std::string& value, const std::string& op);

  const std::vector<std::shared_ptr<labrpc::ClientEnd>> servers_;
  // BEGIN SOLUTION 3A
  // Moves on to the next server after a failed try; sleeps a little after a
  // whole round of failures (no leader right now: an election is on).
  void NextServer();

  int64_t client_id_ = 0;    // random, so clerks never collide
  int64_t next_seq_ = 1;     // this clerk's next request number
  int leader_ = 0;           // the server that answered last: try it first
  int failures_ = 0;         // consecutive failed tries
  // END SOLUTION
  // HANDOUT: // Your code here (3A): what a Clerk remembers between calls (which
  // HANDOUT: // server led last time; what duplicate detection needs).
};

}  // namespace kvraft

#endif  // KVRAFT_CLIENT_H_
