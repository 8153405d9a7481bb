/// The three assets of the default genesis (design §2.1). Paid value (`coin`) and free
/// value (`point`, `thanks`) are never mixed.
public enum Asset: UInt8, Sendable, Hashable, CaseIterable, Comparable, CanonicalTag, Codable {
    /// Paid prepaid value, 1 coin = ¥1.
    case coin = 1
    /// Free value: administrative, bonus and campaign points.
    case point = 2
    /// Resident-to-resident thank-you points.
    case thanks = 3

    public var name: String {
        switch self {
        case .coin: "coin"
        case .point: "point"
        case .thanks: "thanks"
        }
    }

    public init?(name: String) {
        guard let asset = Asset.allCases.first(where: { $0.name == name }) else { return nil }
        self = asset
    }

    public static let tagName = "asset"

    public static func < (lhs: Asset, rhs: Asset) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An amount in whole yen. Arithmetic on amounts is always checked.
public typealias Amount = UInt64

extension UInt64 {
    /// `self + other`, or nil on overflow.
    @inlinable public func adding(_ other: UInt64) -> UInt64? {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? nil : sum
    }

    /// `self - other`, or nil when it would go below zero.
    @inlinable public func subtracting(_ other: UInt64) -> UInt64? {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? nil : difference
    }
}
