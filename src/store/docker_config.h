#pragma once
// Registry credentials from Docker's config.json, as `docker login` writes them:
// {"auths": {"<host>": {"auth": base64("user:pass")}}} or {"username": …, "password": …}; keys
// may also be URLs ("https://host", "https://host/v1/"). Credential helpers are not run.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ebb::store {

struct Credentials {
  std::string username, password;
};

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::filesystem::path docker_config_path();
// The credentials config.json holds for a host (host[:port], compared without case); nullopt
// when there are none or the entry is malformed.
std::optional<Credentials> docker_credentials(const nlohmann::json& config, std::string_view host);
// The same, read from docker_config_path(); a missing or unreadable file has none.
std::optional<Credentials> docker_credentials(std::string_view host);

std::string base64_encode(std::string_view bytes);
// nullopt for text that is not base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ebb::store
