#pragma once
// A request the runner refuses because of what it asked for (bad template, grammar, too long):
// the supervisor answers the client with `status` (400) instead of 500.
#include <stdexcept>
#include <string>

namespace ebb::runner {

class RequestError : public std::invalid_argument {
 public:
  explicit RequestError(const std::string& what, int status = 400) : std::invalid_argument(what), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace ebb::runner
