package app.rectify.field.strikeoff

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.rectify.core.IssueDetail
import app.rectify.core.IssueId
import app.rectify.core.PhotoRole
import app.rectify.core.RectifyException
import app.rectify.field.capture.CaptureState
import app.rectify.field.capture.CaptureStore
import app.rectify.field.capture.HoldsCapture
import app.rectify.field.capture.PhotoCapture
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.catalogue
import app.rectify.field.ui.toUiMessage
import app.rectify.kit.BackgroundSync
import app.rectify.kit.FieldLedger
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** How strongly the before-photo shows over the camera at first: enough to line up, not enough to hide. */
const val DEFAULT_OVERLAY_ALPHA = 0.4f

data class StrikeOffUiState(
    val detail: IssueDetail? = null,
    val loadError: UiMessage? = null,
    val catalogue: CategoryCatalogue = CategoryCatalogue.EMPTY,
    /** The after-photo. */
    override val capture: CaptureState = CaptureState(),
    val overlayAlpha: Float = DEFAULT_OVERLAY_ALPHA,
    val note: String = "",
    val saving: Boolean = false,
    override val error: UiMessage? = null,
) : HoldsCapture<StrikeOffUiState> {
    override fun withCapture(capture: CaptureState, error: UiMessage?): StrikeOffUiState =
        copy(capture = capture, error = error)

    /** The before-photo to line the camera up with: the full image when the phone has it, else its thumbnail. */
    val beforePhoto: String?
        get() = detail?.photos
            ?.filter { it.role == PhotoRole.BEFORE }
            ?.firstNotNullOfOrNull { it.path ?: it.thumbnailPath }
}

/**
 * A secretary's strike-off (销号): a photo of the fixed spot, taken from where the before-photo was taken,
 * and a note. It is recorded on this phone and goes to the office for acceptance with the next sync.
 */
class StrikeOffViewModel(
    private val ledger: FieldLedger,
    private val backgroundSync: BackgroundSync,
    private val captures: CaptureStore,
    private val issueId: IssueId,
) : ViewModel() {
    private val _state = MutableStateFlow(StrikeOffUiState())
    val state: StateFlow<StrikeOffUiState> = _state.asStateFlow()

    private val _done = Channel<Unit>(Channel.BUFFERED)

    /** One value once the strike-off is recorded. */
    val done: Flow<Unit> = _done.receiveAsFlow()

    /** Taking the after-photo. */
    val photo: PhotoCapture<StrikeOffUiState> = PhotoCapture(_state, captures, viewModelScope, prefix = "after")

    init {
        viewModelScope.launch {
            try {
                val detail = ledger.issue(issueId)
                _state.update { it.copy(detail = detail) }
            } catch (failure: RectifyException) {
                _state.update { it.copy(loadError = failure.toUiMessage()) }
            }
        }
        viewModelScope.launch {
            ledger.catalogue().collect { catalogue -> _state.update { it.copy(catalogue = catalogue) } }
        }
        photo.checkStorage()
    }

    fun onOverlayAlphaChange(alpha: Float) = _state.update { it.copy(overlayAlpha = alpha) }

    fun onNoteChange(note: String) = _state.update { it.copy(note = note) }

    fun confirm() {
        val current = _state.value
        val photoPath = current.capture.photoPath ?: return
        if (current.saving) return
        _state.update { it.copy(saving = true, error = null) }
        viewModelScope.launch {
            try {
                if (!photo.ensureRoom()) return@launch
                ledger.strikeOff(issueId, listOf(photoPath), current.note.trim().ifEmpty { null })
                captures.discard(photoPath)
                backgroundSync.localChange()
                _state.update { it.copy(capture = it.capture.copy(photoPath = null)) }
                _done.send(Unit)
            } catch (failure: RectifyException) {
                // Nothing was recorded (the write is one transaction); the photo stays for another try.
                _state.update { it.copy(error = failure.toUiMessage()) }
            } finally {
                _state.update { it.copy(saving = false) }
            }
        }
    }

    override fun onCleared() {
        photo.deleteUnrecorded()
    }
}
