// swift-tools-version: 6.0
// A program that depends on FaceTwin as any package would. Here by path, from the repository;
// elsewhere by URL and version:
//     .package(url: "https://github.com/<owner>/FaceTwin", from: "<version>")
import PackageDescription

let package = Package(
    name: "VerifyApp",
    dependencies: [.package(path: "../..")],
    targets: [.executableTarget(name: "VerifyApp", dependencies: ["FaceTwin"])]
)
