#include "ledger/ledger_sink.hpp"

#include <nlohmann/json.hpp>

#include "ledger/ledger.hpp"

namespace weipian {

nlohmann::json LedgerSink::accept(std::vector<Parcel>& parcels, const OGRSpatialReference& srs,
                                  const Config& config) {
    return feed_ledger(config.ledger, parcels, srs, feed_context_for(config)).to_json();
}

}  // namespace weipian
