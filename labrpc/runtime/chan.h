// labrpc/runtime/chan.h
//
// A Go-style channel between tasks.
//
//   lab::Chan<ApplyMsg> apply_ch;        // unbuffered: Send waits for a Recv
//   lab::Chan<int> jobs(16);             // buffered: Send waits only when full
//   jobs.Send(7);
//   std::optional<int> v = jobs.Recv();  // nullopt once closed and drained
//   jobs.Close();
//
// As in Go, sending on a closed channel and closing it twice are bugs: the
// program stops with a message. Send, Recv and TryRecv are scheduling points
// in sim; a killed task gets lab::TaskKilled out of a blocked Send or Recv.
// Values are moved, never shared: T needs only to be movable.
//
// Happens-before, as in Go's memory model (what the race detector checks,
// see race.h): a send happens before the receive that gets its value
// completes; a close happens before a receive that returns nullopt because
// of it; and a receive happens before the send it unblocks completes. The
// detector keeps one order per direction for the whole channel, so with many
// senders a receive is ordered after every earlier send, not only its own
// (it may miss a race, never invent one).

#ifndef LABRPC_RUNTIME_CHAN_H_
#define LABRPC_RUNTIME_CHAN_H_

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/time/time.h"
#include "labrpc/runtime/race.h"
#include "labrpc/runtime/runtime.h"
#include "labrpc/runtime/wait_list.h"

namespace lab {

template <class T>
class Chan {
 public:
  explicit Chan(size_t capacity = 0) : capacity_(capacity) {}
  Chan(const Chan&) = delete;
  Chan& operator=(const Chan&) = delete;

  // Blocks until a receiver takes the value (unbuffered) or there is room.
  void Send(T value) {
    internal::race::Section section;
    internal::SchedulingPoint("Chan.Send");
    internal::race::Release(SendOrder());
    internal::Wakeups wake;  // wakes after the unlock
    std::unique_lock<std::mutex> lk(mu_);
    if (closed_) internal::Fatal("send on closed channel");
    if (auto* r = static_cast<RecvWaiter*>(receivers_.PopFront())) {
      r->slot.emplace(std::move(value));
      wake.Notify(r);
      return;
    }
    if (buffer_.size() < capacity_) {
      buffer_.push_back(std::move(value));
      return;
    }
    SendWaiter w(&value, RecvOrder());
    senders_.PushBack(&w);
    internal::Wake how = internal::WaitOn(lk, senders_, w, absl::InfiniteFuture(), "Chan.Send",
                                          /*interruptible=*/true);
    if (how == internal::Wake::kKilled) throw TaskKilled();
    // Notified: the channel may be gone; only `w` is ours to read.
    if (w.closed) internal::Fatal("send on closed channel");
    internal::race::Acquire(w.recv_order);
    internal::ThrowIfKilled();
  }

  // Blocks until a value arrives; nullopt once the channel is closed and
  // every buffered value has been received.
  std::optional<T> Recv() {
    internal::race::Section section;
    internal::SchedulingPoint("Chan.Recv");
    internal::Wakeups wake;  // wakes after the unlock
    std::unique_lock<std::mutex> lk(mu_);
    if (std::optional<T> v = TakeLocked(wake)) {
      internal::race::Acquire(SendOrder());
      return v;
    }
    if (closed_) {
      internal::race::Acquire(SendOrder());
      return std::nullopt;
    }
    RecvWaiter w(SendOrder());
    receivers_.PushBack(&w);
    internal::Wake how = internal::WaitOn(lk, receivers_, w, absl::InfiniteFuture(), "Chan.Recv",
                                          /*interruptible=*/true);
    if (how == internal::Wake::kKilled) throw TaskKilled();
    // Notified: the channel may be gone; only `w` is ours to read. A value
    // handed to a task killed meanwhile is lost, as with a crashed receiver.
    internal::race::Acquire(w.send_order);
    internal::ThrowIfKilled();
    return std::move(w.slot);
  }

  // A value if one is ready now; otherwise nullopt (see closed()).
  std::optional<T> TryRecv() {
    internal::race::Section section;
    internal::SchedulingPoint("Chan.TryRecv");
    internal::Wakeups wake;  // wakes after the unlock
    std::unique_lock<std::mutex> lk(mu_);
    std::optional<T> v = TakeLocked(wake);
    if (v || closed_) internal::race::Acquire(SendOrder());
    return v;
  }

  // Wakes every blocked receiver (they get nullopt once the buffer drains).
  void Close() {
    internal::race::Section section;
    internal::race::Release(SendOrder());
    internal::Wakeups wake;  // wakes after the unlock
    std::unique_lock<std::mutex> lk(mu_);
    if (closed_) internal::Fatal("close of closed channel");
    closed_ = true;
    while (wake.NotifyFront(receivers_)) {
    }
    while (internal::Waiter* s = senders_.PopFront()) {
      static_cast<SendWaiter*>(s)->closed = true;
      wake.Notify(s);
    }
  }

  bool closed() const {
    internal::race::Section section;
    std::unique_lock<std::mutex> lk(mu_);
    return closed_;
  }

  // Values buffered now.
  size_t size() const {
    internal::race::Section section;
    std::unique_lock<std::mutex> lk(mu_);
    return buffer_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  struct RecvWaiter : internal::Waiter {
    explicit RecvWaiter(const void* send_order) : send_order(send_order) {}
    std::optional<T> slot;
    const void* const send_order;  // the channel's, read after it may be gone
  };
  struct SendWaiter : internal::Waiter {
    SendWaiter(T* v, const void* recv_order) : value(v), recv_order(recv_order) {}
    T* value;
    bool closed = false;
    const void* const recv_order;  // the channel's, read after it may be gone
  };

  // The addresses the race detector orders sends before receives, and
  // receives before the completion of the sends they unblock, on.
  const void* SendOrder() const { return &buffer_; }
  const void* RecvOrder() const { return &senders_; }

  // Takes a buffered value (refilling from a blocked sender) or, unbuffered,
  // a blocked sender's value.
  std::optional<T> TakeLocked(internal::Wakeups& wake) {
    if (!buffer_.empty()) {
      std::optional<T> v(std::move(buffer_.front()));
      buffer_.pop_front();
      if (auto* s = static_cast<SendWaiter*>(senders_.PopFront())) {
        buffer_.push_back(std::move(*s->value));
        internal::race::Release(RecvOrder());
        wake.Notify(s);
      }
      return v;
    }
    if (auto* s = static_cast<SendWaiter*>(senders_.PopFront())) {
      std::optional<T> v(std::move(*s->value));
      internal::race::Release(RecvOrder());
      wake.Notify(s);
      return v;
    }
    return std::nullopt;
  }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<T> buffer_;
  bool closed_ = false;
  internal::WaitList receivers_;
  internal::WaitList senders_;
};

}  // namespace lab

#endif  // LABRPC_RUNTIME_CHAN_H_
