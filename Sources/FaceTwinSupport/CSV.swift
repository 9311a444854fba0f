/// Writing CSV cells that hold user-controlled text (file names, identity names).
package enum CSV {
    /// One cell: quoted (RFC 4180) when it holds a comma, quote or line break, and with a
    /// leading apostrophe when it starts with a character a spreadsheet reads as a formula
    /// (`=`, `+`, `-`, `@`, tab or carriage return), so opening the file in a spreadsheet
    /// shows the text instead of running it (OWASP's CSV injection advice).
    package static func field(_ s: String) -> String {
        var text = s
        if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            text = "'" + text
        }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
