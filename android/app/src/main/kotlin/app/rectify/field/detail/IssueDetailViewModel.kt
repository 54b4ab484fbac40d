package app.rectify.field.detail

import androidx.annotation.StringRes
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.rectify.core.IssueDetail
import app.rectify.core.IssueId
import app.rectify.core.IssueStatus
import app.rectify.core.Profile
import app.rectify.core.RectifyException
import app.rectify.core.Role
import app.rectify.field.R
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.catalogue
import app.rectify.field.ui.uiMessage
import app.rectify.field.ui.toUiMessage
import app.rectify.kit.BackgroundSync
import app.rectify.kit.FieldLedger
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

sealed interface DetailState {
    data object Loading : DetailState

    data class Loaded(val detail: IssueDetail) : DetailState

    data class Failed(val message: UiMessage) : DetailState
}

/** The actions this person may take on the issue as it stands (the core checks again when they act). */
data class DetailActions(val canStrikeOff: Boolean, val canDecide: Boolean) {
    companion object {
        val NONE = DetailActions(canStrikeOff = false, canDecide = false)

        private val STRIKABLE = setOf(IssueStatus.REPORTED, IssueStatus.ASSIGNED, IssueStatus.REJECTED)

        fun of(profile: Profile?, detail: IssueDetail): DetailActions {
            if (profile == null) return NONE
            val role = profile.role
            val status = detail.issue.status
            val secretaryHere = role == Role.SECRETARY && detail.villageCode in profile.villageCodes
            return DetailActions(
                canStrikeOff = (secretaryHere || role == Role.ADMIN) && status in STRIKABLE,
                canDecide = (role == Role.ACCEPTOR || role == Role.ADMIN) && status == IssueStatus.STRIKE_OFF_REQUESTED,
            )
        }
    }
}

/** One issue, read again after every change, and the acceptor's decision on its strike-off. */
class IssueDetailViewModel(
    private val ledger: FieldLedger,
    private val backgroundSync: BackgroundSync,
    private val issueId: IssueId,
    private val isOnline: () -> Boolean,
) : ViewModel() {
    val detail: StateFlow<DetailState> = ledger.issueDetail(issueId)
        .map<IssueDetail, DetailState> { DetailState.Loaded(it) }
        .catch { failure -> emit(DetailState.Failed(failure.toUiMessage())) }
        .stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), DetailState.Loading)

    val profile: StateFlow<Profile?> = flow { emit(ledger.profileOrNull()) }
        .catch { emit(null) }
        .stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), null)

    val catalogue: StateFlow<CategoryCatalogue> =
        ledger.catalogue().stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), CategoryCatalogue.EMPTY)

    private val _busy = MutableStateFlow(false)
    val busy: StateFlow<Boolean> = _busy.asStateFlow()

    private val _messages = Channel<UiMessage>(Channel.BUFFERED)
    val messages: Flow<UiMessage> = _messages.receiveAsFlow()

    fun accept(note: String) = decide(R.string.detail_accepted) { ledger.accept(issueId, note.trim().ifEmpty { null }) }

    /** A rejection sends the issue back to the village; the reason is what they must fix. */
    fun reject(reason: String) {
        if (reason.isBlank()) return
        decide(R.string.detail_rejected) { ledger.reject(issueId, reason.trim()) }
    }

    private fun decide(@StringRes done: Int, action: suspend () -> Unit) {
        if (_busy.value) return
        _busy.update { true }
        viewModelScope.launch {
            val outcome = try {
                action()
                backgroundSync.localChange()
                uiMessage(done, syncNote())
            } catch (failure: RectifyException) {
                failure.toUiMessage()
            } finally {
                _busy.update { false }
            }
            _messages.send(outcome)
        }
    }

    private fun syncNote(): UiMessage = uiMessage(if (isOnline()) R.string.sync_note_online else R.string.sync_note_offline)
}
