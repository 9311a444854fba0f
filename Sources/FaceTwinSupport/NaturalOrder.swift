/// "Natural" string order: runs of digits compare by numeric value, so
/// `s2 < s10` and `2.pgm < 10.pgm`.
///
/// ORL names its identities `s1 … s40` and its images `1.pgm … 10.pgm`; plain
/// lexicographic order would put `s10` before `s2`, which makes labels, folds
/// and listings surprising to anyone who reads them next to the folder names.
package enum NaturalOrder {
    /// `true` if `a` sorts before `b`. Digit runs compare by value (leading
    /// zeros ignored), everything else by Unicode scalar; strings that are equal
    /// under that rule (`s01`, `s1`) fall back to plain `<` so the order is total.
    package static func areInIncreasingOrder(_ a: String, _ b: String) -> Bool {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        var i = 0, j = 0
        while i < x.count && j < y.count {
            if isDigit(x[i]) && isDigit(y[j]) {
                let (si, ei) = digitRun(x, from: i)
                let (sj, ej) = digitRun(y, from: j)
                let lenX = ei - si, lenY = ej - sj
                if lenX != lenY { return lenX < lenY }
                for k in 0..<lenX where x[si + k] != y[sj + k] {
                    return x[si + k].value < y[sj + k].value
                }
                i = ei
                j = ej
            } else {
                if x[i] != y[j] { return x[i].value < y[j].value }
                i += 1
                j += 1
            }
        }
        if (x.count - i) != (y.count - j) { return (x.count - i) < (y.count - j) }
        return a < b
    }

    /// `names` in natural order.
    package static func sorted<S: Sequence>(_ names: S) -> [String] where S.Element == String {
        names.sorted(by: areInIncreasingOrder)
    }

    private static func isDigit(_ s: Unicode.Scalar) -> Bool {
        s.value >= 48 && s.value <= 57
    }

    /// The significant digits of the run starting at `start` (leading zeros
    /// skipped) as `(first, end)`.
    private static func digitRun(_ s: [Unicode.Scalar], from start: Int) -> (Int, Int) {
        var end = start
        while end < s.count && isDigit(s[end]) { end += 1 }
        var first = start
        while first < end - 1 && s[first].value == 48 { first += 1 }
        return (first, end)
    }
}
