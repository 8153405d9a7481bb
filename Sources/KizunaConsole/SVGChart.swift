/// Charts drawn by the server as inline SVG (no script, no external file): a line chart of
/// several series and a bar chart. Coordinates are integers computed with integer
/// arithmetic; every data point is an element of class `pt` (a circle or a bar) with a
/// `<title>` giving its label and value, so it reads without a pointer and prints.
struct SVGChart {
    struct Point {
        var x: Int64
        var y: Int64
        /// What the point's tooltip says (its x as text and its value).
        var label: String
    }

    struct Series {
        var name: String
        var points: [Point]
        /// Drawn dashed (a projection rather than a record).
        var dashed = false
    }

    static let width: Int64 = 640
    static let height: Int64 = 260
    static let left: Int64 = 72, right: Int64 = 16, top: Int64 = 16, bottom: Int64 = 40
    static let palette = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#0a7a8a"]

    /// A line chart. `xLabel` formats an x value for the axis; `yLabel` a y value.
    /// Values beyond this are drawn at it (no overflow in the scaling).
    static let valueMax: Int64 = 1_000_000_000_000_000

    static func line(title: String, series: [Series], xLabel: (Int64) -> String, yLabel: (Int64) -> String, emptyText: String) -> String {
        let series = series.map { serie in
            var serie = serie
            serie.points = serie.points.map { Point(x: $0.x, y: min(max($0.y, -valueMax), valueMax), label: $0.label) }
            return serie
        }
        let points = series.flatMap(\.points)
        guard !points.isEmpty else { return empty(title: title, text: emptyText) }
        var minX = points.map(\.x).min()!, maxX = points.map(\.x).max()!
        if minX == maxX { minX -= 1; maxX += 1 }
        let maxY = max(points.map(\.y).max()!, 1)
        let minY = min(points.map(\.y).min()!, 0)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Int64) -> Int64 { left + (x - minX) * plotW / (maxX - minX) }
        func py(_ y: Int64) -> Int64 { top + plotH - (y - minY) * plotH / max(maxY - minY, 1) }
        var svg = open(title: title)
        svg += axes(minY: minY, maxY: maxY, yLabel: yLabel, py: py)
        for tick in 0...4 {
            let x = minX + (maxX - minX) * Int64(tick) / 4
            svg += "<text class=\"axis\" x=\"\(px(x))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(escape(xLabel(x)))</text>"
        }
        for (index, serie) in series.enumerated() where !serie.points.isEmpty {
            let colour = palette[index % palette.count]
            let path = serie.points.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(serie.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(path)\"/>"
            for point in serie.points {
                svg += "<circle class=\"pt\" cx=\"\(px(point.x))\" cy=\"\(py(point.y))\" r=\"3\" fill=\"\(colour)\" data-value=\"\(point.y)\"><title>\(escape(serie.name)) \(escape(point.label)): \(escape(yLabel(point.y)))</title></circle>"
            }
        }
        svg += legend(series.map(\.name))
        return svg + "</svg>"
    }

    /// A bar chart: one bar per (label, value); several values per label are grouped.
    static func bars(title: String, names: [String], groups: [(label: String, values: [Int64])], yLabel: (Int64) -> String, emptyText: String) -> String {
        guard !groups.isEmpty else { return empty(title: title, text: emptyText) }
        let groups = groups.map { (label: $0.label, values: $0.values.map { min(max($0, 0), valueMax) }) }
        let maxY = max(groups.flatMap(\.values).max() ?? 1, 1)
        let plotW = width - left - right, plotH = height - top - bottom
        func py(_ y: Int64) -> Int64 { top + plotH - y * plotH / maxY }
        let slot = max(plotW / Int64(groups.count), 2)
        let perBar = max((slot - 4) / Int64(max(names.count, 1)), 1)
        var svg = open(title: title)
        svg += axes(minY: 0, maxY: maxY, yLabel: yLabel, py: py)
        let labelEvery = max(groups.count / 8, 1)
        for (index, group) in groups.enumerated() {
            let x0 = left + Int64(index) * slot + 2
            for (serie, value) in group.values.enumerated() {
                let y = py(value)
                svg += "<rect class=\"pt\" x=\"\(x0 + Int64(serie) * perBar)\" y=\"\(y)\" width=\"\(max(perBar - 1, 1))\" height=\"\(top + plotH - y)\" fill=\"\(palette[serie % palette.count])\" data-value=\"\(value)\"><title>\(escape(group.label)) \(escape(names.indices.contains(serie) ? names[serie] : "")): \(escape(yLabel(value)))</title></rect>"
            }
            if index % labelEvery == 0 {
                svg += "<text class=\"axis\" x=\"\(x0 + slot / 2)\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(escape(group.label))</text>"
            }
        }
        svg += legend(names)
        return svg + "</svg>"
    }

    static func open(title: String) -> String {
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(title))\"><title>\(escape(title))</title>"
    }

    static func axes(minY: Int64, maxY: Int64, yLabel: (Int64) -> String, py: (Int64) -> Int64) -> String {
        var svg = ""
        for tick in 0...4 {
            let y = minY + (maxY - minY) * Int64(tick) / 4
            svg += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(py(y))\" y2=\"\(py(y))\" stroke=\"#d0d7de\" stroke-width=\"1\"/>"
            svg += "<text class=\"axis\" x=\"\(left - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(escape(yLabel(y)))</text>"
        }
        return svg
    }

    static func legend(_ names: [String]) -> String {
        var svg = ""
        var x = left
        for (index, name) in names.enumerated() {
            svg += "<rect x=\"\(x)\" y=\"\(height - 14)\" width=\"10\" height=\"10\" fill=\"\(palette[index % palette.count])\"/>"
            svg += "<text class=\"legend\" x=\"\(x + 14)\" y=\"\(height - 5)\">\(escape(name))</text>"
            x += 24 + Int64(name.count) * 9
        }
        return svg
    }

    static func empty(title: String, text: String) -> String {
        open(title: title) + "<text class=\"axis\" x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">\(escape(text))</text></svg>"
    }

    /// Escapes text for SVG/HTML content and attribute values.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
