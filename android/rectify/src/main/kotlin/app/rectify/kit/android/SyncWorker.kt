package app.rectify.kit.android

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.WorkerParameters
import app.rectify.kit.SyncOutcome

/**
 * The WorkManager worker: one background sync. All its decisions live in [app.rectify.kit.BackgroundSync],
 * which the JVM tests exercise with a fake scheduler; this only maps the outcome. A failed attempt has
 * already scheduled its retry, so it reports success to WorkManager rather than stacking a second backoff;
 * a refusal is a failure, which shows in WorkManager's inspector.
 */
class SyncWorker(context: Context, parameters: WorkerParameters) : CoroutineWorker(context, parameters) {
    override suspend fun doWork(): Result {
        val rectify = RectifyRuntime.get(applicationContext)
        return when (rectify.backgroundSync.run()) {
            is SyncOutcome.Synced, is SyncOutcome.RetryLater -> Result.success()
            is SyncOutcome.GiveUp -> Result.failure()
        }
    }
}
