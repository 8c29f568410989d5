#pragma once
// Notices a client that hung up while its request waits (for memory, a slot, or a non-streamed
// answer). cpp-httplib only notices a disconnect when it writes, so the supervisor finds the
// request's socket itself (by the peer's address and port) and polls it.
#include <string>

namespace ebb::api {

class ClientWatch {
 public:
  ClientWatch(const std::string& remote_addr, int remote_port);
  // True once the peer has closed its side (or reset the connection).
  bool gone() const;
  // True when a short write to the socket would not block now (false when not watching).
  bool writable_now() const;
  bool watching() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace ebb::api
