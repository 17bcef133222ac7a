// labrpc/network.cc
//
// The network's bookkeeping, and the life of one call: the caller's task
// applies the request's fate (delay, loss), starts the handler as a task of
// the server's group, waits for it while watching for the server's death,
// then applies the reply's fate (loss, reordering delay). Which of these
// steps look at the links again, and which do not, is Go's labrpc's choice,
// kept rule by rule (ClientEnd::CallBytes).

#include "labrpc/network.h"

#include <cstdio>
#include <mutex>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace labrpc {
namespace internal {

struct EndInfo {
  bool enabled = false;
  std::optional<std::string> server;  // the address it is connected to
};

struct NetState {
  lab::Mutex mu;
  bool reliable ABSL_GUARDED_BY(mu) = true;
  bool long_delays ABSL_GUARDED_BY(mu) = false;
  bool long_reordering ABSL_GUARDED_BY(mu) = false;
  std::map<std::string, EndInfo> ends ABSL_GUARDED_BY(mu);
  std::map<std::string, std::shared_ptr<Server>> servers ABSL_GUARDED_BY(mu);
  int64_t total_count ABSL_GUARDED_BY(mu) = 0;
  int64_t total_bytes ABSL_GUARDED_BY(mu) = 0;
  // Runs handlers of servers without a group of their own; null once the
  // Network is gone.
  std::unique_ptr<lab::TaskGroup> handlers ABSL_GUARDED_BY(mu);

  // A call's server is dead if its end was disabled or the address now
  // holds another server (or none).
  bool IsServerDead(const std::string& end, const std::string& address,
                    const std::shared_ptr<Server>& server) {
    lab::MutexLock l(&mu);
    auto e = ends.find(end);
    if (e == ends.end() || !e->second.enabled) return true;
    auto s = servers.find(address);
    return s == servers.end() || s->second != server;
  }
};

namespace {

// One call's hand-off from its handler task to the caller.
struct PendingCall {
  lab::Mutex mu;
  lab::CondVar done_cv;  // notified by the handler task, or its ReplyGuard
  bool done ABSL_GUARDED_BY(mu) = false;
  bool ok ABSL_GUARDED_BY(mu) = false;
  std::string reply ABSL_GUARDED_BY(mu);
};

// Owned by the handler task's function: when the function is destroyed (the
// handler finished, was killed, or never started because its group was
// killed), the caller learns that no more reply is coming.
struct ReplyGuard {
  explicit ReplyGuard(std::shared_ptr<PendingCall> call) : call(std::move(call)) {}
  ~ReplyGuard() {
    try {
      lab::MutexLock l(&call->mu);
      call->done = true;
      call->done_cv.NotifyAll();
    } catch (const lab::TaskKilled&) {
      // Destroyed in a killed caller's task: nobody is left to wait.
    }
  }
  std::shared_ptr<PendingCall> call;
};

// Describers of messages for traces, by type (DescribeInTrace). A std::mutex:
// tracing must add no scheduling point.
struct Describers {
  std::mutex mu;
  std::map<std::type_index, std::function<std::string(const void*)>> by_type;
};

Describers& TheDescribers() {
  static Describers* d = new Describers;
  return *d;
}

// One call's `rpc` records (trace/SCHEMA.md); does nothing unless a trace
// was being recorded when the call started.
class CallTrace {
 public:
  CallTrace(std::string_view method, std::string to)
      : on_(lab::trace::On()), method_(method), to_(std::move(to)) {
    if (!on_) return;
    id_ = lab::trace::NewId();
    from_ = lab::trace::CurrentActor();
  }

  void Send(std::string_view args, const std::string& fields) const {
    if (!on_) return;
    lab::trace::Fields f = Common("send");
    f.Int("bytes", static_cast<int64_t>(args.size()));
    if (!fields.empty()) f.Raw("fields", absl::StrCat("{", fields, "}"));
    f.Str("task", lab::CurrentTaskName());
    lab::trace::Emit("rpc", f);
  }
  // In the handler's task, as it starts.
  void Deliver() const {
    if (on_) lab::trace::Emit("rpc", Join("deliver"));
  }
  // Once the reply is decoded (ClientEnd::Call).
  void Reply(int64_t bytes, int64_t held_back_ms, const std::string& fields) const {
    if (!on_) return;
    lab::trace::Fields f = Join("reply");
    f.Int("bytes", bytes);
    if (!fields.empty()) f.Raw("fields", absl::StrCat("{", fields, "}"));
    if (held_back_ms > 0) f.Int("held_back_ms", held_back_ms);
    lab::trace::Emit("rpc", f);
  }
  bool on() const { return on_; }
  // The call returns false.
  bool Lost(const char* why) const {
    if (on_) lab::trace::Emit("rpc", Join("lost").Str("why", why));
    return false;
  }

 private:
  // The send record names the call; the others join it by id.
  lab::trace::Fields Join(const char* phase) const {
    lab::trace::Fields f;
    f.Int("id", id_).Str("phase", phase);
    return f;
  }
  lab::trace::Fields Common(const char* phase) const {
    lab::trace::Fields f = Join(phase);
    f.Str("from", from_).Str("to", to_).Str("method", method_);
    return f;
  }

  const bool on_;
  const std::string method_;
  const std::string to_;
  int64_t id_ = 0;
  std::string from_;
};

}  // namespace
}  // namespace internal

namespace internal {
void RegisterDescriber(std::type_index type, std::function<std::string(const void*)> describe) {
  Describers& d = TheDescribers();
  std::lock_guard<std::mutex> l(d.mu);
  d.by_type[type] = std::move(describe);
}

std::string Describe(std::type_index type, const void* msg) {
  std::function<std::string(const void*)> describe;
  {
    Describers& d = TheDescribers();
    std::lock_guard<std::mutex> l(d.mu);
    auto it = d.by_type.find(type);
    if (it == d.by_type.end()) return "";
    describe = it->second;
  }
  return describe(msg);
}
}  // namespace internal

// --- Service and Server ------------------------------------------------------

void Service::AddMethod(std::string method, Method m) {
  if (!methods_.emplace(method, std::move(m)).second) {
    lab::internal::Fatal(absl::StrCat("labrpc: method ", name_, ".", method, " registered twice"));
  }
}

void Server::AddService(std::shared_ptr<Service> service) {
  lab::MutexLock l(&mu_);
  std::string name = service->name();
  services_[name] = std::move(service);
}

int64_t Server::GetCount() const {
  lab::MutexLock l(&mu_);
  return count_;
}

std::string Server::Dispatch(std::string_view service_method, std::string_view args,
                             std::type_index args_type, std::type_index reply_type) {
  const size_t dot = service_method.rfind('.');
  const std::string service_name(service_method.substr(0, dot == std::string_view::npos ? 0 : dot));
  const std::string method_name(
      dot == std::string_view::npos ? service_method : service_method.substr(dot + 1));
  std::shared_ptr<Service> service;
  {
    lab::MutexLock l(&mu_);
    ++count_;
    auto it = services_.find(service_name);
    if (it == services_.end()) {
      std::vector<std::string> known;
      for (auto& [name, s] : services_) known.push_back(name);
      lab::internal::Fatal(absl::StrCat(
          "labrpc: Call(\"", std::string(service_method), "\"): unknown service \"", service_name,
          "\" (write \"Service.Method\"); this server has: ", absl::StrJoin(known, ", ")));
    }
    service = it->second;
  }
  auto m = service->methods_.find(method_name);
  if (m == service->methods_.end()) {
    std::vector<std::string> known;
    for (auto& [name, unused] : service->methods_) known.push_back(name);
    lab::internal::Fatal(absl::StrCat("labrpc: Call(\"", std::string(service_method),
                                      "\"): service ", service_name, " has no method \"",
                                      method_name, "\"; it has: ", absl::StrJoin(known, ", ")));
  }
  const Service::Method& method = m->second;
  if (method.args_type != args_type) {
    lab::internal::Fatal(absl::StrCat("labrpc: Call(\"", std::string(service_method),
                                      "\"): the arguments are a ", TypeName(args_type),
                                      ", but the handler takes a ", TypeName(method.args_type)));
  }
  if (method.reply_type != reply_type) {
    lab::internal::Fatal(absl::StrCat("labrpc: Call(\"", std::string(service_method),
                                      "\"): the reply is a ", TypeName(reply_type),
                                      ", but the handler fills a ", TypeName(method.reply_type)));
  }
  return method.invoke(args);
}

// --- ClientEnd ---------------------------------------------------------------

void ClientEnd::WarnNonDefaultReply(std::string_view service_method, const std::type_info& type) {
  static std::mutex mu;
  static std::set<std::string>* warned = new std::set<std::string>();
  std::lock_guard<std::mutex> l(mu);
  if (!warned->insert(std::string(service_method)).second) return;
  std::fprintf(stderr,
               "labrpc warning: Call(\"%s\") was given a %s reply that is not "
               "default-constructed (reused?); every field will be overwritten by the reply. "
               "(Said once per method.)\n",
               std::string(service_method).c_str(), TypeName(type).c_str());
}

// The life of a call follows Go's labrpc rule by rule (its processReq); the
// numbers below are referred to in network_test.cc.
bool ClientEnd::CallBytes(std::string_view service_method, std::string args,
                          std::type_index args_type, std::type_index reply_type,
                          std::string* reply, Traced* traced) {
  internal::NetState& net = *net_;
  // Rule 1, the snapshot: the end's state (enabled, the server it points
  // at) and the fault settings are read once, as the call starts, as Go
  // reads them when it takes the request off the end. What happens to the
  // links afterwards matters only where a later rule looks again.
  bool enabled = false, reliable, long_reordering, long_delays;
  std::string address;
  std::shared_ptr<Server> server;  // kept alive by this call, as Go's GC would
  lab::TaskGroup::Handle group;    // where the handler will run
  {
    lab::MutexLock l(&net.mu);
    ++net.total_count;
    net.total_bytes += static_cast<int64_t>(args.size());
    auto e = net.ends.find(name_);
    if (e != net.ends.end()) {
      enabled = e->second.enabled;
      if (e->second.server) {
        address = *e->second.server;
        auto s = net.servers.find(address);
        if (s != net.servers.end()) server = s->second;
      }
    }
    reliable = net.reliable;
    long_reordering = net.long_reordering;
    long_delays = net.long_delays;
    if (server != nullptr) {
      group = server->handlers_ ? server->handlers_
              : net.handlers   ? net.handlers->handle()
                               : lab::TaskGroup::Handle();
    }
  }

  const internal::CallTrace trace(service_method, address.empty() ? name_ : address);
  trace.Send(args, traced->args_fields);

  if (!enabled || server == nullptr || !group) {
    // Rule 2, no route: no reply, and an eventual time-out, as Go's. Long
    // with long delays on, so that a Raft that sends RPCs synchronously is
    // too slow; short otherwise, so KV clerks can cycle through servers
    // quickly.
    lab::SleepFor(absl::Milliseconds(long_delays ? lab::RandInt(0, 7000) : lab::RandInt(0, 100)));
    return trace.Lost(!enabled ? "link cut" : server == nullptr ? "no server" : "server dead");
  }

  // Rule 3, the request's fate: on an unreliable network a short delay,
  // then a 10% loss (the handler does not run).
  if (!reliable) {
    lab::SleepFor(absl::Milliseconds(lab::RandInt(0, 27)));
    if (lab::RandInt(0, 1000) < 100) return trace.Lost("request dropped");
  }

  // Rule 4, a request in flight is delivered: the handler runs even if the
  // end was disabled or the server deleted during the delay above, as in Go,
  // which does not look at the links again before dispatching. So a peer
  // cut off a moment ago still receives what was sent to it before. (Only a
  // crash stops it here: a killed or destroyed group starts nothing, and the
  // call fails. The server object itself lives as long as this call.)
  //
  // The handler runs in a task of its own, so this task can keep watching
  // the server while it runs (rule 5).
  auto call = std::make_shared<internal::PendingCall>();
  auto guard = std::make_shared<internal::ReplyGuard>(call);
  std::string method(service_method);
  group.Go(method,  // the handler task is named after the method
           [server, guard, method, args = std::move(args), args_type, reply_type, trace] {
             trace.Deliver();
             std::string bytes = server->Dispatch(method, args, args_type, reply_type);
             internal::PendingCall& c = *guard->call;
             lab::MutexLock l(&c.mu);
             c.reply = std::move(bytes);
             c.ok = true;
             c.done = true;
             c.done_cv.NotifyAll();
           });
  guard.reset();  // now only the handler task's function holds it (if it started)

  // Rule 5, a dead server while the handler runs: every 100 ms the caller
  // looks whether its end was disabled or the server deleted (or replaced),
  // and if so gives up at once with a failure, as Go's caller does; the
  // handler may still finish, unobserved.
  bool ok;
  bool dead = false;
  std::string reply_bytes;
  {
    lab::MutexLock l(&call->mu);
    while (!call->done) {
      if (!call->done_cv.WaitFor(&call->mu, absl::Milliseconds(100)) &&
          net.IsServerDead(name_, address, server)) {
        dead = true;
        break;
      }
    }
    ok = call->ok;
    reply_bytes = std::move(call->reply);
  }
  // Rule 6, a last look when the handler returns: a deleted server (or a
  // disabled end) gives no positive reply, as in Go, so a client cannot see
  // success for work that went into a persister the tester has since
  // replaced (the tester deletes the server before copying its persister).
  if (!ok) return trace.Lost(dead ? "server dead" : "no reply (handler ended without one)");
  if (dead || net.IsServerDead(name_, address, server)) return trace.Lost("server dead");

  // Rule 7, the reply's fate: on an unreliable network 10% of replies are
  // lost (the handler ran).
  if (!reliable && lab::RandInt(0, 1000) < 100) return trace.Lost("reply dropped");

  // Rule 8, long reordering: 2 of 3 replies are held back, mostly a little,
  // sometimes up to ~2.2 s, and then delivered whatever happened to the
  // links or the server meanwhile: Go's check for a dead server comes before
  // the hold-back only (rule 6), and its held-back reply is sent from a timer.
  int64_t held_back_ms = 0;
  if (long_reordering && lab::RandInt(0, 900) < 600) {
    held_back_ms = 200 + lab::RandInt(0, 1 + lab::RandInt(0, 2000));
    lab::SleepFor(absl::Milliseconds(held_back_ms));
  }
  if (trace.on()) {
    traced->reply = [trace, bytes = static_cast<int64_t>(reply_bytes.size()),
                     held_back_ms](const std::string& fields) {
      trace.Reply(bytes, held_back_ms, fields);
    };
  }
  {
    lab::MutexLock l(&net.mu);
    net.total_bytes += static_cast<int64_t>(reply_bytes.size());
  }
  *reply = std::move(reply_bytes);
  return true;
}

// --- Network -----------------------------------------------------------------

Network::Network() : state_(std::make_shared<internal::NetState>()) {
  auto group = std::make_unique<lab::TaskGroup>("labrpc");
  lab::MutexLock l(&state_->mu);
  state_->handlers = std::move(group);
}

Network::~Network() {
  std::unique_ptr<lab::TaskGroup> handlers;
  {
    lab::MutexLock l(&state_->mu);
    handlers = std::move(state_->handlers);
  }
  handlers.reset();  // kills and joins the handler tasks
}

std::shared_ptr<ClientEnd> Network::MakeEnd(std::string name) {
  lab::MutexLock l(&state_->mu);
  if (!state_->ends.emplace(name, internal::EndInfo{}).second) {
    lab::internal::Fatal(absl::StrCat("labrpc: MakeEnd(\"", name, "\"): that end already exists"));
  }
  return std::shared_ptr<ClientEnd>(new ClientEnd(state_, std::move(name)));
}

void Network::AddServer(std::string name, std::shared_ptr<Server> server) {
  lab::MutexLock l(&state_->mu);
  state_->servers[std::move(name)] = std::move(server);
}

void Network::DeleteServer(const std::string& name) {
  lab::MutexLock l(&state_->mu);
  state_->servers.erase(name);
}

void Network::Connect(const std::string& end, std::string server) {
  lab::MutexLock l(&state_->mu);
  auto e = state_->ends.find(end);
  if (e == state_->ends.end()) {
    lab::internal::Fatal(absl::StrCat("labrpc: Connect(\"", end, "\", ...): no such end"));
  }
  e->second.server = std::move(server);
}

void Network::Enable(const std::string& end, bool enabled) {
  lab::MutexLock l(&state_->mu);
  auto e = state_->ends.find(end);
  if (e == state_->ends.end()) {
    lab::internal::Fatal(absl::StrCat("labrpc: Enable(\"", end, "\", ...): no such end"));
  }
  e->second.enabled = enabled;
}

namespace {
// A `tester` record "net" for a fault switch that changed.
void TraceSwitch(const char* name, bool was, bool now) {
  if (was != now && lab::trace::On()) {
    lab::trace::Emit("tester", lab::trace::Fields().Str("event", "net").Bool(name, now));
  }
}
}  // namespace

void Network::Reliable(bool reliable) {
  lab::MutexLock l(&state_->mu);
  TraceSwitch("reliable", state_->reliable, reliable);
  state_->reliable = reliable;
}

void Network::LongReordering(bool on) {
  lab::MutexLock l(&state_->mu);
  TraceSwitch("long_reordering", state_->long_reordering, on);
  state_->long_reordering = on;
}

void Network::LongDelays(bool on) {
  lab::MutexLock l(&state_->mu);
  TraceSwitch("long_delays", state_->long_delays, on);
  state_->long_delays = on;
}

int64_t Network::GetCount(const std::string& server) const {
  std::shared_ptr<Server> s;
  {
    lab::MutexLock l(&state_->mu);
    auto it = state_->servers.find(server);
    if (it == state_->servers.end()) return 0;
    s = it->second;
  }
  return s->GetCount();
}

int64_t Network::GetTotalCount() const {
  lab::MutexLock l(&state_->mu);
  return state_->total_count;
}

int64_t Network::GetTotalBytes() const {
  lab::MutexLock l(&state_->mu);
  return state_->total_bytes;
}

}  // namespace labrpc
