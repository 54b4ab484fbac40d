package app.rectify.kit.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import app.rectify.kit.SyncReason
import app.rectify.kit.SyncRequest
import app.rectify.kit.SyncScheduler
import java.time.Duration
import java.util.concurrent.TimeUnit

/**
 * [SyncScheduler] on WorkManager. Every request carries a "connected" constraint, so WorkManager holds it
 * until a network returns, across reboots and process deaths. One unique chain of one-off syncs:
 * - a local change keeps the sync already waiting, which will send this change too (and if that sync is
 *   running and already past its push, it queues a follow-up itself: [SyncReason.MORE_PENDING]);
 * - a retry or a follow-up comes from inside the running sync, so it is appended after it;
 * - an explicit request replaces whatever waits, with its own timing.
 */
class WorkManagerScheduler(context: Context) : SyncScheduler {
    private val work = WorkManager.getInstance(context.applicationContext)

    private val online = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

    override fun request(request: SyncRequest) {
        val oneOff = OneTimeWorkRequestBuilder<SyncWorker>()
            .setConstraints(online)
            .setInitialDelay(request.delay.toMillis(), TimeUnit.MILLISECONDS)
            // Only for a worker the system stopped mid-run; our own failures reschedule with their delay.
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
            .addTag(TAG)
            .build()
        val policy = when (request.reason) {
            SyncReason.LOCAL_CHANGE -> ExistingWorkPolicy.KEEP
            SyncReason.REQUESTED -> ExistingWorkPolicy.REPLACE
            SyncReason.RETRY, SyncReason.MORE_PENDING -> ExistingWorkPolicy.APPEND_OR_REPLACE
        }
        work.enqueueUniqueWork(ONE_OFF, policy, oneOff)
    }

    override fun ensurePeriodic(interval: Duration) {
        // WorkManager's floor is 15 minutes.
        val minutes = interval.toMinutes().coerceAtLeast(15)
        val periodic = PeriodicWorkRequestBuilder<SyncWorker>(minutes, TimeUnit.MINUTES)
            .setConstraints(online)
            .addTag(TAG)
            .build()
        work.enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.UPDATE, periodic)
    }

    override fun cancelAll() {
        work.cancelAllWorkByTag(TAG)
    }

    companion object {
        const val TAG = "rectify-sync"
        const val ONE_OFF = "rectify-sync-now"
        const val PERIODIC = "rectify-sync-periodic"
    }
}
