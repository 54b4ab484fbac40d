package app.rectify.field.sync

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.rectify.core.Profile
import app.rectify.core.RectifyException
import app.rectify.core.SyncProgress
import app.rectify.core.SyncSummary
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.toUiMessage
import app.rectify.kit.BackgroundSync
import app.rectify.kit.FieldLedger
import app.rectify.kit.SyncOutcome
import app.rectify.kit.SyncStatus
import java.io.IOException
import java.time.Duration
import java.time.Instant
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.mapLatest
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** The status screen refreshes at least this often, so ages ("waiting 3 h 20 min") stay true. */
private const val REFRESH_MILLIS = 30_000L

sealed interface StatusState {
    data object Loading : StatusState

    /** [readAt] is when [status] was read: ages are shown against it. */
    data class Loaded(val status: SyncStatus, val readAt: Instant) : StatusState

    data class Failed(val message: UiMessage) : StatusState
}

/** The sync this screen started, as it went. */
sealed interface RunState {
    data object Idle : RunState

    data object Running : RunState

    data class Synced(val summary: SyncSummary) : RunState

    /** It failed for now; the background sync will try again after [after] by itself. */
    data class RetryLater(val error: String, val after: Duration) : RunState

    /** Trying again cannot help until a person acts (enroll again, update the app). */
    data class GaveUp(val error: String, val needsEnrollment: Boolean) : RunState

    data object Cancelled : RunState

    data class Failed(val message: UiMessage) : RunState
}

/**
 * What waits on this phone and how syncing has gone, and a "sync now" with live progress that can be
 * cancelled. The manual sync goes through [BackgroundSync.run], the same attempt the background worker
 * makes, so its success or failure lands in the same record (last success, failures in a row, backoff)
 * that the status shows; its progress is the ledger's [FieldLedger.syncProgress], which also shows a
 * background sync that happens to be running.
 */
@OptIn(ExperimentalCoroutinesApi::class)
class SyncStatusViewModel(
    private val ledger: FieldLedger,
    private val backgroundSync: BackgroundSync,
) : ViewModel() {
    private val refreshes = MutableStateFlow(0)

    private val ticker = flow {
        while (true) {
            emit(Unit)
            delay(REFRESH_MILLIS)
        }
    }

    val status: StateFlow<StatusState> = combine(ledger.changes, ticker, refreshes) { _, _, _ -> }
        .mapLatest { readStatus() }
        .stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), StatusState.Loading)

    val progress: StateFlow<SyncProgress?> = ledger.syncProgress

    val profile: StateFlow<Profile?> = ledger.changes
        .map {
            try {
                ledger.profileOrNull()
            } catch (_: RectifyException) {
                null
            }
        }
        .distinctUntilChanged()
        .stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), null)

    private val _run = MutableStateFlow<RunState>(RunState.Idle)
    val run: StateFlow<RunState> = _run.asStateFlow()

    private var running: Job? = null

    private suspend fun readStatus(): StatusState = try {
        val status = withContext(Dispatchers.IO) { backgroundSync.status() }
        StatusState.Loaded(status, Instant.now())
    } catch (failure: RectifyException) {
        StatusState.Failed(failure.toUiMessage())
    }

    fun syncNow() {
        if (running?.isActive == true) return
        running = viewModelScope.launch {
            _run.value = RunState.Running
            val result = try {
                when (val outcome = withContext(Dispatchers.IO) { backgroundSync.run() }) {
                    is SyncOutcome.Synced -> RunState.Synced(outcome.summary)
                    is SyncOutcome.RetryLater -> RunState.RetryLater(outcome.error, outcome.after)
                    is SyncOutcome.GiveUp -> RunState.GaveUp(outcome.error, outcome.needsEnrollment)
                }
            } catch (cancelled: CancellationException) {
                _run.value = RunState.Cancelled
                refreshes.update { it + 1 }
                throw cancelled
            } catch (failure: IOException) {
                // The sync record could not be written (a full disk); the sync itself may have gone through.
                RunState.Failed(failure.toUiMessage())
            }
            _run.value = result
            refreshes.update { it + 1 }
        }
    }

    /** Stops the sync between two exchanges with the office; what was already sent stays sent. */
    fun cancel() {
        running?.cancel()
    }
}
