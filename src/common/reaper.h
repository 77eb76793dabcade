#pragma once
// Destruction off the request path.
//
// Shared state that the I/O threads hold per request (the AI cache, which
// may hold a quarter of a GB; the Redis backend and the fleet-limits
// syncer, whose destructors join their threads; the audit writer) is
// replaced by a config change while requests still hold the old one. The
// last of those requests would then run the destructor on an I/O thread
// and stall every connection served by it. A shared_ptr made by reaped()
// hands its object to one background thread when its last owner lets go
// on a thread marked non-blocking (the I/O threads mark themselves);
// anywhere else it is deleted in place, as a plain shared_ptr would.
#include <functional>
#include <memory>

namespace spectra {

// Marks the calling thread as one that must not block (an I/O thread).
void mark_nonblocking_thread();
bool on_nonblocking_thread();

// Runs `destroy` on the reaper thread, in the order of the calls. While
// the process is exiting (the reaper already stopped) it runs here.
void reap(std::function<void()> destroy);

// Waits until everything handed to reap() so far has run (for tests and
// orderly shutdown).
void drain_reaper();

template <class T>
std::shared_ptr<T> reaped(T* object) {
  return std::shared_ptr<T>(object, [](T* p) {
    if (on_nonblocking_thread()) {
      reap([p] { delete p; });
    } else {
      delete p;
    }
  });
}

template <class T>
std::shared_ptr<T> reaped(std::unique_ptr<T> object) {
  return reaped(object.release());
}

}  // namespace spectra
