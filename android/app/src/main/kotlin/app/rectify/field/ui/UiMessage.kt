package app.rectify.field.ui

import android.content.Context
import androidx.annotation.StringRes
import androidx.compose.runtime.Composable
import androidx.compose.ui.platform.LocalContext
import app.rectify.core.RectifyException
import app.rectify.field.R
import app.rectify.kit.LowStorageException
import java.io.IOException

/**
 * Text for a person, decided in a ViewModel (which holds no Context) and resolved in the UI, so it follows
 * the phone's language even when that changes while the message is on screen.
 */
sealed interface UiMessage {
    /** A string resource; an argument that is itself a [UiMessage] is resolved first. */
    data class Res(@StringRes val id: Int, val args: List<Any> = emptyList()) : UiMessage

    /** Text that is already a sentence for a person, e.g. the office's reason for a refusal. */
    data class Plain(val text: String) : UiMessage

    fun resolve(context: Context): String = when (this) {
        is Res -> context.getString(id, *args.map { if (it is UiMessage) it.resolve(context) else it }.toTypedArray())
        is Plain -> text
    }
}

fun uiMessage(@StringRes id: Int, vararg args: Any): UiMessage = UiMessage.Res(id, args.toList())

@Composable
fun UiMessage.text(): String = resolve(LocalContext.current)

/**
 * The one place a failure becomes words. Screens that know more (enrollment: a transport failure means
 * "no network") match their cases first and fall back to this.
 */
fun Throwable.toUiMessage(): UiMessage = when (this) {
    is LowStorageException -> uiMessage(R.string.error_storage_full)
    is RectifyException.Storage -> uiMessage(R.string.error_storage_full)
    is RectifyException.Sync -> uiMessage(R.string.error_sync, reason)
    is RectifyException.NotPermitted -> uiMessage(R.string.error_not_permitted, reason)
    is RectifyException.InvalidInput -> uiMessage(R.string.error_invalid_input, reason)
    is RectifyException.NotFound -> uiMessage(R.string.error_not_found, reason)
    is RectifyException.IllegalTransition -> uiMessage(R.string.error_illegal_transition, reason)
    is RectifyException.NotInitialised -> uiMessage(R.string.error_not_enrolled)
    is RectifyException.IncompatibleDatabase -> uiMessage(R.string.error_incompatible_database, reason)
    is RectifyException.Interrupted -> uiMessage(R.string.error_interrupted)
    is IOException -> uiMessage(R.string.error_storage_failed, localizedMessage ?: javaClass.simpleName)
    else -> uiMessage(R.string.error_unexpected, localizedMessage ?: javaClass.simpleName)
}
