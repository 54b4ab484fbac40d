package app.rectify.kit

import app.rectify.core.Device
import app.rectify.core.Fix
import app.rectify.core.IngestedPhoto
import app.rectify.core.Issue
import app.rectify.core.IssueDetail
import app.rectify.core.IssueEdit
import app.rectify.core.IssueId
import app.rectify.core.IssueStatus
import app.rectify.core.IssueSummary
import app.rectify.core.ListQuery
import app.rectify.core.LocatedVillage
import app.rectify.core.NearbyIssue
import app.rectify.core.NegativeList
import app.rectify.core.NewIssue
import app.rectify.core.Outbox
import app.rectify.core.ProblemCategory
import app.rectify.core.Profile
import app.rectify.core.RectifyException
import app.rectify.core.SyncListener
import app.rectify.core.SyncProgress
import app.rectify.core.SyncSettings
import app.rectify.core.SyncSummary
import app.rectify.core.SyncTransport
import app.rectify.core.VillageInfo
import java.time.Instant
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.withContext

/** One step of a sync as a [FieldLedger.sync] flow reports it. */
sealed interface SyncEvent {
    /** After every exchange with the office. */
    data class Progress(val progress: SyncProgress) : SyncEvent

    /** The sync ended well; the flow completes after this. A failed sync throws from the flow instead. */
    data class Finished(val summary: SyncSummary) : SyncEvent
}

/**
 * A device's ledger for coroutine code: every call runs on [io] (the core blocks on SQLite and the network),
 * and the lists the screens show are [Flow]s that re-read after every write and every sync on this object.
 *
 * The [Device] underneath is thread-safe, so one [FieldLedger] serves the whole app. [transport] carries
 * every sync and enrollment; `null` uses the core's own HTTP client.
 */
class FieldLedger(
    val device: Device,
    private val transport: SyncTransport? = null,
    private val io: CoroutineDispatcher = Dispatchers.IO,
) : AutoCloseable {
    private val revision = MutableStateFlow(0L)
    private val progress = MutableStateFlow<SyncProgress?>(null)

    /** Bumped after every write and every sync step that brought events down: collect it to refresh. */
    val changes: StateFlow<Long> = revision.asStateFlow()

    /** The running sync's last progress, or `null` while no sync runs through this object. */
    val syncProgress: StateFlow<SyncProgress?> = progress.asStateFlow()

    companion object {
        /** Opens (creating when missing) the ledger at [path]; its photos live in `<path>-photos`. */
        suspend fun open(
            path: String,
            transport: SyncTransport? = null,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): FieldLedger = withContext(io) { FieldLedger(Device.open(path), transport, io) }
    }

    private suspend fun <T> read(block: Device.() -> T): T = withContext(io) { device.block() }

    private suspend fun <T> write(block: Device.() -> T): T = withContext(io) {
        try {
            device.block()
        } finally {
            // A refused command writes nothing, but bumping anyway is harmless and keeps this simple.
            revision.value += 1
        }
    }

    // Identity

    /** Who this device acts for, or `null` before it is enrolled. */
    suspend fun profileOrNull(): Profile? = read {
        try {
            profile()
        } catch (_: RectifyException.NotInitialised) {
            null
        }
    }

    /** Enrolls with a one-time code from the office (typed, or read from its QR code). */
    suspend fun enroll(serverUrl: String, code: String): Profile = write { enroll(serverUrl, code, transport) }

    /** Enrolls with what an enrollment QR code carries. */
    suspend fun enroll(link: EnrollmentLink): Profile = enroll(link.server, link.code)

    // Recording

    suspend fun report(issue: NewIssue): Issue = write { report(issue) }

    suspend fun edit(id: IssueId, edit: IssueEdit): Issue = write { edit(id, edit) }

    suspend fun assign(id: IssueId, deadline: Instant? = null): Issue = write { assign(id, deadline) }

    suspend fun attachPhotos(id: IssueId, paths: List<String>, note: String? = null): Issue =
        write { attachPhotos(id, paths, note) }

    suspend fun strikeOff(id: IssueId, paths: List<String>, note: String? = null): Issue =
        write { strikeOff(id, paths, note) }

    suspend fun accept(id: IssueId, note: String? = null): Issue = write { accept(id, note) }

    suspend fun reject(id: IssueId, reason: String): Issue = write { reject(id, reason) }

    suspend fun reopen(id: IssueId, reason: String): Issue = write { reopen(id, reason) }

    suspend fun withdraw(id: IssueId, duplicateOf: IssueId? = null, note: String? = null): Issue =
        write { withdraw(id, duplicateOf, note) }

    suspend fun comment(id: IssueId, text: String): Issue = write { comment(id, text) }

    /** Ingests a photo on its own (to show its evidence warnings before it is attached). */
    suspend fun ingestPhoto(path: String): IngestedPhoto = write { ingestPhoto(path) }

    // Reading

    suspend fun issue(id: IssueId): IssueDetail = read { issue(id) }

    suspend fun categories(): List<ProblemCategory> = read { categories() }

    suspend fun villages(): List<VillageInfo> = read { villages() }

    suspend fun locate(fix: Fix): LocatedVillage? = read { locate(fix.lat, fix.lon) }

    /** Open issues of [category] within [radiusM] of [fix]: what to show before a possible duplicate. */
    suspend fun nearbyOpenIssues(category: String, fix: Fix, radiusM: Double = 30.0): List<NearbyIssue> =
        read { nearbyOpenIssues(category, fix.lat, fix.lon, radiusM) }

    suspend fun outbox(): Outbox = read { outbox() }

    /** The village's negative list, read again after every change. */
    fun negativeList(villageCode: String): Flow<NegativeList> = watch { negativeList(villageCode) }

    /** Issues matching [query], read again after every change. */
    fun issues(query: ListQuery? = null): Flow<List<IssueSummary>> = watch { list(query) }

    /** Strike-offs waiting for an acceptor's decision. */
    fun awaitingAcceptance(): Flow<List<IssueSummary>> =
        issues(ListQuery(villageCode = null, zone = null, status = IssueStatus.STRIKE_OFF_REQUESTED, overdueOnly = false))

    /** The one issue, read again after every change. */
    fun issueDetail(id: IssueId): Flow<IssueDetail> = watch { issue(id) }

    private fun <T> watch(query: Device.() -> T): Flow<T> =
        revision.map { read(query) }.distinctUntilChanged().conflate()

    // Sync

    /**
     * Runs one sync, publishing its progress on [syncProgress]. Cancelling the caller cancels the sync:
     * it stops between two exchanges with the office, and this returns only once it has stopped.
     */
    suspend fun syncNow(
        settings: SyncSettings = SyncSettings(),
        onProgress: (SyncProgress) -> Unit = {},
    ): SyncSummary {
        val listener = object : SyncListener {
            // The counts are running totals: a refresh is due only when a page brought events down.
            private var eventsDown = 0uL

            override fun onProgress(progress: SyncProgress) {
                this@FieldLedger.progress.value = progress
                if (progress.eventsDown > eventsDown) {
                    eventsDown = progress.eventsDown
                    revision.value += 1
                }
                onProgress(progress)
            }
        }
        val job = device.syncJob(transport, listener, settings)
        return try {
            coroutineScope {
                val running = async(io) {
                    try {
                        job.run()
                    } catch (stopped: RectifyException.Interrupted) {
                        // Stopped because we cancelled it: that is a cancellation, not a failure.
                        if (job.isCancelled()) throw CancellationException("the sync was cancelled") else throw stopped
                    }
                }
                try {
                    running.await()
                } catch (cancelled: CancellationException) {
                    job.cancel()
                    throw cancelled
                }
            }
        } finally {
            // coroutineScope has waited for the job's thread to return, so the job is free to close.
            progress.value = null
            revision.value += 1
            job.close()
        }
    }

    /** A sync as a cold flow of its progress, ending with [SyncEvent.Finished]. */
    fun sync(settings: SyncSettings = SyncSettings()): Flow<SyncEvent> = channelFlow {
        val summary = syncNow(settings) { trySend(SyncEvent.Progress(it)) }
        send(SyncEvent.Finished(summary))
    }.buffer(Channel.UNLIMITED)

    /** Stops the statements other threads are running on this ledger (a write rolls back whole). */
    fun interrupt() = device.interrupt()

    override fun close() = device.close()
}
