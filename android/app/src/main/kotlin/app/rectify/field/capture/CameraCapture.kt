package app.rectify.field.capture

import android.Manifest
import android.content.Context
import android.location.Location
import androidx.camera.core.ImageCapture
import androidx.camera.core.ImageCaptureException
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.BoxScope
import androidx.compose.foundation.layout.aspectRatio
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.NoPhotography
import androidx.compose.material.icons.filled.PhotoCamera
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.material.icons.filled.Storage
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.core.content.ContextCompat
import app.rectify.field.R
import app.rectify.field.ui.BigButton
import app.rectify.field.ui.BigOutlinedButton
import app.rectify.field.ui.CameraPreview
import app.rectify.field.ui.NoticeCard
import app.rectify.field.ui.NoticeTone
import app.rectify.field.ui.PermissionGate
import app.rectify.field.ui.PermissionRequest
import app.rectify.field.ui.UiMessage
import app.rectify.field.ui.uiMessage
import app.rectify.field.ui.rememberPermissionGate
import java.io.File
import kotlinx.coroutines.launch

@Composable
fun rememberCameraPermission(): PermissionGate = rememberPermissionGate(Manifest.permission.CAMERA)

/**
 * Shows [camera] only when it can be used: the permission is granted and the phone has room for a photo
 * ([hasRoom]; `null` while the disk check runs, so the camera never opens on a full disk).
 * Otherwise it says why, and offers the fix (the permission dialog or the app's settings; "check again"
 * after freeing space). Nothing else on the screen depends on this, so the rest of the app keeps working.
 */
@Composable
fun CameraGate(
    permission: PermissionGate,
    hasRoom: Boolean?,
    onCheckStorage: () -> Unit,
    rationale: String,
    modifier: Modifier = Modifier,
    camera: @Composable () -> Unit,
) {
    when {
        !permission.allGranted -> PermissionRequest(
            gate = permission,
            rationale = rationale,
            allowLabel = stringResource(R.string.action_allow_camera),
            icon = Icons.Filled.NoPhotography,
            modifier = modifier,
        )
        hasRoom == null -> Box(modifier.fillMaxWidth().aspectRatio(3f / 4f), contentAlignment = Alignment.Center) {
            CircularProgressIndicator()
        }
        hasRoom == false -> StorageFullNotice(onCheckStorage, modifier)
        else -> camera()
    }
}

/**
 * A screen's one photo, laid out in the caller's column. Once taken: [taken] shows it, a word follows when it
 * carries no position ([noGpsText]), then a retake button. Before: the camera behind [CameraGate] (asking
 * with [rationale]), [overPreview] laid over the preview, [belowPreview] under it, and the shutter button
 * [takeLabel], which captures into [imageCapture] (remembered by the caller, which chooses its mode) with
 * [position] written into the photo.
 */
@Composable
fun PhotoCapturePanel(
    capture: CaptureState,
    photo: PhotoCapture<*>,
    imageCapture: ImageCapture,
    cameraPermission: PermissionGate,
    position: Location?,
    rationale: String,
    takeLabel: String,
    noGpsText: String,
    taken: @Composable (path: String) -> Unit,
    overPreview: @Composable BoxScope.() -> Unit = {},
    belowPreview: @Composable () -> Unit = {},
) {
    val context = LocalContext.current
    val scope = rememberCoroutineScope()
    var cameraUnavailable by remember { mutableStateOf(false) }
    val useCases = remember(imageCapture) { listOf(imageCapture) }

    val path = capture.photoPath
    if (path != null) {
        taken(path)
        if (!capture.photoHasGps) {
            Text(
                noGpsText,
                style = MaterialTheme.typography.bodyMedium,
                color = MaterialTheme.colorScheme.tertiary,
            )
        }
        BigOutlinedButton(
            text = stringResource(R.string.walk_retake),
            onClick = photo::retake,
            icon = Icons.Filled.Refresh,
            modifier = Modifier.fillMaxWidth(),
        )
    } else {
        CameraGate(
            permission = cameraPermission,
            hasRoom = capture.hasRoom,
            onCheckStorage = photo::checkStorage,
            rationale = rationale,
        ) {
            if (cameraUnavailable) {
                CameraUnavailableNotice()
            } else {
                Box(
                    Modifier
                        .fillMaxWidth()
                        .aspectRatio(3f / 4f),
                ) {
                    CameraPreview(
                        useCases = useCases,
                        onUnavailable = { cameraUnavailable = true },
                        modifier = Modifier.matchParentSize(),
                    )
                    overPreview()
                }
                belowPreview()
                BigButton(
                    text = takeLabel,
                    onClick = {
                        scope.launch {
                            val file = photo.prepareCapture() ?: return@launch
                            imageCapture.captureTo(
                                context = context,
                                file = file,
                                location = position,
                                onSaved = photo::onPhotoCaptured,
                                onFailed = photo::onCaptureFailed,
                            )
                        }
                    },
                    enabled = !capture.capturing,
                    icon = Icons.Filled.PhotoCamera,
                    modifier = Modifier.fillMaxWidth(),
                )
            }
        }
    }
}

@Composable
fun StorageFullNotice(onCheckAgain: () -> Unit, modifier: Modifier = Modifier) {
    NoticeCard(
        icon = Icons.Filled.Storage,
        title = stringResource(R.string.storage_full_title),
        text = stringResource(R.string.error_storage_full),
        tone = NoticeTone.Error,
        modifier = modifier,
    ) {
        BigOutlinedButton(
            text = stringResource(R.string.action_check_again),
            onClick = onCheckAgain,
            icon = Icons.Filled.Refresh,
            modifier = Modifier.fillMaxWidth(),
        )
    }
}

@Composable
fun CameraUnavailableNotice(modifier: Modifier = Modifier) {
    NoticeCard(
        icon = Icons.Filled.PhotoCamera,
        text = stringResource(R.string.camera_unavailable),
        tone = NoticeTone.Error,
        modifier = modifier,
    )
}

/** Words for a capture that failed; [storageFull] is the disk check made right after the failure. */
fun ImageCaptureException.toUiMessage(storageFull: Boolean): UiMessage = when {
    storageFull -> uiMessage(R.string.error_storage_full)
    imageCaptureError == ImageCapture.ERROR_FILE_IO -> uiMessage(R.string.capture_failed_file)
    imageCaptureError == ImageCapture.ERROR_CAMERA_CLOSED -> uiMessage(R.string.capture_failed_camera_closed)
    else -> uiMessage(R.string.capture_failed, localizedMessage ?: imageCaptureError.toString())
}

/**
 * Takes a picture into [file], with [location] written into its EXIF (the core checks a photo's position
 * against the issue's). A failed capture leaves no partial file behind.
 */
fun ImageCapture.captureTo(
    context: Context,
    file: File,
    location: Location?,
    onSaved: (File) -> Unit,
    onFailed: (ImageCaptureException) -> Unit,
) {
    val metadata = ImageCapture.Metadata().also { it.location = location }
    val options = ImageCapture.OutputFileOptions.Builder(file).setMetadata(metadata).build()
    takePicture(
        options,
        ContextCompat.getMainExecutor(context),
        object : ImageCapture.OnImageSavedCallback {
            override fun onImageSaved(outputFileResults: ImageCapture.OutputFileResults) = onSaved(file)

            override fun onError(exception: ImageCaptureException) {
                file.delete()
                onFailed(exception)
            }
        },
    )
}
