package app.rectify.field.acceptance

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.rectify.core.IssueSummary
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.catalogue
import app.rectify.field.ui.toUiMessage
import app.rectify.kit.FieldLedger
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.stateIn

sealed interface AcceptanceState {
    data object Loading : AcceptanceState

    data class Loaded(val issues: List<IssueSummary>) : AcceptanceState

    data class Failed(val message: UiMessage) : AcceptanceState
}

/** Strike-offs waiting for an acceptor's decision (验收), oldest deadline first. */
class AcceptanceViewModel(ledger: FieldLedger) : ViewModel() {
    val state: StateFlow<AcceptanceState> = ledger.awaitingAcceptance()
        .map<List<IssueSummary>, AcceptanceState> { issues -> AcceptanceState.Loaded(issues.sortedBy { it.deadline }) }
        .catch { failure -> emit(AcceptanceState.Failed(failure.toUiMessage())) }
        .stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), AcceptanceState.Loading)

    val catalogue: StateFlow<CategoryCatalogue> =
        ledger.catalogue().stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), CategoryCatalogue.EMPTY)
}
