// labrpc/network.h
//
// An in-process network that drops, delays and reorders RPCs and can cut
// any link, for testing Raft and services on it. Every delay, drop and
// handler task goes through the lab runtime, so in the sim runtime a seed
// fixes the whole run.
//
//   labrpc::Network net;                       // inside a lab::World task
//   auto end = net.MakeEnd("0->1");            // peer 0's handle to peer 1
//   auto svc = std::make_shared<labrpc::Service>("Raft");
//   svc->Register("RequestVote", raft1, &Raft::RequestVote);
//   auto server = std::make_shared<labrpc::Server>();
//   server->AddService(svc);
//   net.AddServer("1", server);
//   net.Connect("0->1", "1");
//   net.Enable("0->1", true);
//   RequestVoteReply reply;
//   bool ok = end->Call("Raft.RequestVote", args, &reply);
//
// A handler is a method `void Raft::RequestVote(const RequestVoteArgs& args,
// RequestVoteReply* reply)`; it runs in a task of its own, on a fresh copy
// of the arguments decoded from bytes, and its reply is encoded back.
//
// Call() returns true only if the server ran the handler and the reply came
// back. false means the request or the reply was lost, or the server is
// down: the handler may have run, so handlers must tolerate duplicates.
// Calling an unknown service or method, or with argument or reply types the
// handler does not take, is a bug: the program stops and says which.
//
// Faults (TESTS.md has the numbers, which are the Go labrpc's):
//   Reliable(false)        each request waits 0-26 ms; 10% of requests and
//                          10% of replies are lost.
//   LongReordering(true)   2 of 3 replies are held back 200-2200 ms.
//   LongDelays(true)       a call on a disabled end or to a missing server
//                          fails after up to 7 s (else up to 100 ms).
//   DeleteServer(name)     calls in progress to it fail, even if their
//                          handler finishes later (but not a reply that
//                          was already on its way back, see below).
//
// Messages in flight, as in Go's labrpc: a call reads its end's state when
// it starts, and a request already on its way when the link is cut or the
// server deleted still reaches the handler. The caller looks at the link
// again while the handler runs and when it returns (a cut link or a deleted
// server then fails the call), but not later: a reply held back by long
// reordering is delivered however the link changes meanwhile. network.cc
// numbers the rules.
//
// Traces (labrpc/runtime/trace.h): while one is recorded, every call adds
// `rpc` records (send, deliver, reply, or lost with why); the network's fault
// switches add `tester` records (event "net"). The `fields` of a message
// are what its describer (DescribeInTrace) says; a message without one shows
// only its size.
//
// Thread safety: every public method may be called from any task.

#ifndef LABRPC_NETWORK_H_
#define LABRPC_NETWORK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeindex>

#include "absl/base/thread_annotations.h"
#include "labrpc/codec.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/trace.h"

namespace labrpc {

namespace internal {
// DescribeInTrace's untyped part: `describe` turns a message (a const T*)
// into trace fields (JSON, without braces).
void RegisterDescriber(std::type_index type, std::function<std::string(const void*)> describe);
// The fields of the message at `msg`, of type `type` ("" without a describer).
std::string Describe(std::type_index type, const void* msg);
}  // namespace internal

// Says how messages of type T appear in traces: `describe` adds the fields
// that matter (term, indices, counts) to a record. Called from the task that
// sends the message (for arguments) or receives it (for replies); it must make
// no blocking runtime call. Registering T again replaces its describer.
template <class T>
void DescribeInTrace(std::function<void(const T&, lab::trace::Fields&)> describe) {
  internal::RegisterDescriber(typeid(T), [describe = std::move(describe)](const void* msg) {
    lab::trace::Fields fields;
    describe(*static_cast<const T*>(msg), fields);
    return fields.json();
  });
}

// A named set of RPC methods ("Raft" with "RequestVote", ...).
class Service {
 public:
  explicit Service(std::string name) : name_(std::move(name)) {}
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const std::string& name() const { return name_; }

  // Registers `obj->*handler` as method `method`. `obj` must outlive every
  // call to it (kill its tasks first).
  template <class Obj, class Args, class Reply>
  void Register(std::string method, Obj* obj, void (Obj::*handler)(const Args&, Reply*)) {
    Register<Args, Reply>(std::move(method), [obj, handler](const Args& args, Reply* reply) {
      (obj->*handler)(args, reply);
    });
  }

  // Registers a function as method `method`.
  template <class Args, class Reply>
  void Register(std::string method, std::function<void(const Args&, Reply*)> handler) {
    static_assert(kEncodable<Args>, "labrpc: the handler's argument type cannot be encoded");
    static_assert(kEncodable<Reply>, "labrpc: the handler's reply type cannot be encoded");
    Method m{typeid(Args), typeid(Reply), nullptr};
    m.invoke = [handler = std::move(handler), method](std::string_view args_bytes) {
      Args args;
      if (absl::Status s = Decode(args_bytes, &args); !s.ok()) {
        lab::internal::Fatal("labrpc: handler " + method + ": " + std::string(s.message()));
      }
      Reply reply;
      handler(args, &reply);
      return Encode(reply);
    };
    AddMethod(std::move(method), std::move(m));
  }

 private:
  friend class Server;
  struct Method {
    std::type_index args_type;
    std::type_index reply_type;
    std::function<std::string(std::string_view)> invoke;
  };
  void AddMethod(std::string method, Method m);

  const std::string name_;
  std::map<std::string, Method> methods_;  // fixed once the server is in use
};

// A set of services reachable at one network address.
class Server {
 public:
  // Handlers run as tasks in `handlers` if given (the tester passes the
  // peer's group, so crashing the peer stops its handlers), otherwise in the
  // network's own group. The group may be killed or destroyed at any time:
  // calls whose handler has not started by then fail (a crashed server).
  explicit Server(lab::TaskGroup* handlers = nullptr)
      : handlers_(handlers != nullptr ? handlers->handle() : lab::TaskGroup::Handle()) {}
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void AddService(std::shared_ptr<Service> service);

  // RPCs dispatched to a handler so far.
  int64_t GetCount() const;

 private:
  friend class ClientEnd;
  // Runs a handler; Fatal on an unknown method or mismatched types.
  std::string Dispatch(std::string_view service_method, std::string_view args,
                       std::type_index args_type, std::type_index reply_type);

  const lab::TaskGroup::Handle handlers_;  // empty: the network's group
  mutable lab::Mutex mu_;
  std::map<std::string, std::shared_ptr<Service>> services_ ABSL_GUARDED_BY(mu_);
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

namespace internal {
struct NetState;
}

// One peer's handle to one server. Make ends with Network::MakeEnd.
class ClientEnd {
 public:
  ClientEnd(const ClientEnd&) = delete;
  ClientEnd& operator=(const ClientEnd&) = delete;

  // Sends an RPC and waits for the reply; see the top of this file.
  // `reply` should be a default-constructed object (a warning says so once
  // if it is not): every field is overwritten by the decoded reply.
  template <class Args, class Reply>
  bool Call(std::string_view service_method, const Args& args, Reply* reply) {
    static_assert(kEncodable<Args>, "labrpc: the argument type of Call cannot be encoded");
    static_assert(kEncodable<Reply>, "labrpc: the reply type of Call cannot be encoded");
    static const std::string kDefaultReply = Encode(Reply{});
    if (Encode(*reply) != kDefaultReply) WarnNonDefaultReply(service_method, typeid(Reply));
    std::string reply_bytes;
    Traced traced;
    if (lab::trace::On()) traced.args_fields = internal::Describe(typeid(Args), &args);
    if (!CallBytes(service_method, Encode(args), typeid(Args), typeid(Reply), &reply_bytes,
                   &traced)) {
      return false;
    }
    if (absl::Status s = Decode(reply_bytes, reply); !s.ok()) {
      lab::internal::Fatal("labrpc: reply of " + std::string(service_method) + ": " +
                           std::string(s.message()));
    }
    if (traced.reply) traced.reply(internal::Describe(typeid(Reply), reply));
    return true;
  }

  const std::string& name() const { return name_; }

 private:
  friend class Network;
  ClientEnd(std::shared_ptr<internal::NetState> net, std::string name)
      : net_(std::move(net)), name_(std::move(name)) {}

  // A call's trace records that need the typed messages: the arguments'
  // fields, and the reply record, which Call emits once the reply is decoded.
  struct Traced {
    std::string args_fields;
    std::function<void(const std::string& reply_fields)> reply;
  };
  bool CallBytes(std::string_view service_method, std::string args, std::type_index args_type,
                 std::type_index reply_type, std::string* reply, Traced* traced);
  void WarnNonDefaultReply(std::string_view service_method, const std::type_info& type);

  const std::shared_ptr<internal::NetState> net_;
  const std::string name_;
};

class Network {
 public:
  // Must be made and destroyed in a task of a lab::World. Destroying it
  // stops its tasks (handlers without a group of their own).
  Network();
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // A new end named `name` (unique), disabled and connected to nothing.
  std::shared_ptr<ClientEnd> MakeEnd(std::string name);
  // Adds (or replaces) the server at address `name`.
  void AddServer(std::string name, std::shared_ptr<Server> server);
  // Removes it: calls in progress to it fail.
  void DeleteServer(const std::string& name);
  // Points end `end` at server address `server` (which may come later).
  void Connect(const std::string& end, std::string server);
  void Enable(const std::string& end, bool enabled);

  void Reliable(bool reliable);
  void LongReordering(bool on);
  void LongDelays(bool on);

  // RPCs dispatched to the server at `server` (0 if there is none).
  int64_t GetCount(const std::string& server) const;
  // Calls made on any end.
  int64_t GetTotalCount() const;
  // Encoded bytes of every call's arguments and every delivered reply.
  int64_t GetTotalBytes() const;

 private:
  std::shared_ptr<internal::NetState> state_;
};

}  // namespace labrpc

#endif  // LABRPC_NETWORK_H_
