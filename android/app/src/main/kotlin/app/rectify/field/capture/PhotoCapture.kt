package app.rectify.field.capture

import androidx.camera.core.ImageCaptureException
import app.rectify.field.R
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.uiMessage
import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** The one photo a screen takes (the walk's issue photo, the strike-off's after-photo). */
data class CaptureState(
    /** The capture waiting to be recorded. */
    val photoPath: String? = null,
    /** Whether [photoPath] carries a GPS position ([CaptureStore.hasGpsPosition]). */
    val photoHasGps: Boolean = true,
    /** A picture is being taken; the shutter waits for it. */
    val capturing: Boolean = false,
    /** Whether the phone has room for a photo; `null` until checked, and the camera waits for the check. */
    val hasRoom: Boolean? = null,
)

/**
 * A screen's UI state that holds a [CaptureState] next to the screen's one error line, so [PhotoCapture]
 * changes both in a single update.
 */
interface HoldsCapture<S : HoldsCapture<S>> {
    val capture: CaptureState
    val error: UiMessage?

    /** This state with [capture] and [error] in place of its own. */
    fun withCapture(capture: CaptureState, error: UiMessage?): S
}

/**
 * Taking a screen's one photo into [captures], for its ViewModel: the disk checks, the capture's outcome
 * and a retake, all written into the screen's [state]. Capture files start with [prefix] ("issue", "after").
 */
class PhotoCapture<S : HoldsCapture<S>>(
    private val state: MutableStateFlow<S>,
    private val captures: CaptureStore,
    private val scope: CoroutineScope,
    private val prefix: String,
) {
    /** Checks the disk before the camera opens; the camera is shown only when there is room. */
    fun checkStorage() {
        scope.launch {
            val room = captures.hasRoom()
            change { it.copy(hasRoom = room) }
        }
    }

    /** Checks the disk right before a capture; returns the file to capture into, or `null` when full. */
    suspend fun prepareCapture(): File? {
        val room = captures.hasRoom()
        state.update { it.withCapture(it.capture.copy(hasRoom = room, capturing = room), error = null) }
        return if (room) captures.newFile(prefix) else null
    }

    /** Keeps [file] as the photo, in place of (and deleting) an earlier one. */
    fun onPhotoCaptured(file: File) {
        scope.launch {
            val previous = state.value.capture.photoPath
            if (previous != file.path) captures.discard(previous)
            val hasGps = captures.hasGpsPosition(file.path)
            change { it.copy(photoPath = file.path, photoHasGps = hasGps, capturing = false) }
        }
    }

    fun onCaptureFailed(failure: ImageCaptureException) {
        scope.launch {
            val full = !captures.hasRoom()
            state.update {
                it.withCapture(it.capture.copy(capturing = false, hasRoom = !full), error = failure.toUiMessage(full))
            }
        }
    }

    fun retake() {
        val photo = state.value.capture.photoPath
        change { it.copy(photoPath = null, photoHasGps = true) }
        scope.launch { captures.discard(photo) }
    }

    /** Checks the disk right before the photo is recorded; when it is full, says so and returns false. */
    suspend fun ensureRoom(): Boolean {
        val room = captures.hasRoom()
        if (!room) {
            state.update {
                it.withCapture(it.capture.copy(hasRoom = false), error = uiMessage(R.string.error_storage_full))
            }
        }
        return room
    }

    /** For the ViewModel's `onCleared`: a photo never recorded was only a scratch file. */
    fun deleteUnrecorded() {
        state.value.capture.photoPath?.let { File(it).delete() }
    }

    /** Changes the photo's state and leaves the error line as it is. */
    private fun change(transform: (CaptureState) -> CaptureState) {
        state.update { it.withCapture(transform(it.capture), it.error) }
    }
}
