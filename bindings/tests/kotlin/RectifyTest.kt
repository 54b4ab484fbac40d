// Rectify through its Kotlin bindings on the JVM (JNA), as the Android app uses them: a whole field story
// against a real office on loopback, errors as exceptions, progress callbacks, a transport written in
// Kotlin on java.net.http, cancellation, and many coroutines calling one device at once.
//
// Run by scripts/test-bindings.sh with JUnit 5's console launcher; the fixture's office address, codes and
// photos arrive in the environment.

package app.rectify.core.test

import app.rectify.core.*
import java.io.File
import java.net.ConnectException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpTimeoutException
import java.nio.file.Files
import java.time.Duration
import java.time.Instant
import java.time.ZoneOffset
import java.time.temporal.IsoFields
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.MethodOrderer
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestMethodOrder
import kotlin.test.assertFailsWith

private val env = System.getenv()
private val work: File = Files.createTempDirectory("rectify-kotlin-").toFile()
private val url = env.getValue("RECTIFY_OFFICE_URL")
private val village = env.getValue("RECTIFY_VILLAGE")
private val lat = env.getValue("RECTIFY_LAT").toDouble()
private val lon = env.getValue("RECTIFY_LON").toDouble()
private val before = env.getValue("RECTIFY_PHOTO_BEFORE")
private val after = env.getValue("RECTIFY_PHOTO_AFTER")
private val third = env.getValue("RECTIFY_PHOTO_THIRD")
private const val CATEGORY = "village.scattered_garbage"
private val fast = SyncSettings(fullPhotos = false, maxAttempts = 5u, firstRetryMs = 20u)

private fun db(name: String) = File(work, "$name.db").path

private fun enrolled(name: String, codeVar: String): Device {
    val device = Device.open(db(name))
    device.enroll(url, env.getValue(codeVar))
    device.sync(settings = fast)
    return device
}

private fun here(note: String, photos: List<String> = emptyList(), dLat: Double = 0.0) =
    NewIssue(category = CATEGORY, at = Fix(lat + dLat, lon, 5.0), photoPaths = photos, note = note)

/** The sync's HTTP carried by the JDK's own client, counting what it sends. */
class JdkTransport : SyncTransport {
    private val client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
    val requests = AtomicInteger()
    val methods: MutableSet<String> = java.util.concurrent.ConcurrentHashMap.newKeySet()

    override fun send(request: HttpRequest): HttpResponse {
        requests.incrementAndGet()
        methods.add(request.method)
        val builder = java.net.http.HttpRequest.newBuilder(URI.create(request.url)).timeout(Duration.ofSeconds(30))
        // The JDK sets these itself and refuses them from callers.
        val restricted = setOf("content-length", "host", "connection", "expect", "upgrade")
        for (header in request.headers) {
            if (header.name !in restricted) builder.header(header.name, header.value)
        }
        val body = if (request.body.isEmpty()) java.net.http.HttpRequest.BodyPublishers.noBody()
        else java.net.http.HttpRequest.BodyPublishers.ofByteArray(request.body)
        builder.method(request.method, body)
        try {
            val answer = client.send(builder.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray())
            val headers = answer.headers().map().flatMap { (name, values) ->
                values.map { HttpHeader(name.lowercase(), it) }
            }
            return HttpResponse(answer.statusCode().toUShort(), headers, answer.body() ?: ByteArray(0))
        } catch (err: ConnectException) {
            throw TransportException.Unreachable(err.toString())
        } catch (err: HttpTimeoutException) {
            throw TransportException.TimedOut()
        } catch (err: java.io.IOException) {
            throw TransportException.Broken(err.toString())
        }
    }
}

class Progress : SyncListener {
    val seen: MutableList<SyncProgress> = java.util.Collections.synchronizedList(mutableListOf())
    override fun onProgress(progress: SyncProgress) {
        seen.add(progress)
    }
}

/** Always fails, as a phone with no signal does. */
class NoSignal : SyncTransport {
    val calls = AtomicInteger()
    override fun send(request: HttpRequest): HttpResponse {
        calls.incrementAndGet()
        throw TransportException.Unreachable("no signal in the fields")
    }
}

// The field story runs first: the office's scope is the whole district, so later tests' reports would
// show up in its lists.
@TestMethodOrder(MethodOrderer.OrderAnnotation::class)
class RectifyTest {
    @Test
    @Order(1)
    fun fieldStory() {
        val inspector = enrolled("inspector", "RECTIFY_CODE_INSPECTOR")
        assertEquals(Role.INSPECTOR, inspector.profile().role)
        val located = inspector.locate(lat, lon)
        assertNotNull(located)
        assertEquals(village, located!!.villageCode)

        val issue = inspector.report(here("garbage by the pond", listOf(before)))
        assertEquals(IssueStatus.REPORTED, issue.status)
        assertTrue(issue.reportedAt.isBefore(Instant.now().plusSeconds(5)), "the timestamp is an Instant")
        assertEquals(listOf(issue.id), inspector.list().map { it.id })

        val progress = Progress()
        val summary = inspector.sync(listener = progress, settings = fast)
        assertEquals(1uL, summary.pushed)
        assertEquals(1uL, summary.photosUp)
        assertTrue(progress.seen.isNotEmpty(), "no progress callback arrived")
        assertEquals(SyncPhase.DONE, progress.seen.last().phase)

        val secretary = enrolled("secretary", "RECTIFY_CODE_SECRETARY")
        val list = secretary.negativeList(village)
        assertEquals(1u, list.remaining)
        assertEquals(issue.id, list.items.single().id)
        val struck = secretary.strikeOff(issue.id, listOf(after), "cleared and swept")
        assertEquals(IssueStatus.STRIKE_OFF_REQUESTED, struck.status)
        secretary.sync(settings = fast)

        val acceptor = enrolled("acceptor", "RECTIFY_CODE_ACCEPTOR")
        assertEquals(IssueStatus.ACCEPTED, acceptor.accept(issue.id, "checked on site").status)
        acceptor.sync(settings = fast)

        inspector.sync(settings = fast)
        val detail = inspector.issue(issue.id)
        assertEquals(IssueStatus.ACCEPTED, detail.issue.status)
        assertEquals(listOf("reported", "strike_off_requested", "accepted"), detail.history.map { it.kind })
        assertTrue(detail.history.all { it.officeSeq != null })
        assertEquals(setOf(PhotoRole.BEFORE, PhotoRole.AFTER), detail.photos.map { it.role }.toSet())
        // This phone took the before-photo: its evidence file and thumbnail are on disk where the detail says.
        val own = detail.photos.single { it.role == PhotoRole.BEFORE }
        assertTrue(File(own.path!!).isFile && File(own.thumbnailPath!!).isFile, own.toString())
        val done = inspector.negativeList(village)
        assertEquals(1u, done.rectified)
        assertEquals(100.0, done.rectificationRate)
        val today = java.time.LocalDate.now(ZoneOffset.ofHours(8))
        val week = "%d-W%02d".format(today.get(IsoFields.WEEK_BASED_YEAR), today.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR))
        assertEquals(1u, inspector.bulletin(week = week).total.totalAccepted)
    }

    @Test
    @Order(2)
    fun errorsArriveAsExceptions() {
        val device = Device.open(db("errors"), ProfileSetup("Test Inspector", Role.INSPECTOR, emptyList()))
        val bad = assertFailsWith<RectifyException.InvalidInput> {
            device.report(NewIssue(category = "no.such_problem", at = Fix(lat, lon), villageCode = village))
        }
        assertTrue(bad.reason.isNotBlank())
        assertFailsWith<RectifyException.InvalidInput> { device.issue("not-an-id") }
        assertFailsWith<RectifyException.NotFound> { device.issue("0190a0b0-0000-7000-8000-000000000000") }
        assertFailsWith<RectifyException.InvalidInput> { device.ingestPhoto(File(work, "missing.jpg").path) }
        assertFailsWith<RectifyException.NotInitialised> { device.sync() }
        val notDb = File(work, "not-a-ledger.db").apply { writeText("plain text, not SQLite\n".repeat(100)) }
        assertFailsWith<RectifyException.IncompatibleDatabase> { Device.open(notDb.path) }
        // The base class catches them all, as an app's error handler would.
        assertFailsWith<RectifyException> { device.reject("0190a0b0-0000-7000-8000-000000000001", "no such issue") }
    }

    @Test
    @Order(3)
    fun transportWrittenInKotlin() {
        val transport = JdkTransport()
        val device = Device.open(db("host-transport"))
        device.enroll(url, env.getValue("RECTIFY_CODE_HOST_TRANSPORT"), transport)
        device.sync(transport = transport, settings = fast)
        assertEquals(village, device.locate(lat, lon)?.villageCode, "the villages did not come through")
        device.report(here("through java.net.http", listOf(third), dLat = 1e-5))
        val summary = device.sync(transport = transport, settings = fast)
        assertEquals(1uL, summary.pushed)
        assertEquals(1uL, summary.photosUp)
        assertTrue(transport.methods.containsAll(listOf("GET", "POST", "PATCH")), transport.methods.toString())
        assertEquals(0uL, device.outbox().unconfirmedPhotoBytes)
    }

    @Test
    @Order(4)
    fun failingTransportAndCancel() {
        val device = Device.open(db("cancel"))
        device.enroll(url, env.getValue("RECTIFY_CODE_CANCEL"))
        val down = NoSignal()
        val failed = assertFailsWith<RectifyException.Sync> {
            device.sync(transport = down, settings = SyncSettings(false, 3u, 1u))
        }
        assertEquals(3, down.calls.get())
        assertTrue(failed.reason.contains("no signal"), failed.reason)

        // Uncancelled, this job fails with Sync after ~30 s of backoff: a broken cancel fails, not hangs.
        val job = device.syncJob(NoSignal(), null, SyncSettings(false, 3u, 10_000u))
        val started = System.nanoTime()
        val canceller = Thread { Thread.sleep(300); job.cancel() }.apply { start() }
        assertFailsWith<RectifyException.Interrupted> { job.run() }
        canceller.join()
        assertTrue((System.nanoTime() - started) / 1_000_000 < 5_000, "cancel waited out the backoff")
        job.close()
        device.sync(settings = fast)
    }

    @Test
    @Order(5)
    fun manyCoroutinesAtOnce() {
        val device = enrolled("threads", "RECTIFY_CODE_THREADS")
        val before = device.list().size
        runBlocking(Dispatchers.Default) {
            (0 until 16).map { n ->
                async {
                    repeat(10) { k ->
                        device.report(NewIssue(CATEGORY, Fix(lat + n * 1e-5, lon + k * 1e-5), note = "coroutine $n/$k", villageCode = village))
                        device.list()
                        device.outbox()
                    }
                }
            }.awaitAll()
        }
        assertEquals(before + 160, device.list().size)
        device.close()
    }

    @Test
    @Order(6)
    fun closedObjectsRefuseUse() {
        val device = Device.open(db("closed"), ProfileSetup("Closing Inspector", Role.INSPECTOR, emptyList()))
        device.use { it.outbox() }
        assertFailsWith<IllegalStateException> { device.outbox() }
    }
}
