package app.rectify.field.lists

import androidx.lifecycle.SavedStateHandle
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.rectify.core.NegativeList
import app.rectify.core.RectifyException
import app.rectify.core.Role
import app.rectify.core.VillageInfo
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.catalogue
import app.rectify.field.ui.toUiMessage
import app.rectify.kit.FieldLedger
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.flatMapLatest
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.flow.onStart
import kotlinx.coroutines.flow.stateIn

sealed interface NegativeListState {
    data object Loading : NegativeListState

    /** No village to show: none on this phone yet (before the first sync) or none assigned. */
    data object NoVillage : NegativeListState

    data class Loaded(val list: NegativeList) : NegativeListState

    data class Failed(val message: UiMessage) : NegativeListState
}

/**
 * A village's negative list (负面清单). A secretary chooses among their own villages; everyone else among
 * all the villages this phone knows. The chosen village survives rotation and process death.
 */
@OptIn(ExperimentalCoroutinesApi::class)
class NegativeListViewModel(
    private val ledger: FieldLedger,
    private val saved: SavedStateHandle,
) : ViewModel() {
    /** The villages this person may look at, read again after each sync (which may bring new ones). */
    val villages: StateFlow<List<VillageInfo>?> = ledger.changes
        .map { loadVillages() }
        .distinctUntilChanged()
        .onEach { options ->
            val chosen = saved.get<String>(KEY_VILLAGE)
            if (options.isNotEmpty() && options.none { it.code == chosen }) saved[KEY_VILLAGE] = options.first().code
        }
        .stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), null)

    val selectedCode: StateFlow<String?> = saved.getStateFlow(KEY_VILLAGE, null)

    val catalogue: StateFlow<CategoryCatalogue> =
        ledger.catalogue().stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), CategoryCatalogue.EMPTY)

    val list: StateFlow<NegativeListState> = selectedCode
        .flatMapLatest { code ->
            if (code == null) {
                villages.map { if (it == null) NegativeListState.Loading else NegativeListState.NoVillage }
            } else {
                ledger.negativeList(code)
                    .map<NegativeList, NegativeListState> { NegativeListState.Loaded(it) }
                    .onStart { emit(NegativeListState.Loading) }
                    .catch { failure -> emit(NegativeListState.Failed(failure.toUiMessage())) }
            }
        }
        .stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), NegativeListState.Loading)

    fun select(code: String) {
        saved[KEY_VILLAGE] = code
    }

    private suspend fun loadVillages(): List<VillageInfo> = try {
        val all = ledger.villages()
        val profile = ledger.profileOrNull()
        if (profile?.role == Role.SECRETARY) {
            // A secretary's villages, even one whose details have not arrived yet (shown by its code).
            profile.villageCodes.map { code ->
                all.firstOrNull { it.code == code } ?: VillageInfo(code, code, null, null, false)
            }
        } else {
            all
        }
    } catch (_: RectifyException) {
        emptyList()
    }

    private companion object {
        const val KEY_VILLAGE = "village"
    }
}

