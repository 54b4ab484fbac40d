package app.rectify.kit

import app.rectify.core.Fix
import app.rectify.core.HttpRequest
import app.rectify.core.HttpResponse
import app.rectify.core.NewIssue
import app.rectify.core.SyncSettings
import app.rectify.core.SyncTransport
import app.rectify.core.TransportException
import java.io.File
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import org.junit.jupiter.api.Assumptions.assumeTrue

/**
 * The office the tests sync with: scripts/test-bindings.sh starts a real `rectify-office` on loopback
 * (the binding-fixture binary) and passes its address, one-time codes and field photos in the environment.
 * Without them (a plain `gradle test`), the tests that need an office are skipped, and say so.
 */
object Office {
    private val env: Map<String, String> = System.getenv()

    fun need(name: String): String {
        val value = env[name]
        assumeTrue(value != null, "$name is not set: run scripts/test-bindings.sh android for the office tests")
        return value!!
    }

    val url get() = need("RECTIFY_OFFICE_URL")
    val village get() = need("RECTIFY_VILLAGE")
    val lat get() = need("RECTIFY_LAT").toDouble()
    val lon get() = need("RECTIFY_LON").toDouble()
    val beforePhoto get() = need("RECTIFY_PHOTO_BEFORE")
    val afterPhoto get() = need("RECTIFY_PHOTO_AFTER")
    val thirdPhoto get() = need("RECTIFY_PHOTO_THIRD")

    fun here(note: String, photos: List<String> = emptyList()) = NewIssue(
        category = "village.scattered_garbage",
        at = Fix(lat, lon, 5.0),
        photoPaths = photos,
        note = note,
        villageCode = null,
        villageReason = null,
    )
}

/** Few retries with short pauses, so a failing sync fails fast. */
val quick = SyncSettings(fullPhotos = false, maxAttempts = 2u, firstRetryMs = 20u)

val work: File = Files.createTempDirectory("rectify-android-").toFile()

fun ledgerPath(name: String): String = File(work, "$name.db").path

/** OkHttp, with a switch that makes it behave as a phone with no signal, and a count of what it sent. */
class SwitchableTransport(private val inner: SyncTransport = OkHttpTransport()) : SyncTransport {
    val online = AtomicBoolean(true)
    val sent = AtomicInteger()

    /** Runs before each request is sent, on the sync's thread. */
    @Volatile
    var beforeSend: (HttpRequest) -> Unit = {}

    override fun send(request: HttpRequest): HttpResponse {
        sent.incrementAndGet()
        beforeSend(request)
        if (!online.get()) throw TransportException.Unreachable("no signal in the fields")
        return inner.send(request)
    }
}

/** An office that refuses this device, as after its token was revoked. */
class RefusingTransport : SyncTransport {
    override fun send(request: HttpRequest): HttpResponse =
        HttpResponse(401u, emptyList(), """{"error":"this device's token was revoked"}""".toByteArray())
}

/** Records what the background sync asks of the platform. */
class FakeScheduler : SyncScheduler {
    val requests = mutableListOf<SyncRequest>()
    val periodic = mutableListOf<java.time.Duration>()
    var cancelled = 0

    override fun request(request: SyncRequest) {
        requests += request
    }

    override fun ensurePeriodic(interval: java.time.Duration) {
        periodic += interval
    }

    override fun cancelAll() {
        cancelled += 1
        requests.clear()
    }
}
