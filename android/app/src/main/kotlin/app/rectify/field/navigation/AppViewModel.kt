package app.rectify.field.navigation

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.rectify.core.Profile
import app.rectify.core.RectifyException
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.toUiMessage
import app.rectify.kit.FieldLedger
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.stateIn

sealed interface Session {
    data object Loading : Session

    /** [profile] is `null` until the phone is enrolled. */
    data class Ready(val profile: Profile?) : Session

    data class Failed(val message: UiMessage) : Session
}

/**
 * Who this phone acts for, read again after every change: enrolling is a write, so the app moves from the
 * enrollment screen to the role's own screens by itself.
 */
class AppViewModel(ledger: FieldLedger) : ViewModel() {
    val session: StateFlow<Session> = ledger.changes
        .map {
            try {
                Session.Ready(ledger.profileOrNull())
            } catch (failure: RectifyException) {
                Session.Failed(failure.toUiMessage())
            }
        }
        .distinctUntilChanged()
        .stateIn(viewModelScope, SharingStarted.Eagerly, Session.Loading)
}
