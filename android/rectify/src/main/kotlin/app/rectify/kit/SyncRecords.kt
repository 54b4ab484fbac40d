package app.rectify.kit

import java.io.File
import java.io.IOException
import java.time.Instant
import java.util.Properties

/** How the last background syncs went: kept between runs so the status screen and the backoff survive. */
data class SyncRecord(
    val lastSuccessAt: Instant? = null,
    val lastAttemptAt: Instant? = null,
    val lastError: String? = null,
    val consecutiveFailures: Int = 0,
    val needsEnrollment: Boolean = false,
)

interface SyncRecordStore {
    fun load(): SyncRecord

    fun save(record: SyncRecord)
}

/** For tests and previews. */
class InMemorySyncRecords(initial: SyncRecord = SyncRecord()) : SyncRecordStore {
    @Volatile
    private var record = initial

    override fun load() = record

    override fun save(record: SyncRecord) {
        this.record = record
    }
}

/**
 * A small properties file beside the ledger. It is written whole to a temporary file and renamed over
 * the old one, so a crash or a full disk leaves the previous record, never half of one. A record that
 * cannot be read (damaged, or from a newer app) reads as empty: it only drives backoff and a status line.
 */
class FileSyncRecords(private val file: File) : SyncRecordStore {
    private val lock = Any()

    override fun load(): SyncRecord = synchronized(lock) {
        if (!file.exists()) return SyncRecord()
        val properties = Properties()
        try {
            file.inputStream().use { properties.load(it) }
        } catch (_: IOException) {
            return SyncRecord()
        } catch (_: IllegalArgumentException) {
            return SyncRecord()
        }
        SyncRecord(
            lastSuccessAt = properties.getProperty("last_success_at")?.toLongOrNull()?.let(Instant::ofEpochMilli),
            lastAttemptAt = properties.getProperty("last_attempt_at")?.toLongOrNull()?.let(Instant::ofEpochMilli),
            lastError = properties.getProperty("last_error"),
            consecutiveFailures = properties.getProperty("consecutive_failures")?.toIntOrNull() ?: 0,
            needsEnrollment = properties.getProperty("needs_enrollment") == "true",
        )
    }

    /** Throws [IOException] when the record cannot be written (the old one stays). */
    override fun save(record: SyncRecord): Unit = synchronized(lock) {
        val properties = Properties()
        record.lastSuccessAt?.let { properties.setProperty("last_success_at", it.toEpochMilli().toString()) }
        record.lastAttemptAt?.let { properties.setProperty("last_attempt_at", it.toEpochMilli().toString()) }
        record.lastError?.let { properties.setProperty("last_error", it) }
        properties.setProperty("consecutive_failures", record.consecutiveFailures.toString())
        properties.setProperty("needs_enrollment", record.needsEnrollment.toString())
        file.parentFile?.mkdirs()
        val temporary = File(file.path + ".tmp")
        temporary.outputStream().use { out ->
            properties.store(out, null)
            out.fd.sync()
        }
        if (!temporary.renameTo(file)) {
            temporary.delete()
            throw IOException("could not replace ${file.path}")
        }
    }
}
