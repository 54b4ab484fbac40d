package app.rectify.field.strikeoff

import android.Manifest
import android.location.Location
import androidx.camera.core.ImageCapture
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.GpsFixed
import androidx.compose.material.icons.filled.Info
import androidx.compose.material.icons.filled.LocationOff
import androidx.compose.material.icons.filled.TaskAlt
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Slider
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.rectify.core.IssueId
import app.rectify.field.R
import app.rectify.field.capture.CaptureStore
import app.rectify.field.capture.PhotoCapturePanel
import app.rectify.field.capture.rememberCameraPermission
import app.rectify.field.ui.BigButton
import app.rectify.field.ui.BusyIndicator
import app.rectify.field.ui.CategoryName
import app.rectify.field.ui.EmptyState
import app.rectify.field.ui.ErrorNotice
import app.rectify.field.ui.LoadingBox
import app.rectify.field.ui.LocationFixState
import app.rectify.field.ui.NoticeCard
import app.rectify.field.ui.PermissionGate
import app.rectify.field.ui.PermissionRequest
import app.rectify.field.ui.PhotoImage
import app.rectify.field.ui.ScrollingColumn
import app.rectify.field.ui.formatAgo
import app.rectify.field.ui.rectifyViewModel
import app.rectify.field.ui.rememberLocationFix
import app.rectify.field.ui.rememberPermissionsGate
import app.rectify.field.ui.text
import app.rectify.field.walk.accuracyText
import coil.compose.AsyncImage
import java.io.File

private val LocationPermissions = listOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)

/**
 * Strike-off by camera: the before-photo lies translucent over the preview so the after-photo can be
 * taken from the same spot and angle; a slider sets how strongly it shows.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun StrikeOffScreen(issueId: IssueId, onBack: () -> Unit, onDone: () -> Unit) {
    val viewModel = rectifyViewModel { runtime, _ ->
        StrikeOffViewModel(runtime.ledger, runtime.backgroundSync, CaptureStore(runtime.captureDir), issueId)
    }
    val state by viewModel.state.collectAsStateWithLifecycle()
    val cameraPermission = rememberCameraPermission()
    val locationPermission = rememberPermissionsGate(LocationPermissions)
    val location = rememberLocationFix(
        permitted = locationPermission.anyGranted,
        precise = locationPermission.isGranted(Manifest.permission.ACCESS_FINE_LOCATION),
    )

    LaunchedEffect(viewModel) { viewModel.done.collect { onDone() } }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(stringResource(R.string.strike_title)) },
                navigationIcon = {
                    IconButton(onClick = onBack) {
                        Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.action_back))
                    }
                },
            )
        },
        bottomBar = {
            Surface(tonalElevation = 3.dp) {
                Box(Modifier.padding(horizontal = 16.dp, vertical = 8.dp)) {
                    if (state.saving) {
                        BusyIndicator()
                    } else {
                        BigButton(
                            text = stringResource(R.string.strike_confirm),
                            onClick = viewModel::confirm,
                            enabled = state.capture.photoPath != null && state.detail != null,
                            icon = Icons.Filled.TaskAlt,
                            modifier = Modifier.fillMaxWidth(),
                        )
                    }
                }
            }
        },
    ) { padding ->
        val modifier = Modifier.padding(padding).fillMaxSize()
        val detail = state.detail
        val loadError = state.loadError
        when {
            loadError != null -> EmptyState(loadError.text(), modifier)
            detail == null -> LoadingBox(modifier)
            else -> ScrollingColumn(modifier) {
                CategoryName(state.catalogue, detail.issue.category)
                Text(detail.villageName, style = MaterialTheme.typography.bodyLarge)
                CapturePart(state, viewModel, cameraPermission, location.live)
                StrikeGpsLine(locationPermission, location)
                OutlinedTextField(
                    value = state.note,
                    onValueChange = viewModel::onNoteChange,
                    label = { Text(stringResource(R.string.strike_note)) },
                    minLines = 2,
                    modifier = Modifier.fillMaxWidth(),
                )
                state.error?.let { ErrorNotice(it) }
            }
        }
    }
}

@Composable
private fun CapturePart(
    state: StrikeOffUiState,
    viewModel: StrikeOffViewModel,
    cameraPermission: PermissionGate,
    position: Location?,
) {
    val imageCapture = remember {
        ImageCapture.Builder().setCaptureMode(ImageCapture.CAPTURE_MODE_MAXIMIZE_QUALITY).build()
    }
    val before = state.beforePhoto

    PhotoCapturePanel(
        capture = state.capture,
        photo = viewModel.photo,
        imageCapture = imageCapture,
        cameraPermission = cameraPermission,
        position = position,
        rationale = stringResource(R.string.strike_camera_rationale),
        takeLabel = stringResource(R.string.strike_take_photo),
        noGpsText = stringResource(R.string.strike_photo_no_gps),
        taken = { photo ->
            // Taken: both photos side by side, to judge before confirming.
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                LabelledPhoto(stringResource(R.string.detail_before), before, Modifier.weight(1f))
                LabelledPhoto(stringResource(R.string.detail_after), photo, Modifier.weight(1f))
            }
        },
        overPreview = {
            if (before != null) {
                AsyncImage(
                    model = File(before),
                    contentDescription = stringResource(R.string.strike_overlay_description),
                    contentScale = ContentScale.Crop,
                    alpha = state.overlayAlpha,
                    modifier = Modifier.matchParentSize(),
                )
            }
        },
        belowPreview = {
            if (before != null) {
                Column {
                    Text(stringResource(R.string.strike_overlay_label), style = MaterialTheme.typography.labelLarge)
                    Slider(
                        value = state.overlayAlpha,
                        onValueChange = viewModel::onOverlayAlphaChange,
                        valueRange = 0f..0.9f,
                        modifier = Modifier.heightIn(min = 48.dp),
                    )
                }
            } else {
                NoticeCard(icon = Icons.Filled.Info, text = stringResource(R.string.strike_no_before_photo))
            }
        },
    )
}

@Composable
private fun LabelledPhoto(label: String, path: String?, modifier: Modifier = Modifier) {
    Column(modifier, verticalArrangement = Arrangement.spacedBy(4.dp)) {
        Text(label, style = MaterialTheme.typography.titleSmall, color = MaterialTheme.colorScheme.primary)
        if (path == null) {
            Text(stringResource(R.string.detail_photo_pending), style = MaterialTheme.typography.bodySmall)
        } else {
            PhotoImage(path, contentDescription = label)
        }
    }
}

/**
 * The after-photo's position is what shows the office it was taken at the issue. Without a fix it is
 * still recorded, marked as without position, so the GPS is asked for but never required.
 */
@Composable
private fun StrikeGpsLine(permission: PermissionGate, location: LocationFixState) {
    val live = location.live
    when {
        !permission.anyGranted -> PermissionRequest(
            gate = permission,
            rationale = stringResource(R.string.strike_location_rationale),
            allowLabel = stringResource(R.string.action_allow_location),
            icon = Icons.Filled.LocationOff,
        )
        live != null -> Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Icon(Icons.Filled.GpsFixed, contentDescription = null, tint = MaterialTheme.colorScheme.primary)
            Text(
                stringResource(R.string.walk_fix_live, accuracyText(live), formatAgo(location.ageOf(live))),
                style = MaterialTheme.typography.bodyLarge,
            )
        }
        else -> Text(
            stringResource(R.string.strike_waiting_for_fix),
            style = MaterialTheme.typography.bodyMedium,
            color = MaterialTheme.colorScheme.tertiary,
        )
    }
}
