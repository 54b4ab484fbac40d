package app.rectify.kit

import java.io.File

/** The phone has too little free space to take another photo safely. */
class LowStorageException(val freeBytes: Long, val neededBytes: Long) :
    Exception("only ${freeBytes / MIB} MiB free; at least ${neededBytes / MIB} MiB are needed to take and keep a photo")

private const val MIB = 1024L * 1024L

/**
 * Checks free space before a capture, so a full disk is met with a clear message before the camera
 * opens, not with a failed write after the inspector took the picture. A camera file (up to ~10 MiB),
 * its evidence copy and thumbnail, and the ledger's write-ahead log fit well inside [DEFAULT_NEED].
 */
object DiskSpace {
    const val DEFAULT_NEED: Long = 64L * MIB

    /** Throws [LowStorageException] when [dir]'s volume has less than [neededBytes] usable. */
    fun ensureRoom(dir: File, neededBytes: Long = DEFAULT_NEED) {
        val free = dir.usableSpace
        // usableSpace is 0 for a path that does not exist: check the nearest existing parent instead.
        val measured = if (free == 0L && !dir.exists()) dir.absoluteFile.parentFile?.usableSpace ?: 0L else free
        if (measured < neededBytes) throw LowStorageException(measured, neededBytes)
    }
}
