// swift-tools-version: 6.0
import PackageDescription

// No unsafe flags, so that a package can depend on FaceTwin by version: the optimisation comes
// from the build configuration (`-c release`; the tests too, with -enable-testing), and the
// kernels choose AVX2/FMA at run time (Sources/CKernels/cpu.c), so a release binary runs on any
// x86-64.
let package = Package(
    name: "FaceTwin",
    products: [
        .library(name: "FaceTwin", targets: ["FaceTwin"]),
        .executable(name: "facetwin", targets: ["facetwin"]),
        .executable(name: "facetwin-bench", targets: ["facetwin-bench"]),
        .executable(name: "facetwin-dlib-bench", targets: ["facetwin-dlib-bench"]),
    ],
    dependencies: [
        // Pinned to exact versions: an application pins what it ships with. (Package.resolved is
        // not committed: the package mirrors this project builds from carry their own commit ids.)
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // `swift package generate-documentation` (scripts/docs.sh); a plugin, not linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
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
        .target(
            name: "FaceTwin",
            dependencies: ["COpenBLAS", "CKernels", "CHash", "CNetpbm", "CImageCodecs", "CFaceDetect", "CDlibNet", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .executableTarget(
            name: "facetwin",
            dependencies: [
                "FaceTwin",
                "COpenBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "facetwin-bench",
            dependencies: ["FaceTwin"]
        ),
        // dlib's own forward of its ResNet, timed (scripts/bench.sh); only the C++ piece, so a
        // release build of it does not rebuild the library.
        .executableTarget(name: "facetwin-dlib-bench", dependencies: ["CDlibNet"]),
        .testTarget(
            name: "FaceTwinTests",
            dependencies: ["FaceTwin", .product(name: "GRDB", package: "GRDB.swift")],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
