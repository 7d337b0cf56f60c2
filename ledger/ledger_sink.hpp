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
class LedgerSink final : public ParcelSink {
public:
    std::string name() const override { return "ledger"; }
    nlohmann::json accept(std::vector<Parcel>& parcels, const OGRSpatialReference& srs,
                          const Config& config) override;
};

}  // namespace weipian
