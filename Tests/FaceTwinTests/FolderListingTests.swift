import FaceTwin
import Foundation
import XCTest

/// The one folder scanner every reader of identity folders uses: natural order, hidden entries
/// apart, kinds found through symbolic links (a loop of them is an entry, not a hang), image
/// files by extension in any case, and typed errors naming the folder.
final class FolderListingTests: XCTestCase {
    func testListsInNaturalOrderWithHiddenEntriesApart() throws {
        let root = try temporaryDirectory(self)
        let fm = FileManager.default
        for name in ["s10", "s2", "s1", ".git"] {
            try fm.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        for name in ["README.txt", ".DS_Store", "10.PGM", "2.jpg", "1.webp"] {
            try Data("x".utf8).write(to: root.appendingPathComponent(name))
        }
        // A folder named like an image, a link back to the root, a link to itself (a loop).
        try fm.createDirectory(at: root.appendingPathComponent("3.png"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("up").path, withDestinationPath: root.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("4.pgm").path, withDestinationPath: "4.pgm")

        let listing = try FolderListing(root.path)
        XCTAssertEqual(
            listing.entries.map(\.name), ["1.webp", "2.jpg", "3.png", "4.pgm", "10.PGM", "README.txt", "s1", "s2", "s10", "up"])
        XCTAssertEqual(listing.hidden.map(\.name), [".DS_Store", ".git"])
        XCTAssertEqual(listing.folders.map(\.name), ["3.png", "s1", "s2", "s10", "up"])
        XCTAssertEqual(listing.images.map(\.name), ["1.webp", "2.jpg", "4.pgm", "10.PGM"])
        XCTAssertEqual(listing.entries.first { $0.name == "4.pgm" }?.kind, .unresolved)
        XCTAssertEqual(listing.entries.first { $0.name == "s2" }?.path, root.path + "/s2")
        XCTAssertEqual(try FolderListing(root.path + "/").entries.first?.path, root.path + "/1.webp")
        // The link back up is listed, not followed further: its own listing is the root's.
        XCTAssertEqual(try FolderListing(root.path + "/up").entries.map(\.name), listing.entries.map(\.name))
    }

    func testErrorsNameTheFolder() throws {
        let root = try temporaryDirectory(self)
        let missing = root.appendingPathComponent("missing").path
        XCTAssertThrowsError(try FolderListing(missing)) { XCTAssertEqual($0 as? DatasetError, .rootNotFound(path: missing)) }
        let file = root.appendingPathComponent("file.pgm")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try FolderListing(file.path)) {
            XCTAssertEqual($0 as? DatasetError, .notADirectory(path: file.path))
        }
        let loop = root.appendingPathComponent("loop").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: "loop")
        XCTAssertThrowsError(try FolderListing(loop)) { error in
            guard case .unreadableDirectory(loop, let reason)? = error as? DatasetError else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, String(cString: strerror(ELOOP)))
            XCTAssertTrue("\(error)".hasPrefix(loop + ": "), "\(error)")
        }
    }

    /// A subfolder that cannot be listed: the data set's scan names it (root lists any folder, so
    /// a folder of mode 000 is unreadable only to other users).
    func testUnreadableIdentityFolderIsNamed() throws {
        let root = try temporaryDirectory(self)
        let orl = try orlDirectory()
        for id in ["a", "b"] {
            let folder = root.appendingPathComponent(id)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for n in 1...2 {
                try FileManager.default.copyItem(
                    atPath: "\(orl)/s1/\(n).pgm", toPath: folder.appendingPathComponent("\(n).pgm").path)
            }
        }
        let b = root.appendingPathComponent("b").path
        guard getuid() != 0 else {
            // As root, a loop of links in place of the folder stands for it.
            try FileManager.default.removeItem(atPath: b)
            try FileManager.default.createSymbolicLink(atPath: b, withDestinationPath: "b")
            XCTAssertThrowsError(try ImageFolder(root: root.path, width: 8, height: 8, only: ["a", "b"])) { error in
                XCTAssertEqual(error as? DatasetError, .unknownIdentities(root: root.path, names: ["b"]), "\(error)")
            }
            XCTAssertThrowsError(try FolderListing(b)) { XCTAssertTrue("\($0)".hasPrefix(b + ": "), "\($0)") }
            return
        }
        chmod(b, 0)
        defer { chmod(b, 0o755) }
        XCTAssertThrowsError(try ImageFolder(root: root.path, width: 8, height: 8)) { error in
            guard case .unreadableDirectory(b, _)? = error as? DatasetError else { return XCTFail("\(error)") }
        }
    }
}
