package app.rectify.kit

import app.rectify.core.RectifyException
import app.rectify.core.SyncProgress
import app.rectify.core.SyncSettings
import app.rectify.core.SyncSummary
import java.time.Duration
import java.time.Instant
import java.time.OffsetDateTime
import java.time.format.DateTimeParseException
import kotlinx.coroutines.CancellationException

/** Why a sync is asked for. The scheduler may treat them differently (replace a waiting run or keep it). */
enum class SyncReason {
    /** Something was recorded on this device: send it when a network is there. */
    LOCAL_CHANGE,

    /** The person asked for it, or the app came to the foreground. */
    REQUESTED,

    /** The last attempt failed; try again after the backoff. Asked for from inside the running sync. */
    RETRY,

    /** Something was recorded while the sync ran, after its push: send it next. Asked for from inside the running sync. */
    MORE_PENDING,
}

/** A one-off sync to run once a network is available, no sooner than [delay] from now. */
data class SyncRequest(val reason: SyncReason, val delay: Duration)

/**
 * Where background syncs are queued: WorkManager on Android, BGTaskScheduler on iOS, a list in tests.
 * Every request needs a network; the platform holds it until one appears, which is how a sync happens
 * "when a network returns".
 */
interface SyncScheduler {
    fun request(request: SyncRequest)

    /** A sync every [interval] while the app is installed, so pulls happen even when nothing is recorded. */
    fun ensurePeriodic(interval: Duration)

    /** Drops every queued sync (the device was refused and must be enrolled again). */
    fun cancelAll()
}

/** When to try again. The defaults suit a phone: quick first retry, then patience, never hammering. */
data class RetryPolicy(
    val firstDelay: Duration = Duration.ofSeconds(30),
    val maxDelay: Duration = Duration.ofHours(1),
    val localChangeDelay: Duration = Duration.ofSeconds(5),
    val periodic: Duration = Duration.ofHours(1),
) {
    init {
        require(!firstDelay.isNegative && !firstDelay.isZero) { "the first retry delay must be positive" }
        require(maxDelay >= firstDelay) { "the longest delay must not be shorter than the first" }
    }

    /** The pause after [failures] failed attempts in a row (1 → [firstDelay]), doubling up to [maxDelay]. */
    fun delayAfter(failures: Int): Duration {
        if (failures <= 1) return firstDelay
        // Past 2^20 the cap has long been reached; stop shifting before it overflows.
        val factor = 1L shl (failures - 1).coerceAtMost(20)
        val millis = firstDelay.toMillis()
        // Compared by division, so that the product cannot overflow; below the bound it is within the cap.
        return if (millis > maxDelay.toMillis() / factor) maxDelay else Duration.ofMillis(millis * factor)
    }
}

/** What a background sync attempt came to: [error] is a sentence for a status line, [cause] the core's error. */
sealed interface SyncOutcome {
    data class Synced(val summary: SyncSummary) : SyncOutcome

    /** It failed for now (no network, office down, disk full); a retry is already scheduled. */
    data class RetryLater(val after: Duration, val error: String, val cause: RectifyException) : SyncOutcome

    /** Retrying cannot help until a person acts (enroll again, update the app); nothing is scheduled. */
    data class GiveUp(val error: String, val needsEnrollment: Boolean, val cause: RectifyException) : SyncOutcome
}

/** What the sync status screen shows. */
data class SyncStatus(
    val pendingEvents: Long,
    /** How long the oldest unsent item has waited; `null` when nothing waits. */
    val oldestUnsentAge: Duration?,
    /** Evidence the office has not confirmed yet: the phone must keep it. */
    val unconfirmedPhotoBytes: Long,
    val lastSuccessAt: Instant?,
    val lastAttemptAt: Instant?,
    val lastError: String?,
    val consecutiveFailures: Int,
    val needsEnrollment: Boolean,
)

/**
 * The background sync's logic, free of any platform: the Android worker and the iOS background task only
 * call [run] and map its outcome. Each failure schedules the next attempt itself, with a delay doubling
 * from [RetryPolicy.firstDelay]; a refusal by the office stops everything until the device is enrolled
 * again; success clears the failure count.
 */
class BackgroundSync(
    private val ledger: FieldLedger,
    private val scheduler: SyncScheduler,
    private val records: SyncRecordStore,
    private val policy: RetryPolicy = RetryPolicy(),
    private val clock: () -> Instant = Instant::now,
) {
    /** Registers the periodic sync; call once when the app starts. */
    fun start() = scheduler.ensurePeriodic(policy.periodic)

    /** Something was recorded: send it soon, once a network is there. */
    fun localChange() = scheduler.request(SyncRequest(SyncReason.LOCAL_CHANGE, policy.localChangeDelay))

    /** The person pulled to refresh, or the app came to the foreground. */
    fun requestNow() = scheduler.request(SyncRequest(SyncReason.REQUESTED, Duration.ZERO))

    /**
     * One attempt, from the worker or from a "sync now" button (whose progress shows on
     * [FieldLedger.syncProgress], or through [onProgress]). Either way the outcome is recorded and the retry
     * scheduled the same way. A cancelled caller (the platform stopped the work, or the person cancelled)
     * cancels the sync and rethrows.
     */
    suspend fun run(
        settings: SyncSettings = SyncSettings(),
        onProgress: (SyncProgress) -> Unit = {},
    ): SyncOutcome {
        val started = clock()
        val before = records.load()
        return try {
            val summary = ledger.syncNow(settings, onProgress)
            records.save(SyncRecord(lastSuccessAt = clock(), lastAttemptAt = started))
            // A local change that came in while this sync ran found it running, so nothing else is queued
            // for it: queue it here.
            if (summary.pending > 0u) scheduler.request(SyncRequest(SyncReason.MORE_PENDING, policy.localChangeDelay))
            SyncOutcome.Synced(summary)
        } catch (cancelled: CancellationException) {
            throw cancelled
        } catch (refused: RectifyException) {
            val needsEnrollment = refused is RectifyException.NotPermitted || refused is RectifyException.NotInitialised
            val message = describe(refused)
            val failures = before.consecutiveFailures + 1
            records.save(
                before.copy(
                    lastAttemptAt = started,
                    lastError = message,
                    consecutiveFailures = failures,
                    needsEnrollment = needsEnrollment,
                ),
            )
            if (needsEnrollment || refused is RectifyException.IncompatibleDatabase) {
                scheduler.cancelAll()
                SyncOutcome.GiveUp(message, needsEnrollment, refused)
            } else {
                val delay = policy.delayAfter(failures)
                scheduler.request(SyncRequest(SyncReason.RETRY, delay))
                SyncOutcome.RetryLater(delay, message, refused)
            }
        }
    }

    /** The sync status as it stands: what waits on the device, and how the last attempts went. */
    suspend fun status(): SyncStatus {
        val outbox = ledger.outbox()
        val record = records.load()
        val oldest = outbox.oldestRecordedAt?.let(::parseInstant)
        return SyncStatus(
            pendingEvents = outbox.pendingEvents.toLong(),
            oldestUnsentAge = oldest?.let { Duration.between(it, clock()).coerceAtLeast(Duration.ZERO) },
            unconfirmedPhotoBytes = outbox.unconfirmedPhotoBytes.toLong(),
            lastSuccessAt = record.lastSuccessAt,
            lastAttemptAt = record.lastAttemptAt,
            lastError = record.lastError,
            consecutiveFailures = record.consecutiveFailures,
            needsEnrollment = record.needsEnrollment,
        )
    }

    /** After a new enrollment: forget the refusal and start syncing again. */
    fun enrolled() {
        records.save(records.load().copy(lastError = null, consecutiveFailures = 0, needsEnrollment = false))
        start()
        requestNow()
    }

    private fun describe(error: RectifyException): String = when (error) {
        is RectifyException.Sync -> error.reason
        is RectifyException.NotPermitted -> error.reason
        is RectifyException.NotInitialised -> error.reason
        is RectifyException.Storage -> "the phone's storage failed: ${error.reason}"
        is RectifyException.Interrupted -> "the sync was stopped: ${error.reason}"
        is RectifyException.IncompatibleDatabase -> error.reason
        is RectifyException.InvalidInput -> error.reason
        is RectifyException.NotFound -> error.reason
        is RectifyException.IllegalTransition -> error.reason
    }
}

private fun Duration.coerceAtLeast(floor: Duration): Duration = if (this < floor) floor else this

/** The core writes times as RFC 3339 with the device's offset. */
internal fun parseInstant(text: String): Instant? = try {
    OffsetDateTime.parse(text).toInstant()
} catch (_: DateTimeParseException) {
    null
}
