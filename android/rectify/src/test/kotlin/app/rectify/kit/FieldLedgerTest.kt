package app.rectify.kit

import app.rectify.core.HttpRequest
import app.rectify.core.HttpResponse
import app.rectify.core.IssueStatus
import app.rectify.core.Role
import app.rectify.core.SyncPhase
import app.rectify.core.SyncSettings
import app.rectify.core.SyncTransport
import app.rectify.core.TransportException
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.MethodOrderer
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestMethodOrder

/** The library against a real office on loopback, every exchange carried by OkHttp. */
@TestMethodOrder(MethodOrderer.OrderAnnotation::class)
class FieldLedgerTest {
    @Test
    @Order(1)
    fun aWholeFieldStoryThroughFlowsAndOkHttp() = runBlocking {
        val transport = SwitchableTransport()
        // The secretary's phone has the village (from the office's reference data) but nothing on it yet.
        val secretary = FieldLedger.open(ledgerPath("secretary"), OkHttpTransport())
        secretary.enroll(Office.url, Office.need("RECTIFY_CODE_SECRETARY"))
        secretary.syncNow(quick)
        val lists = secretary.negativeList(Office.village)
        assertEquals(0u, lists.first().remaining)

        val inspector = FieldLedger.open(ledgerPath("inspector"), transport)
        assertNull(inspector.profileOrNull(), "a fresh device has no user yet")
        assertEquals(Role.INSPECTOR, inspector.enroll(Office.url, Office.need("RECTIFY_CODE_INSPECTOR")).role)
        inspector.syncNow(quick)

        // The picker's labels and the village arrive with the reference data.
        val garbage = inspector.categories().single { it.code == "village.scattered_garbage" }
        assertEquals("村内散落垃圾", garbage.zh)
        val here = Office.here("garbage by the pond", listOf(Office.beforePhoto))
        assertEquals(Office.village, inspector.locate(here.at)?.villageCode)
        assertTrue(inspector.villages().any { it.code == Office.village })

        val issue = inspector.report(here)
        assertEquals(listOf(issue.id), inspector.nearbyOpenIssues(here.category, here.at).map { it.issue.id })
        val events = inspector.sync(quick).toList()
        val finished = assertIs<SyncEvent.Finished>(events.last())
        assertEquals(1uL, finished.summary.pushed)
        assertEquals(1uL, finished.summary.photosUp)
        val phases = events.filterIsInstance<SyncEvent.Progress>().map { it.progress.phase }
        assertTrue(SyncPhase.PHOTOS_UP in phases && phases.last() == SyncPhase.DONE, "phases: $phases")
        assertNull(inspector.syncProgress.value, "no sync runs any more")
        assertTrue(transport.sent.get() > 3, "OkHttp carried the sync")

        // The secretary's negative list is a flow: it shows the issue after a sync, and the strike-off
        // after recording it, without being asked again.
        secretary.syncNow(quick)
        val before = lists.first { it.remaining == 1u }
        assertEquals(issue.id, before.items.single().id)
        secretary.strikeOff(issue.id, listOf(Office.afterPhoto), "cleared and swept")
        val struck = lists.first { it.awaitingAcceptance == 1u }
        assertEquals(IssueStatus.STRIKE_OFF_REQUESTED, struck.items.single().status)
        secretary.syncNow(quick)

        val acceptor = FieldLedger.open(ledgerPath("acceptor"), OkHttpTransport())
        acceptor.enroll(Office.url, Office.need("RECTIFY_CODE_ACCEPTOR"))
        acceptor.syncNow(quick)
        assertEquals(listOf(issue.id), acceptor.awaitingAcceptance().first().map { it.id })
        assertEquals(IssueStatus.ACCEPTED, acceptor.accept(issue.id, "checked on site").status)
        assertTrue(acceptor.awaitingAcceptance().first().isEmpty())
        acceptor.syncNow(quick)

        val detail = inspector.issueDetail(issue.id)
        inspector.syncNow(SyncSettings(fullPhotos = true, maxAttempts = 2u, firstRetryMs = 20u))
        val done = detail.first { it.issue.status == IssueStatus.ACCEPTED }
        assertEquals(listOf("reported", "strike_off_requested", "accepted"), done.history.map { it.kind })
        assertEquals(2, done.photos.size, "before and after, side by side")
        assertTrue(done.photos.all { it.path != null || it.thumbnailPath != null })
        listOf(inspector, secretary, acceptor).forEach { it.close() }
    }

    @Test
    @Order(3)
    fun aPhoneEnrollsFromTheLinkInTheOfficesQrCode() = runBlocking {
        val link = assertNotNull(EnrollmentLink.parse(Office.need("RECTIFY_ENROLL_LINK")))
        assertEquals(Office.url, link.server)
        val ledger = FieldLedger.open(ledgerPath("from-link"), OkHttpTransport())
        assertEquals("Zheng Inspector", ledger.enroll(link).userName)
        ledger.close()
        for (notOne in listOf("https://example.org/enroll?code=A", "rectify://enroll?code=ABC", "rectify://enroll?server=ftp%3A%2F%2Fx&code=A", "rectify://enroll?server=http%3A%2F%2Fx&code=%zz", "not a link at all")) {
            assertNull(EnrollmentLink.parse(notOne), notOne)
        }
    }

    @Test
    @Order(2)
    fun cancellingTheCallerStopsTheSyncInsideItsBackoff() = runBlocking {
        val enrolling = FieldLedger(app.rectify.core.Device.open(ledgerPath("cancel")), OkHttpTransport())
        enrolling.enroll(Office.url, Office.need("RECTIFY_CODE_THREADS"))
        enrolling.syncNow(quick)
        enrolling.close()
        val calls = AtomicInteger()
        val noSignal = object : SyncTransport {
            override fun send(request: HttpRequest): HttpResponse {
                calls.incrementAndGet()
                throw TransportException.Unreachable("no signal")
            }
        }
        val ledger = FieldLedger.open(ledgerPath("cancel"), noSignal)
        ledger.report(Office.here("a pile of bricks"))
        val patient = SyncSettings(fullPhotos = false, maxAttempts = 50u, firstRetryMs = 2_000u)
        val running = async(start = CoroutineStart.UNDISPATCHED) { ledger.syncNow(patient) }
        while (calls.get() == 0) delay(10)
        val started = System.nanoTime()
        running.cancel()
        withTimeout(10_000) { running.join() }
        val stoppedMs = (System.nanoTime() - started) / 1_000_000
        assertTrue(running.isCancelled)
        assertFailsWith<CancellationException> { runBlocking { running.await() } }
        assertTrue(stoppedMs < 2_000, "the sync stopped inside its 2 s backoff, in $stoppedMs ms")
        assertEquals(1, calls.get(), "nothing was sent after the cancel")
        assertEquals(1uL, ledger.outbox().pendingEvents, "the report waits for the next sync")
        ledger.close()
    }
}
