import Foundation

/// One part of a `multipart/form-data` body (RFC 7578).
struct FormPart: Sendable {
    var name: String
    var filename: String?
    var contentType: String?
    var body: [UInt8]

    /// The part's body as UTF-8 text (a plain form field).
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A small, strict `multipart/form-data` reader: the body is already in memory (bounded by
/// the server's body limit); anything malformed is a one-line ``ServerError/badRequest(_:)``.
enum Multipart {
    static let maxParts = 64
    static let maxHeaderBytes = 8192

    /// The boundary of a `multipart/form-data` content type, or nil for another type.
    static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = pieces.first, type.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let kv = piece.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, kv[0].lowercased() == "boundary" else { continue }
            var value = kv[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty || value.utf8.count > 70 ? nil : value
        }
        return nil
    }

    static func parse(_ body: [UInt8], boundary: String) throws(ServerError) -> [FormPart] {
        let delimiter = Array("--\(boundary)".utf8)
        let crlf: [UInt8] = [13, 10]
        guard var position = find(delimiter, in: body, from: 0) else {
            throw .badRequest("the multipart body has no boundary line --\(boundary)")
        }
        var parts: [FormPart] = []
        while true {
            position += delimiter.count
            // "--" after a delimiter ends the body.
            if position + 2 <= body.count, body[position] == 45, body[position + 1] == 45 { break }
            guard position + 2 <= body.count, body[position] == 13, body[position + 1] == 10 else {
                throw .badRequest("the multipart body is malformed (a boundary line is not followed by CRLF)")
            }
            position += 2
            guard let headerEnd = find(crlf + crlf, in: body, from: position), headerEnd - position <= maxHeaderBytes else {
                throw .badRequest("the multipart body is malformed (a part's headers do not end)")
            }
            let headerText = String(decoding: body[position..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = find(crlf + delimiter, in: body, from: contentStart) else {
                throw .badRequest("the multipart body is malformed (its closing boundary is missing)")
            }
            var part = FormPart(name: "", filename: nil, contentType: nil, body: Array(body[contentStart..<next]))
            for line in headerText.components(separatedBy: "\r\n") {
                let kv = line.split(separator: ":", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { continue }
                let key = kv[0].trimmingCharacters(in: .whitespaces).lowercased()
                let value = kv[1].trimmingCharacters(in: .whitespaces)
                if key == "content-type" { part.contentType = value }
                if key == "content-disposition" {
                    let params = dispositionParameters(value)
                    part.name = params["name"] ?? ""
                    part.filename = params["filename"]
                }
            }
            guard !part.name.isEmpty else { throw .badRequest("a multipart part has no Content-Disposition name") }
            parts.append(part)
            guard parts.count <= maxParts else { throw .badRequest("more than \(maxParts) multipart parts") }
            position = next + 2
        }
        return parts
    }

    /// `form-data; name="photo"; filename="a.jpg"` → ["name": "photo", "filename": "a.jpg"].
    static func dispositionParameters(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        var rest = Substring(value)
        while let semicolon = rest.firstIndex(of: ";") {
            rest = rest[rest.index(after: semicolon)...].drop { $0 == " " || $0 == "\t" }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                var end = rest.endIndex
                for i in rest.indices {
                    let c = rest[i]
                    if escaped {
                        value.append(c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        end = i
                        break
                    } else {
                        value.append(c)
                    }
                }
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : rest[rest.endIndex...]
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            result[key] = value
        }
        return result
    }

    /// The first index of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        let first = needle[0]
        let last = haystack.count - needle.count
        var i = start
        return haystack.withUnsafeBufferPointer { h -> Int? in
            needle.withUnsafeBufferPointer { n -> Int? in
                while i <= last {
                    if h[i] == first {
                        var j = 1
                        while j < n.count && h[i + j] == n[j] { j += 1 }
                        if j == n.count { return i }
                    }
                    i += 1
                }
                return nil
            }
        }
    }
}
