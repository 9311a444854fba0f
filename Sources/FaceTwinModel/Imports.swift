@_exported import FaceTwinDetection
// What FaceTwinModel builds on is part of its API: re-exported.
@_exported import FaceTwinNetwork
