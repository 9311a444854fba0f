// swift-tools-version: 6.0
// A program that depends on FaceTwin as any package would. Here by path, from the repository
// this folder is in; elsewhere by URL and version:
//     dependencies: [.package(url: "https://github.com/<owner>/FaceTwin", from: "<version>")],
//     ... dependencies: [.product(name: "FaceTwin", package: "FaceTwin")]
import Foundation
import PackageDescription

// SwiftPM names a package added by path after its folder, whatever the checkout is called.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
    .standardizedFileURL

let package = Package(
    name: "VerifyApp",
    dependencies: [.package(path: repository.path)],
    targets: [
        .executableTarget(
            name: "VerifyApp", dependencies: [.product(name: "FaceTwin", package: repository.lastPathComponent)])
    ]
)
