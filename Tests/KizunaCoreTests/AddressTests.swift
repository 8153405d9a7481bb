import Foundation
import KizunaCore
import Testing

@Suite("Addresses")
struct AddressTests {
    func code(_ text: String) -> String? {
        do throws(Address.ParseError) {
            _ = try Address(parsing: text)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func roundTripForEveryDevelopmentKey() throws {
        for name in DevelopmentKeys.names {
            let key = VectorGenerator.pub(name)
            let text = key.address.description
            #expect(text.hasPrefix("kz1"))
            #expect(text.count == 61)
            #expect(text.allSatisfy { "abcdefghijklmnopqrstuvwxyz234567".contains($0) || $0 == "k" || $0 == "1" })
            #expect(try Address(parsing: text).publicKey == key)
            #expect(text == VectorGenerator.addressText(key.bytes), "independent base32 and checksum")
        }
    }

    @Test func everySingleCharacterTypoIsCaught() {
        let text = Array(VectorGenerator.pub("merchant-1").address.description)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        for position in 3..<text.count {
            for replacement in alphabet where replacement != text[position] {
                var typo = text
                typo[position] = replacement
                #expect(code(String(typo)) == "address.bad_checksum", "position \(position) → \(replacement)")
            }
        }
        // Swapping two neighbouring characters.
        for position in 3..<text.count - 1 where text[position] != text[position + 1] {
            var swapped = text
            swapped.swapAt(position, position + 1)
            #expect(code(String(swapped)) == "address.bad_checksum")
        }
    }

    @Test func refusals() {
        let good = VectorGenerator.pub("resident-1").address.description
        #expect(code(good) == nil)
        #expect(code("") == "address.missing_prefix")
        #expect(code("kz2" + good.dropFirst(3)) == "address.missing_prefix")
        #expect(code(good.uppercased()) == "address.missing_prefix")
        #expect(code(String(good.dropFirst(3))) == "address.missing_prefix")
        #expect(code(String(good.dropLast())) == "address.bad_length")
        #expect(code(good + "a") == "address.bad_length")
        #expect(code("kz1") == "address.bad_length")
        for bad in ["1", "0", "8", "9", "A", "=", " ", "é"] {
            let text = String(good.prefix(30)) + bad + String(good.dropFirst(31))
            let expected = bad == "é" ? "address.bad_length" : "address.bad_character"
            #expect(code(text) == expected, "character \(bad)")
        }
        #expect(code(" " + good) == "address.missing_prefix")
        #expect(code(good + "\n") == "address.bad_length")
        #expect(Address.ParseError.badChecksum.description.contains("typo"))
    }

    @Test func vectorsOfInvalidAddresses() {
        for vector in VectorGenerator.invalidAddresses {
            #expect(code(vector.text) == vector.expectedError, "\(vector.name)")
        }
    }
}
