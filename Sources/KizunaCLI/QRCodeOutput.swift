import ArgumentParser
import Foundation
import KizunaWallet

extension QRCode {
    /// The QR output of `kizuna wallet pay-code` and `kizuna card qr`: the symbol written as
    /// an SVG image to `svg` (their `--svg`), then drawn in the terminal when `draw`.
    func show(svg: String?, draw: Bool) throws {
        if let svg {
            do {
                try self.svg().write(toFile: svg, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("--svg: cannot write \(svg): \(error.localizedDescription)")
            }
        }
        if draw { print(terminalText()) }
    }
}
