// What FaceTwinGallery builds on is part of its API: re-exported.
@_exported import FaceTwinModel
