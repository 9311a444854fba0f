// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "FaceTwin",
    products: [
        .library(name: "FaceTwin", targets: ["FaceTwin"]),
        .executable(name: "facetwin", targets: ["facetwin"]),
        .executable(name: "facetwin-bench", targets: ["facetwin-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "CNetpbm",
            linkerSettings: [.linkedLibrary("netpbm")]
        ),
        .target(
            name: "FaceTwin",
            dependencies: ["CBLAS", "CNetpbm"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "facetwin",
            dependencies: [
                "FaceTwin",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "facetwin-bench",
            dependencies: ["FaceTwin"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .testTarget(
            name: "FaceTwinTests",
            dependencies: ["FaceTwin"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
