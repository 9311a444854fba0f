import Foundation
import GRDB
import XCTest

@testable import FaceTwin
@testable import FaceTwinData
@testable import FaceTwinGallery
@testable import FaceTwinSupport

/// Files under stress: concurrent first use of a gallery, read-only opens, the one output
/// routine (devices, FIFOs, symlinks, modes, stale temporaries), readers that refuse named
/// pipes, and SIGKILL at every write point of gallery creation and model saves.
final class FileSafetyTests: XCTestCase {
    // MARK: Process helpers

    /// Starts `facetwin` without waiting; `environment` adds variables.
    func startFacetwin(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = facetwinExecutable()
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    func finish(_ p: (Process, Pipe, Pipe)) -> RunResult {
        let o = p.1.fileHandleForReading.readDataToEndOfFile()
        let e = p.2.fileHandleForReading.readDataToEndOfFile()
        p.0.waitUntilExit()
        let status = p.0.terminationReason == .uncaughtSignal ? -p.0.terminationStatus : p.0.terminationStatus
        return RunResult(status: status, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs `facetwin`, killing it after `seconds` (a hang fails the test instead of the suite).
    func runFacetwin(_ arguments: [String], timeout seconds: Double, environment: [String: String] = [:]) throws -> RunResult {
        let p = try startFacetwin(arguments, environment: environment)
        let deadline = DispatchTime.now() + seconds
        DispatchQueue.global().asyncAfter(deadline: deadline) { if p.0.isRunning { kill(p.0.processIdentifier, SIGKILL) } }
        return finish(p)
    }

    func temporaries(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(OutputFile.temporaryMarker) }
    }

    func identities(_ gallery: String) throws -> [String] {
        try Gallery(path: gallery).identities().map(\.name)
    }

    // MARK: 1. Concurrent first use

    /// Several `enroll`s create and fill one new gallery at the same moment while `verify`s
    /// read it: every writer that reports success has its identity in the final gallery, and
    /// nobody fails except readers that came before there was a gallery or an identity.
    /// FACETWIN_STRESS_TRIALS sets the number of trials (5 by default).
    func testConcurrentFirstEnrollsAllLand() throws {
        let fx = try GalleryFixture(self)
        let trials = Int(ProcessInfo.processInfo.environment["FACETWIN_STRESS_TRIALS"] ?? "") ?? 5
        let writers = 4
        let photos = (0..<writers).map { fx.photo($0 + 1) }
        var failures: [String] = []
        var lost = 0, writerErrors = 0, readerErrors = 0, readerOK = 0
        for trial in 0..<trials {
            let gallery = fx.dir.appendingPathComponent("g\(trial).sqlite").path
            var running: [(String, (Process, Pipe, Pipe))] = []
            for w in 0..<writers {
                running.append(
                    (
                        "w\(w)",
                        try startFacetwin(["enroll", "--gallery", gallery, "--model", fx.modelPath, "--name", "w\(w)", photos[w]])
                    ))
            }
            for r in 0..<2 {
                running.append(
                    (
                        "r\(r)",
                        try startFacetwin(["verify", "--gallery", gallery, "--model", fx.modelPath, "--claim", "w\(r)", photos[r]]
                        )
                    ))
            }
            var succeeded: [String] = []
            for (name, p) in running {
                let result = finish(p)
                if name.hasPrefix("w") {
                    if result.status == 0 {
                        succeeded.append(name)
                    } else {
                        writerErrors += 1
                        failures.append("trial \(trial) \(name): \(result.status) \(result.stderr)")
                    }
                } else if result.status == 0 || result.status == 1 {
                    readerOK += 1
                } else if result.status == 2
                    && (result.stderr.contains("no gallery here") || result.stderr.contains("no identity named")
                        || result.stderr.contains("has no identities"))
                {
                    readerOK += 1  // came before the gallery or the identity existed
                } else {
                    readerErrors += 1
                    failures.append("trial \(trial) \(name): \(result.status) \(result.stderr)")
                }
            }
            let present = Set(try identities(gallery))
            for name in succeeded where !present.contains(name) {
                lost += 1
                failures.append("trial \(trial): \(name) reported success but is missing")
            }
            XCTAssertEqual(try temporaries(in: fx.dir), [], "trial \(trial)")
        }
        print(
            "concurrency: \(trials) trials × \(writers) writers: \(writerErrors) writer errors, \(lost) lost, \(readerErrors) reader errors, \(readerOK) reader runs fine"
        )
        XCTAssertEqual(failures, [])
    }

    // MARK: Unfinished galleries

    func testUnfinishedGalleriesAreRecoveredForeignOnesAreNot() throws {
        let fx = try GalleryFixture(self)
        // A 0-byte file, as a kill during an older version's creation left.
        let empty = fx.dir.appendingPathComponent("empty.sqlite").path
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: nil))
        var r = try runFacetwin(["enroll", "--gallery", empty, "--model", fx.modelPath, "--name", "a", fx.photo(1)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try identities(empty), ["a"])

        // FaceTwin's marker without the tables: ours, unfinished.
        let marked = fx.dir.appendingPathComponent("marked.sqlite").path
        try DatabaseQueue(path: marked).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA application_id = \(Gallery.applicationID)")
        }
        XCTAssertThrowsError(try Gallery(path: marked)) { XCTAssertTrue("\($0)".contains("unfinished"), "\($0)") }
        r = try runFacetwin(["enroll", "--gallery", marked, "--model", fx.modelPath, "--name", "b", fx.photo(2)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try identities(marked), ["b"])

        // An empty SQLite database without the marker is not provably ours: refused, unchanged.
        let foreign = fx.dir.appendingPathComponent("foreign.sqlite").path
        try DatabaseQueue(path: foreign).writeWithoutTransaction { db in try db.execute(sql: "PRAGMA user_version = 7") }
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        r = try runFacetwin(["enroll", "--gallery", foreign, "--model", fx.modelPath, "--name", "c", fx.photo(3)], timeout: 60)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("not a FaceTwin gallery"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: foreign)), before)

        // A temporary left by a process that is gone is removed by the next writer.
        let stale = fx.dir.appendingPathComponent(".g.sqlite\(OutputFile.temporaryMarker)999999999-abc")
        try Data("x".utf8).write(to: stale)
        r = try runFacetwin(["enroll", "--gallery", empty, "--name", "d", fx.photo(4)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try temporaries(in: fx.dir), [])
    }

    // MARK: 2. Read-only use

    struct FileState: Equatable {
        var bytes: Data
        var modified: Date
        var companions: [String]
    }

    func state(_ path: String) throws -> FileState {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let companions = ["-wal", "-shm", "-journal"].filter { FileManager.default.fileExists(atPath: path + $0) }
        return FileState(
            bytes: try Data(contentsOf: URL(fileURLWithPath: path)), modified: attributes[.modificationDate] as! Date,
            companions: companions)
    }

    func testReadOnlyCommandsWriteNothing() throws {
        let fx = try GalleryFixture(self)
        let folder = fx.dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        let gallery = folder.appendingPathComponent("g.sqlite").path
        var r = try runFacetwin(
            ["enroll", "--gallery", gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        chmod(gallery, 0o444)
        chmod(folder.path, 0o555)
        defer { chmod(folder.path, 0o755) }
        let before = try state(gallery)
        XCTAssertEqual(before.companions, [])
        Thread.sleep(forTimeInterval: 0.02)  // a write would show in the modification time
        for arguments in [
            ["gallery", "list", "--gallery", gallery], ["gallery", "show", "--gallery", gallery, "alice"],
            ["verify", "--gallery", gallery, "--claim", "alice", fx.photo(1)],
            ["identify", "--gallery", gallery, fx.photo(1)]
        ] {
            r = try runFacetwin(arguments, timeout: 60)
            XCTAssertEqual(r.status, 0, "\(arguments): \(r.stderr)")
            XCTAssertEqual(try state(gallery), before, "\(arguments)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["g.sqlite"])

        // Another application's SQLite file: refused, and not converted to WAL on the way.
        let other = fx.dir.appendingPathComponent("other.sqlite").path
        try DatabaseQueue(path: other).write { db in try db.execute(sql: "CREATE TABLE t (x); INSERT INTO t VALUES (1)") }
        let otherBefore = try state(other)
        for arguments in [
            ["gallery", "list", "--gallery", other],
            ["verify", "--gallery", other, "--model", fx.modelPath, "--claim", "x", fx.photo(1)],
            ["enroll", "--gallery", other, "--model", fx.modelPath, "--name", "x", fx.photo(1)]
        ] {
            r = try runFacetwin(arguments, timeout: 60)
            XCTAssertEqual(r.status, 2, "\(arguments)")
            XCTAssertTrue(r.stderr.contains("not a FaceTwin gallery"), r.stderr)
            XCTAssertEqual(try state(other), otherBefore, "\(arguments)")
        }
        let mode = try DatabaseQueue(
            path: other,
            configuration: {
                var c = Configuration(); c.readonly = true; return c
            }()
        )
        .read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "delete")
    }

    // MARK: 3. One output routine

    /// A gallery whose last write was interrupted after its rollback journal was written (a
    /// hot journal): read-only commands say so in one line and write nothing, even in a
    /// read-only folder; the next enroll rolls the journal back and goes on.
    func testInterruptedWriteIsReportedByReadersAndRolledBackByAnEnroll() throws {
        let fx = try GalleryFixture(self)
        var r = try runFacetwin(
            ["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        let folder = fx.dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        let gallery = folder.appendingPathComponent("g.sqlite").path
        try copyWithInterruptedWrite(fx.gallery, to: gallery)
        chmod(folder.path, 0o555)
        defer { chmod(folder.path, 0o755) }
        let before = try state(gallery)
        XCTAssertEqual(before.companions, ["-journal"])
        for arguments in [
            ["gallery", "list", "--gallery", gallery], ["verify", "--gallery", gallery, "--claim", "alice", fx.photo(1)],
            ["identify", "--gallery", gallery, "--model", fx.modelPath, fx.photo(1)]
        ] {
            r = try runFacetwin(arguments, timeout: 60)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertEqual(
                r.stderr,
                "facetwin: error: \(gallery): an interrupted write left its rollback journal (\(gallery)-journal), which a "
                    + "read-only command cannot undo; a command that writes the gallery (enroll, gallery remove, gallery rename), "
                    + "run by a user who may write its folder, rolls it back\n"
            )
            XCTAssertEqual(try state(gallery), before, "\(arguments)")
        }
        chmod(folder.path, 0o755)
        r = try runFacetwin(
            ["enroll", "--gallery", gallery, "--model", fx.modelPath, "--name", "bob", fx.photo(2)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Gallery(path: gallery).identities().map(\.name), ["alice", "bob"])
        XCTAssertEqual(try state(gallery).companions, [])
    }

    /// Every command that writes a gallery rolls back a killed write's journal and goes on: an
    /// enroll with the gallery's own model (no --model), gallery remove, gallery rename.
    func testEveryWritingCommandRollsBackAnInterruptedWrite() throws {
        let fx = try GalleryFixture(self)
        var r = try runFacetwin(
            ["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--name", "bob", fx.photo(2)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        let cases: [(arguments: (String) -> [String], names: [String])] = [
            ({ ["enroll", "--gallery", $0, "--name", "carol", fx.photo(3)] }, ["alice", "bob", "carol"]),
            ({ ["gallery", "remove", "--gallery", $0, "bob"] }, ["alice"]),
            ({ ["gallery", "rename", "--gallery", $0, "bob", "robert"] }, ["alice", "robert"])
        ]
        for (k, c) in cases.enumerated() {
            let gallery = fx.dir.appendingPathComponent("interrupted-\(k).sqlite").path
            try copyWithInterruptedWrite(fx.gallery, to: gallery)
            XCTAssertEqual(try state(gallery).companions, ["-journal"])
            r = try runFacetwin(c.arguments(gallery), timeout: 60)
            XCTAssertEqual(r.status, 0, "\(c.arguments(gallery)): \(r.stderr)")
            XCTAssertEqual(try Gallery(path: gallery).identities().map(\.name), c.names)
            XCTAssertEqual(try state(gallery).companions, [], "\(c.arguments(gallery))")
        }
    }

    func testOutputFileRefusesWhatIsNotARegularFile() throws {
        let dir = try temporaryDirectory(self)
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        for (path, kind) in [("/dev/null", "a character device"), (fifo, "a named pipe"), (dir.path, "a directory")] {
            XCTAssertThrowsError(try OutputFile.write("x", to: path)) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(path): is \(kind)"), "\(error)")
            }
        }
        var st = stat()
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
        XCTAssertEqual(st.st_mode & 0o777, 0o666, "/dev/null keeps its mode")
        XCTAssertEqual(try temporaries(in: dir), [])

        // enroll --gallery /dev/null and verify --pairs --out /dev/null are refused, /dev/null untouched.
        let fx = try GalleryFixture(self)
        let r = try runFacetwin(
            ["enroll", "--gallery", "/dev/null", "--model", fx.modelPath, "--name", "a", fx.photo(1)], timeout: 60)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(
            r.stderr.hasPrefix("facetwin: error: /dev/null: not a FaceTwin gallery (it is a character device"), r.stderr)
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o666)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
    }

    func testOutputFileFollowsSymlinksKeepsModesAndCleansStaleTemporaries() throws {
        let dir = try temporaryDirectory(self)
        let previous = umask(0)
        defer { umask(previous) }
        // New files: 0600 whatever the umask.
        let fresh = dir.appendingPathComponent("new.csv").path
        try OutputFile.write("a\n", to: fresh)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: fresh)[.posixPermissions] as? Int, 0o600)
        // An existing file keeps its mode.
        chmod(fresh, 0o640)
        try OutputFile.write("b\n", to: fresh)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: fresh)[.posixPermissions] as? Int, 0o640)
        XCTAssertEqual(try String(contentsOfFile: fresh, encoding: .utf8), "b\n")
        // A symlink stays a link; its target gets the content (also a dangling link's target).
        let link = dir.appendingPathComponent("link.csv").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "new.csv")
        try OutputFile.write("c\n", to: link)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "new.csv")
        XCTAssertEqual(try String(contentsOfFile: fresh, encoding: .utf8), "c\n")
        let dangling = dir.appendingPathComponent("dangling.csv").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "target.csv")
        try OutputFile.write("d\n", to: dangling)
        XCTAssertEqual(try String(contentsOfFile: dir.appendingPathComponent("target.csv").path, encoding: .utf8), "d\n")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dangling), "target.csv")
        // Stale temporaries (dead pid) go; a live process's stay.
        let stale = dir.appendingPathComponent(".x.csv\(OutputFile.temporaryMarker)999999999-1f").path
        let staleJournal = dir.appendingPathComponent(".g.sqlite\(OutputFile.temporaryMarker)999999999-2e-journal").path
        let live = dir.appendingPathComponent(".x.csv\(OutputFile.temporaryMarker)1-3d").path  // pid 1 is alive
        for p in [stale, staleJournal, live] { try Data().write(to: URL(fileURLWithPath: p)) }
        try OutputFile.write("e\n", to: fresh)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleJournal))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
        // A staged file dropped without commit leaves nothing.
        do {
            let staged = try OutputFile.stage(fresh)
            try staged.write(Data("f\n".utf8))
        }
        XCTAssertEqual(try String(contentsOfFile: fresh, encoding: .utf8), "e\n")
        XCTAssertEqual(try temporaries(in: dir), [live].map { URL(fileURLWithPath: $0).lastPathComponent })
    }

    /// The history records the model's fingerprint and is renamed first: a history beside a
    /// model it does not describe is detected.
    func testModelAndHistoryAreWrittenAsAPair() throws {
        let dir = try temporaryDirectory(self)
        let modelPath = dir.appendingPathComponent("m.safetensors").path
        let historyPath = TrainingFiles.historyPath(for: modelPath)
        XCTAssertEqual(historyPath, dir.appendingPathComponent("m.history.csv").path)
        let csv = "epoch,mean_loss\n1,0.5\n"
        let first = galleryTestModel(seed: 1), second = galleryTestModel(seed: 2)
        try TrainingFiles.save(first, historyCSV: csv, modelPath: modelPath, historyPath: historyPath)
        XCTAssertEqual(try TrainingFiles.check(modelPath: modelPath, historyPath: historyPath), .consistent)
        XCTAssertTrue(
            try String(contentsOfFile: historyPath, encoding: .utf8).hasPrefix(
                "epoch,mean_loss,model_fingerprint\n1,0.5,\(first.fingerprint)\n"))
        // What a kill between the two renames leaves: the new history beside the old model.
        try OutputFile.write(TrainingFiles.history(csv, fingerprint: second.fingerprint), to: historyPath)
        XCTAssertEqual(
            try TrainingFiles.check(modelPath: modelPath, historyPath: historyPath),
            .mismatch(historyFingerprint: second.fingerprint, modelFingerprint: first.fingerprint))
        try TrainingFiles.save(second, historyCSV: csv, modelPath: modelPath, historyPath: historyPath)
        XCTAssertEqual(try TrainingFiles.check(modelPath: modelPath, historyPath: historyPath), .consistent)
        XCTAssertEqual(try temporaries(in: dir), [])
    }

    // MARK: 4. Named pipes are refused, not waited on

    func testNamedPipesAreRefusedByEveryReader() throws {
        let fx = try GalleryFixture(self)
        let fifo = fx.dir.appendingPathComponent("pipe.pgm").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)

        /// Runs `body` on another thread; a hang fails instead of blocking the suite.
        func refused(_ what: String, _ body: @escaping @Sendable () throws -> Void) {
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var outcome: String = "hung"
            Thread.detachNewThread {
                do { try body(); outcome = "no error" } catch { outcome = "\(error)" }
                done.signal()
            }
            if done.wait(timeout: .now() + 5) == .timedOut { return XCTFail("\(what): hangs on a FIFO") }
            XCTAssertTrue(outcome.contains("named pipe"), "\(what): \(outcome)")
        }
        refused("image") { _ = try ImageDecoder.decode(path: fifo) }
        refused("model") { _ = try SafeTensorsFile(path: fifo) }
        refused("FaceModel") { _ = try FaceModel.load(path: fifo) }
        refused("pair list") { _ = try PairList(contentsOf: fifo) }
        refused("photo hash") { _ = try Gallery.sha256(ofFile: fifo) }

        // Through the CLI: an image, a model, a pair-list entry, a gallery's recorded model.
        var r = try runFacetwin(["compare", "--model", fx.modelPath, fifo, fx.photo(1)], timeout: 20)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(fifo): cannot open: is a named pipe"), r.stderr)
        r = try runFacetwin(["compare", "--model", fifo, fx.photo(1), fx.photo(2)], timeout: 20)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("named pipe"), r.stderr)
        let pairs = fx.dir.appendingPathComponent("pairs.csv").path
        try "image1,image2,same\n\(fx.photo(1)),\(fifo),1\n\(fx.photo(1)),\(fx.photo(2)),1\n".write(
            toFile: pairs, atomically: true, encoding: .utf8)
        // In a pair run an image that cannot be read is a failure to acquire, listed with why.
        r = try runFacetwin(["verify", "--pairs", pairs, "--model", fx.modelPath, "--threshold", "1"], timeout: 20)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(fifo): cannot open: is a named pipe"), r.stderr)
        r = try runFacetwin(["verify", "--pairs", pairs, "--model", fx.modelPath, "--threshold", "1", "--strict"], timeout: 20)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("named pipe"), r.stderr)

        let modelCopy = fx.dir.appendingPathComponent("moved.safetensors").path
        try FileManager.default.copyItem(atPath: fx.modelPath, toPath: modelCopy)
        r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", modelCopy, "--name", "a", fx.photo(1)], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        try FileManager.default.removeItem(atPath: modelCopy)
        XCTAssertEqual(mkfifo(modelCopy, 0o644), 0)
        r = try runFacetwin(["verify", "--gallery", fx.gallery, "--claim", "a", fx.photo(1)], timeout: 20)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("named pipe"), r.stderr)
    }

    // MARK: 5b. SIGKILL at every write point

    /// Kills `arguments` at its 1st, 2nd, … write point until a run finishes without being
    /// killed; after each kill `check` sees the files. Returns the number of points.
    func killAtEveryWritePoint(_ arguments: [String], limit: Int = 60, check: (Int) throws -> Void) throws -> Int {
        for n in 1...limit {
            let r = try runFacetwin(arguments, timeout: 120, environment: [WritePoint.environmentVariable: "\(n)"])
            if r.status != -SIGKILL {
                XCTAssertEqual(r.status, 0, "run \(n) not killed: \(r.stderr)")
                return n - 1
            }
            try check(n)
        }
        XCTFail("more than \(limit) write points?")
        return limit
    }

    func testKillDuringGalleryCreationLeavesOldOrNewState() throws {
        let fx = try GalleryFixture(self)
        var points = 0
        for round in 0..<2 {  // round 0: the gallery is created; round 1: an enroll into it
            points = try killAtEveryWritePoint([
                "enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "k\(round)", fx.photo(round + 1)
            ]) { n in
                if round == 0 {
                    if FileManager.default.fileExists(atPath: fx.gallery) {
                        XCTAssertEqual(try identities(fx.gallery), [], "point \(n): a complete, empty gallery")
                    }
                } else {
                    XCTAssertEqual(try identities(fx.gallery), ["k0"], "point \(n)")
                }
                // The next enroll succeeds and leaves no temporary behind.
                let r = try runFacetwin(
                    ["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "after", fx.photo(9)], timeout: 60)
                XCTAssertEqual(r.status, 0, "point \(n): \(r.stderr)")
                XCTAssertEqual(try temporaries(in: fx.dir), [], "point \(n)")
                XCTAssertEqual(try Gallery(path: fx.gallery).remove(name: "after"), 1)
                if round == 0 { try FileManager.default.removeItem(atPath: fx.gallery) }
            }
            XCTAssertGreaterThanOrEqual(points, round == 0 ? 5 : 0, "round \(round)")
            print("kill test: enroll round \(round): \(points) write points")
        }
        XCTAssertEqual(try identities(fx.gallery), ["k0", "k1"])
    }

    func testKillDuringModelSavesLeavesOldOrNewModel() throws {
        let fx = try GalleryFixture(self, threshold: nil)
        // Three identity folders of two small photos each.
        let data = fx.dir.appendingPathComponent("data")
        for i in 0..<3 {
            let folder = data.appendingPathComponent("p\(i)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for j in 0..<2 {
                try FileManager.default.copyItem(
                    atPath: fx.photo(i * 2 + j + 1), toPath: folder.appendingPathComponent("\(j).pgm").path)
            }
        }
        // calibrate --out: the output is absent or a complete model.
        let out = fx.dir.appendingPathComponent("calibrated.safetensors").path
        let calibrate = [
            "calibrate", "--model", fx.modelPath, "--data", data.path, "--identities", "p0,p1,p2", "--eer", "--out", out,
            "--allow-training-identities"
        ]
        let calibratePoints = try killAtEveryWritePoint(calibrate) { n in
            if FileManager.default.fileExists(atPath: out) {
                XCTAssertNoThrow(try FaceModel.load(path: out), "point \(n)")
            }
            let r = try runFacetwin(calibrate, timeout: 60)
            XCTAssertEqual(r.status, 0, "point \(n): \(r.stderr)")
            XCTAssertEqual(try temporaries(in: fx.dir), [], "point \(n)")
            try FileManager.default.removeItem(atPath: out)
        }
        XCTAssertGreaterThanOrEqual(calibratePoints, 3)

        // train: over an existing pair (seed 1), a new one (seed 2): old pair, new pair, or a
        // new history beside the old model that check() reports, never a new model with an old history.
        let model = fx.dir.appendingPathComponent("trained.safetensors").path
        let history = TrainingFiles.historyPath(for: model)
        func train(_ seed: Int) -> [String] {
            [
                "train", "--recipe", "reference", "--data", data.path, "--epochs", "1", "--size", "20", "--hidden", "16",
                "--batch", "4", "--seed", "\(seed)", "--quiet", "--out", model
            ]
        }
        var r = try runFacetwin(train(1), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let oldFingerprint = try FaceModel.load(path: model).fingerprint
        var sawMismatch = false
        let trainPoints = try killAtEveryWritePoint(train(2)) { n in
            let fingerprint = try FaceModel.load(path: model).fingerprint
            let consistency = try TrainingFiles.check(modelPath: model, historyPath: history)
            if fingerprint == oldFingerprint {
                if consistency != .consistent { sawMismatch = true }  // new history, old model: detected
            } else {
                XCTAssertEqual(consistency, .consistent, "point \(n): a new model must have its history")
            }
            r = try runFacetwin(train(1), timeout: 120)  // back to the old pair, and temporaries cleaned
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try temporaries(in: fx.dir), [], "point \(n)")
        }
        XCTAssertGreaterThanOrEqual(trainPoints, 6)
        XCTAssertTrue(sawMismatch, "a kill between the renames leaves a detectable mismatch")
        print("kill test: calibrate --out \(calibratePoints) write points, train \(trainPoints) write points")
    }
}

/// Copies `gallery` to `copy` as a write killed mid-transaction would leave it: the database
/// with pages of an uncommitted transaction spilled into it, and the rollback journal beside it
/// holding the originals (a hot journal: SQLite must roll it back before anyone reads).
func copyWithInterruptedWrite(_ gallery: String, to copy: String) throws {
    let queue = try DatabaseQueue(path: gallery)
    try queue.inDatabase { db in
        try db.execute(sql: "PRAGMA cache_size = 10")  // so the transaction spills into the file
        try db.execute(sql: "BEGIN IMMEDIATE")
        try db.execute(sql: "CREATE TABLE filler (x BLOB)")
        for _ in 0..<200 { try db.execute(sql: "INSERT INTO filler VALUES (zeroblob(4000))") }
        try FileManager.default.copyItem(atPath: gallery, toPath: copy)
        try FileManager.default.copyItem(atPath: gallery + "-journal", toPath: copy + "-journal")
        try db.execute(sql: "ROLLBACK")
    }
    try queue.close()
}
