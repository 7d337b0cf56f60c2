#pragma once
// The case ledger as the main job's ParcelSink (pipeline/core/parcel_sink.hpp): app/ wires it
// into `weipian run`, so the pipeline never includes the ledger.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/config.hpp"
#include "pipeline/core/parcel_sink.hpp"

namespace weipian {

// Feeds the run's parcels into config.ledger (feed_ledger, one transaction) with the context
// of the run (feed_context_for); returns LedgerFeedSummary::to_json() for run.json's "ledger".
// With output.chips on, each case it creates or updates gets chip_before / chip_after =
// <absolute output.dir>/chips/<parcel id>_qsx.jpg / _hsx.jpg (FeedContext::chips_dir): the
// chips the main job writes right after the sink, valid once the output folder is in place.
class LedgerSink final : public ParcelSink {
public:
    std::string name() const override { return "ledger"; }
    nlohmann::json accept(std::vector<Parcel>& parcels, const OGRSpatialReference& srs,
                          const Config& config) override;
};

}  // namespace weipian
