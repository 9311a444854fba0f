// Enroll two photos of one person into a temporary gallery, then verify a third photo against
// that person: `VerifyApp MODEL NAME PHOTO1 PHOTO2 PROBE` (exit 0 match, 1 no match, 2 error).
import FaceTwin
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 5 else {
    FileHandle.standardError.write(Data("usage: VerifyApp MODEL NAME PHOTO1 PHOTO2 PROBE\n".utf8))
    exit(2)
}
let (modelPath, name, photos, probe) = (arguments[0], arguments[1], [arguments[2], arguments[3]], arguments[4])
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("verifyapp-\(UUID().uuidString)")
var status: Int32 = 2
do {
    // Photos are prepared as the model records: faces detected and aligned, non-faces refused.
    let model = try FaceModel.load(path: modelPath)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let gallery = try Gallery(path: folder.appendingPathComponent("gallery.sqlite").path, model: model, modelPath: modelPath)
    let enrolled = try gallery.enroll(name: name, images: photos)
    print("enrolled \(enrolled.templateCount) photos of \(name)")
    let result = try Verifier(gallery: gallery).verify(probe: probe, claim: name)
    print("\(result.isMatch ? "MATCH" : "NO MATCH") \(name): distance \(result.distance), threshold \(result.threshold)")
    status = result.isMatch ? 0 : 1
} catch {
    FileHandle.standardError.write(Data("VerifyApp: \(error)\n".utf8))
}
try? FileManager.default.removeItem(at: folder)
exit(status)
