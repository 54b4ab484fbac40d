package app.rectify.kit

import app.rectify.core.Device
import java.io.File
import java.time.Duration
import java.time.Instant
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The worker's logic with a fake scheduler: what it schedules, when, and what it remembers. */
class BackgroundSyncTest {
    @Test
    fun retriesDoubleFromTheFirstDelayUpToTheCap() {
        val policy = RetryPolicy(firstDelay = Duration.ofSeconds(30), maxDelay = Duration.ofMinutes(10))
        val delays = (1..8).map { policy.delayAfter(it).seconds }
        assertEquals(listOf(30L, 60L, 120L, 240L, 480L, 600L, 600L, 600L), delays)
        assertEquals(Duration.ofMinutes(10), policy.delayAfter(10_000), "a long outage must not overflow")
        assertFailsWith<IllegalArgumentException> { RetryPolicy(firstDelay = Duration.ZERO) }
    }

    @Test
    fun aLocalChangeAsksForASyncOnceOnlineAndStartRegistersThePeriodicOne() {
        val ledger = FieldLedger(Device.open(ledgerPath("local-change")))
        val scheduler = FakeScheduler()
        val sync = BackgroundSync(ledger, scheduler, InMemorySyncRecords())
        sync.start()
        sync.localChange()
        sync.requestNow()
        assertEquals(listOf(Duration.ofHours(1)), scheduler.periodic)
        assertEquals(
            listOf(SyncRequest(SyncReason.LOCAL_CHANGE, Duration.ofSeconds(5)), SyncRequest(SyncReason.REQUESTED, Duration.ZERO)),
            scheduler.requests,
        )
        ledger.close()
    }

    @Test
    fun aDeviceThatWasNeverEnrolledGivesUpAndSchedulesNothing() = runBlocking {
        val ledger = FieldLedger(Device.open(ledgerPath("never-enrolled")))
        val scheduler = FakeScheduler()
        val records = InMemorySyncRecords()
        val outcome = BackgroundSync(ledger, scheduler, records).run(quick)
        val gaveUp = assertIs<SyncOutcome.GiveUp>(outcome)
        assertTrue(gaveUp.needsEnrollment)
        assertEquals(1, scheduler.cancelled)
        assertTrue(scheduler.requests.isEmpty())
        assertTrue(records.load().needsEnrollment)
        ledger.close()
    }

    @Test
    fun noSignalRetriesWithBackoffThenTheNetworkReturnsAndEverythingIsSent() = runBlocking {
        val transport = SwitchableTransport()
        val ledger = FieldLedger(Device.open(ledgerPath("backoff")), transport)
        ledger.enroll(Office.url, Office.need("RECTIFY_CODE_HOST_TRANSPORT"))
        ledger.syncNow(quick)
        // A photo no other test sends, so the office does not have it yet.
        ledger.report(Office.here("bags by the school gate", listOf(Office.thirdPhoto)))

        // The record keeps milliseconds.
        var now = Instant.now().plus(Duration.ofHours(2)).truncatedTo(java.time.temporal.ChronoUnit.MILLIS)
        val scheduler = FakeScheduler()
        val records = FileSyncRecords(File(work, "backoff-record.properties"))
        val sync = BackgroundSync(ledger, scheduler, records, clock = { now })

        transport.online.set(false)
        val first = assertIs<SyncOutcome.RetryLater>(sync.run(quick))
        assertEquals(Duration.ofSeconds(30), first.after)
        assertTrue(first.error.isNotBlank())
        now = now.plusSeconds(30)
        val second = assertIs<SyncOutcome.RetryLater>(sync.run(quick))
        assertEquals(Duration.ofSeconds(60), second.after)
        assertEquals(
            listOf(SyncRequest(SyncReason.RETRY, Duration.ofSeconds(30)), SyncRequest(SyncReason.RETRY, Duration.ofSeconds(60))),
            scheduler.requests,
        )

        val waiting = sync.status()
        assertEquals(1L, waiting.pendingEvents)
        val age = assertNotNull(waiting.oldestUnsentAge)
        assertTrue(age >= Duration.ofMinutes(119) && age <= Duration.ofMinutes(125), "oldest unsent age $age")
        assertEquals(2, waiting.consecutiveFailures)
        assertNotNull(waiting.lastError)
        assertNull(waiting.lastSuccessAt)
        // The record survives the process: a new store on the same file reads it back.
        assertEquals(2, FileSyncRecords(File(work, "backoff-record.properties")).load().consecutiveFailures)

        transport.online.set(true)
        val synced = assertIs<SyncOutcome.Synced>(sync.run(quick))
        assertEquals(1uL, synced.summary.pushed)
        assertEquals(1uL, synced.summary.photosUp)
        val after = sync.status()
        assertEquals(0L, after.pendingEvents)
        assertEquals(0L, after.unconfirmedPhotoBytes)
        assertNull(after.oldestUnsentAge)
        assertEquals(0, after.consecutiveFailures)
        assertNull(after.lastError)
        assertEquals(now, after.lastSuccessAt)
        assertEquals(2, scheduler.requests.size, "a success schedules no retry")

        // An issue recorded while a sync runs, after its push, is not sent by it: the sync queues the next.
        var recorded = false
        transport.beforeSend = { request ->
            if (request.path.startsWith("/v1/pull") && !recorded) {
                recorded = true
                ledger.device.report(Office.here("recorded while syncing"))
            }
        }
        val racing = assertIs<SyncOutcome.Synced>(sync.run(quick))
        assertTrue(recorded)
        assertEquals(1uL, racing.summary.pending)
        assertEquals(SyncRequest(SyncReason.MORE_PENDING, Duration.ofSeconds(5)), scheduler.requests.last())
        transport.beforeSend = {}
        val followUp = assertIs<SyncOutcome.Synced>(sync.run(quick))
        assertEquals(1uL, followUp.summary.pushed)
        assertEquals(3, scheduler.requests.size, "nothing waits, so nothing more is queued")
        ledger.close()
    }

    @Test
    fun anOfficeThatRefusesTheDeviceStopsEveryRetryUntilItIsEnrolledAgain() = runBlocking {
        val enrolling = FieldLedger(Device.open(ledgerPath("refused")), OkHttpTransport())
        enrolling.enroll(Office.url, Office.need("RECTIFY_CODE_CANCEL"))
        enrolling.close()
        val ledger = FieldLedger(Device.open(ledgerPath("refused")), RefusingTransport())
        val scheduler = FakeScheduler()
        scheduler.request(SyncRequest(SyncReason.LOCAL_CHANGE, Duration.ofSeconds(5)))
        val records = InMemorySyncRecords()
        val sync = BackgroundSync(ledger, scheduler, records)
        val gaveUp = assertIs<SyncOutcome.GiveUp>(sync.run(quick))
        assertTrue(gaveUp.needsEnrollment)
        assertTrue("enroll it again" in gaveUp.error, gaveUp.error)
        assertEquals(1, scheduler.cancelled)
        assertTrue(scheduler.requests.isEmpty(), "the waiting sync was dropped")
        assertTrue(sync.status().needsEnrollment)
        sync.enrolled()
        assertEquals(false, records.load().needsEnrollment)
        assertEquals(SyncReason.REQUESTED, scheduler.requests.last().reason)
        ledger.close()
    }

    @Test
    fun aDamagedRecordReadsAsEmptyAndAFailedSaveKeepsTheOldOne() {
        val file = File(work, "damaged.properties")
        file.writeText("consecutive_failures=\\u00zz\n")
        assertEquals(SyncRecord(), FileSyncRecords(file).load())
        val store = FileSyncRecords(file)
        store.save(SyncRecord(consecutiveFailures = 3, lastError = "office down"))
        assertEquals(SyncRecord(consecutiveFailures = 3, lastError = "office down"), store.load())
        // A directory where the temporary file must go makes the save fail; the record stays whole.
        File(file.path + ".tmp").mkdirs()
        assertFailsWith<java.io.IOException> { store.save(SyncRecord(consecutiveFailures = 9)) }
        assertEquals(3, store.load().consecutiveFailures)
    }

    @Test
    fun tooLittleFreeSpaceIsRefusedBeforeTheCameraOpens() {
        val error = assertFailsWith<LowStorageException> { DiskSpace.ensureRoom(work, Long.MAX_VALUE) }
        assertTrue(error.freeBytes < Long.MAX_VALUE)
        assertTrue("MiB free" in error.message!!)
        DiskSpace.ensureRoom(work, 1)
    }
}
