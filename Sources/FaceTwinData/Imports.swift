// What FaceTwinData builds on is part of its API: re-exported.
@_exported import FaceTwinSupport
@_exported import FaceTwinTensor
