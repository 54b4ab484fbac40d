package app.rectify.field.capture

import androidx.exifinterface.media.ExifInterface
import app.rectify.kit.DiskSpace
import app.rectify.kit.LowStorageException
import java.io.File
import java.io.IOException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * The camera's scratch files in [dir] (the runtime's capture directory, in the app's cache). A capture
 * lives here only until the core has copied it into the ledger's photo store; then it is deleted.
 */
class CaptureStore(private val dir: File) {
    /** False when the phone is too full to take and keep another photo ([DiskSpace.ensureRoom]). */
    suspend fun hasRoom(): Boolean = withContext(Dispatchers.IO) {
        try {
            dir.mkdirs()
            DiskSpace.ensureRoom(dir)
            true
        } catch (_: LowStorageException) {
            false
        }
    }

    /** A fresh file name for the next capture; the camera creates the file. */
    fun newFile(prefix: String): File = File(dir, "$prefix-${System.currentTimeMillis()}.jpg")

    suspend fun discard(path: String?) {
        if (path == null) return
        withContext(Dispatchers.IO) { File(path).delete() }
    }

    /**
     * Whether the photo carries a GPS position. A photo taken before the first fix has none, and the core
     * will mark it as such; the walk screen says so, so the inspector can take it again once the fix is in.
     */
    suspend fun hasGpsPosition(path: String): Boolean = withContext(Dispatchers.IO) {
        try {
            ExifInterface(path).latLong != null
        } catch (_: IOException) {
            false
        }
    }
}
