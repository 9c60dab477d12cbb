import CSwQuant
import SwQuant

@c @implementation
public func swq_error_metrics(
    _ reference: UnsafePointer<Float>?, _ approx: UnsafePointer<Float>?, _ count: Int64,
    _ out: UnsafeMutablePointer<swq_metrics>?
) -> swq_status {
    _status { () throws(QuantError) in
        let (reference, approx) = (try _required(reference, "reference"), try _required(approx, "approx"))
        let out = try _required(out, "out")
        let n = try _count(count, "count")
        let m = try ErrorMetrics(reference: UnsafeBufferPointer(start: reference, count: n),
                                 approx: UnsafeBufferPointer(start: approx, count: n))
        out.pointee = swq_metrics(mse: m.meanSquaredError, sqnr_db: m.sqnrDecibels, max_abs_error: m.maxAbsoluteError)
    }
}
