import FuzzSupport
import KizunaCore

// Fuzzes the primitives of KizunaCore's canonical `Decoder` (Encoding.swift) directly.
//
// The input is a small program and its data: byte 0 is the number of operation bytes (mod 64),
// then the operation bytes, then the data. Each operation decodes one value from the data
// (`op % 16` picks the primitive, `op / 16` its length limit). Properties:
// - the decoder never reads past the data and an error's offset lies inside it;
// - everything decoded, encoded again with `Encoder`, gives back exactly the bytes consumed;
// - `finish()` succeeds exactly when every byte was consumed.

/// A small record for `decodeList`: a 16-bit number and a short string.
struct Pair: CanonicalCodable, Equatable {
    var number: UInt16
    var text: String

    init(from decoder: inout Decoder) throws(DecodingError) {
        number = try decoder.decodeUInt16()
        text = try decoder.decodeString(maxBytes: 8)
    }

    func encode(to encoder: inout Encoder) {
        encoder.encode(number)
        encoder.encode(text)
    }
}

func fuzzDecoder(_ input: [UInt8]) {
    guard let first = input.first else { return }
    let operationCount = min(Int(first % 64), input.count - 1)
    let operations = input[1..<(1 + operationCount)]
    let data = Array(input[(1 + operationCount)...])
    var decoder = Decoder(data)
    var reencoded = Encoder()
    for operation in operations {
        let start = decoder.offset
        let limit = Int(operation / 16)
        do throws(DecodingError) {
            switch operation % 16 {
            case 0: reencoded.encode(try decoder.decodeUInt8())
            case 1: reencoded.encode(try decoder.decodeUInt16())
            case 2: reencoded.encode(try decoder.decodeUInt32())
            case 3: reencoded.encode(try decoder.decodeUInt64())
            case 4: reencoded.encode(try decoder.decodeBool())
            case 5: reencoded.encodeFixed(try decoder.decodeFixed(limit * 3))
            case 6:
                let value = try decoder.decodeBytes(maxBytes: limit * 8)
                fuzzCheck(value.count <= limit * 8, "decodeBytes returned more than its maximum")
                reencoded.encodeBytes(value)
            case 7:
                let value = try decoder.decodeString(maxBytes: limit * 8)
                fuzzCheck(value.utf8.count <= limit * 8, "decodeString returned more than its maximum")
                fuzzCheck(!value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }, "decodeString returned a control character")
                reencoded.encode(value)
            case 8: reencoded.encode(try decoder.decodeHash())
            case 9: reencoded.encode(try decoder.decodeOptionTag())
            case 10: reencoded.encode(try decoder.decodeOptionalString(maxBytes: limit * 8))
            case 11: reencoded.encode(try decoder.decodeOptionalHash())
            case 12: reencoded.encode(try decoder.decodeOptionalUInt8())
            case 13:
                let list = try decoder.decodeList(Pair.self, maxCount: limit)
                fuzzCheck(list.count <= limit, "decodeList returned more than its maximum")
                reencoded.encode(list)
            case 14: reencoded.encode(try decoder.decode(PublicKey.self))
            default: reencoded.encode(try decoder.decode(Signature.self))
            }
        } catch {
            fuzzCheck(error.offset >= start && error.offset <= data.count, "error offset \(error.offset) outside \(start)…\(data.count)")
            return
        }
        fuzzCheck(decoder.offset >= start && decoder.offset <= data.count, "decoder offset \(decoder.offset) outside \(start)…\(data.count)")
        fuzzCheck(decoder.remaining == data.count - decoder.offset, "remaining disagrees with the offset")
        fuzzCheck(reencoded.bytes.elementsEqual(data[..<decoder.offset]), "decoded values re-encode to other bytes")
    }
    let finished = (try? decoder.finish()) != nil
    fuzzCheck(finished == (decoder.offset == data.count), "finish() disagrees with the bytes left")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzDecoder(FuzzInput.bytes(data, size))
    return 0
}

@_cdecl("FuzzDecoder_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
