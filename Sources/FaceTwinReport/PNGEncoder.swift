/// Writes 8-bit RGB or grayscale PNG files with no dependency: the chunks (IHDR, IDAT,
/// IEND) with their CRC-32, a zlib stream (header, deflate data, Adler-32), and deflate
/// done here, either as stored blocks or with LZ77 and the fixed Huffman code (RFC 1951
/// §3.2.6), which is enough to shrink the flat backgrounds and text of report pictures.
///
/// Each scanline uses PNG filter 0 (none) or 1 (sub), whichever has the smaller sum of
/// absolute values (the usual heuristic of libpng).
package enum PNGEncoder {
    package enum Compression: Sendable {
        /// Stored deflate blocks: no compression, simplest to decode.
        case stored
        /// LZ77 matches and the fixed Huffman code.
        case fixedHuffman
    }

    /// A PNG file of `width × height` pixels, `channels` = 1 (gray) or 3 (RGB) bytes a pixel,
    /// rows top to bottom.
    package static func encode(
        width: Int, height: Int, channels: Int, pixels: [UInt8],
        compression: Compression = .fixedHuffman
    ) -> [UInt8] {
        precondition(width > 0 && height > 0 && (channels == 1 || channels == 3), "bad PNG geometry")
        precondition(pixels.count == width * height * channels, "PNG pixel count")
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr: [UInt8] = []
        appendBigEndian(UInt32(width), to: &ihdr)
        appendBigEndian(UInt32(height), to: &ihdr)
        ihdr += [8, channels == 3 ? 2 : 0, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace
        appendChunk("IHDR", ihdr, to: &out)
        let raw = filtered(width: width, height: height, channels: channels, pixels: pixels)
        appendChunk("IDAT", zlib(raw, compression: compression), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    /// Scanlines each prefixed by its filter type byte.
    static func filtered(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
        let stride = width * channels
        var raw = [UInt8]()
        raw.reserveCapacity(height * (stride + 1))
        var sub = [UInt8](repeating: 0, count: stride)
        for y in 0..<height {
            let row = pixels[(y * stride)..<((y + 1) * stride)]
            var costNone = 0, costSub = 0
            for x in 0..<stride {
                let v = row[row.startIndex + x]
                let left = x >= channels ? row[row.startIndex + x - channels] : 0
                sub[x] = v &- left
                costNone += abs(Int(Int8(bitPattern: v)))
                costSub += abs(Int(Int8(bitPattern: sub[x])))
            }
            if costSub < costNone {
                raw.append(1)
                raw += sub
            } else {
                raw.append(0)
                raw += row
            }
        }
        return raw
    }

    // MARK: Chunks and checksums

    static func appendBigEndian(_ v: UInt32, to out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        appendBigEndian(UInt32(data.count), to: &out)
        let typeBytes = Array(type.utf8)
        out += typeBytes
        out += data
        appendBigEndian(crc32(typeBytes + data), to: &out)
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (ISO 3309, as PNG and zip use).
    package static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// Adler-32 (the zlib stream checksum).
    package static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        while i < bytes.count {
            let end = min(i + 5552, bytes.count)  // largest run before the sums can overflow
            while i < end { a += UInt32(bytes[i]); b += a; i += 1 }
            a %= 65521; b %= 65521
        }
        return (b << 16) | a
    }

    // MARK: zlib / deflate

    static func zlib(_ data: [UInt8], compression: Compression) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]  // deflate, 32 KiB window, no dictionary; (0x7801 % 31 == 0)
        switch compression {
        case .stored: out += deflateStored(data)
        case .fixedHuffman: out += deflateFixed(data)
        }
        appendBigEndian(adler32(data), to: &out)
        return out
    }

    static func deflateStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var start = 0
        repeat {
            let n = min(65535, data.count - start)
            let final: UInt8 = start + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[start..<start + n]
            start += n
        } while start < data.count
        return out
    }

    /// Writes bits least-significant first, as deflate packs them.
    struct BitWriter {
        var bytes: [UInt8] = []
        var buffer: UInt64 = 0
        var count = 0

        mutating func write(_ value: UInt32, bits: Int) {
            buffer |= UInt64(value) << UInt64(count)
            count += bits
            while count >= 8 {
                bytes.append(UInt8(buffer & 0xFF))
                buffer >>= 8
                count -= 8
            }
        }

        /// A Huffman code, which deflate stores most-significant bit first.
        mutating func writeCode(_ code: UInt32, bits: Int) {
            var reversed: UInt32 = 0
            for i in 0..<bits where code & (1 << UInt32(i)) != 0 { reversed |= 1 << UInt32(bits - 1 - i) }
            write(reversed, bits: bits)
        }

        mutating func flush() {
            if count > 0 { bytes.append(UInt8(buffer & 0xFF)) }
            buffer = 0
            count = 0
        }
    }

    static let lengthBase: [Int] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258
    ]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193,
        12289, 16385, 24577
    ]
    static let distanceExtra: [Int] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13
    ]

    /// The fixed literal/length code of `symbol` (0…287): (code, bit count).
    static func fixedCode(_ symbol: Int) -> (UInt32, Int) {
        switch symbol {
        case 0...143: return (UInt32(0x30 + symbol), 8)
        case 144...255: return (UInt32(0x190 + symbol - 144), 9)
        case 256...279: return (UInt32(symbol - 256), 7)
        default: return (UInt32(0xC0 + symbol - 280), 8)
        }
    }

    /// One final block with the fixed Huffman code; matches found through a hash of the next
    /// three bytes and a chain of earlier positions with the same hash (greedy, 32 KiB window).
    static func deflateFixed(_ data: [UInt8]) -> [UInt8] {
        var w = BitWriter()
        w.bytes.reserveCapacity(data.count / 2)
        w.write(1, bits: 1)  // BFINAL
        w.write(1, bits: 2)  // BTYPE = 01, fixed Huffman
        let n = data.count
        let window = 32768, maxChain = 48, maxLength = 258
        let hashSize = 1 << 15
        var head = [Int32](repeating: -1, count: hashSize)
        var previous = [Int32](repeating: -1, count: n)
        func hash(_ i: Int) -> Int {
            (Int(data[i]) << 10 ^ Int(data[i + 1]) << 5 ^ Int(data[i + 2])) & (hashSize - 1)
        }
        func insert(_ i: Int) {
            guard i + 2 < n else { return }
            let h = hash(i)
            previous[i] = head[h]
            head[h] = Int32(i)
        }
        var i = 0
        data.withUnsafeBufferPointer { d in
            while i < n {
                var bestLength = 0, bestDistance = 0
                if i + 2 < n {
                    var candidate = Int(head[hash(i)])
                    var chain = 0
                    let limit = min(maxLength, n - i)
                    while candidate >= 0, i - candidate <= window, chain < maxChain {
                        if d[candidate + bestLength] == d[i + bestLength] || bestLength == 0 {
                            var length = 0
                            while length < limit && d[candidate + length] == d[i + length] { length += 1 }
                            if length > bestLength {
                                bestLength = length
                                bestDistance = i - candidate
                                if length == limit { break }
                            }
                        }
                        candidate = Int(previous[candidate])
                        chain += 1
                    }
                }
                if bestLength >= 3 {
                    var lc = lengthBase.count - 1
                    while lengthBase[lc] > bestLength { lc -= 1 }
                    let (code, bits) = fixedCode(257 + lc)
                    w.writeCode(code, bits: bits)
                    if lengthExtra[lc] > 0 { w.write(UInt32(bestLength - lengthBase[lc]), bits: lengthExtra[lc]) }
                    var dc = distanceBase.count - 1
                    while distanceBase[dc] > bestDistance { dc -= 1 }
                    w.writeCode(UInt32(dc), bits: 5)
                    if distanceExtra[dc] > 0 { w.write(UInt32(bestDistance - distanceBase[dc]), bits: distanceExtra[dc]) }
                    for k in i..<i + bestLength { insert(k) }
                    i += bestLength
                } else {
                    let (code, bits) = fixedCode(Int(d[i]))
                    w.writeCode(code, bits: bits)
                    insert(i)
                    i += 1
                }
            }
        }
        let (end, endBits) = fixedCode(256)
        w.writeCode(end, bits: endBits)
        w.flush()
        return w.bytes
    }
}
