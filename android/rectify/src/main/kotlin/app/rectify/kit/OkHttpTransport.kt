package app.rectify.kit

import app.rectify.core.HttpHeader
import app.rectify.core.HttpRequest
import app.rectify.core.HttpResponse
import app.rectify.core.SyncTransport
import app.rectify.core.TransportException
import java.io.IOException
import java.io.InterruptedIOException
import java.net.ConnectException
import java.net.NoRouteToHostException
import java.net.UnknownHostException
import java.util.AbstractMap.SimpleImmutableEntry
import java.util.concurrent.TimeUnit
import okhttp3.OkHttpClient

/**
 * The core's sync HTTP carried by OkHttp, so syncs use the platform's proxy, TLS and connection pool.
 *
 * The core may ask for gzip itself; OkHttp then hands the body over as it arrived, with its
 * Content-Encoding, which is what the core expects. When the core does not, OkHttp asks for gzip and
 * inflates it transparently, dropping the header. OkHttp clients are thread-safe, and so is this: the
 * core fetches the next pull page while it applies the last.
 */
class OkHttpTransport(private val client: OkHttpClient = defaultClient()) : SyncTransport {
    companion object {
        /** Timeouts that suit a phone on a weak rural network. */
        fun defaultClient(): OkHttpClient = OkHttpClient.Builder()
            .connectTimeout(15, TimeUnit.SECONDS)
            .readTimeout(60, TimeUnit.SECONDS)
            .writeTimeout(60, TimeUnit.SECONDS)
            .build()
    }

    override fun send(request: HttpRequest): HttpResponse {
        val headers = request.headers.map { SimpleImmutableEntry(it.name, it.value) }
        val answer = try {
            OkHttpExchange.send(client, request.method, request.url, headers, request.body)
        } catch (unreachable: UnknownHostException) {
            throw TransportException.Unreachable(unreachable.toString())
        } catch (unreachable: ConnectException) {
            throw TransportException.Unreachable(unreachable.toString())
        } catch (unreachable: NoRouteToHostException) {
            throw TransportException.Unreachable(unreachable.toString())
        } catch (_: InterruptedIOException) {
            // A socket timeout, or OkHttp's whole-call timeout.
            throw TransportException.TimedOut()
        } catch (broken: IOException) {
            throw TransportException.Broken(broken.toString())
        } catch (bad: IllegalArgumentException) {
            // OkHttp refuses a malformed URL or header before sending anything.
            throw TransportException.Broken("the request could not be sent: ${bad.message}")
        }
        return HttpResponse(
            answer.status.toUShort(),
            answer.headers.map { (name, value) -> HttpHeader(name, value) },
            answer.body,
        )
    }
}
