// swift-tools-version: 6.0
import Foundation
import PackageDescription

// The engine's hot loops use 8-wide SIMD with fused multiply-add. They compile to AVX2/FMA
// only when the compiler may assume those instructions, so build for them when this machine
// has them (the package is built where it runs); FACETWIN_PORTABLE=1 turns this off.
let cpuInfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
let hasAVX2FMA = cpuInfo.contains(" avx2") && cpuInfo.contains(" fma")
let portable = ProcessInfo.processInfo.environment["FACETWIN_PORTABLE"] == "1"
let simdFlags: [String] = hasAVX2FMA && !portable ? ["-target-cpu", "haswell"] : []

// The Swift settings of every library target.
let librarySettings: [SwiftSetting] = [
    // -O in both configurations. Debug too: the engine's SIMD loops run ~100× slower
    // unoptimized, and tests train real networks. Not -Ounchecked: overflow and bounds
    // checks stay on in the option, header and size arithmetic, so a hostile value
    // traps instead of wrapping; docs/PERFORMANCE.md measures what they cost.
    .unsafeFlags(["-O"]),
    .unsafeFlags(simdFlags),
]

func libraryTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .target(name: name, dependencies: dependencies, swiftSettings: librarySettings)
}

let package = Package(
    name: "FaceTwin",
    products: [
        .library(name: "FaceTwin", targets: ["FaceTwin"]),
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
    ],
    targets: [
        // OpenBLAS is opened with dlopen at first use, or portable kernels run under a memory limit
        // (see Sources/COpenBLAS/openblas.c).
        .target(name: "COpenBLAS", cSettings: [.unsafeFlags(["-O3"])], linkerSettings: [.linkedLibrary("dl")]),
        // FaceTwin's own AVX2/FMA kernels for the big linear layer: its forward GEMM, its weight
        // gradient folded into Adam, and the sparse product of a frozen network's first linear
        // layer (runtime-checked; OpenBLAS and Adam.swift otherwise).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])], linkerSettings: [.linkedLibrary("m")]),
        // SHA-256's compression function with the x86 SHA extensions (runtime-checked).
        .target(name: "CHash", cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "CNetpbm",
            linkerSettings: [.linkedLibrary("netpbm")]
        ),
        // Face detection and eye landmarks: dlib (Debian libdlib-dev; the landmark model is in
        // libdlib-data) behind a C interface, C++ exceptions caught at the boundary.
        .target(
            name: "CFaceDetect",
            cxxSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("dlib"), .linkedLibrary("lapack"), .linkedLibrary("blas"), .linkedLibrary("pthread")]
        ),
        // dlib's face-recognition ResNet (deserialise, export parameters, dlib's own forward) and
        // its 5-point chip alignment behind a C interface; the DNN templates compile in one file.
        .target(
            name: "CDlibNet",
            cxxSettings: [.unsafeFlags(["-O2"])],
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
        libraryTarget("FaceTwinSupport", ["CHash"]),
        libraryTarget("FaceTwinTensor", ["COpenBLAS", "CKernels"]),
        libraryTarget("FaceTwinLayers", ["FaceTwinTensor", "CKernels"]),
        libraryTarget("FaceTwinNetwork", ["FaceTwinLayers", "FaceTwinSupport"]),
        libraryTarget("FaceTwinData", ["FaceTwinSupport", "FaceTwinTensor", "CNetpbm", "CImageCodecs"]),
        libraryTarget("FaceTwinDetection", ["FaceTwinData", "CFaceDetect", "CDlibNet"]),
        libraryTarget("FaceTwinModel", ["FaceTwinNetwork", "FaceTwinDetection", "CDlibNet"]),
        libraryTarget("FaceTwinEvaluation", ["FaceTwinModel"]),
        libraryTarget("FaceTwinTraining", ["FaceTwinEvaluation", "CKernels"]),
        libraryTarget("FaceTwinGallery", ["FaceTwinEvaluation", .product(name: "GRDB", package: "GRDB.swift")]),
        libraryTarget("FaceTwinReport", ["FaceTwinEvaluation"]),
        libraryTarget("FaceTwin", ["FaceTwinTraining", "FaceTwinGallery", "FaceTwinReport"]),
        // The gallery on a PostgreSQL server (`--gallery postgres://…`), beside the SQLite one.
        .target(
            name: "FaceTwinPostgres",
            dependencies: ["FaceTwin", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        // The HTTP service of `facetwin serve`: routes, handlers, keys, metrics and the web page.
        .target(
            name: "FaceTwinServer",
            dependencies: [
                "FaceTwin",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
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
            dependencies: ["FaceTwin", "FaceTwinPostgres"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .release))]
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
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
