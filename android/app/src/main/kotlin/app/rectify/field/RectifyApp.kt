package app.rectify.field

import android.app.Application
import android.util.Log
import app.rectify.core.RectifyException
import app.rectify.kit.android.RectifyRuntime
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch

/**
 * Opens the ledger when the process starts and registers the periodic background sync, so pulls happen
 * even on days nothing is recorded. Both happen off the main thread (opening is SQLite work). A ledger
 * that cannot be opened (a full disk, a database from a newer app) is not fatal here: [MainActivity] opens
 * it again and tells the person why it failed.
 */
class RectifyApp : Application() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    override fun onCreate() {
        super.onCreate()
        scope.launch {
            try {
                RectifyRuntime.get(this@RectifyApp).backgroundSync.start()
            } catch (failure: RectifyException) {
                Log.e(TAG, "the ledger could not be opened at start-up", failure)
            }
        }
    }

    private companion object {
        const val TAG = "RectifyApp"
    }
}
