// What FaceTwinNetwork builds on is part of its API: re-exported.
@_exported import FaceTwinLayers
@_exported import FaceTwinSupport
