// swift-tools-version: 6.0
import PackageDescription

// No unsafe flags, so that a package can depend on FaceTwin by version: the optimisation comes
// from the build configuration (`-c release`; the tests too, with -enable-testing), and the
// kernels choose AVX2/FMA at run time (Sources/CKernels/cpu.c), so a release binary runs on any
// x86-64.

func libraryTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .target(name: name, dependencies: dependencies)
}

let package = Package(
    name: "FaceTwin",
    products: [
        .library(name: "FaceTwin", targets: ["FaceTwin"]),
        // The PostgreSQL gallery (`GalleryStores`, `PostgresGallery`) and the HTTP service
        // (`FaceServer`), each a product of its own so that a dependent pulls SwiftNIO only with them.
        .library(name: "FaceTwinPostgres", targets: ["FaceTwinPostgres"]),
        .library(name: "FaceTwinServer", targets: ["FaceTwinServer"]),
        .executable(name: "facetwin", targets: ["facetwin"]),
        .executable(name: "facetwin-bench", targets: ["facetwin-bench"]),
    ],
    dependencies: [
        // Pinned to exact versions: an application pins what it ships with. (Package.resolved is
        // not committed: the package mirrors this project builds from carry their own commit ids.)
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // The PostgreSQL gallery (FaceTwinPostgres only: the core library does not pull SwiftNIO).
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        // `facetwin serve` (FaceTwinServer): Hummingbird 2 and Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        // FaceServer's run and stop (a ServiceGroup); the version Hummingbird resolves to.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
    ],
    targets: [
        // OpenBLAS is opened with dlopen at first use, or portable kernels run under a memory limit
        // (see Sources/COpenBLAS/openblas.c).
        .target(name: "COpenBLAS", dependencies: ["CKernels"], linkerSettings: [.linkedLibrary("dl")]),
        // FaceTwin's own kernels and the CPU check that chooses their AVX2/FMA or portable build:
        // the big linear layer's forward GEMM, its weight gradient folded into Adam, the sparse
        // product of a frozen network's first linear layer (AVX2 only: OpenBLAS and Adam.swift
        // otherwise), the direct convolutions (both builds).
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("m")]),
        // SHA-256's compression function with the x86 SHA extensions (runtime-checked).
        .target(name: "CHash"),
        .target(
            name: "CNetpbm",
            linkerSettings: [.linkedLibrary("netpbm")]
        ),
        // Face detection and eye landmarks: dlib (Debian libdlib-dev; the landmark model is in
        // libdlib-data) behind a C interface, C++ exceptions caught at the boundary.
        .target(
            name: "CFaceDetect",
            linkerSettings: [.linkedLibrary("dlib"), .linkedLibrary("lapack"), .linkedLibrary("blas"), .linkedLibrary("pthread")]
        ),
        // dlib's face-recognition ResNet (deserialise, export parameters, dlib's own forward) and
        // its 5-point chip alignment behind a C interface; the DNN templates compile in one file.
        .target(
            name: "CDlibNet",
            linkerSettings: [.linkedLibrary("dlib"), .linkedLibrary("lapack"), .linkedLibrary("blas"), .linkedLibrary("pthread")]
        ),
        // JPEG (libjpeg-turbo) and PNG (libpng) behind setjmp error recovery, WebP (libwebp and
        // its demuxer, Debian libwebp-dev); see its header.
        .target(
            name: "CImageCodecs",
            linkerSettings: [
                .linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"), .linkedLibrary("webpdemux"),
            ]
        ),
        // The library, one target per layer (docs/DESIGN.md): a target imports only those below
        // it, so an arrow pointing back is a build error. Each re-exports what it depends on
        // (its Imports.swift), and `FaceTwin` re-exports them all.
        libraryTarget("FaceTwinSupport", ["CHash", "CKernels"]),
        libraryTarget("FaceTwinTensor", ["COpenBLAS", "CKernels"]),
        libraryTarget("FaceTwinLayers", ["FaceTwinTensor", "CKernels"]),
        libraryTarget("FaceTwinNetwork", ["FaceTwinLayers", "FaceTwinSupport"]),
        libraryTarget("FaceTwinData", ["FaceTwinSupport", "FaceTwinTensor", "CNetpbm", "CImageCodecs"]),
        libraryTarget("FaceTwinDetection", ["FaceTwinData", "CFaceDetect", "CDlibNet"]),
        libraryTarget("FaceTwinModel", ["FaceTwinNetwork", "FaceTwinDetection", "CDlibNet"]),
        libraryTarget("FaceTwinEvaluation", ["FaceTwinModel"]),
        libraryTarget("FaceTwinTraining", ["FaceTwinEvaluation", "CKernels"]),
        libraryTarget("FaceTwinGallery", ["FaceTwinModel", "CKernels", .product(name: "GRDB", package: "GRDB.swift")]),
        libraryTarget("FaceTwinReport", ["FaceTwinEvaluation"]),
        libraryTarget("FaceTwin", ["FaceTwinTraining", "FaceTwinGallery", "FaceTwinReport"]),
        // The gallery on a PostgreSQL server (`--gallery postgres://…`), beside the SQLite one.
        .target(
            name: "FaceTwinPostgres",
            dependencies: ["FaceTwin", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        // The HTTP service of `facetwin serve`: routes, handlers, keys, metrics and the web page
        // (on either gallery: FaceServer(model:gallery:configuration:) opens a URL).
        .target(
            name: "FaceTwinServer",
            dependencies: [
                "FaceTwin",
                "FaceTwinPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "facetwin",
            dependencies: [
                "FaceTwin",
                "FaceTwinPostgres",
                "FaceTwinServer",
                "COpenBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "facetwin-bench",
            dependencies: ["FaceTwin", "FaceTwinPostgres"]
        ),
        .testTarget(
            name: "FaceTwinTests",
            dependencies: ["FaceTwin", "FaceTwinPostgres", .product(name: "GRDB", package: "GRDB.swift")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "FaceTwinServerTests",
            dependencies: [
                "FaceTwinServer", "FaceTwin",
                // ServerPostgresTests: a database of its own for two servers on one gallery.
                "FaceTwinPostgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
