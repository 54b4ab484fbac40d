// The Kotlin half of `bench -- ffi`: times listing the issues of a ledger through the bindings (JNA), and
// one call round trip, then prints one JSON object. Usage: BenchFfiKt LEDGER ROUNDS CALLS

package app.rectify.core.bench

import app.rectify.core.Device
import app.rectify.core.libraryVersion

fun main(args: Array<String>) {
    val (path, rounds, calls) = Triple(args[0], args[1].toInt(), args[2].toInt())
    val device = Device.open(path)
    val count = device.list().size
    // The JIT compiles the conversion code first, as it would have in a running app.
    repeat(rounds) { device.list() }
    val times = (0 until rounds).map {
        val started = System.nanoTime()
        device.list()
        (System.nanoTime() - started) / 1e6
    }.sorted()
    repeat(calls) { libraryVersion() }
    val started = System.nanoTime()
    repeat(calls) { libraryVersion() }
    val callNs = (System.nanoTime() - started).toDouble() / calls
    val job = device.syncJob(null, null, null)
    repeat(calls) { job.isCancelled() }
    val methodStarted = System.nanoTime()
    repeat(calls) { job.isCancelled() }
    val methodNs = (System.nanoTime() - methodStarted).toDouble() / calls
    println("{\"issues\": $count, \"list_ms_median\": ${times[times.size / 2]}, \"call_ns\": $callNs, \"method_ns\": $methodNs}")
    job.close()
    device.close()
}
