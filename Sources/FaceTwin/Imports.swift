@_exported import FaceTwinGallery
@_exported import FaceTwinReport
/// FaceTwin: face verification in Swift. `import FaceTwin` gives the whole public API; each
/// layer is also a module of its own (docs/DESIGN.md: the layers of the code).
@_exported import FaceTwinTraining
