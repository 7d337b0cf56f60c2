#pragma once
// The narrow interface through which the main job hands its final parcels to what keeps them
// beyond one run (the case ledger, ledger/ledger_sink.hpp). The pipeline knows only this
// interface; app/ wires an implementation in.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <ogr_spatialref.h>

#include "pipeline/core/config.hpp"
#include "pipeline/core/parcel.hpp"

namespace weipian {

class ParcelSink {
public:
    virtual ~ParcelSink() = default;

    // Its section in run.json and its entry in timings_s (e.g. "ledger").
    virtual std::string name() const = 0;

    // Receives the run's final parcels (after the overlay, patch types and pre-judgement;
    // geometry in `srs`) before the outputs are written into the staging folder, and may set
    // each parcel's case_id and lead_id, which the outputs then carry. A throw fails the run
    // and no output appears. An implementation is all-or-nothing (one transaction), so a crash
    // after it returns is harmless (a rerun feeds nothing new and sets the same ids). Returns
    // the section written into run.json.
    virtual nlohmann::json accept(std::vector<Parcel>& parcels, const OGRSpatialReference& srs,
                                  const Config& config) = 0;
};

}  // namespace weipian
