#include "common/client_address.h"

#include <gtest/gtest.h>

namespace {

using ebb::ClientAddress;

ClientAddress addr(std::string scheme, std::string host, uint16_t port, std::string path = "") {
  return {std::move(scheme), std::move(host), port, std::move(path)};
}

TEST(ClientAddress, OllamaHostFormats) {
  const std::pair<const char*, ClientAddress> cases[] = {
      {"", addr("http", "127.0.0.1", 11434)},
      {"  ", addr("http", "127.0.0.1", 11434)},
      {"example.com", addr("http", "example.com", 11434)},
      {"example.com:8080", addr("http", "example.com", 8080)},
      {":8080", addr("http", "127.0.0.1", 8080)},
      {"8080", addr("http", "127.0.0.1", 8080)},                   // ebb: a bare number is a port
      {"http://example.com", addr("http", "example.com", 11434)},  // as ebb serve --host reads it
      {"http://example.com:11435", addr("http", "example.com", 11435)},
      {"HTTP://example.com:1", addr("http", "example.com", 1)},
      {"https://example.com", addr("https", "example.com", 11434)},
      {"https://example.com:8443/", addr("https", "example.com", 8443)},
      {"http://example.com:8080/ollama/", addr("http", "example.com", 8080, "/ollama")},
      {"http://8080", addr("http", "8080", 11434)},  // with a scheme, a host
      {"0.0.0.0", addr("http", "127.0.0.1", 11434)},
      {"0.0.0.0:9000", addr("http", "127.0.0.1", 9000)},
      {"::", addr("http", "::1", 11434)},
      {"[::]:9000", addr("http", "::1", 9000)},
      {"::1", addr("http", "::1", 11434)},
      {"[::1]", addr("http", "::1", 11434)},
      {"[::1]:8080", addr("http", "::1", 8080)},
      {"http://[fe80::1]:8080", addr("http", "fe80::1", 8080)},
      {" 10.0.0.2:11434 ", addr("http", "10.0.0.2", 11434)},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(ebb::parse_client_address(text), want) << "'" << text << "'";
}

TEST(ClientAddress, OllamaHostsSchemeMeansItsPort) {
  const std::pair<const char*, ClientAddress> cases[] = {
      {"http://example.com", addr("http", "example.com", 80)},
      {"https://example.com", addr("https", "example.com", 443)},
      {"https://example.com/x", addr("https", "example.com", 443, "/x")},
      {"http://example.com:11435", addr("http", "example.com", 11435)},
      {"example.com", addr("http", "example.com", 11434)},
      {":8080", addr("http", "127.0.0.1", 8080)},
      {"8080", addr("http", "127.0.0.1", 8080)},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(ebb::parse_client_address(text, true), want) << text;
  EXPECT_EQ(ebb::resolve_client_address("", nullptr, "http://example.com"), addr("http", "example.com", 80));
  EXPECT_EQ(ebb::resolve_client_address("", "http://example.com", nullptr), addr("http", "example.com", 11434));
  EXPECT_EQ(ebb::resolve_client_address("http://example.com", nullptr, nullptr), addr("http", "example.com", 11434));
}

TEST(ClientAddress, Errors) {
  for (const char* bad : {"example.com:http", "example.com:70000", "ftp://example.com", "[::1]:", "host:"})
    EXPECT_THROW(ebb::parse_client_address(bad), std::invalid_argument) << bad;
}

TEST(ClientAddress, Text) {
  EXPECT_EQ(addr("http", "127.0.0.1", 11434).to_string(), "http://127.0.0.1:11434");
  EXPECT_EQ(addr("https", "::1", 8443, "/x").to_string(), "https://[::1]:8443/x");
  EXPECT_EQ(addr("https", "::1", 8443, "/x").host_port(), "[::1]:8443");
  EXPECT_EQ(addr("http", "h", 1).origin(), "http://h:1");
}

TEST(ClientAddress, FlagThenEbbHostThenOllamaHost) {
  EXPECT_EQ(ebb::resolve_client_address("", nullptr, nullptr), ClientAddress{});
  EXPECT_EQ(ebb::resolve_client_address("", nullptr, "remote:1"), addr("http", "remote", 1));
  EXPECT_EQ(ebb::resolve_client_address("", ":2", "remote:1"), addr("http", "127.0.0.1", 2));
  EXPECT_EQ(ebb::resolve_client_address(":3", ":2", "remote:1"), addr("http", "127.0.0.1", 3));
  EXPECT_EQ(ebb::resolve_client_address("", "", "remote:1"), addr("http", "remote", 1));  // empty: not set
  EXPECT_EQ(ebb::resolve_client_address(" ", " ", nullptr), ClientAddress{});
}

TEST(ClientAddress, ErrorsNameTheirSource) {
  const auto message = [](std::string_view flag, const char* ebb_host, const char* ollama_host) {
    try {
      ebb::resolve_client_address(flag, ebb_host, ollama_host);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message("", nullptr, "x:y"), "OLLAMA_HOST 'x:y': bad port 'y'");
  EXPECT_EQ(message("", "x:y", nullptr), "EBB_HOST 'x:y': bad port 'y'");
  EXPECT_EQ(message("x:y", nullptr, nullptr), "--host 'x:y': bad port 'y'");
  // A bad variable that a higher one overrides is not read.
  EXPECT_EQ(message(":1", "x:y", "x:y"), "");
}

}  // namespace
