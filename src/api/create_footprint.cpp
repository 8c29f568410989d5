#include "api/create_footprint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/human_format.h"
#include "common/options.h"

namespace ebb::api {

std::optional<nlohmann::json> quantize_footprint(ServerContext ctx, const std::string& model,
                                                 const std::filesystem::path& source, const std::string& type) {
  try {
    ctx.registry.refresh();
    auto after = ctx.registry.find(model);
    if (!after) throw std::runtime_error("the new model is not listed");
    ContextOptions options;
    if (after->stored && !after->stored->layers.params.empty())
      options = parse_options(after->stored->layers.params).context;
    // The source differs only in its file: same context, same settings, same trained length.
    supervisor::ModelEntry before = *after;
    before.path = source.string();
    before.file_size = std::filesystem::file_size(source);
    before.mtime_ns = std::filesystem::last_write_time(source).time_since_epoch().count();
    const memory::Footprint a = ctx.manager.dry_run(before, options);
    const memory::Footprint b = ctx.manager.dry_run(*after, options);
    return nlohmann::json{{"status", fmt::format("footprint at num_ctx {}: {} before, {} after {}", b.n_ctx,
                                                 human_bytes(a.total()), human_bytes(b.total()), type)},
                          {"footprint",
                           {{"num_ctx", b.n_ctx},
                            {"before", a.total()},
                            {"after", b.total()},
                            {"weights_before", a.weights},
                            {"weights_after", b.weights}}}};
  } catch (const std::exception& e) {
    spdlog::warn("create {}: no footprint to report: {}", model, e.what());
    return std::nullopt;
  }
}

}  // namespace ebb::api
