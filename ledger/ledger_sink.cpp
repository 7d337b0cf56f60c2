#include "ledger/ledger_sink.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "ledger/ledger.hpp"

namespace weipian {

nlohmann::json LedgerSink::accept(std::vector<Parcel>& parcels, const OGRSpatialReference& srs,
                                  const Config& config) {
    FeedContext context = feed_context_for(config);
    // The main job writes the chips right after the sink into its output folder, which appears
    // whole at the end: the paths are those of the final folder.
    if (config.package.chips)
        context.chips_dir = (std::filesystem::absolute(config.output_dir) / "chips").lexically_normal().string();
    return feed_ledger(config.ledger, parcels, srs, context).to_json();
}

}  // namespace weipian
