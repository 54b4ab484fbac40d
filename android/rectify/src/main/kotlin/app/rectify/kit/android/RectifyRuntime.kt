package app.rectify.kit.android

import android.content.Context
import app.rectify.core.Device
import app.rectify.kit.BackgroundSync
import app.rectify.kit.FieldLedger
import app.rectify.kit.FileSyncRecords
import app.rectify.kit.OkHttpTransport
import java.io.File

/**
 * The app's one ledger and its background sync, created on first use from any component (activity,
 * worker) and shared for the life of the process. The ledger lives in the app's private files, so it
 * is neither backed up to the cloud (the office is the backup) nor readable by other apps.
 */
class RectifyRuntime private constructor(context: Context) {
    val ledgerFile: File = File(context.filesDir, "rectify/ledger.db")

    /** Where the camera writes a capture before the core ingests it (then it is deleted). */
    val captureDir: File = File(context.cacheDir, "captures")

    val ledger: FieldLedger

    val backgroundSync: BackgroundSync

    init {
        ledgerFile.parentFile?.mkdirs()
        captureDir.mkdirs()
        ledger = FieldLedger(Device.open(ledgerFile.path), OkHttpTransport())
        backgroundSync = BackgroundSync(
            ledger = ledger,
            scheduler = WorkManagerScheduler(context),
            records = FileSyncRecords(File(ledgerFile.parentFile, "sync-record.properties")),
        )
    }

    companion object {
        @Volatile
        private var instance: RectifyRuntime? = null

        fun get(context: Context): RectifyRuntime =
            instance ?: synchronized(this) {
                instance ?: RectifyRuntime(context.applicationContext).also { instance = it }
            }
    }
}
