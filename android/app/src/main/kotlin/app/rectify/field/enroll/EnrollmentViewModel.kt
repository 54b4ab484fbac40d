package app.rectify.field.enroll

import android.util.Log
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.rectify.core.Profile
import app.rectify.core.RectifyException
import app.rectify.field.R
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.uiMessage
import app.rectify.field.ui.toUiMessage
import app.rectify.kit.BackgroundSync
import app.rectify.kit.EnrollmentLink
import app.rectify.kit.FieldLedger
import java.io.IOException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

data class EnrollmentUiState(
    val serverUrl: String = "",
    val code: String = "",
    val scanning: Boolean = false,
    val busy: Boolean = false,
    val error: UiMessage? = null,
) {
    val canSubmit: Boolean get() = !busy && serverUrl.isNotBlank() && code.isNotBlank()
}

/**
 * Enrolls this phone with the district office using a one-time code, typed or read from the office's QR
 * code. The office decides who the phone acts for (the profile); after that the background sync starts.
 */
class EnrollmentViewModel(
    private val ledger: FieldLedger,
    private val backgroundSync: BackgroundSync,
) : ViewModel() {
    private val _state = MutableStateFlow(EnrollmentUiState())
    val state: StateFlow<EnrollmentUiState> = _state.asStateFlow()

    private val _enrolled = Channel<Profile>(Channel.BUFFERED)

    /** One value per successful enrollment. */
    val enrolled: Flow<Profile> = _enrolled.receiveAsFlow()

    fun onServerUrlChange(value: String) = _state.update { it.copy(serverUrl = value, error = null) }

    fun onCodeChange(value: String) = _state.update { it.copy(code = value, error = null) }

    fun startScanning() = _state.update { it.copy(scanning = true, error = null) }

    fun stopScanning() = _state.update { it.copy(scanning = false) }

    /** A QR code was read: an enrollment code fills the form and is submitted at once; anything else is said. */
    fun onScanned(text: String) {
        if (_state.value.busy) return
        val link = EnrollmentLink.parse(text)
        if (link == null) {
            _state.update { it.copy(error = uiMessage(R.string.enroll_not_a_code)) }
            return
        }
        onLink(link, submit = true)
    }

    /** An enrollment link (scanned, or tapped elsewhere): it fills the form in, and is sent when [submit]. */
    fun onLink(link: EnrollmentLink, submit: Boolean) {
        if (_state.value.busy) return
        _state.update { it.copy(serverUrl = link.server, code = link.code, scanning = false, error = null) }
        if (submit) submit()
    }

    fun submit() {
        val current = _state.value
        if (!current.canSubmit) return
        val server = current.serverUrl.trim()
        val code = current.code.trim()
        if (!isOfficeUrl(server)) {
            _state.update { it.copy(error = uiMessage(R.string.enroll_bad_url)) }
            return
        }
        _state.update { it.copy(busy = true, error = null) }
        viewModelScope.launch {
            val failure = try {
                val profile = ledger.enroll(server, code)
                try {
                    // Clears a past refusal and asks for the first sync; it writes a small file.
                    withContext(Dispatchers.IO) { backgroundSync.enrolled() }
                } catch (io: IOException) {
                    // The phone is enrolled all the same; only the sync record could not be written. Sync
                    // anyway rather than report a failed enrollment.
                    Log.w(TAG, "the sync record could not be reset after enrolling", io)
                    backgroundSync.start()
                    backgroundSync.requestNow()
                }
                _enrolled.send(profile)
                null
            } catch (refused: RectifyException.NotPermitted) {
                uiMessage(R.string.enroll_refused, refused.reason)
            } catch (invalid: RectifyException.InvalidInput) {
                uiMessage(R.string.enroll_invalid, invalid.reason)
            } catch (_: RectifyException.Sync) {
                // Enrollment is the one step that needs the office; a transport failure means no network.
                uiMessage(R.string.enroll_no_network)
            } catch (other: RectifyException) {
                other.toUiMessage()
            }
            _state.update { it.copy(busy = false, error = failure) }
        }
    }
}

private const val TAG = "Enrollment"

/** An address the office can be reached at: http or https, with a host. */
private fun isOfficeUrl(text: String): Boolean =
    (text.startsWith("http://") || text.startsWith("https://")) && text.substringAfter("://").isNotBlank()
