import Testing
@testable import SwQuant

@Suite struct ObserverTests {
    static let methods: [CalibrationMethod] = [.minMax, .movingAverage(momentum: 0.1), .percentile(99.9), .mse, .entropy(quantizedBins: 128)]

    func observe(_ observer: Observer, _ values: [Float]) throws {
        try values.withUnsafeBufferPointer { try observer.observe(TensorView($0, rows: 1, cols: values.count)) }
    }

    @Test(arguments: methods)
    func serializationRoundTrips(method: CalibrationMethod) throws {
        let observer = try Observer(method: method)
        try observe(observer, testValues(5000))
        try observe(observer, testValues(3000, seed: 2).map { $0 * 3 })  // a wider batch grows the histogram
        let bytes = observer.serialized()
        let restored = try Observer(serialized: bytes)
        #expect(restored.serialized() == bytes)
        #expect(try restored.ranges().map(\.low) == observer.ranges().map(\.low))
        #expect(throws: QuantError.self) { _ = try Observer(serialized: Array(bytes.dropLast())) }
    }

    /// Two observers over halves equal one observer over everything, exactly.
    @Test(arguments: [CalibrationMethod.minMax, .percentile(99.0), .entropy(quantizedBins: 128)])
    func mergeIsExact(method: CalibrationMethod) throws {
        let a = testValues(4000), b = testValues(6000, seed: 5).map { $0 * 4 }
        let whole = try Observer(method: method), first = try Observer(method: method), second = try Observer(method: method)
        try observe(whole, a)
        try observe(whole, b)
        try observe(first, a)
        try observe(second, b)
        try first.merge(second)
        #expect(first.histograms == whole.histograms, "histograms differ")
        #expect(try first.ranges().map(\.high) == whole.ranges().map(\.high))
        #expect(first.valueCount == whole.valueCount)
    }

    @Test func histogramGrowthKeepsEveryCount() throws {
        let observer = try Observer(method: .percentile(99.99), bins: 64)
        try observe(observer, testValues(1000))
        try observe(observer, [1e6, -2e6])  // the width doubles until these fit
        #expect(observer.histograms[0].counts.reduce(0, +) == 1002)
        #expect(observer.histograms[0].counts.count == 64)
        #expect(observer.histograms[0].threshold > 2e6 && observer.histograms[0].threshold <= 4e6)
    }
}
