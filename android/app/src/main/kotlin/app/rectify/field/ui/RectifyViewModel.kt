package app.rectify.field.ui

import androidx.compose.runtime.Composable
import androidx.compose.ui.platform.LocalContext
import androidx.lifecycle.SavedStateHandle
import androidx.lifecycle.ViewModel
import androidx.lifecycle.createSavedStateHandle
import androidx.lifecycle.viewmodel.compose.viewModel
import app.rectify.kit.android.RectifyRuntime

/**
 * A ViewModel scoped to the current destination, built with the process's [RectifyRuntime] (the one
 * ledger) and the destination's [SavedStateHandle].
 */
@Composable
inline fun <reified VM : ViewModel> rectifyViewModel(crossinline create: (RectifyRuntime, SavedStateHandle) -> VM): VM {
    val application = LocalContext.current.applicationContext
    return viewModel { create(RectifyRuntime.get(application), createSavedStateHandle()) }
}
