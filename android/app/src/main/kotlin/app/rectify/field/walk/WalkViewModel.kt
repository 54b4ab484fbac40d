package app.rectify.field.walk

import android.location.Location
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.rectify.core.Fix
import app.rectify.core.LocatedVillage
import app.rectify.core.NearbyIssue
import app.rectify.core.NewIssue
import app.rectify.core.ProblemCategory
import app.rectify.core.RectifyException
import app.rectify.core.VillageInfo
import app.rectify.field.R
import app.rectify.field.capture.CaptureState
import app.rectify.field.capture.CaptureStore
import app.rectify.field.capture.HoldsCapture
import app.rectify.field.capture.PhotoCapture
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.catalogue
import app.rectify.field.ui.uiMessage
import app.rectify.field.ui.toUiMessage
import app.rectify.kit.BackgroundSync
import app.rectify.kit.FieldLedger
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** Open issues of the same type within this distance are shown as possible duplicates before saving. */
const val DUPLICATE_RADIUS_M = 30.0

/** The village is looked up again only once the position has moved this far. */
private const val RELOCATE_AFTER_M = 15f

/** A save that found open issues of the same type nearby, waiting for the inspector's decision. */
data class DuplicateCheck(val fix: Fix, val nearby: List<NearbyIssue>)

data class WalkUiState(
    val catalogue: CategoryCatalogue = CategoryCatalogue.EMPTY,
    val category: ProblemCategory? = null,
    /** The issue's photo; a capture is kept while the GPS fix is awaited. */
    override val capture: CaptureState = CaptureState(),
    val located: LocatedVillage? = null,
    val villages: List<VillageInfo> = emptyList(),
    /** How many villages this device's profile answers for; with exactly one, the core fills the village in. */
    val profileVillageCount: Int = 0,
    /** A village chosen by hand instead of the one the position gave. */
    val chosenVillage: VillageInfo? = null,
    val villageReason: String = "",
    val note: String = "",
    val saving: Boolean = false,
    val duplicates: DuplicateCheck? = null,
    override val error: UiMessage? = null,
) : HoldsCapture<WalkUiState> {
    override fun withCapture(capture: CaptureState, error: UiMessage?): WalkUiState =
        copy(capture = capture, error = error)

    /** The village the issue will be charged to. */
    val villageCode: String? get() = chosenVillage?.code ?: located?.villageCode

    val needsVillageChoice: Boolean get() = villageCode == null && profileVillageCount != 1

    /** What still keeps Save disabled, first things first; `null` when it can be pressed. */
    fun missingStep(hasFix: Boolean): UiMessage? = when {
        capture.photoPath == null -> uiMessage(R.string.walk_missing_photo)
        !hasFix -> uiMessage(R.string.walk_missing_fix)
        category == null -> uiMessage(R.string.walk_missing_category)
        needsVillageChoice -> uiMessage(R.string.walk_missing_village)
        else -> null
    }
}

sealed interface WalkEvent {
    /** An issue was recorded; the screen resets what belonged to it (a last-known position it accepted). */
    data class Recorded(val message: UiMessage) : WalkEvent
}

/**
 * The inspector's walk: one photo, a position, a problem type and the village, recorded as a new issue on
 * this phone. Recording never needs a network; the background sync sends it when one is there.
 */
class WalkViewModel(
    private val ledger: FieldLedger,
    private val backgroundSync: BackgroundSync,
    private val captures: CaptureStore,
    private val isOnline: () -> Boolean,
) : ViewModel() {
    private val _state = MutableStateFlow(WalkUiState())
    val state: StateFlow<WalkUiState> = _state.asStateFlow()

    private val _events = Channel<WalkEvent>(Channel.BUFFERED)
    val events: Flow<WalkEvent> = _events.receiveAsFlow()

    /** Taking the issue's photo. */
    val photo: PhotoCapture<WalkUiState> = PhotoCapture(_state, captures, viewModelScope, prefix = "issue")

    private var locating: Job? = null
    private var locatedAt: Fix? = null

    init {
        viewModelScope.launch {
            ledger.catalogue().collect { catalogue -> _state.update { it.copy(catalogue = catalogue) } }
        }
        // Villages arrive with the office's reference data, so read them again after each sync.
        viewModelScope.launch {
            ledger.changes
                .map { loadPlaces() }
                .distinctUntilChanged()
                .collect { (villages, count) -> _state.update { it.copy(villages = villages, profileVillageCount = count) } }
        }
    }

    private suspend fun loadPlaces(): Pair<List<VillageInfo>, Int> = try {
        ledger.villages() to (ledger.profileOrNull()?.villageCodes?.size ?: 0)
    } catch (_: RectifyException) {
        emptyList<VillageInfo>() to 0
    }

    // Form

    fun selectCategory(category: ProblemCategory) = _state.update { it.copy(category = category, error = null) }

    fun onNoteChange(note: String) = _state.update { it.copy(note = note) }

    /**
     * Charges the issue to [village] rather than the one at the position. A reason is required when a
     * boundary says otherwise; with no boundary at the position, none is.
     */
    fun chooseVillage(village: VillageInfo, reason: String) {
        val located = _state.value.located
        if (located != null && located.villageCode == village.code) {
            useLocatedVillage()
        } else {
            _state.update { it.copy(chosenVillage = village, villageReason = reason.trim(), error = null) }
        }
    }

    fun useLocatedVillage() = _state.update { it.copy(chosenVillage = null, villageReason = "") }

    /** Finds the village at [fix]; repeated positions within a few metres are not looked up again. */
    fun locate(fix: Fix) {
        val previous = locatedAt
        if (previous != null && distanceMetres(previous, fix) < RELOCATE_AFTER_M) return
        locatedAt = fix
        locating?.cancel()
        locating = viewModelScope.launch {
            val located = try {
                ledger.locate(fix)
            } catch (_: RectifyException) {
                null
            }
            _state.update { state ->
                // A hand-picked village the position now confirms is no longer an exception; one picked
                // without a reason (there was no boundary then) gives way to the boundary, and picking it
                // again asks for the reason.
                val stillChosen = state.chosenVillage?.takeUnless {
                    it.code == located?.villageCode || (located != null && state.villageReason.isBlank())
                }
                state.copy(
                    located = located,
                    chosenVillage = stillChosen,
                    villageReason = if (stillChosen == null) "" else state.villageReason,
                )
            }
        }
    }

    // Saving

    /** Saves at [fix], after showing any open issue of the same type nearby as a possible duplicate. */
    fun save(fix: Fix) {
        val state = _state.value
        val category = state.category ?: return
        if (state.capture.photoPath == null || state.saving || state.needsVillageChoice) return
        launchSaving {
            val nearby = ledger.nearbyOpenIssues(category.code, fix, DUPLICATE_RADIUS_M)
            if (nearby.isEmpty()) {
                record(fix)
            } else {
                _state.update { it.copy(duplicates = DuplicateCheck(fix, nearby)) }
            }
        }
    }

    fun recordAnyway() {
        val check = _state.value.duplicates ?: return
        _state.update { it.copy(duplicates = null) }
        launchSaving { record(check.fix) }
    }

    /** Closes the duplicate question; the photo and the form stay as they are. */
    fun dismissDuplicates() = _state.update { it.copy(duplicates = null) }

    private fun launchSaving(block: suspend () -> Unit) {
        _state.update { it.copy(saving = true, error = null) }
        viewModelScope.launch {
            try {
                block()
            } catch (failure: RectifyException) {
                // The core writes an issue and its photo in one transaction: on failure nothing was kept,
                // and the capture is still here to try again.
                _state.update { it.copy(error = failure.toUiMessage()) }
            } finally {
                _state.update { it.copy(saving = false) }
            }
        }
    }

    private suspend fun record(fix: Fix) {
        val state = _state.value
        val category = state.category ?: return
        val photoPath = state.capture.photoPath ?: return
        if (!photo.ensureRoom()) return
        ledger.report(
            NewIssue(
                category = category.code,
                at = fix,
                photoPaths = listOf(photoPath),
                note = state.note.trim().ifEmpty { null },
                villageCode = state.villageCode,
                villageReason = state.villageReason.takeIf { state.chosenVillage != null && it.isNotBlank() },
            ),
        )
        // The core copied the photo into its own store; the capture is no longer needed.
        captures.discard(photoPath)
        backgroundSync.localChange()
        _state.update {
            it.copy(
                category = null,
                capture = it.capture.copy(photoPath = null, photoHasGps = true),
                note = "",
                chosenVillage = null,
                villageReason = "",
                duplicates = null,
            )
        }
        val words = if (isOnline()) R.string.walk_recorded_online else R.string.walk_recorded_offline
        _events.send(WalkEvent.Recorded(uiMessage(words)))
    }

    override fun onCleared() {
        // The walk was left for good with a photo never recorded: it was only a scratch file.
        photo.deleteUnrecorded()
    }
}

private fun distanceMetres(a: Fix, b: Fix): Float {
    val result = FloatArray(1)
    Location.distanceBetween(a.lat, a.lon, b.lat, b.lon, result)
    return result[0]
}
